"""What the solver is asked: the room's planes and one item per observed object.

``build_problem`` turns the perception and matching hand-offs (Observation, CandidateSet)
plus the catalogue into a :class:`LayoutProblem`. It decides each object's relation once,
here, from the scene graph, so the solver modules only ever read ``item.relation``:

* ``CEILING_HUNG``: ``hanging_from_ceiling`` (parent ``ceiling``);
* ``WALL_HUNG``: ``hanging_on_wall`` or a wall as support (parent = that wall);
* ``IN``: supported by an object whose asset has inner placement spaces and observed with
  its centre below that object's top (a book inside a shelf, not on top of it);
* ``ON``: supported by another object;
* ``AGAINST_WALL``: on the floor and touching walls; ``FLOOR``: on the floor; ``FREE``: no support.

Where an object starts: ``Candidate.fit`` (the asset fitted to the object's observed points:
pose and scale) when matching produced one for the chosen asset, else the observed box. Objects
the scene graph marks ``removed`` are left out; every such decision is a note on the object
(``LayoutItem.notes`` → ``Placement.notes``) or on the problem (``LayoutProblem.notes`` → ``Layout.notes``).
The problem is never changed by solving it, so one problem can be solved and re-solved freely.

A placeholder candidate (``placeholder:<label>``, see :mod:`core.matching.placeholder`: a label no
library asset fits) becomes an AssetRecord of the observed size with no file; it is placed like any
asset with a box proxy, and its note (why it is a box) goes on the placement.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import checks
from ..config import LayoutSettings
from ..matching.placeholder import is_placeholder, placeholder_records
from ..schema import AssetRecord, Box3D, Candidate, CandidateSet, Layout, Observation, Plane, Relation, is_structure_id
from .assets import asset_proxy, catalogue_assets
from .errors import LayoutError
from .geometry import Pose, local_bounds, pose_from_matrix, wrap_angle


@dataclass
class LayoutItem:
    """One object to place: its chosen asset, what was observed and how it relates to the room."""

    id: str
    label: str
    asset: AssetRecord
    relation: Relation = Relation.FLOOR
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
    fit: Pose | None = None      # the asset fitted to the observed points (Candidate.fit): the start pose
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.relation = Relation(self.relation)  # a misspelt relation fails here, not deep in the solver
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
    notes: list[str] = field(default_factory=list)  # run-level: objects left out, fallbacks taken

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


def observed_extents(asset_yaw: float, box: Box3D | None) -> np.ndarray | None:
    """The observed box size expressed along the asset's axes (x, y swap when the box is turned 90°)."""
    if box is None:
        return None
    quarter = round(wrap_angle(asset_yaw - box.yaw) / (math.pi / 2))
    sx, sy, sz = box.size
    return np.array([sy, sx, sz] if quarter % 2 else [sx, sy, sz], dtype=float)


def relation_of(obj: Any, assets_of: dict[str, AssetRecord],
                boxes: dict[str, Box3D | None]) -> tuple[Relation, str | None, list[str]]:
    """(relation, parent, walls) for one SceneObject, by the rules in the module docstring."""
    walls = list(obj.against_walls)
    support = obj.support
    if obj.hanging_from_ceiling or support == "ceiling":
        return Relation.CEILING_HUNG, "ceiling", []
    if obj.hanging_on_wall or (support or "").startswith("wall_"):
        wall = support if (support or "").startswith("wall_") else (walls[0] if walls else None)
        if wall is None:
            return Relation.FREE, None, []
        return Relation.WALL_HUNG, wall, [wall]
    if support is None:
        return Relation.FREE, None, walls
    if support == "floor":
        return (Relation.AGAINST_WALL if walls else Relation.FLOOR), "floor", walls
    parent_asset = assets_of.get(support)
    box, parent_box = boxes.get(obj.id), boxes.get(support)
    if parent_asset is not None and parent_asset.inner_spaces:
        inside = True
        if box is not None and parent_box is not None:
            top = parent_box.center[2] + parent_box.size[2] / 2
            inside = box.center[2] < top - 0.1 * parent_box.size[2]
        if inside:
            return Relation.IN, support, []
    return Relation.ON, support, walls


WALL_FIT_TOL_M = 0.12  # a fitted asset whose back is farther than this from a wall was not standing against it …
WALL_FIT_TOL_ON_M = 0.02  # … and for one resting on another object (or on nothing detected), farther than this:
                          # it stands where it was seen (a TV's foot in the middle of its stand, off the wall)


def walls_near_fit(start: Pose, asset: AssetRecord, walls: list[str], planes: list[Any],
                   tol: float = WALL_FIT_TOL_M) -> tuple[list[str], list[str]]:
    """The walls the fitted asset really stands against, and a note for each one dropped.

    Why: "against the wall" comes from the scene graph (geometry or the VLM) and snaps the object
    flush, which would move a well-fitted plant or lamp tens of centimetres; when the asset fitted
    to the object's own points keeps a gap, the fit is the better witness.
    """
    by_id = {p.id: p for p in planes}
    half = np.asarray(asset.size, dtype=float)[:2] * np.asarray(start.scale, dtype=float)[:2] / 2
    c, s_ = np.cos(start.yaw), np.sin(start.yaw)
    corners = np.array([[sx * half[0], sy * half[1]] for sx in (-1, 1) for sy in (-1, 1)])
    world = corners @ np.array([[c, s_], [-s_, c]]) + np.asarray(start.position, dtype=float)[:2]
    kept, notes = [], []
    for wall in walls:
        plane = by_id.get(wall)
        if plane is None:
            kept.append(wall)
            continue
        n = np.asarray(plane.normal, dtype=float)[:2]
        gap = float((world @ n - plane.offset).min())
        if gap > tol:
            notes.append(f"not snapped to {wall}: the asset fitted to its points stands {gap:.2f} m from it")
        else:
            kept.append(wall)
    return kept, notes


def fit_pose(candidate: Candidate | None, asset: AssetRecord) -> tuple[Pose | None, str | None]:
    """The start pose from ``Candidate.fit`` (validated), or None with the reason when it cannot be used."""
    fit = candidate.fit if candidate is not None else None
    if not fit:
        return None, None
    where = f"Candidate[{candidate.object_id}].fit"  # type: ignore[union-attr]
    if not isinstance(fit, dict):
        raise LayoutError(f"{where} is a {type(fit).__name__}, not a dict.",
                          "Re-run the match stage (it writes the fit), or delete the fit from candidates.json.")
    if fit.get("asset_id") != asset.id:
        return None, (f"fitted pose is for asset {fit.get('asset_id')}, but {asset.id} was chosen (its group's "
                      "asset); started from the observed box")
    transform = checks.matrix(f"{where}.transform", fit.get("transform"))
    scale = checks.vector(f"{where}.scale", fit.get("scale", (1.0, 1.0, 1.0)), 3, minimum=0.0)
    if min(scale) <= 0:
        raise LayoutError(f"{where}.scale = {list(scale)} has a zero axis.", "Re-run the match stage.")
    return pose_from_matrix(transform, scale), None


def build_problem(observation: Observation, candidates: CandidateSet, catalogue: Any, proxies: Any = None,
                  *, settings: LayoutSettings | None = None) -> LayoutProblem:
    """Join the scene graph, the best candidate per object and the catalogue into a LayoutProblem.

    Removed objects and objects without a usable candidate are left out, each with a note (and
    an error when none is left); the members of a group take the asset most of them ranked first,
    so instances match.
    """
    if not isinstance(observation, Observation):
        raise LayoutError(f"build_problem needs an Observation, not a {type(observation).__name__}.",
                          "Load it with Observation.from_json(run_dir/observation.json).")
    if not isinstance(candidates, CandidateSet):
        raise LayoutError(f"build_problem needs a CandidateSet, not a {type(candidates).__name__}.",
                          "Load it with CandidateSet.from_json(run_dir/candidates.json).")
    assets = catalogue_assets(catalogue)
    assets.update(placeholder_records(candidates))
    cands = {c.object_id: c for c in candidates.candidates}
    notes: list[str] = []
    objects = []
    for obj in observation.graph.objects:
        if obj.removed:
            notes.append(f"{obj.id} ({obj.label}) not placed: {obj.removed}")
        else:
            objects.append(obj)
    chosen: dict[str, AssetRecord] = {}
    alternatives: dict[str, list[str]] = {}
    for obj in objects:
        cand = cands.get(obj.id)
        ranked = [r.asset_id for r in (cand.assets if cand else []) if r.asset_id in assets]
        if ranked:
            chosen[obj.id] = assets[ranked[0]]
            alternatives[obj.id] = ranked
        else:
            notes.append(f"{obj.id} ({obj.label}) not placed: no candidate asset from this library")
    if objects and not chosen:
        raise LayoutError("No observed object has a candidate asset that is in the catalogue.",
                          "Run matching against the same library the layout stage is given.")
    object_notes = _unify_groups(objects, chosen, assets, cands)
    boxes = {o.id: o.box for o in objects}
    items: list[LayoutItem] = []
    from_box = 0
    for obj in objects:
        if obj.id not in chosen:
            continue
        asset = chosen[obj.id]
        cand = cands.get(obj.id)
        own = list(obj.notes) + object_notes.get(obj.id, [])
        if is_placeholder(asset.id):
            ranked_as = next((r for r in (cand.assets if cand else []) if r.asset_id == asset.id), None)
            note = str((ranked_as.parts or {}).get("note", "")) if ranked_as else ""
            note = note or asset.caption or f"{obj.id} ({obj.label}): placed as a labelled box (no library asset)"
            own.append(note.removeprefix(f"{obj.id} ({obj.label}): "))  # the placement already names the object
        start, why_not = fit_pose(cand, asset)
        if why_not:
            own.append(why_not)
        if start is None and obj.box is not None:
            from_box += 1
        poses = sorted(cand.poses, key=lambda p: -p.confidence) if cand and cand.poses else []
        if start is not None:
            yaw = start.yaw
        elif poses:
            yaw = poses[0].yaw
        else:
            yaw = obj.box.yaw if obj.box is not None else 0.0
        relation, parent, walls = relation_of(obj, chosen, boxes)
        if start is not None and walls and relation in (Relation.AGAINST_WALL, Relation.ON, Relation.FLOOR,
                                                        Relation.FREE):
            walls, dropped = walls_near_fit(start, asset, walls, observation.planes,
                                            WALL_FIT_TOL_ON_M if relation in (Relation.ON, Relation.FREE)
                                            else WALL_FIT_TOL_M)
            own.extend(dropped)
            if relation == Relation.AGAINST_WALL and not walls:
                relation = Relation.FLOOR
        if parent is not None and not is_structure_id(parent) and parent not in chosen:
            own.append(f"its support {parent} is not placed; it stands on the floor instead")
            relation, parent = (Relation.AGAINST_WALL, "floor") if walls else (Relation.FLOOR, "floor")
        facing = obj.facing if obj.facing in chosen else None
        if obj.facing and facing is None:
            own.append(f"faces {obj.facing}, which is not placed; kept its observed turn")
        verts, faces = asset_proxy(asset, proxies, own)
        items.append(LayoutItem(id=obj.id, label=obj.label, asset=asset, relation=relation, parent=parent,
                                walls=walls, group=obj.group, facing=facing, box=obj.box, yaw=float(yaw),
                                verts=verts, faces=faces, alternatives=alternatives.get(obj.id, []), fit=start,
                                notes=own))
    if from_box:
        notes.append(f"{from_box} object(s) start from their observed box (no fit of the asset to their points)")
    return LayoutProblem(planes=list(observation.planes), items=items, catalogue=assets,
                         settings=settings or LayoutSettings(), camera=observation.camera,
                         textures=dict(candidates.textures), proxies=proxies, notes=notes)


def _unify_groups(objects: list, chosen: dict[str, AssetRecord], assets: dict[str, AssetRecord],
                  cands: dict[str, Any]) -> dict[str, list[str]]:
    """Members of one group get one asset: the most frequent first choice, ties by total score then id.

    Returns a note for each member whose own first choice was overruled.
    """
    groups: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    for obj in objects:
        if obj.group and obj.id in chosen:
            groups.setdefault(obj.group, []).append(obj.id)
    for group, members in groups.items():
        votes: dict[str, list[float]] = {}
        for oid in members:
            top = cands[oid].assets[0] if cands.get(oid) and cands[oid].assets else None
            if top is not None and top.asset_id in assets:
                votes.setdefault(top.asset_id, []).append(top.score)
        if not votes:
            continue
        best = sorted(votes, key=lambda a: (-len(votes[a]), -sum(votes[a]), a))[0]
        for oid in members:
            if chosen[oid].id != best:
                notes.setdefault(oid, []).append(f"uses {best}, the asset of its group {group} "
                                                 f"(its own first choice was {chosen[oid].id})")
            chosen[oid] = assets[best]
    return notes


def problem_from_layout(layout: Layout, catalogue: Any, proxies: Any = None,
                        settings: LayoutSettings | None = None) -> LayoutProblem:
    """A problem whose items start where ``layout`` puts them (no observation: used by metrics and re-solving)."""
    assets = catalogue_assets(catalogue)
    assets.update(_placeholder_assets(layout))
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
                                verts=verts, faces=faces, initial=pose, fixed_transform=p.transform,
                                notes=list(p.notes)))
    return LayoutProblem(planes=list(layout.planes), items=items, catalogue=assets,
                         settings=settings or LayoutSettings(), camera=layout.camera,
                         textures=dict(layout.textures), run_id=layout.run_id, proxies=proxies,
                         notes=list(layout.notes))


def _placeholder_assets(layout: Layout) -> dict[str, AssetRecord]:
    """Placeholder records for a layout's labelled boxes, sized so asset size × scale = the placed box."""
    from ..matching.placeholder import placeholder_label, placeholder_record
    from ..schema import RankedAsset

    out: dict[str, AssetRecord] = {}
    for p in layout.placements:
        if not is_placeholder(p.asset_id) or p.asset_id in out:
            continue
        size = None
        if p.box is not None:
            size = [float(b) / max(float(s), 1e-9) for b, s in zip(p.box.size, p.scale)]
        parts: dict[str, Any] = {"placeholder": 1.0, "label": placeholder_label(p.asset_id)}
        if size is not None:
            parts["size"] = size
        out[p.asset_id] = placeholder_record(RankedAsset(p.asset_id, 0.0, parts))
    return out
