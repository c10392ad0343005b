"""Compute the library's template embeddings into its FeatureStore, incrementally.

Why incremental: embedding 2,000 assets × their views with DINOv2-L takes long on a CPU;
adding ten assets must cost ten assets. An asset is embedded when a kind of the current
embedder is missing for it (or always with ``force``); results are written per asset with
``put_features`` and made visible together by one ``commit`` (the store's atomic update).

Run: ``python -m core.matching.embed_library LIBRARY_DIR [--embedder classical] [--force]``.
"""
from __future__ import annotations

import argparse
import sys
import os
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import LibraryError
from .crops import crop_from_rgba, read_rgba
from .embedders import Embedder, kind


def _has(store: Any, k: str, asset_id: str) -> bool:
    """Whether the store already holds kind ``k`` for this asset."""
    if hasattr(store, "has_features"):
        return bool(store.has_features(k, asset_id))
    return k in set(store.kinds())


def missing_assets(store: Any, embedder: Embedder, force: bool = False, patches: bool = True) -> list[str]:
    """Assets lacking this embedder's kinds (all assets with ``force``)."""
    kinds = [kind(embedder, "global")] + ([kind(embedder, "patch")] if patches else [])
    return [a for a in store.asset_ids() if force or not all(_has(store, k, a) for k in kinds)]


def patch_bytes(store: Any, embedder: Embedder) -> int:
    """Disk size the patch kind would take for every template view of the store (float16)."""
    n = sum(len(store.rows(a)) for a in store.asset_ids())
    return int(n * np.prod(embedder.dims()["patch"]) * 2)


class RenderPatchSource:
    """Patch features of template rows computed from their renders when the store does not hold them.

    Used for libraries with many views per asset, where stored patch tokens would not fit a
    laptop disk. Keeps the last ``cache_rows`` rows (float16) so a warm worker reuses them.
    """

    def __init__(self, store: Any, embedder: Embedder, cache_rows: int = 1024) -> None:
        self.store, self.embedder, self.cache_rows = store, embedder, cache_rows
        self.owner: dict[int, tuple[str, int]] = {}
        for a in store.asset_ids():
            for v, r in enumerate(store.rows(a)):
                self.owner[int(r)] = (a, v)
        self.cache: dict[int, np.ndarray] = {}

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        todo = sorted({int(r) for r in rows if int(r) not in self.cache})
        if todo:
            crops = []
            for r in todo:
                asset_id, view = self.owner[r]
                crops.append(crop_from_rgba(read_rgba(self.store.render_path(asset_id, view)), self.embedder.input_size))
            feats = self.embedder.embed(crops)["patch"].astype(np.float16)
            for r, f in zip(todo, feats):
                if len(self.cache) >= self.cache_rows:
                    self.cache.pop(next(iter(self.cache)))
                self.cache[r] = f
        return np.stack([self.cache[int(r)].astype(np.float32) for r in rows]) if len(rows) else \
            np.zeros((0,) + self.embedder.dims()["patch"], np.float32)


def embed_asset(store: Any, embedder: Embedder, asset_id: str) -> dict[str, np.ndarray]:
    """Features of every template view of one asset: {"global": [V, D], "patch": [V, P, Dp]}."""
    views = len(store.rows(asset_id))
    if views == 0:
        raise LibraryError(f"Asset {asset_id} has no template views in the store.",
                           "Rebuild the library's derived data (template renders) for it.")
    crops = [crop_from_rgba(read_rgba(store.render_path(asset_id, v)), embedder.input_size) for v in range(views)]
    feats = embedder.embed(crops)
    empty = np.array([not c.mask.any() for c in crops])
    feats["global"][empty] = 0.0   # nothing visible in that view: it must never match
    return feats


_POOL: dict[str, Any] = {}


def _pool_init(store_root: str, embedder_name: str) -> None:
    """Per worker process: its own store handle and embedder (classical only: it needs no weights)."""
    from ..library.store import FeatureStore
    from .classical import ClassicalEmbedder

    if embedder_name != "classical":
        raise LibraryError("Only the classical embedder runs in several processes.", "Use --workers 1.")
    _POOL["store"], _POOL["embedder"] = FeatureStore.open(store_root), ClassicalEmbedder()


def _pool_embed(asset_id: str) -> dict[str, np.ndarray]:
    return embed_asset(_POOL["store"], _POOL["embedder"], asset_id)


def _features(store: Any, embedder: Embedder, todo: list[str], workers: int) -> Iterator[dict[str, np.ndarray]]:
    """Features per asset of ``todo`` in order: in this process, or (classical) in a pool of processes."""
    root = getattr(store, "root", None)
    if workers <= 1 or embedder.name != "classical" or root is None or len(todo) < 2:
        for asset_id in todo:
            yield embed_asset(store, embedder, asset_id)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, initializer=_pool_init,
                             initargs=(str(root), embedder.name)) as pool:
        yield from pool.map(_pool_embed, todo)


def embed_library(store: Any, embedder: Embedder, *, force: bool = False, patches: bool = True,
                  progress: Callable[[int, int, str], None] | None = None,
                  check_cancelled: Callable[[], None] | None = None, workers: int = 1) -> dict[str, Any]:
    """Embed what is missing, commit once; returns counts. Cancelling keeps nothing half-written.

    ``patches`` False stores only the global kind (patches then come from RenderPatchSource).
    ``workers`` > 1 computes classical features in that many processes (DINOv2 stays in one: GPU).
    """
    todo = missing_assets(store, embedder, force, patches)
    g_kind, p_kind = kind(embedder, "global"), kind(embedder, "patch")
    for i, (asset_id, feats) in enumerate(zip(todo, _features(store, embedder, todo, workers))):
        if check_cancelled:
            check_cancelled()
        store.put_features(g_kind, asset_id, feats["global"].astype(np.float16))
        if patches:
            store.put_features(p_kind, asset_id, feats["patch"].astype(np.float16))
        if progress:
            progress(i + 1, len(todo), asset_id)
    if todo:
        store.commit()
    return {"embedder": embedder.name, "embedded": len(todo), "assets": len(store.asset_ids()), "patches": patches}


def main(argv: list[str] | None = None) -> int:
    """Command line: embed a library's templates with the configured (or named) embedder."""
    from tqdm import tqdm

    from ..config import Settings
    from ..errors import ImaginariumError
    from .embedders import load_embedder
    from .store_access import open_store

    p = argparse.ArgumentParser(prog="python -m core.matching.embed_library", description=__doc__.splitlines()[0])
    p.add_argument("library", help="Library folder (with derived/).")
    p.add_argument("--embedder", choices=("auto", "dinov2", "classical"), default=None)
    p.add_argument("--force", action="store_true", help="Re-embed every asset.")
    p.add_argument("--no-patches", action="store_true", help="Store only global features (patches on demand).")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="Processes for the classical embedder (DINOv2 always uses one).")
    p.add_argument("--config", default=None)
    args = p.parse_args(argv)
    try:
        settings = Settings.load(args.config)
        if args.embedder:
            settings.retrieval.embedder = args.embedder
        embedder, notes = load_embedder(settings)
        for n in notes:
            print(n, file=sys.stderr)
        store = open_store(args.library)
        patches = not args.no_patches and patch_bytes(store, embedder) <= settings.retrieval.patch_store_max_gb * 2 ** 30
        bar = tqdm(total=len(missing_assets(store, embedder, args.force, patches)), unit="asset")
        out = embed_library(store, embedder, force=args.force, patches=patches, workers=args.workers,
                            progress=lambda i, n, a: bar.update(1))
        bar.close()
        print(out)
        return 0
    except ImaginariumError as exc:
        print(f"error: {exc.message}\nfix: {exc.fix}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
