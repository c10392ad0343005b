"""Pairing perceived objects with ground truth, and aligning a reconstruction's frame through the camera."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imaginarium.core.layout.association import align_to_camera, pair_by_boxes, relabel
from imaginarium.core.schema import Camera, Detection, Layout, Observation, Placement, Plane, SceneGraph, SceneObject


def pose(yaw: float, t: tuple[float, float, float]) -> list[list[float]]:
    c, s = math.cos(yaw), math.sin(yaw)
    return [[c, -s, 0, t[0]], [s, c, 0, t[1]], [0, 0, 1, t[2]], [0, 0, 0, 1]]


def test_pairs_by_box_overlap_one_to_one() -> None:
    cam = Camera(100, 100, 50, 50, 100, 100)
    objs = [SceneObject("obj_0", "chair", Detection("chair", 1.0, [10, 10, 30, 40])),
            SceneObject("obj_1", "table", Detection("table", 1.0, [50, 50, 90, 80])),
            SceneObject("obj_2", "lamp", Detection("lamp", 1.0, [0, 90, 5, 99]))]
    obs = Observation("i.png", cam, [], SceneGraph(objs))
    pairs = pair_by_boxes(obs, {"table": [52, 50, 90, 80], "chair": [10, 12, 30, 40], "rug": [0, 0, 100, 100]})
    assert pairs == {"obj_0": "chair", "obj_1": "table"}  # the lamp overlaps nothing enough
    layout = relabel(Layout([Placement("obj_0", "a", parent="obj_1"), Placement("obj_1", "b"),
                             Placement("obj_2", "c")]), pairs)
    assert [(p.object_id, p.parent) for p in layout.placements] == [
        ("chair", "table"), ("table", "floor"), ("unpaired_obj_2", "floor")]


def test_alignment_moves_objects_and_room_into_the_reference_frame() -> None:
    predicted_cam = Camera(100, 100, 50, 50, 100, 100, pose(0.0, (0.0, 0.0, 1.5)))
    reference_cam = Camera(100, 100, 50, 50, 100, 100, pose(math.pi / 2, (3.0, 1.0, 1.5)))
    layout = Layout([Placement("chair", "a", pose(0.0, (1.0, 0.0, 0.0)))],
                    planes=[Plane("floor", "floor", [0, 0, 1], 0.0), Plane("wall_0", "wall", [-1, 0, 0], -2.0)],
                    camera=predicted_cam)
    aligned = align_to_camera(layout, predicted_cam, reference_cam)
    m = np.asarray(aligned.placements[0].transform)
    assert m[:3, 3] == pytest.approx([3.0, 2.0, 0.0])  # (1, 0) turned a quarter and moved by (3, 1)
    assert math.atan2(m[1, 0], m[0, 0]) == pytest.approx(math.pi / 2)
    wall = aligned.planes[1]
    assert wall.normal == pytest.approx((0.0, -1.0, 0.0), abs=1e-12)
    assert wall.offset == pytest.approx(-3.0)  # the wall x = 2 became y = 3 (normal·p = offset)
    assert aligned.planes[0].offset == pytest.approx(0.0) and aligned.camera == reference_cam
