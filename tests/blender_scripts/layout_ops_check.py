"""Run in a fresh interpreter: the Layout and Selected-object actions on a built room, with undo.

argv: ZIP_PATH REPO_ROOT LIBRARY_DIR OUT_DIR. A run folder (observation + candidates) is written by
hand so this checks the Blender side alone. Prints one JSON report on its last line.
"""
import json
import sys
from pathlib import Path

zip_path, repo_root, library, out_dir = sys.argv[-4], Path(sys.argv[-3]), sys.argv[-2], Path(sys.argv[-1])
sys.path.insert(0, str(repo_root))
# Blender's bundled Python has numpy but none of these: everything the add-on does in Blender must work without
for blocked in ("cv2", "scipy", "PIL", "torch", "transformers", "diffusers"):
    sys.modules[blocked] = None

import bpy  # noqa: E402

from tests.ui_recorder import draw_panel  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
bpy.ops.wm.read_homefile(use_empty=True)  # a fresh file with an undo stack (the extension stays enabled)
pkg = "bl_ext.user_default.imaginarium"
s = sys.modules[pkg + ".core.schema"]
session = sys.modules.get(pkg + ".imaginarium_addon.layout_session") or __import__(
    pkg + ".imaginarium_addon.layout_session", fromlist=["x"])
lp = sys.modules[pkg + ".imaginarium_addon.layout_props"]
runtime = sys.modules[pkg + ".imaginarium_addon.worker_runtime"]
place_run = sys.modules[pkg + ".operators.from_image"].place_run  # what From Image does once the worker matched
prefs = bpy.context.preferences.addons[pkg].preferences
prefs.library_dir = library
report = {}

run_dir = out_dir / "run"
run_dir.mkdir(parents=True, exist_ok=True)
planes = [s.Plane("floor", "floor", [0, 0, 1], 0.0), s.Plane("ceiling", "ceiling", [0, 0, -1], -2.8),
          s.Plane("wall_0", "wall", [1, 0, 0], -2.0), s.Plane("wall_1", "wall", [-1, 0, 0], -2.0),
          s.Plane("wall_2", "wall", [0, 1, 0], -2.0), s.Plane("wall_3", "wall", [0, -1, 0], -2.0)]
objects = [s.SceneObject("bed", "bed", box=s.Box3D([0.0, 0.9, 0.5], [1.6, 2.1, 1.0], 0.0), against_walls=["wall_3"]),
           s.SceneObject("chair", "chair", box=s.Box3D([1.2, -1.0, 0.44], [0.45, 0.5, 0.88], 0.0)),
           s.SceneObject("rug", "rug", box=s.Box3D([0.0, -0.6, 0.0], [2.0, 1.4, 0.0], 0.0))]
cam = s.Camera(300, 300, 160, 120, 320, 240, [[1, 0, 0, 0], [0, 0, 1, -1.9], [0, -1, 0, 1.4], [0, 0, 0, 1]])
image = out_dir / "ref.png"
img = bpy.data.images.new("ref", 32, 24)
img.filepath_raw, img.file_format = str(image), "PNG"
img.save()
s.Observation(str(image), cam, planes, s.SceneGraph(objects)).save(run_dir / "observation.json")
s.CandidateSet([s.Candidate("bed", [s.RankedAsset("1", 0.9)]),
                s.Candidate("chair", [s.RankedAsset("2", 0.8), s.RankedAsset("3", 0.3)]),
                s.Candidate("rug", [s.RankedAsset("4", 0.7)])]).save(run_dir / "candidates.json")

objects[2].notes.append("seen through a door")  # a perception note travels to the built object
objects.append(s.SceneObject("ghost", "chair", box=s.Box3D([1.5, 1.0, 0.44], [0.45, 0.5, 0.88], 0.0),
                             removed="the VLM says it is a reflection"))
s.Observation(str(image), cam, planes, s.SceneGraph(objects)).save(run_dir / "observation.json")
coll, layout = place_run(run_dir, library)
objs = lp.placement_objects(coll)
report["built"] = sorted(objs)
report["layout_notes"] = list(layout.notes)
report["rug_notes"] = lp.object_notes(objs["rug"])
report["boxes"] = sorted(p.object_id for p in layout.placements if p.box is not None)
report["relation_prop"] = objs["bed"][lp.RELATION]
BED, CHAIR = objs["bed"].name, objs["chair"].name  # names: undo invalidates Python references
bpy.context.view_layer.objects.active = bpy.data.objects[CHAIR]
bpy.data.objects[CHAIR].select_set(True)

panels = [getattr(bpy.types, n) for n in dir(bpy.types) if n.startswith("IMAGINARIUM_PT_")]
report["draw_selected"] = {p.__name__: draw_panel(p, bpy.context).texts() for p in panels}

# Undo: in background bpy an operator called from Python pushes no undo step, so push them as the
# UI does around a REGISTER|UNDO operator (a step before, one after); undo must then restore the scene.
bpy.ops.ed.undo_push(message="built")
bpy.ops.ed.undo_push(message="before pin")
report["pin"] = list(bpy.ops.imaginarium.toggle_pin())
bpy.ops.ed.undo_push(message="pin")
report["pinned_after"] = bool(bpy.data.objects[CHAIR][lp.PINNED])
bpy.ops.ed.undo()
report["pinned_after_undo"] = bool(bpy.data.objects[CHAIR][lp.PINNED])

# the artist nudges the bed; re-optimise keeps it where it was put
bed = bpy.data.objects[BED]
bed.location.x += 0.5
bpy.context.view_layer.update()
bed_x = bed.matrix_world.translation.x
report["reoptimise"] = list(bpy.ops.imaginarium.reoptimise(selected_only=False))
report["bed_kept_edit"] = abs(bpy.data.objects[BED].matrix_world.translation.x - bed_x) < 1e-6
report["layout_saved"] = json.loads((run_dir / "layout.json").read_text())["placements"][0]["object_id"]
# Re-optimise Selected with one object selected re-solves that one object, and says so
bpy.ops.object.select_all(action="DESELECT")
bpy.data.objects[CHAIR].select_set(True)
bpy.context.view_layer.objects.active = bpy.data.objects[CHAIR]
report["reoptimise_selected"] = list(bpy.ops.imaginarium.reoptimise(selected_only=True))  # prints its report
_, resolved = session.reoptimise_run(coll, only={"chair"})
report["selected_resolved"] = resolved
# running the whole build again keeps the artist's edit and adds no duplicates
again, _ = place_run(run_dir, library)
report["rerun_same_collection"] = again.name == coll.name
report["rerun_objects"] = sorted(lp.placement_objects(again))
report["rerun_kept_edit"] = abs(bpy.data.objects[BED].matrix_world.translation.x - bed_x) < 1e-6

# swap the chair to its next candidate: asset changes, place kept; undo brings the old asset back
bpy.context.view_layer.objects.active = bpy.data.objects[CHAIR]
before = bpy.data.objects[CHAIR].matrix_world.translation.copy()
bpy.ops.ed.undo_push(message="before swap")
report["swap"] = list(bpy.ops.imaginarium.swap_asset(asset_id=""))
bpy.ops.ed.undo_push(message="swap")
swapped = bpy.data.objects[CHAIR]
report["asset_after_swap"] = swapped[lp.ASSET_ID]
report["swap_moved_m"] = (swapped.matrix_world.translation.xy - before.xy).length
report["swap_on_floor_z"] = round(swapped.matrix_world.translation.z, 4)
report["draw_after_swap"] = draw_panel(bpy.types.IMAGINARIUM_PT_selected_object, bpy.context).texts()
bpy.ops.ed.undo()
report["asset_after_undo"] = bpy.data.objects[CHAIR][lp.ASSET_ID]

report["metrics"] = list(bpy.ops.imaginarium.show_metrics())
report["metrics_json"] = json.loads(bpy.context.window_manager.imaginarium_status.metrics_json)
report["draw_layout"] = draw_panel(bpy.types.IMAGINARIUM_PT_layout, bpy.context).texts()
report["settle"] = list(bpy.ops.imaginarium.settle())

# the Status says "done" only once the job's callback succeeded; a callback's error, typed or not, shows there
status = bpy.context.window_manager.imaginarium_status
Job = sys.modules[pkg + ".imaginarium_addon.worker_client"].Job
finished = []
for name, callback in (("ok", lambda job: "3 objects"), ("typed", lambda job: session.swap_asset(bpy.data.objects[BED],
                                                                                                   "no-such-asset")),
                       ("untyped", lambda job: {}["missing"])):
    job = Job(id=name, op="match", params={}, timeout_s=1.0, state="done")
    runtime._on_done[job.id] = callback
    status.message, status.last_error = "", ""
    runtime._finish(job, status)
    finished.append([name, status.message, status.last_error])
report["finish"] = finished

# run folder and derived data both gone: re-solving still works, with the placed meshes as collision shapes
import shutil  # noqa: E402

bare = out_dir / "bare_library"
shutil.copytree(library, bare, ignore=shutil.ignore_patterns("derived"))
coll = next(c for c in bpy.data.collections if c.get(lp.ROLE) == "run")  # undo replaced the Python handles
coll[session.LIBRARY_DIR] = str(bare)
shutil.rmtree(run_dir)
_, bare_problem, _ = session._session(coll)
report["bare_proxy_verts"] = {item.id: len(item.verts) for item in bare_problem.items}
report["bare_reoptimise"] = len(session.reoptimise_collection(coll).placements)
print(json.dumps(report))
