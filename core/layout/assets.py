"""An asset as the layout stage reads it: its record from the catalogue, and its collision proxy.

Shared by the problem builder, the solver, the fit, the metrics and the room generator. A store
without the asset's proxy falls back to the asset's box, with a note; anything else is an error.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import LibraryError
from ..matching.placeholder import is_placeholder
from ..schema import AssetRecord
from .errors import LayoutError
from .geometry import box_proxy


def catalogue_assets(catalogue: Any) -> dict[str, AssetRecord]:
    """Accept a ``Catalogue`` (``.assets``) or a plain ``{asset_id: AssetRecord}`` mapping."""
    assets = getattr(catalogue, "assets", catalogue)
    if not isinstance(assets, Mapping):
        raise LayoutError(f"The catalogue given to the layout stage is a {type(catalogue).__name__}.",
                          "Pass core.library.catalogue.load_catalogue(...) or a dict of AssetRecord by id.")
    return dict(assets)


def asset_proxy(asset: AssetRecord, proxies: Any = None, notes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The collision proxy in the asset frame: from ``proxies`` (a mapping, or a store with ``.proxy(id)``), else the box.

    Only a store that does not hold this asset (or whose proxy file cannot be read) falls back to the
    box, and ``notes`` (when given) says so; any other failure is a bug and is raised.
    """
    found = None
    why = ""
    if proxies is not None:
        if isinstance(proxies, Mapping):
            found = proxies.get(asset.id)
            why = "no proxy given for it"
        elif hasattr(proxies, "proxy"):
            try:
                found = proxies.proxy(asset.id)
            except (LibraryError, KeyError) as exc:  # a store without this asset: the box is the documented fallback
                why = getattr(exc, "message", "") or f"the store has no proxy for {asset.id}"
            except (OSError, ValueError) as exc:       # an unreadable or damaged proxy file
                why = f"its proxy file could not be read ({type(exc).__name__})"
    if found is None:
        if notes is not None and proxies is not None and not is_placeholder(asset.id):
            notes.append(f"collision shape: the asset's box ({why})")
        return box_proxy(asset.size)
    verts = np.asarray(found[0], dtype=float).reshape(-1, 3)
    faces = np.asarray(found[1], dtype=np.int32).reshape(-1, 3)
    if len(verts) < 4 or len(faces) < 4 or faces.min() < 0 or faces.max() >= len(verts):
        raise LayoutError(f"The collision proxy of asset {asset.id} is not a closed mesh "
                          f"({len(verts)} vertices, {len(faces)} triangles, or a face index out of range).",
                          "Rebuild the library's derived data (collision proxies) or delete the bad proxy.")
    return verts, faces
