"""Seeded ground-truth rooms (bedroom, living room) from a catalogue, by the solver's own rules.

A room is designed as a scene graph with intended boxes (bed against the far wall with a
nightstand pair either side, a lamp on one, a picture above, …), then *solved* with the same
rules the pipeline uses, so the ground truth obeys them exactly (tops found by ray casts, walls
flush, books packed in shelf spaces). The scene graph is returned with boxes re-read from the
solved layout: it is what a perfect perception stage would report.

Slots whose asset the catalogue lacks are skipped (with their dependents). Matching uses the
asset's class, retrieval class and name (lower case), by keyword priority with exclusions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..config import LayoutSettings
from ..schema import AssetRecord, Box3D, Camera, Layout, Plane, SceneGraph, SceneObject
from .errors import LayoutError
from .geometry import Pose
from .assets import asset_proxy, catalogue_assets
from .problem import LayoutItem, LayoutProblem
from .solver import solve

KINDS = ("bedroom", "living_room")


@dataclass
class Room:
    """Room extents: x in [-w/2, w/2], y in [-d/2, d/2], z in [0, h]."""

    w: float
    d: float
    h: float

    def planes(self) -> list[Plane]:
        w, d = self.w / 2, self.d / 2
        return [Plane("floor", "floor", (0, 0, 1), 0.0), Plane("ceiling", "ceiling", (0, 0, -1), -self.h),
                Plane("wall_0", "wall", (0, -1, 0), -d), Plane("wall_1", "wall", (-1, 0, 0), -w),
                Plane("wall_2", "wall", (0, 1, 0), -d), Plane("wall_3", "wall", (1, 0, 0), -w)]


WALL_YAW = {"wall_0": 0.0, "wall_1": -math.pi / 2, "wall_2": math.pi, "wall_3": math.pi / 2}


@dataclass
class Slot:
    """One object of a room recipe: which asset (keywords) and where (a function of what is placed)."""

    id: str
    include: list[str]
    where: Callable[["Design", AssetRecord, np.ndarray], dict]
    exclude: list[str] = field(default_factory=list)
    needs: str | None = None
    group: str | None = None


@dataclass
class Design:
    room: Room
    rng: np.random.Generator
    placed: dict[str, dict] = field(default_factory=dict)

    def against(self, wall: str, along: float, size: np.ndarray) -> tuple[float, float, float]:
        """Centre (x, y) and yaw of an object of ``size`` (asset axes, scaled) backed against ``wall``."""
        w, d = self.room.w / 2, self.room.d / 2
        depth = size[1] / 2
        x, y = {"wall_0": (along, d - depth), "wall_1": (w - depth, along), "wall_2": (along, -d + depth),
                "wall_3": (-w + depth, along)}[wall]
        return x, y, WALL_YAW[wall]


def _text(a: AssetRecord) -> str:
    return " ".join([a.class_name, a.retrieval_class, a.name]).lower().replace("_", " ").replace("-", " ")


def pick(assets: list[AssetRecord], include: list[str], exclude: list[str], rng: np.random.Generator) -> AssetRecord | None:
    """The first keyword (in priority order) that some asset matches; among its matches one at random."""
    for word in include:
        found = [a for a in assets if word in _text(a) and not any(x in _text(a) for x in exclude)]
        if found:
            return found[int(rng.integers(0, len(found)))]
    return None


def jitter_scale(asset: AssetRecord, rng: np.random.Generator, spread: float = 0.08) -> np.ndarray:
    f = rng.uniform(1 - spread, 1 + spread, 3)
    if asset.scaling_strategy == "ISOTROPIC":
        return np.full(3, f[0])
    if asset.scaling_strategy == "RADIAL":
        return np.array([f[0], f[0], f[2]])
    return f


def _wall_slot(wall: str, lo: float = -0.3, hi: float = 0.3) -> Callable[[Design, AssetRecord, np.ndarray], dict]:
    def where(des: Design, a: AssetRecord, size: np.ndarray) -> dict:
        span = (des.room.w if wall in ("wall_0", "wall_2") else des.room.d) / 2 - size[0] / 2 - 0.1
        along = float(des.rng.uniform(lo, hi)) * max(span, 0.0)
        x, y, yaw = des.against(wall, along, size)
        return {"center": (x, y), "yaw": yaw, "walls": [wall]}
    return where


def _beside(anchor: str, side: float) -> Callable[[Design, AssetRecord, np.ndarray], dict]:
    def where(des: Design, a: AssetRecord, size: np.ndarray) -> dict:
        ref = des.placed[anchor]
        wall = ref["walls"][0]
        along = (ref["center"][0] if wall in ("wall_0", "wall_2") else ref["center"][1])
        along += side * (ref["size"][0] / 2 + size[0] / 2 + 0.05) * (1 if wall in ("wall_0", "wall_3") else -1)
        x, y, yaw = des.against(wall, along, size)
        return {"center": (x, y), "yaw": yaw, "walls": [wall]}
    return where


def _on(anchor: str) -> Callable[[Design, AssetRecord, np.ndarray], dict]:
    def where(des: Design, a: AssetRecord, size: np.ndarray) -> dict:
        ref = des.placed[anchor]
        return {"center": ref["center"], "yaw": ref["yaw"], "support": anchor, "z": ref["top"] + size[2] / 2}
    return where


def _inside(anchor: str) -> Callable[[Design, AssetRecord, np.ndarray], dict]:
    def where(des: Design, a: AssetRecord, size: np.ndarray) -> dict:
        ref = des.placed[anchor]
        if not ref["asset"].inner_spaces:  # no shelves modelled: it stands on top instead
            return _on(anchor)(des, a, size)
        return {"center": ref["center"], "yaw": ref["yaw"], "support": anchor, "z": size[2] / 2 + 0.01}
    return where


def _above(anchor: str, gap: float = 0.35) -> Callable[[Design, AssetRecord, np.ndarray], dict]:
    def where(des: Design, a: AssetRecord, size: np.ndarray) -> dict:
        ref = des.placed[anchor]
        wall = ref["walls"][0]
        x, y, yaw = des.against(wall, ref["center"][0] if wall in ("wall_0", "wall_2") else ref["center"][1], size)
        z = min(max(ref["top"] + gap, 1.1) + size[2] / 2, des.room.h - 0.1 - size[2] / 2)
        return {"center": (x, y), "yaw": yaw, "walls": [wall], "hang": "wall", "z": z}
    return where


def _in_front(anchor: str, distance: float, face: bool = True) -> Callable[[Design, AssetRecord, np.ndarray], dict]:
    def where(des: Design, a: AssetRecord, size: np.ndarray) -> dict:
        ref = des.placed[anchor]
        yaw = ref["yaw"]
        front = np.array([math.sin(yaw), -math.cos(yaw)])
        c = np.asarray(ref["center"]) + front * (ref["size"][1] / 2 + distance + size[1] / 2)
        return {"center": (float(c[0]), float(c[1])), "yaw": yaw + (math.pi if face else 0.0),
                "facing": anchor if face else None}
    return where


def _centre(dx: float = 0.0, dy: float = 0.0, hang: str | None = None) -> Callable[[Design, AssetRecord, np.ndarray], dict]:
    def where(des: Design, a: AssetRecord, size: np.ndarray) -> dict:
        out = {"center": (dx * des.room.w / 2, dy * des.room.d / 2), "yaw": 0.0}
        if hang:
            out.update({"hang": hang, "z": des.room.h - size[2] / 2})
        return out
    return where


LAMP_EXCLUDE = ["ceiling", "floor lamp", "pendant", "chandelier", "wall lamp"]
SHELF = ["bookshelf", "bookcase", "shelf"]
RECIPES: dict[str, list[Slot]] = {
    "bedroom": [
        Slot("bed", ["double bed", "bed"], _wall_slot("wall_0", -0.2, 0.2), exclude=["bedside", "bed side"]),
        Slot("nightstand_0", ["nightstand", "bedside", "night stand"], _beside("bed", -1), needs="bed", group="nightstands"),
        Slot("nightstand_1", ["nightstand", "bedside", "night stand"], _beside("bed", 1), needs="bed", group="nightstands"),
        Slot("table_lamp", ["table lamp", "desk lamp", "lamp"], _on("nightstand_0"), exclude=LAMP_EXCLUDE, needs="nightstand_0"),
        Slot("painting", ["painting", "picture", "poster", "frame"], _above("bed"), needs="bed"),
        Slot("wardrobe", ["wardrobe", "closet"], _wall_slot("wall_3", 0.0, 0.6)),
        Slot("desk", ["desk", "writing table"], _wall_slot("wall_1", 0.1, 0.6), exclude=["lamp"]),
        Slot("chair", ["desk chair", "office chair", "chair"], _in_front("desk", 0.15), exclude=["arm", "sofa"], needs="desk"),
        Slot("bookshelf", SHELF, _wall_slot("wall_1", -0.9, -0.6)),
        Slot("book_0", ["book"], _inside("bookshelf"), exclude=SHELF + ["case"], needs="bookshelf"),
        Slot("book_1", ["book"], _inside("bookshelf"), exclude=SHELF + ["case"], needs="bookshelf"),
        Slot("rug", ["rug", "carpet"], _centre(0.0, -0.2)),
        Slot("ceiling_light", ["ceiling lamp", "ceiling light", "pendant", "chandelier"], _centre(hang="ceiling")),
    ],
    "living_room": [
        Slot("sofa", ["sofa", "couch"], _wall_slot("wall_3", -0.2, 0.2)),
        Slot("coffee_table", ["coffee table", "tea table"], _in_front("sofa", 0.45, face=False), needs="sofa"),
        Slot("tv_stand", ["tv stand", "tv cabinet", "media console", "sideboard"], _wall_slot("wall_1", -0.2, 0.2)),
        Slot("tv", ["television", "tv"], _on("tv_stand"), exclude=["stand", "cabinet", "console"], needs="tv_stand"),
        Slot("armchair", ["armchair", "arm chair", "lounge chair"], _in_front("coffee_table", 0.5), needs="coffee_table"),
        Slot("side_table", ["side table", "end table", "nightstand"], _beside("sofa", 1), needs="sofa"),
        Slot("table_lamp", ["table lamp", "lamp"], _on("side_table"), exclude=LAMP_EXCLUDE, needs="side_table"),
        Slot("bookshelf", SHELF, _wall_slot("wall_0", -0.7, 0.7)),
        Slot("book_0", ["book"], _inside("bookshelf"), exclude=SHELF + ["case"], needs="bookshelf"),
        Slot("book_1", ["book"], _inside("bookshelf"), exclude=SHELF + ["case"], needs="bookshelf"),
        Slot("painting", ["painting", "picture", "poster", "frame"], _above("sofa"), needs="sofa"),
        Slot("plant", ["potted plant", "plant"], _centre(0.8, 0.8)),
        Slot("ceiling_light", ["ceiling lamp", "ceiling light", "pendant", "chandelier"], _centre(hang="ceiling")),
    ],
}


def room_camera(room: Room, width: int = 640, height: int = 480, hfov_deg: float = 80.0,
                pitch_deg: float = 15.0) -> Camera:
    """A camera near the near wall (wall_2), 1.5 m up, looking across the room at the far wall."""
    f = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    p = math.radians(pitch_deg)
    fwd = np.array([0.0, math.cos(p), -math.sin(p)])
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(fwd, right)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2] = right, down, fwd
    m[:3, 3] = (0.0, -room.d / 2 + 0.2, 1.5)
    return Camera(f, f, width / 2, height / 2, width, height, [list(r) for r in m])


def generate_room(catalogue: Any, seed: int, kind: str = "bedroom", *, max_objects: int | None = None,
                  settings: LayoutSettings | None = None) -> tuple[Layout, SceneGraph]:
    """A seeded ground-truth room: its solved Layout and the scene graph a perfect perception would give."""
    if kind not in RECIPES:
        raise LayoutError(f"Unknown room kind {kind!r}.", f"Use one of: {', '.join(KINDS)}.")
    assets = sorted(catalogue_assets(catalogue).values(), key=lambda a: a.id)
    rng = np.random.default_rng(seed)
    room = Room(float(rng.uniform(4.0, 5.2)), float(rng.uniform(3.8, 4.8)), float(rng.uniform(2.6, 3.0)))
    des = Design(room, rng)
    group_asset: dict[str, AssetRecord] = {}
    items: list[LayoutItem] = []
    objects: dict[str, dict] = {}
    for slot in RECIPES[kind]:
        if max_objects is not None and len(items) >= max_objects:
            break
        if slot.needs is not None and slot.needs not in des.placed:
            continue
        asset = group_asset.get(slot.group or "") or pick(assets, slot.include, slot.exclude, rng)
        if asset is None:
            continue
        if slot.group:
            group_asset[slot.group] = asset
        scale = jitter_scale(asset, rng)
        size = np.asarray(asset.size, dtype=float) * scale
        spec = slot.where(des, asset, size)
        z = spec.get("z", size[2] / 2)
        spec.update({"size": size, "top": z + size[2] / 2, "asset": asset})
        des.placed[slot.id] = spec
        relation, parent = _relation(spec, des)
        box = Box3D((spec["center"][0], spec["center"][1], z), tuple(size), spec["yaw"])
        verts, faces = asset_proxy(asset)
        items.append(LayoutItem(id=slot.id, label=asset.class_name, asset=asset, relation=relation, parent=parent,
                                walls=list(spec.get("walls", [])) if relation != "in" else [], group=slot.group,
                                facing=spec.get("facing"), box=box, yaw=float(spec["yaw"]), verts=verts, faces=faces))
        objects[slot.id] = spec
    if not items:
        raise LayoutError("The catalogue has no asset for any object of a " + kind + ".",
                          "Use a library with beds, sofas, tables, … (e.g. build the starter library).")
    problem = LayoutProblem(planes=room.planes(), items=items, catalogue={a.id: a for a in assets},
                            settings=settings or LayoutSettings(), camera=room_camera(room),
                            run_id=f"{kind}-{seed}")
    layout = solve(problem)
    return layout, _graph(problem, layout, objects)


def _relation(spec: dict, des: Design) -> tuple[str, str | None]:
    if spec.get("hang") == "ceiling":
        return "ceiling_hung", "ceiling"
    if spec.get("hang") == "wall":
        return "wall_hung", spec["walls"][0]
    support = spec.get("support")
    if support:
        return ("in" if spec["z"] < des.placed[support]["top"] - 0.05 else "on"), support
    return ("against_wall" if spec.get("walls") else "floor"), "floor"


def _graph(problem: LayoutProblem, layout: Layout, objects: dict[str, dict]) -> SceneGraph:
    """Scene objects with boxes read from the solved poses (what perfect perception would measure)."""
    out = []
    items = problem.by_id()
    for p in layout.placements:
        item = items[p.object_id]
        m = np.asarray(p.transform, dtype=float)
        pose = Pose(m[:3, 3], math.atan2(m[1, 0], m[0, 0]), np.asarray(p.scale, dtype=float))
        lo, hi = item.lo * pose.scale, item.hi * pose.scale
        local_centre = (lo + hi) / 2
        centre = m[:3, :3] @ local_centre + m[:3, 3]
        spec = objects[p.object_id]
        out.append(SceneObject(
            id=p.object_id, label=item.asset.class_name, box=Box3D(tuple(centre), tuple(hi - lo), pose.yaw),
            support=p.parent, against_walls=[w for w in p.walls if p.relation != "wall_hung"],
            hanging_on_wall=p.relation == "wall_hung", hanging_from_ceiling=p.relation == "ceiling_hung",
            group=item.group, facing=spec.get("facing")))
    return SceneGraph(out, source="generator")
