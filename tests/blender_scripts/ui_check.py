"""Run in a fresh interpreter: the installed extension's UI in each state, with a real worker.

argv: ZIP_PATH REPO_ROOT OUT_DIR. Prints one JSON report on its last line.
"""
import json
import sys
import time
from pathlib import Path

zip_path, repo_root, out_dir = sys.argv[-3], Path(sys.argv[-2]), Path(sys.argv[-1])
sys.path.insert(0, str(repo_root))

import bpy  # noqa: E402

from tests.ui_recorder import draw_panel  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
ext = sys.modules["bl_ext.user_default.imaginarium"]
runtime = sys.modules["bl_ext.user_default.imaginarium.imaginarium_addon.worker_runtime"]
prefs = bpy.context.preferences.addons["bl_ext.user_default.imaginarium"].preferences
panels = [getattr(bpy.types, n) for n in dir(bpy.types) if n.startswith("IMAGINARIUM_PT_")]
report = {"panels": sorted(p.__name__ for p in panels), "states": {}}


def draw_all(state):
    texts = {}
    for panel in panels:
        texts[panel.__name__] = draw_panel(panel, bpy.context).texts()
    report["states"][state] = texts


# 1. no library set
draw_all("no_library")
report["online_access"] = bpy.app.online_access
report["create_env_poll"] = bpy.ops.imaginarium.create_worker_env.poll()
report["run_from_image_poll_no_image"] = bpy.ops.imaginarium.run_from_image.poll()

# 2. idle, with a library folder that has no catalogue, an image and generated results
prefs.library_dir = str(out_dir / "empty_library")
(out_dir / "empty_library").mkdir(exist_ok=True)
settings = bpy.context.scene.imaginarium
img = bpy.data.images.new("gen_0.png", 8, 8)
img.filepath_raw = str(out_dir / "gen_0.png")
img.file_format = "PNG"
img.save()
item = settings.generated.add()
item.filepath = str(out_dir / "gen_0.png")
settings.image_path = str(out_dir / "gen_0.png")
draw_all("idle")
report["use_generated"] = list(bpy.ops.imaginarium.use_generated_image(index=0))

# 3. running: a real worker job driven by the timer's step function
job = runtime.submit("count_steps", {"steps": 400, "delay_s": 0.02}, "Counting")
deadline = time.monotonic() + 30
while job.progress == 0 and time.monotonic() < deadline:
    runtime.step()
    time.sleep(0.02)
status = bpy.context.window_manager.imaginarium_status
report["running_progress"] = status.progress
report["generate_poll_while_running"] = bpy.ops.imaginarium.generate_images.poll()
draw_all("running")
report["cancel"] = list(bpy.ops.imaginarium.cancel_job())
while runtime.current_job() is not None and time.monotonic() < deadline:
    runtime.step()
    time.sleep(0.02)
report["after_cancel"] = {"state": job.state, "message": status.message, "error": status.last_error}

# 4. error: a job that fails shows its reason and fix
bad = runtime.submit("count_steps", {"steps": "many"}, "Bad job")
while runtime.current_job() is not None and time.monotonic() < deadline:
    runtime.step()
    time.sleep(0.02)
report["error_status"] = {"error": status.last_error, "fix": status.last_fix}
draw_all("error")

# 5. secrets typed into preferences are never saved
secret = "sk-ant-SECRET-do-not-save-123"
prefs.anthropic_api_key = secret
prefs.dds_api_token = "dds-SECRET-token-456"
report["secret_readable"] = prefs.anthropic_api_key == secret
blend = out_dir / "scene.blend"
bpy.ops.wm.save_as_mainfile(filepath=str(blend))
bpy.ops.wm.save_userpref()
userpref = Path(bpy.utils.resource_path("USER")) / "config" / "userpref.blend"
found = {}
for path in [blend, userpref]:
    data = path.read_bytes() if path.exists() else b""
    found[path.name] = {"exists": path.exists(), "has_secret": secret.encode() in data or b"dds-SECRET" in data,
                        # control: an ordinary preference IS in the file, so the search itself works
                        "has_library_dir": str(out_dir / "empty_library").encode() in data}
report["saved_files"] = found

# 6. a wrong Worker Python fails with its fix; once corrected, the next click works without Stop Worker
runtime.stop()
prefs.worker_python = str(out_dir / "no-such-python")
first = {}
try:
    runtime.submit("ping", {}, "Ping")
except Exception as exc:  # the client refuses to start: the operator reports it the same way
    first = {"error": getattr(exc, "message", str(exc))}
deadline = time.monotonic() + 30
while runtime.current_job() is not None and time.monotonic() < deadline:
    runtime.step()
    time.sleep(0.02)
first = first or {"error": status.last_error}
prefs.worker_python = sys.executable
second = runtime.submit("ping", {}, "Ping")
while runtime.current_job() is not None and time.monotonic() < deadline:
    runtime.step()
    time.sleep(0.02)
report["worker_python"] = {"wrong": first, "corrected_state": second.state,
                           "corrected_python": (second.result or {}).get("executable")}
runtime.stop()
print(json.dumps(report))
