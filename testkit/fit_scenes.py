"""Test-only scenes for the fit: a chair-shaped proxy made of boxes and an independent depth renderer.

The renderer casts one ray per pixel centre against every triangle (Möller–Trumbore, numpy), so
the depth the fit sees is made without any code of the fit.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.layout.geometry import box_proxy
from ..core.schema import Camera


def boxes_mesh(parts: list[tuple[tuple[float, float, float], tuple[float, float, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Union (not merged) of axis boxes given as (bottom centre, size), in the asset frame."""
    verts, faces = [], []
    for (cx, cy, cz), size in parts:
        v, f = box_proxy(size)
        faces.append(f + sum(len(x) for x in verts))
        verts.append(v + np.array([cx, cy, cz]))
    return np.concatenate(verts), np.concatenate(faces)


def chair(w: float = 0.5, d: float = 0.52, h: float = 0.9, seat: float = 0.46) -> tuple[np.ndarray, np.ndarray]:
    """Four legs, a seat, two back posts and three slats at +Y (the front faces −Y): 10 boxes, 120 triangles,
    clearly not symmetric front to back."""
    t = 0.04
    legs = [((sx * (w / 2 - t / 2), sy * (d / 2 - t / 2), 0.0), (t, t, seat - 0.05)) for sx in (-1, 1) for sy in (-1, 1)]
    back_y = d / 2 - t / 2
    posts = [((sx * (w / 2 - t / 2), back_y, seat), (t, t, h - seat)) for sx in (-1, 1)]
    slats = [((0.0, back_y, seat + (h - seat) * f), (w - 2 * t, t * 0.6, 0.08)) for f in (0.25, 0.55, 0.82)]
    return boxes_mesh(legs + [((0.0, 0.0, seat - 0.05), (w, d, 0.05))] + posts + slats)


def subdivide(verts: np.ndarray, faces: np.ndarray, times: int) -> tuple[np.ndarray, np.ndarray]:
    """Each triangle into four, ``times`` times (more faces, same shape)."""
    v, f = list(map(tuple, verts)), faces.copy()
    for _ in range(times):
        index = {p: i for i, p in enumerate(v)}
        new = []

        def mid(a: int, b: int) -> int:
            p = tuple((np.asarray(v[a]) + np.asarray(v[b])) / 2)
            if p not in index:
                index[p] = len(v)
                v.append(p)
            return index[p]
        for a, b, c in f:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
        f = np.array(new, dtype=np.int32)
    return np.array(v), f


def camera(width: int = 160, height: int = 120, hfov_deg: float = 70.0, position=(0.0, -2.6, 1.4),
           target=(0.0, 0.0, 0.4)) -> Camera:
    f = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    pos, tgt = np.asarray(position, float), np.asarray(target, float)
    fwd = (tgt - pos) / np.linalg.norm(tgt - pos)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, down, fwd, pos
    return Camera(f, f, width / 2, height / 2, width, height, m.tolist())


def render(cam: Camera, meshes: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """z-depth (0 where nothing is hit) and owner index per pixel for world-space meshes."""
    m = np.asarray(cam.world_from_camera, float)
    u, v = np.meshgrid(np.arange(cam.width) + 0.5, np.arange(cam.height) + 0.5)
    d_cam = np.stack([(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, np.ones_like(u)], -1).reshape(-1, 3)
    dirs = d_cam @ m[:3, :3].T
    origin = m[:3, 3]
    best = np.full(len(dirs), np.inf)
    owner = np.full(len(dirs), -1)
    for k, (verts, faces) in enumerate(meshes):
        rays = _rays_near(cam, m, verts)  # only the pixels the mesh can cover
        a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
        e1, e2 = b - a, c - a
        d = dirs[rays]
        for s in range(0, len(faces), 64):
            sl = slice(s, s + 64)
            p = np.cross(d[:, None, :], e2[None, sl])
            det = np.einsum("nfk,fk->nf", p, e1[sl])
            ok = np.abs(det) > 1e-12
            inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
            tvec = origin - a[sl]
            uu = np.einsum("fk,nfk->nf", tvec, p) * inv
            q = np.cross(tvec, e1[sl])
            vv = np.einsum("nk,fk->nf", d, q) * inv
            t = np.einsum("fk,fk->f", e2[sl], q)[None, :] * inv
            hit = ok & (uu >= 0) & (vv >= 0) & (uu + vv <= 1) & (t > 1e-6)
            t = np.where(hit, t, np.inf)
            tmin = t.min(axis=1)
            closer = tmin < best[rays]
            best[rays[closer]] = tmin[closer]
            owner[rays[closer]] = k
    depth = np.where(np.isfinite(best), best, 0.0)  # d_cam has z = 1, so t is already the z-depth
    return depth.reshape(cam.height, cam.width), owner.reshape(cam.height, cam.width)


def _rays_near(cam: Camera, m: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Indices of the pixels inside the mesh's projected bounding box (all pixels if it reaches behind the camera)."""
    c = (np.asarray(verts) - m[:3, 3]) @ m[:3, :3]
    every = np.arange(cam.width * cam.height)
    if np.any(c[:, 2] <= 1e-3):
        return every
    u = cam.fx * c[:, 0] / c[:, 2] + cam.cx
    v = cam.fy * c[:, 1] / c[:, 2] + cam.cy
    i0, i1 = max(0, int(u.min()) - 1), min(cam.width, int(np.ceil(u.max())) + 1)
    j0, j1 = max(0, int(v.min()) - 1), min(cam.height, int(np.ceil(v.max())) + 1)
    if i0 >= i1 or j0 >= j1:
        return every[:0]
    jj, ii = np.meshgrid(np.arange(j0, j1), np.arange(i0, i1), indexing="ij")
    return (jj * cam.width + ii).ravel()


def place(verts: np.ndarray, yaw: float, position, scale) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    r = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    return (np.asarray(verts) * np.asarray(scale)) @ r.T + np.asarray(position)


def floor_mesh(half: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    v = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]], float)
    return v, np.array([[0, 1, 2], [0, 2, 3]], np.int32)
