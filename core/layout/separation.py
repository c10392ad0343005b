"""Resolve collisions by small displacements.

For each colliding pair (found by the collision world: crossing triangles or containment) the
separating moves come from the two footprints (2D separating-axis test on the scaled proxy
boxes): the shortest axis first, then the others. One object of the pair moves — the more
mobile one (free > on the floor > on an object > along one wall > nothing), the smaller on
ties — and each move is projected onto what its relations allow (along its wall, within its
support's top, inside the room). A move that leaves the pair colliding is undone and the next
option is tried. Pinned objects never move; children ride along with their support.
"""
from __future__ import annotations

import numpy as np

from ..schema import Relation
from .geometry import footprint
from .state import SolveState
from .support import rest_on_parent
from .walls import along_walls, keep_inside, snap_to_walls

_CLEARANCE = 0.002  # pushed this far past touching, so rounding never leaves a hairline overlap
_MOBILITY = {Relation.FREE: 4, Relation.CEILING_HUNG: 4, Relation.FLOOR: 3, Relation.ON: 2, Relation.AGAINST_WALL: 1,
             Relation.WALL_HUNG: 1, Relation.IN: 0}


def mobility(state: SolveState, oid: str) -> int:
    item = state.items[oid]
    if oid in state.fixed or item.pinned:
        return -1
    score = _MOBILITY.get(item.relation, 0)
    if len([w for w in item.walls if w in state.walls]) >= 2:
        score = 0
    return score


def separating_moves(state: SolveState, a: str, b: str) -> list[np.ndarray]:
    """Horizontal moves of ``b`` away from ``a`` that end the footprints' overlap, shortest first."""
    ia, ib = state.items[a], state.items[b]
    fa = footprint(state.poses[a], ia.lo, ia.hi)
    fb = footprint(state.poses[b], ib.lo, ib.hi)
    axes = []
    for poly in (fa, fb):
        for k in range(2):
            edge = poly[k + 1] - poly[k]
            n = np.array([-edge[1], edge[0]])
            length = float(np.linalg.norm(n))
            if length > 1e-9:
                axes.append(n / length)
    moves = []
    for n in axes:
        pa, pb = fa @ n, fb @ n
        overlap = min(pa.max(), pb.max()) - max(pa.min(), pb.min())
        if overlap <= 0:  # a separating axis: the footprints do not overlap at all
            moves = []
            break
        moves.append(np.append(n * (pa.max() - pb.min() + _CLEARANCE), 0.0))   # b past a's far side
        moves.append(np.append(-n * (pb.max() - pa.min() + _CLEARANCE), 0.0))  # b past a's near side
    if not moves:  # footprints apart but meshes collide (odd proxies): step apart along the centre line
        d = state.poses[b].position[:2] - state.poses[a].position[:2]
        d = d / np.linalg.norm(d) if np.linalg.norm(d) > 1e-9 else np.array([1.0, 0.0])
        return [np.append(d * 0.05, 0.0)]
    return sorted(moves, key=lambda m: float(np.linalg.norm(m)))


def try_move(state: SolveState, oid: str, delta: np.ndarray) -> bool:
    """Move ``oid`` by the allowed part of ``delta``, re-applying its relations; False if nothing moved."""
    item = state.items[oid]
    if item.relation in (Relation.WALL_HUNG, Relation.AGAINST_WALL) or item.walls:
        delta = along_walls(state, oid, delta)
    if float(np.linalg.norm(delta)) < 1e-6:
        return False
    before = state.poses[oid].position.copy()
    state.poses[oid].position = before + delta
    if item.relation == Relation.ON and item.parent in state.items:
        rest_on_parent(state, oid)
    if item.walls:
        snap_to_walls(state, oid)
    keep_inside(state, oid)
    moved = state.poses[oid].position - before
    state.poses[oid].position = before
    if float(np.linalg.norm(moved)) < 1e-6:
        return False
    state.translate(oid, moved)
    return True


def resolve_pair(state: SolveState, a: str, b: str) -> bool:
    """Separate one pair by the allowed move that leaves the mover with the fewest new collisions.

    The first move that separates the pair and collides with nothing else wins at once; otherwise the
    separating move with the fewest other collisions is kept, so crowded rooms still make progress.
    """
    order = sorted([(a, b), (b, a)], key=lambda p: (-mobility(state, p[1]), _area(state, p[1]), p[1]))
    best: tuple[int, str, np.ndarray] | None = None
    for still, mover in order:
        if mobility(state, mover) <= 0:
            continue
        for delta in separating_moves(state, still, mover):
            snap = state.snapshot(mover)
            if try_move(state, mover, delta) and not state.world.collide(a, b):
                crowd = sum(len(state.world.colliding_with(n, state.related)) for n in snap)
                if crowd == 0:
                    return True
                if best is None or crowd < best[0]:
                    best = (crowd, mover, delta)
            state.restore(snap)
    if best is not None:
        try_move(state, best[1], best[2])
        return True
    return _split(state, a, b)


def _split(state: SolveState, a: str, b: str) -> bool:
    """Neither can make room alone (two vases on one small top): each moves half the way."""
    if mobility(state, a) <= 0 or mobility(state, b) <= 0:
        return False
    for delta in separating_moves(state, a, b):
        snap = {**state.snapshot(a), **state.snapshot(b)}
        try_move(state, b, delta / 2)
        try_move(state, a, -delta / 2)
        if not state.world.collide(a, b):
            return True
        state.restore(snap)
    return False


def separate(state: SolveState, rounds: int = 12) -> list[tuple[str, str]]:
    """Push colliding pairs apart until none is left or no move helps; returns the pairs still colliding."""
    remaining: list[tuple[str, str]] = []
    for _ in range(rounds):
        pairs = state.world.colliding_pairs(skip=state.related)
        if not pairs:
            return []
        progress = False
        remaining = []
        for a, b in pairs:
            if not state.world.collide(a, b):
                continue
            if resolve_pair(state, a, b):
                progress = True
            else:
                remaining.append((a, b))
        if not progress:
            break
    return state.world.colliding_pairs(skip=state.related)


def _area(state: SolveState, oid: str) -> float:
    item, pose = state.items[oid], state.poses[oid]
    ext = (item.hi - item.lo)[:2] * pose.scale[:2]
    return float(ext[0] * ext[1])
