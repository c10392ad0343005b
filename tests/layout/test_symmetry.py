"""Rotational symmetry from proxies, and the symmetry-aware yaw metric."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imaginarium.core.layout.geometry import box_proxy
from imaginarium.core.layout.symmetry import symmetric_yaw_error, symmetry_angles


def cylinder(r: float = 0.2, h: float = 0.5, n: int = 32) -> np.ndarray:
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    ring = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
    return np.concatenate([np.c_[ring, np.zeros(n)], np.c_[ring, np.full(n, h)]])


def test_symmetries_of_common_shapes() -> None:
    assert symmetry_angles(box_proxy((2.0, 1.4, 0.01))[0]) == (math.pi,)  # a rug: half turn only
    assert symmetry_angles(box_proxy((0.5, 0.5, 0.6))[0]) == (math.pi / 2, math.pi, 3 * math.pi / 2)
    assert symmetry_angles(cylinder()) is None  # round: every yaw looks the same
    chair = np.concatenate([box_proxy((0.5, 0.5, 0.45))[0], box_proxy((0.5, 0.05, 0.9))[0] + [0, 0.225, 0]])
    assert symmetry_angles(chair) == ()  # a back rest breaks every turn


def test_symmetric_yaw_error() -> None:
    assert symmetric_yaw_error(0.0, math.pi, (math.pi,)) == pytest.approx(0.0)
    assert symmetric_yaw_error(0.0, math.pi, ()) == pytest.approx(math.pi)
    assert symmetric_yaw_error(0.3, 2.0, None) == 0.0
    assert symmetric_yaw_error(0.1, math.pi / 2, (math.pi / 2, math.pi, 3 * math.pi / 2)) == pytest.approx(0.1)
