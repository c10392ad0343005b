"""Heights: rest on the floor or on a supporting object, hang from walls and the ceiling.

Resting on an object uses the support's collision proxy, not its box: rays cast straight down
at the centre and four inner points of the object's footprint find the highest surface of the
support under it, so a lamp lands on a nightstand's top and not on its bounding box's.
"""
from __future__ import annotations

import numpy as np

from .geometry import footprint, rot2
from .state import SolveState

_SAMPLE = 0.8  # footprint points sit at 80 % of the half extents: edges of a top are often bevelled


def rest_on_floor(state: SolveState, oid: str) -> None:
    item, pose = state.items[oid], state.poses[oid]
    pose.position[2] = state.floor_z - item.lo[2] * pose.scale[2]


def hang_from_ceiling(state: SolveState, oid: str) -> None:
    """Top of the object at the ceiling; with no ceiling plane, its bottom at the observed bottom.

    What depth sees of a pendant is its shade, not its thin cord, so without a ceiling to hang from
    the observed bottom is the trustworthy height (the observed top would hang the cord's end there).
    """
    item, pose = state.items[oid], state.poses[oid]
    top = state.ceiling_z
    if top is not None:
        pose.position[2] = top - item.hi[2] * pose.scale[2]
    elif item.box is not None:
        bottom = item.box.center[2] - item.box.size[2] / 2
        pose.position[2] = bottom - item.lo[2] * pose.scale[2]


def hang_at_observed_height(state: SolveState, oid: str) -> None:
    """Wall objects keep the height they were seen at, clamped between floor and ceiling."""
    item, pose = state.items[oid], state.poses[oid]
    height = (item.hi[2] - item.lo[2]) * pose.scale[2]
    if item.box is not None:
        pose.position[2] = item.box.center[2] - item.box.size[2] / 2 - item.lo[2] * pose.scale[2]
    lowest = state.floor_z - item.lo[2] * pose.scale[2]
    highest = (state.ceiling_z - height - item.lo[2] * pose.scale[2]) if state.ceiling_z is not None else None
    pose.position[2] = max(pose.position[2], lowest)
    if highest is not None and highest >= lowest:
        pose.position[2] = min(pose.position[2], highest)


def centre_over_parent(state: SolveState, oid: str) -> None:
    """Slide the object (in the support's frame) so its footprint lies on the support's footprint."""
    item, pose = state.items[oid], state.poses[oid]
    parent = state.items[item.parent]  # type: ignore[index]
    ppose = state.poses[parent.id]
    to_local = rot2(-ppose.yaw)
    corners = (footprint(pose, item.lo, item.hi) - ppose.position[:2]) @ to_local.T
    cmin, cmax = corners.min(axis=0), corners.max(axis=0)
    plo, phi = parent.lo[:2] * ppose.scale[:2], parent.hi[:2] * ppose.scale[:2]
    shift = np.zeros(2)
    for k in range(2):
        if cmax[k] - cmin[k] > phi[k] - plo[k]:
            shift[k] = (plo[k] + phi[k]) / 2 - (cmin[k] + cmax[k]) / 2
        elif cmin[k] < plo[k]:
            shift[k] = plo[k] - cmin[k]
        elif cmax[k] > phi[k]:
            shift[k] = phi[k] - cmax[k]
    pose.position[:2] = pose.position[:2] + rot2(ppose.yaw) @ shift


def rest_on_parent(state: SolveState, oid: str) -> None:
    """Put the object's bottom on the highest surface of its support under its footprint."""
    item, pose = state.items[oid], state.poses[oid]
    parent_id = item.parent
    centre_over_parent(state, oid)
    corners = footprint(pose, item.lo, item.hi)
    middle = corners.mean(axis=0)
    points = np.vstack([middle[None, :], middle + (corners - middle) * _SAMPLE])
    top = state.world.bounds(parent_id)[1][2]  # type: ignore[arg-type]
    hits = [h for h in state.world.surface_below(parent_id, points, top + 0.05) if h is not None]  # type: ignore[arg-type]
    surface = max(hits) if hits else top
    pose.position[2] = surface - item.lo[2] * pose.scale[2]
