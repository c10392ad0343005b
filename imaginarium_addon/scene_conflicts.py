"""The artist's objects that a new room swallows: found and reported, never touched without a click.

Why: building into the open scene puts the room around whatever stands there — Blender's
startup cube sits in the middle of a new room and hides half the render; the startup light
adds its own 1000 W. The build lists such objects ("Cube is inside the room — hide it?") on
the run's collection; only the Hide Conflicting Objects button (:func:`hide`) changes them.

How: the room is a convex prism (its floor polygon between floor and ceiling height), an
object is its oriented bounding box; the two intersect unless a separating axis exists
(face normals of both and the cross products of their edge directions). Touching counts:
an object coplanar with the floor would flicker against it.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import bpy
import numpy as np

from . import layout_props as lp

CONFLICTS = lp.PREFIX + "conflicts"   # JSON list of {"name", "type", "message"} on the run collection
GEOMETRY = {"MESH", "CURVE", "SURFACE", "META", "FONT", "VOLUME", "POINTCLOUD", "CURVES", "GPENCIL", "GREASEPENCIL"}
_EPS = 1e-4


def _is_ours(obj: bpy.types.Object) -> bool:
    if obj.get(lp.ROLE) or obj.get(lp.RUN_ID):
        return True
    return any(c.get(lp.ROLE) or c.get(lp.RUN_ID) for c in obj.users_collection)


def find_conflicts(scene: bpy.types.Scene, poly: Sequence[Sequence[float]], z0: float, z1: float) -> list[dict]:
    """Visible objects of the scene that are not Imaginarium's and intersect the room prism."""
    if len(poly) < 3:
        return []
    prism = np.array([(x, y, z) for z in (z0, z1) for x, y in poly], dtype=np.float64)
    edges = [np.array([q[0] - p[0], q[1] - p[1], 0.0]) for p, q in zip(poly, [*poly[1:], poly[0]])]
    prism_normals = [np.array([0.0, 0.0, 1.0])] + [np.array([-e[1], e[0], 0.0]) for e in edges]
    prism_dirs = [e for e in edges if np.linalg.norm(e) > 1e-9] + [np.array([0.0, 0.0, 1.0])]
    out = []
    for obj in scene.objects:
        if obj.type not in GEOMETRY | {"LIGHT"} or _is_ours(obj) or obj.hide_render:
            continue
        m = np.asarray(obj.matrix_world, dtype=np.float64)
        if obj.type == "LIGHT":
            corners = m[:3, 3][None, :]
            axes: list[np.ndarray] = []
        else:
            local = np.asarray([tuple(c) for c in obj.bound_box], dtype=np.float64)
            corners = local @ m[:3, :3].T + m[:3, 3]
            axes = [m[:3, i] for i in range(3) if np.linalg.norm(m[:3, i]) > 1e-12]
        if _intersects(prism, corners, prism_normals, prism_dirs, axes):
            what = "will light it" if obj.type == "LIGHT" else "hides part of it"
            out.append({"name": obj.name, "type": obj.type,
                        "message": f"{obj.name} is inside the room and {what} — hide it?"})
    return out


def _intersects(a: np.ndarray, b: np.ndarray, a_normals: list[np.ndarray], a_dirs: list[np.ndarray],
                b_axes: list[np.ndarray]) -> bool:
    """Separating-axis test of two convex point sets (touching counts as intersecting)."""
    candidates = list(a_normals) + list(b_axes)
    candidates += [np.cross(d, e) for d in a_dirs for e in b_axes]
    for axis in candidates:
        n = np.linalg.norm(axis)
        if n < 1e-9:
            continue
        axis = axis / n
        pa, pb = a @ axis, b @ axis
        if pa.max() < pb.min() - _EPS or pb.max() < pa.min() - _EPS:
            return False
    return True


def record(coll: bpy.types.Collection, conflicts: list[dict]) -> None:
    coll[CONFLICTS] = json.dumps(conflicts)


def recorded(coll: bpy.types.Collection) -> list[dict]:
    """The conflicts the last build found that are still in the file and still visible."""
    try:
        items = json.loads(coll.get(CONFLICTS, "[]"))
    except ValueError:
        return []
    return [c for c in items if (o := bpy.data.objects.get(c.get("name", ""))) is not None and not o.hide_render]


def hide(coll: bpy.types.Collection, view_layer: Any = None) -> list[str]:
    """Hide the recorded conflicting objects in the viewport and in renders (the artist's click); their names."""
    names = []
    for c in recorded(coll):
        obj = bpy.data.objects[c["name"]]
        obj.hide_render = True
        try:
            obj.hide_set(True, view_layer=view_layer) if view_layer is not None else obj.hide_set(True)
        except RuntimeError:  # not in the active view layer: the render flag is what matters
            pass
        names.append(obj.name)
    record(coll, recorded(coll))  # what is left: neither hidden now nor deleted since the build
    return names
