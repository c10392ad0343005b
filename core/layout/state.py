"""The solver's working state: current poses, the collision world, and the support tree.

Kept in one place so every rule module (support, walls, inner spaces, facing, collisions)
reads and moves poses the same way, and so moving a parent always carries its children.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..schema import Plane
from .collision import CollisionWorld
from .geometry import Pose, transform_points
from .problem import LayoutItem, LayoutProblem


@dataclass
class SolveState:
    problem: LayoutProblem
    world: CollisionWorld
    poses: dict[str, Pose] = field(default_factory=dict)
    fixed: set[str] = field(default_factory=set)
    spaces: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # this solve's own notes per object (the problem's stay)

    def __post_init__(self) -> None:
        self.items: dict[str, LayoutItem] = self.problem.by_id()
        self.walls: dict[str, Plane] = self.problem.walls()
        self.floor_z = self.problem.floor_z()
        self.ceiling_z = self.problem.ceiling_z()
        self.children: dict[str, list[str]] = {}
        for item in self.problem.items:
            if item.parent in self.items:
                self.children.setdefault(item.parent, []).append(item.id)

    def sync(self, oid: str) -> None:
        """Tell the collision world where ``oid`` is now."""
        item = self.items[oid]
        self.world.set_object(oid, item.verts, item.faces, self.poses[oid])

    def world_verts(self, oid: str) -> np.ndarray:
        item = self.items[oid]
        return transform_points(self.poses[oid].matrix(), item.verts)

    def descendants(self, oid: str) -> list[str]:
        out, stack = [], list(self.children.get(oid, []))
        while stack:
            c = stack.pop(0)
            out.append(c)
            stack.extend(self.children.get(c, []))
        return out

    def ancestors(self, oid: str) -> set[str]:
        out: set[str] = set()
        node = self.items[oid].parent
        while node in self.items and node not in out:
            out.add(node)
            node = self.items[node].parent
        return out

    def related(self, a: str, b: str) -> bool:
        """Parents and their children touch by design; their contact is not a collision."""
        return a in self.ancestors(b) or b in self.ancestors(a)

    def translate(self, oid: str, delta: np.ndarray) -> None:
        """Move ``oid`` and everything resting on or in it (pinned descendants stay put)."""
        for node in [oid] + self.descendants(oid):
            if node in self.fixed and node != oid:
                continue
            self.poses[node].position = self.poses[node].position + delta
            self.sync(node)

    def snapshot(self, oid: str) -> dict[str, Pose]:
        return {n: self.poses[n].copy() for n in [oid] + self.descendants(oid)}

    def restore(self, snap: dict[str, Pose]) -> None:
        for n, pose in snap.items():
            self.poses[n] = pose
            self.sync(n)
