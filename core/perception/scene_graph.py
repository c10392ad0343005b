"""Scene-graph assembly: geometry decides by default, the VLM (when there is a key) corrects it.

Rules, in our own words from the paper's scene-graph definition:

* every object has **exactly one support**: the floor, a wall, the ceiling or another object;
* **what things are decides what they stand on** (:mod:`.support_rules`, data in
  ``core/library/data/support_rules.json``): beds, seats, tables, storage and fixtures stand on
  the floor — never hung, never on another object, however high their hidden bottom was measured;
* **support by downward test**: any other object rests on an object whose top is within a few
  centimetres of its bottom and whose footprint lies under its centre, or on the floor when its
  bottom is near z = 0; among those, the most plausible for its class wins (a monitor over both a
  chair's backrest and a desk rests on the desk), ties broken by contact area and height gap;
* **against a wall** when its footprint comes within 30 cm of a wall plane (boxes are measured from their visible front,
  so their back lies further than measured); raised objects near
  a wall with nothing below hang on that wall; objects touching the ceiling hang from it, and so
  does an object high up (bottom above 1.2 m) with nothing below and no wall behind it — a
  pendant's cord is too thin to show in depth, so its box rarely reaches the ceiling;
* **groups** are objects with the same label and similar sizes (identical chairs, twin lamps);
* **facing** pairs chairs with the nearest table and sofas with a TV;
* support **cycles are broken** by putting the lowest member of the cycle on the floor;
* an object well above the floor with nothing plausible under it and no way to hang keeps **no support**
  (it stays where seen, with a note: its support was most likely missed by the detector).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..geometry.boxes import footprint_contains
from ..schema import Box3D, Detection, Plane, SceneGraph, SceneObject
from .protocols import VlmAnswer
from .support_rules import SupportRules, load_rules

SUPPORT_TOLERANCE_M = 0.12
HANGING_BOTTOM_M = 1.2  # nothing stands this high with nothing under it: it must hang
WALL_DISTANCE_M = 0.30  # only front faces are seen: the true back is often ~this much further
FLAT_HEIGHT_M = 0.05
THIN_PART_GAP_M = 0.45  # a small thing this far above a typical support, with nothing nearer, stands on it
CONTAINER_MARGIN_M = 0.1  # a book may stand this far outside its shelf's measured footprint
CONTAINER_KINDS = ("tall_storage", "surface")  # kinds with room inside (shelves, cabinets, dressers, stands):
                                               # not a stack of books
FLOOR_REACH_M = 0.25  # an object said to be on the floor is stretched down to it from at most this high
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
    notes: list[str] = field(default_factory=list)


def build_scene_graph(items: list[Item], planes: list[Plane], vlm: VlmAnswer | None = None,
                      camera_xy: tuple[float, float] | None = None, rules: SupportRules | None = None) -> SceneGraph:
    """Geometry first, then VLM answers layered on top; the result's ``source`` says which decided.

    ``camera_xy`` (the camera's position over the floor) lets the support test allow for the
    unseen back of boxes measured from their front (see :func:`core.geometry.boxes.footprint_contains`).
    ``rules`` (default: the shipped support rules) say which supports are plausible for which class;
    every support they change and every relation they refuse becomes a note on the object.
    """
    rules = rules or load_rules()
    walls = [p for p in planes if p.kind == "wall"]
    ceiling = next((p for p in planes if p.kind == "ceiling"), None)
    objs = {it.id: SceneObject(it.id, it.label, it.detection, it.box, confidence=it.confidence, notes=list(it.notes))
            for it in items}
    notes: list[str] = []
    thin_parts: dict[str, str | None] = {}  # objects resting on a support found far under a missed stem or foot
    for it in items:
        if _geometric_relations(objs[it.id], items, walls, ceiling, camera_xy, rules):
            thin_parts[it.id] = objs[it.id].support
    groups = _geometric_groups(items)
    for name, members in groups.items():
        for m in members:
            objs[m].group = name
    _geometric_facing(objs, items)
    source = "geometry"
    if vlm is not None:
        notes.extend(_apply_vlm(objs, vlm, walls, rules))
        source = f"geometry+vlm:{vlm.model}" if vlm.model else "geometry+vlm"
    else:
        notes.append("no VLM: relations, groups and facing come from geometry alone")
    notes.extend(_break_cycles(objs))
    # the far support counts only where it still stands (the VLM or a broken cycle may have changed it)
    _rest_on_supports(objs, rules, {oid for oid, sup in thin_parts.items() if objs[oid].support == sup})
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
                         camera_xy: tuple[float, float] | None, rules: SupportRules) -> bool:
    """Support, walls and hanging from geometry; True when the support was found far under a measured bottom
    (a thin stem or foot missed), so the box may later be stretched down that far."""
    box = obj.box
    obj.support = "floor"
    if box is None:
        return False
    near = sorted(((wall_distance(box, w), w.id) for w in walls), key=lambda t: t[0])
    obj.against_walls = [wid for dist, wid in near if -0.3 < dist < WALL_DISTANCE_M]
    bottom = _bottom(box)
    if rules.stands_on_floor(obj.label):
        if bottom > SUPPORT_TOLERANCE_M:
            obj.notes.append(f"support: stands on the floor (a {obj.label} does), although its box bottom is "
                             f"{bottom:.2f} m up; never hung or put on another object")
        return False
    holder = _container(obj, items, camera_xy, rules)
    if holder is not None:  # books on a shelf: inside the bookcase's box, below its top
        obj.support = holder.id
        obj.notes.append(f"support: inside {holder.id} (its box lies within the {holder.label}'s, below the top)")
        return False
    below = [it for it in items if it.id != obj.id and it.box is not None and it.box.size[2] > FLAT_HEIGHT_M
             and _top(it.box) < _top(box) and abs(bottom - _top(it.box)) <= SUPPORT_TOLERANCE_M
             and footprint_contains(it.box, box.center[0], box.center[1], 0.05, camera_xy)]
    options: list[tuple[float, float, str, str | None]] = []  # (score, plausibility, id, label)
    for it in below:
        p = rules.plausibility(obj.label, it.id, it.label)
        gap = abs(bottom - _top(it.box))
        options.append((p * (0.5 + 0.5 * _contact(box, it.box, camera_xy)) * (1.0 - 0.5 * gap / SUPPORT_TOLERANCE_M),
                        p, it.id, it.label))
    if bottom <= SUPPORT_TOLERANCE_M:
        p = rules.plausibility(obj.label, "floor")
        options.append((p * (1.0 - 0.5 * max(0.0, bottom) / SUPPORT_TOLERANCE_M), p, "floor", None))
    plausible = [o for o in options if o[1] > 0.05]
    if not plausible and bottom > SUPPORT_TOLERANCE_M:
        # a lamp measured by its shade alone (the stem too thin, the foot eroded away) floats a hand above
        # its table: a typical support right under it, not far below, is what it stands on
        far = [it for it in items if it.id != obj.id and it.box is not None and it.box.size[2] > FLAT_HEIGHT_M
               and SUPPORT_TOLERANCE_M < bottom - _top(it.box) <= THIN_PART_GAP_M
               and footprint_contains(it.box, box.center[0], box.center[1], 0.05, camera_xy)
               and rules.plausibility(obj.label, it.id, it.label) >= 0.5]
        if far:
            best_far = max(far, key=lambda it: _top(it.box))
            obj.support = best_far.id
            obj.notes.append(f"support: rests on {best_far.id}, {bottom - _top(best_far.box):.2f} m under its "
                             "measured bottom (its stem or foot was too thin to measure)")
            return True
    if plausible:
        best = max(plausible, key=lambda o: o[0])
        obj.support = best[2]
        geometric = max(below, key=lambda it: _top(it.box)).id if below else "floor"
        if geometric != best[2]:
            what = next((o[3] for o in options if o[2] == geometric), None) or geometric
            obj.notes.append(f"support: rests on {best[2]} rather than {geometric} (a {obj.label} on a {what} is "
                             f"implausible for its class, or touches less)")
        return False
    for _, p, oid, label in options:
        obj.notes.append(f"support: not on {oid} (a {obj.label} does not rest on a {label or oid})")
    if ceiling is not None and abs(-ceiling.offset - _top(box)) < SUPPORT_TOLERANCE_M and bottom > 1.0 \
            and rules.may_hang(obj.label, "ceiling"):
        obj.support, obj.hanging_from_ceiling = "ceiling", True
    elif obj.against_walls and bottom > 0.3 and rules.may_hang(obj.label, "wall"):
        obj.support, obj.hanging_on_wall = obj.against_walls[0], True
    elif bottom > HANGING_BOTTOM_M and rules.may_hang(obj.label, "ceiling"):
        obj.support, obj.hanging_from_ceiling = "ceiling", True
    elif bottom > FLOOR_REACH_M:  # a table lamp whose table the detector missed: neither the floor nor in the air
        obj.support = None
        obj.notes.append(f"support: nothing detected under it (bottom {bottom:.2f} m up): left where the photo shows "
                         "it, floating; what it stands on was probably not detected (add it, or move this object)")
    elif bottom > SUPPORT_TOLERANCE_M:
        obj.notes.append(f"support: nothing plausible under it (bottom {bottom:.2f} m up); left on the floor")
    return False


def _container(obj: SceneObject, items: list[Item], camera_xy: tuple[float, float] | None,
               rules: SupportRules) -> Item | None:
    """The object whose box holds ``obj``'s (centre over its footprint, bottom and top within its height,
    much smaller than it) and that may hold such a thing (shelves, cabinets); the smallest if several.

    The footprint counts ``CONTAINER_MARGIN_M`` wider: a shelf's front is a thin frame that the
    measurement often loses, so its box starts at the back panel and the books stand in front of it."""
    box = obj.box
    if box is None:
        return None
    bottom, top = _bottom(box), _top(box)
    found = [it for it in items if it.id != obj.id and it.box is not None
             and it.box.size[2] > 2.5 * box.size[2]
             and _bottom(it.box) - SUPPORT_TOLERANCE_M <= bottom and top <= _top(it.box) - 0.02
             and rules.kind(it.label) in CONTAINER_KINDS
             and footprint_contains(it.box, box.center[0], box.center[1], CONTAINER_MARGIN_M, camera_xy)
             and rules.plausibility(obj.label, it.id, it.label) > 0.05]
    return min(found, key=lambda it: float(np.prod(it.box.size))) if found else None


def _rest_on_supports(objs: dict[str, SceneObject], rules: SupportRules, thin_parts: set[str]) -> None:
    """Boxes end where their support begins: the bottom moves onto the support's top, the top stays.

    Depth noise and hidden bottoms leave an object a few centimetres above (or inside) what holds
    it; perception's boxes should already be physically consistent. A floor-standing class reaches the
    floor from any height (its bottom was hidden); anything else on the floor from up to 25 cm (a
    hidden base, depth noise), on an object within the support tolerance — or from up to
    ``THIN_PART_GAP_M`` for ``thin_parts``, the objects the support test put on a support that far
    down because their stem or foot was too thin to measure. Farther, the box stays as measured:
    stretching a small thing a metre down would invent it.
    """
    for obj in objs.values():
        box = obj.box
        if box is None or obj.hanging_on_wall or obj.hanging_from_ceiling or obj.support is None:
            continue
        if obj.support == "floor":
            target = 0.0
        elif obj.support in objs and objs[obj.support].box is not None:
            target = _top(objs[obj.support].box)
        else:
            continue
        bottom, top = _bottom(box), _top(box)
        gap = bottom - target
        if obj.support == "floor":
            reach = math.inf if rules.stands_on_floor(obj.label) else FLOOR_REACH_M
        else:
            reach = THIN_PART_GAP_M if obj.id in thin_parts else SUPPORT_TOLERANCE_M
        if abs(gap) <= 0.02 or abs(gap) > reach or top - target <= 0.02:
            continue
        obj.box = Box3D((box.center[0], box.center[1], (top + target) / 2), (box.size[0], box.size[1], top - target),
                        box.yaw)
        if abs(gap) > 0.03:
            obj.notes.append(f"box bottom moved {abs(gap):.2f} m {'down' if gap > 0 else 'up'} to rest on "
                             f"{'the floor' if obj.support == 'floor' else obj.support}")


def _contact(box: Box3D, support: Box3D, camera_xy: tuple[float, float] | None) -> float:
    """Share of the object's footprint (centre, corners, edge midpoints) over the support's footprint."""
    corners = footprint(box)
    centre = np.array(box.center[:2])
    samples = [centre, *corners, *((corners + np.roll(corners, -1, axis=0)) / 2)]
    return float(np.mean([footprint_contains(support, float(x), float(y), 0.02, camera_xy) for x, y in samples]))


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


def _apply_vlm(objs: dict[str, SceneObject], vlm: VlmAnswer, walls: list[Plane], rules: SupportRules) -> list[str]:
    """The VLM decides the kind of relation; geometry still picks which wall and checks ids exist.

    The support rules still apply: a VLM answer that hangs a bed or puts a dresser on a bed is
    refused, with a note on the object.
    """
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
        refused = _vlm_refused(obj, ans.relation, ans.support, objs, rules)
        if refused:
            obj.notes.append(refused)
        elif ans.relation == "on_floor":
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


def _vlm_refused(obj: SceneObject, relation: str, support: str | None, objs: dict[str, SceneObject],
                 rules: SupportRules) -> str | None:
    """Why a VLM relation is refused for this object's class, or None when it is acceptable."""
    if rules.stands_on_floor(obj.label) and relation in ("hanging_on_wall", "hanging_from_ceiling", "on_object"):
        return f"support: the VLM said {relation.replace('_', ' ')}; refused, a {obj.label} stands on the floor"
    if relation == "on_object" and support in objs and support != obj.id:
        if rules.plausibility(obj.label, support, objs[support].label) <= 0.05:
            return (f"support: the VLM put it on {support}; refused, a {obj.label} does not rest on a "
                    f"{objs[support].label}")
    if relation in ("hanging_on_wall", "hanging_from_ceiling"):
        where = "wall" if relation == "hanging_on_wall" else "ceiling"
        if not rules.may_hang(obj.label, where):
            return f"support: the VLM said {relation.replace('_', ' ')}; refused, a {obj.label} does not hang"
    return None


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
