"""The ceiling among the points of a depth map, or None: a plane facing down that could only be one.

Kept apart from :mod:`.room` (floor, walls, the Manhattan frame) because every test here answers one
question — is this plane facing down the room's ceiling, or something that looks like it: the top
rows of a tilted photo's back wall, or the underside of a shelf, a cabinet or a loft. Pure numpy.
"""
from __future__ import annotations

import math

import numpy as np

from .planes import PlaneFit, full_inliers, ransac_plane, towards_origin

MIN_CEILING_HEIGHT_M = 2.0  # rooms are taller; a surface facing down lower than this is the underside of something
MIN_CEILING_SPREAD_M = 0.3  # a ceiling, seen from above, is at least this wide across its longest direction
SEARCH_ABOVE_M = 1.0  # only points this high above the floor are searched


def find_ceiling(pts: np.ndarray, pool: np.ndarray, used: np.ndarray, up: np.ndarray, floor_offset: float,
                 thr: float, min_plane: int, rng: np.random.Generator, notes: list[str]) -> PlaneFit | None:
    """The ceiling plane among ``pts`` (camera frame), searched in ``pool`` (upper image, free of objects).

    ``used``: points already taken by the floor and walls; ``floor_offset``: the floor plane's offset
    (a point's height above the floor is ``pts @ up - floor_offset``); ``min_plane``: a wall's
    minimum inlier count. A surface refused for being too low is said in ``notes``.
    """
    pool = pool & (pts @ up - floor_offset > SEARCH_ABOVE_M)
    # A ceiling often shows as a thin strip at the top of the frame: accept a quarter of a wall's
    # minimum. The pool is already high above the floor, in the upper image and free of objects,
    # and the plane must face down, so a small strip is safe to trust.
    min_ceiling = max(60, min_plane // 4)
    if pool.sum() < min_ceiling:
        return None
    down_ok = lambda n: np.abs(n @ up) > math.cos(math.radians(15))  # noqa: E731
    fit = ransac_plane(pts[pool], thr, rng=rng, accept=down_ok, min_inliers=min_ceiling)
    if fit is None:
        return None
    fit = towards_origin(full_inliers(fit, pts, thr))
    fit.inliers &= ~used
    beyond = np.mean(fit.signed_distance(pts) < -4 * thr)
    if not (fit.normal @ up < 0 and beyond < 0.03 and fit.count >= min_ceiling
            and _spread_across(pts[fit.inliers], up) >= MIN_CEILING_SPREAD_M):
        return None
    high = float(np.median(pts[fit.inliers] @ up)) - floor_offset
    if high < MIN_CEILING_HEIGHT_M:
        notes.append(f"a surface facing down {high:.2f} m above the floor is not taken for the ceiling "
                     f"(rooms are at least {MIN_CEILING_HEIGHT_M:.1f} m tall): probably the underside of "
                     "a shelf, a cabinet or a loft")
        return None
    return fit


def _spread_across(points: np.ndarray, up: np.ndarray) -> float:
    """How wide a set of points is, seen from above, across its longest direction (5–95 % range, metres).

    Why: the top rows of a tilted photo that sees no ceiling fall on the back wall along a slanted
    line, and a plane through that line tilted towards the horizontal fits them as well as a ceiling
    would. A ceiling, even a thin strip of it at the frame's top, recedes from the camera and so
    spreads in both horizontal directions; a line of wall pixels does not.
    """
    if len(points) < 3:
        return 0.0
    flat = points - np.outer(points @ up, up)
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat[:: max(1, len(flat) // 2000)], full_matrices=False)
    across = flat @ vt[1]
    lo, hi = np.percentile(across, [5, 95])
    return float(hi - lo)
