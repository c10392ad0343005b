"""Turn objects toward what they face (chairs to a table, a sofa to the TV)."""
from __future__ import annotations

import numpy as np

from ..schema import Relation
from .geometry import front_yaw
from .state import SolveState


def target_point(state: SolveState, target: str) -> np.ndarray | None:
    """Where the target is: its current pose if placed, else its observed box centre."""
    if target in state.poses:
        return state.poses[target].position
    item = state.items.get(target)
    if item is not None and item.box is not None:
        return np.asarray(item.box.center, dtype=float)
    return None


def face_target(state: SolveState, oid: str) -> None:
    """Yaw so the asset's front (−Y) points at the target; walls that dictate the turn win over this."""
    item, pose = state.items[oid], state.poses[oid]
    if not item.facing or item.relation in (Relation.WALL_HUNG, Relation.IN):
        return
    if item.walls and item.asset.align_to_wall_normal:
        return
    point = target_point(state, item.facing)
    if point is None:
        return
    direction = np.asarray(point[:2], dtype=float) - pose.position[:2]
    if float(np.linalg.norm(direction)) > 1e-6:
        pose.yaw = front_yaw(direction)
