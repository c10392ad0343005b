"""A weight-free embedder: colour, gradient-orientation and silhouette statistics.

Why it exists: retrieval and pose must still work on a fresh install with no checkpoints
(and in tests). It produces the same two shapes as DINOv2 — a global vector and a patch
grid — from numpy and OpenCV only. The global vector concatenates three separately
normalised blocks: a Lab colour histogram (a*b* jointly, L coarsely, so lighting moves it
least), a spatial histogram of gradient orientations (shape and texture), and the silhouette
(the mask at low resolution). Patch vectors describe each 14-pixel cell by its local and
neighbourhood gradient orientations and its mean colour, enough for nearest-neighbour
matching and a homography check.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .crops import Crop, patch_mask
from .embedders import normalise, zero_background

ORIENT_BINS = 9
HOG_CELLS = 4
SIL_SIDE = 12
L_BINS, AB_BINS, AB_RANGE = 6, 8, 64.0
BLOCK_WEIGHTS = {"colour": 1.0, "gradient": 0.8, "silhouette": 0.7}
PATCH_BINS = 8


def _lab(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)  # L 0..100, a/b about -127..127


def _orientation_maps(rgb: np.ndarray, mask: np.ndarray, bins: int) -> np.ndarray:
    """Gradient magnitude split into ``bins`` unsigned orientation channels, float32 [H, W, bins]."""
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.sqrt(gx * gx + gy * gy)
    # Keep the silhouette's own edge: weight by a slightly grown mask.
    grown = cv2.dilate((mask > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
    mag *= grown
    ang = np.mod(np.arctan2(gy, gx), np.pi) / np.pi * bins
    lo = np.floor(ang).astype(np.int64) % bins
    frac = (ang - np.floor(ang)).astype(np.float32)
    hi = (lo + 1) % bins
    # Scatter each pixel's two weights into its two bins in one pass (lo != hi, so no collisions).
    out = np.zeros((mag.size, bins), dtype=np.float32)
    rows = np.arange(mag.size)
    out[rows, lo.ravel()] = (mag * (1.0 - frac)).ravel()
    out[rows, hi.ravel()] += (mag * frac).ravel()
    return out.reshape(*mag.shape, bins)


def _pool(maps: np.ndarray, side: int) -> np.ndarray:
    """Average ``maps`` [H, W, C] over a side×side grid → [side, side, C]."""
    import cv2

    pooled = cv2.resize(np.ascontiguousarray(maps), (side, side), interpolation=cv2.INTER_AREA)  # all channels at once
    return pooled.reshape(side, side, maps.shape[2])


def _block(x: np.ndarray) -> np.ndarray:
    """Hellinger-style block normalisation: square root, then unit length."""
    v = np.sqrt(np.maximum(x.reshape(-1), 0.0))
    return v / max(float(np.linalg.norm(v)), 1e-12)


class ClassicalEmbedder:
    """Colour + gradient + silhouette features on a 16×16 patch grid of a 224² crop."""

    name = "classical"

    def __init__(self, input_size: int = 224, grid: int = 16) -> None:
        self.input_size = input_size
        self.grid = grid

    def dims(self) -> dict[str, tuple[int, ...]]:
        g = L_BINS + AB_BINS * AB_BINS + HOG_CELLS * HOG_CELLS * ORIENT_BINS + SIL_SIDE * SIL_SIDE
        return {"global": (g,), "patch": (self.grid * self.grid, 2 * PATCH_BINS + 3)}

    def _one(self, crop: Crop) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        rgb, mask = crop.rgb, crop.mask.astype(np.float32)
        if rgb.shape[0] != self.input_size:
            rgb = cv2.resize(rgb, (self.input_size, self.input_size), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (self.input_size, self.input_size), interpolation=cv2.INTER_AREA)
        lab = _lab(rgb)
        w = mask.reshape(-1)
        L, a, b = lab[..., 0].reshape(-1), lab[..., 1].reshape(-1), lab[..., 2].reshape(-1)
        h_l, _ = np.histogram(L, bins=L_BINS, range=(0.0, 100.0), weights=w)
        h_ab, _, _ = np.histogram2d(np.clip(a, -AB_RANGE, AB_RANGE - 1e-3), np.clip(b, -AB_RANGE, AB_RANGE - 1e-3),
                                    bins=AB_BINS, range=[[-AB_RANGE, AB_RANGE], [-AB_RANGE, AB_RANGE]], weights=w)
        colour = _block(np.concatenate([0.5 * h_l / max(w.sum(), 1e-6), h_ab.reshape(-1) / max(w.sum(), 1e-6)]))
        omap = _orientation_maps(rgb, mask, ORIENT_BINS)
        gradient = _block(_pool(omap, HOG_CELLS))
        silhouette = _block(cv2.resize(mask, (SIL_SIDE, SIL_SIDE), interpolation=cv2.INTER_AREA) ** 2)
        glob = np.concatenate([BLOCK_WEIGHTS["colour"] * colour, BLOCK_WEIGHTS["gradient"] * gradient,
                               BLOCK_WEIGHTS["silhouette"] * silhouette])
        # Patch descriptors: fine and context orientation histograms, plus the cell's mean colour.
        pmap = _orientation_maps(rgb, mask, PATCH_BINS)
        fine = _pool(pmap, self.grid).reshape(-1, PATCH_BINS)
        coarse = cv2.resize(_pool(pmap, self.grid // 2), (self.grid, self.grid),
                            interpolation=cv2.INTER_NEAREST).reshape(-1, PATCH_BINS)
        colour_cells = _pool(lab, self.grid).reshape(-1, 3) / np.array([200.0, 64.0, 64.0], dtype=np.float32)
        patch = np.concatenate([normalise(np.sqrt(fine)), 0.8 * normalise(np.sqrt(coarse)), colour_cells], axis=1)
        return glob.astype(np.float32), patch.astype(np.float32)

    def embed(self, crops: Sequence[Crop]) -> dict[str, np.ndarray]:
        d = self.dims()
        glob = np.zeros((len(crops),) + d["global"], dtype=np.float32)
        patch = np.zeros((len(crops),) + d["patch"], dtype=np.float32)
        cover = np.zeros((len(crops), self.grid * self.grid), dtype=np.float32)
        for i, c in enumerate(crops):
            glob[i], patch[i] = self._one(c)
            cover[i] = patch_mask(c.mask, self.grid)
        return {"global": normalise(glob), "patch": zero_background(normalise(patch), cover)}
