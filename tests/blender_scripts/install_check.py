"""Run in a fresh interpreter: install the built zip into bpy 4.3, exercise it, uninstall it.

Prints one JSON object on its last line for the test to check. argv: ZIP_PATH.
"""
import json
import sys
from pathlib import Path

import bpy

zip_path = sys.argv[-1]
report = {}
repo = "user_default"
module = "bl_ext.user_default.imaginarium"

bpy.ops.extensions.package_install_files(filepath=zip_path, repo=repo, enable_on_install=True)
report["enabled"] = module in bpy.context.preferences.addons
ops = [name for name in dir(bpy.ops.imaginarium) if not name.startswith("_")]
report["operators"] = ops
polls = {}
for name in ops:
    op = getattr(bpy.ops.imaginarium, name)
    op.get_rna_type()
    polls[name] = bool(op.poll())
report["polls"] = polls
report["panels"] = [n for n in dir(bpy.types) if n.startswith("IMAGINARIUM_PT_")]
report["status_prop"] = hasattr(bpy.context.window_manager, "imaginarium_status")
install_dir = Path(bpy.utils.user_resource("EXTENSIONS")) / repo / "imaginarium"
report["installed_files"] = install_dir.is_dir() and (install_dir / "core" / "schema.py").is_file()
report["tests_shipped"] = (install_dir / "tests").exists()

bpy.ops.wm.read_homefile(use_empty=True)
report["enabled_after_reset"] = module in bpy.context.preferences.addons

bpy.ops.preferences.addon_disable(module=module)
report["panels_after_disable"] = [n for n in dir(bpy.types) if n.startswith("IMAGINARIUM_PT_")]
report["status_prop_after_disable"] = hasattr(bpy.types.WindowManager, "imaginarium_status")
bpy.ops.extensions.package_uninstall(repo_index=[r.module for r in bpy.context.preferences.extensions.repos].index(repo),
                                     pkg_id="imaginarium")
report["dir_after_uninstall"] = install_dir.exists()
report["ops_after_uninstall"] = [n for n in dir(bpy.ops.imaginarium) if not n.startswith("_")]
report["enabled_after_uninstall"] = module in bpy.context.preferences.addons
print(json.dumps(report))
