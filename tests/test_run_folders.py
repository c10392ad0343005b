"""Run folders are transactions: verified caches, all-or-nothing commits, and an id of their own."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from imaginarium.core import runfolder
from imaginarium.core.errors import BadInputError, CancelledError
from imaginarium.core.perception import stage_files as sf
from imaginarium.core.perception.pipeline import perceive
from imaginarium.core.perception.segment import segment_in_box
from imaginarium.core.runfolder import RunFolder, run_id
from imaginarium.core.schema import Observation
from imaginarium.core.worker.context import JobContext
from tests.perception.scenes import write_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    write_scene(folder)
    return folder


@pytest.fixture(scope="module")
def good(scene, tmp_path_factory):
    run = tmp_path_factory.mktemp("good") / "run"
    perceive(scene / "image.png", run, **_kw(scene))
    return run


def _kw(scene, detections="detections.json"):
    return {"depth_path": scene / "depth.npy", "detections_path": scene / detections, "fov_deg": 70}


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): ("<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*"))}


def copy(good, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(good, dst)
    return dst


def test_stages_json_records_every_committed_file_and_a_run_id(good):
    data = json.loads((good / "stages.json").read_text())
    assert data["format"] == 2 and data["state"] == "committed"
    files = {rel: sha for rec in data["stages"].values() for rel, sha in rec["files"].items()}
    on_disk = {rel for rel, v in snapshot(good).items() if v != "<dir>"} - {"stages.json", "run.json"}
    assert set(files) == on_disk
    for rel, sha in files.items():
        assert hashlib.sha256((good / rel).read_bytes()).hexdigest() == sha, rel
    rid = run_id(good)
    assert len(rid) == 32 and int(rid, 16) >= 0
    assert json.loads((good / "run.json").read_text())["run_id"] == rid
    assert not any(p.name.startswith(".staging-") for p in good.iterdir())


def test_run_id_is_made_once_and_kept_across_reruns_but_differs_between_folders(scene, good, tmp_path):
    run = copy(good, tmp_path)
    rid = run_id(run)
    perceive(scene / "image.png", run, **_kw(scene, "detections_boxes.json"), clean=True)
    assert run_id(run) == rid
    other = tmp_path / "other"
    perceive(scene / "image.png", other, **_kw(scene))
    assert run_id(other) != rid
    (run / "run.json").write_text("{not json")
    with pytest.raises(BadInputError, match="run id"):
        run_id(run)
    with pytest.raises(BadInputError, match="does not exist"):
        run_id(tmp_path / "missing")


@pytest.mark.parametrize("victim, stage", [("detections.json", "detections"), ("depth.npy", "depth")])
def test_truncated_cached_file_is_recomputed_with_a_note(scene, good, tmp_path, victim, stage):
    run = copy(good, tmp_path)
    data = (run / victim).read_bytes()
    (run / victim).write_bytes(data[: len(data) // 3])
    obs = perceive(scene / "image.png", run, **_kw(scene))
    assert obs.provenance["stages"][stage] == "computed"
    assert len(obs.graph.objects) == 6
    assert any(victim in n and "recomputed" in n for n in obs.notes), obs.notes
    assert (run / victim).read_bytes() == data  # the same inputs give back the same file
    assert RunFolder(run).problems(stage) == []


def test_foreign_file_and_legacy_stages_json_are_not_trusted(scene, good, tmp_path):
    run = copy(good, tmp_path)
    np.save(run / "depth.npy", np.ones((180, 240), np.float32))  # right shape, wrong content
    obs = perceive(scene / "image.png", run, **_kw(scene))
    assert obs.provenance["stages"]["depth"] == "computed"
    assert np.nanmax(np.load(run / "depth.npy")) > 1.5
    (run / "stages.json").write_text(json.dumps({"image": "x", "depth": "y"}))  # the pre-hash format
    obs = perceive(scene / "image.png", run, **_kw(scene))
    assert set(obs.provenance["stages"].values()) == {"computed"}
    assert any("older version" in n for n in obs.notes)


def test_cancelled_and_failed_reruns_leave_the_committed_run_untouched(scene, good, tmp_path):
    run = copy(good, tmp_path)
    before = snapshot(run)
    cancelled = JobContext("j", lambda e: cancelled.cancel() if e.get("fraction", 0) >= 0.5 else None)
    with pytest.raises(CancelledError):
        perceive(scene / "image.png", run, **_kw(scene, "detections_boxes.json"), ctx=cancelled, clean=True)
    assert snapshot(run) == before
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"label": "chair", "box": [0, 0, 5000, 5000], "score": 7}]))
    with pytest.raises(BadInputError):
        perceive(scene / "image.png", run, **{**_kw(scene), "detections_path": bad}, clean=True)
    assert snapshot(run) == before


def test_failed_first_run_leaves_no_empty_folder(scene, tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((3, 7), np.float32))
    with pytest.raises(BadInputError):
        perceive(scene / "image.png", tmp_path / "new" / "run", depth_path=bad, detections_path=scene / "detections.json")
    assert not (tmp_path / "new" / "run").exists()


def test_interrupted_commit_is_detected_by_match_and_redone_by_perceive(scene, good, tmp_path, monkeypatch):
    """Kill the commit after two files moved: readers see the mismatch, the next perceive repairs it."""
    run = copy(good, tmp_path)
    moved = []
    real = os.replace

    def dying_replace(src, dst):
        if os.path.dirname(str(dst)) == str(run) and not os.path.basename(str(dst)).startswith("."):
            if len(moved) == 2:
                raise SystemExit("simulated crash")
            moved.append(dst)
        return real(src, dst)

    monkeypatch.setattr(runfolder.os, "replace", dying_replace)
    with pytest.raises(SystemExit):
        perceive(scene / "image.png", run, **_kw(scene, "detections_boxes.json"), clean=True)
    monkeypatch.setattr(runfolder.os, "replace", real)
    assert json.loads((run / "stages.json").read_text())["state"] == "committing"
    folder = RunFolder(run)
    with pytest.raises(BadInputError, match="inconsistent .*interrupted"):
        folder.require(runfolder.OBSERVATION_STAGES, rerun_fix="rerun")
    obs = perceive(scene / "image.png", run, **_kw(scene, "detections_boxes.json"))
    assert "computed" in obs.provenance["stages"].values()
    folder = RunFolder(run)
    assert folder.state == "committed" and folder.require(runfolder.OBSERVATION_STAGES, rerun_fix="x") == []


def test_stale_staging_of_a_dead_process_is_cleared(scene, good, tmp_path):
    run = copy(good, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = run / f".staging-observation-{int(dead.stdout)}-deadbeef"
    stale.mkdir()
    (stale / "depth.npy").write_bytes(b"half")
    perceive(scene / "image.png", run, **_kw(scene, "detections_boxes.json"))
    assert not stale.exists()


def test_downstream_stage_is_stale_when_its_inputs_change(scene, good, tmp_path):
    """A stage that read the observation (match) is not reused once perception recommitted."""
    run = copy(good, tmp_path)
    folder = RunFolder(run)
    inputs = sorted(f for s in runfolder.OBSERVATION_STAGES for f in folder.records[s].files)
    with folder.begin("match") as txn:
        txn.file("candidates.json").write_text("{}")
        txn.put("match", "k1", ["candidates.json"], inputs=inputs)
        txn.commit()
    assert RunFolder(run).cached("match", "k1") == (True, None)
    perceive(scene / "image.png", run, **_kw(scene, "detections_boxes.json"))
    ok, note = RunFolder(run).cached("match", "k1")
    assert not ok and "input" in note and "changed" in note


def test_hand_made_folder_without_stages_json_is_read_with_a_note(good, tmp_path):
    run = copy(good, tmp_path)
    (run / "stages.json").unlink()
    notes = RunFolder(run).require(runfolder.OBSERVATION_STAGES, rerun_fix="x")
    assert notes and "unchecked" in notes[0]
    with RunFolder(run).begin("match") as txn:  # a later stage commits here: still a hand-made folder
        txn.file("candidates.json").write_text("{}")
        txn.put("match", "k", ["candidates.json"])
        txn.commit()
    assert "unchecked" in RunFolder(run).require(runfolder.OBSERVATION_STAGES, rerun_fix="x")[0]


def test_object_notes_say_where_masks_came_from(scene, good, tmp_path):
    obs = Observation.load(good / "observation.json")
    assert all(not any("mask" in n for n in o.notes) for o in obs.graph.objects)  # detector masks: nothing to say
    boxes = perceive(scene / "image.png", tmp_path / "run", **_kw(scene, "detections_boxes.json"))
    for o in boxes.graph.objects:
        assert any("mask segmented from depth" in n for n in o.notes), (o.id, o.notes)


def test_segmentation_fallbacks_are_named_as_guesses():
    """The segmenter's silent fallbacks (box centre, whole tiny box) are recognised from what it returns."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (100, 120, 3)).astype(np.uint8)
    no_depth = np.full((100, 120), np.nan, np.float32)
    free = np.zeros((100, 120), bool)
    thin = (10, 10, 50, 16)   # too thin for GrabCut and no depth: the centre half comes back
    assert sf.segmentation_source(segment_in_box(rgb, no_depth, thin, None, exclude=free), thin, free) == sf.BOX_CENTRE
    tiny = (10, 10, 11, 30)
    assert sf.segmentation_source(segment_in_box(rgb, no_depth, tiny, None, exclude=free), tiny, free) == sf.WHOLE_BOX
    depth = np.full((100, 120), 3.0, np.float32)
    depth[30:70, 40:90] = 2.0  # an object standing 1 m in front of a wall
    box = (35, 25, 95, 75)
    mask = segment_in_box(rgb, depth, box, None, exclude=free)
    assert sf.segmentation_source(mask, box, free) == sf.SEGMENTED


def test_long_labels_never_reach_file_names():
    from imaginarium.core.perception.protocols import RawDetection

    ids = sf.object_ids([RawDetection("b" * 70, 0.9, (0, 0, 5, 5)), RawDetection("wall", 0.9, (0, 0, 5, 5))])
    assert len(ids[0]) <= sf.MAX_ID_CHARS + 4 and ids[1] == "obj_wall_0"
    with pytest.raises(BadInputError, match="label") as info:
        sf.check_detections([RawDetection("c" * 400, 0.9, (0, 0, 5, 5))], "a detections file")
    assert "--detections" in info.value.fix
    with pytest.raises(BadInputError, match="label") as info:  # a detector: the fix is the labels asked for
        sf.check_detections([RawDetection("c" * 400, 0.9, (0, 0, 5, 5))], "a test detector", from_file=False)
    assert "--labels" in info.value.fix and "--detections" not in info.value.fix
    with pytest.raises(BadInputError, match="--labels"):
        sf.clean_labels(["chair", "d" * 200], ["chair"])
