"""FeatureStore without Blender: asset folders written by hand, commits, features, crash safety."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from imaginarium.core.errors import LibraryError
from imaginarium.core.library import store as store_mod
from imaginarium.core.library.store import FeatureStore, asset_dir_name


def fake_asset(root: Path, asset_id: str, digest: str, n_views: int, marker: float) -> None:
    """What bake_asset leaves behind, with recognisable numbers."""
    folder = root / asset_dir_name(asset_id, digest)
    (folder / "renders").mkdir(parents=True)
    for v in range(n_views):
        (folder / "renders" / f"{v:03d}.png").write_bytes(b"png")
    poses = np.tile(np.eye(4, dtype=np.float32), (n_views, 1, 1))
    poses[:, 0, 3] = marker
    poses[:, 1, 3] = np.arange(n_views)
    np.save(folder / "poses.npy", poses)
    np.savez(folder / "proxy.npz", verts=np.full((3, 3), marker, np.float32), faces=np.array([[0, 1, 2]], np.int32))
    (folder / "meta.json").write_text(json.dumps({"id": asset_id, "hash": digest, "n_views": n_views}))


@pytest.fixture()
def store(tmp_path: Path) -> FeatureStore:
    root = tmp_path / "derived"
    s = FeatureStore.open_or_create(root, {"views": 3, "resolution": 8, "fov_deg": 40.0})
    fake_asset(root, "a", "h" * 64, 3, 1.0)
    fake_asset(root, "b", "i" * 64, 2, 2.0)
    fake_asset(root, "c", "j" * 64, 3, 3.0)
    return s.commit([("a", "h" * 64), ("b", "i" * 64), ("c", "j" * 64)])


def test_index_rows_and_poses(store: FeatureStore) -> None:
    s = FeatureStore.open(store.root)
    assert s.asset_ids() == ["a", "b", "c"]
    assert s.rows("b") == range(3, 5)
    assert s.row_asset_index().tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    assert s.poses().shape == (8, 4, 4)
    assert s.poses()[:, 0, 3].tolist() == [1, 1, 1, 2, 2, 3, 3, 3]
    assert s.poses()[s.rows("c"), 1, 3].tolist() == [0, 1, 2]
    assert s.render_path("c", 2).name == "002.png" and s.render_path("c", 2).is_file()
    verts, faces = s.proxy("b")
    assert verts.dtype == np.float32 and faces.dtype == np.int32 and float(verts[0, 0]) == 2.0
    assert s.verify() == []
    with pytest.raises(LibraryError):
        s.render_path("c", 3)
    with pytest.raises(LibraryError, match="no derived data"):
        s.rows("zzz")
    assert np.allclose(s.intrinsics()[0, 2], 4.0)


def test_features_put_commit_and_staleness(store: FeatureStore) -> None:
    rng = np.random.default_rng(0)
    fa, fc = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    store.put_features("emb", "a", fa)
    store.put_features("emb", "c", fc)
    assert store.kinds() == []  # nothing visible before commit
    store.commit()
    s = FeatureStore.open(store.root)
    feats = s.features("emb")
    assert feats.dtype == np.float16 and feats.shape == (8, 5) and not feats.flags.writeable
    assert np.allclose(feats[s.rows("a")], fa, atol=1e-2) and np.allclose(feats[s.rows("c")], fc, atol=1e-2)
    assert np.all(feats[s.rows("b")] == 0)
    assert s.missing_features("emb") == ["b"] and s.has_features("emb", "a")
    # asset c changes: its features become stale and are dropped; a's are carried over
    fake_asset(s.root, "c", "k" * 64, 4, 9.0)
    s.commit([("a", "h" * 64), ("b", "i" * 64), ("c", "k" * 64)], prune=True)
    again = FeatureStore.open(s.root)
    assert again.n_rows == 9 and again.missing_features("emb") == ["b", "c"]
    assert np.allclose(again.features("emb")[again.rows("a")], fa, atol=1e-2)
    assert again.poses()[again.rows("c"), 0, 3].tolist() == [9, 9, 9, 9]
    assert not (again.root / asset_dir_name("c", "j" * 64)).exists()  # pruned
    assert sorted(p.name for p in again.root.glob("poses.*.npy")) == [again._index["poses"]]
    assert again.verify() == []


def test_put_features_validates(store: FeatureStore) -> None:
    with pytest.raises(LibraryError, match="first axis"):
        store.put_features("emb", "a", np.zeros((2, 5)))
    with pytest.raises(LibraryError, match="NaN"):
        store.put_features("emb", "a", np.full((3, 5), np.nan))
    with pytest.raises(LibraryError, match="letters"):
        store.put_features("../x", "a", np.zeros((3, 5)))
    store.put_features("emb", "a", np.zeros((3, 5)))
    store.commit()
    with pytest.raises(LibraryError, match="shape"):
        store.put_features("emb", "c", np.zeros((3, 6)))


def test_crash_during_commit_keeps_old_state(store: FeatureStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put_features("emb", "a", np.ones((3, 4)))
    real_replace = os.replace

    def crash_on_index(src, dst):  # the generation files are written, the index swap never happens
        if str(dst).endswith("index.json"):
            raise KeyboardInterrupt("killed")
        return real_replace(src, dst)

    monkeypatch.setattr(store_mod.os, "replace", crash_on_index)
    with pytest.raises(KeyboardInterrupt):
        store.commit()
    monkeypatch.undo()
    s = FeatureStore.open(store.root)
    assert s.kinds() == [] and s.verify() == [] and s.poses().shape == (8, 4, 4)
    s.commit(prune=True)  # the staged features survived the crash and land now
    final = FeatureStore.open(store.root)
    assert final.kinds() == ["emb"] and np.all(final.features("emb")[final.rows("a")] == 1)
    assert final.verify() == []


def test_open_missing_store_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(LibraryError) as info:
        FeatureStore.open(tmp_path / "derived")
    assert "build_library.py" in info.value.fix


def test_commit_rejects_unfinished_asset(store: FeatureStore) -> None:
    with pytest.raises(LibraryError, match="no finished folder"):
        store.commit([("a", "h" * 64), ("d", "z" * 64)])
    assert FeatureStore.open(store.root).asset_ids() == ["a", "b", "c"]
