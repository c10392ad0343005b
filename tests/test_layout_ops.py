"""Layout and Selected-object actions in the installed extension: re-optimise keeps edits, pin, swap, undo."""
from __future__ import annotations

import json

from tests.conftest import ROOT, run_blender_script


def test_layout_and_object_actions(built_zip, fixture_library, tmp_path) -> None:
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "blender_scripts" / "layout_ops_check.py", str(built_zip), str(ROOT),
                              str(fixture_library), str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["built"] == ["bed", "chair", "rug"]  # the removed "ghost" is not placed …
    assert any(n.startswith("ghost (chair) not placed: the VLM says it is a reflection") for n in r["layout_notes"])
    assert r["rug_notes"] == ["seen through a door"]  # … and an object's notes reach its Blender object
    assert r["boxes"] == ["bed", "chair", "rug"] and r["relation_prop"] == "against_wall"
    selected = r["draw_selected"]["IMAGINARIUM_PT_selected_object"]
    assert any("chair" in t for t in selected) and any("Candidate assets (2)" in t for t in selected)
    assert r["pin"] == ["FINISHED"] and r["pinned_after"] is True and r["pinned_after_undo"] is False
    assert r["reoptimise"] == ["FINISHED"] and r["bed_kept_edit"]
    assert r["layout_saved"] in {"bed", "chair", "rug"}
    assert r["selected_resolved"] == ["chair"] and r["reoptimise_selected"] == ["FINISHED"]
    assert "Re-optimised 1 object\n" in proc.stdout  # one selected, one re-solved (not the room's count)
    assert r["rerun_same_collection"] and r["rerun_objects"] == ["bed", "chair", "rug"] and r["rerun_kept_edit"]
    assert r["swap"] == ["FINISHED"] and r["asset_after_swap"] == "3"
    assert r["swap_moved_m"] < 0.5 and abs(r["swap_on_floor_z"]) < 0.02  # stays in place, on the floor
    assert r["asset_after_undo"] == "2"
    assert r["metrics"] == ["FINISHED"] and "colliding_pairs" in r["metrics_json"]
    assert any("Colliding pairs" in t for t in r["draw_layout"])
    assert r["settle"] == ["FINISHED"]
    ok, typed, untyped = r["finish"]
    assert ok == ["ok", "done — 3 objects", ""]
    assert typed[1] == "failed" and "no-such-asset" in typed[2]
    assert untyped[1] == "failed" and untyped[2].startswith("KeyError")
    # without run folder and derived data the meshes in the scene are the proxies (not 8-corner boxes)
    assert r["bare_reoptimise"] == 3 and min(r["bare_proxy_verts"].values()) > 8, r["bare_proxy_verts"]
