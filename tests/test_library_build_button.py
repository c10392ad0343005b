"""The Library panel's build button: renders + proxies in a child Blender, then embeddings in the worker's Python."""
from __future__ import annotations

import json
import sys

from tests.conftest import ROOT, run_blender_script


def test_build_button_builds_derived_data(built_zip, tmp_path) -> None:
    from imaginarium.testkit.fixture_library import make_fixture_library

    library = make_fixture_library(tmp_path / "lib", build=False)
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "blender_scripts" / "library_build_check.py", str(built_zip),
                              str(ROOT), str(library), sys.executable, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert any("Derived data: not built" in t for t in r["before"])
    assert r["run"] == ["FINISHED"]
    assert r["state"] == "done", (r["message"], r["log"])
    assert any("Derived data: built" in t for t in r["after"])
    assert "index.json" in r["derived"]
    assert any(0 < f < 1 for f in r["progress_seen"])  # progress moved while it ran
