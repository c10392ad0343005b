"""The fit stage: each object's top asset fitted to what the camera saw (between match and solve).

``fit_candidates`` reads every object's mask and the depth map of a run folder, back-projects
the object's points (``fit_points``), and fits the asset the solver will use — the top-ranked
one, or the one its group agrees on, so instances match — with ``fit_solve.fit_pose``: position,
yaw and scale inside the asset's scaling strategy, from the template pose and the box's four
upright yaws. The result goes into ``Candidate.fit``::

    {"asset_id", "transform" (4x4 world_from_asset, yaw + translation), "scale" [3],
     "residual_m" (median distance of the observed points to the fitted surface),
     "source": "fit", "yaw_source" (which hypothesis won), "inliers" (fraction within 8 cm)}

An asset as wide every way seen from above (a lamp shade, a pot, a round table:
``symmetry.plan_width_ratio``) shows no direction in a depth map; its fitted pose is turned to the
room's nearest axis about its own centre (``yaw_source`` says so).

The solver starts from that pose; its rules (support, walls, collisions) then act on it.
Objects that cannot be fitted (no mask, too few depth points, no proxy) keep ``fit = None`` and
get a note on the CandidateSet, so a box start is never a silent fallback.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from ..schema import CandidateSet, Observation
from .fit_points import MIN_POINTS, back_project, read_mask
from .fit_solve import FitParams, FitResult, Hypothesis, fit_pose, prepare_surface
from .fit_start import wrap
from .fit_view import FitView, Surface, rot_z, sample_surface
from .symmetry import ROUND_PLAN, plan_width_ratio
from .assets import asset_proxy, catalogue_assets

SURFACE_SAMPLES = 2000
POOR_INLIERS = 0.5   # below this share of points on the fitted surface the fit is kept with a note …
FAILED_INLIERS = 0.2  # … below this it is dropped: the asset does not explain the points (merged masks, wrong asset)


def fit_candidates(observation: Observation, candidates: CandidateSet, catalogue: Any, proxies: Any,
                   depth: np.ndarray | None, run_dir: str | Path, *, params: FitParams | None = None,
                   max_change: float | None = None) -> CandidateSet:
    """A copy of ``candidates`` with ``Candidate.fit`` filled for every object that could be fitted.

    ``depth``: the run's depth map (None: read ``run_dir``/the observation's depth file);
    ``proxies``: a FeatureStore, a mapping asset id → (verts, faces), or None (catalogue boxes).
    """
    from ..config import LayoutSettings

    run_dir = Path(run_dir)
    if depth is None:
        depth = _load_depth(run_dir, observation)
    limit = LayoutSettings().max_scale_change if max_change is None else float(max_change)
    assets = catalogue_assets(catalogue)
    out = copy.deepcopy(candidates)
    view = FitView(observation.camera, depth)
    objects = observation.graph.by_id()
    chosen = _chosen_assets(out, assets, objects)
    surfaces: dict[str, tuple[Surface, bool]] = {}  # per asset: its sampled proxy, and whether it is round in plan
    floor_z = _floor_z(observation)
    for cand in out.candidates:
        obj = objects.get(cand.object_id)
        aid = chosen.get(cand.object_id)
        if obj is None or aid is None or obj.removed:
            continue
        asset = assets[aid]
        mask = _mask(run_dir, obj, depth.shape)
        if mask is None:
            out.notes.append(f"{obj.id}: not fitted (no mask); the solver starts from its box.")
            continue
        points = back_project(mask, depth, observation.camera, planes=observation.planes)
        if len(points) < MIN_POINTS:
            out.notes.append(f"{obj.id}: not fitted ({len(points)} depth points under its mask); "
                             "the solver starts from its box.")
            continue
        if aid not in surfaces:
            verts, faces = asset_proxy(asset, proxies)
            surfaces[aid] = (prepare_surface(sample_surface(verts, faces, SURFACE_SAMPLES), params),
                             plan_width_ratio(verts) < ROUND_PLAN)
        surface, round_plan = surfaces[aid]
        result = fit_pose(points, surface, view, _hypotheses(cand, obj), z=_bottom(obj, points, floor_z),
                          strategy=asset.scaling_strategy, asset_size=np.asarray(asset.size, dtype=float),
                          observed_size=None if obj.box is None else np.asarray(obj.box.size, dtype=float),
                          observed_yaw=None if obj.box is None else float(obj.box.yaw),
                          observed_center=None if obj.box is None else np.asarray(obj.box.center, dtype=float),
                          max_change=limit,
                          mask=mask, params=params)
        if result.inlier_fraction < FAILED_INLIERS:
            out.notes.append(f"{obj.id}: not fitted: the asset {aid} explains only {result.inlier_fraction:.0%} of "
                             "its points (a mask covering more than the object, or another object); "
                             "the solver starts from its box.")
            continue
        yaw_source = result.source
        if round_plan:  # as wide every way: its yaw is not seen; square it with the room, in place
            _square_with_room(result, surface)
            yaw_source = "room axes (round in plan)"
        cand.fit = {"asset_id": aid, "transform": [[float(v) for v in row] for row in result.transform()],
                    "scale": [float(s) for s in result.scale], "residual_m": round(result.residual_m, 4),
                    "source": "fit", "yaw_source": yaw_source, "inliers": round(result.inlier_fraction, 3)}
        if result.inlier_fraction < POOR_INLIERS:
            out.notes.append(f"{obj.id}: the asset {aid} fits its points poorly ({result.inlier_fraction:.0%} "
                             f"within 8 cm, median {result.residual_m * 100:.0f} cm); the pose may be off.")
    return out


def _square_with_room(result: FitResult, surface: Surface) -> None:
    """Turn a fitted pose to the nearest of the room's axes about its footprint's centre.

    Why: an asset as wide every way (a lamp shade, a plant pot, a round table) shows no direction in
    a depth map, so the fit's yaw for it is noise; the room's axes are the one direction it has, and
    the one its box is read and drawn in (its place does not change).
    """
    mid = (surface.lo + surface.hi) / 2 * result.scale
    centre = result.position[:2] + rot_z(result.yaw)[:2, :2] @ mid[:2]
    result.yaw = wrap(round(result.yaw / (math.pi / 2)) * (math.pi / 2))
    result.position = result.position.copy()
    result.position[:2] = centre - rot_z(result.yaw)[:2, :2] @ mid[:2]


def _load_depth(run_dir: Path, observation: Observation) -> np.ndarray:
    """The run's depth map, checked like perception's own cache (size, type, no negative values)."""
    from ..perception.depth_io import load_run_depth

    depth = load_run_depth(run_dir, observation)
    if depth is None:
        raise BadInputError(f"The run folder {run_dir} has no depth map ({observation.depth_path or 'depth.npy'}).",
                            "Run perception first (it writes depth.npy).")
    return depth


def _mask(run_dir: Path, obj: Any, shape: tuple[int, int]) -> np.ndarray | None:
    det = obj.detection
    if det is None or det.mask is None:
        return None
    if "png" in det.mask:
        path = Path(det.mask["png"])
        path = path if path.is_absolute() else run_dir / path
        if not path.is_file():
            return None
        mask = read_mask(path)
    else:
        from ..perception.masks import decode_rle

        mask = decode_rle(det.mask["rle"], shape[0], shape[1], f"{obj.id}.mask")
    return mask if mask.shape == tuple(shape) else None


def _chosen_assets(cands: CandidateSet, assets: Mapping, objects: dict) -> dict[str, str]:
    """The asset the solver will use per object: the first ranked one in the catalogue, or the group's choice.

    Groups take the asset most members ranked first (ties by total score, then id), as
    ``problem.build_problem`` does, so the fitted asset is the placed one.
    """
    chosen: dict[str, str] = {}
    top_score: dict[str, float] = {}
    for c in cands.candidates:
        ranked = [r for r in c.assets if r.asset_id in assets]
        if ranked:
            chosen[c.object_id], top_score[c.object_id] = ranked[0].asset_id, float(ranked[0].score)
    groups: dict[str, list[str]] = {}
    for oid in chosen:
        group = getattr(objects.get(oid), "group", None)
        if group:
            groups.setdefault(group, []).append(oid)
    for members in groups.values():
        votes: dict[str, list[float]] = {}
        for oid in members:
            votes.setdefault(chosen[oid], []).append(top_score[oid])
        best = sorted(votes, key=lambda a: (-len(votes[a]), -sum(votes[a]), a))[0]
        for oid in members:
            chosen[oid] = best
    return chosen


def _hypotheses(cand: Any, obj: Any) -> list[Hypothesis]:
    """The candidate's pose hypotheses plus the box's four upright yaws (low confidence when new)."""
    out = [Hypothesis(float(p.yaw), float(p.confidence), str(p.source)) for p in cand.poses]
    base = float(obj.box.yaw) if obj.box is not None else 0.0
    out += [Hypothesis(base + k * math.pi / 2, 0.05, "box") for k in range(4)]
    return out


def _floor_z(observation: Observation) -> float:
    floor = next((p for p in observation.planes if p.kind == "floor"), None)
    return 0.0 if floor is None else float(floor.offset) / max(float(floor.normal[2]), 1e-9)


def _bottom(obj: Any, points: np.ndarray, floor_z: float) -> float:
    """Height of the asset's bottom: the floor for floor-standing objects, else the box's (or the points') bottom."""
    on_floor = obj.support == "floor" and not obj.hanging_on_wall and not obj.hanging_from_ceiling
    if on_floor:
        return floor_z
    if obj.box is not None:
        return float(obj.box.center[2] - obj.box.size[2] / 2)
    return float(np.percentile(points[:, 2], 1))
