"""From Image in the installed extension, through a real worker: perceive → match → solve → build."""
from __future__ import annotations

import json
import sys

from tests.conftest import ROOT, run_blender_script


def test_build_room_from_image_through_the_worker(built_zip, fixture_library, demo_room, tmp_path) -> None:
    out, demo = demo_room
    assert demo.returncode == 0, demo.stderr[-2000:]
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "blender_scripts" / "from_image_check.py", str(built_zip), str(ROOT),
                              str(fixture_library), str(out), sys.executable, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["poll"] and r["run"] == ["FINISHED"]
    assert r["ops"] == ["perceive", "match"], r["error"]
    assert r["error"][0] == "", r["error"]
    assert len(r["collections"]) == 1 and len(r["objects"]) >= 2
    assert {"observation.json", "candidates.json", "layout.json", "depth.npy"} <= set(r["run_files"])
    assert r["worker_env"] == str(fixture_library)  # preferences reach the worker as settings
    assert any("done" in t for t in r["draw_status"])
    # every fallback is said where the user looks: no weights here, so the classical embedder stood in
    notes = r["notes"]
    assert any("classical" in n for n in notes), notes
    assert r["message"].endswith(f"{len(notes)} notes") and f"Notes ({len(notes)})" in r["draw_status"]
