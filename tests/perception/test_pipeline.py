"""The whole perceive stage on a known synthetic room, through the CLI, the worker op and the cache."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.cli import main as cli_main
from imaginarium.core.config import Secrets, Settings
from imaginarium.core.errors import BadInputError, CancelledError, ConfigError, MissingWeightsError
from imaginarium.core.perception.pipeline import perceive
from imaginarium.core.schema import Observation
from imaginarium.core.worker.context import JobContext
from imaginarium.core.worker.registry import resolve

from .scenes import write_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    truth = write_scene(folder)
    return folder, truth


def test_cli_writes_the_contracted_run_folder(scene, tmp_path, capsys):
    folder, truth = scene
    run = tmp_path / "run"
    rc = cli_main(["perceive", str(folder / "image.png"), "--depth", str(folder / "depth.npy"),
                   "--detections", str(folder / "detections.json"), "--fov", "70", "--out", str(run)])
    assert rc == 0, capsys.readouterr()
    obs = Observation.load(run / "observation.json")
    for name in ("image.png", "depth.npy", "depth_colour.png", "masks_overlay.png", "planes_overlay.png"):
        assert (run / name).is_file(), name
    assert np.load(run / "depth.npy").shape == (180, 240)
    assert obs.image_path == "image.png" and obs.depth_path == "depth.npy"
    assert obs.camera.width == 240 and obs.camera.fx == pytest.approx(120 / np.tan(np.radians(35)))
    cam_z = np.array(obs.camera.world_from_camera)[2, 3]
    assert cam_z == pytest.approx(1.5, abs=0.02)
    labels = sorted(o.label for o in obs.graph.objects)
    assert labels == sorted(truth["labels"])
    by_label = {}
    for o in obs.graph.objects:
        by_label.setdefault(o.label, []).append(o)
        assert o.detection.mask == {"png": f"masks/{o.id}.png"}
        mask = np.asarray(Image.open(run / o.detection.mask["png"])) > 0
        assert mask.shape == (180, 240) and mask.any()
        assert o.box is not None and o.support is not None
    # Relations from geometry alone (no key): the box stands on the table, the painting hangs on the back wall,
    # the two stools form a group and the cabinet stands against the back wall.
    table, box = by_label["table"][0], by_label["box"][0]
    assert box.support == table.id
    painting = by_label["painting"][0]
    assert painting.hanging_on_wall and painting.support.startswith("wall_")
    back = next(p for p in obs.planes if p.id == painting.support)
    assert back.normal[1] == pytest.approx(-1.0)
    assert by_label["cabinet"][0].against_walls == [back.id]
    stools = by_label["stool"]
    # Same label and size make a geometric group, but these two stools have different colours: the crops
    # do not look alike, so the group is split and each says why (see the look-alike test below).
    assert stools[0].group is None and stools[1].group is None
    assert all(any("looks different" in n for n in s.notes) for s in stools)
    # 3D boxes in the world frame: table top at 0.75 m, stools 0.45 m tall (both within 8 cm).
    assert table.box.center[2] + table.box.size[2] / 2 == pytest.approx(0.75, abs=0.08)
    for s in stools:
        assert s.box.size[2] == pytest.approx(0.45, abs=0.08)
        assert s.box.center[2] - s.box.size[2] / 2 == pytest.approx(0.0, abs=0.05)
    # Centres in the world frame (origin under the camera, axes snapped to the room): within 0.3 m of the truth
    # (boxes are measured from their visible front, so they sit a little towards the camera).
    foot = truth["pose"][:2, 3]
    for o in obs.graph.objects:
        i = int(o.id.rsplit("_", 1)[1]) if o.label == "stool" else 0
        index = [j for j, lab in enumerate(truth["labels"]) if lab == o.label][i]
        expected = np.array(truth["room"].boxes[index].center[:2]) - foot
        assert np.linalg.norm(np.array(o.box.center[:2]) - expected) < 0.3, (o.id, o.box.center, expected)
    assert obs.graph.source == "geometry"
    assert "geometry alone" in obs.provenance["vlm"]
    assert obs.provenance["detection"] == "file" and obs.provenance["masks"] == {"file": 6}


def test_look_alike_stools_keep_their_group(scene, tmp_path):
    """The same scene with the second stool painted like the first: the geometric group survives the look check."""
    folder, truth = scene
    rgb = np.asarray(Image.open(folder / "image.png")).copy()
    stool_a, stool_b = [i for i, lab in enumerate(truth["labels"]) if lab == "stool"]
    rgb[truth["obj"] == stool_b] = rgb[truth["obj"] == stool_a].mean(axis=0).astype(np.uint8)
    rgb[truth["obj"] == stool_a] = rgb[truth["obj"] == stool_a].mean(axis=0).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "alike.png")
    obs = perceive(tmp_path / "alike.png", tmp_path / "run", depth_path=folder / "depth.npy",
                   detections_path=folder / "detections.json", fov_deg=70)
    stools = [o for o in obs.graph.objects if o.label == "stool"]
    assert stools[0].group is not None and stools[0].group == stools[1].group, [s.notes for s in stools]


def test_stage_cache_reruns_only_what_changed_and_clean_forces(scene, tmp_path):
    folder, _ = scene
    run = tmp_path / "run"
    kw = dict(depth_path=folder / "depth.npy", detections_path=folder / "detections.json", fov_deg=70)
    first = perceive(folder / "image.png", run, **kw)
    assert first.provenance["stages"] == {"depth": "computed", "detections": "computed", "observation": "computed"}
    mtime = (run / "observation.json").stat().st_mtime_ns
    again = perceive(folder / "image.png", run, **kw)
    assert (run / "observation.json").stat().st_mtime_ns == mtime  # nothing recomputed
    assert again.to_dict() == first.to_dict()
    boxes = perceive(folder / "image.png", run, **{**kw, "detections_path": folder / "detections_boxes.json"})
    assert boxes.provenance["stages"]["depth"] == "cached"
    assert boxes.provenance["stages"]["detections"] == "computed"
    assert boxes.provenance["masks"] == {"depth-segmentation": 6}
    (run / "notes.txt").write_text("mine")
    forced = perceive(folder / "image.png", run, **{**kw, "detections_path": folder / "detections_boxes.json"},
                      clean=True)
    assert forced.provenance["stages"]["depth"] == "computed"
    assert (run / "notes.txt").read_text() == "mine"  # --clean removes only what perceive writes


def test_depth_segmentation_masks_are_close_to_the_true_masks(scene, tmp_path):
    folder, truth = scene
    obs = perceive(folder / "image.png", tmp_path / "run", depth_path=folder / "depth.npy",
                   detections_path=folder / "detections_boxes.json", fov_deg=70)
    ious = []
    for o in obs.graph.objects:
        mask = np.asarray(Image.open(tmp_path / "run" / o.detection.mask["png"])) > 0
        best = max(((truth["obj"] == i) & mask).sum() / ((truth["obj"] == i) | mask).sum()
                   for i in range(len(truth["labels"])))
        ious.append(best)
    assert np.median(ious) > 0.7 and min(ious) > 0.4, ious


def test_worker_op_reports_progress_and_can_be_cancelled(scene, tmp_path):
    folder, _ = scene
    events = []
    op = resolve("perceive")
    ctx = JobContext("j1", events.append)
    params = {"image": str(folder / "image.png"), "out": str(tmp_path / "run"), "depth": str(folder / "depth.npy"),
              "detections": str(folder / "detections.json"), "fov": 70}
    result = op(params, ctx)
    assert result["objects"] == 6 and "floor" in result["planes"]
    fractions = [e["fraction"] for e in events if e["type"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 5
    json.dumps(result)  # crosses the process boundary as JSON
    cancelled = JobContext("j2", lambda e: cancelled.cancel())  # cancel as soon as the first progress arrives
    with pytest.raises(CancelledError):
        op({**params, "out": str(tmp_path / "run2")}, cancelled)
    with pytest.raises(BadInputError, match="image"):
        op({"out": "x"}, JobContext("j3", lambda e: None))


def test_without_any_detector_the_error_says_what_to_install(scene, tmp_path):
    folder, _ = scene
    settings = Settings()
    settings.paths.weights_dir = str(tmp_path / "no-weights")
    with pytest.raises(MissingWeightsError, match="No detector") as exc:
        perceive(folder / "image.png", tmp_path / "run", settings, Secrets(), depth_path=folder / "depth.npy")
    assert "--detections" in exc.value.fix
    settings.detection.backend = "file"
    with pytest.raises(ConfigError):
        perceive(folder / "image.png", tmp_path / "run", settings, Secrets(), depth_path=folder / "depth.npy")


def test_cli_reports_bad_input_with_a_fix(tmp_path, capsys):
    (tmp_path / "x.png").write_text("not an image")
    rc = cli_main(["perceive", str(tmp_path / "x.png"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2 and "not an image" in err and "fix:" in err
    rc = cli_main(["perceive", str(tmp_path / "x.png"), "--intrinsics", "1,2", "--out", str(tmp_path / "run")])
    assert rc == 2 and "fx,fy,cx,cy" in capsys.readouterr().err
