"""Derived-data build under bpy on the fixture library: renders vs poses, incremental, killed builds."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.library.catalogue import CSV_NAME, load_catalogue
from imaginarium.core.library.csvformat import write_catalogue
from imaginarium.testkit.fixture_library import make_fixture_library
from imaginarium.core.library.store import FeatureStore
from tests.conftest import ROOT

BUILD = ROOT / "scripts" / "build_library.py"


def build(library: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(BUILD), "--library", str(library), "--views", "12",
                           "--resolution", "64", *args], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fixture_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fixture_library(tmp_path_factory.mktemp("fixture") / "lib", views=12, resolution=64)


@pytest.fixture()
def lib_copy(fixture_lib: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "lib"
    shutil.copytree(fixture_lib, dest)
    return dest


def _corners(size) -> np.ndarray:
    x, y, z = size
    return np.array([[sx * x / 2, sy * y / 2, sz * z] for sx in (-1, 1) for sy in (-1, 1) for sz in (0, 1)])


def test_renders_are_centred_and_match_poses(fixture_lib: Path) -> None:
    store = FeatureStore.open(fixture_lib / "derived")
    cat = load_catalogue(fixture_lib)
    assert sorted(store.asset_ids()) == sorted(cat.assets) and store.verify() == []
    k = store.intrinsics()
    poses = store.poses()
    for asset_id in store.asset_ids():
        size = cat.assets[asset_id].size
        flat = min(size) == 0
        empty = 0
        for view, row in enumerate(store.rows(asset_id)):
            rgba = np.asarray(Image.open(store.render_path(asset_id, view)))
            assert rgba.shape == (64, 64, 4)
            mask = rgba[..., 3] > 0
            if not mask.any():
                # only a flat asset seen exactly edge-on may vanish
                assert flat and abs(float(poses[row][2, 2])) < 1e-3, (asset_id, view)
                empty += 1
                continue
            cam_from_world = np.linalg.inv(poses[row].astype(np.float64))
            pts = _corners(size) @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
            assert np.all(pts[:, 2] > 0)
            uv = pts[:, :2] / pts[:, 2:] * [k[0, 0], k[1, 1]] + [k[0, 2], k[1, 2]]
            vs, us = np.nonzero(mask)
            # the mask lies inside the projected box (so the pose convention matches the render) …
            assert us.min() >= uv[:, 0].min() - 2 and us.max() <= uv[:, 0].max() + 2, (asset_id, view)
            assert vs.min() >= uv[:, 1].min() - 2 and vs.max() <= uv[:, 1].max() + 2, (asset_id, view)
            assert np.all(uv >= -1) and np.all(uv <= 65)  # the whole object is in frame
            # … and the object is centred
            centre = np.array([(us.min() + us.max()) / 2, (vs.min() + vs.max()) / 2])
            assert np.all(np.abs(centre - 32) < 64 * 0.2), (asset_id, view, centre)
        assert empty < len(store.rows(asset_id)) / 2, (asset_id, empty)


def test_proxies_are_in_the_asset_frame(fixture_lib: Path) -> None:
    store = FeatureStore.open(fixture_lib / "derived")
    cat = load_catalogue(fixture_lib)
    for asset_id in store.asset_ids():
        verts, faces = store.proxy(asset_id)
        size = np.array(cat.assets[asset_id].size)
        assert len(faces) > 0 and faces.max() < len(verts)
        lo, hi = verts.min(0), verts.max(0)
        assert abs(lo[2]) < 1e-3 and np.allclose((lo[:2] + hi[:2]) / 2, 0, atol=0.02)
        assert np.allclose(hi - lo, size, atol=0.05 * size.max()), (asset_id, hi - lo, size)


def test_incremental_rebuild_touches_only_changes(lib_copy: Path) -> None:
    store = FeatureStore.open(lib_copy / "derived")
    ids = store.asset_ids()
    for a in ids:
        store.put_features("probe", a, np.full((12, 3), float(ids.index(a) + 1)))
    store.commit()
    before = {a: store.asset_info(a)["dir"] for a in ids}
    assert build(lib_copy)["rendered"] == 0  # nothing changed
    # change one asset's catalogue size and touch another's caption only
    cat = load_catalogue(lib_copy)
    rows = list(cat.rows.values())
    changed, caption_only = rows[0]["id"], rows[1]["id"]
    x, y, z = (float(v) for v in rows[0]["bbx"].split(","))
    rows[0]["bbx"] = f"{x * 1.1},{y},{z}"
    rows[1]["caption_en"] = "A new caption."
    write_catalogue(lib_copy / CSV_NAME, rows)
    report = build(lib_copy)
    assert report["rendered"] == 1 and report["kept"] == 3
    after = FeatureStore.open(lib_copy / "derived")
    assert after.asset_info(changed)["dir"] != before[changed]
    assert all(after.asset_info(a)["dir"] == before[a] for a in ids if a != changed)
    assert after.missing_features("probe") == [changed]
    assert np.all(after.features("probe")[after.rows(caption_only)] == ids.index(caption_only) + 1)
    assert after.verify() == [] and not (lib_copy / "derived" / before[changed]).exists()
    # an asset removed from the catalogue leaves the store
    write_catalogue(lib_copy / CSV_NAME, rows[1:])
    assert build(lib_copy)["removed"] == 1
    assert sorted(FeatureStore.open(lib_copy / "derived").asset_ids()) == sorted(r["id"] for r in rows[1:])


def _kill_after_first_commit(lib_copy: Path, views: int) -> list[str] | None:
    """Start a build, freeze it (SIGSTOP) the moment its first commit lands, then kill it (SIGKILL).

    Freezing first closes the race with the build's own progress: what the index holds is read while
    nothing can change it. Returns the command, or None when the build had already finished every
    asset when it was frozen (the caller then retries with slower renders)."""
    shutil.rmtree(lib_copy / "derived", ignore_errors=True)
    cmd = [sys.executable, str(BUILD), "--library", str(lib_copy), "--views", str(views), "--resolution", "64",
           "--commit-every", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    index = lib_copy / "derived" / "index.json"
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        try:
            committed = index.is_file() and json.loads(index.read_text())["assets"]
        except ValueError:  # replaced between our exists() and read(): look again
            committed = False
        if committed:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before its first commit was seen"
    os.killpg(proc.pid, signal.SIGSTOP)
    finished = len(json.loads(index.read_text())["assets"]) >= 4
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return None if finished else cmd


def test_killed_build_resumes_consistent(lib_copy: Path) -> None:
    cmd = _kill_after_first_commit(lib_copy, 42) or _kill_after_first_commit(lib_copy, 162)
    assert cmd is not None, "the build finished every asset before it could be frozen, twice"
    half = FeatureStore.open(lib_copy / "derived")
    assert 1 <= len(half.asset_ids()) < 4 and half.verify() == []
    done = set(half.asset_ids())
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    report = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert report["kept"] + report["resumed"] >= len(done) and report["rendered"] <= 4 - len(done)
    final = FeatureStore.open(lib_copy / "derived")
    views = int(cmd[cmd.index("--views") + 1])
    assert len(final.asset_ids()) == 4 and final.verify() == [] and final.n_rows == 4 * views
    leftovers = [p for p in (lib_copy / "derived").rglob("*") if p.name.startswith(".tmp") or p.suffix == ".part"]
    assert leftovers == []


def test_third_party_formats_are_normalised(fixture_lib: Path, tmp_path: Path) -> None:
    """OBJ/GLB/FBX files in centimetres and off-centre come out at catalogue size in the asset frame."""
    from tests.conftest import run_blender_script

    lib = tmp_path / "formats"
    (lib / "imaginarium_assets").mkdir(parents=True)
    cat = load_catalogue(fixture_lib)
    chair = next(a for a in cat.assets.values() if a.name == "dining_chair_oak")
    proc = run_blender_script(Path(__file__).parent / "_export_formats.py", chair.path,
                              str(lib / "imaginarium_assets"), "chair")
    assert proc.returncode == 0, proc.stderr[-2000:]
    base = dict(cat.rows[chair.id])
    rows = [dict(base, id=str(i), name_en=f"chair_{fmt}") for i, fmt in enumerate(("obj", "glb", "fbx"), start=1)]
    write_catalogue(lib / CSV_NAME, rows)
    assert build(lib)["rendered"] == 3
    store = FeatureStore.open(lib / "derived")
    for asset_id in ("1", "2", "3"):
        verts, _ = store.proxy(asset_id)
        lo, hi = verts.min(0), verts.max(0)
        assert np.allclose(hi - lo, chair.size, atol=0.01), (asset_id, hi - lo)
        assert abs(lo[2]) < 1e-3 and np.allclose((lo[:2] + hi[:2]) / 2, 0, atol=1e-3)
        assert np.allclose(store.asset_info(asset_id)["normalisation"]["scale"], 0.01, rtol=0.02)
        front = np.asarray(Image.open(store.render_path(asset_id, 0)))[..., 3] > 0
        assert front.sum() > 50
