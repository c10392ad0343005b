"""Selected-object actions: swap its asset (next candidate or a chosen one), pin / unpin, re-optimise around it."""
from __future__ import annotations

import bpy

from ..core.errors import ImaginariumError
from ..imaginarium_addon import layout_props as lp
from ..imaginarium_addon import layout_session
from .common import fail


def _built_object(context: bpy.types.Context) -> bpy.types.Object | None:
    obj = context.active_object
    return obj if obj is not None and obj.get(lp.ROLE) == "object" else None


def _poll_object(cls: type, context: bpy.types.Context) -> bool:
    if _built_object(context) is None:
        cls.poll_message_set("Select an object of an Imaginarium room")
        return False
    return True


class IMAGINARIUM_OT_swap_asset(bpy.types.Operator):
    """Replace the object's asset (keeps its place, scaling rule and relations), then re-optimise around it"""

    bl_idname = "imaginarium.swap_asset"
    bl_label = "Swap Asset"
    bl_options = {"REGISTER", "UNDO"}

    asset_id: bpy.props.StringProperty(name="Asset", description="Empty: the next candidate in the list")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not _poll_object(cls, context):
            return False
        if len(layout_session.candidates_of(_built_object(context))) < 2:
            cls.poll_message_set("This object has no other candidate asset")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = _built_object(context)
        target = self.asset_id or layout_session.next_candidate(obj)
        if not target:
            self.report({"ERROR"}, "No other candidate to swap to")
            return {"CANCELLED"}
        try:
            layout_session.swap_asset(obj, target)
        except ImaginariumError as exc:
            return fail(self, exc)
        self.report({"INFO"}, f"Now using asset {target}")
        return {"FINISHED"}


class IMAGINARIUM_OT_toggle_pin(bpy.types.Operator):
    """Pin the object where it is (re-optimising never moves it), or unpin it"""

    bl_idname = "imaginarium.toggle_pin"
    bl_label = "Pin / Unpin"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return _poll_object(cls, context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        for obj in {_built_object(context), *[o for o in context.selected_objects if o.get(lp.ROLE) == "object"]}:
            obj[lp.PINNED] = not bool(obj.get(lp.PINNED, False))
        return {"FINISHED"}


class IMAGINARIUM_OT_reoptimise_around(bpy.types.Operator):
    """Re-solve this object and its neighbours (within 1 m); everything else stays as it is"""

    bl_idname = "imaginarium.reoptimise_around"
    bl_label = "Re-optimise Around It"
    bl_options = {"REGISTER", "UNDO"}

    radius_m: bpy.props.FloatProperty(name="Radius", default=1.0, min=0.0, unit="LENGTH")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return _poll_object(cls, context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = _built_object(context)
        coll = layout_session.run_collection_of(obj)
        centre = obj.matrix_world.translation
        only = {str(o[lp.OBJECT_ID]) for o in lp.placement_objects(coll).values()
                if (o.matrix_world.translation - centre).length <= self.radius_m}
        try:
            layout_session.reoptimise_collection(coll, only=only, pin_edited=context.scene.imaginarium.pin_edited)
        except ImaginariumError as exc:
            return fail(self, exc)
        return {"FINISHED"}


CLASSES = [IMAGINARIUM_OT_swap_asset, IMAGINARIUM_OT_toggle_pin, IMAGINARIUM_OT_reoptimise_around]
