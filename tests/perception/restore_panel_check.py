"""Run in a fresh interpreter: an object the VLM removed is listed in the Selected Object panel and Restore places it;
a window detection placed in its wall opens the wall mesh.

argv: ZIP_PATH REPO_ROOT LIBRARY_DIR OUT_DIR. The run folder (observation with the VLM's keep = false applied,
candidates) is written here with the installed extension's own core, so only the Blender side is new.
Prints one JSON report on its last line.
"""
import json
import sys
from pathlib import Path

zip_path, repo_root, library, out_dir = sys.argv[-4], Path(sys.argv[-3]), sys.argv[-2], Path(sys.argv[-1])
sys.path.insert(0, str(repo_root))
for blocked in ("cv2", "scipy", "PIL", "torch", "transformers", "diffusers"):  # as in Blender's bundled Python
    sys.modules[blocked] = None

import bpy  # noqa: E402

from tests.ui_recorder import draw_panel  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
bpy.ops.wm.read_homefile(use_empty=True)
pkg = "bl_ext.user_default.imaginarium"
s = __import__(pkg + ".core.schema", fromlist=["x"])
verdicts = __import__(pkg + ".core.perception.verdicts", fromlist=["x"])
protocols = __import__(pkg + ".core.perception.protocols", fromlist=["x"])
lp = __import__(pkg + ".imaginarium_addon.layout_props", fromlist=["x"])
place_run = __import__(pkg + ".operators.from_image", fromlist=["x"]).place_run
bpy.context.preferences.addons[pkg].preferences.library_dir = library
report = {}

run_dir = out_dir / "run"
run_dir.mkdir(parents=True, exist_ok=True)
planes = [s.Plane("floor", "floor", [0, 0, 1], 0.0), s.Plane("ceiling", "ceiling", [0, 0, -1], -2.8),
          s.Plane("wall_0", "wall", [1, 0, 0], -2.0), s.Plane("wall_1", "wall", [-1, 0, 0], -2.0),
          s.Plane("wall_2", "wall", [0, 1, 0], -2.0), s.Plane("wall_3", "wall", [0, -1, 0], -2.0)]
objects = [s.SceneObject("bed", "bed", box=s.Box3D([0.0, 0.9, 0.5], [1.6, 2.1, 1.0], 0.0), against_walls=["wall_3"]),
           s.SceneObject("chair", "chair", box=s.Box3D([1.2, -1.0, 0.44], [0.45, 0.5, 0.88], 0.0)),
           s.SceneObject("chair_2", "chair", box=s.Box3D([-1.3, -1.2, 0.44], [0.45, 0.5, 0.88], 0.0))]
graph = s.SceneGraph(objects)
answer = protocols.VlmAnswer(objects={"chair_2": protocols.VlmObjectAnswer("chair_2", keep=False, relation="on_floor")})
report["verdict_notes"] = verdicts.apply_verdicts(graph, answer)
cam = s.Camera(300, 300, 160, 120, 320, 240, [[1, 0, 0, 0], [0, 0, 1, -1.9], [0, -1, 0, 1.4], [0, 0, 0, 1]])
image = out_dir / "ref.png"
img = bpy.data.images.new("ref", 32, 24)
img.filepath_raw, img.file_format = str(image), "PNG"
img.save()
s.Observation(str(image), cam, planes, graph).save(run_dir / "observation.json")
s.CandidateSet([s.Candidate("bed", [s.RankedAsset("1", 0.9)]), s.Candidate("chair", [s.RankedAsset("2", 0.8)]),
                s.Candidate("chair_2", [s.RankedAsset("2", 0.7)])]).save(run_dir / "candidates.json")

stray = out_dir / "stray"  # a run's observation where Blender happens to have been started
stray.mkdir(exist_ok=True)
(stray / "observation.json").write_text((run_dir / "observation.json").read_text())

coll, layout = place_run(run_dir, library)
report["built"] = sorted(lp.placement_objects(coll))
bed = lp.placement_objects(coll)["bed"]
bed.location.x += 0.3  # the artist's edit must survive the restore
bpy.context.view_layer.update()
bed_x = bed.matrix_world.translation.x
chair = lp.placement_objects(coll)["chair"]
bpy.context.view_layer.objects.active = chair
chair.select_set(True)
panel = bpy.types.IMAGINARIUM_PT_selected_object
drawn = draw_panel(panel, bpy.context)
report["panel_before"] = drawn.texts()
report["panel_operators"] = [v for k, v in drawn.calls if k == "operator"]

report["restore"] = list(bpy.ops.imaginarium.restore_object(run_id=str(coll[lp.RUN_ID]), object_id="chair_2"))
objs = lp.placement_objects(coll)
report["built_after"] = sorted(objs)
report["bed_kept_edit"] = abs(objs["bed"].matrix_world.translation.x - bed_x) < 1e-6
report["restored_on_floor_z"] = objs["chair_2"].matrix_world.translation.z if "chair_2" in objs else None
saved = json.loads((run_dir / "observation.json").read_text())
ghost = next(o for o in saved["graph"]["objects"] if o["id"] == "chair_2")
report["removed_after"] = ghost.get("removed")
report["notes_after"] = ghost.get("notes")
report["layout_has_it"] = "chair_2" in {p["object_id"] for p in json.loads((run_dir / "layout.json").read_text())["placements"]}
bpy.context.view_layer.objects.active = objs["chair"]
report["panel_after"] = draw_panel(panel, bpy.context).texts()

# A window detection → a wall object (core.perception.openings) → the built wall has a hole where it is.
import numpy as np  # noqa: E402

openings = __import__(pkg + ".core.perception.openings", fromlist=["x"])
builder = __import__(pkg + ".imaginarium_addon.scene_builder", fromlist=["x"])


class K:
    fx = fy = 300.0
    cx, cy, width, height = 160.0, 120.0, 320, 240


pose = np.array([[1, 0, 0, 0], [0, 0, 1, -2.0], [0, -1, 0, 1.4], [0, 0, 0, 1]], float)
room = [s.Plane("floor", "floor", [0, 0, 1], 0.0), s.Plane("ceiling", "ceiling", [0, 0, -1], -2.8),
        s.Plane("wall_0", "wall", [0, -1, 0], -2.0), s.Plane("wall_1", "wall", [1, 0, 0], -2.0),
        s.Plane("wall_2", "wall", [-1, 0, 0], -2.0), s.Plane("wall_3", "wall", [0, 1, 0], -2.5)]
mask = np.zeros((240, 320), bool)
mask[68:158, 123:213] = True  # x -0.5..0.7, z 0.9..2.1 on the wall y = 2, seen from (0, -2, 1.4)
win = openings.opening_object("window_0", "window", None, mask, K, pose, room)
(cx, cy, cz), (w, t, h) = win.box.center, win.box.size
transform = [[1, 0, 0, cx], [0, 1, 0, cy - t / 2], [0, 0, 1, cz - h / 2], [0, 0, 0, 1]]
placement = s.Placement("window_0", "placeholder:window", transform, (1.0, 1.0, 1.0), parent=win.support,
                        relation="wall_hung", walls=[win.support], box=win.box)
wcoll = builder.build_layout(s.Layout(placements=[placement], planes=room, run_id="window-run"), {},
                             run_id="window-run", activate_camera=False)
bpy.context.view_layer.update()
wall = lp.structure_objects(wcoll)[win.support]
hit_centre = wall.ray_cast((cx, 0.0, cz), (0.0, 1.0, 0.0))[0]
hit_beside = wall.ray_cast((1.5, 0.0, 1.5), (0.0, 1.0, 0.0))[0]
hit_below = wall.ray_cast((cx, 0.0, 0.4), (0.0, 1.0, 0.0))[0]
report["window"] = {"wall": win.support, "size": [w, h], "bottom": cz - h / 2, "through_centre": not hit_centre,
                    "solid_beside": hit_beside, "solid_below": hit_below}
# A collection that records no run folder reads nothing from Blender's current folder.
import os  # noqa: E402

session = __import__(pkg + ".imaginarium_addon.layout_session", fromlist=["x"])
run_state = __import__(pkg + ".imaginarium_addon.run_state", fromlist=["x"])
if session.RUN_DIR in wcoll:
    del wcoll[session.RUN_DIR]
os.chdir(stray)
report["no_run_folder"] = {"run_dir": session.run_dir_of(wcoll), "removed": run_state.removed_in_run(wcoll),
                           "details_label": session.object_details(next(iter(wcoll.objects)))["label"]}
print(json.dumps(report))
