"""Fit an asset's proxy to the points the camera saw: bottom-centre x, y, yaw and scale (pure numpy).

Why: a box measured from a depth map covers only the surfaces the camera saw (a bed seen from
its foot is a thin slab, a wardrobe seen head-on has no depth), so an asset scaled and centred
on that box is too small and too near. The asset's collision proxy knows the rest of the shape;
this module moves, turns and scales it (within the asset's scaling strategy) so that

* **data**: the observed points lie on the proxy's camera-facing surface — a robust
  point-to-surface distance (point-to-plane plus a little point-to-point, Geman–McClure weights
  whose scale shrinks over the iterations, so a start 30 cm off still converges);
* **free space**: no visible part of the proxy stands in front of the observed surface along its
  pixel's ray (the camera saw *through* that place). Such a point is corrected by the smaller of
  two moves: back along the view axis, or sideways onto the object's silhouette — the second is
  what lets a proxy poking out beside the object find its way in, where a depth push cannot;
* **prior**: scales stay near a prior (the observed box with its hidden depth completed by the
  asset's proportions), because the back of an object is never observed.

How: Levenberg–Marquardt with analytic Jacobians (a step is kept only when it lowers the cost),
from every yaw hypothesis (the template pose, the box's four upright yaws) whose start is not far
worse than the best; each gets ``screen_iters`` coarse iterations and the best ``screen_keep`` go on
to the end, then the best few are refined with more points. The free-space weight ramps up over
the iterations so the data term aligns first. The lowest robust cost wins, plus a small cost for
unconfident hypotheses (geometry cannot tell the front of a box-shaped asset from its back) and
``box_weight`` × (1 − footprint IoU with perception's box), which breaks near-ties between a
near-square asset's quarter turns. The bottom's height is given (the solver rests objects on their support anyway).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import Pose, footprint, footprint_iou
from .fit_start import START_SAMPLES, Hypothesis, dedupe, observed_in_asset_axes, prior_scale, start_pose, wrap
from .fit_view import FitView, ObjectMask, Surface, rot_z, visible_mask

STRATEGY_AXES = {  # log-scale parameters → per-axis log-scales (x, y, z)
    "ISOTROPIC": np.array([[1.0], [1.0], [1.0]]),
    "RADIAL": np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
    "ALIGNED_ANISOTROPIC": np.eye(3),
    "SORTED_ANISOTROPIC": np.eye(3),
}
START_GATE = (1.8, 0.3)   # hypotheses whose best start costs more than a * best + b are not solved
FREE_SPACE_HUBER_M = 0.1  # free-space corrections count quadratically up to this, then linearly …
FREE_SPACE_CAP_M = 1.0    # … up to this, then no more: a point seen through a gap or a wrong asset costs a bounded
                          # amount, while a broad violation keeps its full pull


@dataclass
class FitParams:
    """Tuning of the fit; defaults measured on the synthetic benchmark (scripts/bench_synthetic.py)."""

    sigma_m: float = 0.02            # data residual that costs as much as one unit of prior
    robust_start_m: float = 0.25     # Geman–McClure scale of the first iteration …
    robust_end_m: float = 0.04       # … shrinking to this
    point_weight: float = 0.2        # point-to-point share next to point-to-plane (stops sliding on planes)
    free_space_weight: float = 1.0
    free_space_start: float = 0.05   # share of that weight in the first iteration (it ramps up to all)
    free_space_tol_m: float = 0.03   # a proxy point may sit this far in front of the observed surface
    free_space_rel: float = 0.015    # … plus this fraction of its depth (depth noise grows with distance)
    scale_sigma: float = 1.0         # log-scale prior on observed axes (weak: the points decide)
    hidden_sigma: float = 0.15       # log-scale prior on the axis along the view (the unseen depth)
    depth_spread: float = 0.045       # a measured extent along the view counts this share of the distance shorter
    centre_sigma_m: float = 0.3      # footprint-centre prior around the observed box's centre
    hypothesis_weight: float = 0.5   # cost of a hypothesis with confidence c: weight * (1 - c)
    box_weight: float = 1.0          # cost of disagreeing with perception's box: weight * (1 - footprint IoU)
    coarse_points: int = 250
    coarse_samples: int = 1000       # proxy samples while every hypothesis is solved (all of them for the best few)
    coarse_iters: int = 5
    screen_iters: int = 2            # every hypothesis gets this many coarse iterations …
    screen_keep: int = 2             # … and only this many of the best go on with the rest
    fine_points: int = 1000
    fine_iters: int = 5
    keep_best: int = 2               # hypotheses refined with more points …
    keep_ratio: float = 1.5          # … when their cost is within this factor of the best
    max_step_m: float = 0.25
    max_step_rad: float = 0.25
    max_step_log: float = 0.2
    zbuffer_cells: int = 24
    mask_grow_px: int = 3            # the object's mask counts this many pixels wider (detector borders wander)


@dataclass
class FitResult:
    """The fitted pose: bottom-centre position, yaw, per-axis scale; residual is the median point distance."""

    position: np.ndarray
    yaw: float
    scale: np.ndarray
    residual_m: float
    cost: float
    source: str
    inlier_fraction: float
    free_space_violation: float

    def transform(self) -> np.ndarray:
        """world_from_asset without scale (yaw and translation only)."""
        m = np.eye(4)
        m[:3, :3] = rot_z(self.yaw)
        m[:3, 3] = self.position
        return m


@dataclass
class _Prior:
    log_scale: np.ndarray   # per axis (x, y, z)
    sigma: np.ndarray       # per axis
    lo: float
    hi: float
    centre: np.ndarray | None = None  # where perception put the object's footprint centre (x, y)
    centre_sigma: float = 1.0


class _Problem:
    """One object: the proxy under its strategy, the points, the view, the prior; θ = (x, y, yaw, log-scales…)."""

    def __init__(self, surface: Surface, strategy: str, z: float, pts: np.ndarray, view: FitView, prior: _Prior,
                 params: FitParams, mask: ObjectMask | None) -> None:
        self.s, self.z, self.pts, self.view, self.prior, self.params = surface, z, pts, view, prior, params
        self.axes = STRATEGY_AXES.get(strategy, STRATEGY_AXES["ISOTROPIC"])
        self.mask = mask

    def log_scale(self, theta: np.ndarray) -> np.ndarray:
        return self.axes @ theta[3:]

    def jacobian(self, local: np.ndarray, rot: np.ndarray) -> np.ndarray:
        """d world / d θ for scaled local samples: (M, 3, n_params)."""
        jac = np.zeros((len(local), 3, 3 + self.axes.shape[1]))
        jac[:, 0, 0] = 1.0
        jac[:, 1, 1] = 1.0
        rel = local @ rot.T
        jac[:, 0, 2], jac[:, 1, 2] = -rel[:, 1], rel[:, 0]
        jac[:, :, 3:] = (rot[None, :, :] * local[:, None, :]) @ self.axes  # d world / d log-scale of each axis
        return jac

    def evaluate(self, theta: np.ndarray, costs: list[tuple[float, float]],
                 system: tuple[float, float] | None = None) -> dict:
        """Costs at θ for each (robust scale, free-space share) in ``costs``, and the Gauss–Newton system
        (``h``, ``g``) for ``system`` when given — one pass serves LM's acceptance test and its next step."""
        p, view = self.params, self.view
        scale = np.exp(self.log_scale(theta))
        rot = rot_z(theta[2])
        t = np.array([theta[0], theta[1], self.z])
        local = self.s.points * scale
        world = local @ rot.T + t
        u, v, z = view.project(world)
        vis = visible_mask(u, v, z, view.camera.fx, p.zbuffer_cells)
        # data: each point's nearest visible sample (candidates from the asset-frame grid, measured in the world)
        cand = self.s.near_samples(((self.pts - t) @ rot) / scale)
        d2 = ((world[cand] - self.pts[:, None, :]) ** 2).sum(axis=2)
        d2 = np.where(vis[cand], d2, d2 + 1e6)  # the nearest seen candidate; an unseen one only when none is seen
        j = cand[np.arange(len(cand)), np.argmin(d2, axis=1)]
        diff = world[j] - self.pts
        n = (self.s.normals[j] / scale) @ rot.T
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        plane = np.einsum("ij,ij->i", n, diff)
        # point-to-plane plus a little point-to-point: the distance to the surface, not to the nearest sample
        # (that would favour a shrunken proxy, whose samples lie closer together)
        e_sq = plane ** 2 + p.point_weight ** 2 * (diff ** 2).sum(axis=1)
        sig2, n_pts = p.sigma_m ** 2, max(len(self.pts), 1)
        # free space and silhouette: seen samples the camera looked past, or where it saw something else
        vis_idx = np.flatnonzero(vis)
        d_obs = view.observed_depth(u[vis_idx], v[vis_idx])
        known = np.isfinite(d_obs)
        vis_idx, d_obs = vis_idx[known], d_obs[known]
        tol = p.free_space_tol_m + p.free_space_rel * d_obs
        gap = d_obs - tol - z[vis_idx]  # > 0: the camera saw past this point
        if self.mask is not None:
            own, near = self.mask.inside(u[vis_idx], v[vis_idx])
        else:
            own, near = np.ones(len(gap), bool), np.ones(len(gap), bool)
        clash = ~near & (gap <= 0) & (d_obs + tol >= z[vis_idx])  # at its depth the camera saw another thing
        bad = (gap > 0) | clash
        # off the object's own pixels (beside it, or in a gap of it: between a chair's slats) the way back is
        # sideways onto its pixels; on them, the model stands in front of the object's own surface: push back
        outside = ~own
        n_fs = max(len(vis_idx), 1)
        fs = self._corrections(world, u, v, z, vis_idx[bad], np.where(gap[bad] > 0, gap[bad], np.inf), outside[bad])
        fs_raw = float(_huber(np.minimum(fs["size"], FREE_SPACE_CAP_M), FREE_SPACE_HUBER_M).sum()) \
            * p.free_space_weight / n_fs / sig2
        pr = (self.log_scale(theta) - self.prior.log_scale) / self.prior.sigma
        prior_cost = float((pr ** 2).sum())
        mid = None
        if self.prior.centre is not None:  # the footprint centre stays near perception's box where nothing else says
            mid = (self.s.lo + self.s.hi) / 2 * scale
            pc = ((mid @ rot.T)[:2] + t[:2] - self.prior.centre) / self.prior.centre_sigma
            prior_cost += float((pc ** 2).sum())
        out = {"costs": [float((e_sq * r * r / (r * r + e_sq)).sum() / n_pts / sig2) + f * fs_raw + prior_cost
                         for r, f in costs],
               "dist": np.sqrt(e_sq), "fs_violation": float(bad.sum() / n_fs)}
        if system is None:
            return out
        robust, fs_scale = system
        jd = self.jacobian(local[j], rot)
        w = 1.0 / (1.0 + e_sq / robust ** 2) ** 2 / n_pts / sig2
        j_plane = np.einsum("ij,ijk->ik", n, jd)
        h = (j_plane * w[:, None]).T @ j_plane
        g = (j_plane * w[:, None]).T @ plane
        jd_flat = jd.reshape(len(jd) * 3, -1)
        w3 = np.repeat(w, 3) * p.point_weight ** 2
        h += (jd_flat * w3[:, None]).T @ jd_flat
        g += (jd_flat * w3[:, None]).T @ diff.reshape(-1)
        if len(fs["idx"]):
            fw = (p.free_space_weight * fs_scale / n_fs / sig2
                  * np.where(fs["size"] < FREE_SPACE_CAP_M,
                             np.minimum(1.0, FREE_SPACE_HUBER_M / np.maximum(fs["size"], 1e-9)), 0.0))
            jv = np.einsum("ij,ijk->ik", fs["dirs"], self.jacobian(local[fs["idx"]], rot))
            h += (jv * fw[:, None]).T @ jv
            g += (jv * fw[:, None]).T @ fs["res"]
        jp = np.zeros((3, len(theta)))
        jp[:, 3:] = self.axes / self.prior.sigma[:, None]
        h, g = h + jp.T @ jp, g + jp.T @ pr
        if mid is not None:
            jc = self.jacobian(mid[None, :], rot)[0, :2] / self.prior.centre_sigma
            h, g = h + jc.T @ jc, g + jc.T @ pc
        out.update(h=h, g=g)
        return out

    def cost(self, theta: np.ndarray) -> dict:
        """The final cost (smallest robust scale, all of the free space) and the point distances."""
        out = self.evaluate(theta, [(self.params.robust_end_m, 1.0)])
        out["cost"] = out["costs"][0]
        return out

    def _corrections(self, world: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray, idx: np.ndarray,
                     gap: np.ndarray, outside: np.ndarray) -> dict:
        """The smaller correction per offending sample — back along the view axis by its ``gap`` (inf: none),
        or, for a sample off the object's pixels, sideways onto its silhouette (the nearest border pixel
        at the sample's depth) — as a signed length ``res`` along a unit world direction ``dirs``."""
        dirs = np.repeat(self.view.rot[:, 2][None, :], len(idx), axis=0)
        res, size = -gap.copy(), gap.copy()
        side_ok = outside.copy()
        if self.mask is not None and side_ok.any():
            border = self.mask.nearest_border(u[idx[side_ok]], v[idx[side_ok]])
            if border is not None:
                target = self.view.unproject(border[:, 0], border[:, 1], z[idx[side_ok]])
                side = world[idx[side_ok]] - target
                dist = np.linalg.norm(side, axis=1)
                pick = np.flatnonzero(side_ok)[dist < gap[side_ok]]
                use = dist < gap[side_ok]
                dirs[pick] = side[use] / np.maximum(dist[use, None], 1e-12)
                res[pick] = size[pick] = dist[use]
        keep = np.isfinite(size)
        return {"idx": idx[keep], "dirs": dirs[keep], "res": res[keep], "size": size[keep]}

    def solve(self, theta: np.ndarray, iters: int, robust_from: float, first: int = 0,
              last: int | None = None) -> tuple[np.ndarray, dict]:
        """Levenberg–Marquardt; a step is kept only when it lowers the cost at this iteration's scales.

        The robust scale shrinks and the free-space share grows from one iteration to the next; each
        evaluation of a trial gives its cost at this iteration's scales (to accept it) and its system at
        the next iteration's (to take the next step from it), so an accepted step costs one evaluation.
        Returns θ and its cost at the scales of iteration ``last`` (default: all ``iters``, the final
        scales, as :meth:`cost` gives them — a run to the end needs no extra evaluation). ``first`` and
        ``last`` run a part of the schedule, so hypotheses can be screened after a few iterations and
        only the best continued where they stopped.
        """
        last = iters if last is None else last
        p = self.params
        theta = theta.copy()
        shrink = (p.robust_end_m / robust_from) ** (1.0 / max(iters - 1, 1))
        scales = [(max(p.robust_end_m, robust_from * shrink ** k),
                   min(1.0, p.free_space_start + (1 - p.free_space_start) * k / max(iters - 1, 1)))
                  for k in range(iters + 1)]
        limits = np.array([p.max_step_m, p.max_step_m, p.max_step_rad] + [p.max_step_log] * (len(theta) - 3))
        damping = 1e-2
        cur = self.evaluate(theta, [scales[first]], scales[first])
        at = first  # cur's cost is at scales[at]
        for it in range(first, last):
            for _attempt in range(3):
                a = cur["h"] + damping * np.diag(np.diag(cur["h"])) + 1e-9 * np.eye(len(theta))
                try:
                    step = -np.linalg.solve(a, cur["g"])
                except np.linalg.LinAlgError:
                    at = -1
                    break
                step /= max(1.0, float(np.max(np.abs(step) / limits)))
                trial = theta + step
                trial[3:] = np.clip(trial[3:], self.prior.lo, self.prior.hi)
                new = self.evaluate(trial, [scales[it], scales[it + 1]], scales[it + 1])
                if new["costs"][0] <= cur["costs"][0]:
                    theta, cur = trial, new
                    cur["costs"], at = cur["costs"][1:], it + 1
                    damping = max(damping / 3, 1e-4)
                    break
                damping *= 10
            else:  # no step helped at these scales: go on from θ at the next ones
                cur, at = self.evaluate(theta, [scales[it + 1]], scales[it + 1]), it + 1
            if at < 0 or float(np.max(np.abs(step) / limits)) < 1e-3:
                break
        if at != last:  # stopped early: the cost at the scales asked for
            cur = self.evaluate(theta, [scales[last]])
        cur["cost"] = cur["costs"][0]
        return theta, cur


def _box_footprint(center: np.ndarray, size: np.ndarray, yaw: float) -> np.ndarray:
    half = size / 2
    return footprint(Pose(np.array([center[0], center[1], 0.0]), yaw), -half, half)


def prepare_surface(surface: Surface, params: FitParams | None = None) -> Surface:
    """Build the lookup grids of every level of detail the fit uses, once per asset (not inside the first fit)."""
    params = params or FitParams()
    coarse = surface.coarse(params.coarse_samples)  # the levels fit_pose and fit_start.start_pose use
    for level in (surface, coarse, coarse.coarse(START_SAMPLES)):
        level.near_samples(np.zeros((1, 3)))
    return surface


def _huber(e: np.ndarray, delta: float) -> np.ndarray:
    return np.where(e < delta, e ** 2, delta * (2 * e - delta))


def fit_pose(points: np.ndarray, surface: Surface, view: FitView, hypotheses: list[Hypothesis], *, z: float,
             strategy: str, asset_size: np.ndarray, observed_size: np.ndarray | None = None,
             observed_yaw: float | None = None, observed_center: np.ndarray | None = None, max_change: float = 1.5,
             mask: np.ndarray | None = None, params: FitParams | None = None) -> FitResult:
    """The best pose of ``surface`` for ``points`` (world, N×3) over the hypotheses.

    ``observed_size`` (world box size along the box's axes, yaw ``observed_yaw``) gives the scale
    prior; without it the catalogue size is the prior. ``z`` is the height of the asset's bottom.
    ``observed_center`` (the box's centre) holds the footprint centre where the points leave it free
    (an object cut by the frame or hidden behind another slides along the view otherwise).
    ``mask`` (the object's pixels in ``view``) lets free space push the proxy sideways onto it.
    """
    params = params or FitParams()
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 3:
        raise ValueError("fewer than 3 observed points")
    if not hypotheses:
        raise ValueError("no yaw hypothesis to start from")
    rng = np.random.default_rng(0)
    coarse = pts[rng.choice(len(pts), params.coarse_points, replace=False)] if len(pts) > params.coarse_points else pts
    fine = pts[rng.choice(len(pts), params.fine_points, replace=False)] if len(pts) > params.fine_points else pts
    sil = ObjectMask(mask, view, grow_px=params.mask_grow_px) if mask is not None else None
    limit = math.log(max(float(max_change), 1.0))
    fwd = view.horizontal_view_dir(np.median(pts, axis=0))
    begun = []
    distance = float(np.median(view.project(pts)[2]))
    for hyp in dedupe(hypotheses):
        deep = int(np.argmax(np.abs(rot_z(hyp.yaw)[:2, :2].T @ fwd)))  # the asset axis nearest the view
        observed = observed_in_asset_axes(observed_size, observed_yaw, hyp.yaw)
        if observed is not None:
            # an extent along the view is a difference of two noisy depths: it comes out longer than it is
            observed = observed.copy()
            observed[deep] = max(observed[deep] - params.depth_spread * distance, 0.0)
        prior_s = prior_scale(asset_size, observed, strategy, max_change)
        sigma = np.full(3, params.scale_sigma)
        if strategy in ("ALIGNED_ANISOTROPIC", "SORTED_ANISOTROPIC"):  # the hidden axis scales on its own
            sigma[deep] = params.hidden_sigma
        prior = _Prior(np.log(prior_s), sigma, -limit, limit,
                       None if observed_center is None else np.asarray(observed_center, dtype=float)[:2],
                       params.centre_sigma_m)
        problem = _Problem(surface.coarse(params.coarse_samples), strategy, z, coarse, view, prior, params, sil)
        cost, theta = start_pose(problem, hyp.yaw, prior_s)
        begun.append((cost, theta, problem, hyp))
    gate = START_GATE[0] * min(b[0] for b in begun) + START_GATE[1]
    box = None if observed_size is None or observed_center is None else \
        _box_footprint(np.asarray(observed_center, dtype=float), np.asarray(observed_size, dtype=float),
                       float(observed_yaw or 0.0))

    def extra(theta: np.ndarray, problem: _Problem, hyp: Hypothesis) -> float:
        """What geometry cannot tell apart: the hypothesis's confidence, and agreement with perception's box
        (a near-square asset fits a front face turned either way; the box, completed by the class's
        proportions, knows which way the object runs)."""
        out = params.hypothesis_weight * (1.0 - hyp.confidence)
        if box is not None:
            pose = Pose(np.array([theta[0], theta[1], z]), float(theta[2]), np.exp(problem.log_scale(theta)))
            out += params.box_weight * (1.0 - footprint_iou(footprint(pose, surface.lo, surface.hi), box))
        return out

    screened = []
    for cost, theta, problem, hyp in begun:
        if cost > gate:
            continue
        theta, done = problem.solve(theta, params.coarse_iters, params.robust_start_m, last=params.screen_iters)
        screened.append((done["cost"] + extra(theta, problem, hyp), theta, problem, hyp))
    screened.sort(key=lambda s: s[0])
    starts = []
    for _, theta, problem, hyp in screened[:max(1, params.screen_keep)]:  # the rest of the schedule, best only
        theta, done = problem.solve(theta, params.coarse_iters, params.robust_start_m, first=params.screen_iters)
        starts.append((done["cost"] + extra(theta, problem, hyp), theta, problem, hyp))
    starts.sort(key=lambda s: s[0])
    best = None
    cut = params.keep_ratio * starts[0][0] + 0.1
    for _, theta, problem, hyp in [s for s in starts[:max(1, params.keep_best)] if s[0] <= cut]:
        problem.pts, problem.s = fine, surface
        theta, t = problem.solve(theta, params.fine_iters, 2 * params.robust_end_m)
        total = t["cost"] + extra(theta, problem, hyp)
        if best is None or total < best[0]:
            best = (total, theta, t, hyp, problem)
    assert best is not None
    total, theta, t, hyp, problem = best
    return FitResult(position=np.array([theta[0], theta[1], z]), yaw=wrap(float(theta[2])),
                     scale=np.exp(problem.log_scale(theta)), residual_m=float(np.median(t["dist"])),
                     cost=float(total), source=hyp.source,
                     inlier_fraction=float(np.mean(t["dist"] < 2 * params.robust_end_m)),
                     free_space_violation=t["fs_violation"])
