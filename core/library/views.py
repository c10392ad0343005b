"""Template viewpoints: directions on a sphere and OpenCV camera poses looking at an asset.

Why an icosphere: its vertices cover the sphere almost uniformly, so every object pose is
close to some template; 162 views (an icosahedron subdivided twice, 10·4^k + 2 vertices)
is the default, as in template-based pose estimation. Other counts fall back to a
Fibonacci sphere. numpy only.
"""
from __future__ import annotations

import math

import numpy as np

ICOSPHERE_COUNTS = {12: 0, 42: 1, 162: 2, 642: 3}


def icosphere(level: int) -> np.ndarray:
    """Unit vertices of an icosahedron subdivided ``level`` times, float64 [10·4^level + 2, 3]."""
    t = (1 + 5 ** 0.5) / 2
    verts = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
             (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
             (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11),
             (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    pts = [np.asarray(v, float) / np.linalg.norm(v) for v in verts]
    for _ in range(level):
        cache: dict[tuple[int, int], int] = {}

        def mid(a: int, b: int) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = pts[a] + pts[b]
                pts.append(m / np.linalg.norm(m))
                cache[key] = len(pts) - 1
            return cache[key]

        new_faces = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new_faces += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new_faces
    return np.asarray(pts)


def fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    r = np.sqrt(1 - z * z)
    phi = math.pi * (1 + 5 ** 0.5) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def view_directions(n: int) -> np.ndarray:
    """n unit vectors from the object towards the camera (icosphere when n is 12/42/162/642)."""
    if n < 1:
        raise ValueError("at least one view is needed")
    return icosphere(ICOSPHERE_COUNTS[n]) if n in ICOSPHERE_COUNTS else fibonacci_sphere(n)


def look_at_opencv(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """world_from_camera (4x4) of a camera at ``eye`` looking at ``target``: x right, y down, z forward."""
    z = target - eye
    z = z / np.linalg.norm(z)
    up = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.99 else np.array([0.0, 1.0, 0.0])
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, eye
    return m


def template_poses(size: tuple[float, float, float], n_views: int, fov_deg: float, margin: float = 1.05) -> np.ndarray:
    """Camera poses around an asset of ``size`` (asset frame): float32 [n, 4, 4].

    Cameras look at the bounding-box centre from a distance at which the bounding sphere
    just fits the field of view, so the object fills the frame at every angle.
    """
    centre = np.array([0.0, 0.0, size[2] / 2])
    radius = max(0.5 * float(np.linalg.norm(size)), 1e-3)
    distance = margin * radius / math.sin(math.radians(fov_deg) / 2)
    return np.stack([look_at_opencv(centre + distance * d, centre) for d in view_directions(n_views)]).astype(np.float32)


def intrinsics(resolution: int, fov_deg: float) -> np.ndarray:
    """3x3 K for a square image of ``resolution`` pixels and horizontal field of view."""
    f = (resolution / 2) / math.tan(math.radians(fov_deg) / 2)
    return np.array([[f, 0, resolution / 2], [0, f, resolution / 2], [0, 0, 1]], dtype=np.float64)


BLENDER_FROM_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])
