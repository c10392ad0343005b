"""``python -m core build RUN --render OUT.png``: a fresh background Blender builds the run, saves it and renders it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from imaginarium.core import schema
from tests.conftest import ROOT


def _run_folder(tmp: Path) -> Path:
    """A solved run by hand: the fixture library's bed against the back wall, a camera, a relative photo."""
    run = tmp / "run"
    run.mkdir()
    Image.fromarray(np.full((48, 64, 3), (150, 130, 110), np.uint8)).save(run / "image.png")
    cam = schema.Camera(fx=50.0, fy=50.0, cx=32.0, cy=24.0, width=64, height=48,
                        world_from_camera=((1, 0, 0, 0.0), (0, 0, 1, -1.5), (0, -1, 0, 1.3), (0, 0, 0, 1)))
    planes = [schema.Plane(id="floor", kind="floor", normal=(0, 0, 1), offset=0.0),
              schema.Plane(id="wall_0", kind="wall", normal=(1, 0, 0), offset=-2.0),
              schema.Plane(id="wall_1", kind="wall", normal=(-1, 0, 0), offset=-2.0),
              schema.Plane(id="wall_2", kind="wall", normal=(0, -1, 0), offset=-2.5)]
    bed = schema.Placement(object_id="bed_0", asset_id="1", transform=((1, 0, 0, 0.0), (0, 1, 0, 1.3), (0, 0, 1, 0.0),
                                                                       (0, 0, 0, 1)))
    schema.Layout(placements=[bed], planes=planes, camera=cam, textures={"floor": "oak_planks"}).save(run / "layout.json")
    schema.Observation(image_path="image.png", camera=cam, planes=planes).save(run / "observation.json")
    return run


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "build", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_build_command_saves_the_scene_and_renders_it_lit_from_the_reference_camera(fixture_library: Path,
                                                                                       tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    proc = _cli(str(run), "--library", str(fixture_library), "--blend", str(tmp_path / "room.blend"),
                "--render", str(tmp_path / "room.png"), "--width", "64", "--samples", "4")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert (tmp_path / "room.blend").is_file() and (tmp_path / "room.png").is_file()
    assert Path(result["side_by_side"]).is_file() and result["size"] == [64, 48]
    assert result["run_id"] == json.loads((run / "run.json").read_text())["run_id"]
    assert result["reference_image"] == str((run / "image.png").resolve())  # relative to the run, not the cwd
    assert 0.5 < result["median_ratio"] < 2.0  # lit like the photo
    assert {row["name"] for row in result["lights"]} == {"ceiling panel", "camera fill"}
    assert "note: lights:" in proc.stdout


def test_build_command_without_a_layout_says_what_to_do(tmp_path: Path) -> None:
    proc = _cli(str(tmp_path), "--library", str(tmp_path))
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "layout.json" in proc.stderr and "fix:" in proc.stderr


def test_build_command_reports_a_library_error_from_the_child(tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    proc = _cli(str(run), "--library", str(tmp_path / "no_library"))
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "error:" in proc.stderr and "fix:" in proc.stderr and "Traceback" not in proc.stderr
