"""Walls: stand objects flush against them, turn them to face the room, keep everything inside.

A wall is ``Plane(normal into the room, offset)`` with ``normal · x = offset`` on its surface, so
``normal · v - offset`` is a vertex's distance into the room: flush means the smallest such
distance over the object's proxy is zero, inside means it is never negative.
"""
from __future__ import annotations

import math

import numpy as np

from ..schema import Plane, Relation
from .geometry import front_yaw, wrap_angle
from .state import SolveState


def horizontal_normal(wall: Plane) -> np.ndarray:
    n = np.array(wall.normal[:2], dtype=float)
    length = float(np.linalg.norm(n))
    return n / length if length > 1e-9 else np.array([0.0, 1.0])


def wall_gap(state: SolveState, oid: str, wall: Plane) -> float:
    """Distance from the object's closest point to the wall (negative: it pokes through)."""
    verts = state.world_verts(oid)
    return float(np.min(verts @ np.asarray(wall.normal)) - wall.offset)


def facing_yaw(wall: Plane) -> float:
    """The yaw that turns the asset's front (−Y) along the wall's normal, into the room."""
    return front_yaw(horizontal_normal(wall))


def parallel_yaw(yaw: float, wall: Plane) -> float:
    """The quarter turn relative to the wall's normal closest to ``yaw``: edges parallel to the wall."""
    base = facing_yaw(wall)
    quarter = round(wrap_angle(yaw - base) / (math.pi / 2))
    return wrap_angle(base + quarter * math.pi / 2)


def snap_to_walls(state: SolveState, oid: str) -> None:
    """Turn (where the asset asks, else square up) and push the object flush with each of its walls."""
    item, pose = state.items[oid], state.poses[oid]
    walls = [state.walls[w] for w in item.walls if w in state.walls]
    if not walls:
        return
    pose.yaw = facing_yaw(walls[0]) if (item.asset.align_to_wall_normal or item.relation == Relation.WALL_HUNG) \
        else parallel_yaw(pose.yaw, walls[0])
    for _ in range(2):  # a corner: the second wall's push must not undo the first's
        for wall in walls:
            gap = wall_gap(state, oid, wall)
            n = horizontal_normal(wall)
            pose.position = pose.position - np.array([n[0], n[1], 0.0]) * gap / max(abs(wall.normal[0] * n[0] + wall.normal[1] * n[1]), 1e-9)


def keep_inside(state: SolveState, oid: str) -> np.ndarray:
    """Push the object back inside every wall it pokes through; returns the push applied."""
    pose = state.poses[oid]
    total = np.zeros(3)
    for _ in range(2):
        for wall in state.walls.values():
            gap = wall_gap(state, oid, wall)
            if gap < 0:
                n = horizontal_normal(wall)
                push = -np.array([n[0], n[1], 0.0]) * gap
                pose.position = pose.position + push
                total += push
    return total


def along_walls(state: SolveState, oid: str, delta: np.ndarray) -> np.ndarray:
    """The part of a horizontal move that keeps the object against its walls (slides along them)."""
    item = state.items[oid]
    out = np.array(delta, dtype=float)
    normals = [horizontal_normal(state.walls[w]) for w in item.walls if w in state.walls]
    for n in normals:
        out[:2] = out[:2] - n * float(out[:2] @ n)
    if len(normals) >= 2 and abs(normals[0] @ normals[1]) < 0.99:
        out[:2] = 0.0
    return out
