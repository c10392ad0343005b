"""Small numpy helpers for upright poses: yaw rotations, 4x4 transforms, box proxies, footprints,
and their overlap (polygon area, convex clipping, footprint IoU).

Every solver module speaks :class:`Pose` (asset origin = bottom centre in the world, yaw
about Z, per-axis scale), because layout only ever stands objects upright: a yaw and a
translation describe every placement, and a 4x4 is built only at the edges (BVH, Layout).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# The 12 triangles of a unit box [-0.5, 0.5]^2 x [0, 1], outward normals (counter-clockwise seen from outside).
_BOX_CORNERS = np.array([[x, y, z] for z in (0.0, 1.0) for y in (-0.5, 0.5) for x in (-0.5, 0.5)], dtype=np.float64)
_BOX_FACES = np.array([
    [0, 2, 3], [0, 3, 1],  # bottom (z=0), normal -Z
    [4, 5, 7], [4, 7, 6],  # top, +Z
    [0, 1, 5], [0, 5, 4],  # front (y=-0.5), -Y
    [2, 6, 7], [2, 7, 3],  # back, +Y
    [0, 4, 6], [0, 6, 2],  # left (x=-0.5), -X
    [1, 3, 7], [1, 7, 5],  # right, +X
], dtype=np.int32)


@dataclass
class Pose:
    """Where one asset stands: bottom-centre position, yaw about world Z, per-axis scale."""

    position: np.ndarray
    yaw: float
    scale: np.ndarray = field(default_factory=lambda: np.ones(3))

    def copy(self) -> "Pose":
        return Pose(np.array(self.position, dtype=float), float(self.yaw), np.array(self.scale, dtype=float))

    def rigid(self) -> np.ndarray:
        """world_from_asset without scale (what ``Placement.transform`` stores)."""
        m = yaw_matrix4(self.yaw)
        m[:3, 3] = self.position
        return m

    def matrix(self) -> np.ndarray:
        """world_from_asset including scale (what the collision world needs)."""
        m = self.rigid()
        m[:3, :3] = m[:3, :3] * self.scale[None, :]
        return m


def yaw_matrix4(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    m = np.eye(4)
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = c, -s, s, c
    return m


def rot2(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s], [s, c]])


def wrap_angle(a: float) -> float:
    """Into (-pi, pi]."""
    a = math.fmod(a + math.pi, 2 * math.pi)
    if a <= 0:
        a += 2 * math.pi
    return a - math.pi


def front_yaw(direction_xy: np.ndarray | tuple[float, float]) -> float:
    """The yaw that turns the asset's front (−Y) toward a horizontal direction."""
    return math.atan2(float(direction_xy[0]), -float(direction_xy[1]))


def pose_from_matrix(matrix: np.ndarray | tuple, scale: np.ndarray | tuple = (1.0, 1.0, 1.0)) -> Pose:
    """Read yaw and position back from a rigid world_from_asset (tilt, if any, is dropped: layout stands things up)."""
    m = np.asarray(matrix, dtype=float)
    return Pose(m[:3, 3].copy(), math.atan2(m[1, 0], m[0, 0]), np.asarray(scale, dtype=float).copy())


def box_proxy(size: np.ndarray | tuple) -> tuple[np.ndarray, np.ndarray]:
    """A closed box mesh in the asset frame (origin bottom centre): the proxy when the library has none."""
    size = np.asarray(size, dtype=float)
    return _BOX_CORNERS * size[None, :], _BOX_FACES.copy()


def transform_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:3, :3].T + m[:3, 3]


def local_bounds(verts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return verts.min(axis=0), verts.max(axis=0)


def footprint(pose: Pose, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 4 world XY corners of the scaled local box [lo, hi] (counter-clockwise)."""
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]) * pose.scale[None, :2]
    return corners @ rot2(pose.yaw).T + pose.position[None, :2]


def box_corners_world(pose: Pose, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 8 world corners of the scaled local box [lo, hi]."""
    pts = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
    return transform_points(pose.matrix(), pts)


def polygon_area(poly: np.ndarray) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland–Hodgman: the part of convex ``subject`` inside convex ``clip`` (both counter-clockwise)."""
    out = [np.asarray(p, dtype=float) for p in subject]
    for i in range(len(clip)):
        a, b = clip[i], clip[(i + 1) % len(clip)]
        edge = b - a
        inside = lambda p: edge[0] * (p[1] - a[1]) - edge[1] * (p[0] - a[0]) >= -1e-12  # noqa: E731
        points, out = out, []
        for j in range(len(points)):
            p, q = points[j], points[(j + 1) % len(points)]
            if inside(q):
                if not inside(p):
                    out.append(_cross_point(p, q, a, b))
                out.append(q)
            elif inside(p):
                out.append(_cross_point(p, q, a, b))
        if not out:
            return np.zeros((0, 2))
    return np.array(out)


def _cross_point(p: np.ndarray, q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d1, d2 = q - p, b - a
    denom = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(denom) < 1e-15:
        return q
    t = ((a[0] - p[0]) * d2[1] - (a[1] - p[1]) * d2[0]) / denom
    return p + t * d1


def footprint_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two convex footprints (counter-clockwise corner lists)."""
    inter = polygon_area(clip_convex(a, b))
    union = polygon_area(a) + polygon_area(b) - inter
    return float(inter / union) if union > 1e-12 else 0.0
