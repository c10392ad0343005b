"""Yaw of a retrieved asset from its template views, fused with the observed 3D box.

How: the object's crop is matched patch-by-patch against each template view of the chosen
asset (and, for mirror-symmetric furniture, the mirrored crop too); views are re-ranked by
how many matched patches one similarity transform explains (RANSAC), which rejects views that match
only by colour. The best view says from which azimuth around the asset the camera sees it;
the ray from the object to the real camera says the same azimuth in the world; their
difference is the asset's yaw. The box's yaw is precise but ambiguous by 90°, the template
yaw is coarse but unambiguous: the output takes the box hypothesis nearest the template one,
and small objects (whose boxes are noisy) take the template yaw alone.

Conventions: yaw rotates the asset frame about world Z (yaw 0: the asset's front, −Y, faces
world −Y). A view's azimuth is atan2(y, x) of the direction towards its camera (minus its
optical axis) in the asset frame. Only views near the real viewing elevation, and of those
the best by global similarity (``max_views``), are compared patch by patch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..schema import Box3D, Camera, PoseHypothesis
from .index import TemplateIndex
from .scoring import mutual_matches
from .torch_scoring import foreground_grid

MIRROR_PENALTY = 0.97   # a mirrored reading ties break toward the direct one
RANSAC_CELLS = 1.5      # reprojection tolerance in patch cells
SOFT_TAU = 0.03         # score scale of the soft view choice
BOX_SIGMA = math.radians(30.0)
ELEVATION_WINDOW = math.radians(25.0)  # views within this of the nearest template elevation are compared
SILHOUETTE_WEIGHT = 0.3
EXTENT_SIGMA = 0.25    # log-size misfit scale of the box-extent parity cue


def wrap(angle: float | np.ndarray) -> float | np.ndarray:
    """Angle(s) into [−π, π)."""
    if np.ndim(angle):
        return np.mod(np.asarray(angle) + np.pi, 2 * np.pi) - np.pi
    return float((angle + math.pi) % (2 * math.pi) - math.pi)


@dataclass
class ViewMatch:
    """One reading of the crop against one template view."""

    row: int
    mirrored: bool
    azimuth: float        # the camera's azimuth around the asset this reading implies
    global_sim: float
    local: float
    inliers: int
    score: float


def geometric_inliers(q_idx: np.ndarray, t_idx: np.ndarray, grid: int) -> int:
    """Matched patch pairs consistent with one image transform (RANSAC over patch-centre coordinates)."""
    import cv2

    if len(q_idx) < 3:
        return 0
    src = np.stack([q_idx % grid, q_idx // grid], axis=1).astype(np.float32) + 0.5
    dst = np.stack([t_idx % grid, t_idx // grid], axis=1).astype(np.float32) + 0.5
    # A similarity transform (2-point samples) stands in for the homography: template views
    # differ mostly by shift and scale, and its RANSAC needs far fewer iterations.
    _, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_CELLS,
                                         maxIters=200, confidence=0.99, refineIters=0)
    return 0 if inl is None else int(inl.sum())


def silhouette_iou(query_patch: np.ndarray, templates: Any) -> np.ndarray:
    """IoU of the crop's foreground patch grid with each template's [R].

    Shape is the cue that lighting and renderer change least; the crops are normalised the
    same way (square around the mask), so the grids are directly comparable.
    """
    q = np.abs(query_patch).sum(axis=1) > 0
    t = foreground_grid(templates)
    inter = (t & q[None]).sum(axis=1)
    union = np.maximum((t | q[None]).sum(axis=1), 1)
    return inter / union


def score_views(index: TemplateIndex, rows: np.ndarray, q_glob: np.ndarray, q_patch: np.ndarray,
                mirrored: tuple[np.ndarray, np.ndarray] | None = None) -> list[ViewMatch]:
    """Every (view, direct|mirrored) reading, scored by global similarity + geometrically consistent matches."""
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    az = index.view_azimuths(rows)
    templates = index.patches(rows)
    out: list[ViewMatch] = []
    readings = [(False, q_glob, q_patch)] + ([(True, mirrored[0], mirrored[1])] if mirrored is not None else [])
    for is_mirror, g, p in readings:
        mm = mutual_matches(p, templates, keep_pairs=True)
        gs = index.global_sims(g, rows)
        sil = silhouette_iou(p, templates)
        for i, row in enumerate(rows):
            inl = geometric_inliers(mm.query_idx[i], mm.template_idx[i], index.grid)
            n_pairs = max(len(mm.query_idx[i]), 1)
            # Local evidence kept in proportion to the pairs one similarity transform explains.
            local = float(mm.score[i]) * (inl / n_pairs if len(mm.query_idx[i]) >= 3 else 0.5)
            score = float(gs[i]) + local + SILHOUETTE_WEIGHT * float(sil[i])
            azimuth = float(wrap(math.pi - az[i])) if is_mirror else float(az[i])
            if is_mirror:
                score *= MIRROR_PENALTY
            out.append(ViewMatch(int(row), is_mirror, azimuth, float(gs[i]), local, inl, score))
    out.sort(key=lambda v: -v.score)
    return out


def object_direction(camera: Camera, center: np.ndarray | None = None,
                     pixel: tuple[float, float] | None = None) -> np.ndarray:
    """Unit vector (world) from the object towards the camera.

    With a world centre (the 3D box) it points at the camera centre; without, it is the
    reversed viewing ray through ``pixel`` — so an object at the image's edge is read with
    the ray that actually sees it, not the optical axis.
    """
    wfc = np.asarray(camera.world_from_camera, dtype=np.float64)
    if center is not None:
        d = wfc[:3, 3] - np.asarray(center, dtype=np.float64)
    else:
        if pixel is None:
            pixel = (camera.cx, camera.cy)
        ray = np.array([(pixel[0] - camera.cx) / camera.fx, (pixel[1] - camera.cy) / camera.fy, 1.0])
        d = -(wfc[:3, :3] @ ray)
    return d / max(float(np.linalg.norm(d)), 1e-12)


def object_azimuth(camera: Camera, center: np.ndarray | None = None, pixel: tuple[float, float] | None = None) -> float:
    """Azimuth (world, radians) of the direction from the object to the camera."""
    d = object_direction(camera, center, pixel)
    return float(math.atan2(d[1], d[0]))


def pick_views(index: TemplateIndex, rows: np.ndarray, elevation: float, q_glob: np.ndarray,
               m_glob: np.ndarray | None, limit: int) -> np.ndarray:
    """The template views worth a patch comparison: similar elevation, then the best by global similarity.

    Views seen from far above or below the real viewing elevation cannot give the yaw, and a
    library rendered with 162 views must not cost 162 patch comparisons per object.
    """
    rows = np.asarray(rows, dtype=np.int64)
    gap = np.abs(index.view_elevations(rows) - elevation)
    # Relative to the nearest template elevation: a sparse view sphere may have none close.
    near = rows[gap <= gap.min() + ELEVATION_WINDOW] if len(rows) else rows
    if len(near) <= limit:
        return near
    sim = index.global_sims(q_glob, near)
    if m_glob is not None:
        sim = np.maximum(sim, index.global_sims(m_glob, near))
    return near[np.argsort(-sim)[:limit]]


def template_yaw(views: list[ViewMatch], phi_world: float) -> tuple[float, float]:
    """Yaw and confidence from scored readings: soft choice around the best, circular mean of neighbours."""
    if not views:
        return 0.0, 0.0
    scores = np.array([v.score for v in views])
    yaws = np.array([wrap(phi_world - v.azimuth) for v in views])
    w = np.exp((scores - scores.max()) / SOFT_TAU)
    best = yaws[0]
    near = np.abs(wrap(yaws - best)) <= math.radians(60.0)
    yaw = math.atan2(float((w * near * np.sin(yaws)).sum()), float((w * near * np.cos(yaws)).sum()))
    # Confidence: how much of the soft weight agrees (within 30°) with the chosen yaw.
    agree = np.abs(wrap(yaws - yaw)) <= math.radians(30.0)
    conf = float((w * agree).sum() / w.sum())
    return float(wrap(yaw)), float(np.clip(conf, 0.05, 0.99))


def extent_parity(box: Box3D, asset_size: tuple[float, float, float] | None) -> np.ndarray:
    """Weights [4] of the box hypotheses k·90° from how the box's footprint fits the asset's.

    A box yaw turned by an even multiple of 90° lines the box's x up with the asset's width,
    an odd one with its depth; a long sofa therefore rules out half of the four hypotheses,
    a square table none.
    """
    if asset_size is None:
        return np.ones(4)
    bx, by = max(float(box.size[0]), 0.01), max(float(box.size[1]), 0.01)
    ax, ay = max(float(asset_size[0]), 0.01), max(float(asset_size[1]), 0.01)
    even = abs(math.log(bx / ax)) + abs(math.log(by / ay))
    odd = abs(math.log(bx / ay)) + abs(math.log(by / ax))
    w_even, w_odd = math.exp(-(even / EXTENT_SIGMA) ** 2), math.exp(-(odd / EXTENT_SIGMA) ** 2)
    total = w_even + w_odd
    if total < 1e-9:
        return np.ones(4)
    w_even, w_odd = w_even / total, w_odd / total
    return np.array([w_even, w_odd, w_even, w_odd]) * 2.0


def box_hypotheses(box: Box3D, asset_size: tuple[float, float, float] | None = None) -> list[PoseHypothesis]:
    """The box's four upright yaws alone (no template evidence), weighted only by the footprint fit."""
    w = extent_parity(box, asset_size)
    w = w / w.sum()
    hyps = [PoseHypothesis(float(wrap(box.yaw + k * math.pi / 2)), float(w[k]), "box") for k in range(4)]
    return sorted(hyps, key=lambda h: -h.confidence)


def fuse_with_box(yaw_t: float, conf_t: float, box: Box3D | None, small_object_m: float,
                  asset_size: tuple[float, float, float] | None = None) -> list[PoseHypothesis]:
    """Hypotheses, best first: the box yaw (mod 90°) that best fits the template yaw and the footprint, the
    other three, the template's own."""
    hyps: list[PoseHypothesis] = []
    if box is None:
        return [PoseHypothesis(yaw_t, conf_t, "template")]
    box_yaws = np.array([wrap(box.yaw + k * math.pi / 2) for k in range(4)])
    dist = np.abs(wrap(box_yaws - yaw_t))
    prior = np.exp(-0.5 * (dist / BOX_SIGMA) ** 2) * extent_parity(box, asset_size) + 1e-12
    prior = prior / prior.sum()
    small = max(float(box.size[0]), float(box.size[1])) < small_object_m
    order = np.argsort(-prior)
    if small:
        hyps.append(PoseHypothesis(yaw_t, conf_t, "template"))
        for k in order:
            hyps.append(PoseHypothesis(float(box_yaws[k]), float(0.5 * conf_t * prior[k] + 0.5 * (1 - conf_t) / 4), "box"))
    else:
        for rank, k in enumerate(order):
            c = float(conf_t * prior[k] + (1 - conf_t) / 4)
            hyps.append(PoseHypothesis(float(box_yaws[k]), min(c, 0.99), "box+template" if rank == 0 else "box"))
        hyps.append(PoseHypothesis(yaw_t, float(0.5 * conf_t), "template"))
    return sorted(hyps, key=lambda h: -h.confidence)


def estimate_pose(index: TemplateIndex, asset_id: str, camera: Camera, q_glob: np.ndarray, q_patch: np.ndarray,
                  *, box: Box3D | None = None, pixel: tuple[float, float] | None = None,
                  mirrored: tuple[np.ndarray, np.ndarray] | None = None,
                  small_object_m: float = 0.35, max_views: int = 12,
                  asset_size: tuple[float, float, float] | None = None) -> tuple[list[PoseHypothesis], list[ViewMatch]]:
    """Pose hypotheses for ``asset_id`` seen as this crop, and the scored template readings behind them."""
    a = index.position.get(asset_id)
    if a is None or index.row_count[a] == 0:
        return ([] if box is None else box_hypotheses(box, asset_size)), []
    center = None if box is None else np.asarray(box.center, dtype=np.float64)
    d = object_direction(camera, center, pixel)
    phi, elevation = math.atan2(d[1], d[0]), math.atan2(d[2], math.hypot(d[0], d[1]))
    rows = pick_views(index, index.rows_of(np.array([a])), elevation, q_glob,
                      None if mirrored is None else mirrored[0], max_views)
    views = score_views(index, rows, q_glob, q_patch, mirrored)
    yaw_t, conf_t = template_yaw(views, phi)
    return fuse_with_box(yaw_t, conf_t, box, small_object_m, asset_size), views
