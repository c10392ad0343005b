"""The extension as a user gets it: built and validated by Blender's tool, installed into bpy 4.3, removed."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from tests.conftest import ROOT, ext_cli_path, run_blender_script


def test_zip_validates_and_ships_only_the_extension(built_zip) -> None:
    check = subprocess.run([sys.executable, str(ext_cli_path()), "validate", str(built_zip)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    names = zipfile.ZipFile(built_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "core/schema.py" in names
    for excluded in ("tests/", "testkit/", ".venv/", "weights/", "asset_data/", "__pycache__", ".git/", "dist/"):
        assert not any(excluded in n for n in names), excluded


def test_install_enable_disable_uninstall(built_zip, tmp_path) -> None:
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "blender_scripts" / "install_check.py", str(built_zip), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["enabled"] and report["installed_files"] and not report["tests_shipped"]
    assert {"ping_worker", "cancel_job", "stop_worker"} <= set(report["operators"])
    assert report["polls"]["ping_worker"] is True and report["polls"]["cancel_job"] is False  # nothing running
    assert "IMAGINARIUM_PT_status" in report["panels"] and report["status_prop"]
    assert report["enabled_after_reset"]
    assert report["panels_after_disable"] == [] and not report["status_prop_after_disable"]
    assert not report["dir_after_uninstall"] and not report["enabled_after_uninstall"]
    assert report["ops_after_uninstall"] == []


def test_every_core_module_imports_without_bpy_or_torch() -> None:
    """The architecture rule: core runs without Blender, and torch loads only where a model runs."""
    code = (
        "import sys, pkgutil, importlib\n"
        "sys.modules['bpy'] = None\n"
        "import core\n"
        "BPY_BOUND = {'core.library.bake_bpy'}  # the library's renderer: documented as the one bpy module\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'core.') if m.name not in BPY_BOUND and not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers', 'anthropic', 'dds_cloudapi_sdk') if m in sys.modules)\n"
        "assert not heavy, f'imported at module level: {heavy}'\n"
        "print(len(names))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.strip()) > 80


def test_cli_config_lists_defaults() -> None:
    proc = subprocess.run([sys.executable, "-m", "core", "config"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "t2i.steps = 28" in proc.stdout


def test_product_code_has_no_test_only_helpers() -> None:
    """Fixture libraries, random model builders, synthetic scenes and test ops live in testkit/, not in core."""
    core_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "core").rglob("*.py")}
    assert not {"core/library/fixtures.py", "core/t2i/random_build.py", "core/geometry/synthetic.py"} & core_files
    from imaginarium.core.worker import registry

    assert "count_steps" not in registry.OPS  # reaches test workers only through IMAGINARIUM_WORKER_EXTRA_OPS
