"""Inner placement spaces: books on a shelf, plates in a cabinet.

An ``InnerSpace`` is a box inside its parent asset: ``transform`` places the box's *bottom centre*
(the top face of a shelf board) in the parent's asset frame (catalogue size, metres; its rotation
about Z is rounded to a quarter turn) — the same origin convention as assets themselves, and the
one the catalogue documents (core/library/catalogue.py) — and ``scale_ratio`` gives the box's
extents as fractions of the parent's catalogue size.
The parent's placement scale stretches the space with it.

Children fill a space left to right along its x axis, each standing on the space's floor,
turned like the space (fronts out). A child goes to the nearest space (to where it was seen)
that still has room; when it fits none as it is, it goes to the nearest space with room left
and is shrunk uniformly to fit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import rot2
from .scaling import shrink_to_fit
from .state import SolveState

_GAP = 0.005  # between neighbours in a space


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


def place_inside(state: SolveState, oid: str, used: dict[tuple[str, str], float]) -> None:
    """Choose a space of the parent, shrink the child to fit it, and stand it in the next free slot."""
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

    def room_left(b: SpaceBox) -> float:
        return b.extents[0] - used.get((parent_id, b.name), 0.0)  # type: ignore[return-value]

    def fits(b: SpaceBox) -> bool:
        return shrink_to_fit(extents, b.extents, 1.0) >= 1.0 and room_left(b) >= extents[0]

    def distance(k: int) -> float:
        return float(np.linalg.norm(world_centre(boxes[k]) - seen))

    ranked = sorted(range(len(boxes)), key=lambda k: (not fits(boxes[k]), distance(k), k))
    best = boxes[ranked[0]]
    if not fits(best):  # nowhere it fits as it is: the nearest space with room left, and shrink it
        best = boxes[sorted(range(len(boxes)), key=lambda k: (room_left(boxes[k]) <= 0.02, distance(k), k))[0]]
        factor = shrink_to_fit(extents, np.array([max(room_left(best), 0.0), best.extents[1], best.extents[2]]))
        if factor < 1e-3:  # every space is full: share the first slot rather than vanish
            factor = shrink_to_fit(extents, best.extents)
            used[(parent_id, best.name)] = 0.0  # type: ignore[index]
        pose.scale = pose.scale * factor
        extents = extents * factor
    start = used.get((parent_id, best.name), 0.0)  # type: ignore[arg-type]
    used[(parent_id, best.name)] = start + extents[0] + _GAP  # type: ignore[index]
    turn = ppose.yaw + best.quarter * math.pi / 2
    local = np.array([-best.extents[0] / 2 + start + extents[0] / 2, 0.0])
    middle = (item.lo[:2] + item.hi[:2]) / 2 * pose.scale[:2]
    pose.yaw = turn
    pose.position[:2] = world_centre(best)[:2] + rot2(turn) @ (local - middle)
    pose.position[2] = ppose.position[2] + best.centre[2] - best.extents[2] / 2 - item.lo[2] * pose.scale[2]
    state.spaces[oid] = best.name

