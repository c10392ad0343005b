"""Run in a fresh interpreter: Generate through a real worker with a tiny random FLUX pipeline.

argv: ZIP_PATH REPO_ROOT MODEL_DIR OUT_DIR WORKER_PYTHON. Prints one JSON report on its last line.
"""
import json
import sys
import time
from pathlib import Path

zip_path, repo_root, model_dir, out_dir, worker_python = sys.argv[-5:]
sys.path.insert(0, repo_root)

import bpy  # noqa: E402

from tests.ui_recorder import draw_panel  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
pkg = "bl_ext.user_default.imaginarium"
runtime = sys.modules[pkg + ".imaginarium_addon.worker_runtime"]
prefs = bpy.context.preferences.addons[pkg].preferences
prefs.worker_python, prefs.t2i_model, prefs.t2i_lora = worker_python, model_dir, ""
prefs.runs_dir, prefs.device = out_dir, "cpu"
s = bpy.context.scene.imaginarium
s.prompt, s.num_images, s.seed, s.width, s.height, s.steps = "a small bedroom", 2, 3, 256, 256, 2
report = {"run": list(bpy.ops.imaginarium.generate_images())}
progress, deadline = [], time.monotonic() + 300
while runtime.current_job() is not None and time.monotonic() < deadline:
    runtime.step()
    progress.append(round(bpy.context.window_manager.imaginarium_status.progress, 3))
    time.sleep(0.05)
runtime.step()
status = bpy.context.window_manager.imaginarium_status
report["error"] = [status.last_error, status.last_fix, runtime.client().stderr_tail()[-4:]]
report["progress_seen"] = sorted(set(progress))
report["generated"] = [(item.filepath, item.seed, Path(item.filepath).is_file()) for item in s.generated]
report["images_loaded"] = [img.name for img in bpy.data.images]
report["draw"] = draw_panel(bpy.types.IMAGINARIUM_PT_generate, bpy.context).calls
report["use"] = list(bpy.ops.imaginarium.use_generated_image(index=1))
report["image_path"] = s.image_path
runtime.stop()
print(json.dumps(report, default=str))
