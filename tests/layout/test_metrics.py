"""Metrics on hand-made configurations whose values are worked out by hand in each test."""
from __future__ import annotations

import math

import pytest

from imaginarium.core.layout.metrics import METRICS, GT_METRICS, box_iou, evaluate
from imaginarium.core.schema import Layout, Placement

from .helpers import HALF, asset, room_planes

CAT = {a.id: a for a in [asset("cube", (1.0, 1.0, 1.0)), asset("small", (0.2, 0.2, 0.2)), asset("rug", (2.0, 1.0, 0.0)),
                         asset("chair_a", (0.5, 0.5, 0.9), cls="chair"), asset("chair_b", (0.5, 0.5, 0.9), cls="chair"),
                         asset("nightstand", (0.5, 0.4, 0.6)), asset("lamp", (0.3, 0.3, 0.5)),
                         asset("tv", (1.2, 0.1, 0.7), align=True)]}


def at(oid: str, aid: str, x: float, y: float, z: float = 0.0, yaw_deg: float = 0.0, **kw) -> Placement:  # noqa: ANN003
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    return Placement(oid, aid, [[c, -s, 0, x], [s, c, 0, y], [0, 0, 1, z], [0, 0, 0, 1]], **kw)


def room(*placements: Placement) -> Layout:
    return Layout(list(placements), room_planes())


def test_registries_name_every_metric_once() -> None:
    assert set(METRICS) == {"colliding_pairs", "objects_inside_others", "floating_objects", "objects_outside_room",
                            "wall_distance_m", "wall_angle_deg"}
    assert set(GT_METRICS) == {"iou_3d", "centre_error_m", "yaw_error_deg", "asset_accuracy", "class_accuracy"}


def test_iou_and_centre_error_of_a_half_shifted_cube() -> None:
    # overlap 0.5 x 1 x 1 = 0.5; union 1 + 1 - 0.5 = 1.5; IoU = 1/3; centres 0.5 m apart
    m = evaluate(room(at("a", "cube", 0.5, 0.0)), CAT, room(at("a", "cube", 0.0, 0.0)))
    assert m["iou_3d"] == pytest.approx(1 / 3)
    assert m["centre_error_m"] == pytest.approx(0.5)
    assert m["yaw_error_deg"] == pytest.approx(0.0)


def test_iou_and_yaw_error_of_a_cube_turned_45_degrees() -> None:
    # two unit squares turned 45° share a regular octagon of area 2(√2 − 1); IoU = 2(√2−1) / (2 − 2(√2−1)) = 1/√2
    m = evaluate(room(at("a", "cube", 0.0, 0.0, yaw_deg=45)), CAT, room(at("a", "cube", 0.0, 0.0)))
    assert m["iou_3d"] == pytest.approx(1 / math.sqrt(2))
    assert m["yaw_error_deg"] == pytest.approx(45.0)
    assert m["centre_error_m"] == pytest.approx(0.0, abs=1e-12)


def test_box_iou_of_disjoint_heights_is_zero() -> None:
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    import numpy as np
    assert box_iou((np.array(square, float), 0.0, 1.0), (np.array(square, float), 1.0, 2.0)) == 0.0


def test_a_flat_rug_a_centimetre_above_the_true_floor_is_scored_by_where_it_lies() -> None:
    # both count 5 cm thick: z ranges [-0.025, 0.025] and [-0.015, 0.035] overlap 4 cm of 6 → IoU 4/6
    m = evaluate(room(at("r", "rug", 0.0, 0.0, z=0.01)), CAT, room(at("r", "rug", 0.0, 0.0)))
    assert m["iou_3d"] == pytest.approx(4 / 6)
    # half a rug-width off on the floor: footprints share 1 of 3 m², the heights all of it → 1/3
    m = evaluate(room(at("r", "rug", 1.0, 0.0)), CAT, room(at("r", "rug", 0.0, 0.0)))
    assert m["iou_3d"] == pytest.approx(1 / 3)


def test_asset_and_class_accuracy_and_a_missing_object() -> None:
    gt = room(at("a", "cube", -1, 0), at("b", "chair_a", 1, 0), at("c", "small", 0, 1))
    guess = room(at("a", "cube", -1, 0), at("b", "chair_b", 1, 0))  # c was never found
    m = evaluate(guess, CAT, gt)
    assert m["asset_accuracy"] == pytest.approx(1 / 3)  # only a
    assert m["class_accuracy"] == pytest.approx(2 / 3)  # a, and b is still a chair
    assert m["iou_3d"] == pytest.approx(2 / 3)  # 1 + 1 + 0 over three ground-truth objects


@pytest.mark.parametrize("dx, pairs", [(0.48, 1), (0.495, 0), (0.6, 0)])
def test_colliding_pairs_count_penetration_over_one_centimetre(dx: float, pairs: int) -> None:
    # 0.5 m wide chairs dx apart overlap by 0.5 − dx: 2 cm collides, 0.5 cm does not
    assert evaluate(room(at("a", "chair_a", 0, 0), at("b", "chair_a", dx, 0)), CAT)["colliding_pairs"] == pairs


def test_a_box_inside_a_box_is_colliding_and_inside() -> None:
    m = evaluate(room(at("crate", "cube", 0, 0), at("box", "small", 0.1, 0.1, 0.4, yaw_deg=30)), CAT)
    assert m["colliding_pairs"] == 1 and m["objects_inside_others"] == 1


@pytest.mark.parametrize("lamp_z, floating, colliding", [(0.65, 1, 0), (0.61, 0, 0), (0.6, 0, 0), (0.55, 0, 1)])
def test_floating_means_a_gap_over_two_centimetres_to_the_support(lamp_z: float, floating: int,
                                                                  colliding: int) -> None:
    # the nightstand's top is at 0.6: 5 cm above floats, 1 cm does not, 5 cm sunk in collides instead
    layout = room(at("ns", "nightstand", 0, 0), at("lamp", "lamp", 0, 0, lamp_z, parent="ns", relation="on"))
    m = evaluate(layout, CAT)
    assert (m["floating_objects"], m["colliding_pairs"]) == (floating, colliding)


def test_a_chair_lifted_off_the_floor_floats() -> None:
    assert evaluate(room(at("a", "chair_a", 0, 0, 0.05)), CAT)["floating_objects"] == 1


@pytest.mark.parametrize("x, outside", [(HALF - 0.2, 1), (HALF - 0.255, 0)])
def test_outside_room_allows_one_centimetre(x: float, outside: int) -> None:
    # the chair's half width is 0.25: at HALF − 0.2 it pokes 5 cm through wall_1, at HALF − 0.255 not at all
    assert evaluate(room(at("a", "chair_a", x, 0)), CAT)["objects_outside_room"] == outside


def test_wall_distance_and_angle() -> None:
    # wall_0 is y = HALF; the TV's back (y + 0.05) stands 3 cm off it; facing the normal means yaw 0
    off = evaluate(room(at("tv", "tv", 0, HALF - 0.08, relation="against_wall", walls=["wall_0"])), CAT)
    assert off["wall_distance_m"] == pytest.approx(0.03) and off["wall_angle_deg"] == pytest.approx(0.0)
    turned = evaluate(room(at("tv", "tv", 0, 0, yaw_deg=10, relation="against_wall", walls=["wall_0"])), CAT)
    assert turned["wall_angle_deg"] == pytest.approx(10.0)
