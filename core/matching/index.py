"""The library's template features as plain arrays: what retrieval and pose read.

Why a separate view of the FeatureStore: the scoring code is pure array maths and should not
care whether rows come from the store's memory maps or from a synthetic benchmark; it sees
asset ids, which row belongs to which asset, the features and the template camera poses.

Patch features may be absent from the store: a library rendered with many views per asset
(162 by default) would need ~85 MB of DINOv2-L patch tokens per asset. Then ``patch`` is None
and ``patch_source`` computes the few rows a query needs from the template renders (cached).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import LibraryError
from .embedders import Embedder, kind

PatchSource = Callable[[np.ndarray], np.ndarray]


@dataclass
class TemplateIndex:
    """Template views of every embedded asset.

    ``row_asset[r]`` is the index into ``asset_ids`` of row ``r``. ``glob`` [N, D] and
    ``patch`` [N, P, Dp] may be float16 memory maps (``patch`` None: use ``patch_source``).
    ``poses`` [N, 4, 4] are the render cameras' world_from_camera in the asset frame (OpenCV axes).
    """

    asset_ids: list[str]
    row_asset: np.ndarray
    glob: np.ndarray
    patch: np.ndarray | None
    poses: np.ndarray
    grid: int
    patch_source: PatchSource | None = None

    def __post_init__(self) -> None:
        n = len(self.row_asset)
        lengths = [self.glob.shape[0], self.poses.shape[0]] + ([] if self.patch is None else [self.patch.shape[0]])
        if any(x != n for x in lengths):
            raise LibraryError(f"Template features disagree in length (rows {n}, global {self.glob.shape[0]}, "
                               f"patch {None if self.patch is None else self.patch.shape[0]}, poses {self.poses.shape[0]}).",
                               "Re-embed the library: python -m core.matching.embed_library LIBRARY_DIR --force.")
        if self.patch is None and self.patch_source is None:
            raise LibraryError("Template patch features are neither stored nor computable.",
                               "Re-embed the library: python -m core.matching.embed_library LIBRARY_DIR.")
        if self.patch is not None and (self.patch.ndim != 3 or self.patch.shape[1] != self.grid * self.grid):
            raise LibraryError(f"Patch features have shape {self.patch.shape}, expected [N, {self.grid ** 2}, D].",
                               "Re-embed the library with the current embedder (--force).")
        self.position = {a: i for i, a in enumerate(self.asset_ids)}
        ra = np.asarray(self.row_asset, dtype=np.int64)
        if n and (ra.min() < 0 or ra.max() >= len(self.asset_ids)):
            raise LibraryError("Template rows name assets the store does not list.", "Rebuild the library's derived data.")
        # Rows need not be grouped by asset (an incremental store appends); keep a grouping permutation.
        self._order = np.argsort(ra, kind="stable")
        counts = np.bincount(ra, minlength=len(self.asset_ids)) if n else np.zeros(len(self.asset_ids), np.int64)
        self.row_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.row_count = counts.astype(np.int64)

    def rows_of(self, asset_indices: np.ndarray) -> np.ndarray:
        """All template rows of the given assets (by index into ``asset_ids``), in that order."""
        idx = np.asarray(asset_indices, dtype=np.int64)
        if idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        starts, counts = self.row_start[idx], self.row_count[idx]
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        return self._order[np.arange(int(counts.sum()), dtype=np.int64) + offsets]

    def to_device(self, device: str) -> "TemplateIndex":
        """Keep the features as torch tensors on ``device`` (a GPU): similarity and patch matching run there.

        Patches that are not stored (computed on demand) stay on the host path.
        """
        from .torch_scoring import DeviceCopy

        self._device = DeviceCopy(self.glob, self.patch, device)
        return self

    def global_sims(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine similarity [len(rows)] of a unit query with the rows' global vectors."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return np.zeros(0, np.float32)
        device = getattr(self, "_device", None)
        if device is not None:
            return device.global_sims(query, rows)
        return np.asarray(self.glob[rows], dtype=np.float32) @ np.asarray(query, dtype=np.float32)

    def patches(self, rows: np.ndarray) -> Any:
        """Patch features [len(rows), P, Dp] of the given rows: float32 numpy (read in storage order),
        or a torch tensor on the device after :meth:`to_device`."""
        rows = np.asarray(rows, dtype=np.int64)
        device = getattr(self, "_device", None)
        if device is not None and device.patch is not None:
            return device.patches(rows)
        if self.patch is None:
            return np.asarray(self.patch_source(rows), dtype=np.float32)  # type: ignore[misc]
        order = np.argsort(rows)
        out = np.empty((len(rows),) + tuple(self.patch.shape[1:]), dtype=np.float32)
        out[order] = np.asarray(self.patch[rows[order]], dtype=np.float32)
        return out

    @classmethod
    def from_store(cls, store: Any, embedder: Embedder, patch_source: PatchSource | None = None) -> "TemplateIndex":
        """Read the embedder's kinds from a FeatureStore (LibraryError with the fix when absent).

        Without a stored patch kind, ``patch_source`` must be given (on-demand patches).
        """
        g_kind, p_kind = kind(embedder, "global"), kind(embedder, "patch")
        have = set(store.kinds())
        if g_kind not in have or (p_kind not in have and patch_source is None):
            missing = [k for k in (g_kind, p_kind) if k not in have]
            raise LibraryError(f"The library's feature store has no {', '.join(missing)} features.",
                               "Run python -m core.matching.embed_library LIBRARY_DIR (or match with "
                               "retrieval.embed_missing on) to compute them.")
        dims = embedder.dims()
        glob = store.features(g_kind)
        patch = store.features(p_kind) if p_kind in have else None
        if tuple(glob.shape[1:]) != dims["global"] or (patch is not None and tuple(patch.shape[1:]) != dims["patch"]):
            raise LibraryError(f"Stored {g_kind}/{p_kind} features do not have the shapes the embedder gives "
                               f"({dims['global']}/{dims['patch']}): another model size?",
                               "Re-embed the library with --force, or set retrieval.dinov2_model back.")
        return cls(list(store.asset_ids()), np.asarray(store.row_asset_index()), glob, patch,
                   np.asarray(store.poses(), dtype=np.float32), embedder.grid, patch_source)

    def view_directions(self, rows: np.ndarray) -> np.ndarray:
        """Unit vectors from the viewed point towards each template camera (asset frame): minus the optical axis."""
        z = np.asarray(self.poses[np.asarray(rows, dtype=np.int64), :3, 2], dtype=np.float64)
        return -z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def view_azimuths(self, rows: np.ndarray) -> np.ndarray:
        """Azimuth of each template camera around its asset, radians (atan2 of the to-camera direction's y, x)."""
        d = self.view_directions(rows)
        return np.arctan2(d[:, 1], d[:, 0])

    def view_elevations(self, rows: np.ndarray) -> np.ndarray:
        """Elevation of each template camera above the asset's horizontal plane, radians."""
        d = self.view_directions(rows)
        return np.arctan2(d[:, 2], np.linalg.norm(d[:, :2], axis=1))
