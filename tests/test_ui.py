"""The artist's side panel in the installed extension: every panel draws in each state, a real worker's
progress/cancel/errors reach the Status section, and typed-in keys never reach a saved file."""
from __future__ import annotations

import json

from tests.conftest import ROOT, run_blender_script


def test_panels_jobs_and_secrets(built_zip, tmp_path) -> None:
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "blender_scripts" / "ui_check.py", str(built_zip), str(ROOT),
                              str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"IMAGINARIUM_PT_generate", "IMAGINARIUM_PT_from_image", "IMAGINARIUM_PT_library",
            "IMAGINARIUM_PT_status"} <= set(r["panels"])
    assert set(r["states"]) == {"no_library", "idle", "running", "error"}
    assert any("No library set" in t for t in r["states"]["no_library"]["IMAGINARIUM_PT_library"])
    assert any("imaginarium_asset_info.csv" in t for t in r["states"]["idle"]["IMAGINARIUM_PT_library"])
    assert r["run_from_image_poll_no_image"] is False
    assert r["online_access"] is False and r["create_env_poll"] is False  # no pip without online access
    assert r["use_generated"] == ["FINISHED"]
    assert 0 < r["running_progress"] < 1 and r["generate_poll_while_running"] is False
    assert any("Counting" in t for t in r["states"]["running"]["IMAGINARIUM_PT_status"])
    assert r["cancel"] == ["FINISHED"]
    assert r["after_cancel"]["state"] == "cancelled" and r["after_cancel"]["message"] == "cancelled"
    assert r["after_cancel"]["error"] == ""  # a cancel is not an error
    assert "count_steps" in r["error_status"]["error"] and r["error_status"]["fix"]
    assert any(r["error_status"]["error"] in t for t in r["states"]["error"]["IMAGINARIUM_PT_status"])
    assert r["secret_readable"]
    assert r["saved_files"]["scene.blend"]["exists"] and not r["saved_files"]["scene.blend"]["has_secret"]
    assert r["saved_files"]["userpref.blend"] == {"exists": True, "has_secret": False, "has_library_dir": True}
    assert "no-such-python" in r["worker_python"]["wrong"]["error"]
    assert r["worker_python"]["corrected_state"] == "done"  # the corrected preference works on the next click
    assert r["worker_python"]["corrected_python"]
