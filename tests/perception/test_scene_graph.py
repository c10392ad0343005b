"""Scene-graph rules, duplicate suppression and mask formats."""
from __future__ import annotations

import json

import numpy as np
import pytest

from imaginarium.core.errors import BadInputError
from imaginarium.core.perception.detections_file import load_detections
from imaginarium.core.perception.masks import decode_rle, encode_rle, suppress_duplicates
from imaginarium.core.perception.protocols import RawDetection, VlmAnswer, VlmObjectAnswer
from imaginarium.core.perception.scene_graph import Item, build_scene_graph
from imaginarium.core.schema import Box3D, Plane

WALLS = [Plane("floor", "floor", (0, 0, 1), 0.0), Plane("wall_0", "wall", (0, -1, 0), -4.0),
         Plane("wall_1", "wall", (1, 0, 0), -2.0), Plane("ceiling", "ceiling", (0, 0, -1), -2.6)]


def _item(oid, label, centre, size, yaw=0.0):
    return Item(oid, label, None, Box3D(centre, size, yaw))


def test_geometric_relations_support_walls_ceiling_groups_facing():
    items = [
        _item("table_0", "table", (0, 2, 0.375), (1.2, 0.7, 0.75)),
        _item("vase_0", "vase", (0.1, 2.0, 0.9), (0.15, 0.15, 0.3)),
        _item("chair_0", "chair", (0, 1.3, 0.45), (0.45, 0.45, 0.9)),
        _item("chair_1", "chair", (0.8, 1.3, 0.45), (0.47, 0.44, 0.88)),
        _item("wardrobe_0", "wardrobe", (-0.9, 3.65, 1.0), (1.0, 0.55, 2.0)),
        _item("painting_0", "painting", (1.0, 3.98, 1.6), (0.8, 0.02, 0.5)),
        _item("lamp_0", "ceiling lamp", (0, 2, 2.45), (0.4, 0.4, 0.3)),
        _item("rug_0", "rug", (0, 2, 0.005), (2.0, 1.5, 0.01)),
    ]
    g = build_scene_graph(items, WALLS).by_id()
    assert g["vase_0"].support == "table_0"
    assert g["table_0"].support == "floor"  # the rug is flat: never a support
    assert g["wardrobe_0"].support == "floor" and g["wardrobe_0"].against_walls == ["wall_0"]
    corner = build_scene_graph([_item("w_0", "wardrobe", (-1.5, 3.65, 1.0), (1.0, 0.55, 2.0))], WALLS).objects[0]
    assert corner.against_walls == ["wall_1", "wall_0"]  # in the corner: flush with both, nearest first
    assert g["painting_0"].support == "wall_0" and g["painting_0"].hanging_on_wall
    assert g["lamp_0"].support == "ceiling" and g["lamp_0"].hanging_from_ceiling
    assert g["chair_0"].group == g["chair_1"].group is not None
    assert g["table_0"].group is None
    assert g["chair_0"].facing == "table_0"


def test_every_object_gets_exactly_one_support_and_cycles_are_broken():
    items = [_item("a_0", "box", (0, 1, 0.5), (0.5, 0.5, 0.2)), _item("b_0", "box", (0, 1, 0.8), (0.4, 0.4, 0.2))]
    vlm = VlmAnswer(objects={"a_0": VlmObjectAnswer("a_0", relation="on_object", support="b_0"),
                             "b_0": VlmObjectAnswer("b_0", relation="on_object", support="a_0")}, model="m")
    graph = build_scene_graph(items, WALLS, vlm)
    sup = {o.id: o.support for o in graph.objects}
    assert sup == {"a_0": "floor", "b_0": "a_0"}  # the lower one went to the floor
    assert any("cycle" in n for n in graph.notes)
    graph.validate(walls={"wall_0", "wall_1"})


def test_vlm_answers_override_geometry_but_not_with_unknown_ids():
    items = [_item("sofa_0", "sofa", (0, 1, 0.4), (2, 0.9, 0.8)), _item("tv_0", "tv", (0, 3.9, 1.2), (1.2, 0.1, 0.7)),
             _item("sofa_1", "sofa", (1.5, 1, 0.4), (2, 0.9, 0.8))]
    vlm = VlmAnswer(objects={
        "tv_0": VlmObjectAnswer("tv_0", relation="on_object", support="stand_9"),
        "sofa_0": VlmObjectAnswer("sofa_0", relation="against_wall", facing="tv_0", plausible_size=False),
        "ghost_0": VlmObjectAnswer("ghost_0", relation="on_floor"),
    }, groups=[["sofa_0", "nope"]], model="claude-x")
    graph = build_scene_graph(items, WALLS, vlm)
    g = graph.by_id()
    assert graph.source == "geometry+vlm:claude-x"
    assert g["tv_0"].support == "wall_0"  # geometry kept: the VLM named an object that does not exist
    assert g["sofa_0"].against_walls and g["sofa_0"].facing == "tv_0" and g["sofa_0"].confidence <= 0.5
    assert g["sofa_0"].group is None  # a group of one real member is no group
    assert any("ghost_0" in n for n in graph.notes)


def test_rle_round_trip_matches_pycocotools():
    from pycocotools import mask as coco

    m = np.zeros((30, 40), bool)
    m[5:20, 3:9] = True
    m[0, 0] = True
    ours = encode_rle(m)
    assert np.array_equal(decode_rle(ours, 30, 40), m)
    compressed = coco.encode(np.asfortranarray(m.astype(np.uint8)))
    compressed["counts"] = compressed["counts"].decode()
    assert np.array_equal(decode_rle(compressed, 30, 40), m)
    with pytest.raises(BadInputError, match="size"):
        decode_rle(ours, 31, 40)
    with pytest.raises(BadInputError, match="sum"):
        decode_rle({"size": [30, 40], "counts": [5, 5]}, 30, 40)


def test_duplicates_across_labels_are_suppressed_by_mask_overlap():
    a = np.zeros((50, 50), bool)
    a[10:40, 10:40] = True
    b = a.copy()
    b[10:12] = False
    pillow = np.zeros_like(a)
    pillow[15:20, 15:20] = True
    dets = [RawDetection("couch", 0.6, (10, 10, 40, 40), b), RawDetection("sofa", 0.9, (10, 10, 40, 40), a),
            RawDetection("pillow", 0.5, (15, 15, 20, 20), pillow)]
    kept = suppress_duplicates(dets)
    assert [d.label for d in kept] == ["sofa", "pillow"]


def test_detections_file_validation(tmp_path):
    p = tmp_path / "d.json"
    m = np.zeros((60, 80), bool)
    m[10:20, 10:30] = True
    from PIL import Image

    Image.fromarray(m.astype(np.uint8) * 255).save(tmp_path / "m.png")
    p.write_text(json.dumps([{"label": "Chair", "box": [10, 10, 30, 20], "score": 0.8, "mask": "m.png"},
                             {"label": "table", "box": [0, 0, 82, 40], "score": 0.5, "mask": encode_rle(m)},
                             {"label": "lamp", "box": [1, 1, 5, 5]}]))
    dets = load_detections(p, 60, 80)
    assert [d.label for d in dets] == ["chair", "table", "lamp"]
    assert dets[0].mask.sum() == 200 and dets[1].box == (0, 0, 80, 40) and dets[2].mask is None
    for bad, pattern in [({"box": [0, 0, 1, 1]}, "label"), ({"label": "a", "box": [0, 0, 1]}, "four finite numbers"),
                         ({"label": "a", "box": [5, 5, 5, 9]}, "empty"), ({"label": "a", "box": [0, 0, 9, 9],
                                                                           "score": 2}, r"\[0, 1\]"),
                         ({"label": "a", "box": [0, 0, 500, 40]}, "outside")]:
        p.write_text(json.dumps([bad]))
        with pytest.raises(BadInputError, match=pattern):
            load_detections(p, 60, 80)
    p.write_text("{oops")
    with pytest.raises(BadInputError, match="not valid JSON"):
        load_detections(p, 60, 80)


def test_support_test_allows_for_the_unseen_back_of_a_front_only_box():
    table = _item("table_0", "table", (0, 1.0, 0.375), (1.2, 0.02, 0.75))  # only its front face was measured
    vase = _item("vase_0", "vase", (0, 1.35, 0.9), (0.2, 0.02, 0.3))
    # not over the front face: nothing under it, so it keeps no support (stays where seen, with a note)
    assert build_scene_graph([table, vase], WALLS).by_id()["vase_0"].support is None
    graph = build_scene_graph([table, vase], WALLS, camera_xy=(0.0, -0.5))
    assert graph.by_id()["vase_0"].support == "table_0"
    behind_camera = build_scene_graph([table, vase], WALLS, camera_xy=(0.0, 3.0))  # seen from the other side
    assert behind_camera.by_id()["vase_0"].support is None


def test_a_high_object_with_nothing_below_hangs_from_the_ceiling_even_when_no_ceiling_was_seen():
    no_ceiling = [p for p in WALLS if p.kind != "ceiling"]
    pendant = _item("lamp_0", "pendant lamp", (0.0, 1.5, 1.95), (0.35, 0.35, 0.2))  # shade only: cord unseen
    low = _item("stool_0", "stool", (0.5, 1.0, 0.6), (0.3, 0.3, 0.3))  # floating low: stays on the floor
    g = build_scene_graph([pendant, low], no_ceiling).by_id()
    assert g["lamp_0"].support == "ceiling" and g["lamp_0"].hanging_from_ceiling
    assert g["stool_0"].support == "floor" and not g["stool_0"].hanging_from_ceiling


def test_books_in_front_of_a_shelf_measured_from_its_back_panel_are_inside_it():
    # the shelf's thin front frame was lost: its box is the back panel's 15 cm; the books stand 6 cm in front
    shelf = _item("bookshelf_0", "bookshelf", (0.0, 3.83, 0.92), (0.8, 0.15, 1.84))
    books = _item("books_0", "books", (0.1, 3.69, 0.2), (0.15, 0.11, 0.3))
    vase = _item("vase_0", "vase", (0.1, 3.4, 0.2), (0.15, 0.15, 0.3))  # on the floor 35 cm in front: not inside
    g = build_scene_graph([shelf, books, vase], WALLS, camera_xy=(0.0, 0.0)).by_id()
    assert g["books_0"].support == "bookshelf_0"
    assert g["vase_0"].support == "floor"


def test_a_thin_book_beside_a_taller_stack_is_in_the_shelf_not_inside_the_stack():
    shelf = _item("bookshelf_0", "bookshelf", (0.9, 3.48, 0.56), (1.15, 0.48, 1.11))
    stack = _item("books_0", "books", (0.79, 3.37, 0.24), (0.25, 0.18, 0.36))
    thin = _item("books_1", "books", (0.62, 3.41, 0.21), (0.07, 0.21, 0.14))  # 2.6× lower, 17 cm beside it
    g = build_scene_graph([shelf, stack, thin], WALLS, camera_xy=(0.0, 0.0)).by_id()
    assert g["books_1"].support == "bookshelf_0" and g["books_0"].support == "bookshelf_0"
