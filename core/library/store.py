"""The derived-data store of a library: template renders, poses, proxies and embeddings.

Why this shape: 2,000+ assets × 162 views must never mean opening thousands of files to
compare embeddings. So every feature kind is ONE float16 memory-mapped array
``[N, *feature_shape]`` (N = all template views of all assets) plus ONE JSON index mapping
(asset, view) → row; poses are one ``[N, 4, 4]`` array. Per-asset files (the RGBA PNG
renders, the collision proxy) are opened only for the few assets a scene uses.

Layout under ``<library>/derived/``::

    index.json                       the committed state (atomically replaced)
    poses.<gen>.npy                  float32 [N, 4, 4] world_from_camera, asset frame, OpenCV axes
    features/<kind>.<gen>.f16        float16 [N, *shape] raw memmap (shape in the index)
    assets/<safe id>/<hash12>/       meta.json, poses.npy, proxy.npz, renders/000.png …
    staging/features/<kind>/<safe id>.<hash12>.npy   put_features() before commit()

Crash safety: asset folders appear by an atomic rename when complete; ``commit`` writes a
new generation of the big arrays and then swaps ``index.json`` with ``os.replace``, so a
reader (or a restarted build) always sees either the old or the new consistent state.
Features are tied to the asset's content hash; when an asset changes its old features
are dropped and ``missing_features(kind)`` lists it again.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zlib
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import LibraryError

FORMAT = 1
INDEX = "index.json"
BUILD_FIX = "Build it with `.venv/bin/python scripts/build_library.py --library LIBRARY` (or `make library`)."
_SAFE = re.compile(r"[A-Za-z0-9_.\-]+")


def safe_name(asset_id: str) -> str:
    """A file-system-safe folder name for an asset id (ids are usually numbers)."""
    if _SAFE.fullmatch(asset_id) and asset_id not in (".", ".."):
        return asset_id
    return re.sub(r"[^A-Za-z0-9_\-]", "_", asset_id)[:40] + f"-{zlib.crc32(asset_id.encode()):08x}"


def asset_dir_name(asset_id: str, content_hash: str) -> str:
    return f"assets/{safe_name(asset_id)}/{content_hash[:12]}"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class FeatureStore:
    """Read side for matching and layout; write side for the builder and embedders."""

    def __init__(self, root: Path, index: dict[str, Any]) -> None:
        self.root = root
        self._index = index
        self._assets = {a["id"]: a for a in index["assets"]}
        self._order = [a["id"] for a in index["assets"]]
        self._cache: dict[str, Any] = {}

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> "FeatureStore":
        """The committed store at ``root`` (``<library>/derived``); LibraryError with the fix if absent."""
        root = Path(root)
        path = root / INDEX
        if not path.is_file():
            raise LibraryError(f"No derived data at {root} (index.json is missing).", BUILD_FIX)
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise LibraryError(f"{path} is not valid JSON ({exc}).", "Delete the derived folder and " + BUILD_FIX) from None
        if index.get("format") != FORMAT:
            raise LibraryError(f"{path} has format {index.get('format')!r}; this version reads {FORMAT}.",
                               "Rebuild the derived data: " + BUILD_FIX)
        return cls(root, index)

    @classmethod
    def open_or_create(cls, root: str | os.PathLike[str], settings: dict[str, Any] | None = None) -> "FeatureStore":
        """For writers: the committed store, or an empty one (committed on the first ``commit``)."""
        root = Path(root)
        if (root / INDEX).is_file():
            return cls.open(root)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, {"format": FORMAT, "generation": 0, "settings": settings or {}, "assets": [],
                          "poses": None, "kinds": {}})

    # ---- reading -------------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        """Render settings the templates were made with (views, resolution, fov_deg, engine…)."""
        return dict(self._index.get("settings", {}))

    def asset_ids(self) -> list[str]:
        return list(self._order)

    def _asset(self, asset_id: str) -> dict[str, Any]:
        try:
            return self._assets[asset_id]
        except KeyError:
            raise LibraryError(f"Asset {asset_id!r} has no derived data in {self.root}.",
                               "Rebuild the derived data after adding the asset: " + BUILD_FIX) from None

    def asset_hash(self, asset_id: str) -> str:
        return self._asset(asset_id)["hash"]

    def asset_info(self, asset_id: str) -> dict[str, Any]:
        """Per-asset facts: hash, n_views, first row, folder, normalisation of the source file."""
        return dict(self._asset(asset_id))

    def rows(self, asset_id: str) -> range:
        a = self._asset(asset_id)
        return range(a["row0"], a["row0"] + a["n_views"])

    @property
    def n_rows(self) -> int:
        return sum(a["n_views"] for a in self._index["assets"])

    def row_asset_index(self) -> np.ndarray:
        """Asset index (in ``asset_ids()`` order) of every row, int32 [N]."""
        counts = [a["n_views"] for a in self._index["assets"]]
        return np.repeat(np.arange(len(counts), dtype=np.int32), counts)

    def poses(self) -> np.ndarray:
        """world_from_camera per row (asset frame, OpenCV axes), read-only float32 [N, 4, 4]."""
        if not self._index.get("poses"):
            return np.zeros((0, 4, 4), np.float32)
        if "poses" not in self._cache:
            self._cache["poses"] = np.load(self.root / self._index["poses"], mmap_mode="r")
        return self._cache["poses"]

    def intrinsics(self) -> np.ndarray:
        """3x3 K of the template renders."""
        from .views import intrinsics

        s = self._index["settings"]
        return intrinsics(int(s["resolution"]), float(s["fov_deg"]))

    def render_path(self, asset_id: str, view: int) -> Path:
        """RGBA PNG of one template view (alpha = the object's mask)."""
        a = self._asset(asset_id)
        if not 0 <= view < a["n_views"]:
            raise LibraryError(f"View {view} of asset {asset_id!r} does not exist (0..{a['n_views'] - 1}).",
                               "Use a view index from store.rows(asset_id).")
        return self.root / a["dir"] / "renders" / f"{view:03d}.png"

    def proxy(self, asset_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Collision proxy in the asset frame at catalogue size: (verts float32 [n,3], faces int32 [m,3])."""
        with np.load(self.root / self._asset(asset_id)["dir"] / "proxy.npz") as data:
            return data["verts"].astype(np.float32), data["faces"].astype(np.int32)

    def kinds(self) -> list[str]:
        return sorted(self._index["kinds"])

    def feature_shape(self, kind: str) -> tuple[int, ...]:
        return tuple(self._kind(kind)["shape"])

    def _kind(self, kind: str) -> dict[str, Any]:
        try:
            return self._index["kinds"][kind]
        except KeyError:
            raise LibraryError(f"The store at {self.root} has no {kind!r} features (kinds: {self.kinds()}).",
                               "Compute them (the matching step does it on first use) and commit.") from None

    def features(self, kind: str) -> np.ndarray:
        """Read-only float16 memmap [N, *shape]; rows of assets without this kind are zeros."""
        info = self._kind(kind)
        key = "features:" + kind
        if key not in self._cache:
            shape = (self.n_rows, *info["shape"])
            self._cache[key] = np.memmap(self.root / info["file"], dtype=np.float16, mode="r", shape=shape)
        return self._cache[key]

    def has_features(self, kind: str, asset_id: str) -> bool:
        info = self._index["kinds"].get(kind)
        return bool(info) and info["assets"].get(asset_id) == self.asset_hash(asset_id)

    def missing_features(self, kind: str) -> list[str]:
        """Assets (store order) whose ``kind`` features are absent or stale."""
        return [a for a in self._order if not self.has_features(kind, a)]

    def summary(self) -> dict[str, Any]:
        return {"root": str(self.root), "assets": len(self._order), "rows": self.n_rows, "settings": self.settings,
                "kinds": {k: {"shape": v["shape"], "assets": len(v["assets"])} for k, v in self._index["kinds"].items()},
                "generation": self._index["generation"]}

    # ---- writing -------------------------------------------------------------------------
    def put_features(self, kind: str, asset_id: str, array: np.ndarray) -> None:
        """Stage one asset's features ``[n_views, *shape]`` (cast to float16); visible after ``commit``."""
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", kind):
            raise LibraryError(f"Feature kind {kind!r} must be letters, digits, '_' or '-'.", "Rename the kind.")
        a = self._asset(asset_id)
        arr = np.asarray(array)
        if arr.ndim < 1 or arr.shape[0] != a["n_views"]:
            raise LibraryError(f"Features for {asset_id!r} have shape {arr.shape}; the first axis must be its "
                               f"{a['n_views']} views.", "Compute one feature row per template view.")
        if not np.all(np.isfinite(arr)):
            raise LibraryError(f"Features {kind!r} for {asset_id!r} contain NaN or infinity.",
                               "Check the embedder's input images and weights.")
        known = self._index["kinds"].get(kind)
        if known and tuple(known["shape"]) != arr.shape[1:]:
            raise LibraryError(f"Features {kind!r} have shape {known['shape']} per view; got {list(arr.shape[1:])}.",
                               "Use a new kind name for a different embedder or delete the old kind.")
        path = self.root / "staging" / "features" / kind / f"{safe_name(asset_id)}.{a['hash'][:12]}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr.astype(np.float16))
        os.replace(tmp, path)

    def commit(self, assets: Iterable[tuple[str, str]] | None = None, *, prune: bool = False,
               settings: dict[str, Any] | None = None) -> "FeatureStore":
        """Make staged work visible atomically; returns ``self`` reloaded.

        ``assets`` (builder only) is the new asset list as (id, content hash), each already
        present as a finished folder; None keeps the current list (embedders). With
        ``prune`` unreferenced asset folders and staging leftovers are deleted. ``settings``
        (builder only) records the render settings the listed assets were made with.
        """
        from .commit import cleanup, write_generation, writer_lock

        with writer_lock(self.root):
            if (self.root / INDEX).is_file():  # another writer may have committed since we opened
                latest = FeatureStore.open(self.root)
                if latest._index.get("generation") != self._index.get("generation"):
                    self.__init__(self.root, latest._index)  # type: ignore[misc]
            old = self._index
            new = write_generation(self.root, old, None if assets is None else list(assets), self._load_old_rows)
            if settings is not None:
                new["settings"] = dict(settings)
            _atomic_write(self.root / INDEX, json.dumps(new, indent=1).encode("utf-8"))
            self._cache.clear()
            self.__init__(self.root, new)  # type: ignore[misc]
            cleanup(self.root, old, new, prune=prune)
        return self

    def _load_old_rows(self, what: str, asset_id: str) -> np.ndarray:
        """Rows of one asset from the committed arrays (used by commit to carry data forward)."""
        r = self.rows(asset_id)
        arr = self.poses() if what == "poses" else self.features(what)
        return np.array(arr[r.start:r.stop])

    def verify(self) -> list[str]:
        """Consistency problems of the committed state (empty list = consistent)."""
        out = []
        n = self.n_rows
        if self._index.get("poses") and self.poses().shape != (n, 4, 4):
            out.append(f"poses shape {self.poses().shape} != ({n}, 4, 4)")
        for kind, info in self._index["kinds"].items():
            size = (self.root / info["file"]).stat().st_size if (self.root / info["file"]).is_file() else -1
            if size != n * int(np.prod(info["shape"])) * 2:
                out.append(f"features {kind}: file has {size} bytes for {n} rows")
        for a in self._index["assets"]:
            folder = self.root / a["dir"]
            pngs = len(list((folder / "renders").glob("*.png"))) if folder.is_dir() else 0
            if pngs != a["n_views"]:
                out.append(f"asset {a['id']}: {pngs} renders, index says {a['n_views']}")
            if not (folder / "proxy.npz").is_file():
                out.append(f"asset {a['id']}: proxy missing")
        return out


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
