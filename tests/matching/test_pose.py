"""Pose maths: azimuth conventions, geometric re-ranking of views, box fusion."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imaginarium.core.matching.embedders import normalise
from imaginarium.core.matching.index import TemplateIndex
from imaginarium.core.matching.pose import estimate_pose, fuse_with_box, object_azimuth, score_views, template_yaw, wrap
from imaginarium.core.schema import Box3D, Camera

GRID = 8


def _camera_looking_along_world_y() -> Camera:
    # OpenCV camera axes in the world: x → +X, y (down) → −Z, z (forward) → +Y; camera 1.2 m above the floor.
    wfc = [[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 1.2], [0, 0, 0, 1]]
    return Camera(500.0, 500.0, 320.0, 240.0, 640, 480, wfc)


def _view_pose(azimuth: float, dist: float = 3.0, height: float = 1.0) -> np.ndarray:
    """An OpenCV camera at ``azimuth`` around the origin, looking at (0, 0, 0.4)."""
    eye = np.array([dist * math.cos(azimuth), dist * math.sin(azimuth), height])
    z = np.array([0.0, 0.0, 0.4]) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    pose = np.eye(4, dtype=np.float32)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, np.cross(z, x), z, eye
    return pose


def test_object_azimuth_uses_the_ray_that_sees_the_object() -> None:
    cam = _camera_looking_along_world_y()
    assert object_azimuth(cam, center=np.array([0.0, 3.0, 0.5])) == pytest.approx(-math.pi / 2)
    assert object_azimuth(cam, pixel=(320.0, 240.0)) == pytest.approx(-math.pi / 2)
    # An object at the right edge of the image is seen from further left: azimuth rotates.
    right = object_azimuth(cam, pixel=(620.0, 240.0))
    assert right == pytest.approx(math.atan2(-1.0, -300.0 / 500.0))
    assert object_azimuth(cam, center=np.array([1.8, 3.0, 0.5])) == pytest.approx(right)


def _structured_patch(rng: np.random.Generator, d: int = 24) -> np.ndarray:
    p = normalise(rng.normal(size=(GRID * GRID, d)))
    p.reshape(GRID, GRID, d)[[0, -1]] = 0.0   # background rows top and bottom
    return p


def test_geometric_consistency_reranks_views() -> None:
    rng = np.random.default_rng(3)
    q = _structured_patch(rng)
    grid_q = q.reshape(GRID, GRID, -1)
    shifted = np.zeros_like(grid_q)
    shifted[:, 1:] = grid_q[:, :-1]            # the same object moved one cell right: one homography explains it
    fg = np.nonzero(np.abs(q).sum(1) > 0)[0]
    scrambled = np.zeros_like(q)
    scrambled[rng.permutation(fg)] = q[fg]      # the same patches in random places: no homography does
    patches = np.stack([scrambled, shifted.reshape(GRID * GRID, -1)])
    glob = normalise(np.ones((2, 4), np.float32))
    poses = np.stack([_view_pose(0.0), _view_pose(math.pi / 2)])
    idx = TemplateIndex(["a"], np.zeros(2, np.int32), glob, patches, poses, GRID)
    views = score_views(idx, np.array([0, 1]), glob[0], q)
    assert views[0].row == 1 and views[0].inliers > 0.8 * len(fg) > views[1].inliers


def test_template_yaw_reads_the_view_azimuth_against_the_world_azimuth() -> None:
    rng = np.random.default_rng(4)
    azimuths = np.radians([-90.0, -45.0, -135.0, 0.0, 90.0, 180.0])
    patches = np.stack([_structured_patch(rng) for _ in azimuths])
    glob = normalise(rng.normal(size=(len(azimuths), 16)))
    poses = np.stack([_view_pose(a) for a in azimuths])
    idx = TemplateIndex(["chair"], np.zeros(len(azimuths), np.int32), glob, patches, poses, GRID)
    cam = _camera_looking_along_world_y()
    # The photo looks like the view at −45°: the camera sees the asset from its front-right.
    hyps, views = estimate_pose(idx, "chair", cam, glob[1], patches[1], box=None, pixel=(320.0, 240.0))
    assert views[0].row == 1 and not views[0].mirrored
    # World azimuth −90°, view azimuth −45° → yaw −45°.
    assert hyps[0].source == "template" and hyps[0].yaw == pytest.approx(math.radians(-45.0), abs=math.radians(3))


def test_mirrored_reading_gives_the_mirror_azimuth() -> None:
    rng = np.random.default_rng(5)
    azimuths = np.radians([-45.0, 90.0])
    patches = np.stack([_structured_patch(rng) for _ in azimuths])
    glob = normalise(rng.normal(size=(2, 16)))
    idx = TemplateIndex(["a"], np.zeros(2, np.int32), glob, patches, np.stack([_view_pose(a) for a in azimuths]), GRID)
    other = _structured_patch(rng)
    views = score_views(idx, np.array([0, 1]), normalise(rng.normal(size=16)), other, mirrored=(glob[0], patches[0]))
    assert views[0].mirrored and views[0].row == 0
    assert views[0].azimuth == pytest.approx(math.radians(-135.0))   # π − (−45°)


def test_fusion_takes_the_box_yaw_nearest_the_template() -> None:
    box = Box3D((0, 3, 0.4), (1.0, 0.6, 0.8), yaw=0.1)
    hyps = fuse_with_box(3.0, 0.8, box, small_object_m=0.35)
    assert hyps[0].source == "box+template"
    assert wrap(hyps[0].yaw - (0.1 + math.pi)) == pytest.approx(0.0, abs=1e-9)
    assert len(hyps) == 5 and all(0 <= h.confidence <= 1 for h in hyps)
    assert [h.confidence for h in hyps] == sorted((h.confidence for h in hyps), reverse=True)


def test_small_objects_take_the_template_yaw() -> None:
    box = Box3D((0, 3, 0.1), (0.2, 0.15, 0.2), yaw=0.0)
    hyps = fuse_with_box(1.0, 0.7, box, small_object_m=0.35)
    assert hyps[0].source == "template" and hyps[0].yaw == pytest.approx(1.0)


def test_template_yaw_of_no_views_is_unknown() -> None:
    assert template_yaw([], 0.3) == (0.0, 0.0)


def test_footprint_parity_rules_out_the_crosswise_hypotheses() -> None:
    from imaginarium.core.matching.pose import box_hypotheses, extent_parity

    sofa = (2.0, 0.9, 0.8)
    along = Box3D((0, 3, 0.4), (2.0, 0.9, 0.8), yaw=0.2)      # box x is the sofa's width
    across = Box3D((0, 3, 0.4), (0.9, 2.0, 0.8), yaw=0.2)     # box x is the sofa's depth
    w = extent_parity(along, sofa)
    assert w[0] > 0.95 * 2 and w[1] < 0.05
    assert extent_parity(across, sofa)[1] > 0.95 * 2
    square = extent_parity(Box3D((0, 3, 0.4), (0.5, 0.5, 0.8), yaw=0.0), (0.5, 0.5, 0.8))
    assert np.allclose(square, 1.0)
    # The template says "about 60°", nearest box yaw would be 0.2 + 90° = 1.77 rad, but the footprint forbids it.
    hyps = fuse_with_box(math.radians(60.0), 0.8, along, 0.35, sofa)
    assert hyps[0].yaw in (pytest.approx(0.2), pytest.approx(wrap(0.2 + math.pi)))
    alone = box_hypotheses(across, sofa)
    assert [h.source for h in alone] == ["box"] * 4 and sum(h.confidence for h in alone) == pytest.approx(1.0)
    assert wrap(alone[0].yaw - (0.2 + math.pi / 2)) in (pytest.approx(0.0, abs=1e-9), pytest.approx(-math.pi, abs=1e-9))
