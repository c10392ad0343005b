"""Selected-object actions: swap its asset, pin / unpin, re-optimise around it, restore a removed object."""
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


def restore_removed(coll: bpy.types.Collection, object_id: str) -> None:
    """Put a removed object back: clear its ``removed`` in observation.json, place it, re-solve around it.

    The other objects stay where they are (the artist's edits included): the restored object is
    solved once with the run's problem, added to the scene as it is, and then re-optimised alone.
    """
    from ..core.errors import LibraryError
    from ..core.layout.solver import solve
    from ..core.perception.verdicts import restore_object
    from ..imaginarium_addon.scene_builder import read_layout

    run_dir = layout_session.run_dir_of(coll)
    library_dir = coll.get(layout_session.LIBRARY_DIR)
    if run_dir is None or not (run_dir / "observation.json").is_file() or not library_dir:
        raise LibraryError(f"The run folder of {coll.name} is gone, so its removed objects cannot be restored.",
                           "Build the room again from the From Image section.")
    restore_object(run_dir, object_id)
    problem = layout_session.problem_for(run_dir, library_dir)
    if object_id not in problem.by_id():
        raise LibraryError(f"{object_id} is restored in the run, but it has no candidate asset to place.",
                           "Build the room again from the From Image section (matching will include it).")
    placement = solve(problem).by_id()[object_id]
    current = read_layout(coll)
    current.placements = [p for p in current.placements if p.object_id != object_id] + [placement]
    layout_session.build_run(run_dir, library_dir, current)
    layout_session.reoptimise_collection(coll, only={object_id}, unpinned={object_id})


class IMAGINARIUM_OT_restore_object(bpy.types.Operator):
    """Place an object that was removed (the VLM doubted it, or a composite asset absorbed it) back in the room"""

    bl_idname = "imaginarium.restore_object"
    bl_label = "Restore"
    bl_options = {"REGISTER", "UNDO"}

    run_id: bpy.props.StringProperty(name="Run")
    object_id: bpy.props.StringProperty(name="Object")

    def execute(self, context: bpy.types.Context) -> set[str]:
        coll = lp.find_run_collection(self.run_id)
        if coll is None:
            self.report({"ERROR"}, f"No room of run {self.run_id!r} is in this file")
            return {"CANCELLED"}
        try:
            restore_removed(coll, self.object_id)
        except ImaginariumError as exc:
            return fail(self, exc)
        self.report({"INFO"}, f"Restored {self.object_id}")
        return {"FINISHED"}


CLASSES = [IMAGINARIUM_OT_swap_asset, IMAGINARIUM_OT_toggle_pin, IMAGINARIUM_OT_reoptimise_around,
           IMAGINARIUM_OT_restore_object]
