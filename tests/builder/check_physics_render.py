"""Run in a fresh bpy interpreter: settle a dropped box, then render the passes; print one JSON report.

argv: WORK_DIR. tests/builder/test_physics_render.py judges the report and the written files.
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import bpy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import tests.builder.bpy_fixtures as fx  # noqa: E402

sb = importlib.import_module("imaginarium.imaginarium_addon.scene_builder")
lp = importlib.import_module("imaginarium.imaginarium_addon.layout_props")
physics = importlib.import_module("imaginarium.imaginarium_addon.physics")
rp = importlib.import_module("imaginarium.imaginarium_addon.render_passes")

work = Path(sys.argv[-1])
paths = fx.make_assets(work / "assets")
records = fx.records(paths)
report: dict = {}

bpy.ops.wm.read_homefile(use_empty=True)
scene = bpy.context.scene
scene.frame_set(7)
dropped = fx.layout(box_z=0.85)  # the box starts 10 cm above the table top (0.75 m)
coll = sb.build_layout(dropped, records, run_id="run_phys")
objs = lp.placement_objects(coll)
before = {oid: np.asarray(o.matrix_world) for oid, o in objs.items()}
datablocks = {"scenes": len(bpy.data.scenes), "collections": len(bpy.data.collections), "objects": len(bpy.data.objects)}
settled = physics.settle(coll, dropped, frames=48)
bpy.context.view_layer.update()
box = settled.by_id()["box_0"]
report["settle"] = {
    "layout_box": [box.transform[i][3] for i in range(3)],
    "layout_box_rotation": [list(r[:3]) for r in box.transform[:3]],
    "scene_box": list(objs["box_0"].matrix_world.translation),
    "start_rotation": [list(r[:3]) for r in dropped.by_id()["box_0"].transform[:3]],
    "others_moved_by": max(float(np.abs(np.asarray(objs[k].matrix_world) - before[k]).max()) for k in ("table_0", "chair_0")),
    "rigid_bodies_left": [o.name for o in bpy.data.objects if o.rigid_body is not None],
    "rigidbody_world": scene.rigidbody_world is not None,
    "frame": scene.frame_current,
    "datablocks_before": datablocks,
    "datablocks_after": {"scenes": len(bpy.data.scenes), "collections": len(bpy.data.collections),
                         "objects": len(bpy.data.objects)},
}

# Render passes from the run's camera (the box now rests on the table).
lights_before, worlds_before = len(bpy.data.lights), len(bpy.data.worlds)  # the build's own lights
settings_before = (scene.render.engine, scene.render.resolution_x, scene.camera.name if scene.camera else None)
passes = rp.render_passes(coll, work / "passes", samples=8)
report["render"] = {
    "rgb": str(passes.rgb), "depth": str(passes.depth), "masks": {k: str(v) for k, v in passes.masks.items()},
    "scene_settings_unchanged": settings_before == (scene.render.engine, scene.render.resolution_x,
                                                    scene.camera.name if scene.camera else None),
    "scenes_after": [s.name for s in bpy.data.scenes],
    "lights_after": len(bpy.data.lights), "worlds_after": len(bpy.data.worlds),
    "lights_before": lights_before, "worlds_before": worlds_before,
    "camera": {f: getattr(passes.camera, f) for f in ("fx", "fy", "cx", "cy", "width", "height")},
}
# The guard: a box 1.5 m up beside the table would fall to the floor; settle keeps its pose and says so.
falling = fx.layout(box_z=1.5)
falling.placements[1].transform = fx.pose(1.0, -0.2, 1.5, 10.0)
notes: list = []
guarded = physics.settle(coll, falling, frames=48, notes=notes)
bpy.context.view_layer.update()
report["guard"] = {"notes": notes, "layout_z": guarded.by_id()["box_0"].transform[2][3],
                   "scene_z": objs["box_0"].matrix_world.translation.z}
depth = np.load(passes.depth)
report["render"]["depth_shape"] = list(depth.shape)
report["render"]["depth_dtype"] = str(depth.dtype)
print(json.dumps(report))
