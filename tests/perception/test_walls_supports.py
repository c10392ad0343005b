"""Walls bound the room, the floor is the lowest large horizontal surface, supports make sense for what things are.

Geometry comes from ray-cast synthetic rooms (testkit.synthetic_scenes); relations from hand-made
boxes whose right answer is stated in each test, never computed by the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.geometry.camera import intrinsics_from_fov
from imaginarium.core.geometry.room import estimate_room
from imaginarium.core.perception.protocols import VlmAnswer, VlmObjectAnswer
from imaginarium.core.perception.scene_graph import Item, build_scene_graph
from imaginarium.core.perception.segment import segment_boxes
from imaginarium.core.perception.support_rules import load_rules
from imaginarium.core.perception.plane_distance import plane_distance_map
from imaginarium.core.schema import Box3D, Plane
from imaginarium.testkit.synthetic_scenes import SyntheticBox, SyntheticRoom, look_pose, render_depth

W, H = 240, 180
PLANES = [Plane("floor", "floor", (0, 0, 1), 0.0), Plane("wall_0", "wall", (0, -1, 0), -4.0),
          Plane("wall_1", "wall", (1, 0, 0), -2.0)]


def _render(boxes, pos=(0.0, -0.6, 1.5), yaw=0.0, pitch=-20.0, fov=70.0, room=None):
    room = room or SyntheticRoom(boxes=list(boxes))
    k = intrinsics_from_fov(W, H, fov)
    pose = look_pose(pos, yaw_deg=yaw, pitch_deg=pitch)
    depth, surface, obj = render_depth(room, k, pose)
    return room, k, pose, depth, surface, obj


def _bbox(mask):
    ys, xs = np.nonzero(mask)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def _item(oid, label, centre, size, yaw=0.0):
    return Item(oid, label, None, Box3D(centre, size, yaw))


# ---- room -------------------------------------------------------------------------------------------------

def test_a_dressers_front_is_not_a_wall():
    # A wide, low sideboard fills the view in front of the back wall (y = 4): its front is a big vertical
    # plane with nothing behind it across the lower image; only the wall above it bounds the room.
    room = SyntheticRoom(x0=-2.0, x1=2.0, y0=-1.0, y1=4.0, height=2.6,
                         boxes=[SyntheticBox((0.0, 2.6, 0.45), (4.0, 0.5, 0.9))])
    _, k, _, depth, _, obj = _render([], room=room, pos=(0.0, 0.4, 1.3), pitch=-10.0)
    est = estimate_room(depth, k)
    fronts = [w for w in est.walls if w.normal[1] < -0.9 and abs(w.offset) < 3.0]
    assert not fronts, "the sideboard's front (y = 2.35) was taken for a wall"
    assert any(w.normal[1] < -0.9 and abs(w.offset) == pytest.approx(3.6, abs=0.1) for w in est.walls)


def test_a_tall_wardrobe_front_is_rejected_by_its_detection_box_with_a_note():
    room = SyntheticRoom(x0=-2.0, x1=2.0, y0=-1.0, y1=4.0, height=2.6,
                         boxes=[SyntheticBox((0.0, 3.2, 1.3), (2.8, 0.6, 2.6))])  # up to the ceiling
    _, k, _, depth, _, obj = _render([], room=room, pos=(0.0, -0.9, 1.4), pitch=-12.0, fov=60.0)
    box = _bbox(obj == 0)
    est = estimate_room(depth, k, object_boxes=[("wardrobe", box)])
    assert not [w for w in est.walls if w.normal[1] < -0.9 and abs(w.offset) < 4.5]  # its front is 3.8 m away
    assert any("wardrobe" in n and "not a wall" in n for n in est.notes)
    walls = {tuple(round(c) for c in w.normal[:2]): w.offset for w in est.walls}
    assert walls.get((1, 0)) == pytest.approx(-2.0, abs=0.05) and walls.get((-1, 0)) == pytest.approx(-2.0, abs=0.05)


def test_the_floor_is_the_lowest_large_horizontal_plane_even_as_a_thin_strip():
    bed = SyntheticBox((0.0, 1.6, 0.3), (3.6, 2.2, 0.6))  # its top fills most of the lower image
    _, k, _, depth, surface, obj = _render([bed], pos=(0.0, -0.2, 1.5), pitch=-40.0)
    assert (surface == 0).mean() < 0.15 < (obj == 0).mean()
    est = estimate_room(depth, k)
    assert est.camera_height == pytest.approx(1.5, abs=0.03)
    assert est.floor_source.startswith("lowest")


def test_an_implausible_camera_height_names_the_depth_units():
    _, k, _, depth, _, _ = _render([])
    est = estimate_room(depth * 8.0, k)  # SUN RGB-D's raw PNG read as plain millimetres is 8x too deep
    assert est.camera_height == pytest.approx(12.0, abs=0.3)
    assert any("unit" in n and "camera" in n for n in est.notes)
    assert not estimate_room(depth, k).notes or not any("unit" in n for n in estimate_room(depth, k).notes)


# ---- supports ---------------------------------------------------------------------------------------------

def test_a_monitor_above_both_a_chair_and_a_desk_rests_on_the_desk():
    items = [_item("desk_0", "desk", (0.0, 2.0, 0.37), (1.4, 0.7, 0.74)),
             _item("chair_0", "office chair", (0.0, 1.55, 0.39), (0.6, 0.6, 0.78)),  # backrest top at 0.78
             _item("monitor_0", "monitor", (0.0, 1.75, 1.0), (0.55, 0.2, 0.44))]  # bottom 0.78, over both
    g = build_scene_graph(items, PLANES).by_id()
    assert g["monitor_0"].support == "desk_0"
    assert any("chair_0" in n for n in g["monitor_0"].notes)
    assert g["chair_0"].support == "floor" and g["desk_0"].support == "floor"
    no_rules = build_scene_graph(items, PLANES, rules=load_rules("/nonexistent.json")).by_id()
    assert no_rules["monitor_0"].support == "chair_0"  # geometry alone picks the highest top: what #15 saw


def test_books_on_a_lower_shelf_rest_in_the_bookcase_not_on_the_floor():
    case = _item("bookshelf_0", "bookshelf", (0.0, 3.7, 0.9), (0.8, 0.3, 1.8))
    books = _item("books_0", "books", (0.1, 3.7, 0.55), (0.3, 0.2, 0.22))  # on the second shelf, 0.44 m up
    vase = _item("vase_0", "vase", (1.5, 2.0, 0.15), (0.2, 0.2, 0.3))       # beside it, on the floor
    g = build_scene_graph([case, books, vase], PLANES).by_id()
    assert g["books_0"].support == "bookshelf_0" and any("inside bookshelf_0" in n for n in g["books_0"].notes)
    assert g["books_0"].box.center[2] == pytest.approx(0.55)  # not pulled down to the floor nor up to the top
    assert g["vase_0"].support == "floor"
    no_case = build_scene_graph([books], PLANES).by_id()["books_0"]
    assert no_case.support != "bookshelf_0"


def test_a_dresser_is_not_put_on_a_bed_and_reaches_the_floor():
    items = [_item("bed_0", "bed", (0.0, 2.0, 0.3), (1.6, 2.1, 0.6)),
             _item("dresser_0", "dresser", (0.3, 2.9, 0.85), (1.2, 0.5, 0.5))]  # lower half hidden by the bed
    g = build_scene_graph(items, PLANES).by_id()
    assert g["dresser_0"].support == "floor" and not g["dresser_0"].hanging_on_wall
    assert g["dresser_0"].box.center[2] - g["dresser_0"].box.size[2] / 2 == pytest.approx(0.0)
    assert g["dresser_0"].box.center[2] + g["dresser_0"].box.size[2] / 2 == pytest.approx(1.1)  # top kept
    assert any("floor" in n for n in g["dresser_0"].notes)


def test_a_floor_object_is_never_hung_because_its_bottom_is_hidden():
    wardrobe = _item("wardrobe_0", "wardrobe", (-1.0, 3.7, 1.25), (1.2, 0.6, 1.7))  # bottom seen 0.4 m up
    shelf = _item("painting_0", "painting", (1.0, 3.95, 1.5), (0.8, 0.04, 0.6))  # a wall item: may hang
    g = build_scene_graph([wardrobe, shelf], PLANES).by_id()
    assert g["wardrobe_0"].support == "floor" and not g["wardrobe_0"].hanging_on_wall
    assert g["wardrobe_0"].box.size[2] == pytest.approx(2.1)
    assert g["painting_0"].hanging_on_wall and g["painting_0"].support == "wall_0"
    vase = build_scene_graph([_item("vase_0", "vase", (0.0, 2.0, 0.85), (0.2, 0.2, 0.3))], PLANES).by_id()["vase_0"]
    assert vase.box.size[2] == pytest.approx(0.3)  # nothing under it: not stretched a metre down to the floor
    assert vase.support is None and any("nothing detected under it" in n for n in vase.notes)  # left where seen


def test_vlm_answers_that_break_the_support_rules_are_refused_with_a_note():
    items = [_item("bed_0", "bed", (0.0, 2.0, 0.3), (1.6, 2.1, 0.6)),
             _item("tv_0", "tv", (0.0, 3.9, 1.3), (1.1, 0.08, 0.65)),
             _item("chair_0", "chair", (1.2, 1.0, 0.45), (0.5, 0.5, 0.9))]
    vlm = VlmAnswer(objects={"bed_0": VlmObjectAnswer("bed_0", relation="hanging_on_wall"),
                             "tv_0": VlmObjectAnswer("tv_0", relation="on_object", support="chair_0"),
                             "chair_0": VlmObjectAnswer("chair_0", relation="on_object", support="bed_0")}, model="m")
    g = build_scene_graph(items, PLANES, vlm).by_id()
    assert g["bed_0"].support == "floor" and not g["bed_0"].hanging_on_wall
    assert g["tv_0"].support != "chair_0" and g["chair_0"].support == "floor"
    assert all(any("refused" in n for n in g[o].notes) for o in ("bed_0", "tv_0", "chair_0"))


def test_support_rules_are_data_with_kinds_for_labels_and_catalogue_classes():
    rules = load_rules()
    assert rules.kind("Office chair") == rules.kind("stool") == "seat"
    assert rules.kind("Computer_monitor") == "screen" and rules.kind("wooden night stands") == "surface"
    assert rules.stands_on_floor("wardrobe") and not rules.stands_on_floor("lamp")
    assert rules.plausibility("monitor", "desk_0", "desk") > 0.5 > rules.plausibility("monitor", "chair_0", "chair")
    assert rules.plausibility("dresser", "bed_0", "bed") == 0.0
    assert rules.plausibility("dresser", "rug_0", "rug") == 1.0  # a rug counts as the floor
    assert rules.may_hang("painting", "wall") and not rules.may_hang("bed", "wall")
    assert rules.kind("qwxzv") == "unknown" and rules.plausibility("qwxzv", "floor") > 0


# ---- segmentation -----------------------------------------------------------------------------------------

def test_boxes_share_depth_regions_fairly():
    # A bed fills the lower image; a night stand stands beside it; a cabinet stands further back, its
    # 2D box inside the bed's. Every object keeps its own pixels, nothing of the room is taken.
    bed = SyntheticBox((0.0, 1.9, 0.3), (1.6, 2.0, 0.6))
    stand = SyntheticBox((1.2, 2.7, 0.3), (0.45, 0.4, 0.6))
    cabinet = SyntheticBox((-0.5, 3.6, 0.5), (0.8, 0.4, 1.0))
    _, k, _, depth, surface, obj = _render([bed, stand, cabinet], pos=(0.0, -0.4, 1.6), pitch=-30.0, fov=80.0)
    boxes = [_bbox(obj == i) for i in range(3)]
    assert boxes[2][0] >= boxes[0][0] and boxes[2][2] <= boxes[0][2]  # the cabinet's box lies inside the bed's
    est = estimate_room(depth, k, exclude_mask=obj >= 0)
    masks = segment_boxes(np.zeros(depth.shape + (3,), np.uint8), depth, boxes, plane_distance_map(depth, k, est),
                          focal_px=k.fx)
    for i, m in enumerate(masks):
        truth = obj == i
        assert (m & truth).sum() >= 0.8 * truth.sum(), f"object {i} lost its pixels"  # silhouette pixels may go
        assert (m & ~truth).sum() <= 0.05 * m.sum(), f"object {i} took other pixels"
    assert not (masks[0] & masks[2]).any()


def test_a_table_lamp_by_a_wall_whose_table_was_missed_is_not_hung_on_the_wall():
    # its back 5 cm from wall_0 and 0.6 m up, nothing detected under it: a lamp does not hang, it stays where seen
    lamp = build_scene_graph([_item("lamp_0", "table lamp", (0.0, 3.8, 0.85), (0.3, 0.3, 0.5))], PLANES).by_id()["lamp_0"]
    assert not lamp.hanging_on_wall and lamp.support is None
    assert lamp.box.center[2] == pytest.approx(0.85)
    clock = build_scene_graph([_item("clock_0", "clock", (0.0, 3.97, 1.9), (0.3, 0.05, 0.3))], PLANES).by_id()["clock_0"]
    assert clock.hanging_on_wall and clock.support == "wall_0"  # a clock on a wall does hang


def test_a_lamp_measured_by_its_shade_alone_rests_on_the_nightstand_under_it():
    stand = _item("nightstand_0", "nightstand", (0.0, 3.5, 0.26), (0.45, 0.4, 0.52))
    shade = _item("lamp_0", "table lamp", (0.0, 3.5, 0.86), (0.25, 0.25, 0.1))  # bottom 0.81, the top 0.52
    g = build_scene_graph([stand, shade], PLANES).by_id()
    assert g["lamp_0"].support == "nightstand_0"
    assert g["lamp_0"].box.center[2] - g["lamp_0"].box.size[2] / 2 == pytest.approx(0.52)  # down onto its top
    assert any("too thin to measure" in n for n in g["lamp_0"].notes)
    high = _item("lamp_1", "table lamp", (0.0, 3.5, 1.30), (0.25, 0.25, 0.1))  # 0.73 m above: not its stand
    assert build_scene_graph([stand, high], PLANES).by_id()["lamp_1"].support != "nightstand_0"
