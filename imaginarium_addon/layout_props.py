"""Custom properties that tie Blender objects back to the Layout they were built from.

Why: the scene is the artist's document. Everything the pipeline needs to read a layout back
(after the artist nudged, swapped or pinned objects) lives on the objects themselves as
custom properties, so it survives saving, undo and copy-paste, and shows in the N panel.
ID properties cannot hold ``None`` or nested lists, so optional text is stored as ``""``
and lists (walls, candidates) as JSON strings.
"""
from __future__ import annotations

import json
from typing import Any

import bpy
from mathutils import Matrix

from ..core.errors import BadInputError
from ..core.schema import Relation

PREFIX = "imaginarium_"
ROLE = PREFIX + "role"            # "run" (collection), "object", "structure", "camera"
RUN_ID = PREFIX + "run_id"
OBJECT_ID = PREFIX + "object_id"
ASSET_ID = PREFIX + "asset_id"
CANDIDATES = PREFIX + "candidates"  # JSON list of {"asset_id", "score"}, best first
PINNED = PREFIX + "pinned"
RELATION = PREFIX + "relation"      # a Relation's plain word ("floor", "on", …)
PARENT = PREFIX + "parent"
WALLS = PREFIX + "walls"            # JSON list of wall ids
INNER_SPACE = PREFIX + "inner_space"
PLANE = PREFIX + "plane"            # JSON of the Plane a structure mesh was built from
PLANES = PREFIX + "planes"          # JSON list of all planes (on the run collection)
TEXTURES = PREFIX + "textures"      # JSON {"floor": id, ...} (on the run collection)
TEXTURE_ID = PREFIX + "texture_id"
BUILD_MATRIX = PREFIX + "build_matrix"  # structure objects: matrix_world when built (JSON)
CAMERA = PREFIX + "camera"          # JSON {"width", "height", "ycor"} on the camera object
NOTES = PREFIX + "notes"            # JSON list of the placement's notes (guesses and fallbacks)


def matrix_from_rows(rows: Any) -> Matrix:
    """A schema matrix (row-major nested tuples) as a mathutils Matrix."""
    return Matrix([list(r) for r in rows])


def rows_from_matrix(m: Matrix) -> tuple[tuple[float, ...], ...]:
    """A mathutils Matrix as the row-major tuples the schema stores (bottom row exact)."""
    rows = [tuple(float(v) for v in m[i]) for i in range(3)]
    return (*rows, (0.0, 0.0, 0.0, 1.0))


def world_matrix(transform: Any, scale: Any) -> Matrix:
    """``Placement.transform`` with ``Placement.scale`` applied in the asset frame first."""
    return matrix_from_rows(transform) @ Matrix.Diagonal((*[float(s) for s in scale], 1.0))


def split_world_matrix(m: Matrix) -> tuple[tuple[tuple[float, ...], ...], tuple[float, float, float]]:
    """Inverse of :func:`world_matrix`: a rigid transform and the per-axis scale in the asset frame."""
    loc, rot, scale = m.decompose()
    rigid = Matrix.LocRotScale(loc, rot, None)
    return rows_from_matrix(rigid), (float(scale.x), float(scale.y), float(scale.z))


def tag_placement(obj: bpy.types.Object, placement: Any, run_id: str, candidates: list[dict]) -> None:
    """Write every field read_layout needs onto a placement's object."""
    obj[ROLE] = "object"
    obj[RUN_ID] = run_id
    obj[OBJECT_ID] = placement.object_id
    obj[ASSET_ID] = placement.asset_id
    obj[CANDIDATES] = json.dumps(candidates)
    obj[PINNED] = bool(placement.pinned)
    obj[RELATION] = Relation(placement.relation).value
    obj[PARENT] = placement.parent or ""
    obj[WALLS] = json.dumps(list(placement.walls))
    obj[INNER_SPACE] = placement.inner_space or ""
    obj[NOTES] = json.dumps(list(placement.notes))


def placement_fields(obj: bpy.types.Object) -> dict[str, Any]:
    """The Placement fields stored on ``obj`` plus its current transform (the artist's edits)."""
    transform, scale = split_world_matrix(obj.matrix_world)
    return {
        "object_id": str(obj[OBJECT_ID]),
        "asset_id": str(obj[ASSET_ID]),
        "transform": transform,
        "scale": scale,
        "parent": str(obj.get(PARENT, "")) or None,
        "relation": relation_of(obj),
        "pinned": bool(obj.get(PINNED, False)),
        "inner_space": str(obj.get(INNER_SPACE, "")) or None,
        "walls": list(json.loads(obj.get(WALLS, "[]"))),
        "notes": object_notes(obj),
    }


def relation_of(obj: bpy.types.Object) -> Relation:
    """The object's relation, checked: a word the artist mistyped in its custom properties is an error that says so."""
    value = str(obj.get(RELATION, Relation.FLOOR.value))
    try:
        return Relation(value)
    except ValueError:
        raise BadInputError(f"{obj.name}: {RELATION} = {value!r} is not a relation.",
                            f"Set it to one of {', '.join(r.value for r in Relation)} "
                            "(Object Properties → Custom Properties).") from None


def object_notes(obj: bpy.types.Object) -> list[str]:
    """The notes a build wrote on ``obj`` (empty when none, or when the property was edited into non-JSON)."""
    try:
        notes = json.loads(obj.get(NOTES, "[]"))
    except ValueError:
        return []
    return [str(n) for n in notes] if isinstance(notes, list) else []


def role(id_block: Any) -> str:
    """The Imaginarium role of an object or collection ("" for the artist's own things)."""
    return str(id_block.get(ROLE, "")) if hasattr(id_block, "get") else ""


def find_run_collection(run_id: str) -> bpy.types.Collection | None:
    """The collection a previous build of ``run_id`` made, if it still exists."""
    for coll in bpy.data.collections:
        if coll.get(ROLE) == "run" and coll.get(RUN_ID) == run_id:
            return coll
    return None


def placement_objects(collection: bpy.types.Collection) -> dict[str, bpy.types.Object]:
    """object id → object, for the run's placement objects directly in ``collection``."""
    out: dict[str, bpy.types.Object] = {}
    for obj in collection.objects:
        if obj.get(ROLE) == "object" and OBJECT_ID in obj:
            out[str(obj[OBJECT_ID])] = obj
    return out


def claim_duplicates(collection: bpy.types.Collection) -> list[str]:
    """Give objects the artist duplicated (Shift+D copies the properties too) their own object ids.

    The object whose name is closest to the id keeps it; each copy becomes ``<id>_<n>`` (the
    first free n). Returns the new ids. Without this a copy would hide its original on read-back.
    """
    groups: dict[str, list[bpy.types.Object]] = {}
    for obj in collection.objects:
        if obj.get(ROLE) == "object" and OBJECT_ID in obj:
            groups.setdefault(str(obj[OBJECT_ID]), []).append(obj)
    taken = set(groups)
    created = []
    for oid, objs in groups.items():
        if len(objs) < 2:
            continue
        objs.sort(key=lambda o: (o.name != oid, len(o.name), o.name))
        for copy in objs[1:]:
            n = 1
            while f"{oid}_{n}" in taken:
                n += 1
            copy[OBJECT_ID] = f"{oid}_{n}"
            taken.add(f"{oid}_{n}")
            created.append(f"{oid}_{n}")
    return created


def structure_objects(collection: bpy.types.Collection) -> dict[str, bpy.types.Object]:
    """plane id → object, for the room meshes (floor, ceiling, walls) in ``collection``."""
    out: dict[str, bpy.types.Object] = {}
    for obj in collection.objects:
        if obj.get(ROLE) == "structure" and PLANE in obj:
            out[str(json.loads(obj[PLANE])["id"])] = obj
    return out


def camera_object(collection: bpy.types.Collection) -> bpy.types.Object | None:
    """The run's camera, if it has one."""
    for obj in collection.objects:
        if obj.get(ROLE) == "camera" and obj.type == "CAMERA":
            return obj
    return None
