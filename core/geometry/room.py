"""The room from a metric depth map: floor, up to four walls, the ceiling, a Manhattan world frame.

Why this order: the floor fixes "up" (gravity) and the camera height, which every later step
needs; walls are then searched only among planes perpendicular to the floor, and a candidate
is kept only when few points lie *behind* it (a real wall bounds the room, while a wardrobe
front or a table edge has room behind it). Walls are snapped to the dominant pair of
orthogonal directions (a Manhattan frame), because rooms are built that way and small depth
errors otherwise show up as skewed walls. The world frame follows :mod:`core.schema`: floor
z = 0, Z up, origin below the camera, +Y the Manhattan axis closest to the viewing direction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..schema import Plane
from .camera import Intrinsics, back_project
from .planes import PlaneFit, ransac_plane

UP_CAMERA = np.array([0.0, -1.0, 0.0])  # image "up" in OpenCV camera axes (y down)
ASSUMED_HEIGHT_M = 1.5


@dataclass
class RoomEstimate:
    """What :func:`estimate_room` found. ``label_map`` marks plane pixels (-1 none, 0 floor, 1 ceiling, 2+ walls)."""

    world_from_camera: np.ndarray
    planes: list[Plane]
    camera_height: float
    floor_source: str
    label_map: np.ndarray
    stride: int
    notes: list[str] = field(default_factory=list)

    @property
    def walls(self) -> list[Plane]:
        return [p for p in self.planes if p.kind == "wall"]

    def plane(self, ident: str) -> Plane | None:
        return next((p for p in self.planes if p.id == ident), None)


def to_world(points: np.ndarray, world_from_camera: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform to (..., 3) points."""
    r, t = world_from_camera[:3, :3], world_from_camera[:3, 3]
    return points @ r.T.astype(points.dtype) + t.astype(points.dtype)


def estimate_room(depth: np.ndarray, k: Intrinsics, *, floor_mask: np.ndarray | None = None,
                  exclude_mask: np.ndarray | None = None, max_points: int = 40000, max_walls: int = 4,
                  manhattan_snap_deg: float = 20.0, seed: int = 0) -> RoomEstimate:
    """Fit the room's planes and the camera pose; ``floor_mask`` marks floor/rug/carpet pixels if known.

    ``exclude_mask`` (object pixels) keeps furniture out of the wall and ceiling search.
    """
    rng = np.random.default_rng(seed)
    h, w = depth.shape
    stride = max(1, int(math.floor(math.sqrt(h * w / max_points))))
    pts_img = back_project(depth, k, stride)
    hs, ws = pts_img.shape[:2]
    z = pts_img[..., 2]
    valid = np.isfinite(z) & (z > 1e-3)
    notes: list[str] = []
    label_map = np.full((hs, ws), -1, dtype=np.int8)
    if valid.sum() < 100:
        notes.append("depth map has almost no valid pixels; assumed a level camera 1.5 m above the floor")
        return _level_fallback(label_map, stride, notes)
    flat_valid = valid.ravel()
    pts = pts_img.reshape(-1, 3)[flat_valid]
    rows = np.repeat(np.arange(hs), ws)[flat_valid]
    thr = float(max(0.02, 0.012 * np.median(pts[:, 2])))
    min_plane = max(60, int(0.02 * len(pts)))

    def sub(mask: np.ndarray | None) -> np.ndarray:
        if mask is None:
            return np.zeros(len(pts), bool)
        return np.asarray(mask, bool)[::stride, ::stride][:hs, :ws].ravel()[flat_valid]

    # Floor: labelled pixels first, else the lowest dominant upward plane in the lower image.
    up_ok = lambda n: np.abs(n @ UP_CAMERA) > math.cos(math.radians(55))  # noqa: E731
    floor, floor_source = None, "none"
    labelled = sub(floor_mask)
    if labelled.sum() >= 100:
        fit = ransac_plane(pts[labelled], thr, rng=rng, accept=up_ok, min_inliers=50)
        if fit is not None:
            floor, floor_source = _full_inliers(fit, pts, thr), "labelled floor pixels"
    if floor is None:
        pool = (rows >= 0.5 * hs) & ~sub(exclude_mask)
        for _ in range(3):  # a table top can dominate the lower image: require few points below
            fit = ransac_plane(pts[pool], thr, rng=rng, accept=up_ok, min_inliers=min_plane // 2)
            if fit is None:
                break
            fit = _orient_towards_origin(_full_inliers(fit, pts, thr))
            if np.mean(fit.signed_distance(pts) < -4 * thr) < 0.03:
                floor, floor_source = fit, "dominant upward plane in the lower image"
                break
            pool &= ~fit.inliers
    if floor is None:
        notes.append("no floor plane found; assumed a level camera 1.5 m above the floor")
        return _level_fallback(label_map, stride, notes)
    floor = _orient_towards_origin(floor)
    up = floor.normal  # camera frame; the camera is on its positive side
    floor = PlaneFit(up, float(np.median(pts[floor.inliers] @ up)), floor.inliers)

    used = floor.inliers.copy()
    excluded = sub(exclude_mask)
    walls: list[PlaneFit] = []
    perp_ok = lambda n: np.abs(n @ up) < math.sin(math.radians(15))  # noqa: E731
    pool = ~used & ~excluded & (pts @ up - floor.offset > 3 * thr)
    for _ in range(max_walls + 4):
        if len(walls) >= max_walls or pool.sum() < min_plane:
            break
        fit = ransac_plane(pts[pool], thr, rng=rng, accept=perp_ok, min_inliers=min_plane)
        if fit is None:
            break
        fit = _orient_towards_origin(_full_inliers(fit, pts, thr))
        fit.inliers &= ~used
        behind = np.mean(fit.signed_distance(pts[~excluded]) < -4 * thr) if (~excluded).any() else 0.0
        pool &= ~fit.inliers
        if fit.count < min_plane or behind > 0.03 or any(_same_plane(fit, o, 4 * thr) for o in walls):
            continue
        walls.append(fit)
        used |= fit.inliers

    ceiling = None
    down_ok = lambda n: np.abs(n @ up) > math.cos(math.radians(15))  # noqa: E731
    pool = ~used & ~excluded & (rows < 0.5 * hs) & (pts @ up - floor.offset > 1.0)
    # A ceiling often shows as a thin strip at the top of the frame: accept a quarter of a wall's
    # minimum. The pool is already high above the floor, in the upper image and free of objects,
    # and the plane must face down, so a small strip is safe to trust.
    min_ceiling = max(60, min_plane // 4)
    if pool.sum() >= min_ceiling:
        fit = ransac_plane(pts[pool], thr, rng=rng, accept=down_ok, min_inliers=min_ceiling)
        if fit is not None:
            fit = _orient_towards_origin(_full_inliers(fit, pts, thr))
            fit.inliers &= ~used
            beyond = np.mean(fit.signed_distance(pts) < -4 * thr)
            if fit.normal @ up < 0 and beyond < 0.03 and fit.count >= min_ceiling:
                ceiling = fit

    # Manhattan frame on the floor: +Y is the axis direction closest to the viewing direction.
    forward = _horizontal(np.array([0.0, 0.0, 1.0]), up)
    if forward is None:  # camera looking straight down: use image up as "forward"
        forward = _horizontal(UP_CAMERA, up) if _horizontal(UP_CAMERA, up) is not None else np.array([1.0, 0, 0])
    side = np.cross(up, forward)
    phi = 0.0
    if walls:
        angles = np.array([math.atan2(_horizontal(f.normal, up) @ side, _horizontal(f.normal, up) @ forward)
                           for f in walls])
        weights = np.array([f.count for f in walls], float)
        phi = float(np.angle(np.sum(weights * np.exp(4j * angles)))) / 4.0
    ey = math.cos(phi) * forward + math.sin(phi) * side
    ex = np.cross(ey, up)
    rot = np.stack([ex, ey, up])  # rows: world axes in camera coordinates
    height = -floor.offset
    world_from_camera = np.eye(4)
    world_from_camera[:3, :3] = rot
    world_from_camera[:3, 3] = (0.0, 0.0, height)

    planes = [Plane("floor", "floor", (0.0, 0.0, 1.0), 0.0, _extent(pts[floor.inliers], rot, height))]
    label_flat = np.full(len(pts), -1, np.int8)
    label_flat[floor.inliers] = 0
    axes = [rot[0], rot[1], -rot[0], -rot[1]]
    wall_world = []
    for fit in walls:
        n = _horizontal(fit.normal, up)
        best = max(axes, key=lambda a: float(a @ n))
        if math.degrees(math.acos(min(1.0, float(best @ n)))) <= manhattan_snap_deg:
            n = best
        else:
            notes.append("a wall is more than %.0f° off the Manhattan frame; kept unsnapped" % manhattan_snap_deg)
        d = float(np.median(pts[fit.inliers] @ n))
        nw = rot @ n
        wall_world.append((math.atan2(nw[1], nw[0]), nw, d + float(nw[2] * height), fit))
    for i, (_, nw, dw, fit) in enumerate(sorted(wall_world, key=lambda t: t[0])):
        planes.append(Plane(f"wall_{i}", "wall", tuple(float(c) for c in nw), dw,
                            _extent(pts[fit.inliers], rot, height)))
        label_flat[fit.inliers] = 2 + i
    if ceiling is not None:
        d = float(np.median(pts[ceiling.inliers] @ -up))
        planes.append(Plane("ceiling", "ceiling", (0.0, 0.0, -1.0), d - height,
                            _extent(pts[ceiling.inliers], rot, height)))
        label_flat[ceiling.inliers] = 1
    label_map.reshape(-1)[np.flatnonzero(flat_valid)] = label_flat
    return RoomEstimate(world_from_camera, planes, float(height), floor_source, label_map, stride, notes)


def _full_inliers(fit: PlaneFit, pts: np.ndarray, thr: float) -> PlaneFit:
    """A fit made on a subset, re-evaluated on all points."""
    return PlaneFit(fit.normal, fit.offset, np.abs(pts @ fit.normal - fit.offset) < thr)


def _orient_towards_origin(fit: PlaneFit) -> PlaneFit:
    """Normals point into the room, i.e. towards the camera at the origin: n·0 − d > 0."""
    return fit.flipped() if fit.offset > 0 else fit


def _same_plane(a: PlaneFit, b: PlaneFit, tol: float) -> bool:
    return float(a.normal @ b.normal) > math.cos(math.radians(20)) and abs(a.offset - b.offset) < max(tol, 0.25)


def _horizontal(v: np.ndarray, up: np.ndarray) -> np.ndarray | None:
    h = v - (v @ up) * up
    n = np.linalg.norm(h)
    return None if n < 1e-6 else h / n


def _extent(points: np.ndarray, rot: np.ndarray, height: float) -> list[tuple[float, float, float]]:
    """The visible part of a plane as the 4 corners of its inliers' 1–99 % range, in world coordinates."""
    if len(points) < 4:
        return []
    world = points @ rot.T + np.array([0.0, 0.0, height])
    centre = world.mean(axis=0)
    _, _, vt = np.linalg.svd(world - centre, full_matrices=False)
    a, b = vt[0], vt[1]
    ua, ub = (world - centre) @ a, (world - centre) @ b
    (a0, a1), (b0, b1) = np.percentile(ua, [1, 99]), np.percentile(ub, [1, 99])
    return [tuple(float(c) for c in centre + x * a + y * b) for x, y in ((a0, b0), (a1, b0), (a1, b1), (a0, b1))]


def _level_fallback(label_map: np.ndarray, stride: int, notes: list[str]) -> RoomEstimate:
    # A level camera: camera z (forward) = world +Y, camera x = world +X, camera y (down) = world -Z.
    m = np.eye(4)
    m[:3, :3] = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])
    m[:3, 3] = (0.0, 0.0, ASSUMED_HEIGHT_M)
    planes = [Plane("floor", "floor", (0.0, 0.0, 1.0), 0.0)]
    return RoomEstimate(m, planes, ASSUMED_HEIGHT_M, "assumed", label_map, stride, notes)
