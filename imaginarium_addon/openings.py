"""Windows and doors open their walls; labels that map to no asset become labelled boxes.

Why here and not in the solver: the solver places a window or door flush in its wall like any
wall-hung object; only the builder knows the wall is a mesh that would hide it and block the
daylight. So each window or door placement cuts a rectangular opening (its box projected on
the wall, clipped to the wall) and each window becomes a :class:`lights.WindowOpening` that
the lights module fills with daylight.

Placeholders: a detection whose label maps to no library asset arrives as a placement whose
``asset_id`` is ``"placeholder:<label>"``; it is built as a grey box of its observed size
(``Placement.box``), named and labelled in the viewport, with a note.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

from mathutils import Matrix, Vector

from . import layout_props as lp, room_meshes
from .lights import WindowOpening

PLACEHOLDER = "placeholder:"
DEFAULT_PLACEHOLDER_M = 0.5
_OPENING = re.compile(r"\b(window|door)s?\b")


def is_placeholder(asset_id: str) -> bool:
    return str(asset_id).startswith(PLACEHOLDER)


def placeholder_label(asset_id: str) -> str:
    return str(asset_id)[len(PLACEHOLDER):].strip() or "object"


def asset_size(p: Any, assets: Mapping[str, Any]) -> tuple[float, float, float]:
    """The placement's size in its asset frame (before ``Placement.scale``).

    A placeholder's is its observed world box divided by its scale, so the built box measures
    what was observed; without a box it is a 0.5 m cube (and the builder notes it).
    """
    if not is_placeholder(p.asset_id):
        return tuple(float(s) for s in assets[p.asset_id].size)  # type: ignore[return-value]
    if p.box is None:
        return (DEFAULT_PLACEHOLDER_M,) * 3  # type: ignore[return-value]
    return tuple(max(float(s), 0.01) / float(k) for s, k in zip(p.box.size, p.scale))  # type: ignore[return-value]


def label_text(p: Any, assets: Mapping[str, Any]) -> str:
    """What the object is, in words: the placeholder's label or the asset's class and retrieval class."""
    if is_placeholder(p.asset_id):
        return placeholder_label(p.asset_id)
    rec = assets.get(p.asset_id)
    return " ".join(str(getattr(rec, f, "") or "") for f in ("class_name", "retrieval_class")) if rec else ""


def opening_kind(p: Any, assets: Mapping[str, Any]) -> str | None:
    """``"window"`` or ``"door"`` when the placement is one, else None."""
    m = _OPENING.search(label_text(p, assets).lower())
    return m.group(1) if m else None


def world_corners(p: Any, assets: Mapping[str, Any]) -> list[tuple[float, float, float]]:
    """The 8 corners of the placed object's box in the world (``Placement.box`` when the layout gives one)."""
    if p.box is not None:
        c, (sx, sy, sz), yaw = Vector(p.box.center), p.box.size, float(p.box.yaw)
        rot = Matrix.Rotation(yaw, 3, "Z")
        return [tuple(c + rot @ Vector((ax * sx / 2, ay * sy / 2, az * sz / 2)))
                for ax in (-1, 1) for ay in (-1, 1) for az in (-1, 1)]
    sx, sy, sz = asset_size(p, assets)
    m = lp.world_matrix(p.transform, p.scale)
    return [tuple(m @ Vector((ax * sx / 2, ay * sy / 2, z))) for ax in (-1, 1) for ay in (-1, 1) for z in (0.0, sz)]


def find_openings(placements: Sequence[Any], assets: Mapping[str, Any], walls: Mapping[str, tuple[Any, Any]],
                  z0: float, z1: float, notes: list[str]) -> tuple[dict[str, list[tuple]], list[WindowOpening]]:
    """Openings per wall id and the windows among them.

    ``walls``: wall id → (Plane, segment) of the walls that bound the room. A window or door
    that is near no wall is noted and opens nothing.
    """
    per_wall: dict[str, list[tuple]] = {}
    windows: list[WindowOpening] = []
    for p in placements:
        kind = opening_kind(p, assets)
        if kind is None:
            continue
        corners = world_corners(p, assets)
        centre = [sum(c[i] for c in corners) / 8 for i in range(3)]
        order = sorted(walls, key=lambda wid: (wid not in p.walls, _distance(walls[wid][0], centre)))
        for wid in order:
            plane, seg = walls[wid]
            hole = room_meshes.opening_on_wall(seg, plane.normal, corners, z0, z1)
            if hole is None:
                continue
            per_wall.setdefault(wid, []).append(hole)
            if kind == "window":
                inset = max(0.0, max(_signed(plane, c) for c in corners)) + 0.01
                windows.append(_window(p.object_id, plane, seg, hole, min(inset, 0.5)))
            break
        else:
            notes.append(f"{p.object_id}: a {kind} that stands in no wall; no opening was cut.")
    return per_wall, windows


def _signed(plane: Any, point: Sequence[float]) -> float:
    """How far ``point`` lies inside the room from the wall (negative: behind it)."""
    n = math.hypot(plane.normal[0], plane.normal[1]) or 1.0
    return (plane.normal[0] * point[0] + plane.normal[1] * point[1] - plane.offset) / n


def _distance(plane: Any, point: Sequence[float]) -> float:
    return abs(_signed(plane, point))


def _window(object_id: str, plane: Any, seg: tuple, hole: tuple, inset: float) -> WindowOpening:
    (x0, y0), (x1, y1) = seg
    length = math.dist(seg[0], seg[1])
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    u, z = (hole[0] + hole[1]) / 2, (hole[2] + hole[3]) / 2
    n = Vector((plane.normal[0], plane.normal[1], 0.0)).normalized()
    return WindowOpening(object_id, (x0 + ux * u, y0 + uy * u, z), tuple(n), (ux, uy, 0.0),
                         hole[1] - hole[0], hole[3] - hole[2], inset)


def placeholder_mesh(label: str, size: Sequence[float]) -> Any:
    """A box mesh in the asset frame (bottom centre at the origin), shared by equal label and size."""
    import bpy

    key = f"{label}|{tuple(round(float(s), 4) for s in size)}"
    for mesh in bpy.data.meshes:
        if mesh.get(lp.PREFIX + "placeholder") == key:
            return mesh
    sx, sy, sz = (float(s) / 2 for s in size)
    verts = [(x * sx, y * sy, (z + 1) * sz) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = bpy.data.meshes.new(f"placeholder {label}")
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    mesh[lp.PREFIX + "placeholder"] = key
    mat = bpy.data.materials.get("Imaginarium placeholder") or bpy.data.materials.new("Imaginarium placeholder")
    mat.diffuse_color = (0.6, 0.6, 0.65, 1.0)
    mesh.materials.append(mat)
    return mesh
