"""Depth that is checked: units detected and said, flying pixels removed, sparse depth filled or refused.

Ground truth here never comes from the code under test: the SUN RGB-D decoding formula is the
dataset's own (its README), held-out readings of a real frame judge the filling, and the
synthetic room is rendered by the test kit's ray caster.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.errors import BadInputError
from imaginarium.core.geometry.boxes import object_box
from imaginarium.core.geometry.camera import Intrinsics, intrinsics_from_fov
from imaginarium.core.geometry.room import estimate_room
from imaginarium.core.perception.backends import FileDepth
from imaginarium.core.perception.depth_io import DepthReport, load_cached_depth, read_depth
from imaginarium.testkit.synthetic_scenes import SyntheticBox, SyntheticRoom, look_pose, render_depth

REAL = Path("/work/shared/realdata")
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="SUN RGB-D frames not on this machine")


def sunrgbd_reference(path: Path) -> np.ndarray:
    """The dataset's documented decoding: rotate the 16-bit value right by 3 bits, then millimetres."""
    v = np.asarray(Image.open(path)).astype(np.uint32)
    m = (((v >> 3) | (v << 13)) & 0xFFFF) / 1000.0
    return np.where(v > 0, m, np.nan)


def frame_camera(folder: Path) -> tuple[np.ndarray, Intrinsics]:
    rgb = np.asarray(Image.open(folder / "image.jpg").convert("RGB"))
    kk = np.loadtxt(folder / "intrinsics_sunrgbd.txt")
    h, w = rgb.shape[:2]
    return rgb, Intrinsics(kk[0, 0], kk[1, 1], kk[0, 2], kk[1, 2], w, h, "sunrgbd")


@needs_real
@pytest.mark.parametrize("frame", ["unlabelled_kv2_0000144", "unlabelled_img_0063"])
def test_sunrgbd_raw_png_is_read_in_metres_with_a_plausible_camera_height(frame):
    folder = REAL / frame
    rgb, k = frame_camera(folder)
    depth, report = read_depth(folder / "depth_sunrgbd_raw.png", k.width, k.height, rgb=rgb, focal_px=k.fx)
    assert report.units_assumed == "sunrgbd-rotated-millimetres"
    assert any("bit-rotated" in n for n in report.notes)
    ref = sunrgbd_reference(folder / "depth_sunrgbd_raw.png")
    kept = np.isfinite(depth)
    assert np.allclose(depth[kept], ref[kept], atol=1e-4)  # every kept reading is the documented value
    assert kept.sum() > 0.95 * np.isfinite(ref).sum()  # cleaning removed only a few percent
    height = estimate_room(depth, k).camera_height
    assert 0.9 < height < 1.8, height  # read plainly (8x) this is about 10 m


@needs_real
def test_plain_millimetre_png_and_millimetre_npy_are_recognised(tmp_path):
    truth = np.load(REAL / "sunrgbd_000002" / "depth.npy")
    mm = np.where(truth > 0, np.round(truth * 1000), 0).astype(np.uint16)
    Image.fromarray(mm).save(tmp_path / "mm.png")
    depth, report = read_depth(tmp_path / "mm.png", 730, 530, clean=False)
    assert report.units_assumed == "millimetres"
    good = truth > 0
    assert np.allclose(depth[good], truth[good], atol=6e-4) and np.isnan(depth[~good]).all()
    np.save(tmp_path / "mm.npy", (truth * 1000).astype(np.float32))
    depth, report = read_depth(tmp_path / "mm.npy", 730, 530, clean=False)
    assert report.units_assumed == "millimetres" and "millimetres" in report.notes[0]
    assert np.allclose(depth[good], truth[good], rtol=1e-5)


def test_units_that_fit_no_indoor_photo_are_refused(tmp_path):
    for median, pattern in [(50.0, "neither metres"), (0.01, "neither metres"), (1e7, "neither metres")]:
        np.save(tmp_path / "d.npy", np.full((30, 40), median, np.float32))
        with pytest.raises(BadInputError, match=pattern):
            read_depth(tmp_path / "d.npy", 40, 30)
    Image.fromarray(np.full((30, 40), 60001, np.uint16)).save(tmp_path / "far.png")  # 60 m as millimetres
    with pytest.raises(BadInputError, match="not the depth of an indoor photo"):
        read_depth(tmp_path / "far.png", 40, 30)
    Image.fromarray(np.full((30, 40), 90, np.uint8)).save(tmp_path / "eight.png")
    with pytest.raises(BadInputError, match="8-bit depth"):
        read_depth(tmp_path / "eight.png", 40, 30)


def test_too_few_readings_are_refused_and_sparse_depth_needs_the_photo(tmp_path):
    d = np.zeros((40, 60), np.float32)
    d[20, 30] = 2.0  # one valid pixel
    np.save(tmp_path / "one.npy", d)
    with pytest.raises(BadInputError, match=r"only 0\.0% of pixels") as exc:
        read_depth(tmp_path / "one.npy", 60, 40)
    assert "--depth" in exc.value.fix
    rng = np.random.default_rng(1)
    sparse = np.where(rng.random((40, 60)) < 0.2, 2.0, 0.0).astype(np.float32)
    np.save(tmp_path / "sparse.npy", sparse)
    with pytest.raises(BadInputError, match="no image"):
        read_depth(tmp_path / "sparse.npy", 60, 40)


@needs_real
def test_sparse_depth_is_filled_guided_by_the_photo_close_to_held_out_readings(tmp_path):
    folder = REAL / "sunrgbd_000002"
    rgb = np.asarray(Image.open(folder / "image.png").convert("RGB"))
    truth = np.load(folder / "depth.npy")
    rng = np.random.default_rng(0)
    keep = (truth > 0) & (rng.random(truth.shape) < 0.15)  # ~10 % of pixels, like the sparse demo frame
    np.save(tmp_path / "sparse.npy", np.where(keep, truth, 0).astype(np.float32))
    depth, report = read_depth(tmp_path / "sparse.npy", 730, 530, rgb=rgb, focal_px=529.5, clean=False)
    assert report.densified and 0.05 < report.valid_fraction < 0.5 and report.final_valid_fraction == 1.0
    assert any("filled in" in n for n in report.notes)
    assert np.array_equal(depth[keep], truth[keep])  # readings are never changed
    held_out = (truth > 0) & ~keep
    error = np.abs(depth[held_out] - truth[held_out]) / truth[held_out]
    assert np.median(error) < 0.01 and np.percentile(error, 90) < 0.04, (np.median(error), np.percentile(error, 90))
    from scipy import ndimage  # colour-blind baseline: each hole takes its nearest reading

    rows, cols = ndimage.distance_transform_edt(~keep, return_distances=False, return_indices=True)
    nearest = np.abs(truth[rows, cols][held_out] - truth[held_out]) / truth[held_out]
    assert np.percentile(error, 90) < np.percentile(nearest, 90)  # the photo's guidance helps at outlines


def bookcase_scene() -> tuple[np.ndarray, np.ndarray, Intrinsics, np.ndarray]:
    room = SyntheticRoom(x0=-2.5, x1=2.5, y0=-1.0, y1=6.0, height=2.7,
                         boxes=[SyntheticBox((0.0, 2.6, 0.9), (0.9, 0.35, 1.8))])  # a bookcase 3.4 m before the wall
    k = intrinsics_from_fov(320, 240, 70)
    pose = look_pose((0.0, -0.8, 1.4), yaw_deg=8.0, pitch_deg=-10.0)
    depth, _, obj = render_depth(room, k, pose)
    return depth, obj == 0, k, pose


def test_flying_pixels_do_not_stretch_a_box(tmp_path):
    from scipy import ndimage

    depth, silhouette, k, pose = bookcase_scene()
    mask = ndimage.binary_dilation(silhouette, iterations=2)  # detector masks spill a little past the outline
    clean_box = object_box(mask, depth, k, pose).box
    rng = np.random.default_rng(0)
    noisy = depth.copy()
    inside = np.flatnonzero(mask)
    flying = rng.choice(inside, int(0.05 * inside.size), replace=False)  # 5 % of the object's pixels
    noisy.ravel()[flying] = rng.uniform(0.5, 8.0, flying.size)
    # the hazard is real: measured from the raw readings, the object would reach metres deeper
    assert np.ptp(noisy[mask][noisy[mask] > 0]) - np.ptp(depth[mask][depth[mask] > 0]) > 0.5
    # two defences: the box measurement ignores scattered outliers by itself …
    stretched = object_box(mask, noisy, k, pose).box
    assert all(abs(a - b) < 0.15 for a, b in zip(extents(stretched), extents(clean_box)))
    # … and reading the depth file removes the flying pixels before anything measures
    np.save(tmp_path / "d.npy", noisy)
    cleaned, report = read_depth(tmp_path / "d.npy", k.width, k.height, focal_px=k.fx)
    removed = round(report.flying_removed * k.width * k.height)
    assert removed > 0.8 * flying.size and any("flying" in n for n in report.notes)
    box = object_box(mask, cleaned, k, pose).box
    assert all(abs(a - b) < 0.15 for a, b in zip(extents(box), extents(clean_box))), (box.size, clean_box.size)
    assert all(abs(a - b) < 0.1 for a, b in zip(box.center, clean_box.center))


def extents(box) -> tuple[float, float, float]:
    """Footprint sides sorted (an upright box's first axis is arbitrary up to 90°), then the height."""
    a, b = sorted(box.size[:2])
    return a, b, box.size[2]


def test_a_ramp_of_mixed_pixels_at_an_edge_is_removed_but_steep_floor_stays(tmp_path):
    from scipy import ndimage

    depth, silhouette, k, pose = bookcase_scene()
    wide = ndimage.binary_dilation(silhouette, iterations=4)
    near = ndimage.grey_erosion(np.where(silhouette, depth, 99.0), size=11)
    t = np.clip(ndimage.distance_transform_edt(~silhouette) / 5.0, 0, 1)
    ramp = np.where(wide & ~silhouette, near + t * (depth - near), depth).astype(np.float32)  # a Kinect-like trail
    np.save(tmp_path / "ramp.npy", ramp)
    cleaned, _ = read_depth(tmp_path / "ramp.npy", k.width, k.height, focal_px=k.fx)
    trail = wide & ~silhouette & (depth - near > 0.5)  # where the floor meets the bookcase there is no gap to fly over
    assert np.isnan(cleaned[trail]).mean() > 0.9
    np.save(tmp_path / "clean.npy", depth)
    untouched, report = read_depth(tmp_path / "clean.npy", k.width, k.height, focal_px=k.fx)
    assert report.flying_removed < 0.002  # the floor (to 6.8 m away, seen from 1.4 m up) and walls stay


def test_file_backend_reports_and_resizes_and_reports_round_trip(tmp_path):
    d = np.full((60, 80), 2.5, np.float32)
    np.save(tmp_path / "d.npy", d)
    backend = FileDepth(tmp_path / "d.npy")
    k = intrinsics_from_fov(160, 120, 60)
    out = backend.predict(np.zeros((120, 160, 3), np.uint8), k)
    assert out.shape == (120, 160) and np.allclose(out, 2.5)
    report = backend.last_report
    assert report.units_assumed == "metres" and report.valid_fraction == 1.0
    assert any("resized from 80x60" in n for n in report.notes)
    again = DepthReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    assert DepthReport.from_dict(["garbage"]) == DepthReport()
    assert DepthReport.from_dict({"valid_fraction": "nan", "notes": "x", "densified": 1}).notes == []


def test_cached_depth_is_checked(tmp_path):
    np.save(tmp_path / "depth.npy", np.ones((4, 5), np.float32))
    assert load_cached_depth(tmp_path / "depth.npy", 4, 5).shape == (4, 5)
    for bad in [np.ones((5, 4), np.float32), np.ones((4, 5), np.int64), -np.ones((4, 5), np.float32)]:
        np.save(tmp_path / "depth.npy", bad)
        with pytest.raises(BadInputError, match="Cached depth"):
            load_cached_depth(tmp_path / "depth.npy", 4, 5)
    (tmp_path / "depth.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(BadInputError, match="--clean") as info:
        load_cached_depth(tmp_path / "depth.npy", 4, 5)
    assert str(tmp_path / "depth.npy") in info.value.fix  # which file to delete, whole: not the run folder


@needs_real
def test_perceive_with_the_raw_sunrgbd_png_puts_the_camera_at_a_plausible_height(tmp_path):
    from imaginarium.core.config import Secrets, Settings
    from imaginarium.core.perception.pipeline import perceive

    folder = REAL / "unlabelled_kv2_0000144"
    (tmp_path / "none.json").write_text("[]")
    _, k = frame_camera(folder)
    obs = perceive(folder / "image.jpg", tmp_path / "run", Settings(), Secrets(),
                   depth_path=folder / "depth_sunrgbd_raw.png", intrinsics=(k.fx, k.fy, k.cx, k.cy),
                   detections_path=tmp_path / "none.json")
    assert 0.9 < obs.provenance["camera_height_m"] < 1.8
