"""Batch rooms and library builds on a local Ray cluster (see conftest): files, reruns, killed workers,
failures that do not stop the rest, and a library store equal to the single-machine build's."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

from .conftest import run_batch

SMALL = ["--width", "96", "--height", "72", "--samples", "2"]
SUFFIXES = (".blend", ".png", "_depth.npy", "_depth.png", "_segmentation.png", "_bbox_overlay.png", "_meta.json")


def _spec(path: Path, rooms: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rooms), encoding="utf-8")
    return path


def _manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def three_rooms(tmp_path_factory, fixture_library, ray_address, ray_env, demo_room):
    work = tmp_path_factory.mktemp("batch_rooms")
    demo, _ = demo_room  # a rendered room with its depth and detections: a "photo" through core.pipeline
    cam = json.loads((demo / "ground_truth_layout.json").read_text())["camera"]
    spec = _spec(work / "rooms.jsonl", [
        {"name": "bedroom_0001", "generator": {"room": "bedroom", "seed": 1}},
        {"name": "bedroom_0002", "generator": {"room": "bedroom", "seed": 2}},
        {"name": "living_0003", "generator": {"room": "living_room", "seed": 3}},
        {"name": "empty_0004", "generator": {"room": "bedroom", "seed": 4, "max_objects": 0}},  # fails: no objects
        {"name": "photo_0005", "image": str(demo / "reference.png"),
         "depth": str(demo / "reference_passes" / "depth.npy"),
         "detections": str(demo / "reference_passes" / "detections.json"),
         "intrinsics": [cam["fx"], cam["fy"], cam["cx"], cam["cy"]]},
    ])
    out = work / "out"
    proc = run_batch(["rooms", str(spec), "--out", str(out), "--library", str(fixture_library), "--address",
                      ray_address, "--for-lora", *SMALL], ray_env)
    return spec, out, proc


def test_generator_rooms_write_every_file_and_a_failure_does_not_stop_the_rest(three_rooms, fixture_library):
    spec, out, proc = three_rooms
    assert proc.returncode == 1, proc.stderr[-3000:]  # one room failed: the exit status says so
    summary = json.loads(proc.stdout)
    assert summary["done"] == 4 and list(summary["failed"]) == ["empty_0004"]
    assert "no asset for any object" in summary["failed"]["empty_0004"] or "objects" in summary["failed"]["empty_0004"]
    for name in ("bedroom_0001", "bedroom_0002", "living_0003"):
        folder = out / name
        assert sorted(p.name for p in folder.iterdir()) == sorted(name + s for s in SUFFIXES)
        meta = json.loads((folder / f"{name}_meta.json").read_text())
        assert meta["description"].startswith(("a bedroom with", "a living room with"))
        assert meta["objects"] and all(o["asset_id"] and len(o["scale"]) == 3 and o["box"] for o in meta["objects"])
        assert meta["scene_graph"]["objects"] and "colliding_pairs" in meta["metrics"]
        from PIL import Image

        seg = np.asarray(Image.open(folder / f"{name}_segmentation.png"))
        depth = np.load(folder / f"{name}_depth.npy")
        assert seg.shape == depth.shape == (72, 96)
        visible = {o["instance_id"] for o in meta["objects"] if o["instance_id"]}
        assert visible and visible == set(np.unique(seg)) - {0}  # every id in the image belongs to an object
        assert np.isfinite(depth).all() and (depth > 0).mean() > 0.9
        assert (out / "lora_data" / f"{name}.png").is_file()
        assert (out / "lora_data" / f"{name}.txt").read_text().strip() == meta["description"]
    photo = json.loads((out / "photo_0005" / "photo_0005_meta.json").read_text())  # through the pipeline
    assert photo["kind"] == "photo" and len(photo["objects"]) >= 2 and photo["notes"]
    assert (out / "photo_0005" / "photo_0005_input.png").is_file()
    failed = [r for r in _manifest(out) if r["name"] == "empty_0004"]
    assert failed[-1]["status"] == "failed" and failed[-1]["error"]
    assert not (out / "empty_0004").exists() and not list(out.glob(".staging-*"))


def test_rerun_recomputes_nothing_that_is_done(three_rooms, fixture_library, ray_address, ray_env):
    spec, out, _ = three_rooms
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "manifest.jsonl"}
    lines = len(_manifest(out))
    proc = run_batch(["rooms", str(spec), "--out", str(out), "--library", str(fixture_library), "--address",
                      ray_address, *SMALL], ray_env)
    summary = json.loads(proc.stdout)
    assert summary["skipped"] == 4 and summary["done"] == 0 and list(summary["failed"]) == ["empty_0004"]
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "manifest.jsonl"}
    assert after == before
    new = _manifest(out)[lines:]
    assert [r["name"] for r in new] == ["empty_0004"]  # only the failed room was tried again


def test_a_room_whose_worker_is_killed_is_retried_and_the_batch_completes(tmp_path, fixture_library, ray_address,
                                                                         ray_env):
    import psutil

    spec = _spec(tmp_path / "rooms.jsonl", [{"name": "bedroom_0005", "generator": {"room": "bedroom", "seed": 5}}])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "core", "batch", "rooms", str(spec), "--out", str(out), "--library",
           str(fixture_library), "--address", ray_address, "--no-progress", *SMALL]
    driver = subprocess.Popen(cmd, cwd=ROOT, env=ray_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and driver.poll() is None and time.monotonic() < deadline:
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if cmdline.startswith("ray::render_room"):
                killed = proc.info["pid"]
                proc.send_signal(signal.SIGKILL)
                break
        time.sleep(0.05)
    stdout, stderr = driver.communicate(timeout=300)
    assert killed is not None, "the render task was never seen running"
    assert driver.returncode == 0, stderr[-3000:]
    assert json.loads(stdout)["done"] == 1
    assert sorted(p.name for p in (out / "bedroom_0005").iterdir()) == sorted("bedroom_0005" + s for s in SUFFIXES)


def test_a_bad_spec_line_is_refused_before_any_work(tmp_path, ray_env):
    spec = tmp_path / "rooms.jsonl"
    spec.write_text('{"name": "a", "generator": {"room": "bedroom"}}\n{"name": "a b", "prompt": "x"}\n')
    proc = run_batch(["rooms", str(spec), "--out", str(tmp_path / "out"), "--library", str(tmp_path)], ray_env)
    assert proc.returncode == 2 and "line 2" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_library_build_on_ray_equals_the_single_machine_build(tmp_path, fixture_library, ray_address, ray_env):
    from imaginarium.core.library.store import FeatureStore

    ray_lib = tmp_path / "ray_lib"
    ray_lib.mkdir()
    for item in fixture_library.iterdir():
        if item.name != "derived":
            (shutil.copytree if item.is_dir() else shutil.copy)(item, ray_lib / item.name)
    single = tmp_path / "single_lib"
    shutil.copytree(fixture_library, single)
    embed = subprocess.run([sys.executable, "-m", "core.matching.embed_library", str(single), "--embedder",
                            "classical", "--workers", "1"], cwd=ROOT, env=ray_env, capture_output=True, text=True)
    assert embed.returncode == 0, embed.stderr[-2000:]
    # one more catalogue row whose file is broken: reported and skipped, the rest is built
    import csv

    table = ray_lib / "imaginarium_asset_info.csv"
    with open(table, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    bad_id = "9999"
    rows.append({**rows[0], "id": bad_id, "name_en": "broken_asset"})
    (ray_lib / "imaginarium_assets" / "broken_asset.blend").write_bytes(b"not a blend file")
    with open(table, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)

    settings = json.loads((fixture_library / "derived" / "index.json").read_text())["settings"]
    proc = run_batch(["library", str(ray_lib), "--address", ray_address, "--views", str(settings["views"]),
                      "--resolution", str(settings["resolution"])], ray_env)
    summary = json.loads(proc.stdout)
    assert proc.returncode == 1 and list(summary["failed"]) == [bad_id], proc.stderr[-3000:]
    a, b = FeatureStore.open(single / "derived"), FeatureStore.open(ray_lib / "derived")
    assert a.asset_ids() == b.asset_ids() and bad_id not in b.asset_ids()
    assert [a.asset_hash(x) for x in a.asset_ids()] == [b.asset_hash(x) for x in b.asset_ids()]
    assert a.kinds() == b.kinds() == ["classical_global", "classical_patch"]
    for kind in a.kinds():
        assert np.array_equal(a.features(kind), b.features(kind)), kind
    assert np.array_equal(a.poses(), b.poses())
    for x in a.asset_ids():
        assert all(np.array_equal(u, v) for u, v in zip(a.proxy(x), b.proxy(x)))
    rerun = run_batch(["library", str(ray_lib), "--address", ray_address, "--views", str(settings["views"]),
                       "--resolution", str(settings["resolution"])], ray_env)
    again = json.loads(rerun.stdout)
    assert again["baked"] == 0 and again["kept"] == len(a.asset_ids()) and again["embedded"] == 0
