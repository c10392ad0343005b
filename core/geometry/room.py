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
from typing import Sequence

import numpy as np

from ..schema import Plane
from .camera import Intrinsics, back_project
from .ceiling import find_ceiling
from .planes import PlaneFit, full_inliers, ransac_plane, towards_origin

UP_CAMERA = np.array([0.0, -1.0, 0.0])  # image "up" in OpenCV camera axes (y down)
ASSUMED_HEIGHT_M = 1.5
CAMERA_HEIGHT_RANGE_M = (0.3, 3.0)  # hand-held, tripod or on a shelf: anything else means wrong depth units
WALL_MIN_TOP_M = 1.4   # a wall reaches above the furniture in front of it (or out of the frame)
WALL_BEHIND_MAX = 0.05  # a wall bounds the room: at most this share of the points seen across it lie behind it
NORMALS_MAX_POINTS = 15000
FLOOR_BELOW_MAX = 0.03  # the floor: at most this share of all points lie below it
WALL_MIN_WIDTH_M = 2.5  # narrower planes with room behind their ends are furniture faces, wider ones walls
WALL_IN_ONE_BOX = 0.6  # a plane this much inside one detection's box is that object's face


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
                  manhattan_snap_deg: float = 20.0, seed: int = 0,
                  object_boxes: Sequence[tuple[str, Sequence[float]]] | None = None) -> RoomEstimate:
    """Fit the room's planes and the camera pose; ``floor_mask`` marks floor/rug/carpet pixels if known.

    ``exclude_mask`` (object pixels) keeps furniture out of the wall and ceiling search.
    ``object_boxes`` — ``(label, (x0, y0, x1, y1))`` of the detections — lets the wall test reject a
    plane that is the front of a detected piece of furniture even when no masks exist yet.
    """
    rng = np.random.default_rng(seed)
    h, w = depth.shape
    n_valid = int(np.count_nonzero(np.isfinite(depth) & (depth > 1e-3)))
    stride = max(1, int(math.floor(math.sqrt(max(n_valid, 1) / max_points))))  # sparse depth keeps every pixel
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

    # Floor: labelled pixels first, else the lowest large upward plane with (almost) nothing below it.
    up_ok = lambda n: np.abs(n @ UP_CAMERA) > math.cos(math.radians(55))  # noqa: E731
    floor, floor_source = None, "none"
    labelled = sub(floor_mask)
    if labelled.sum() >= 100:
        fit = ransac_plane(pts[labelled], thr, rng=rng, accept=up_ok, min_inliers=50)
        if fit is not None:
            floor, floor_source = full_inliers(fit, pts, thr), "labelled floor pixels"
    if floor is None:
        floor = _floor_by_normals(pts, thr)
        floor_source = "lowest large horizontal surface"
    if floor is None:
        floor = _lowest_upward_plane(pts, ~sub(exclude_mask), thr, rng, up_ok, max(60, int(0.01 * len(pts))))
        floor_source = "lowest large upward plane"
    if floor is None:
        notes.append("no floor plane found; assumed a level camera 1.5 m above the floor")
        return _level_fallback(label_map, stride, notes)
    floor = towards_origin(floor)
    up = floor.normal  # camera frame; the camera is on its positive side
    floor = PlaneFit(up, float(np.median(pts[floor.inliers] @ up)), floor.inliers)
    notes.extend(_camera_height_notes(-floor.offset))

    used = floor.inliers.copy()
    excluded = sub(exclude_mask)
    heights = pts @ up - floor.offset
    cols = np.tile(np.arange(ws), hs)[flat_valid]
    walls: list[PlaneFit] = []
    perp_ok = lambda n: np.abs(n @ up) < math.sin(math.radians(15))  # noqa: E731
    pool = ~used & ~excluded & (heights > 3 * thr)
    for _ in range(max_walls + 6):
        if len(walls) >= max_walls or pool.sum() < min_plane:
            break
        fit = ransac_plane(pts[pool], thr, rng=rng, accept=perp_ok, min_inliers=min_plane)
        if fit is None:
            break
        fit = towards_origin(full_inliers(fit, pts, thr))
        fit.inliers &= ~used
        pool &= ~fit.inliers
        if fit.count < min_plane or any(_same_plane(fit, o, 4 * thr) for o in walls):
            continue
        reason = _not_a_wall(fit, pts, up, excluded, heights, rows * stride, cols * stride, (h, w), object_boxes, thr)
        if reason:
            if "behind it" not in reason:  # plainly inside the room: not worth a note
                notes.append(f"a vertical plane {-fit.offset:.2f} m from the camera is not a wall: {reason}")
            continue
        walls.append(fit)
        used |= fit.inliers

    pool = ~used & ~excluded & (rows < 0.5 * hs)
    ceiling = find_ceiling(pts, pool, used, up, float(floor.offset), thr, min_plane, rng, notes)

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


def surface_normals(pts: np.ndarray, neighbours: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (facing the camera) and a planarity flag per point, from its nearest 3D neighbours.

    Neighbours in 3D rather than in the image: this works the same on dense depth maps and on
    sparse ones (a few % of the pixels), where image-grid differences have no neighbours.
    """
    from scipy.spatial import cKDTree  # only the worker's Python runs room estimation

    k = min(neighbours, len(pts))
    _, idx = cKDTree(pts).query(pts, k=k, workers=2)
    nb = pts[idx] - pts[idx].mean(axis=1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", nb, nb) / k
    evals, evecs = np.linalg.eigh(cov)
    normals = evecs[:, :, 0]
    normals *= np.where(np.einsum("ni,ni->n", normals, pts) > 0, -1.0, 1.0)[:, None]
    planar = evals[:, 0] / np.maximum(evals.sum(axis=1), 1e-12) < 0.02
    return normals, planar


def _floor_by_normals(pts: np.ndarray, thr: float) -> PlaneFit | None:
    """The floor as the lowest large horizontal surface, with "up" from every horizontal surface seen.

    Up is the mode of the normals of flat patches facing roughly up (floor, bed and table tops all
    agree on it, so a small strip of floor still gets the right gravity); the floor is then the
    lowest height band of those patches that holds at least 1 % of the points. RANSAC on raw points
    instead prefers slanted planes through several surfaces when the floor is a small strip.
    """
    if len(pts) < 200:
        return None
    pts64 = pts.astype(np.float64)
    if len(pts64) > NORMALS_MAX_POINTS:  # normals of a random subset: the floor needs a mode, not every point
        pts64 = pts64[np.random.default_rng(0).choice(len(pts64), NORMALS_MAX_POINTS, replace=False)]
    normals, planar = surface_normals(pts64)
    cand = planar & (normals @ UP_CAMERA > math.cos(math.radians(50)))
    if cand.sum() < 50:
        return None
    up = normals[cand].mean(axis=0)
    for cone in (20.0, 12.0, 8.0, 5.0):
        sel = cand & (normals @ (up / np.linalg.norm(up)) > math.cos(math.radians(cone)))
        if sel.sum() < 30:
            break
        up = normals[sel].sum(axis=0)
    up = up / np.linalg.norm(up)
    below_camera = -(pts64 @ up)  # how far below the camera each point lies
    flat = planar & (normals @ up > math.cos(math.radians(12)))
    if flat.sum() < 50:
        return None
    step = max(0.02, thr)
    edges = np.arange(float(below_camera[flat].min()), float(below_camera[flat].max()) + 2 * step, step)
    counts, _ = np.histogram(below_camera[flat], edges)
    window = counts + np.concatenate([counts[1:], [0]])  # two bins: a band of 2 steps
    heavy = np.flatnonzero(window >= max(30, 0.01 * len(pts64)))
    if not len(heavy):
        return None
    i = int(heavy[-1])
    lo = max(0, i - int(round(0.1 / step)))
    peak = lo + int(np.argmax(counts[lo:i + 2]))  # the floor's mode near the lowest heavy band, not its tail
    near = flat & (below_camera >= edges[peak] - step) & (below_camera < edges[peak + 1] + step)
    offset = -float(np.median(below_camera[near]))  # n·x = d with n = up: d = -(height of the camera)
    heights = pts.astype(np.float64) @ up
    inliers = np.abs(heights - offset) < thr
    if inliers.sum() >= 30:  # refine on every point of the band, not only the subset's flat patches
        offset = float(np.median(heights[inliers]))
        inliers = np.abs(heights - offset) < thr
    if inliers.sum() < 30:
        return None
    return PlaneFit(up, offset, inliers)


def _lowest_upward_plane(pts: np.ndarray, allowed: np.ndarray, thr: float, rng: np.random.Generator,
                         up_ok: object, min_inliers: int) -> PlaneFit | None:
    """The floor: of the large planes facing up, the lowest one with (almost) nothing below it.

    The biggest upward plane is often a bed or a table top; those have the floor below them and
    are skipped, and a small strip of visible floor still wins because it is the lowest.
    """
    pool = allowed.copy()
    found = []
    for _ in range(6):
        if pool.sum() < min_inliers:
            break
        fit = ransac_plane(pts[pool], thr, rng=rng, accept=up_ok, min_inliers=min_inliers)  # type: ignore[arg-type]
        if fit is None:
            break
        fit = towards_origin(full_inliers(fit, pts, thr))
        pool &= ~fit.inliers
        if fit.count < min_inliers or float(fit.normal @ UP_CAMERA) < math.cos(math.radians(55)):
            continue  # faces down: a ceiling or the underside of something
        if np.mean(fit.signed_distance(pts) < -4 * thr) < FLOOR_BELOW_MAX:
            found.append(fit)
    return max(found, key=lambda f: -f.offset) if found else None


def _camera_height_notes(height: float) -> list[str]:
    """A camera 8 m above the floor is a unit problem, not a photo: say so and name the likely cause."""
    lo, hi = CAMERA_HEIGHT_RANGE_M
    if height > hi:
        return [f"the camera comes out {height:.2f} m above the floor, outside the plausible {lo:g}–{hi:g} m: the "
                "depth is probably in the wrong unit (millimetres, or a raw sensor PNG such as SUN RGB-D's "
                "bit-rotated one, read as metres) or scaled; check the depth file"]
    if height < lo:
        return [f"the camera comes out {height:.2f} m above the floor, outside the plausible {lo:g}–{hi:g} m: the "
                "depth may be in the wrong unit (too small by 10× or 1000×), or the plane taken for the floor is "
                "a bed or table top seen from close by"]
    return []


def _not_a_wall(fit: PlaneFit, pts: np.ndarray, up: np.ndarray, excluded: np.ndarray, heights: np.ndarray,
                px_rows: np.ndarray,
                px_cols: np.ndarray, image_size: tuple[int, int],
                object_boxes: Sequence[tuple[str, Sequence[float]]] | None, thr: float) -> str | None:
    """Why a vertical plane is not a wall (None when it is one): walls bound the room.

    A wall has (almost) no observed points behind it across its own width (points seen past its
    end, through an opening or past a corner, are no evidence against it), reaches above the furniture in front of it
    (or leaves the frame at the top), and is not the face of a detected object.
    """
    inl = fit.inliers
    along = np.cross(up, fit.normal)  # horizontal direction along the wall
    a = pts @ along
    a_lo, a_hi = np.percentile(a[inl], [2, 98])
    observed = ~excluded & (a >= a_lo) & (a <= a_hi)  # seen past the wall's end (an opening) does not count
    if observed.sum() < 50:
        observed = (a >= a_lo) & (a <= a_hi)
    behind = float(np.mean(fit.signed_distance(pts[observed]) < -4 * thr))
    if behind > WALL_BEHIND_MAX:
        return f"{100 * behind:.0f} % of the points seen across its width lie behind it"
    width = float(a_hi - a_lo)
    seen = ~excluded if (~excluded).any() else np.ones(len(pts), bool)
    beyond = float(np.mean(fit.signed_distance(pts[seen]) < -4 * thr))
    if beyond > WALL_BEHIND_MAX and width < WALL_MIN_WIDTH_M:
        return (f"only {width:.1f} m wide with the room seen behind it past its ends ({100 * beyond:.0f} % of the "
                "points): the face of a piece of furniture")
    top = float(np.percentile(heights[inl], 97))
    leaves_top = float(np.percentile(px_rows[inl], 3)) <= 0.04 * image_size[0]
    if top < WALL_MIN_TOP_M and not leaves_top:
        return f"it ends {top:.2f} m above the floor, lower than a wall behind furniture reaches"
    for label, box in object_boxes or []:
        x0, y0, x1, y1 = (float(v) for v in box)
        in_box = (px_cols >= x0) & (px_cols < x1) & (px_rows >= y0) & (px_rows < y1)
        share = float(np.mean(in_box[inl]))
        covers = float(np.sum(in_box & inl)) / max(1.0, float(np.sum(in_box)))
        if share >= WALL_IN_ONE_BOX and covers >= 0.3:  # mostly inside the box and a large face of what is there
            return f"{100 * share:.0f} % of it lies inside the box of the {label} (its front, not the room's boundary)"
    return None


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
