"""core.pipeline and `python -m core room`: one image to layout.json, every stage in order, with the cache.

The image, depth and detections are an analytic render of a box room (testkit.synthetic_scenes) holding
a bed against the back wall and a chair, sized like the fixture library's assets, so perception,
matching (classical embedder) and the solver all run for real.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.geometry.camera import intrinsics_from_fov
from imaginarium.core.perception.masks import encode_rle
from imaginarium.testkit.synthetic_scenes import SyntheticBox, SyntheticRoom, look_pose, render_depth

ROOT = Path(__file__).resolve().parent.parent
BOXES = {"bed": SyntheticBox((0.4, 2.9, 0.5), (1.6, 2.1, 1.0)),
         "chair": SyntheticBox((-1.3, 1.6, 0.44), (0.45, 0.5, 0.88))}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | tuple]:
    """image.png, depth.npy and detections.json (RLE masks) of the room, plus the intrinsics used."""
    folder = tmp_path_factory.mktemp("room_inputs")
    room = SyntheticRoom(x0=-2.5, x1=2.5, y0=-1.0, y1=4.0, height=2.7, boxes=list(BOXES.values()))
    k = intrinsics_from_fov(200, 150, 70.0)
    depth, surface, obj = render_depth(room, k, look_pose((0.0, -0.6, 1.5), yaw_deg=0.0, pitch_deg=-20.0))
    rgb = np.full((k.height, k.width, 3), 200, np.uint8)
    rgb[surface == 0] = (150, 110, 70)
    for i, colour in enumerate([(190, 170, 140), (120, 80, 40)]):
        rgb[obj == i] = colour
    Image.fromarray(rgb).save(folder / "image.png")
    np.save(folder / "depth.npy", depth)
    dets = []
    for i, label in enumerate(BOXES):
        ys, xs = np.nonzero(obj == i)
        dets.append({"label": label, "score": 0.9, "mask": encode_rle(obj == i),
                     "box": [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]})
    (folder / "detections.json").write_text(json.dumps(dets))
    return {"image": folder / "image.png", "depth": folder / "depth.npy", "detections": folder / "detections.json",
            "intrinsics": (k.fx, k.fy, k.cx, k.cy)}


def _room_cli(inputs: dict, library: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m core room` in a fresh process, as a user runs it (top-level `core`, no `imaginarium`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "DDS_API_TOKEN", "DDS_CLOUDAPI_TOKEN")}
    cmd = [sys.executable, "-m", "core", "room", str(inputs["image"]), "--library", str(library), "--out", str(out),
           "--depth", str(inputs["depth"]), "--intrinsics", ",".join(str(v) for v in inputs["intrinsics"]),
           "--detections", str(inputs["detections"]), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)


def test_room_cli_writes_a_layout_with_a_box_per_placement(inputs, fixture_library, tmp_path) -> None:
    from imaginarium.core.library.catalogue import load_catalogue
    from imaginarium.core.schema import CandidateSet, Layout, Observation

    out = tmp_path / "run"
    proc = _room_cli(inputs, fixture_library, out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    for name in ("observation.json", "candidates.json", "layout.json"):
        assert (out / name).is_file(), name
    layout = Layout.load(out / "layout.json")
    observation = Observation.load(out / "observation.json")
    assert CandidateSet.load(out / "candidates.json").candidates
    assert {p.object_id for p in layout.placements} <= {o.id for o in observation.graph.objects}
    assert len(layout.placements) == 2
    assets = load_catalogue(fixture_library).assets
    for p in layout.placements:
        assert p.box is not None, p.object_id
        size = np.asarray(assets[p.asset_id].size) * np.asarray(p.scale)
        assert np.allclose(p.box.size, size, atol=1e-6)
        m = np.asarray(p.transform)
        assert p.box.center[2] == pytest.approx(m[2, 3] + size[2] / 2, abs=1e-6)  # asset origin is its bottom
    by_class = {assets[p.asset_id].retrieval_class: np.asarray(p.box.center[:2]) for p in layout.placements}
    truth = np.linalg.norm(np.subtract(BOXES["bed"].center[:2], BOXES["chair"].center[:2]))
    # perception picks its own world frame (floor at z 0, origin under the camera): compare what it keeps
    assert np.linalg.norm(by_class["bed"] - by_class["chair"]) == pytest.approx(truth, abs=0.25)
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith("2 of 2 object(s) placed") and "layout.json" in lines[-1]
    assert any(line.startswith("note: match: embedder: classical") for line in lines)  # the notes are printed


def test_a_second_run_reuses_every_stage_and_clean_redoes_them(inputs, fixture_library, tmp_path) -> None:
    out = tmp_path / "run"
    assert _room_cli(inputs, fixture_library, out).returncode == 0
    stamps = {n: (out / n).stat().st_mtime_ns for n in ("observation.json", "candidates.json", "layout.json")}
    keys = json.loads((out / "stages.json").read_text())["stages"]
    assert {"observation", "match", "solve"} <= set(keys)
    again = _room_cli(inputs, fixture_library, out)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {n: (out / n).stat().st_mtime_ns for n in stamps} == stamps  # nothing rewritten
    assert json.loads((out / "stages.json").read_text())["stages"] == keys
    clean = _room_cli(inputs, fixture_library, out, "--clean")
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert all((out / n).stat().st_mtime_ns != t for n, t in stamps.items())
    # a layout.json edited by hand is not trusted: the solve stage runs again
    layout = out / "layout.json"
    layout.write_text(layout.read_text().replace('"pinned": false', '"pinned": true', 1))
    stamp = layout.stat().st_mtime_ns
    assert _room_cli(inputs, fixture_library, out).returncode == 0
    assert layout.stat().st_mtime_ns != stamp and '"pinned": true' not in layout.read_text()


def test_room_cli_reports_a_typed_error_without_a_traceback(fixture_library, tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "core", "room", str(tmp_path / "missing.png"), "--library",
                           str(fixture_library), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[-2].startswith("error: ") and "missing.png" in lines[-2] and lines[-1].startswith("fix: ")
    assert "Traceback" not in proc.stderr


def test_image_to_room_in_process_gives_the_layout_it_wrote(inputs, fixture_library, tmp_path) -> None:
    from imaginarium.core.config import Secrets, Settings
    from imaginarium.core.pipeline import image_to_room
    from imaginarium.core.schema import Layout

    events: list[tuple[float, str]] = []

    class Ctx:
        def progress(self, fraction: float, message: str = "") -> None:
            events.append((fraction, message))

        def log(self, message: str, level: str = "info") -> None:
            pass

        def check_cancelled(self) -> None:
            pass

    settings = Settings()
    settings.retrieval.embedder = "classical"
    layout = image_to_room(inputs["image"], tmp_path / "run", fixture_library, settings, Secrets(),
                           depth=inputs["depth"], intrinsics=inputs["intrinsics"], detections=inputs["detections"],
                           ctx=Ctx())
    assert layout.to_json() == Layout.load(tmp_path / "run" / "layout.json").to_json()
    from imaginarium.core.runfolder import run_id

    assert layout.run_id == run_id(tmp_path / "run")  # the folder's own id, not its name
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)  # one bar over all stages
    assert {m.split(":")[0] for _, m in events} >= {"perceive", "match", "fit", "solve"}


def test_a_layout_committed_after_the_solve_is_what_the_pipeline_gives_back(inputs, fixture_library, tmp_path) -> None:
    """Blender commits a re-optimised layout as the solve stage's output; a re-run must keep it, not re-solve."""
    from imaginarium.core.config import Secrets, Settings
    from imaginarium.core.pipeline import commit_layout, image_to_room, solve_stage
    from imaginarium.core.schema import Layout

    run = tmp_path / "run"
    layout = image_to_room(inputs["image"], run, fixture_library, Settings(), Secrets(), depth=inputs["depth"],
                           intrinsics=inputs["intrinsics"], detections=inputs["detections"])
    edited = Layout.from_json(layout.to_json())
    edited.placements[0].pinned = True  # what the artist's re-optimise leaves
    commit_layout(run, edited, fixture_library, Settings())
    assert solve_stage(run, fixture_library, Settings()).placements[0].pinned
    assert not solve_stage(run, fixture_library, Settings(), clean=True).placements[0].pinned


def test_the_fit_reads_the_run_depth_only_at_the_camera_size(tmp_path) -> None:
    """A depth.npy of another size than the image would misalign every mask: an error naming the file."""
    from imaginarium.core.errors import BadInputError
    from imaginarium.core.pipeline import load_depth
    from imaginarium.core.schema import Camera, Observation

    obs = Observation("image.png", Camera(100.0, 100.0, 20.0, 15.0, 40, 30), depth_path="depth.npy")
    assert load_depth(tmp_path, obs) is None  # no depth: the fit is skipped, not failed
    np.save(tmp_path / "depth.npy", np.ones((30, 40), np.float64))
    assert load_depth(tmp_path, obs).dtype == np.float32
    np.save(tmp_path / "depth.npy", np.ones((15, 20), np.float32))
    with pytest.raises(BadInputError, match="depth.npy") as info:
        load_depth(tmp_path, obs)
    assert "--clean" in info.value.fix
