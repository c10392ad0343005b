"""2D box IoU (core/geometry/boxes2d.py) against values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imaginarium.core.geometry.boxes2d import box_iou_2d, box_iou_2d_one


@pytest.mark.parametrize("a, b, expected", [
    ((0, 0, 2, 2), (1, 1, 3, 3), 1 / 7),      # overlap 1×1, union 4 + 4 − 1
    ((0, 0, 4, 4), (1, 1, 3, 3), 4 / 16),     # one inside the other
    ((0, 0, 2, 1), (0, 0, 2, 1), 1.0),        # identical
    ((0, 0, 1, 1), (2, 2, 3, 3), 0.0),        # apart
    ((0, 0, 1, 1), (1, 0, 2, 1), 0.0),        # sharing an edge only
    ((0, 0, 4, 2), (2, 0, 6, 2), 4 / 12),     # half of each overlaps
])
def test_scalar_iou_matches_hand_values(a, b, expected) -> None:
    assert box_iou_2d_one(a, b) == pytest.approx(expected)
    assert box_iou_2d_one(b, a) == pytest.approx(expected)


@pytest.mark.parametrize("a, b", [
    ((1, 1, 1, 1), (1, 1, 1, 1)),   # two points: union 0
    ((0, 0, 0, 5), (0, 0, 2, 2)),   # a zero-width line against a box
    ((3, 3, 3, 3), (0, 0, 0, 0)),   # two distinct points
])
def test_zero_area_boxes_give_zero_not_nan(a, b) -> None:
    v = box_iou_2d_one(a, b)
    assert not math.isnan(v) and v == 0.0
    m = box_iou_2d(np.array([a], float), np.array([b], float))
    assert not np.isnan(m).any() and m[0, 0] == 0.0


def test_matrix_shape_and_entries() -> None:
    a = np.array([[0, 0, 2, 2], [0, 0, 4, 4]], float)
    b = np.array([[1, 1, 3, 3], [10, 10, 11, 11], [0, 0, 2, 2]], float)
    m = box_iou_2d(a, b)
    assert m.shape == (2, 3)
    expected = np.array([[1 / 7, 0.0, 1.0],
                         [4 / 16, 0.0, 4 / 16]])
    np.testing.assert_allclose(m, expected)
    np.testing.assert_allclose(box_iou_2d(b, a), expected.T)


def test_empty_sets_give_empty_matrix() -> None:
    assert box_iou_2d(np.zeros((0, 4)), np.array([[0, 0, 1, 1]], float)).shape == (0, 1)
