"""Where the fit of an asset starts: yaw hypotheses, the size to expect, and the first placement.

Kept apart from the solver (:mod:`.fit_solve`) because these are the fit's *assumptions* — which
yaws are worth trying, that a measured extent is a lower bound, where a proxy cut by the frame
may sit — while the solver only minimises the cost it is given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .fit_view import rot_z

START_POINTS = 80         # observed points …
START_SAMPLES = 500       # … and proxy samples used to rank the start placements


@dataclass
class Hypothesis:
    """A yaw to start from, how much to trust it, and where it came from."""

    yaw: float
    confidence: float = 0.5
    source: str = "box"


def prior_scale(asset_size: np.ndarray, observed: np.ndarray | None, strategy: str, max_change: float) -> np.ndarray:
    """Scale per asset axis to expect before the points speak: the catalogue size, or larger where observed.

    An extent measured from depth is a lower bound — the frame cuts objects, nearer things hide
    them, the back is never seen, a side seen edge-on is a sliver — so an observed extent may raise
    the prior but never lower it; the data and free space shrink the asset where they show it is
    smaller. The strategy then ties axes together as the solver does.
    """
    size = np.asarray(asset_size, dtype=float)
    r = np.ones(3)
    if observed is not None:
        obs = np.asarray(observed, dtype=float)
        ok = (obs > 1e-3) & (size > 1e-3)
        r[ok] = np.maximum(1.0, obs[ok] / size[ok])
    if strategy == "ISOTROPIC":
        r = np.full(3, float(np.exp(np.mean(np.log(r)))))
    elif strategy == "RADIAL":
        xy = float(np.sqrt(r[0] * r[1]))
        r = np.array([xy, xy, r[2]])
    limit = max(float(max_change), 1.0)
    return np.clip(r, 1.0 / limit, limit)


def start_pose(problem: Any, yaw: float, scale: np.ndarray) -> tuple[float, np.ndarray]:
    """Start: the best of four (ten for an object cut at the side) placements of the scaled proxy.

    Along the view, the proxy's near face on the nearest observed points (an object seen from the
    front), its far face on the farthest (its near part cut off by the frame or hidden), or its
    middle on their middle; across the view, centred on the points or shifted by half its width
    either way when the frame cuts the object's side; or its footprint centre on perception's box
    centre (amodally completed there). The lowest cost, on a few points, wins —
    a local solver cannot slide a proxy half its length along its own face. Returns (cost, θ).
    """
    log_s = np.log(scale)
    params = np.linalg.lstsq(problem.axes, log_s, rcond=None)[0]
    theta = np.concatenate([[0.0, 0.0, yaw], params])
    world = (problem.s.points * np.exp(problem.log_scale(theta))) @ rot_z(yaw).T
    pts = problem.pts
    fwd = problem.view.horizontal_view_dir(np.median(pts, axis=0))
    side = np.array([-fwd[1], fwd[0]])
    along_o, along_m = pts[:, :2] @ fwd, world[:, :2] @ fwd
    across_m = world[:, :2] @ side
    across = float(np.mean(np.percentile(pts[:, :2] @ side, [3, 97]))) - float((across_m.min() + across_m.max()) / 2)
    half = float(across_m.max() - across_m.min()) / 2
    lo, hi = np.percentile(along_o, [3, 97])
    alongs = [float(lo) - float(along_m.min()), float(hi) - float(along_m.max()),
              float(lo + hi) / 2 - float(along_m.min() + along_m.max()) / 2]
    few, surface = problem.pts, problem.s
    problem.pts, problem.s = few[:: max(1, len(few) // START_POINTS)], surface.coarse(START_SAMPLES)
    best = None
    shifts = (across, across - half, across + half) if problem.mask is None or problem.mask.cut_sideways else (across,)
    places = [fwd * a + side * c for a in alongs for c in shifts]
    if problem.prior.centre is not None:  # and the footprint centre on perception's box centre
        mid = (problem.s.lo + problem.s.hi) / 2 * np.exp(problem.log_scale(theta))
        places.append(problem.prior.centre - (mid @ rot_z(yaw).T)[:2])
    for place in places:
        trial = theta.copy()
        trial[:2] = place
        cost = problem.evaluate(trial, [(problem.params.robust_start_m, 1.0)])["costs"][0]
        if best is None or cost < best[0]:
            best = (cost, trial)
    problem.pts, problem.s = few, surface
    return best  # type: ignore[return-value]


def observed_in_asset_axes(size: np.ndarray | None, box_yaw: float | None, yaw: float) -> np.ndarray | None:
    """The box size along the asset's axes (x and y swap when the asset is turned a quarter from the box)."""
    if size is None:
        return None
    sx, sy, sz = (float(v) for v in size)
    quarter = round(wrap(yaw - (box_yaw or 0.0)) / (math.pi / 2)) % 2
    return np.array([sy, sx, sz] if quarter else [sx, sy, sz])


def dedupe(hypotheses: list[Hypothesis], tol: float = math.radians(8.0)) -> list[Hypothesis]:
    """Hypotheses closer than ``tol`` merge into the most confident one."""
    out: list[Hypothesis] = []
    for h in sorted(hypotheses, key=lambda h: -h.confidence):
        if all(abs(wrap(h.yaw - o.yaw)) > tol for o in out):
            out.append(h)
    return out


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi
