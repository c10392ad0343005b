"""Rotational symmetry of an asset about its vertical axis, read from its collision proxy.

Why: a round lamp or a plain rug looks the same after a turn, so no observer (and no metric)
can tell those yaws apart. Pose benchmarks measure rotation error modulo an object's symmetries;
the yaw metric does the same with the angles found here. A shape whose every height level is a
ring of vertices at one radius (a lathe shape: lamp shades, round tables, vases) is round: every
yaw is equivalent.
"""
from __future__ import annotations

import math

import numpy as np

_PROBES = (math.pi / 2, math.pi, 3 * math.pi / 2)
ROUND_PLAN = 1.1  # a plan whose widest extent is within this factor of its narrowest has no direction to see
_RING_MIN = 12  # vertices on one level needed to call it a ring (a box has 4 corners at one radius)


def symmetry_angles(verts: np.ndarray, tolerance: float = 0.02) -> tuple[float, ...] | None:
    """Turns about Z (radians) that map the proxy onto itself within ``tolerance`` × its size.

    Returns ``None`` for a round shape (any turn), otherwise the quarter-turn multiples found
    (possibly none). Vertices are compared both ways (a symmetric Hausdorff distance).
    """
    pts = np.asarray(verts, dtype=float).reshape(-1, 3)
    if len(pts) < 3:
        return ()
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = float(np.max(hi - lo))
    if size <= 0:
        return ()
    centred = pts - np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, 0.0])
    if _is_lathe(centred, tolerance * float(np.max(hi[:2] - lo[:2]))):
        return None
    return tuple(a for a in _PROBES if _maps_onto_itself(centred, a, tolerance * size))


def symmetric_yaw_error(a: float, b: float, angles: tuple[float, ...] | None) -> float:
    """Smallest |a − b| over the equivalent yaws (radians); 0 for a round shape."""
    if angles is None:
        return 0.0
    best = math.pi
    for turn in (0.0, *angles):
        d = (a - b - turn + math.pi) % (2 * math.pi) - math.pi
        best = min(best, abs(d))
    return best


def _is_lathe(pts: np.ndarray, tol: float) -> bool:
    """Every height level (off the axis) is a ring of at least _RING_MIN vertices at one radius."""
    radius = np.linalg.norm(pts[:, :2], axis=1)
    off_axis = radius > tol
    if not off_axis.any():
        return False
    levels = np.round(pts[off_axis, 2] / max(tol, 1e-6)).astype(np.int64)
    for level in np.unique(levels):
        r = radius[off_axis][levels == level]
        if len(r) < _RING_MIN or r.max() - r.min() > 2 * tol:
            return False
    return True


def _maps_onto_itself(pts: np.ndarray, angle: float, tol: float) -> bool:
    c, s = math.cos(angle), math.sin(angle)
    rotated = pts @ np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    step = 512  # chunks keep the distance matrix small for large proxies
    for src, dst in ((rotated, pts), (pts, rotated)):
        for i in range(0, len(src), step):
            d = np.linalg.norm(src[i:i + step, None, :] - dst[None, :, :], axis=2).min(axis=1)
            if d.max() > tol:
                return False
    return True


def plan_width_ratio(verts: np.ndarray, step_deg: float = 3.0) -> float:
    """Widest over narrowest extent of the proxy seen from above, over all directions (1 for a circle,
    about 1.08 for an octagon, 1.41 for a square).

    Why: a depth map shows an object's direction only through the shape of its plan. A lamp shade or
    a plant pot is as wide every way (even when its proxy is a low-poly lathe that
    :func:`symmetry_angles` does not call round), so which way it was turned cannot be measured —
    the fit's yaw for it is noise.
    """
    xy = np.asarray(verts, dtype=float).reshape(-1, 3)[:, :2]
    if len(xy) < 3:
        return math.inf
    angles = np.radians(np.arange(0.0, 180.0, step_deg))
    proj = xy @ np.stack([np.cos(angles), np.sin(angles)])
    widths = np.ptp(proj, axis=0)
    return float(widths.max() / max(float(widths.min()), 1e-9))
