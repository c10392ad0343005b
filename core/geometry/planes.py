"""Vectorised RANSAC for planes ``n · x = d``.

All hypotheses are drawn and scored at once with one matrix product (hypotheses × sampled
points), which is what makes a 1024² depth map fit in well under a second on two cores: the
expensive part is a single BLAS call instead of a Python loop. The winner is refined by a
least-squares fit (SVD) on its inliers among *all* points.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class PlaneFit:
    """A fitted plane: unit ``normal``, ``offset`` d (n·x = d) and the inlier mask over the input points."""

    normal: np.ndarray
    offset: float
    inliers: np.ndarray

    @property
    def count(self) -> int:
        return int(self.inliers.sum())

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        return points @ self.normal - self.offset

    def flipped(self) -> "PlaneFit":
        return PlaneFit(-self.normal, -self.offset, self.inliers)


def fit_plane_lstsq(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Total least squares: the normal is the direction of least variance of the points."""
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd((points - centre).astype(np.float64), full_matrices=False)
    normal = vt[-1]
    return normal, float(normal @ centre)


def ransac_plane(points: np.ndarray, threshold: float, *, iterations: int = 256, rng: np.random.Generator | None = None,
                 accept: Callable[[np.ndarray], np.ndarray] | None = None, eval_points: int = 8000,
                 min_inliers: int = 50) -> PlaneFit | None:
    """Best plane through ``points`` (N, 3); ``accept(normals[k, 3]) -> bool[k]`` filters hypotheses.

    Returns None when fewer than ``min_inliers`` points support any acceptable plane.
    """
    rng = rng or np.random.default_rng(0)
    n_pts = len(points)
    if n_pts < max(3, min_inliers):
        return None
    pts = points.astype(np.float32, copy=False)
    idx = rng.integers(0, n_pts, size=(iterations, 3))
    p0, p1, p2 = pts[idx[:, 0]], pts[idx[:, 1]], pts[idx[:, 2]]
    normals = np.cross(p1 - p0, p2 - p0)
    length = np.linalg.norm(normals, axis=1)
    ok = length > 1e-9
    normals = normals[ok] / length[ok, None]
    p0 = p0[ok]
    if accept is not None and len(normals):
        keep = accept(normals)
        normals, p0 = normals[keep], p0[keep]
    if not len(normals):
        return None
    offsets = np.einsum("ij,ij->i", normals, p0)
    sample = pts if n_pts <= eval_points else pts[rng.choice(n_pts, eval_points, replace=False)]
    scores = (np.abs(sample @ normals.T - offsets[None, :]) < threshold).sum(axis=0)
    best = int(np.argmax(scores))
    normal, offset = normals[best].astype(np.float64), float(offsets[best])
    inliers = np.abs(pts @ normal - offset) < threshold
    for _ in range(2):  # refine on all inliers; keep the hypothesis if the refit breaks the constraint
        if inliers.sum() < 3:
            break
        n2, d2 = fit_plane_lstsq(pts[inliers])
        if n2 @ normal < 0:
            n2, d2 = -n2, -d2
        if accept is not None and not bool(accept(n2[None, :].astype(np.float32))[0]):
            break
        normal, offset = n2, d2
        inliers = np.abs(pts @ normal - offset) < threshold
    if inliers.sum() < min_inliers:
        return None
    return PlaneFit(normal, offset, inliers)


def full_inliers(fit: PlaneFit, pts: np.ndarray, thr: float) -> PlaneFit:
    """A fit made on a subset, re-evaluated on all points."""
    return PlaneFit(fit.normal, fit.offset, np.abs(pts @ fit.normal - fit.offset) < thr)


def towards_origin(fit: PlaneFit) -> PlaneFit:
    """Normals point into the room, i.e. towards the camera at the origin: n·0 − d > 0."""
    return fit.flipped() if fit.offset > 0 else fit
