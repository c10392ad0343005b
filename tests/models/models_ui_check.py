"""Run in a fresh interpreter: the installed extension's Models section, offline and online, with a real worker.

argv: ZIP_PATH REPO_ROOT OUT_DIR HUB_URL. Prints one JSON report on its last line.
"""
import json
import sys
import time
from pathlib import Path

zip_path, repo_root, out_dir, hub_url = sys.argv[-4], Path(sys.argv[-3]), Path(sys.argv[-2]), sys.argv[-1]
sys.path.insert(0, str(repo_root))

import bpy  # noqa: E402

from tests.ui_recorder import RecordingLayout  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
PKG = "bl_ext.user_default.imaginarium"
downloads = sys.modules[PKG + ".imaginarium_addon.model_downloads"]
errors = sys.modules[PKG + ".core.errors"]
prefs = bpy.context.preferences.addons[PKG].preferences
prefs.weights_dir = str(out_dir / "weights")
prefs.worker_python = sys.executable
report = {}


class _Drawn:
    """The preferences as draw() sees them, with a recording layout in place of Blender's."""

    def __init__(self, layout):
        object.__setattr__(self, "layout", layout)

    def __getattr__(self, name):
        return getattr(prefs, name)


def draw() -> list:
    layout = RecordingLayout()
    type(prefs).draw(_Drawn(layout), bpy.context)
    return layout.calls


def texts(calls) -> list:
    return [str(v) for k, v in calls if k in ("label", "progress") and v]


def step_until_idle(seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if downloads.step() is None:
            return
        time.sleep(0.05)


# 1. offline (bpy's default): the section draws, and nothing can start a download
report["online_access"] = bpy.app.online_access
calls = draw()
report["offline_texts"] = texts(calls)
report["offline_operators"] = [v for k, v in calls if k == "operator"]
report["offline_props"] = [v for k, v in calls if k == "prop"]
report["download_poll_offline"] = bpy.ops.imaginarium.download_model.poll()
try:
    bpy.ops.imaginarium.download_model(model="dinov2")
    report["download_op_offline"] = "ran"
except RuntimeError as exc:
    report["download_op_offline"] = "refused: " + str(exc).splitlines()[0]
try:
    downloads.start("dinov2", "download")
    report["start_offline"] = "started"
except errors.ImaginariumError as exc:
    report["start_offline"] = type(exc).__name__
report["worker_started_offline"] = downloads._client is not None

# 2. online: Download runs in the download worker against the stub hub, with progress; then Verify
report["online_at"] = time.time()
bpy.context.preferences.system.use_online_access = True
report["online_access_after"] = bpy.app.online_access
token = "hf_SECRET_never_saved_789"
prefs.hf_token = token
report["token_reaches_worker"] = downloads._environment().get("HF_TOKEN") == token
import os  # noqa: E402
os.environ["HF_ENDPOINT"] = hub_url  # the worker inherits it: the stub instead of huggingface.co
report["download_op_online"] = list(bpy.ops.imaginarium.download_model(model="dinov2"))
running_texts = []
deadline = time.monotonic() + 60
while downloads.running("dinov2") is not None and time.monotonic() < deadline:
    downloads.step()
    if downloads.running("dinov2") is not None and downloads.running("dinov2").progress > 0:
        running_texts = texts(draw())
    time.sleep(0.05)
step_until_idle()
report["running_texts"] = running_texts
job = downloads._jobs["dinov2"]
report["download_job"] = {"state": job.state, "error": job.error.message if job.error else None}
report["after_download"] = {s.key: s.state for s in downloads.statuses(force=True)}
report["after_texts"] = texts(draw())
report["verify_op"] = list(bpy.ops.imaginarium.verify_model(model="dinov2"))
step_until_idle()
report["verify_note"] = downloads._notes.get("dinov2")

# 3. the token typed into preferences is never saved
bpy.ops.wm.save_userpref()
userpref = Path(bpy.utils.resource_path("USER")) / "config" / "userpref.blend"
data = userpref.read_bytes() if userpref.exists() else b""
report["userpref"] = {"exists": userpref.exists(), "has_token": token.encode() in data,
                      "has_weights_dir": str(out_dir / "weights").encode() in data}
downloads.stop()
print(json.dumps(report))
