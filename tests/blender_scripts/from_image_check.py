"""Run in a fresh interpreter: "Build Room From Image" through a real worker process.

argv: ZIP_PATH REPO_ROOT LIBRARY_DIR DEMO_OUT_DIR WORKER_PYTHON. The demo's rendered room gives the
image, its depth and its detections; the operator runs perceive and match in the worker, and the
timer step (called here, as timers never fire in background bpy) solves and builds the room.
"""
import json
import math
import sys
import time
from pathlib import Path

zip_path, repo_root, library, demo_out, worker_python = sys.argv[-5:]
sys.path.insert(0, repo_root)

import bpy  # noqa: E402

from tests.ui_recorder import draw_panel  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
bpy.ops.wm.read_homefile(use_empty=True)
pkg = "bl_ext.user_default.imaginarium"
runtime = sys.modules[pkg + ".imaginarium_addon.worker_runtime"]
lp = sys.modules[pkg + ".imaginarium_addon.layout_props"]
prefs = bpy.context.preferences.addons[pkg].preferences
prefs.library_dir = library
prefs.worker_python = worker_python
prefs.runs_dir = str(Path(demo_out) / "ui_runs")
demo = Path(demo_out)
cam = json.loads((demo / "ground_truth_layout.json").read_text())["camera"]
s = bpy.context.scene.imaginarium
s.image_path = str(demo / "reference.png")
s.depth_path = str(demo / "reference_passes" / "depth.npy")
s.detections_path = str(demo / "reference_passes" / "detections.json")
s.fov_deg = math.degrees(2 * math.atan(cam["width"] / (2 * cam["fx"])))
report = {"poll": bpy.ops.imaginarium.run_from_image.poll()}
report["run"] = list(bpy.ops.imaginarium.run_from_image())
labels, deadline, idle = [], time.monotonic() + 240, 0
while time.monotonic() < deadline and idle < 3:
    runtime.step()
    job = runtime.current_job()
    idle = idle + 1 if job is None else 0
    if job is not None and (not labels or labels[-1] != job.op):
        labels.append(job.op)
    time.sleep(0.05)
status = bpy.context.window_manager.imaginarium_status
report["ops"] = labels
report["error"] = [status.last_error, status.last_fix, runtime.client().stderr_tail()[-5:]]
runs = [c for c in bpy.data.collections if c.get(lp.ROLE) == "run"]
report["collections"] = [c.name for c in runs]
report["objects"] = sorted(lp.placement_objects(runs[0])) if runs else []
run_dir = Path(s.last_run_dir)
report["run_files"] = sorted(p.name for p in run_dir.iterdir()) if run_dir.is_dir() else []
report["worker_env"] = runtime.client().extra_env.get("IMAGINARIUM_PATHS_LIBRARY_DIR")
report["draw_status"] = draw_panel(bpy.types.IMAGINARIUM_PT_status, bpy.context).texts()
report["notes"] = runtime.notes()
report["message"] = status.message
runtime.stop()
print(json.dumps(report))
