"""Upright 3D boxes of objects from an instance mask and a metric depth map.

Masks from detectors bleed over object borders and depth maps smear across depth edges, so
the raw masked points contain background. Each step removes one kind of error:

1. **erosion** of the mask (radius ~3 % of its size) drops the bleeding rim;
2. **depth-edge rejection** drops pixels where depth jumps (flying pixels between surfaces);
3. **depth clustering** keeps the largest cluster along the viewing ray, dropping background
   seen through gaps (chair backs, plants);
4. **room-plane rejection** drops points lying on the floor or a wall (bleeding onto the floor
   is continuous in depth, so clustering cannot see it) unless nearly all points do (a rug);
5. **percentile clipping** (1–99 %) makes extents robust to the outliers that remain, then each
   extent grows back out through points that continue it without a gap (a percentile alone
   would shave a thinly sampled side face seen at a grazing angle).

The yaw is searched about the floor normal (world Z) for the smallest footprint, with a
preference for the room's Manhattan axes when they are nearly as good (furniture mostly
stands square to the walls). When the bottom is hidden (the mask touches the image's lower
edge or something nearer occludes it), the box is extended down to its support: the highest
surface below it (another object's top, else the floor).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..schema import Box3D, Plane
from .camera import Intrinsics
from .room import to_world

MIN_PIXELS = 12


@dataclass
class ObjectBox:
    """A box with how much to trust it; ``extended_to`` names the support it was extended down to."""

    box: Box3D
    confidence: float
    points: int
    bottom_hidden: bool
    extended_to: str | None = None


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

    def covers(self, x: float, y: float, margin: float = 0.05) -> bool:
        return footprint_contains(self.box, x, y, margin, self.camera_xy)


def object_box(mask: np.ndarray, depth: np.ndarray, k: Intrinsics, world_from_camera: np.ndarray, *,
               supports: list[SupportSurface] | None = None, planes: list[Plane] | None = None,
               yaw_step_deg: float = 1.5,
               max_points: int = 20000, seed: int = 0) -> ObjectBox | None:
    """The object's upright box in the world frame, or None when the mask has too few usable pixels."""
    mask = np.asarray(mask, bool)
    if mask.shape != depth.shape:
        raise ValueError(f"mask {mask.shape} and depth {depth.shape} differ in size")
    area = int(mask.sum())
    if area < MIN_PIXELS:
        return None
    from scipy import ndimage  # imported here: the rest of core.geometry needs only numpy (Blender's Python)

    radius = int(np.clip(round(0.03 * math.sqrt(area)), 1, 6))
    core = ndimage.binary_erosion(mask, iterations=radius)
    if core.sum() < MIN_PIXELS:
        core = mask
    z = depth
    finite = np.isfinite(z) & (z > 1e-3)
    gy, gx = np.gradient(np.where(finite, z, 0.0).astype(np.float32))
    smooth = np.hypot(gx, gy) < 0.08 * np.maximum(z, 1e-3)
    keep = core & finite & smooth
    if keep.sum() < MIN_PIXELS:
        keep = core & finite
    if keep.sum() < MIN_PIXELS:
        return None
    vs, us = np.nonzero(keep)
    if len(vs) > max_points:
        pick = np.random.default_rng(seed).choice(len(vs), max_points, replace=False)
        vs, us = vs[pick], us[pick]
    zz = z[vs, us].astype(np.float64)
    sx, sy = k.width / depth.shape[1], k.height / depth.shape[0]
    cam = np.stack([((us + 0.5) * sx - k.cx) / k.fx * zz, ((vs + 0.5) * sy - k.cy) / k.fy * zz, zz], axis=1)
    cluster = _largest_depth_cluster(zz)
    cam = cam[cluster]
    world = to_world(cam, world_from_camera)
    world = _off_room_planes(world, planes)
    yaw, _ = _best_yaw(world[:, :2], yaw_step_deg)
    c, s = math.cos(yaw), math.sin(yaw)
    gap = max(0.03, 3.0 * float(np.median(cam[:, 2])) / k.fx)
    x0, x1 = _robust_range(c * world[:, 0] + s * world[:, 1], gap)
    y0, y1 = _robust_range(-s * world[:, 0] + c * world[:, 1], gap)
    z0, z1 = _robust_range(world[:, 2], gap)
    mu, mv = (x0 + x1) / 2, (y0 + y1) / 2
    cx, cy = c * mu - s * mv, s * mu + c * mv
    hidden = _bottom_hidden(mask, depth, float(np.median(zz)))
    extended_to = None
    if hidden and z0 > 0.03:
        below = [sup for sup in (supports or []) if sup.top <= z0 + 0.05 and sup.covers(cx, cy)]
        best = max(below, key=lambda sup: sup.top, default=None)
        target, extended_to = (best.top, best.id) if best is not None else (0.0, "floor")
        z0 = min(z0, target)
    box = Box3D((float(cx), float(cy), float((z0 + z1) / 2)),
                (float(x1 - x0), float(y1 - y0), float(max(z1 - z0, 0.0))), float(yaw))
    kept = len(world) / max(1, len(vs))
    confidence = kept * min(1.0, len(world) / 300.0) * (0.8 if extended_to else 1.0)
    return ObjectBox(box, float(np.clip(confidence, 0.0, 1.0)), int(len(world)), hidden, extended_to)


def _off_room_planes(world: np.ndarray, planes: list[Plane] | None, tol: float = 0.025) -> np.ndarray:
    """Points not on the floor or a wall; all of them when the object itself is flat on a plane (a rug)."""
    on_plane = world[:, 2] < tol
    for p in planes or []:
        if p.kind == "wall":
            on_plane |= np.abs(world @ np.asarray(p.normal) - p.offset) < tol
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


def _largest_depth_cluster(z: np.ndarray) -> np.ndarray:
    """Split sorted depths at gaps larger than max(10 cm, 5 % of the median) and keep the biggest run."""
    order = np.argsort(z)
    zs = z[order]
    gap = max(0.10, 0.05 * float(np.median(zs)))
    cuts = np.flatnonzero(np.diff(zs) > gap) + 1
    bounds = np.concatenate([[0], cuts, [len(zs)]])
    sizes = np.diff(bounds)
    i = int(np.argmax(sizes))
    keep = np.zeros(len(z), bool)
    keep[order[bounds[i]:bounds[i + 1]]] = True
    return keep


def _best_yaw(xy: np.ndarray, step_deg: float) -> tuple[float, tuple[float, float, float, float]]:
    """Yaw in [0°, 90°) with the smallest 1–99 % footprint; 0° (the Manhattan axes) wins near-ties."""
    angles = np.radians(np.arange(0.0, 90.0, step_deg))
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    u = c * xy[None, :, 0] + s * xy[None, :, 1]  # coordinates along the box's rotated x axis
    v = -s * xy[None, :, 0] + c * xy[None, :, 1]
    (u0, u1), (v0, v1) = np.percentile(u, [1, 99], axis=1), np.percentile(v, [1, 99], axis=1)
    area = np.maximum(u1 - u0, 1e-3) * np.maximum(v1 - v0, 1e-3)
    best = int(np.argmin(area))
    if area[0] <= 1.08 * area[best]:
        best = 0
    return float(angles[best]), (float(u0[best]), float(u1[best]), float(v0[best]), float(v1[best]))


def _bottom_hidden(mask: np.ndarray, depth: np.ndarray, object_depth: float) -> bool:
    """The mask reaches the image's lower edge, or what lies just below it is nearer (an occluder)."""
    h = mask.shape[0]
    cols = np.flatnonzero(mask.any(axis=0))
    if not len(cols):
        return False
    lowest = h - 1 - np.argmax(mask[::-1, cols], axis=0)
    if np.mean(lowest >= h - 2) > 0.2:
        return True
    below = np.minimum(lowest + 3, h - 1)
    d = depth[below, cols]
    nearer = np.isfinite(d) & (d < object_depth - max(0.15, 0.08 * object_depth))
    return bool(np.mean(nearer) > 0.5)
