"""What the solver is asked: the room's planes and one item per observed object.

``build_problem`` turns the perception and matching hand-offs (Observation, CandidateSet)
plus the catalogue into a :class:`LayoutProblem`. It decides each object's relation once,
here, from the scene graph, so the solver modules only ever read ``item.relation``:

* ``ceiling_hung``: ``hanging_from_ceiling`` (parent ``ceiling``);
* ``wall_hung``: ``hanging_on_wall`` or a wall as support (parent = that wall);
* ``in``: supported by an object whose asset has inner placement spaces and observed with
  its centre below that object's top (a book inside a shelf, not on top of it);
* ``on``: supported by another object;
* ``against_wall``: on the floor and touching walls; ``floor``: on the floor; ``free``: no support.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import LayoutSettings
from ..schema import AssetRecord, Box3D, CandidateSet, Layout, Observation, Plane, is_structure_id
from .errors import LayoutError
from .geometry import Pose, box_proxy, local_bounds, wrap_angle


@dataclass
class LayoutItem:
    """One object to place: its chosen asset, what was observed and how it relates to the room."""

    id: str
    label: str
    asset: AssetRecord
    relation: str = "floor"
    parent: str | None = "floor"
    walls: list[str] = field(default_factory=list)
    group: str | None = None
    facing: str | None = None
    pinned: bool = False
    box: Box3D | None = None
    yaw: float = 0.0
    verts: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int32))
    initial: Pose | None = None
    alternatives: list[str] = field(default_factory=list)
    fixed_transform: Any = None  # a pinned item's exact 4x4 (tilt and all), returned untouched

    def __post_init__(self) -> None:
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def lo(self) -> np.ndarray:
        """Lower corner of the proxy's box in the asset frame (cached: the proxy never changes)."""
        if self._bounds is None:
            self._bounds = local_bounds(self.verts) if len(self.verts) else (np.zeros(3), np.zeros(3))
        return self._bounds[0]

    @property
    def hi(self) -> np.ndarray:
        self.lo  # fills the cache
        return self._bounds[1]  # type: ignore[index]


@dataclass
class LayoutProblem:
    """Planes, items (parents before children) and the catalogue the assets came from."""

    planes: list[Plane]
    items: list[LayoutItem]
    catalogue: dict[str, AssetRecord] = field(default_factory=dict)
    settings: LayoutSettings = field(default_factory=LayoutSettings)
    camera: Any = None
    textures: dict = field(default_factory=dict)
    run_id: str = ""
    proxies: Any = field(default=None, repr=False)  # where proxies came from (a swapped asset needs its own)
    solved: Layout | None = field(default=None, repr=False)  # the last solution, set by solve/reoptimise

    def __post_init__(self) -> None:
        self.items = dependency_order(self.items)

    def by_id(self) -> dict[str, LayoutItem]:
        return {i.id: i for i in self.items}

    def walls(self) -> dict[str, Plane]:
        return {p.id: p for p in self.planes if p.kind == "wall"}

    def floor_z(self) -> float:
        floor = next((p for p in self.planes if p.kind == "floor"), None)
        return 0.0 if floor is None else float(floor.offset) / max(floor.normal[2], 1e-9)

    def ceiling_z(self) -> float | None:
        ceiling = next((p for p in self.planes if p.kind == "ceiling"), None)
        return None if ceiling is None else float(ceiling.offset) / min(ceiling.normal[2], -1e-9)


def dependency_order(items: list[LayoutItem]) -> list[LayoutItem]:
    """Parents before children, otherwise the given order (stable, so solving stays deterministic)."""
    by_id = {i.id: i for i in items}
    done: set[str] = set()
    out: list[LayoutItem] = []

    def visit(item: LayoutItem, path: tuple[str, ...]) -> None:
        if item.id in done:
            return
        if item.id in path:
            raise LayoutError(f"Objects {' -> '.join(path + (item.id,))} support each other in a cycle.",
                              "Give one of them the floor (or a wall) as support.")
        parent = by_id.get(item.parent or "")
        if parent is not None:
            visit(parent, path + (item.id,))
        done.add(item.id)
        out.append(item)

    for item in items:
        visit(item, ())
    return out


def catalogue_assets(catalogue: Any) -> dict[str, AssetRecord]:
    """Accept a ``Catalogue`` (``.assets``) or a plain ``{asset_id: AssetRecord}`` mapping."""
    assets = getattr(catalogue, "assets", catalogue)
    if not isinstance(assets, Mapping):
        raise LayoutError(f"The catalogue given to the layout stage is a {type(catalogue).__name__}.",
                          "Pass core.library.catalogue.load_catalogue(...) or a dict of AssetRecord by id.")
    return dict(assets)


def asset_proxy(asset: AssetRecord, proxies: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The collision proxy in the asset frame: from ``proxies`` (a mapping, or a store with ``.proxy(id)``), else the box."""
    found = None
    if proxies is not None:
        if isinstance(proxies, Mapping):
            found = proxies.get(asset.id)
        elif hasattr(proxies, "proxy"):
            try:
                found = proxies.proxy(asset.id)
            except Exception:  # a store without this asset's proxy: the box is the documented fallback
                found = None
    if found is None:
        return box_proxy(asset.size)
    verts = np.asarray(found[0], dtype=float).reshape(-1, 3)
    faces = np.asarray(found[1], dtype=np.int32).reshape(-1, 3)
    if len(verts) < 4 or len(faces) < 4 or faces.min() < 0 or faces.max() >= len(verts):
        raise LayoutError(f"The collision proxy of asset {asset.id} is not a closed mesh "
                          f"({len(verts)} vertices, {len(faces)} triangles, or a face index out of range).",
                          "Rebuild the library's derived data (collision proxies) or delete the bad proxy.")
    return verts, faces


def observed_extents(asset_yaw: float, box: Box3D | None) -> np.ndarray | None:
    """The observed box size expressed along the asset's axes (x, y swap when the box is turned 90°)."""
    if box is None:
        return None
    quarter = round(wrap_angle(asset_yaw - box.yaw) / (math.pi / 2))
    sx, sy, sz = box.size
    return np.array([sy, sx, sz] if quarter % 2 else [sx, sy, sz], dtype=float)


def relation_of(obj: Any, assets_of: dict[str, AssetRecord], boxes: dict[str, Box3D | None]) -> tuple[str, str | None, list[str]]:
    """(relation, parent, walls) for one SceneObject, by the rules in the module docstring."""
    walls = list(obj.against_walls)
    support = obj.support
    if obj.hanging_from_ceiling or support == "ceiling":
        return "ceiling_hung", "ceiling", []
    if obj.hanging_on_wall or (support or "").startswith("wall_"):
        wall = support if (support or "").startswith("wall_") else (walls[0] if walls else None)
        if wall is None:
            return "free", None, []
        return "wall_hung", wall, [wall]
    if support is None:
        return "free", None, walls
    if support == "floor":
        return ("against_wall" if walls else "floor"), "floor", walls
    parent_asset = assets_of.get(support)
    box, parent_box = boxes.get(obj.id), boxes.get(support)
    if parent_asset is not None and parent_asset.inner_spaces:
        inside = True
        if box is not None and parent_box is not None:
            top = parent_box.center[2] + parent_box.size[2] / 2
            inside = box.center[2] < top - 0.1 * parent_box.size[2]
        if inside:
            return "in", support, []
    return "on", support, walls


def build_problem(observation: Observation, candidates: CandidateSet, catalogue: Any, proxies: Any = None,
                  *, settings: LayoutSettings | None = None) -> LayoutProblem:
    """Join the scene graph, the best candidate per object and the catalogue into a LayoutProblem.

    Objects without a usable candidate are left out (and named in the error when none is left);
    the members of a group take the asset most of them ranked first, so instances match.
    """
    if not isinstance(observation, Observation):
        raise LayoutError(f"build_problem needs an Observation, not a {type(observation).__name__}.",
                          "Load it with Observation.from_json(run_dir/observation.json).")
    if not isinstance(candidates, CandidateSet):
        raise LayoutError(f"build_problem needs a CandidateSet, not a {type(candidates).__name__}.",
                          "Load it with CandidateSet.from_json(run_dir/candidates.json).")
    assets = catalogue_assets(catalogue)
    cands = {c.object_id: c for c in candidates.candidates}
    objects = observation.graph.objects
    chosen: dict[str, AssetRecord] = {}
    alternatives: dict[str, list[str]] = {}
    for obj in objects:
        cand = cands.get(obj.id)
        ranked = [r.asset_id for r in (cand.assets if cand else []) if r.asset_id in assets]
        if ranked:
            chosen[obj.id] = assets[ranked[0]]
            alternatives[obj.id] = ranked
    if objects and not chosen:
        raise LayoutError("No observed object has a candidate asset that is in the catalogue.",
                          "Run matching against the same library the layout stage is given.")
    _unify_groups(objects, chosen, assets, cands)
    boxes = {o.id: o.box for o in objects}
    items: list[LayoutItem] = []
    for obj in objects:
        if obj.id not in chosen:
            continue
        asset = chosen[obj.id]
        cand = cands.get(obj.id)
        poses = sorted(cand.poses, key=lambda p: -p.confidence) if cand and cand.poses else []
        yaw = poses[0].yaw if poses else (obj.box.yaw if obj.box is not None else 0.0)
        relation, parent, walls = relation_of(obj, chosen, boxes)
        if parent is not None and not is_structure_id(parent) and parent not in chosen:
            relation, parent = ("against_wall", "floor") if walls else ("floor", "floor")
        verts, faces = asset_proxy(asset, proxies)
        items.append(LayoutItem(id=obj.id, label=obj.label, asset=asset, relation=relation, parent=parent,
                                walls=walls, group=obj.group, facing=obj.facing if obj.facing in chosen else None,
                                box=obj.box, yaw=float(yaw), verts=verts, faces=faces,
                                alternatives=alternatives.get(obj.id, [])))
    return LayoutProblem(planes=list(observation.planes), items=items, catalogue=assets,
                         settings=settings or LayoutSettings(), camera=observation.camera,
                         textures=dict(candidates.textures), proxies=proxies)


def _unify_groups(objects: list, chosen: dict[str, AssetRecord], assets: dict[str, AssetRecord],
                  cands: dict[str, Any]) -> None:
    """Members of one group get one asset: the most frequent first choice, ties by total score then id."""
    groups: dict[str, list[str]] = {}
    for obj in objects:
        if obj.group and obj.id in chosen:
            groups.setdefault(obj.group, []).append(obj.id)
    for members in groups.values():
        votes: dict[str, list[float]] = {}
        for oid in members:
            top = cands[oid].assets[0] if cands.get(oid) and cands[oid].assets else None
            if top is not None and top.asset_id in assets:
                votes.setdefault(top.asset_id, []).append(top.score)
        if not votes:
            continue
        best = sorted(votes, key=lambda a: (-len(votes[a]), -sum(votes[a]), a))[0]
        for oid in members:
            chosen[oid] = assets[best]


def problem_from_layout(layout: Layout, catalogue: Any, proxies: Any = None,
                        settings: LayoutSettings | None = None) -> LayoutProblem:
    """A problem whose items start where ``layout`` puts them (no observation: used by metrics and re-solving)."""
    from .geometry import pose_from_matrix

    assets = catalogue_assets(catalogue)
    items = []
    for p in layout.placements:
        if p.asset_id not in assets:
            raise LayoutError(f"Placement {p.object_id} uses asset {p.asset_id}, which is not in the catalogue.",
                              "Load the library the layout was made with, or swap the object to a listed asset.")
        asset = assets[p.asset_id]
        verts, faces = asset_proxy(asset, proxies)
        pose = pose_from_matrix(p.transform, p.scale)
        items.append(LayoutItem(id=p.object_id, label=asset.class_name, asset=asset, relation=p.relation,
                                parent=p.parent, walls=list(p.walls), pinned=p.pinned, yaw=pose.yaw,
                                verts=verts, faces=faces, initial=pose, fixed_transform=p.transform))
    return LayoutProblem(planes=list(layout.planes), items=items, catalogue=assets,
                         settings=settings or LayoutSettings(), camera=layout.camera,
                         textures=dict(layout.textures), run_id=layout.run_id, proxies=proxies)
