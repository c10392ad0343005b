"""Scaling strategies, clamping and the group medoid, on numbers worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.layout.scaling import medoid, shrink_to_fit, strategy_scale

SIZE = (1.0, 2.0, 0.5)
SEEN = (1.2, 1.8, 0.6)  # ratios 1.2, 0.9, 1.2


def test_isotropic_uses_the_geometric_mean_of_the_ratios() -> None:
    k = (1.2 * 0.9 * 1.2) ** (1 / 3)
    assert strategy_scale("ISOTROPIC", SIZE, np.array(SEEN), 1.5) == pytest.approx([k, k, k])


def test_radial_scales_x_and_y_together_and_z_alone() -> None:
    xy = (1.2 * 0.9) ** 0.5
    assert strategy_scale("RADIAL", SIZE, np.array(SEEN), 1.5) == pytest.approx([xy, xy, 1.2])


def test_aligned_anisotropic_scales_each_axis() -> None:
    assert strategy_scale("ALIGNED_ANISOTROPIC", SIZE, np.array(SEEN), 1.5) == pytest.approx([1.2, 0.9, 1.2])


def test_sorted_anisotropic_matches_largest_to_largest_horizontally() -> None:
    # seen turned by 90°: x 2.2, y 0.9 → the asset's long side (y, 2.0) takes 2.2, the short (x, 1.0) takes 0.9
    assert strategy_scale("SORTED_ANISOTROPIC", SIZE, np.array([2.2, 0.9, 0.5]), 1.5) == pytest.approx([0.9, 1.1, 1.0])


def test_scale_is_clamped_and_missing_or_flat_axes_keep_their_size() -> None:
    assert strategy_scale("ALIGNED_ANISOTROPIC", SIZE, np.array([5.0, 0.1, 0.0]), 1.5) == pytest.approx([1.5, 1 / 1.5, 1.0])
    assert strategy_scale("ISOTROPIC", SIZE, None, 1.5) == pytest.approx([1, 1, 1])


def test_medoid_and_shrink_to_fit() -> None:
    scales = [np.full(3, 1.0), np.full(3, 1.1), np.full(3, 1.3)]
    assert medoid(scales) == pytest.approx([1.1] * 3)
    assert shrink_to_fit(np.array([0.1, 0.2, 0.6]), np.array([1.0, 1.0, 0.3]), slack=1.0) == pytest.approx(0.5)
    assert shrink_to_fit(np.array([0.1, 0.2, 0.2]), np.array([1.0, 1.0, 0.3])) == 1.0
