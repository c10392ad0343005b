"""The Layout panel's look-at-the-room actions in Blender with the extension installed (Cube from the startup file)."""
from __future__ import annotations

import json

from tests.conftest import ROOT, run_blender_script


def test_render_preview_hide_conflicts_and_the_reference_camera_checkbox(built_zip, tmp_path) -> None:
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "builder" / "check_render_ops.py", str(built_zip), str(ROOT),
                              str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["empty_default"] is True and r["startup_default"] is False and r["set_true"] is True
    assert r["startup_objects"] == ["Camera", "Cube", "Light"] and r["scene_camera_after_build"] == "Camera"
    assert any("Cube is inside the room" in t for t in r["panel"])
    assert r["preview"] == ["FINISHED"] and r["preview_image"] and r["preview_image"][1] == 36 and r["preview_file"]
    assert r["preview_image"][0] > 2 * 48  # photo and render side by side
    assert r["match"] == ["FINISHED"]
    assert r["cube_before"] == [False, False] and r["hide"] == ["FINISHED"] and r["cube_after"] == [True, True]
    assert r["light_after"] is False  # the startup light hangs above the room: not the room's business
    assert not any("inside the room" in t for t in r["panel_after"])
