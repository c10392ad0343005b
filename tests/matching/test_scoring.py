"""Score terms and the template index on plain arrays (no library, no images)."""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.errors import LibraryError
from imaginarium.core.matching.embedders import normalise
from imaginarium.core.matching.index import TemplateIndex
from imaginarium.core.matching.scoring import STRATEGY_CODES, mutual_matches, per_asset_max, size_agreement


def _index(rows_per_asset: list[int], d: int = 8, grid: int = 4, seed: int = 0) -> TemplateIndex:
    rng = np.random.default_rng(seed)
    n = sum(rows_per_asset)
    row_asset = np.repeat(np.arange(len(rows_per_asset)), rows_per_asset).astype(np.int32)
    return TemplateIndex([f"a{i}" for i in range(len(rows_per_asset))], row_asset,
                         normalise(rng.normal(size=(n, d))), normalise(rng.normal(size=(n, grid * grid, d))),
                         np.tile(np.eye(4, dtype=np.float32), (n, 1, 1)), grid)


def test_rows_of_follows_assets_even_when_rows_are_not_grouped() -> None:
    idx = _index([2, 3, 1])
    assert idx.rows_of(np.array([1])).tolist() == [2, 3, 4]
    assert idx.rows_of(np.array([2, 0])).tolist() == [5, 0, 1]
    shuffled = TemplateIndex(idx.asset_ids, np.array([1, 0, 1, 2, 0, 1], np.int32), idx.glob, idx.patch, idx.poses, 4)
    assert shuffled.rows_of(np.array([1])).tolist() == [0, 2, 5]
    assert shuffled.rows_of(np.array([0, 2])).tolist() == [1, 4, 3]


def test_index_rejects_inconsistent_arrays() -> None:
    idx = _index([2, 2])
    with pytest.raises(LibraryError, match="disagree"):
        TemplateIndex(idx.asset_ids, idx.row_asset, idx.glob[:3], idx.patch, idx.poses, 4)
    with pytest.raises(LibraryError, match="does not list"):
        TemplateIndex(idx.asset_ids, np.array([0, 1, 2, 2]), idx.glob, idx.patch, idx.poses, 4)


def test_mutual_matches_find_a_permuted_copy_and_ignore_background() -> None:
    rng = np.random.default_rng(1)
    q = normalise(rng.normal(size=(16, 32)))
    q[10:] = 0.0                                    # background patches of the query
    perm = rng.permutation(16)
    same = q[perm]                                  # the same patches, moved
    other = normalise(rng.normal(size=(16, 32)))
    mm = mutual_matches(q, np.stack([same, other]), keep_pairs=True)
    assert mm.score[0] == pytest.approx(1.0, abs=1e-5)   # all 10 foreground patches found, similarity 1
    assert mm.score[1] < 0.5
    # Each pair maps query patch i to where it went.
    inv = np.argsort(perm)
    assert np.array_equal(mm.template_idx[0], inv[mm.query_idx[0]])
    assert set(mm.query_idx[0].tolist()) == set(range(10))


def test_mutual_matches_reject_many_to_one() -> None:
    # Two query patches whose best match is the same template patch: only one pair survives.
    q = normalise(np.array([[1.0, 0.1, 0], [1.0, -0.1, 0]], dtype=np.float32))
    t = normalise(np.array([[[1.0, 0, 0], [0, 0, 1.0]]], dtype=np.float32))
    mm = mutual_matches(q, t, keep_pairs=True)
    assert len(mm.query_idx[0]) == 1


@pytest.mark.parametrize("strategy", list(STRATEGY_CODES))
def test_size_agreement_prefers_the_right_size_and_accepts_a_swapped_box(strategy: str) -> None:
    sizes = np.array([[0.5, 0.5, 0.9], [2.0, 0.9, 0.8], [1.0, 0.5, 0.45]])
    codes = np.full(3, STRATEGY_CODES[strategy])
    got = size_agreement(np.array([2.0, 0.9, 0.8]), sizes, codes)
    assert got[1] == pytest.approx(1.0, abs=1e-6) and got[1] > got[0]
    swapped = size_agreement(np.array([0.9, 2.0, 0.8]), sizes, codes)   # box x is the asset's depth
    assert swapped[1] == pytest.approx(1.0, abs=1e-6)


def test_size_agreement_follows_the_scaling_strategy() -> None:
    asset = np.array([[1.0, 0.5, 0.5]])
    stretched = np.array([1.3, 0.5, 0.5])           # only x is longer: a shape change
    iso = size_agreement(stretched, asset, np.array([STRATEGY_CODES["ISOTROPIC"]]))[0]
    radial = size_agreement(stretched, asset, np.array([STRATEGY_CODES["RADIAL"]]))[0]
    aniso = size_agreement(stretched, asset, np.array([STRATEGY_CODES["ALIGNED_ANISOTROPIC"]]))[0]
    assert iso < radial < aniso < 1.0
    # Uniformly scaled: isotropic keeps the shape, only the (smaller) scale change costs; twice the size costs more.
    uniform = size_agreement(np.array([1.2, 0.6, 0.6]), asset, np.array([0]))[0]
    double = size_agreement(np.array([2.0, 1.0, 1.0]), asset, np.array([0]))[0]
    assert iso < uniform < 1.0 and double < uniform


def test_size_agreement_ignores_flat_axes() -> None:
    rug = np.array([[2.0, 1.4, 0.0]])
    assert size_agreement(np.array([2.0, 1.4, 0.01]), rug, np.array([0]))[0] == pytest.approx(1.0, abs=1e-6)


def test_per_asset_max() -> None:
    out = per_asset_max(np.array([0.1, 0.5, 0.3, 0.2]), np.array([0, 0, 2, 2]), 3)
    assert out[0] == pytest.approx(0.5) and out[2] == pytest.approx(0.3) and out[1] == -np.inf


def test_torch_matching_equals_numpy() -> None:
    """The GPU path (here torch on CPU) gives the numpy path's scores and pairs."""
    import torch

    rng = np.random.default_rng(7)
    q = normalise(rng.normal(size=(64, 16)))
    q[:20] = 0.0
    t = normalise(rng.normal(size=(5, 64, 16)))
    t[:, 50:] = 0.0
    t[2] = q[rng.permutation(64)]
    a = mutual_matches(q, t, keep_pairs=True)
    b = mutual_matches(q, torch.from_numpy(t), keep_pairs=True)
    assert np.allclose(a.score, b.score, atol=1e-5)
    for i in range(5):
        assert np.array_equal(a.query_idx[i], b.query_idx[i]) and np.array_equal(a.template_idx[i], b.template_idx[i])


def test_index_on_a_device_gives_the_same_similarities() -> None:
    idx = _index([2, 3, 1], d=8, grid=4)
    rows = np.array([5, 0, 3])
    query = normalise(np.arange(8, dtype=np.float32))
    host_g, host_p = idx.global_sims(query, rows), idx.patches(rows)
    idx.to_device("cpu")
    assert np.allclose(idx.global_sims(query, rows), host_g, atol=1e-6)
    assert np.allclose(idx.patches(rows).numpy(), host_p, atol=1e-6)
