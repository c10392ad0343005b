"""Layout metrics, one small function each, SceneEval-style, plus comparisons with a ground truth.

Plausibility (need only the layout and the assets' proxies):
``colliding_pairs`` (penetration deeper than ``collision_margin_m``), ``objects_inside_others``,
``floating_objects`` (gap to the support above ``float_tolerance_m``), ``objects_outside_room``,
``wall_distance_m`` / ``wall_angle_deg`` (how far against-wall objects are from flush and parallel).

Against a ground-truth Layout (matched by object id; a missing object scores 0 / counts as wrong):
``iou_3d`` (upright boxes), ``centre_error_m``, ``yaw_error_deg``, ``asset_accuracy``, ``class_accuracy``.

Parent–child pairs of the ``in`` relation are exempt from collision and containment: a book is
inside its shelf's proxy by design.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..config import LayoutSettings
from ..schema import Layout, Relation
from .collision import BvhCollisionWorld
from .geometry import Pose, clip_convex, footprint, polygon_area, wrap_angle
from .assets import catalogue_assets
from .problem import LayoutProblem, problem_from_layout
from .state import SolveState
from .symmetry import symmetric_yaw_error, symmetry_angles
from .walls import facing_yaw, parallel_yaw, wall_gap

MIN_EXTENT_M = 0.05  # thinner boxes count this thick when scored against a ground truth (see upright_box)


@dataclass
class MetricContext:
    """A layout made queryable: poses, proxies and a collision world at the metric margin."""

    layout: Layout
    state: SolveState
    settings: LayoutSettings
    assets: dict

    def exempt(self, a: str, b: str) -> bool:
        items = self.state.items
        return ((items[a].parent == b and items[a].relation == Relation.IN)
                or (items[b].parent == a and items[b].relation == Relation.IN))


def context(layout: Layout, source: Any, settings: LayoutSettings | None = None) -> MetricContext:
    """``source``: the LayoutProblem (its catalogue and proxies) or a catalogue (box proxies)."""
    if isinstance(source, LayoutProblem):
        assets, proxies, settings = source.catalogue, source.proxies, settings or source.settings
    else:
        assets, proxies = catalogue_assets(source), None
    settings = settings or LayoutSettings()
    problem = problem_from_layout(layout, assets, proxies, settings)
    state = SolveState(problem, BvhCollisionWorld(settings.collision_margin_m))
    for item in problem.items:
        state.poses[item.id] = item.initial.copy()  # type: ignore[union-attr]
        state.sync(item.id)
    return MetricContext(layout, state, settings, assets)


# -- plausibility ------------------------------------------------------------------------------------------
def colliding_pairs(ctx: MetricContext) -> int:
    return len(ctx.state.world.colliding_pairs(skip=ctx.exempt))


def objects_inside_others(ctx: MetricContext) -> int:
    ids = sorted(ctx.state.items)
    world = ctx.state.world
    inside = {b for a in ids for b in ids if a != b and not ctx.exempt(a, b) and world.contains(a, b)}
    return len(inside)


def support_gap(ctx: MetricContext, oid: str) -> float | None:
    """Distance between an object and what holds it (None where the relation has no single support).

    Negative means sunk into the support (that is a collision, not floating). ``in`` children are not
    measured: they stand in a space of the parent, not on a surface the proxy shows.
    """
    state = ctx.state
    item, pose = state.items[oid], state.poses[oid]
    bottom = float(state.world_verts(oid)[:, 2].min())
    on_floor = item.relation == Relation.ON and item.parent == "floor"
    if item.relation in (Relation.FLOOR, Relation.AGAINST_WALL) or on_floor:
        return bottom - state.floor_z
    if item.relation == Relation.ON and item.parent in state.items:
        corners = footprint(pose, item.lo, item.hi)
        middle = corners.mean(axis=0)
        points = np.vstack([middle[None, :], middle + (corners - middle) * 0.8])
        top = state.world.bounds(item.parent)[1][2] + 0.05  # from above the support, as the solver rests things
        hits = [h for h in state.world.surface_below(item.parent, points, top) if h is not None]
        return bottom - max(hits) if hits else math.inf
    if item.relation == Relation.WALL_HUNG and item.parent in state.walls:
        return wall_gap(state, oid, state.walls[item.parent])
    if item.relation == Relation.CEILING_HUNG and state.ceiling_z is not None:
        return state.ceiling_z - float(state.world_verts(oid)[:, 2].max())
    return None


def floating_objects(ctx: MetricContext) -> int:
    gaps = [support_gap(ctx, oid) for oid in sorted(ctx.state.items)]
    return sum(1 for g in gaps if g is not None and g > ctx.settings.float_tolerance_m)


def objects_outside_room(ctx: MetricContext) -> int:
    """Objects poking through a wall, the floor or the ceiling by more than the collision margin."""
    state, count = ctx.state, 0
    planes = list(state.problem.planes)
    for oid in sorted(state.items):
        verts = state.world_verts(oid)
        if any(float(np.min(verts @ np.asarray(p.normal)) - p.offset) < -ctx.settings.collision_margin_m for p in planes):
            count += 1
    return count


def _wall_items(ctx: MetricContext) -> list[tuple[str, Any]]:
    state = ctx.state
    return [(oid, state.walls[w]) for oid in sorted(state.items) for w in state.items[oid].walls if w in state.walls]


def wall_distance_m(ctx: MetricContext) -> float:
    """Mean |gap| between against-wall objects and their walls (0 = flush)."""
    pairs = _wall_items(ctx)
    return float(np.mean([abs(wall_gap(ctx.state, oid, w)) for oid, w in pairs])) if pairs else 0.0


def wall_angle_deg(ctx: MetricContext) -> float:
    """Mean turn away from the wall: from facing its normal where the asset asks, else from parallel."""
    pairs = _wall_items(ctx)
    errors = []
    for oid, wall in pairs:
        item, yaw = ctx.state.items[oid], ctx.state.poses[oid].yaw
        target = facing_yaw(wall) if (item.asset.align_to_wall_normal or item.relation == Relation.WALL_HUNG) \
            else parallel_yaw(yaw, wall)
        errors.append(abs(math.degrees(wrap_angle(yaw - target))))
    return float(np.mean(errors)) if errors else 0.0


# -- against a ground truth --------------------------------------------------------------------------------
def upright_box(ctx: MetricContext, oid: str) -> tuple[np.ndarray, float, float]:
    """Footprint and z range of a placed object, as 3D IoU scores it.

    Along any axis where the box is thinner than ``MIN_EXTENT_M`` (a rug, a picture) it counts as
    that thick, about its middle. Why: the reconstruction's floor and walls are estimates good to a
    centimetre or two, so a 1 cm thick rug lying a centimetre above the true floor scored 0 — its
    IoU measured the floor estimate, not where the rug lies and how large it is. Both boxes of a
    comparison are treated alike.
    """
    item, pose = ctx.state.items[oid], ctx.state.poses[oid]
    lo, hi = item.lo * pose.scale, item.hi * pose.scale
    mid = (lo + hi) / 2
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    centre = pose.position + np.array([c * mid[0] - s * mid[1], s * mid[0] + c * mid[1], mid[2]])
    return scored_box(centre, hi - lo, pose.yaw)


def scored_box(centre: Sequence[float], size: Sequence[float], yaw: float) -> tuple[np.ndarray, float, float]:
    """An upright box (centre, size, yaw) as 3D IoU scores it: footprint and z range, every axis at least
    ``MIN_EXTENT_M`` thick (see :func:`upright_box`); for boxes read from a file (``Placement.box``, a dataset)."""
    centre = np.asarray(centre, dtype=float)
    half = np.maximum(np.asarray(size, dtype=float) / 2, MIN_EXTENT_M / 2)
    poly = footprint(Pose(np.array([centre[0], centre[1], 0.0]), yaw, np.ones(3)), -half, half)
    return poly, float(centre[2] - half[2]), float(centre[2] + half[2])


def box_iou(a: tuple[np.ndarray, float, float], b: tuple[np.ndarray, float, float]) -> float:
    """3D IoU of two upright boxes given as (footprint polygon, z_min, z_max)."""
    dz = min(a[2], b[2]) - max(a[1], b[1])
    if dz <= 0:
        return 0.0
    inter = polygon_area(clip_convex(a[0], b[0])) * dz
    va, vb = polygon_area(a[0]) * (a[2] - a[1]), polygon_area(b[0]) * (b[2] - b[1])
    union = va + vb - inter
    return float(inter / union) if union > 1e-12 else 0.0


def iou_3d(ctx: MetricContext, gt: MetricContext) -> float:
    ids = sorted(gt.state.items)
    if not ids:
        return 1.0
    return float(np.mean([box_iou(upright_box(ctx, i), upright_box(gt, i)) if i in ctx.state.items else 0.0
                          for i in ids]))


def _centre(ctx: MetricContext, oid: str) -> np.ndarray:
    poly, z0, z1 = upright_box(ctx, oid)
    return np.array([*poly.mean(axis=0), (z0 + z1) / 2])


def centre_error_m(ctx: MetricContext, gt: MetricContext) -> float:
    ids = [i for i in sorted(gt.state.items) if i in ctx.state.items]
    return float(np.mean([np.linalg.norm(_centre(ctx, i) - _centre(gt, i)) for i in ids])) if ids else math.nan


def yaw_error_deg(ctx: MetricContext, gt: MetricContext) -> float:
    """Mean yaw error modulo each ground-truth asset's rotational symmetry (a round lamp has none to get wrong)."""
    ids = [i for i in sorted(gt.state.items) if i in ctx.state.items]
    errs = [math.degrees(symmetric_yaw_error(ctx.state.poses[i].yaw, gt.state.poses[i].yaw,
                                             symmetry_angles(gt.state.items[i].verts))) for i in ids]
    return float(np.mean(errs)) if errs else math.nan


def asset_accuracy(ctx: MetricContext, gt: MetricContext) -> float:
    ids = sorted(gt.state.items)
    ok = [i in ctx.state.items and ctx.state.items[i].asset.id == gt.state.items[i].asset.id for i in ids]
    return float(np.mean(ok)) if ids else 1.0


def class_accuracy(ctx: MetricContext, gt: MetricContext) -> float:
    ids = sorted(gt.state.items)
    ok = [i in ctx.state.items and ctx.state.items[i].asset.class_name == gt.state.items[i].asset.class_name
          for i in ids]
    return float(np.mean(ok)) if ids else 1.0


METRICS: dict[str, Callable[[MetricContext], float | int]] = {
    "colliding_pairs": colliding_pairs,
    "objects_inside_others": objects_inside_others,
    "floating_objects": floating_objects,
    "objects_outside_room": objects_outside_room,
    "wall_distance_m": wall_distance_m,
    "wall_angle_deg": wall_angle_deg,
}
GT_METRICS: dict[str, Callable[[MetricContext, MetricContext], float]] = {
    "iou_3d": iou_3d,
    "centre_error_m": centre_error_m,
    "yaw_error_deg": yaw_error_deg,
    "asset_accuracy": asset_accuracy,
    "class_accuracy": class_accuracy,
}


def evaluate(layout: Layout, source: Any, gt_layout: Layout | None = None, *,
             settings: LayoutSettings | None = None, gt_source: Any = None) -> dict[str, float | int]:
    """Every metric of the registries for ``layout`` (and against ``gt_layout`` when given).

    ``source``/``gt_source``: a LayoutProblem or a catalogue (``gt_source`` defaults to ``source``).
    """
    ctx = context(layout, source, settings)
    out: dict[str, float | int] = {"objects": len(layout.placements)}
    out.update({name: fn(ctx) for name, fn in METRICS.items()})
    if gt_layout is not None:
        gt = context(gt_layout, gt_source if gt_source is not None else source, settings)
        out.update({name: fn(ctx, gt) for name, fn in GT_METRICS.items()})
    return out

