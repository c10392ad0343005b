"""Embedding the library's templates in two processes stores exactly what one process stores."""
from __future__ import annotations

import shutil

import numpy as np

from imaginarium.core.library.store import FeatureStore
from imaginarium.core.matching.classical import ClassicalEmbedder
from imaginarium.core.matching.embed_library import embed_library
from imaginarium.core.matching.embedders import kind


def test_two_processes_store_the_same_features(fixture_library, tmp_path) -> None:
    results = {}
    for workers in (1, 2):
        lib = tmp_path / f"lib{workers}"
        shutil.copytree(fixture_library, lib)
        store = FeatureStore.open(lib / "derived")
        out = embed_library(store, ClassicalEmbedder(), force=True, workers=workers)
        assert out["embedded"] == len(store.asset_ids()) == 4
        store = FeatureStore.open(lib / "derived")
        results[workers] = {k: np.asarray(store.features(kind(ClassicalEmbedder(), k))) for k in ("global", "patch")}
    for k in ("global", "patch"):
        assert results[1][k].shape == results[2][k].shape
        assert np.array_equal(results[1][k], results[2][k]), k
