"""Inner placement spaces: books on a shelf, plates in a cabinet.

An ``InnerSpace`` is a box inside its parent asset: ``transform`` places the box's *bottom centre*
(the top face of a shelf board) in the parent's asset frame (catalogue size, metres; its rotation
about Z is rounded to a quarter turn) — the same origin convention as assets themselves, and the
one the catalogue documents (core/library/catalogue.py) — and ``scale_ratio`` gives the box's
extents as fractions of the parent's catalogue size.
The parent's placement scale stretches the space with it.

Children stand on the space's floor, turned like the space (fronts out), where they were seen:
along its x axis the free slot nearest to that (beside the children already there); front to
back in the middle of the space unless seen clearly nearer its front or back (``ACROSS_NOISE_M``).
A child seen inside a gap too narrow for it is shrunk into that gap, down to ``SQUEEZE_MIN`` of its
width, with a note. A child goes to the nearest space (to where it was seen) that still has room;
when it fits none as it is, it goes to the nearest space with room left and is shrunk uniformly to
fit its widest free gap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import rot2
from .scaling import shrink_to_fit
from .state import SolveState

_GAP = 0.005  # between neighbours in a space
SQUEEZE_MIN = 0.5  # a child is squeezed into the gap it was seen in down to this share of its width
ACROSS_NOISE_M = 0.06  # a child's seen offset from the middle of a space's depth counts only beyond this


@dataclass
class SpaceBox:
    """A space in the parent's (scaled) asset frame, axis-aligned there."""

    name: str
    centre: np.ndarray   # parent frame, metres after the parent's scale
    extents: np.ndarray  # along the space's own axes
    quarter: int         # the space's turn relative to the parent, in quarter turns


def space_boxes(state: SolveState, parent_id: str) -> list[SpaceBox]:
    parent = state.items[parent_id]
    scale = state.poses[parent_id].scale
    size = np.asarray(parent.asset.size, dtype=float)
    out = []
    for space in parent.asset.inner_spaces:
        m = np.asarray(space.transform, dtype=float)
        quarter = int(round(math.atan2(m[1, 0], m[0, 0]) / (math.pi / 2))) % 4
        ext = np.asarray(space.scale_ratio, dtype=float) * size
        along_parent = np.array([ext[1], ext[0], ext[2]]) if quarter % 2 else ext
        scaled = along_parent * scale
        extents = np.array([scaled[1], scaled[0], scaled[2]]) if quarter % 2 else scaled
        centre = m[:3, 3] + np.array([0.0, 0.0, ext[2] / 2.0])  # bottom centre → box centre
        out.append(SpaceBox(space.name, centre * scale, extents, quarter))
    return out


def place_inside(state: SolveState, oid: str, used: dict[tuple[str, str], list[tuple[float, float]]]) -> None:
    """Choose a space of the parent, shrink the child to fit it, and stand it where it was seen along the space.

    ``used`` holds, per (parent, space), the intervals along the space's x axis that children
    placed before this one already take. A child goes to the free slot nearest to where the photo
    showed it, so two books on a shelf keep their order and their gap (filling a space left to
    right in the solver's order swapped them).
    """
    item, pose = state.items[oid], state.poses[oid]
    parent_id = item.parent
    ppose = state.poses[parent_id]  # type: ignore[index]
    boxes = space_boxes(state, parent_id)  # type: ignore[arg-type]
    if not boxes:
        return
    extents = (item.hi - item.lo) * pose.scale
    seen = np.asarray(item.box.center, dtype=float) if item.box is not None else pose.position

    def world_centre(b: SpaceBox) -> np.ndarray:
        c = ppose.position.copy()
        c[:2] += rot2(ppose.yaw) @ b.centre[:2]
        c[2] += b.centre[2]
        return c

    def taken(b: SpaceBox) -> list[tuple[float, float]]:
        return used.setdefault((parent_id, b.name), [])  # type: ignore[arg-type]

    def wanted(b: SpaceBox) -> np.ndarray:  # where in the space's (x, y) the child was seen
        turn = ppose.yaw + b.quarter * math.pi / 2
        return rot2(turn).T @ (seen[:2] - world_centre(b)[:2])

    def slot(b: SpaceBox, width: float) -> float | None:
        return free_slot(taken(b), b.extents[0], width, float(wanted(b)[0]))

    def fits(b: SpaceBox) -> bool:
        return shrink_to_fit(extents, b.extents, 1.0) >= 1.0 and slot(b, extents[0]) is not None

    def distance(k: int) -> float:
        return float(np.linalg.norm(world_centre(boxes[k]) - seen))

    ranked = sorted(range(len(boxes)), key=lambda k: (not fits(boxes[k]), distance(k), k))
    best = boxes[ranked[0]]
    if not fits(best):  # nowhere it fits as it is: the nearest space with room left, and shrink it
        best = boxes[sorted(range(len(boxes)), key=lambda k: (widest_gap(taken(boxes[k]), boxes[k].extents[0]) <= 0.02,
                                                              distance(k), k))[0]]
        room = widest_gap(taken(best), best.extents[0]) - 2 * _GAP
        factor = shrink_to_fit(extents, np.array([max(room, 0.0), best.extents[1], best.extents[2]]))
        if factor < 1e-3:  # every space is full: share the space rather than vanish
            factor = shrink_to_fit(extents, best.extents)
            taken(best).clear()
        pose.scale = pose.scale * factor
        extents = extents * factor
    at = slot(best, extents[0])
    want = float(wanted(best)[0])
    gap = gap_at(taken(best), best.extents[0], want)
    if at is not None and abs(at - want) > extents[0] / 2 and gap is not None \
            and gap[1] - gap[0] - 2 * _GAP >= SQUEEZE_MIN * extents[0]:
        # too wide for the gap it was seen in (its size was overestimated, or its neighbours'): squeeze
        # it in there rather than carry it to the far end of the shelf
        factor = (gap[1] - gap[0] - 2 * _GAP) / extents[0]
        pose.scale, extents = pose.scale * factor, extents * factor
        at = float(np.clip(want, gap[0] + _GAP + extents[0] / 2, gap[1] - _GAP - extents[0] / 2))
        state.notes.setdefault(oid, []).append(
            f"shrunk to {factor:.0%} to stand where it was seen, between its neighbours in {parent_id}")
    if at is None:  # rounding at a full space's edge: the seen place, clamped inside
        half = max(best.extents[0] - extents[0], 0.0) / 2
        at = float(np.clip(wanted(best)[0], -half, half))
    taken(best).append((at - extents[0] / 2, at + extents[0] / 2))
    turn = ppose.yaw + best.quarter * math.pi / 2
    # front to back: in the middle of the space, unless it was seen clearly nearer its front or back (a deeper
    # shelf than the photo's keeps its books at the back, where they were). How deep a thing inside a shelf
    # stands is measured among the shelf's own front edges and under the depth's scale error: a few cm
    # either way say nothing.
    depth_room = max(best.extents[1] - extents[1], 0.0) / 2
    across = float(wanted(best)[1])
    across = math.copysign(max(abs(across) - ACROSS_NOISE_M, 0.0), across)
    local = np.array([at, float(np.clip(across, -depth_room, depth_room))])
    middle = (item.lo[:2] + item.hi[:2]) / 2 * pose.scale[:2]
    pose.yaw = turn
    pose.position[:2] = world_centre(best)[:2] + rot2(turn) @ (local - middle)
    pose.position[2] = ppose.position[2] + best.centre[2] - best.extents[2] / 2 - item.lo[2] * pose.scale[2]
    state.spaces[oid] = best.name


def free_slot(taken: list[tuple[float, float]], length: float, width: float, want: float) -> float | None:
    """The centre nearest to ``want`` of a ``width``-wide slot in a space of ``length`` (centred on 0) that
    overlaps none of the ``taken`` intervals (with a small gap); None when there is no such slot."""
    half = (length - width) / 2
    if half < -1e-9:
        return None
    options = [float(np.clip(want, -half, half))]
    for lo, hi in taken:
        options += [lo - _GAP - width / 2, hi + _GAP + width / 2]

    def free(c: float) -> bool:
        inside = -half - 1e-9 <= c <= half + 1e-9
        clear = all(c + width / 2 <= lo - _GAP + 1e-9 or c - width / 2 >= hi + _GAP - 1e-9 for lo, hi in taken)
        return inside and clear

    ok = [c for c in options if free(c)]
    return min(ok, key=lambda c: (abs(c - want), c)) if ok else None


def gaps(taken: list[tuple[float, float]], length: float) -> list[tuple[float, float]]:
    """The free stretches of a space of ``length`` (centred on 0) between the ``taken`` intervals."""
    edges = [-length / 2] + [v for lo, hi in sorted(taken) for v in (lo, hi)] + [length / 2]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]


def gap_at(taken: list[tuple[float, float]], length: float, x: float) -> tuple[float, float] | None:
    """The free stretch around ``x``, or None when ``x`` lies on a taken interval."""
    return next(((a, b) for a, b in gaps(taken, length) if a <= x <= b), None)


def widest_gap(taken: list[tuple[float, float]], length: float) -> float:
    """The width of the widest free stretch."""
    return max((b - a for a, b in gaps(taken, length)), default=length)
