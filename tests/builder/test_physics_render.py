"""Physics settle and render passes in real bpy 4.3 (tests/builder/check_physics_render.py in a fresh interpreter).

The depth map is checked against the room's geometry computed here by hand: the camera of
tests/builder/bpy_fixtures.py stands at (0, −1.5, 1.2) looking along +Y, so a pixel's ray is
((u − cx)/fx, 1, −(v − cy)/fy) per metre of z-depth, and the room is x = ±2, y = 2, z = 0, z = 2.6.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_blender_script

FX, FY, CX, CY, W, H = 60.0, 55.0, 30.5, 26.0, 64, 48
CAM_Y, CAM_H = -1.5, 1.2


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("physics_render")
    proc = run_blender_script(ROOT / "tests" / "builder" / "check_physics_render.py", str(work), timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def room_depth() -> np.ndarray:
    """z-depth of the empty room for every pixel centre (nearest of the five planes the ray meets)."""
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    a, b = (u - CX) / FX, (v - CY) / FY  # world step per metre of depth: (a, 1, -b)
    with np.errstate(divide="ignore", invalid="ignore"):
        candidates = np.stack([
            np.full_like(a, 2.0 - CAM_Y),               # back wall y = 2
            np.where(b > 0, CAM_H / b, np.inf),         # floor z = 0
            np.where(b < 0, (CAM_H - 2.6) / b, np.inf),  # ceiling z = 2.6
            np.where(a != 0, 2.0 / np.abs(a), np.inf),  # side walls x = ±2
        ])
    return candidates.min(axis=0)


def test_settle_drops_the_box_onto_the_table_and_writes_it_back(report: dict) -> None:
    s = report["settle"]
    x, y, z = s["layout_box"]
    assert z == pytest.approx(0.75, abs=0.01)  # started at 0.85, ends on the 0.75 m table top
    assert (x, y) == pytest.approx((1.0, 1.0), abs=0.02)
    assert np.asarray(s["layout_box_rotation"])[2, 2] > 0.999  # still upright
    assert s["scene_box"] == pytest.approx(s["layout_box"], abs=1e-6)  # the scene got the same transform
    assert s["others_moved_by"] < 1e-6  # supports and the pinned chair are passive


def test_settle_keeps_the_solved_pose_of_an_object_that_would_fall_away(report: dict) -> None:
    g = report["guard"]
    assert g["layout_z"] == pytest.approx(1.5, abs=1e-6) and g["scene_z"] == pytest.approx(1.5, abs=1e-6)
    assert len(g["notes"]) == 1 and "box_0" in g["notes"][0]


def test_settle_leaves_the_scene_as_it_was(report: dict) -> None:
    s = report["settle"]
    assert s["rigid_bodies_left"] == [] and not s["rigidbody_world"]
    assert s["frame"] == 7
    assert s["datablocks_after"] == s["datablocks_before"]


def test_depth_is_metric_z_depth_of_the_known_room(report: dict) -> None:
    r = report["render"]
    assert r["depth_shape"] == [H, W] and r["depth_dtype"] == "float32"
    depth = np.load(r["depth"])
    masks = {k: np.asarray(Image.open(p)) > 0 for k, p in r["masks"].items()}
    objects = np.any(np.stack(list(masks.values())), axis=0)
    expected = room_depth()
    assert np.abs(depth[~objects] - expected[~objects]).max() < 1e-3
    assert (depth[objects] < expected[objects] - 1e-3).all()  # objects stand in front of the room
    centre = depth[int(CY) - 2:int(CY) + 2, int(CX) - 2:int(CX) + 2]
    assert centre == pytest.approx(3.5, abs=1e-4)  # the back wall, 3.5 m along the optical axis


def test_masks_are_non_empty_disjoint_and_where_the_objects_are(report: dict) -> None:
    r = report["render"]
    assert set(r["masks"]) == {"table_0", "box_0", "chair_0"}
    masks = {k: np.asarray(Image.open(p)) for k, p in r["masks"].items()}
    for k, m in masks.items():
        assert m.shape == (H, W) and m.dtype == np.uint8 and (m > 0).sum() > 4, k
    total = sum((m > 0).astype(int) for m in masks.values())
    assert total.max() == 1
    # the settled box's centre (1, 1, 0.85) projects into the box's mask
    u = FX * 1.0 / (1.0 - CAM_Y) + CX
    v = FY * (CAM_H - 0.85) / (1.0 - CAM_Y) + CY
    assert masks["box_0"][int(v), int(u)] > 0


def test_rgb_render_matches_the_masks(report: dict) -> None:
    r = report["render"]
    rgb = np.asarray(Image.open(r["rgb"]).convert("RGB")).astype(float) / 255
    assert rgb.shape == (H, W, 3)
    green = (rgb[..., 1] > rgb[..., 0] + 0.25) & (rgb[..., 1] > rgb[..., 2] + 0.25)  # the emissive box
    box = np.asarray(Image.open(r["masks"]["box_0"])) > 0
    iou = (green & box).sum() / (green | box).sum()
    assert iou > 0.6, iou  # Cycles sees the box where the ray-cast masks put it


def test_rendering_leaves_the_artists_scene_settings_alone(report: dict) -> None:
    r = report["render"]
    assert r["scene_settings_unchanged"] and r["scenes_after"] == ["Scene"]
    assert r["lights_after"] == r["lights_before"] and r["worlds_after"] == r["worlds_before"] == 0
