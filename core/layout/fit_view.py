"""What the fit looks through: the camera with its depth map, and the proxy as surface samples.

Why samples and a z-buffer instead of triangles: the fit asks thousands of times "which part of
the proxy would the camera see, and where is the nearest of it", and a few thousand
area-weighted surface samples answer that in microseconds with numpy; a coarse z-buffer of them
gives the camera-facing surface (self-occluded parts never attract observed points), and a
k-d tree over them in the asset frame is built once per asset.

Depth for free space is read as the *nearest* depth within a few pixels, so a proxy point on the
object's silhouette never counts as standing in the free space just beside it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..geometry.amodal import border_margin_px
from ..schema import Camera

FREE_SPACE_RADIUS_PX = 0
GRID_CELLS = 28    # cells along the longest side of a surface's lookup grid
GRID_PAD_M = 0.15  # the grid reaches this far (plus a quarter of the size) beyond the proxy
NEAR_K = 6         # candidate samples per grid cell


class NearestIndex:
    """Nearest-neighbour queries over fixed points: scipy's cKDTree, or a chunked brute force without scipy
    (Blender's bundled Python has numpy only)."""

    def __init__(self, points: np.ndarray) -> None:
        self.points = np.ascontiguousarray(points, dtype=np.float64)
        try:
            from scipy.spatial import cKDTree
        except ImportError:
            self._tree = None
        else:
            self._tree = cKDTree(self.points)

    def query(self, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(distances, indices), each (n,) for k = 1 or (n, k)."""
        k = min(k, len(self.points))
        if self._tree is not None:
            d, i = self._tree.query(queries, k=k)
            return d, i
        q = np.asarray(queries, dtype=np.float64)
        dist = np.empty((len(q), k))
        idx = np.empty((len(q), k), dtype=np.int64)
        for s in range(0, len(q), 256):
            d2 = ((q[s:s + 256, None, :] - self.points[None, :, :]) ** 2).sum(axis=2)
            part = np.argsort(d2, axis=1)[:, :k]
            idx[s:s + 256] = part
            dist[s:s + 256] = np.sqrt(np.take_along_axis(d2, part, axis=1))
        return (dist[:, 0], idx[:, 0]) if k == 1 else (dist, idx)


@dataclass
class FitView:
    """The camera that saw the points (OpenCV axes) and its depth map; no depth: no free-space term."""

    camera: Camera
    depth: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.world_from_camera = np.asarray(self.camera.world_from_camera, dtype=np.float64)
        self.rot = self.world_from_camera[:3, :3]
        self.centre = self.world_from_camera[:3, 3]
        self.near_depth = None
        if self.depth is not None:
            d = np.asarray(self.depth, dtype=np.float64)
            self.near_depth = min_filter(np.where(np.isfinite(d) & (d > 1e-3), d, np.nan), FREE_SPACE_RADIUS_PX)

    def project(self, world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel coordinates (continuous, origin at the image's top-left corner) and z-depth of world points."""
        c = (world - self.centre) @ self.rot
        z = c[:, 2]
        safe = np.where(z > 1e-6, z, 1e-6)
        k = self.camera
        return k.fx * c[:, 0] / safe + k.cx, k.fy * c[:, 1] / safe + k.cy, z

    def unproject(self, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> np.ndarray:
        """World points at z-depth ``z`` on the rays through pixel positions (u, v)."""
        k = self.camera
        cam = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z], axis=1)
        return cam @ self.rot.T + self.centre

    def observed_depth(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Nearest observed depth around each pixel position (NaN outside the image or where unknown)."""
        out = np.full(len(u), np.nan)
        if self.near_depth is None:
            return out
        h, w = self.near_depth.shape
        i = np.floor(u * (w / self.camera.width)).astype(np.int64)
        j = np.floor(v * (h / self.camera.height)).astype(np.int64)
        ok = (i >= 0) & (i < w) & (j >= 0) & (j < h)
        out[ok] = self.near_depth[j[ok], i[ok]]
        return out

    def horizontal_view_dir(self, target: np.ndarray) -> np.ndarray:
        """Unit horizontal direction from the camera towards ``target`` (the optical axis if right below)."""
        d = np.asarray(target, dtype=float)[:2] - self.centre[:2]
        if np.linalg.norm(d) < 1e-6:
            d = self.rot[:2, 2]
        return d / max(float(np.linalg.norm(d)), 1e-12)


def min_filter(depth: np.ndarray, r: int) -> np.ndarray:
    """Minimum over a (2r+1)² window, ignoring unknown (NaN) pixels (separable, numpy only)."""
    if r <= 0:
        return depth
    d = np.where(np.isnan(depth), np.inf, depth)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        p = np.pad(d, pad, constant_values=np.inf)
        n = d.shape[axis]
        d = np.min([np.take(p, range(k, k + n), axis=axis) for k in range(2 * r + 1)], axis=0)
    return np.where(np.isfinite(d), d, np.nan)


@dataclass
class Surface:
    """Area-weighted samples of a proxy's surface in the asset frame (catalogue size), with face normals."""

    points: np.ndarray
    normals: np.ndarray
    lo: np.ndarray = field(init=False)
    hi: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.lo, self.hi = self.points.min(axis=0), self.points.max(axis=0)
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._coarse: dict[int, Surface] = {}

    def coarse(self, n: int = 500) -> "Surface":
        """A thinner surface (the first ``n`` samples: an area-weighted subset, samples come shuffled)."""
        if len(self.points) <= n:
            return self
        if n not in self._coarse:
            self._coarse[n] = Surface(self.points[:n], self.normals[:n])
        return self._coarse[n]

    def near_samples(self, local: np.ndarray) -> np.ndarray:
        """Indices (n, NEAR_K) of samples near each asset-frame point: the nearest ones to its grid cell.

        A lookup table over a padded grid, built once per surface, turns the fit's thousands of
        nearest-neighbour queries into one gather each; the caller measures the exact distance to
        these few candidates itself. Points beyond the grid read its border cells (they are far
        from everything, and the robust weights ignore them).
        """
        if self._grid is None:
            self._grid = self._build_grid()
        origin, cell, table = self._grid
        shape = np.array(table.shape[:3])
        ijk = np.clip(np.floor((local - origin) / cell).astype(np.int64), 0, shape - 1)
        return table[ijk[:, 0], ijk[:, 1], ijk[:, 2]]

    def _build_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        extent = self.hi - self.lo
        pad = GRID_PAD_M + 0.25 * extent
        origin = self.lo - pad
        span = extent + 2 * pad
        cell = np.full(3, max(float(span.max()) / GRID_CELLS, 1e-3))
        shape = np.maximum(np.ceil(span / cell).astype(np.int64), 1)
        centres = np.stack(np.meshgrid(*[origin[a] + (np.arange(shape[a]) + 0.5) * cell[a] for a in range(3)],
                                       indexing="ij"), axis=-1).reshape(-1, 3)
        _, idx = NearestIndex(self.points).query(centres, k=NEAR_K)
        return origin, cell, np.asarray(idx, dtype=np.int32).reshape(*shape, NEAR_K)


def sample_surface(verts: np.ndarray, faces: np.ndarray, n: int = 2000, seed: int = 0) -> Surface:
    """``n`` points spread over the mesh by area (the same points for the same seed)."""
    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cross = np.cross(b - a, c - a)
    area = np.linalg.norm(cross, axis=1) / 2
    ok = area > 1e-12
    if not ok.any():
        raise ValueError("the proxy has no triangle with an area")
    a, b, c, cross, area = a[ok], b[ok], c[ok], cross[ok], area[ok]
    normals = cross / (2 * area[:, None])
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(area), size=n, p=area / area.sum())
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    pts = (1 - r1)[:, None] * a[pick] + (r1 * (1 - r2))[:, None] * b[pick] + (r1 * r2)[:, None] * c[pick]
    return Surface(pts, normals[pick])


def visible_mask(u: np.ndarray, v: np.ndarray, z: np.ndarray, fx: float, cells: int) -> np.ndarray:
    """Samples nearest to the camera in their cell of a coarse z-buffer over the object's image footprint.

    Cells are sized so that each holds a few samples; a sample is seen when it is within a cell's
    width in metres (at least 3 cm) of its cell's nearest sample.
    """
    front = z > 0.05
    out = np.zeros(len(z), bool)
    if front.sum() < 3:
        return out
    uf, vf, zf = u[front], v[front], z[front]
    span = max(float(uf.max() - uf.min()), float(vf.max() - vf.min()), 1e-6)
    size = span / cells
    cell = (np.floor((vf - vf.min()) / size).astype(np.int64) * (cells + 1)
            + np.floor((uf - uf.min()) / size).astype(np.int64))
    zmin = np.full((cells + 1) ** 2, np.inf)
    np.minimum.at(zmin, cell, zf)
    tol = np.maximum(0.03, 1.5 * size * zf / fx)
    out[np.flatnonzero(front)] = zf <= zmin[cell] + tol
    return out


class ObjectMask:
    """The object's pixels, grown by a few pixels (a detector's border is never exact), and its border.

    Answers the two questions the fit asks of a proxy point it projects into the image: is this
    pixel the object's, and which of the object's border pixels is nearest (where to move to).
    """

    def __init__(self, mask: np.ndarray, view: FitView, grow_px: int = 3, limit: int = 3000) -> None:
        m = np.asarray(mask, bool)
        self.sx, self.sy = m.shape[1] / view.camera.width, m.shape[0] / view.camera.height
        self.own = m
        self.grown = _grow(m, grow_px)
        margin = border_margin_px(m.shape[1])
        self.cut_sideways = bool(m[:, :margin + 1].any() or m[:, -margin - 1:].any())  # runs into the left or right edge
        self._nearest = _nearest_pixel_map(m)
        self._index = None
        self.border = np.zeros((0, 2))  # border pixels: listed only for the fallback below
        if self._nearest is None:  # without scipy: a nearest-neighbour index over the border pixels
            p = np.pad(m, 1, constant_values=False)
            inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
            vs, us = np.nonzero(m & ~inner)
            if len(vs) > limit:
                keep = np.linspace(0, len(vs) - 1, limit).astype(np.int64)
                vs, us = vs[keep], us[keep]
            self.border = np.stack([(us + 0.5) / self.sx, (vs + 0.5) / self.sy], axis=1)  # in the view's pixels
            self._index = NearestIndex(self.border) if len(self.border) else None

    def inside(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(on the object's own pixels, on them or within the grown border) for pixel positions."""
        h, w = self.grown.shape
        i = np.clip(np.floor(u * self.sx).astype(np.int64), 0, w - 1)
        j = np.clip(np.floor(v * self.sy).astype(np.int64), 0, h - 1)
        return self.own[j, i], self.grown[j, i]

    def nearest_border(self, u: np.ndarray, v: np.ndarray) -> np.ndarray | None:
        """(n, 2) nearest border pixel centres, or None when the mask is empty."""
        if self._nearest is not None:
            (r0, c0), idx = self._nearest
            h, w = idx.shape[1:]
            i = np.clip(np.floor(u * self.sx).astype(np.int64) - c0, 0, w - 1)
            j = np.clip(np.floor(v * self.sy).astype(np.int64) - r0, 0, h - 1)
            rows, cols = idx[0, j, i] + r0, idx[1, j, i] + c0
            return np.stack([(cols + 0.5) / self.sx, (rows + 0.5) / self.sy], axis=1)
        if self._index is None:
            return None
        _, k = self._index.query(np.stack([u, v], axis=1))
        return self.border[k]


def _nearest_pixel_map(mask: np.ndarray) -> tuple[tuple[int, int], np.ndarray] | None:
    """For every pixel of a window around the mask, the nearest mask pixel (a border pixel when outside it).

    Why a lookup map: the fit asks this for hundreds of proxy points in each of its ~40 cost
    evaluations; one Euclidean distance transform answers all of them with a gather (a k-d tree
    query each time cost a quarter of the fit). The window reaches the mask's own size beyond its
    box on every side; farther points read the window's edge, which points the same way.
    None without scipy or for an empty mask.
    """
    try:
        from scipy.ndimage import distance_transform_edt
    except ImportError:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    dh, dw = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    r0, r1 = max(0, rows[0] - dh), min(mask.shape[0], rows[-1] + 1 + dh)
    c0, c1 = max(0, cols[0] - dw), min(mask.shape[1], cols[-1] + 1 + dw)
    idx = distance_transform_edt(~mask[r0:r1, c0:c1], return_distances=False, return_indices=True)
    return (int(r0), int(c0)), idx


def _grow(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask
    for _ in range(r):
        p = np.pad(out, 1, constant_values=False)
        out = p[1:-1, 1:-1] | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return out


def rot_z(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
