"""Solve a layout: the scene-graph rules in order, then collisions; and re-solve after edits.

Order of work (parents before children, so every rule sees its support already in place):

1. start pose: the fit of the asset to the object's points (``Candidate.fit``), else the observed
   box (bottom centre, best yaw hypothesis), or, when re-solving, the pose the artist left; scale
   from the fit, else toward the observed box by the asset's strategy (groups share);
2. facing targets turn the object; walls then turn it (when the asset asks) and make it flush;
3. height by relation: floor, top of the support (ray casts on its proxy), inner space, wall
   height as observed, ceiling;
4. collisions are pushed apart by small moves that respect the relations (``separation``).

Everything is deterministic: fixed orders, no randomness, ties broken by id. ``solve`` reads its
problem and never changes it; the Layout it returns is all that :func:`reoptimise` needs later
(passed back explicitly as ``previous``), so nothing is remembered between calls.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..schema import Layout, Placement, Relation
from .assets import asset_proxy
from .boxes_out import placement_box
from .collision import BvhCollisionWorld, CollisionWorld
from .errors import LayoutError
from .facing import face_target
from .geometry import Pose, pose_from_matrix
from .inner import place_inside
from .problem import LayoutItem, LayoutProblem
from .scaling import scales_for
from .separation import separate
from .state import SolveState
from .support import hang_at_observed_height, hang_from_ceiling, rest_on_floor, rest_on_parent
from .walls import keep_inside, snap_to_walls

COLLISION_NOTE = "still collides with "   # object notes the solver writes (and replaces on each solve)
COLLISION_SUMMARY = "pair(s) still collide after separation"


def solve(problem: LayoutProblem, *, collisions: CollisionWorld | None = None,
          keep_scale: Iterable[str] = ()) -> Layout:
    """Place every item by the rules, then separate collisions; pinned items with a pose never move.

    ``keep_scale``: ids whose ``initial`` scale is kept instead of scaling toward the observed box.
    ``problem`` is not changed. The Layout carries each placement's world box and notes (the
    object's own, plus any collision left), and the problem's notes plus the solve's.
    """
    state = SolveState(problem, collisions or BvhCollisionWorld(problem.settings.collision_margin_m))
    scales = scales_for(problem.items, problem.settings.max_scale_change)
    keep = set(keep_scale)
    used: dict = {}
    for item in problem.items:  # parents first (LayoutProblem keeps them in dependency order)
        if item.pinned and item.initial is not None:
            state.poses[item.id] = item.initial.copy()
            state.fixed.add(item.id)
            state.sync(item.id)
            continue
        state.poses[item.id] = start_pose(state, item, scales[item.id], item.id in keep)
        apply_rules(state, item, used)
        state.sync(item.id)
        if item.pinned:
            state.fixed.add(item.id)
    remaining = separate(state)
    return to_layout(state, remaining)


def start_pose(state: SolveState, item: LayoutItem, scale: np.ndarray, keep_scale: bool) -> Pose:
    """Where an item starts before the rules: the artist's pose, the fit, the observed box, or the origin."""
    if item.initial is not None:
        pose = item.initial.copy()
        if not keep_scale:
            pose.scale = scale.copy()
        return pose
    if item.fit is not None:
        pose = item.fit.copy()
        pose.scale = scale.copy()  # the fit's scale, clamped (and shared within a group) by scales_for
        return pose
    if item.box is not None:
        c = np.asarray(item.box.center, dtype=float)
        position = np.array([c[0], c[1], c[2] - item.box.size[2] / 2])
    else:
        position = np.array([0.0, 0.0, state.floor_z])
    return Pose(position, float(item.yaw), scale.copy())


def apply_rules(state: SolveState, item: LayoutItem, used: dict) -> None:
    """The scene-graph rules for one item, given that its parent (if any) is already placed."""
    face_target(state, item.id)
    relation = item.relation
    if relation == Relation.IN and item.parent in state.poses and state.items[item.parent].asset.inner_spaces:
        place_inside(state, item.id, used)
        return
    if relation == Relation.IN:  # the parent (perhaps swapped by the artist) has no inner spaces: stand on it
        relation = Relation.ON
    if relation == Relation.ON and item.parent in state.poses:
        snap_to_walls(state, item.id)
        rest_on_parent(state, item.id)
    elif relation in (Relation.FLOOR, Relation.AGAINST_WALL, Relation.ON):
        snap_to_walls(state, item.id)
        rest_on_floor(state, item.id)
    elif relation == Relation.WALL_HUNG:
        snap_to_walls(state, item.id)
        hang_at_observed_height(state, item.id)
    elif relation == Relation.CEILING_HUNG:
        hang_from_ceiling(state, item.id)
    keep_inside(state, item.id)
    if item.walls:
        snap_to_walls(state, item.id)


def to_layout(state: SolveState, remaining: list[tuple[str, str]] = ()) -> Layout:
    """The solved poses as a Layout, with boxes and notes (``remaining``: pairs separation left colliding)."""
    problem = state.problem
    hits: dict[str, list[str]] = {}
    for a, b in remaining:
        hits.setdefault(a, []).append(b)
        hits.setdefault(b, []).append(a)
    placements = []
    for item in problem.items:
        pose = state.poses[item.id]
        exact = item.id in state.fixed and item.fixed_transform is not None  # pinned: exactly as the artist left it
        notes = [n for n in item.notes if not n.startswith(COLLISION_NOTE)] + state.notes.get(item.id, [])
        if item.id in hits:
            notes.append(COLLISION_NOTE + ", ".join(sorted(hits[item.id])))
        placement = Placement(
            object_id=item.id, asset_id=item.asset.id,
            transform=item.fixed_transform if exact else [list(r) for r in pose.rigid()], scale=list(pose.scale),
            parent=item.parent, relation=item.relation, pinned=item.pinned,
            inner_space=state.spaces.get(item.id), walls=list(item.walls), notes=notes)
        placement.box = placement_box(placement, item.asset)
        placements.append(placement)
    notes = [n for n in problem.notes if COLLISION_SUMMARY not in n]  # replaced below, never stacked
    if remaining:
        notes.append(f"{len(remaining)} {COLLISION_SUMMARY}: " + ", ".join(f"{a}–{b}" for a, b in remaining))
    return Layout(placements=placements, planes=list(problem.planes), textures=dict(problem.textures),
                  camera=problem.camera, run_id=problem.run_id, notes=notes)


def reoptimise(layout: Layout, problem: LayoutProblem, edited_ids: Iterable[str], pin_edited: bool = True,
               *, previous: Layout | None = None, collisions: CollisionWorld | None = None) -> Layout:
    """Re-solve around the artist's edits: edited objects stay where they were put (when ``pin_edited``).

    ``layout`` is the scene as read back; ``problem`` the run's problem (labels, groups, observed
    boxes, proxies, catalogue: read only); ``previous`` the layout before the edits (the last one
    solved, e.g. ``layout.json``): objects resting on an edited one move with it. Without
    ``previous`` nothing is carried. Other objects start from where they are, keep their scale, and
    are re-placed by the rules.
    """
    edited = set(edited_ids)
    placed = layout.by_id()
    unknown = sorted(edited - set(placed))
    if unknown:
        raise LayoutError(f"Edited objects {unknown} are not in the layout being re-optimised.",
                          "Pass the ids of objects in the collection (their object_id property).")
    before_by_id = previous.by_id() if previous is not None else {}
    base = problem.by_id()
    items = []
    for p in layout.placements:
        old = base.get(p.object_id)
        asset = problem.catalogue.get(p.asset_id, old.asset if old else None)
        if asset is None:
            raise LayoutError(f"Placement {p.object_id} uses asset {p.asset_id}, which the problem's catalogue lacks.",
                              "Swap the object to one of its listed candidates, or load the library it came from.")
        verts, faces = (old.verts, old.faces) if old is not None and old.asset.id == asset.id \
            else asset_proxy(asset, problem.proxies)
        pose = pose_from_matrix(p.transform, p.scale)
        pose = _carried(pose, p, placed, before_by_id, edited)
        notes = list(p.notes) if p.notes else list(old.notes if old else [])
        items.append(LayoutItem(
            id=p.object_id, label=old.label if old else asset.class_name, asset=asset, relation=p.relation,
            parent=p.parent, walls=list(p.walls), group=old.group if old else None,
            facing=None,  # the artist's turn is kept: facing was applied when the object was first solved
            pinned=p.pinned or (pin_edited and p.object_id in edited), box=old.box if old else None,
            yaw=pose.yaw, verts=verts, faces=faces, initial=pose,
            alternatives=old.alternatives if old else [], fixed_transform=p.transform, notes=notes))
    sub = LayoutProblem(planes=list(layout.planes or problem.planes), items=items, catalogue=problem.catalogue,
                        settings=problem.settings, camera=layout.camera or problem.camera,
                        textures=dict(layout.textures or problem.textures), run_id=layout.run_id or problem.run_id,
                        proxies=problem.proxies, notes=list(layout.notes or problem.notes))
    return solve(sub, collisions=collisions, keep_scale=[i.id for i in items])


def _carried(pose: Pose, p: Placement, placed: dict, before: dict, edited: set[str]) -> Pose:
    """A child of an edited object follows that object's move (from ``before`` to now)."""
    if p.object_id in edited:
        return pose
    node, chain = p.parent, set()
    while node in placed and node not in chain:
        chain.add(node)
        if node in edited and node in before:
            now = np.asarray(placed[node].transform, dtype=float)
            then = np.asarray(before[node].transform, dtype=float)
            moved = now @ np.linalg.inv(then) @ pose.rigid()
            return pose_from_matrix(moved, pose.scale)
        node = placed[node].parent
    return pose
