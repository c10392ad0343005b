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


Opening = tuple[float, float, float, float]  # (u0, u1, z0, z1): metres along the wall from its first end, heights
MIN_OPENING_M = 0.05     # an opening narrower or lower than this is noise, not a window
OPENING_DEPTH_M = 0.35   # how far off its wall an object may stand and still open it (the solver puts it flush)


def opening_on_wall(seg: tuple[Point2, Point2], normal: Sequence[float], corners: Iterable[Sequence[float]],
                    z0: float, z1: float) -> Opening | None:
    """The rectangle an object's box cuts into a wall: its corners projected onto the wall, clipped to it.

    ``corners``: the box's world corners (8 points). None when the box is too far from the
    wall's plane (it is not in this wall) or its projection misses the wall.
    """
    (x0, y0), (x1, y1) = seg
    length = math.dist(seg[0], seg[1])
    if length < 1e-6:
        return None
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    n = math.hypot(normal[0], normal[1]) or 1.0
    nx, ny = normal[0] / n, normal[1] / n
    pts = [tuple(c) for c in corners]
    dist = [(p[0] - x0) * nx + (p[1] - y0) * ny for p in pts]  # signed, into the room
    if min(dist) > OPENING_DEPTH_M or max(dist) < -OPENING_DEPTH_M:
        return None
    us = [(p[0] - x0) * ux + (p[1] - y0) * uy for p in pts]
    zs = [p[2] for p in pts]
    u0, u1 = max(0.0, min(us)), min(length, max(us))
    za, zb = max(z0, min(zs)), min(z1, max(zs))
    if u1 - u0 < MIN_OPENING_M or zb - za < MIN_OPENING_M:
        return None
    return (u0, u1, za, zb)


def wall_grid(length: float, z0: float, z1: float,
              openings: Sequence[Opening] = ()) -> tuple[list[float], list[float], list[tuple[int, int]]]:
    """The wall as a grid of cells cut at every opening edge, and the cells that stay solid.

    Why a grid: every opening's edges run through the whole wall, so neighbouring cells share
    their vertices (no T-junctions, no cracks in Cycles) and any number of openings, even
    overlapping ones, is just a set of cells left out. Returns (us, zs, [(i, j) solid cells]).
    """
    us = sorted({0.0, length, *[min(max(o[k], 0.0), length) for o in openings for k in (0, 1)]})
    zs = sorted({z0, z1, *[min(max(o[k], z0), z1) for o in openings for k in (2, 3)]})
    us = _merge_close(us)
    zs = _merge_close(zs)
    solid = []
    for i in range(len(us) - 1):
        for j in range(len(zs) - 1):
            cu, cz = (us[i] + us[i + 1]) / 2, (zs[j] + zs[j + 1]) / 2
            if not any(o[0] < cu < o[1] and o[2] < cz < o[3] for o in openings):
                solid.append((i, j))
    return us, zs, solid


def _merge_close(values: list[float], tol: float = 1e-5) -> list[float]:
    """Sorted values without near-duplicates; the first and last stay exact (the wall's ends)."""
    out: list[float] = []
    for v in values:
        if not out or v - out[-1] > tol:
            out.append(v)
    if len(out) > 1:
        out[-1] = values[-1]
    return out


def wall_mesh(name: str, seg: tuple[Point2, Point2], z0: float, z1: float, normal: Sequence[float],
              openings: Sequence[Opening] = ()) -> Any:
    """A vertical wall from floor to ceiling whose faces point along the wall's inner normal.

    Without openings it is one quad; with openings (windows, doors) it is the grid of
    :func:`wall_grid` minus the opening cells, so light passes through the holes.
    """
    (x0, y0), (x1, y1) = seg
    length = math.dist(seg[0], seg[1])
    us, zs, solid = wall_grid(length, z0, z1, openings)
    ux, uy = ((x1 - x0) / length, (y1 - y0) / length) if length > 0 else (0.0, 0.0)
    nz = len(zs)
    verts = [(x0 + ux * u, y0 + uy * u, z) for u in us for z in zs]
    uvs = [(u / TILE_M, z / TILE_M) for u in us for z in zs]
    # Winding (p0, p1, p1+up, p0+up) has normal (p1 - p0) × up = (dy, -dx, 0); flip it if it points out.
    flip = (y1 - y0) * normal[0] - (x1 - x0) * normal[1] < 0
    faces = []
    for i, j in solid:
        face = (i * nz + j, (i + 1) * nz + j, (i + 1) * nz + j + 1, i * nz + j + 1)
        faces.append(tuple(reversed(face)) if flip else face)
    used = sorted({v for f in faces for v in f})  # drop grid points only openings touch
    index = {v: k for k, v in enumerate(used)}
    return _mesh(name, [verts[v] for v in used], [tuple(index[v] for v in f) for f in faces], [uvs[v] for v in used])
