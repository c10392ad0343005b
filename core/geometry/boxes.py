"""Upright 3D boxes of objects from an instance mask and a metric depth map, completed where unseen.

Masks from detectors bleed over object borders and depth maps smear across depth edges, so
the raw masked points contain background. Each step removes one kind of error:

1. **erosion** of the mask (radius ~3 % of its size) drops the bleeding rim;
2. **depth-edge rejection** drops pixels where depth jumps, and pixels off the object's local
   surface (their 5×5 median) — the flying pixels left between surfaces;
3. **3D connected parts**: points are joined through a voxel grid a few pixels' footprint wide;
   parts apart from the main one are dropped unless comparable to it (background seen through
   gaps, a neighbour standing behind inside the same 2D box, flying pixels left over). Unlike a 1D split of the depths this keeps a bed's footboard and its
   mattress together although a metre of depth lies between them;
4. **room-plane rejection** drops points lying on the floor or a wall (bleeding onto the floor
   is continuous in depth) unless nearly all points do (a rug), and points beyond a wall
   (reflections in a mirror);
5. **percentile clipping** (1–99 %) makes extents robust to the outliers that remain, then each
   extent grows back out through points that continue it without a gap.

The yaw comes from the densest straight line of the object's points seen from above (its
visible faces), else from the smallest footprint (:mod:`.box_yaw`); it snaps to the room's
Manhattan axes when within 10° and the room has walls (furniture mostly stands square to them),
or at any angle when too little of the object is seen to tell, or when no face of it is seen
edge-on and its outline is cut by the frame or hidden (its seen footprint then runs the cut's way).
A foot or stem lost to the erosion lowers the bottom first (``amodal.lower_to_thin_parts``).
Then the box is made **amodal** (:mod:`.amodal`): sides cut off by the frame, hidden behind nearer
things or facing away are completed from the class size prior, a floor-standing object reaches the
floor, and another object whose bottom is hidden is extended down to its support — the highest
plausible surface below it (another object's top, else the floor, unless it would then be taller
than 1.3 × its class's tallest: then it stands on something not detected, and is completed down
to its class's height only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..schema import Box3D, Plane
from .amodal import SIDES, Extents, complete_box, image_sides, lower_to_thin_parts, open_faces, raise_top_to_mask
from .box_yaw import MANHATTAN_SNAP_DEG, best_yaw, is_sliver, line_yaw, off_axes_deg
from .camera import Intrinsics, pixels_to_camera
from .room import to_world

MIN_PIXELS = 12
MIN_PART_SHARE = 0.08  # a 3D part with fewer of the points is background or stray pixels
SECOND_PART = 0.3  # a part apart from the main one must be comparable to it (not a neighbour seen behind)
FLAT_M = 0.05  # points spanning less height than this are a flat thing's top (a rug): no face of it is seen
TALLEST_SHARE = 1.3  # a box this much taller than its class's tallest (its prior's high end) is not one object


@dataclass
class ObjectBox:
    """A box with how much to trust it; ``extended_to`` names the support it was extended down to.

    ``open_faces`` lists the faces whose measured position was only a lower bound and why
    (``"-x"``, ``"+y"``, ``"bottom"``…, box axes); ``notes`` say what was completed and from what.
    """

    box: Box3D
    confidence: float
    points: int
    bottom_hidden: bool
    extended_to: str | None = None
    open_faces: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    visible: Box3D | None = None  # the extent of the points themselves, before any completion


def footprint_contains(box: Box3D, x: float, y: float, margin: float = 0.05,
                       camera_xy: tuple[float, float] | None = None) -> bool:
    """Is (x, y) over the box's footprint? With ``camera_xy``, allow for the unseen back.

    A box measured from depth covers only the surfaces the camera saw, so its side facing away
    from the camera may lie further back than measured. Given the camera's position, the far
    side along the box axis closest to the viewing direction is extended until the box is as
    deep as it is wide (at most 1 m): furniture is rarely deeper than wide, and a vase standing
    behind the visible front edge of a table is then still found to be on it.
    """
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    dx, dy = x - box.center[0], y - box.center[1]
    u, v = c * dx + s * dy, -s * dx + c * dy
    lo_u, hi_u = -box.size[0] / 2 - margin, box.size[0] / 2 + margin
    lo_v, hi_v = -box.size[1] / 2 - margin, box.size[1] / 2 + margin
    if camera_xy is not None:
        vx, vy = box.center[0] - camera_xy[0], box.center[1] - camera_xy[1]
        vu, vv = c * vx + s * vy, -s * vx + c * vy  # viewing direction in the box frame
        if abs(vu) >= abs(vv):
            extra = max(0.0, min(1.0, box.size[1]) - box.size[0])
            lo_u, hi_u = (lo_u, hi_u + extra) if vu > 0 else (lo_u - extra, hi_u)
        else:
            extra = max(0.0, min(1.0, box.size[0]) - box.size[1])
            lo_v, hi_v = (lo_v, hi_v + extra) if vv > 0 else (lo_v - extra, hi_v)
    return lo_u <= u <= hi_u and lo_v <= v <= hi_v


@dataclass
class SupportSurface:
    """A horizontal surface another object can rest on: an object's top at ``top`` over its box footprint."""

    id: str
    top: float
    box: Box3D
    camera_xy: tuple[float, float] | None = None
    label: str | None = None

    def covers(self, x: float, y: float, margin: float = 0.05) -> bool:
        return footprint_contains(self.box, x, y, margin, self.camera_xy)


def object_box(mask: np.ndarray, depth: np.ndarray, k: Intrinsics, world_from_camera: np.ndarray, *,
               supports: list[SupportSurface] | None = None, planes: list[Plane] | None = None,
               yaw_step_deg: float = 1.5, max_points: int = 20000, seed: int = 0, prior: Any | None = None,
               floor_standing: bool = False, label: str | None = None,
               plausible: Callable[[SupportSurface], float] | None = None,
               obstacles: list[Box3D] | None = None) -> ObjectBox | None:
    """The object's upright amodal box in the world frame, or None when the mask has too few usable pixels.

    ``prior`` (a :class:`core.library.priors.SizePrior`) completes hidden sides; ``floor_standing``
    (a bed, a chair, a wardrobe…) makes the box reach the floor whatever hides its bottom;
    ``plausible(support) -> 0..1`` keeps a hidden bottom from being extended onto a support the
    object cannot stand on (a dresser onto a bed); completion never grows into ``obstacles`` (the
    other objects' visible boxes).
    """
    mask = np.asarray(mask, bool)
    if mask.shape != depth.shape:
        raise ValueError(f"mask {mask.shape} and depth {depth.shape} differ in size")
    area = int(mask.sum())
    if area < MIN_PIXELS:
        return None
    from scipy import ndimage  # imported here: the rest of core.geometry needs only numpy (Blender's Python)

    radius = int(np.clip(round(0.03 * math.sqrt(area)), 1, 6))
    # Only the outline bleeds: holes (no depth, or cut at depth edges) are filled before eroding, so a
    # mask riddled with small holes (a fabric headboard, a glossy top) keeps its inside.
    core = ndimage.binary_erosion(ndimage.binary_fill_holes(mask), iterations=radius) & mask
    if core.sum() < MIN_PIXELS:
        core = mask
    z = depth
    finite = np.isfinite(z) & (z > 1e-3)
    gy, gx = np.gradient(np.where(finite, z, 0.0).astype(np.float32))
    smooth = np.hypot(gx, gy) < 0.08 * np.maximum(z, 1e-3)
    keep = core & finite & smooth & ~_off_surface(core, z)
    if keep.sum() < MIN_PIXELS:
        keep = core & finite
    if keep.sum() < MIN_PIXELS:
        return None
    vs, us = np.nonzero(keep)
    if len(vs) > max_points:
        pick = np.random.default_rng(seed).choice(len(vs), max_points, replace=False)
        vs, us = vs[pick], us[pick]
    zz = z[vs, us].astype(np.float64)
    world = to_world(pixels_to_camera(us, vs, zz, k, depth.shape), world_from_camera)
    pixel_m = float(np.median(zz)) / k.fx
    spacing = pixel_m * math.sqrt(max(1.0, keep.sum() / len(vs))) * max(1.0, math.sqrt(depth.size / max(1, finite.sum())))
    world = world[_main_parts(world, voxel=max(0.04, 3.0 * spacing))]
    world = _off_room_planes(world, planes)
    walls = [p for p in planes or [] if p.kind == "wall"]
    yaw = line_yaw(world[:, :2])
    # a line in the top view is a face seen edge-on only where there are faces: a rug's densest line is
    # where the camera saw most of it, next to the frame's edge
    low, high = np.percentile(world[:, 2], [2, 98])
    from_faces = yaw is not None and high - low > FLAT_M
    if yaw is None:
        yaw = best_yaw(world[:, :2], yaw_step_deg)
    vis = image_sides(mask, depth)
    notes: list[str] = []
    if walls and off_axes_deg(yaw) < MANHATTAN_SNAP_DEG:
        yaw = 0.0
    elif walls and prior is not None and is_sliver(world[:, :2], yaw, prior):
        notes.append(f"turned {off_axes_deg(yaw):.0f}° to square with the walls: "
                     "too little of it is seen to tell which way it runs")
        yaw = 0.0
    elif walls and not from_faces and any(vis.hidden(side) for side in SIDES):
        notes.append(f"turned {off_axes_deg(yaw):.0f}° to square with the walls: no face of it is seen edge-on and "
                     "its outline is cut off by the frame or hidden, so its seen footprint runs the way of the cut")
        yaw = 0.0
    if prior is not None:
        longest = 1.1 * max(prior.high[0], prior.high[1])
        world, dropped = _drop_outer_parts(world, yaw, longest, voxel=max(0.04, 3.0 * spacing))
        world, trimmed = _trim_sparse_tails(world, yaw, longest)
        trimmed += dropped
        if trimmed:
            notes.append(f"{trimmed} point(s) beyond the largest {label or 'object'} of its class dropped "
                         "(another object behind it inside the same 2D box)")
    c, s = math.cos(yaw), math.sin(yaw)
    gap = max(0.03, 3.0 * pixel_m)
    ext = Extents(yaw, list(_robust_range(c * world[:, 0] + s * world[:, 1], gap)),
                  list(_robust_range(-s * world[:, 0] + c * world[:, 1], gap)), list(_robust_range(world[:, 2], gap)))
    lowered = lower_to_thin_parts(ext, mask, depth, k, world_from_camera, float(np.median(zz)))
    if lowered is not None:
        notes.append(f"bottom lowered from {ext.z[0]:.2f} m to {lowered:.2f} m: a thin part the photo shows (a "
                     "lamp's stem, a vase's foot) was too narrow to measure among the object's inner pixels")
        ext.z[0] = lowered
    visible = ext.box()
    faces = open_faces(ext, vis, world_from_camera, k)
    hidden = "bottom" in faces
    extended_to = None
    if floor_standing:
        extended_to = "floor" if ext.z[0] > 0.03 else None
    elif hidden and ext.z[0] > 0.03 and lowered is None:  # (a foot found under it is its bottom)
        box0 = ext.box()
        cx, cy = box0.center[:2]
        below = [sup for sup in (supports or []) if sup.top <= ext.z[0] + 0.05 and sup.covers(cx, cy)]
        if plausible is not None:
            for sup in [b for b in below if plausible(b) <= 0.05]:
                notes.append(f"bottom {faces['bottom']}: not extended onto {sup.id} (a {label or 'object'} does "
                             f"not stand on a {sup.label or 'that'})")
            below = [b for b in below if plausible(b) > 0.05]
        best = max(below, key=lambda sup: sup.top, default=None)
        target, extended_to = (best.top, best.id) if best is not None else (0.0, "floor")
        if best is None and prior is not None and ext.z[1] > TALLEST_SHARE * float(prior.high[2]):
            # down to the floor it would be taller than any of its class: it stands on something not detected
            notes.append(f"bottom {faces['bottom']}: not extended to the floor (down there a {label or 'object'} "
                         f"would be {ext.z[1]:.2f} m tall); what it stands on was probably not detected (add it, or "
                         "move this object)")
            extended_to = None
        else:
            notes.append(f"bottom {faces['bottom']}: extended down from {ext.z[0]:.2f} m to "
                         f"{'the floor' if extended_to == 'floor' else extended_to} at {target:.2f} m")
            ext.z[0] = min(ext.z[0], target)
    unsupported = hidden and not floor_standing and extended_to is None and lowered is None and ext.z[0] > 0.03
    ext, completed = complete_box(ext, faces, prior, walls, floor_standing=floor_standing, label=label or "object",
                                  obstacles=obstacles or (), unsupported_bottom=unsupported)
    notes.extend(completed)
    if "top" not in faces:
        ceiling = next((-p.offset for p in planes or [] if p.kind == "ceiling"), 3.5)
        limit = min(ceiling, ext.z[0] + (1.3 * prior.high[2] if prior is not None else 2.5)) - ext.z[0]
        raised = raise_top_to_mask(ext, mask, depth, world_from_camera, k, limit)
        if raised:
            notes.append(raised)
            completed.append(raised)
    kept = len(world) / max(1, len(vs))
    confidence = kept * min(1.0, len(world) / 300.0) * (0.8 if extended_to or completed else 1.0)
    return ObjectBox(ext.box(), float(np.clip(confidence, 0.0, 1.0)), int(len(world)), hidden, extended_to,
                     faces, notes, visible)


def _off_surface(mask: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Mask pixels whose depth leaves the object's local surface (its 5×5 median): flying pixels.

    A flying pixel (a mixed reading at a depth edge) sits at the mask's rim with a depth between the
    object and the background; its neighbours on the object are all nearer. A surface seen at a
    grazing angle changes depth smoothly, so its median follows it and it is kept, which a test on
    3D point density would not do.
    """
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return mask
    from scipy import ndimage

    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    m = mask[y0:y1, x0:x1]
    z = depth[y0:y1, x0:x1].astype(np.float32)
    ok = m & np.isfinite(z) & (z > 1e-3)
    if not ok.any():
        return np.zeros_like(mask)
    _, idx = ndimage.distance_transform_edt(~ok, return_indices=True)
    local = ndimage.median_filter(z[idx[0], idx[1]], size=5)
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = ok & (np.abs(z - local) > np.maximum(0.03, 0.02 * local))
    return out


def _main_parts(world: np.ndarray, voxel: float, join_m: float = 0.12) -> np.ndarray:
    """Points of the main 3D part and of parts comparable to it; parts closer than ~2 × ``join_m`` count as one.

    Joining near parts keeps a mattress that lies 15 cm behind a footboard's top with the footboard;
    background seen through a gap lies further behind and stays out.
    """
    from scipy import ndimage

    if len(world) < MIN_PIXELS:
        return np.ones(len(world), bool)
    idx = np.floor((world - world.min(axis=0)) / voxel).astype(np.int64)
    dims = idx.max(axis=0) + 1
    if np.prod(dims) > 8_000_000:  # a huge spread (stray far points): coarser voxels
        scale = float(np.cbrt(np.prod(dims) / 8_000_000)) + 1.0
        idx, voxel = (idx / scale).astype(np.int64), voxel * scale
        dims = idx.max(axis=0) + 1
    grid = np.zeros(dims, bool)
    grid[idx[:, 0], idx[:, 1], idx[:, 2]] = True
    grown = ndimage.binary_dilation(grid, np.ones((3, 3, 3), bool), iterations=max(1, int(round(join_m / voxel))))
    labels, n = ndimage.label(grown, structure=np.ones((3, 3, 3), bool))
    point_label = labels[idx[:, 0], idx[:, 1], idx[:, 2]]
    counts = np.bincount(point_label, minlength=n + 1)
    counts[0] = 0
    big = (counts >= MIN_PART_SHARE * len(world)) & (counts >= SECOND_PART * counts.max())
    big[int(np.argmax(counts))] = True
    return big[point_label]


def _drop_outer_parts(world: np.ndarray, yaw: float, max_len: float, voxel: float,
                      max_drop: float = 0.35) -> tuple[np.ndarray, int]:
    """While a horizontal extent exceeds what the class can measure, drop the smallest part at its end.

    Parts are 3D-connected pieces (26-connected voxels): a dresser standing behind a bed inside the
    bed's 2D box is a piece of its own at one end of the too-long axis. At most ``max_drop`` of the
    points go; an object that is long all through (no separate piece at its end) is left alone.
    """
    from scipy import ndimage

    if len(world) < MIN_PIXELS:
        return world, 0
    idx = np.floor((world - world.min(axis=0)) / voxel).astype(np.int64)
    dims = idx.max(axis=0) + 1
    if np.prod(dims) > 8_000_000:
        return world, 0
    grid = np.zeros(dims, bool)
    grid[idx[:, 0], idx[:, 1], idx[:, 2]] = True
    labels, _ = ndimage.label(grid, structure=np.ones((3, 3, 3), bool))
    part = labels[idx[:, 0], idx[:, 1], idx[:, 2]]
    keep = np.ones(len(world), bool)
    c, s = math.cos(yaw), math.sin(yaw)
    axes = (c * world[:, 0] + s * world[:, 1], -s * world[:, 0] + c * world[:, 1])
    for _ in range(20):
        over = [u for u in axes if np.ptp(np.percentile(u[keep], [0.5, 99.5])) > max_len]
        if not over:
            break
        u = over[0]
        lo, hi = np.percentile(u[keep], [0.5, 99.5])
        ends = set(part[keep & (u <= lo)]) | set(part[keep & (u >= hi)])
        sizes = {p: int(np.sum(keep & (part == p))) for p in ends}
        smallest = min(sizes, key=sizes.get)
        if sizes[smallest] == int(keep.sum()) or (~keep).sum() + sizes[smallest] > max_drop * len(world):
            break
        keep &= part != smallest
    return world[keep], int((~keep).sum())


def _trim_sparse_tails(world: np.ndarray, yaw: float, max_len: float, bin_m: float = 0.05,
                       sparse: float = 0.15) -> tuple[np.ndarray, int]:
    """Drop sparse ends along a horizontal box axis whose extent exceeds what the class can measure.

    A neighbour standing behind an object inside the same 2D box (a dresser behind a bed) adds a
    thin tail of points beyond the object; a much denser body is the object itself. Only axes
    longer than ``max_len`` are looked at (a genuinely long object is never shortened by this when
    its points are dense), and there the runs of end bins (5 cm) holding under 15 % of the body's
    typical count are cut.
    """
    keep = np.ones(len(world), bool)
    c, s = math.cos(yaw), math.sin(yaw)
    for u in (c * world[:, 0] + s * world[:, 1], -s * world[:, 0] + c * world[:, 1]):
        lo, hi = np.percentile(u[keep], [0.5, 99.5])
        if hi - lo <= max_len:
            continue
        edges = np.arange(lo, hi + bin_m, bin_m)
        counts, _ = np.histogram(u[keep], edges)
        dense = float(np.median(counts[counts > 0])) if (counts > 0).any() else 0.0
        thin = counts < sparse * dense
        a, b = 0, len(counts) - 1
        while a < b and thin[a]:
            a += 1
        while b > a and thin[b]:
            b -= 1
        if (b - a + 1) * bin_m >= hi - lo - 1e-9:
            continue  # no sparse tail: a long object, or a dense neighbour that must stay (nothing to cut)
        keep &= (u >= edges[a]) & (u <= edges[b + 1])
    return world[keep], int((~keep).sum())


def _off_room_planes(world: np.ndarray, planes: list[Plane] | None, tol: float = 0.025) -> np.ndarray:
    """Points not on the floor or a wall and not beyond a wall; all of them when the object is flat on a plane.

    Beyond a wall nothing of the room can be: points there are reflections in a mirror or a glossy
    front (they appear as a scene behind the glass) or sensor errors.
    """
    on_plane = world[:, 2] < tol
    for p in planes or []:
        if p.kind == "wall":
            d = world @ np.asarray(p.normal) - p.offset
            on_plane |= (np.abs(d) < tol) | (d < -4 * tol)
    rest = world[~on_plane]
    return rest if len(rest) >= max(MIN_PIXELS, 0.15 * len(world)) else world


def _robust_range(values: np.ndarray, gap: float, q: float = 1.0) -> tuple[float, float]:
    """The q–(100−q) % range, extended outwards through sorted values while no step exceeds ``gap``."""
    v = np.sort(values)
    n = len(v)
    lo_i, hi_i = int(n * q / 100), max(int(n * q / 100), n - 1 - int(n * q / 100))
    steps = np.diff(v)
    big = np.flatnonzero(steps[:lo_i] > gap)  # the outermost gap below the lower percentile stops the growth
    lo = v[big[-1] + 1] if len(big) else v[0]
    big = np.flatnonzero(steps[hi_i:] > gap)
    hi = v[hi_i + big[0]] if len(big) else v[-1]
    return float(lo), float(hi)
