"""The BVH collision world: containment, contact policy, and rays on the real proxy."""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.layout.collision import BvhCollisionWorld
from imaginarium.core.layout.geometry import Pose, box_proxy

from .helpers import two_boxes_proxy


def put(world: BvhCollisionWorld, oid: str, size, at, yaw: float = 0.0) -> None:  # noqa: ANN001
    v, f = box_proxy(size)
    world.set_object(oid, v, f, Pose(np.array(at, dtype=float), yaw))


def test_box_inside_box_is_a_collision_even_without_crossing_triangles() -> None:
    world = BvhCollisionWorld(0.01)
    put(world, "crate", (1.0, 1.0, 1.0), (0, 0, 0))
    put(world, "box", (0.2, 0.2, 0.2), (0.1, -0.1, 0.3), yaw=0.4)
    # BVH overlap alone reports nothing here (the small box's triangles cross none of the crate's)
    assert not world._tree(world._entries["crate"]).overlap(world._tree(world._entries["box"]))
    assert world.collide("crate", "box")
    assert world.contains("crate", "box") and not world.contains("box", "crate")
    assert world.colliding_pairs() == [("box", "crate")]


def test_identical_coincident_boxes_collide() -> None:
    world = BvhCollisionWorld(0.01)
    put(world, "a", (0.5, 0.5, 0.9), (0, 0, 0))
    put(world, "b", (0.5, 0.5, 0.9), (0, 0, 0))
    assert world.collide("a", "b")


@pytest.mark.parametrize("gap, expected", [(0.0, False), (-0.005, False), (-0.02, True), (0.03, False)])
def test_contact_policy_counts_only_penetration_deeper_than_the_margin(gap: float, expected: bool) -> None:
    world = BvhCollisionWorld(0.01)
    put(world, "left", (1.0, 1.0, 1.0), (0, 0, 0))
    put(world, "right", (1.0, 1.0, 1.0), (1.0 + gap, 0, 0))  # gap 0 = coplanar touching faces
    assert world.collide("left", "right") is expected


def test_resting_on_top_is_not_a_collision() -> None:
    world = BvhCollisionWorld(0.01)
    put(world, "table", (1.0, 1.0, 0.75), (0, 0, 0))
    put(world, "lamp", (0.3, 0.3, 0.5), (0.1, 0.1, 0.75))
    assert world.colliding_pairs() == []


def test_surface_below_follows_the_proxy_not_its_bounding_box() -> None:
    world = BvhCollisionWorld(0.01)
    v, f = two_boxes_proxy((1.2, 0.6, 0.75), (1.2, 0.2, 1.3))
    world.set_object("desk", v, f, Pose(np.array([2.0, 0.0, 0.0]), 0.0))
    front, back, outside = world.surface_below("desk", np.array([[2.0, -0.2], [2.0, 0.25], [4.0, 0.0]]), 2.0)
    assert front == pytest.approx(0.75) and back == pytest.approx(1.3) and outside is None
