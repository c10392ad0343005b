"""The two stages of a library build as plain functions (Ray tasks in ``library_build.py``).

``bake_asset`` renders one asset's template views and its collision proxy in a Blender child,
into a private temporary store, and returns the files; ``embed_assets`` computes template
features for a batch of assets from their renders. Neither touches the real store: the driver
commits what they return, under the store's lock, so the store's generations stay consistent.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .blender_child import BlenderChildError, run_blender


def bake_asset(library: str, asset_id: str, content_hash: str, settings: dict[str, Any]) -> dict[str, bytes]:
    """Template renders, poses and proxy of one asset: ``{relative path in its folder: bytes}``."""
    from ..library.store import asset_dir_name

    with tempfile.TemporaryDirectory(prefix="imaginarium-bake-") as tmp:
        store = Path(tmp) / "store"
        jobs = Path(tmp) / "jobs.json"
        jobs.write_text(json.dumps({"settings": settings, "jobs": [[asset_id, content_hash]]}), encoding="utf-8")
        answer = run_blender("_library_render_worker.py", [str(library), str(store), str(jobs)],
                             env={"LP_NUM_THREADS": "1"})
        if answer.get("error"):
            raise BlenderChildError(f"Asset {asset_id} could not be baked: {answer['error']}",
                                    "Open the asset file in Blender to check it; the rest of the library is built.")
        folder = store / asset_dir_name(asset_id, content_hash)
        if not (folder / "meta.json").is_file():
            raise BlenderChildError(f"Asset {asset_id}: the bake finished without meta.json in {folder.name}.")
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def embed_assets(embedder_name: str, assets: list[tuple[str, list[bytes]]]) -> dict[str, dict[str, np.ndarray]]:
    """Global and patch features of every view of each asset (float16), from its render PNGs."""
    from ..config import Settings
    from ..matching.crops import crop_from_rgba, read_rgba
    from ..matching.embedders import load_embedder

    settings = Settings.load()
    settings.retrieval.embedder = embedder_name
    embedder, _ = load_embedder(settings)
    out: dict[str, dict[str, np.ndarray]] = {}
    with tempfile.TemporaryDirectory(prefix="imaginarium-embed-") as tmp:
        for asset_id, pngs in assets:
            crops = []
            for i, data in enumerate(pngs):
                path = Path(tmp) / f"{i:04d}.png"
                path.write_bytes(data)
                crops.append(crop_from_rgba(read_rgba(path), embedder.input_size))
            feats = embedder.embed(crops)
            empty = np.array([not c.mask.any() for c in crops])
            feats["global"][empty] = 0.0  # nothing visible in that view: it must never match
            out[asset_id] = {k: v.astype(np.float16) for k, v in feats.items()}
    return out
