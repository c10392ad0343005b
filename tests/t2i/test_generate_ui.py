"""Generate in the installed extension: prompt → a real worker → tiny random FLUX → thumbnails → Use."""
from __future__ import annotations

import json
import sys

from tests.conftest import ROOT, run_blender_script


def test_generate_section_through_the_worker(built_zip, tiny_flux_dir, tmp_path) -> None:
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "blender_scripts" / "generate_check.py", str(built_zip), str(ROOT),
                              str(tiny_flux_dir), str(tmp_path / "runs"), sys.executable, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["run"] == ["FINISHED"]
    assert r["error"][0] == "", r["error"]
    assert len(r["generated"]) == 2 and all(exists for _, _, exists in r["generated"])
    assert [seed for _, seed, _ in r["generated"]] == [3, 4]
    assert any(0 < f < 1 for f in r["progress_seen"])  # per-step progress reached the Status section
    assert sum(1 for kind, _ in r["draw"] if kind == "operator") >= 3  # generate + one "Use" per image
    assert r["use"] == ["FINISHED"] and r["image_path"] == r["generated"][1][0]
