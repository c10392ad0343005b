"""The Models section in the installed extension (real bpy, fresh interpreter): it draws every model, nothing is
fetched while Blender's online access is off, and with it on Download and Verify run in a worker against a stub hub."""
from __future__ import annotations

import json

from tests.conftest import ROOT, run_blender_script

from .stub_hub import StubHub, dinov2_repo


def test_models_section_offline_then_online(built_zip, tmp_path) -> None:
    hub = StubHub(token="hf_SECRET_never_saved_789").start()  # the token the script types into preferences
    hub.add(dinov2_repo(size=2 * 1024 * 1024))
    hub.slow_s = 0.02  # about 0.7 s for the weights file: the section is drawn while it runs
    try:
        env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
               "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": ""}
        proc = run_blender_script(ROOT / "tests" / "models" / "models_ui_check.py", str(built_zip), str(ROOT),
                                  str(tmp_path), hub.url, env=env, timeout=300)
    finally:
        hub.close()
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    # offline: every model is listed with its state and its setting; Download cannot run
    assert r["online_access"] is False
    for label in ("FLUX.1-dev", "Imaginarium LoRA", "Depth Anything V2", "DINOv2", "Grounding DINO"):
        assert any(t.startswith(label) for t in r["offline_texts"]), label
    assert sum(t.startswith("missing") for t in r["offline_texts"]) == 5
    assert any("Online access is off" in t for t in r["offline_texts"])
    assert r["offline_operators"].count("imaginarium.download_model") == 5
    assert {"hf_token", "t2i_model", "t2i_lora", "depth_model", "dinov2_model", "local_detector"} <= \
        set(r["offline_props"])
    assert r["download_poll_offline"] is False and r["download_op_offline"].startswith("refused")
    assert r["start_offline"] == "OfflineError" and r["worker_started_offline"] is False
    assert hub.requests and all(q["t"] > r["online_at"] for q in hub.requests)  # nothing before online access
    # online: the download ran in a worker with progress, then Verify found nothing wrong
    assert r["online_access_after"] is True and r["token_reaches_worker"] is True
    assert r["download_op_online"] == ["FINISHED"]
    assert r["download_job"] == {"state": "done", "error": None}
    assert any(t.startswith("downloading") for t in r["running_texts"])
    assert r["after_download"]["dinov2"] == "installed" and r["after_download"]["depth"] == "missing"
    assert r["verify_op"] == ["FINISHED"] and "all good" in r["verify_note"]
    assert hub.fetched("model.safetensors") and all(q["token"] == "hf_SECRET_never_saved_789"
                                                   for q in hub.requests if "/resolve/" in q["path"])
    # the token is kept in memory only
    assert r["userpref"] == {"exists": True, "has_token": False, "has_weights_dir": True}
