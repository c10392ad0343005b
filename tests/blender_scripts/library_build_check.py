"""Run in a fresh interpreter: the Library panel's build button on a library without derived data.

argv: ZIP_PATH REPO_ROOT LIBRARY_DIR WORKER_PYTHON. Prints one JSON report on its last line.
"""
import json
import sys
import time
from pathlib import Path

zip_path, repo_root, library, worker_python = sys.argv[-4:]
sys.path.insert(0, repo_root)

import bpy  # noqa: E402

from tests.ui_recorder import draw_panel  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
pkg = "bl_ext.user_default.imaginarium"
ops = sys.modules[pkg + ".operators.library_ops"]
prefs = bpy.context.preferences.addons[pkg].preferences
prefs.library_dir, prefs.worker_python = library, worker_python
report = {"before": draw_panel(bpy.types.IMAGINARIUM_PT_library, bpy.context).texts()}
report["run"] = list(bpy.ops.imaginarium.build_library())
fractions, deadline = [], time.monotonic() + 300
while ops.build_step() is not None and time.monotonic() < deadline:
    fractions.append(round(bpy.context.window_manager.imaginarium_status.progress, 3))
    time.sleep(0.2)
chain = ops.build_state()
report["state"], report["message"], report["log"] = chain.state, chain.message, list(chain.log)[-4:]
report["progress_seen"] = sorted(set(fractions))
report["after"] = draw_panel(bpy.types.IMAGINARIUM_PT_library, bpy.context).texts()
report["derived"] = sorted(p.name for p in (Path(library) / "derived").iterdir())
print(json.dumps(report))
