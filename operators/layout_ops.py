"""Layout actions on a built room: re-optimise (all or selected), physics settle, metrics."""
from __future__ import annotations

import json

import bpy

from ..core.errors import ImaginariumError
from ..imaginarium_addon import layout_props as lp
from ..imaginarium_addon import layout_session
from ..imaginarium_addon.run_state import active_run
from .common import fail, poll_run


class IMAGINARIUM_OT_reoptimise(bpy.types.Operator):
    """Re-solve the room around your edits: objects you moved stay put (unless Keep my edits is off)"""

    bl_idname = "imaginarium.reoptimise"
    bl_label = "Re-optimise"
    bl_options = {"REGISTER", "UNDO"}

    selected_only: bpy.props.BoolProperty(name="Selected only", default=False,
                                          description="Re-solve only the selected objects; the rest stays")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return poll_run(cls, context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        coll = active_run(context)
        only = None
        if self.selected_only:
            only = {str(o[lp.OBJECT_ID]) for o in context.selected_objects if o.get(lp.ROLE) == "object"}
            if not only:
                self.report({"ERROR"}, "Select the room's objects to re-optimise")
                return {"CANCELLED"}
        try:
            _, resolved = layout_session.reoptimise_run(coll, only=only,
                                                        pin_edited=context.scene.imaginarium.pin_edited)
        except ImaginariumError as exc:
            return fail(self, exc)
        kept = "" if resolved else " (each one is pinned, or kept where you moved it)"
        self.report({"INFO"}, f"Re-optimised {len(resolved)} object{'s' if len(resolved) != 1 else ''}{kept}")
        return {"FINISHED"}


class IMAGINARIUM_OT_settle(bpy.types.Operator):
    """Let objects resting on others settle with rigid-body physics; the result becomes the layout"""

    bl_idname = "imaginarium.settle"
    bl_label = "Settle (Physics)"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return poll_run(cls, context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        notes: list[str] = []
        try:
            layout_session.settle_collection(active_run(context), notes=notes)
        except ImaginariumError as exc:
            return fail(self, exc)
        for note in notes:
            self.report({"WARNING"}, note)
        self.report({"INFO"}, "Settled")
        return {"FINISHED"}


class IMAGINARIUM_OT_show_metrics(bpy.types.Operator):
    """Measure the room as it is now: collisions, floating objects, objects outside, wall alignment"""

    bl_idname = "imaginarium.show_metrics"
    bl_label = "Measure Layout"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return poll_run(cls, context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            metrics = layout_session.metrics_of(active_run(context))
        except ImaginariumError as exc:
            return fail(self, exc)
        context.window_manager.imaginarium_status.metrics_json = json.dumps(metrics)
        return {"FINISHED"}


CLASSES = [IMAGINARIUM_OT_reoptimise, IMAGINARIUM_OT_settle, IMAGINARIUM_OT_show_metrics]
