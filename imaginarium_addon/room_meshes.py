"""Floor, walls and ceiling as meshes sized to the room described by ``Layout.planes``.

Why this shape: perception rarely sees every wall, and plane extents are only the visible
part. The room footprint is therefore the intersection of the walls' inner half-planes
(``normal · x >= offset``, normals point into the room); a side that no wall closes is
bounded by what we know is inside the room (plane extents, the objects, the camera) plus a
margin. Walls are vertical (a slightly tilted wall normal from perception is made
horizontal), the floor is at the floor plane's height (z = 0 by the schema's convention) and
the ceiling is always built — at its plane's height, or ``DEFAULT_CEILING_M`` when the
layout has no ceiling plane. The geometry math is plain Python (testable without bpy); the
mesh functions turn it into ``bpy.types.Mesh`` with UVs in metres / ``TILE_M``.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

Point2 = tuple[float, float]
DEFAULT_CEILING_M = 2.7
DEFAULT_HALF_SIZE_M = 2.5
OPEN_SIDE_MARGIN_M = 0.5
TILE_M = 1.0
_FAR = 1000.0
_ON_LINE = 1e-4


def floor_height(planes: Sequence[Any]) -> float:
    """z of the floor plane (0 when there is none, as the schema's world frame says)."""
    for p in planes:
        if p.kind == "floor" and abs(p.normal[2]) > 1e-6:
            return p.offset / p.normal[2]
    return 0.0


def ceiling_height(planes: Sequence[Any], floor_z: float = 0.0) -> float:
    """z of the ceiling plane, or floor + DEFAULT_CEILING_M when the layout has none."""
    for p in planes:
        if p.kind == "ceiling" and abs(p.normal[2]) > 1e-6:
            z = p.offset / p.normal[2]
            if z > floor_z + 0.5:
                return z
    return floor_z + DEFAULT_CEILING_M


def wall_line(plane: Any) -> tuple[float, float, float] | None:
    """(nx, ny, d): the wall's horizontal inner half-plane nx·x + ny·y >= d, or None if it is not a wall."""
    nx, ny = plane.normal[0], plane.normal[1]
    length = math.hypot(nx, ny)
    if length < 0.2:  # closer to horizontal than ~78°: not usable as a wall
        return None
    return nx / length, ny / length, plane.offset / length


def _clip(poly: list[Point2], a: float, b: float, d: float) -> list[Point2]:
    """Keep the part of a convex polygon with a·x + b·y >= d (Sutherland–Hodgman, one edge)."""
    out: list[Point2] = []
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        sp, sq = a * p[0] + b * p[1] - d, a * q[0] + b * q[1] - d
        if sp >= 0:
            out.append(p)
        if (sp >= 0) != (sq >= 0):
            t = sp / (sp - sq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def room_polygon(planes: Sequence[Any], hints: Iterable[Sequence[float]] = ()) -> list[Point2]:
    """The room's footprint, counter-clockwise seen from above.

    ``hints`` are world points known to be inside the room (object positions, the camera);
    they bound the sides no wall closes.
    """
    pts = [(float(h[0]), float(h[1])) for h in hints]
    for p in planes:
        pts.extend((float(e[0]), float(e[1])) for e in p.extent)
    if pts:
        lo = (min(p[0] for p in pts) - OPEN_SIDE_MARGIN_M, min(p[1] for p in pts) - OPEN_SIDE_MARGIN_M)
        hi = (max(p[0] for p in pts) + OPEN_SIDE_MARGIN_M, max(p[1] for p in pts) + OPEN_SIDE_MARGIN_M)
    else:
        lo, hi = (-DEFAULT_HALF_SIZE_M, -DEFAULT_HALF_SIZE_M), (DEFAULT_HALF_SIZE_M, DEFAULT_HALF_SIZE_M)
    poly: list[Point2] = [(-_FAR, -_FAR), (_FAR, -_FAR), (_FAR, _FAR), (-_FAR, _FAR)]
    for p in planes:
        line = wall_line(p) if p.kind == "wall" else None
        if line is not None:
            poly = _clip(poly, *line)
    # Sides that no wall closed are still ~_FAR away: bound them by the hints' box.
    for (a, b), bound in (((1.0, 0.0), lo[0]), ((-1.0, 0.0), -hi[0]), ((0.0, 1.0), lo[1]), ((0.0, -1.0), -hi[1])):
        if poly and min(a * x + b * y for x, y in poly) < bound - 0.25 * _FAR:
            poly = _clip(poly, a, b, bound)
    return _dedupe(poly)


def _dedupe(poly: list[Point2]) -> list[Point2]:
    out: list[Point2] = []
    for p in poly:
        if not out or math.dist(p, out[-1]) > 1e-6:
            out.append(p)
    if len(out) > 1 and math.dist(out[0], out[-1]) <= 1e-6:
        out.pop()
    return out


def wall_segment(plane: Any, poly: Sequence[Point2]) -> tuple[Point2, Point2] | None:
    """The polygon edge that lies on this wall, or None when the wall does not bound the room."""
    line = wall_line(plane)
    if line is None:
        return None
    a, b, d = line
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        if abs(a * p[0] + b * p[1] - d) < _ON_LINE and abs(a * q[0] + b * q[1] - d) < _ON_LINE:
            if math.dist(p, q) > 1e-4:
                return p, q
    return None


def _mesh(name: str, verts: list[tuple[float, float, float]], faces: list[tuple[int, ...]],
          uvs: list[tuple[float, float]]) -> Any:
    import bpy

    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    layer = mesh.uv_layers.new(name="UVMap")
    for loop in mesh.loops:
        layer.data[loop.index].uv = uvs[loop.vertex_index]
    mesh.update()
    return mesh


def floor_mesh(name: str, poly: Sequence[Point2], z: float) -> Any:
    """Horizontal polygon facing up (into the room)."""
    verts = [(x, y, z) for x, y in poly]
    return _mesh(name, verts, [tuple(range(len(poly)))], [(x / TILE_M, y / TILE_M) for x, y in poly])


def ceiling_mesh(name: str, poly: Sequence[Point2], z: float) -> Any:
    """Horizontal polygon facing down (into the room): the floor's winding reversed."""
    verts = [(x, y, z) for x, y in poly]
    return _mesh(name, verts, [tuple(reversed(range(len(poly))))], [(x / TILE_M, y / TILE_M) for x, y in poly])


def wall_mesh(name: str, seg: tuple[Point2, Point2], z0: float, z1: float, normal: Sequence[float]) -> Any:
    """A vertical quad from floor to ceiling whose face normal is the wall's inner normal."""
    (x0, y0), (x1, y1) = seg
    length = math.dist(seg[0], seg[1])
    verts = [(x0, y0, z0), (x1, y1, z0), (x1, y1, z1), (x0, y0, z1)]
    uvs = [(0.0, z0 / TILE_M), (length / TILE_M, z0 / TILE_M), (length / TILE_M, z1 / TILE_M), (0.0, z1 / TILE_M)]
    # Winding (p0, p1, p1+up, p0+up) has normal (p1 - p0) × up = (dy, -dx, 0); flip it if it points out.
    face: tuple[int, ...] = (0, 1, 2, 3)
    if (y1 - y0) * normal[0] - (x1 - x0) * normal[1] < 0:
        face = (3, 2, 1, 0)
    return _mesh(name, verts, [face], uvs)
