"""Scene-graph assembly: geometry decides by default, the VLM (when there is a key) corrects it.

Rules, in our own words from the paper's scene-graph definition:

* every object has **exactly one support**: the floor, a wall, the ceiling or another object;
* **support by downward test**: an object rests on the highest other object whose top is
  within a few centimetres of its bottom and whose footprint lies under its centre, else on
  the floor when its bottom is near z = 0;
* **against a wall** when its footprint comes within 30 cm of a wall plane (boxes are measured from their visible front,
  so their back lies further than measured); raised objects near
  a wall with nothing below hang on that wall; objects touching the ceiling hang from it, and so
  does an object high up (bottom above 1.2 m) with nothing below and no wall behind it — a
  pendant's cord is too thin to show in depth, so its box rarely reaches the ceiling;
* **groups** are objects with the same label and similar sizes (identical chairs, twin lamps);
* **facing** pairs chairs with the nearest table and sofas with a TV;
* support **cycles are broken** by putting the lowest member of the cycle on the floor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..geometry.boxes import footprint_contains
from ..schema import Box3D, Detection, Plane, SceneGraph, SceneObject
from .protocols import VlmAnswer

SUPPORT_TOLERANCE_M = 0.12
HANGING_BOTTOM_M = 1.2  # nothing stands this high with nothing under it: it must hang
WALL_DISTANCE_M = 0.30  # only front faces are seen: the true back is often ~this much further
FLAT_HEIGHT_M = 0.05
FACING_RULES: dict[str, tuple[str, ...]] = {
    "chair": ("table", "dining table", "desk"), "armchair": ("coffee table", "table", "tv"),
    "sofa": ("tv", "television", "coffee table"), "couch": ("tv", "television", "coffee table"),
    "stool": ("table", "counter", "bar"), "office chair": ("desk", "table"),
}


@dataclass
class Item:
    """An object going into the graph: id, label, its detection and (possibly missing) 3D box."""

    id: str
    label: str
    detection: Detection | None
    box: Box3D | None
    confidence: float = 1.0


def build_scene_graph(items: list[Item], planes: list[Plane], vlm: VlmAnswer | None = None,
                      camera_xy: tuple[float, float] | None = None) -> SceneGraph:
    """Geometry first, then VLM answers layered on top; the result's ``source`` says which decided.

    ``camera_xy`` (the camera's position over the floor) lets the support test allow for the
    unseen back of boxes measured from their front (see :func:`core.geometry.boxes.footprint_contains`).
    """
    walls = [p for p in planes if p.kind == "wall"]
    ceiling = next((p for p in planes if p.kind == "ceiling"), None)
    objs = {it.id: SceneObject(it.id, it.label, it.detection, it.box, confidence=it.confidence) for it in items}
    notes: list[str] = []
    for it in items:
        _geometric_relations(objs[it.id], items, walls, ceiling, camera_xy)
    groups = _geometric_groups(items)
    for name, members in groups.items():
        for m in members:
            objs[m].group = name
    _geometric_facing(objs, items)
    source = "geometry"
    if vlm is not None:
        notes.extend(_apply_vlm(objs, vlm, walls))
        source = f"geometry+vlm:{vlm.model}" if vlm.model else "geometry+vlm"
    else:
        notes.append("no VLM: relations, groups and facing come from geometry alone")
    notes.extend(_break_cycles(objs))
    return SceneGraph(objects=list(objs.values()), source=source, notes=notes)


def footprint(box: Box3D) -> np.ndarray:
    """The box's 4 floor corners (x, y) in the world."""
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    hx, hy = box.size[0] / 2, box.size[1] / 2
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    return local @ np.array([[c, s], [-s, c]]) + np.array(box.center[:2])




def wall_distance(box: Box3D, wall: Plane) -> float:
    """Smallest distance from the box footprint to the wall (negative: it pokes through)."""
    n = np.array(wall.normal[:2])
    return float(np.min(footprint(box) @ n - wall.offset))


def _bottom(box: Box3D) -> float:
    return box.center[2] - box.size[2] / 2


def _top(box: Box3D) -> float:
    return box.center[2] + box.size[2] / 2


def _geometric_relations(obj: SceneObject, items: list[Item], walls: list[Plane], ceiling: Plane | None,
                         camera_xy: tuple[float, float] | None) -> None:
    box = obj.box
    obj.support = "floor"
    if box is None:
        return
    near = sorted(((wall_distance(box, w), w.id) for w in walls), key=lambda t: t[0])
    obj.against_walls = [wid for dist, wid in near if -0.3 < dist < WALL_DISTANCE_M]
    bottom = _bottom(box)
    below = [it for it in items if it.id != obj.id and it.box is not None and it.box.size[2] > FLAT_HEIGHT_M
             and _top(it.box) < _top(box) and abs(bottom - _top(it.box)) <= SUPPORT_TOLERANCE_M
             and footprint_contains(it.box, box.center[0], box.center[1], 0.05, camera_xy)]
    if bottom <= SUPPORT_TOLERANCE_M:
        return
    if below:
        obj.support = max(below, key=lambda it: _top(it.box)).id
        return
    if ceiling is not None and abs(-ceiling.offset - _top(box)) < SUPPORT_TOLERANCE_M and bottom > 1.0:
        obj.support, obj.hanging_from_ceiling = "ceiling", True
    elif obj.against_walls and bottom > 0.3:
        obj.support, obj.hanging_on_wall = obj.against_walls[0], True
    elif bottom > HANGING_BOTTOM_M:
        obj.support, obj.hanging_from_ceiling = "ceiling", True


def _size_key(box: Box3D | None) -> tuple[float, ...] | None:
    return None if box is None else tuple(sorted(box.size[:2])) + (box.size[2],)


def _geometric_groups(items: list[Item]) -> dict[str, list[str]]:
    """Same label and every dimension within 20 %: identical instances."""
    groups: dict[str, list[str]] = {}
    taken: set[str] = set()
    for i, a in enumerate(items):
        if a.id in taken or a.box is None:
            continue
        ka = _size_key(a.box)
        members = [a.id]
        for b in items[i + 1:]:
            kb = _size_key(b.box)
            if b.id in taken or b.label != a.label or kb is None:
                continue
            if all(abs(x - y) <= 0.2 * max(x, y, 0.05) for x, y in zip(ka, kb)):
                members.append(b.id)
        if len(members) > 1:
            groups[f"{a.label.replace(' ', '_')}_group_{len(groups)}"] = members
            taken.update(members)
    return groups


def _geometric_facing(objs: dict[str, SceneObject], items: list[Item]) -> None:
    for it in items:
        targets = FACING_RULES.get(it.label)
        if not targets or it.box is None:
            continue
        options = [o for o in items if o.id != it.id and o.label in targets and o.box is not None]
        if options:
            dist = lambda o: math.dist(o.box.center[:2], it.box.center[:2])  # noqa: E731
            best = min(options, key=dist)
            if dist(best) < 3.0:
                objs[it.id].facing = best.id


def _apply_vlm(objs: dict[str, SceneObject], vlm: VlmAnswer, walls: list[Plane]) -> list[str]:
    """The VLM decides the kind of relation; geometry still picks which wall and checks ids exist."""
    notes = []
    for oid, ans in vlm.objects.items():
        obj = objs.get(oid)
        if obj is None:
            notes.append(f"VLM spoke of unknown object {oid}; ignored")
            continue
        if not ans.keep:
            obj.confidence = min(obj.confidence, 0.3)
            notes.append(f"VLM doubts {oid} ({obj.label}) is real; confidence lowered")
        nearest_wall = _nearest_wall(obj, walls)
        if ans.relation == "on_floor":
            obj.support, obj.hanging_on_wall, obj.hanging_from_ceiling = "floor", False, False
        elif ans.relation == "against_wall":
            obj.support, obj.hanging_on_wall, obj.hanging_from_ceiling = "floor", False, False
            if not obj.against_walls and nearest_wall:
                obj.against_walls = [nearest_wall]
        elif ans.relation == "hanging_on_wall" and nearest_wall:
            obj.support, obj.hanging_on_wall, obj.hanging_from_ceiling = nearest_wall, True, False
        elif ans.relation == "hanging_from_ceiling":
            obj.support, obj.hanging_on_wall, obj.hanging_from_ceiling = "ceiling", False, True
        elif ans.relation == "on_object":
            if ans.support in objs and ans.support != oid:
                obj.support, obj.hanging_on_wall, obj.hanging_from_ceiling = ans.support, False, False
            else:
                notes.append(f"VLM put {oid} on unknown object {ans.support!r}; kept the geometric support")
        if ans.facing is not None:
            obj.facing = ans.facing if ans.facing in objs and ans.facing != oid else obj.facing
        if ans.plausible_size is False:
            obj.confidence = min(obj.confidence, 0.5)
            notes.append(f"VLM finds the measured size of {oid} implausible")
    if vlm.groups:
        for o in objs.values():
            o.group = None
        for i, members in enumerate(vlm.groups):
            real = [m for m in members if m in objs]
            if len(real) > 1:
                for m in real:
                    objs[m].group = f"group_{i}"
    return notes


def _nearest_wall(obj: SceneObject, walls: list[Plane]) -> str | None:
    if obj.against_walls:
        return obj.against_walls[0]
    if obj.box is None or not walls:
        return walls[0].id if walls else None
    return min(walls, key=lambda w: abs(wall_distance(obj.box, w))).id


def _break_cycles(objs: dict[str, SceneObject]) -> list[str]:
    """Follow support chains; a chain that comes back on itself loses its lowest link to the floor."""
    notes = []
    for start in list(objs):
        seen: list[str] = []
        cur: str | None = start
        while cur in objs and cur not in seen:
            seen.append(cur)
            cur = objs[cur].support
        if cur in objs:  # came back to an object already on this chain: a cycle
            cycle = seen[seen.index(cur):]
            lowest = min(cycle, key=lambda i: _bottom(objs[i].box) if objs[i].box is not None else 0.0)
            objs[lowest].support = "floor"
            objs[lowest].hanging_on_wall = objs[lowest].hanging_from_ceiling = False
            notes.append(f"support cycle {' -> '.join(cycle)} broken: {lowest} now stands on the floor")
    return notes
