"""Render Preview, Match Photo Brightness and Hide Conflicting Objects: looking at a built room."""
from __future__ import annotations

import tempfile
from pathlib import Path

import bpy

from ..core.errors import ImaginariumError
from ..imaginarium_addon import render_preview, scene_conflicts
from ..imaginarium_addon.run_state import active_run
from .common import fail, poll_run


def _preview_path(coll: bpy.types.Collection) -> Path:
    """In the run folder when it still exists (the preview belongs to the run), else Blender's temp folder."""
    run_dir = Path(str(coll.get("imaginarium_run_dir", "") or ""))
    folder = run_dir if str(run_dir) not in ("", ".") and run_dir.is_dir() else Path(bpy.app.tempdir or tempfile.gettempdir())
    return folder / "preview.png"


class IMAGINARIUM_OT_render_preview(bpy.types.Operator):
    """Render the room from the photo's camera (small, denoised, in Cycles) and show it beside the photo"""

    bl_idname = "imaginarium.render_preview"
    bl_label = "Render Preview"
    bl_options = {"REGISTER"}

    width: bpy.props.IntProperty(name="Width", default=320, min=32, max=2048, description="Preview width in pixels")
    samples: bpy.props.IntProperty(name="Samples", default=16, min=1, max=1024)

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return poll_run(cls, context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        coll = active_run(context)
        try:
            result = render_preview.render_preview(coll, _preview_path(coll), width=self.width, samples=self.samples,
                                                   source=context.scene)
        except ImaginariumError as exc:
            return fail(self, exc)
        shown = render_preview.show_in_image_editor(context, result.image_name or "")
        brightness = f", brightness ×{result.ratio:.2f} of the photo" if result.ratio is not None else ""
        where = "" if shown else f" (open {result.side_by_side_path} in an Image Editor)"
        self.report({"INFO"}, f"Preview rendered in {result.seconds:.1f} s{brightness}{where}")
        return {"FINISHED"}


class IMAGINARIUM_OT_match_exposure(bpy.types.Operator):
    """Scale the room's lights so a quick render is as bright as the photo (median luminance)"""

    bl_idname = "imaginarium.match_exposure"
    bl_label = "Match Photo Brightness"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        coll = active_run(context)
        if coll is None or render_preview.reference_of(coll) is None:
            cls.poll_message_set("Select an object of a room built from a photo")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        notes: list[str] = []
        try:
            scale = render_preview.fit_to_photo(active_run(context), notes=notes, source=context.scene)
        except ImaginariumError as exc:
            return fail(self, exc)
        if scale is None:
            self.report({"WARNING"}, "This room has no lights or camera to match; rebuild it")
            return {"CANCELLED"}
        self.report({"INFO"}, notes[-1] if notes else f"Lights scaled ×{scale:.2f}")
        return {"FINISHED"}


class IMAGINARIUM_OT_hide_conflicts(bpy.types.Operator):
    """Hide (in the viewport and in renders) your objects that stand inside the new room"""

    bl_idname = "imaginarium.hide_conflicts"
    bl_label = "Hide Them"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        coll = active_run(context)
        return coll is not None and bool(scene_conflicts.recorded(coll))

    def execute(self, context: bpy.types.Context) -> set[str]:
        names = scene_conflicts.hide(active_run(context), context.view_layer)
        self.report({"INFO"}, f"Hidden: {', '.join(names)}" if names else "Nothing to hide")
        return {"FINISHED"}


CLASSES = [IMAGINARIUM_OT_render_preview, IMAGINARIUM_OT_match_exposure, IMAGINARIUM_OT_hide_conflicts]
