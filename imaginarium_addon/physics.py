"""Physics settle: let objects that rest on other objects drop into a stable pose with Blender rigid bodies.

Why: the solver puts a lamp at its support's top surface by bounding boxes; a real top can
be lower (a recessed tray), tilted or uneven. A short Bullet simulation lets such objects
come to rest on the actual geometry. The published code ran a simulation and then threw the
poses away; here the settled transforms go back into the Layout *and* the scene.

How it keeps the artist's scene as it was: the simulation runs in a temporary scene that
links the participating objects (an object can be in several scenes), so the artist's
scene's frame, rigid body world and settings are never touched. Rigid bodies are added for
the run and removed afterwards; only the active objects' transforms change. Frames are
stepped with ``scene.frame_set`` (timers and modal operators never run in background bpy).

Who moves: placements resting on another object (relation ``on`` / ``in``) that are not
pinned are active (convex hull shapes); everything else of the run — floor, walls,
ceiling, supports, pinned objects — is passive (mesh shapes).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import bpy

from ..core.errors import BadInputError
from ..core.schema import Relation
from . import layout_props as lp
from .scene_builder import apply_layout

ACTIVE_RELATIONS = (Relation.ON, Relation.IN)
COLLISION_MARGIN_M = 0.001


def settle(collection: bpy.types.Collection, layout: Any, frames: int = 48, *, substeps: int = 10,
           solver_iterations: int = 20, max_shift_m: float = 0.25, max_tilt_deg: float = 30.0,
           notes: list[str] | None = None, progress: Callable[[float, str], None] | None = None) -> Any:
    """Simulate ``frames`` frames from ``layout``'s transforms; return the Layout with settled transforms.

    The scene's objects get the settled transforms too. Settling is a correction, not a
    re-layout: an object that would move more than ``max_shift_m`` or tip more than
    ``max_tilt_deg`` (it fell off its support, or started inside another object and was
    launched) keeps its solved pose, and a line saying so is appended to ``notes``. Objects
    that already carry a rigid body of the artist's are left out and unchanged.
    ``progress(fraction, message)`` is called every few frames; if it raises (a cancel), the
    rigid bodies and the temporary scene are removed and the objects keep the layout's poses.
    """
    if frames < 2:
        raise BadInputError(f"settle needs at least 2 frames, got {frames}.", "Pass frames >= 2 (48 is typical).")
    apply_layout(collection, layout)
    objects = lp.placement_objects(collection)
    structures = list(lp.structure_objects(collection).values())
    active_ids = {p.object_id for p in layout.placements if p.relation in ACTIVE_RELATIONS and not p.pinned
                  and objects[p.object_id].rigid_body is None}
    passive = [o for oid, o in objects.items() if oid not in active_ids and o.rigid_body is None] + structures
    active = [objects[oid] for oid in sorted(active_ids)]
    if not active:
        return layout
    start = [obj.matrix_world.copy() for obj in active]
    settled = _simulate(active, passive, frames, substeps, solver_iterations, progress)
    for obj, before, after in zip(active, start, settled):
        shift = (after.translation - before.translation).length
        up_before, up_after = before.to_3x3().normalized().col[2], after.to_3x3().normalized().col[2]
        tilt = math.degrees(up_before.angle(up_after, 0.0))
        if shift > max_shift_m or tilt > max_tilt_deg:
            if notes is not None:
                notes.append(f"settle: {obj[lp.OBJECT_ID]} would move {shift:.2f} m and tip {tilt:.0f}°; "
                             "kept its solved pose (check that it starts on, not inside, its support)")
            after = before
        obj.matrix_world = after
    placements = []
    for p in layout.placements:
        if p.object_id in active_ids:
            transform, scale = lp.split_world_matrix(objects[p.object_id].matrix_world)
            p = dataclasses.replace(p, transform=transform, scale=scale)
        placements.append(p)
    return dataclasses.replace(layout, placements=placements)


def _simulate(active: list[bpy.types.Object], passive: list[bpy.types.Object], frames: int, substeps: int,
              solver_iterations: int, progress: Callable[[float, str], None] | None) -> list[Any]:
    """Run the simulation in a throw-away scene; the active objects' final world matrices."""
    tmp = bpy.data.scenes.new("imaginarium_settle")
    view_layer = tmp.view_layers[0]
    body_collection = None
    try:
        for obj in active + passive:
            tmp.collection.objects.link(obj)
        with bpy.context.temp_override(scene=tmp, view_layer=view_layer):
            bpy.ops.rigidbody.world_add()
        world = tmp.rigidbody_world
        world.substeps_per_frame = substeps
        world.solver_iterations = solver_iterations
        world.use_split_impulse = True
        world.point_cache.frame_start = 1
        world.point_cache.frame_end = frames
        tmp.frame_start, tmp.frame_end = 1, frames
        for obj, kind in [(o, "ACTIVE") for o in active] + [(o, "PASSIVE") for o in passive]:
            _add_body(tmp, view_layer, obj, kind)
        body_collection = world.collection  # made by the first object_add; world_remove leaves it behind
        for frame in range(1, frames + 1):
            tmp.frame_set(frame)
            if progress is not None and (frame % 8 == 0 or frame == frames):
                progress(frame / frames, f"settling: frame {frame}/{frames}")
        depsgraph = view_layer.depsgraph
        return [obj.evaluated_get(depsgraph).matrix_world.copy() for obj in active]
    finally:
        for obj in active + passive:
            if obj.rigid_body is not None:
                with bpy.context.temp_override(scene=tmp, view_layer=view_layer, object=obj, active_object=obj):
                    bpy.ops.rigidbody.object_remove()
        if tmp.rigidbody_world is not None:
            with bpy.context.temp_override(scene=tmp, view_layer=view_layer):
                bpy.ops.rigidbody.world_remove()
        bpy.data.scenes.remove(tmp)
        if body_collection is not None:
            bpy.data.collections.remove(body_collection)


def _add_body(scene: bpy.types.Scene, view_layer: bpy.types.ViewLayer, obj: bpy.types.Object, kind: str) -> None:
    with bpy.context.temp_override(scene=scene, view_layer=view_layer, object=obj, active_object=obj):
        bpy.ops.rigidbody.object_add(type=kind)
    body = obj.rigid_body
    body.collision_shape = "CONVEX_HULL" if kind == "ACTIVE" else "MESH"
    body.use_margin = True
    body.collision_margin = COLLISION_MARGIN_M
    body.friction = 0.8
    body.restitution = 0.0
    body.use_deactivation = False
    if kind == "ACTIVE":
        body.mass = 1.0
        body.linear_damping = 0.2
        body.angular_damping = 0.3
