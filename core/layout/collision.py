"""Collision queries behind a small interface, with Blender's BVH trees as the implementation.

Why a containment test and a margin: ``BVHTree.overlap`` reports only *crossing* triangles,
so it says nothing when one object sits wholly inside another, and it is unreliable for
coplanar or just-touching faces (see ENVIRONMENT.md). This world therefore

* shrinks every proxy by ``margin / 2`` per side (in metres, after scaling) before building its
  tree, so objects that merely touch (a lamp on a table, a sofa against a sofa) never count,
  and two boxes collide exactly when they interpenetrate by more than ``margin`` on every axis;
* adds a point-in-mesh test (ray parity) both ways, which catches a box inside a box.

The unshrunk tree answers "what surface is under this point" for resting objects on others.
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from .geometry import Pose, transform_points
from .mathutils_loader import load_mathutils

_RAY_DIR = np.array([0.311, 0.473, 0.825]) / np.linalg.norm([0.311, 0.473, 0.825])  # skewed: misses edges


class CollisionWorld(Protocol):
    """What the solver and the metrics ask of a collision backend."""

    margin: float

    def set_object(self, oid: str, verts: np.ndarray, faces: np.ndarray, pose: Pose) -> None: ...

    def remove(self, oid: str) -> None: ...

    def bounds(self, oid: str) -> tuple[np.ndarray, np.ndarray]: ...

    def collide(self, a: str, b: str) -> bool: ...

    def contains(self, outer: str, inner: str) -> bool: ...

    def colliding_pairs(self, skip: Callable[[str, str], bool] | None = None) -> list[tuple[str, str]]: ...

    def colliding_with(self, oid: str, skip: Callable[[str, str], bool] | None = None) -> list[str]: ...

    def surface_below(self, oid: str, points_xy: np.ndarray, z_from: float) -> list[float | None]: ...


class _Entry:
    """One object's world-space meshes; trees are built on first use."""

    __slots__ = ("exact", "shrunk", "faces", "lo", "hi", "_tree", "_exact_tree", "_probe")

    def __init__(self, exact: np.ndarray, shrunk: np.ndarray, faces: np.ndarray) -> None:
        self.exact, self.shrunk, self.faces = exact, shrunk, faces
        self.lo, self.hi = shrunk.min(axis=0), shrunk.max(axis=0)
        self._tree = self._exact_tree = None
        self._probe: list[np.ndarray] | None = None


class BvhCollisionWorld:
    """CollisionWorld on ``mathutils.bvhtree.BVHTree.FromPolygons`` over world-space proxy vertices."""

    def __init__(self, margin: float = 0.01) -> None:
        self.margin = float(margin)
        self._bvh = load_mathutils().bvhtree.BVHTree
        self._entries: dict[str, _Entry] = {}

    def set_object(self, oid: str, verts: np.ndarray, faces: np.ndarray, pose: Pose) -> None:
        """Put (or move) an object: proxy ``verts`` in the asset frame at catalogue size, placed by ``pose``."""
        scaled = np.asarray(verts, dtype=float) * pose.scale[None, :]
        lo, hi = scaled.min(axis=0), scaled.max(axis=0)
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        shrink = self.margin / 2
        factor = np.where(half > shrink, (half - shrink) / np.maximum(half, 1e-12), 1.0)
        shrunk = centre + (scaled - centre) * factor
        rigid = pose.rigid()
        self._entries[oid] = _Entry(transform_points(rigid, scaled), transform_points(rigid, shrunk),
                                    np.asarray(faces, dtype=np.int32))

    def remove(self, oid: str) -> None:
        self._entries.pop(oid, None)

    def ids(self) -> list[str]:
        return sorted(self._entries)

    def bounds(self, oid: str) -> tuple[np.ndarray, np.ndarray]:
        """World AABB of the exact (unshrunk) proxy."""
        e = self._entries[oid]
        return e.exact.min(axis=0), e.exact.max(axis=0)

    def world_verts(self, oid: str) -> np.ndarray:
        return self._entries[oid].exact

    def collide(self, a: str, b: str) -> bool:
        """Penetration deeper than the margin: crossing triangles, or one inside the other."""
        ea, eb = self._entries[a], self._entries[b]
        if np.any(ea.lo >= eb.hi) or np.any(eb.lo >= ea.hi):
            return False
        if self._tree(ea).overlap(self._tree(eb)):
            return True
        return self._inside(ea, eb) or self._inside(eb, ea)

    def contains(self, outer: str, inner: str) -> bool:
        """``inner`` lies wholly inside ``outer`` (no crossing triangles and a point of it inside)."""
        eo, ei = self._entries[outer], self._entries[inner]
        if np.any(ei.lo < eo.lo) or np.any(ei.hi > eo.hi):
            return False
        if self._tree(eo).overlap(self._tree(ei)):
            return False
        return self._point_inside(eo, ei.shrunk[0])

    def colliding_pairs(self, skip: Callable[[str, str], bool] | None = None) -> list[tuple[str, str]]:
        """All colliding pairs (a < b), sorted; ``skip(a, b)`` leaves out pairs allowed to touch."""
        ids = self.ids()
        if len(ids) < 2:
            return []
        lo = np.array([self._entries[i].lo for i in ids])
        hi = np.array([self._entries[i].hi for i in ids])
        overlap = np.all((lo[:, None, :] < hi[None, :, :]) & (lo[None, :, :] < hi[:, None, :]), axis=2)
        out = []
        for i, j in zip(*np.nonzero(np.triu(overlap, 1))):
            a, b = ids[i], ids[j]
            if skip is not None and skip(a, b):
                continue
            if self.collide(a, b):
                out.append((a, b))
        return out

    def colliding_with(self, oid: str, skip: Callable[[str, str], bool] | None = None) -> list[str]:
        """The objects ``oid`` collides with (sorted); ``skip(oid, other)`` leaves out allowed contacts."""
        e = self._entries[oid]
        out = []
        for other in self.ids():
            if other == oid:
                continue
            o = self._entries[other]
            if np.any(e.lo >= o.hi) or np.any(o.lo >= e.hi) or (skip is not None and skip(oid, other)):
                continue
            if self.collide(oid, other):
                out.append(other)
        return out

    def surface_below(self, oid: str, points_xy: np.ndarray, z_from: float) -> list[float | None]:
        """Height of the first surface of ``oid`` hit by a ray cast straight down from each point."""
        e = self._entries[oid]
        tree = self._exact(e)
        vec = load_mathutils().Vector
        down = vec((0.0, 0.0, -1.0))
        out: list[float | None] = []
        for x, y in np.asarray(points_xy, dtype=float):
            hit = tree.ray_cast(vec((x, y, z_from)), down)
            out.append(None if hit[0] is None else float(hit[0][2]))
        return out

    # -- internals ---------------------------------------------------------------------------------------
    def _tree(self, e: _Entry):  # noqa: ANN202 (a mathutils BVHTree)
        if e._tree is None:
            e._tree = self._bvh.FromPolygons(e.shrunk.tolist(), e.faces.tolist())
        return e._tree

    def _exact(self, e: _Entry):  # noqa: ANN202
        if e._exact_tree is None:
            e._exact_tree = self._bvh.FromPolygons(e.exact.tolist(), e.faces.tolist())
        return e._exact_tree

    def _probes(self, e: _Entry) -> list[np.ndarray]:
        """Points of ``e`` that lie inside or on it: a vertex, and its box centre when that is inside."""
        if e._probe is None:
            centre = (e.lo + e.hi) / 2
            e._probe = [e.shrunk[0]] + ([centre] if self._point_inside(e, centre) else [])
        return e._probe

    def _inside(self, outer: _Entry, inner: _Entry) -> bool:
        return any(self._point_inside(outer, p) for p in self._probes(inner))

    def _point_inside(self, e: _Entry, point: np.ndarray) -> bool:
        """Ray parity against the shrunk mesh (an odd number of crossings = inside)."""
        if np.any(point <= e.lo) or np.any(point >= e.hi):
            return False
        vec = load_mathutils().Vector
        tree = self._tree(e)
        direction = vec(_RAY_DIR.tolist())
        origin = vec(np.asarray(point, dtype=float).tolist())
        crossings = 0
        for _ in range(256):
            hit = tree.ray_cast(origin, direction)
            if hit[0] is None:
                break
            crossings += 1
            origin = hit[0] + direction * 1e-7
        return crossings % 2 == 1
