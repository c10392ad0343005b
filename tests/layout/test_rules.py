"""One small hand-made scene per scene-graph rule, solved end to end from Observation + CandidateSet."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imaginarium.core.layout import build_problem, reoptimise, solve
from imaginarium.core.layout.collision import BvhCollisionWorld
from imaginarium.core.layout.geometry import Pose, footprint
from imaginarium.core.layout.metrics import evaluate
from imaginarium.core.schema import Layout

from .helpers import HALF, HEIGHT, asset, obj, placed, scene, shelf_spaces, two_boxes_proxy, wrap

ASSETS = {a.id: a for a in [
    asset("nightstand", (0.5, 0.4, 0.6), "ALIGNED_ANISOTROPIC"), asset("lamp", (0.3, 0.3, 0.5)),
    asset("tv", (1.2, 0.1, 0.7), align=True), asset("cabinet", (0.8, 0.4, 0.9), "ALIGNED_ANISOTROPIC"),
    asset("shelf", (1.0, 0.4, 1.6), "ALIGNED_ANISOTROPIC", align=True, spaces=shelf_spaces()),
    asset("book", (0.05, 0.25, 0.3)), asset("chair", (0.5, 0.5, 0.9)), asset("table", (1.2, 0.8, 0.75), "RADIAL"),
    asset("desk", (1.2, 0.6, 1.3), "ALIGNED_ANISOTROPIC"), asset("picture", (0.8, 0.03, 0.6), align=True),
    asset("pendant", (0.4, 0.4, 0.3)), asset("vase", (0.2, 0.2, 0.35))]}


def solved(objects, choices=None, **kw):  # noqa: ANN001, ANN201
    choices = choices or {o.id: o.id.rstrip("0123456789") for o in objects}
    problem = build_problem(*scene(objects, choices), ASSETS, **kw)
    return problem, solve(problem)


def test_lamp_ends_on_the_nightstands_top() -> None:
    objects = [obj("nightstand", (1.0, 1.0, 0.33), (0.5, 0.4, 0.66)),  # seen 10 % taller than the catalogue
               obj("lamp", (1.3, 1.1, 1.1), (0.3, 0.3, 0.5), support="nightstand")]  # floating, half off the edge
    problem, layout = solved(objects)
    ns_pos, _, ns_scale = placed(layout, "nightstand")
    lamp_pos, _, lamp_scale = placed(layout, "lamp")
    assert ns_pos[2] == pytest.approx(0.0, abs=1e-9)
    assert ns_scale[2] == pytest.approx(1.1)
    assert lamp_pos[2] == pytest.approx(0.6 * 1.1, abs=1e-6)  # on the (scaled) top, not at the seen height
    corners = footprint(Pose(np.array(lamp_pos), 0.0, np.array(lamp_scale)), np.array([-0.15, -0.15, 0]),
                        np.array([0.15, 0.15, 0.5]))
    assert corners[:, 0].max() <= 1.0 + 0.25 + 1e-6  # pulled back over the nightstand's top
    assert layout.by_id()["lamp"].relation == "on" and layout.by_id()["lamp"].parent == "nightstand"
    assert evaluate(layout, problem)["floating_objects"] == 0


def test_lamp_on_a_desk_with_a_hutch_lands_on_the_desktop_under_it() -> None:
    objects = [obj("desk", (0.0, 0.0, 0.65), (1.2, 0.6, 1.3)),
               obj("lamp", (0.3, -0.15, 1.2), (0.3, 0.3, 0.5), support="desk")]
    proxies = {"desk": two_boxes_proxy((1.2, 0.6, 0.75), (1.2, 0.2, 1.3))}
    _, layout = solved(objects, proxies=proxies)
    assert placed(layout, "lamp")[0][2] == pytest.approx(0.75, abs=1e-6)  # the top under it, not the box top 1.3


def test_tv_against_a_wall_ends_flush_and_parallel() -> None:
    objects = [obj("tv", (0.3, HALF - 0.2, 0.35), (1.2, 0.1, 0.7), yaw=0.25, against_walls=["wall_0"])]
    problem, layout = solved(objects)
    pos, yaw, _ = placed(layout, "tv")
    assert yaw == pytest.approx(0.0, abs=1e-9)  # front (−Y) along wall_0's normal (0, −1, 0)
    assert pos[1] + 0.05 == pytest.approx(HALF, abs=1e-9)  # back face on the wall
    assert pos[0] == pytest.approx(0.3, abs=1e-9)  # slides nowhere along the wall
    m = evaluate(layout, problem)
    assert m["wall_distance_m"] < 1e-6 and m["wall_angle_deg"] < 1e-6


def test_cabinet_without_alignment_squares_up_to_its_wall_keeping_its_side() -> None:
    objects = [obj("cabinet", (HALF - 0.5, 0.2, 0.45), (0.8, 0.4, 0.9), yaw=-math.pi / 2 + 0.2,
                   against_walls=["wall_1"])]
    _, layout = solved(objects)
    pos, yaw, scale = placed(layout, "cabinet")
    assert scale == pytest.approx([1.0, 1.0, 1.0])
    assert wrap(yaw + math.pi / 2) == pytest.approx(0.0, abs=1e-9)  # nearest quarter turn to what was seen
    assert pos[0] + 0.2 == pytest.approx(HALF, abs=1e-9)  # its 0.4 m depth now lies along x, back on the wall
    assert pos[1] == pytest.approx(0.2, abs=1e-9)


def test_book_ends_inside_a_shelf_space_and_an_oversized_one_is_shrunk() -> None:
    objects = [obj("shelf", (-HALF + 0.2, 0.0, 0.8), (1.0, 0.4, 1.6), yaw=math.pi / 2, against_walls=["wall_3"]),
               obj("book", (-HALF + 0.2, 0.3, 1.0), (0.05, 0.25, 0.3), support="shelf"),
               obj("book2", (-HALF + 0.2, 0.0, 0.45), (0.07, 0.3, 0.45), support="shelf")]
    problem, layout = solved(objects, {"shelf": "shelf", "book": "book", "book2": "book"})
    shelf_pos, shelf_yaw, _ = placed(layout, "shelf")
    for oid, space, z_centre in [("book", "shelf_high", 1.0), ("book2", "shelf_low", 0.4)]:
        p = layout.by_id()[oid]
        assert p.relation == "in" and p.inner_space == space
        pos, yaw, scale = placed(layout, oid)
        # in the shelf's frame the book lies within the 0.9 x 0.35 x 0.3 space centred at z_centre
        local = np.array([[math.cos(shelf_yaw), math.sin(shelf_yaw)], [-math.sin(shelf_yaw), math.cos(shelf_yaw)]]) \
            @ (np.array(pos[:2]) - np.array(shelf_pos[:2]))
        half_w = 0.05 * scale[0] / 2
        assert -0.45 <= local[0] - half_w and local[0] + half_w <= 0.45
        assert pos[2] == pytest.approx(z_centre - 0.15, abs=1e-9)
        assert pos[2] + 0.3 * scale[2] <= z_centre + 0.15 + 1e-9
    assert placed(layout, "book2")[2][2] < 1.0  # seen 0.45 m tall: shrunk to fit the 0.3 m space
    assert evaluate(layout, problem)["colliding_pairs"] == 0


def test_books_on_a_shelf_stay_where_they_were_seen_in_their_order() -> None:
    # a shelf along wall_0 (fronts facing -y); the first book listed was seen to the right of the second
    objects = [obj("shelf", (0.0, HALF - 0.2, 0.8), (1.0, 0.4, 1.6), against_walls=["wall_0"]),
               obj("book", (0.25, HALF - 0.2, 1.0), (0.05, 0.25, 0.3), support="shelf"),
               obj("book2", (-0.2, HALF - 0.2 + 0.14, 1.0), (0.05, 0.25, 0.3), support="shelf"),  # at the back
               obj("book3", (0.0, HALF - 0.2 - 0.04, 1.0), (0.05, 0.25, 0.3), support="shelf")]  # 4 cm forward
    problem, layout = solved(objects, {"shelf": "shelf", "book": "book", "book2": "book", "book3": "book"})
    shelf_pos = placed(layout, "shelf")[0]
    right, left = placed(layout, "book")[0], placed(layout, "book2")[0]
    assert right[0] - shelf_pos[0] == pytest.approx(0.25, abs=0.01)  # at its seen place, not the first free slot
    assert left[0] - shelf_pos[0] == pytest.approx(-0.2, abs=0.01)
    assert right[1] - shelf_pos[1] == pytest.approx(0.0, abs=0.01)
    # the 0.35 m deep space leaves a 0.25 m book 5 cm either way: seen 14 cm back, it stands at the back …
    assert left[1] - shelf_pos[1] == pytest.approx(0.05, abs=0.01)
    # … but 4 cm off the middle is within what depth can tell inside a shelf: it stands in the middle
    assert placed(layout, "book3")[0][1] - shelf_pos[1] == pytest.approx(0.0, abs=0.005)
    assert evaluate(layout, problem)["colliding_pairs"] == 0


def test_a_book_seen_between_two_others_too_close_for_it_is_squeezed_in_where_it_was_seen() -> None:
    # its neighbours stand 4 cm apart (they were measured, or placed, a little off); the 5 cm book seen
    # between them stays there, narrower, rather than going to the nearest free place past one of them
    objects = [obj("shelf", (0.0, HALF - 0.2, 0.8), (1.0, 0.4, 1.6), against_walls=["wall_0"]),
               obj("left", (-0.29, HALF - 0.2, 1.0), (0.05, 0.25, 0.3), support="shelf"),
               obj("right", (-0.2, HALF - 0.2, 1.0), (0.05, 0.25, 0.3), support="shelf"),
               obj("middle", (-0.245, HALF - 0.2, 1.0), (0.05, 0.25, 0.3), support="shelf")]
    choices = {"shelf": "shelf", "left": "book", "right": "book", "middle": "book"}
    problem, layout = solved(objects, choices)
    shelf_x = placed(layout, "shelf")[0][0]
    pos, _, scale = placed(layout, "middle")
    assert pos[0] - shelf_x == pytest.approx(-0.245, abs=0.005)  # between its neighbours
    assert scale[0] == pytest.approx((0.04 - 2 * 0.005) / 0.05, abs=0.01)  # the gap less a 5 mm gap each side
    assert any("shrunk" in n and "where it was seen" in n for n in layout.by_id()["middle"].notes)
    assert not any("shrunk" in n for n in problem.by_id()["middle"].notes)  # the problem itself is not changed
    assert evaluate(layout, problem)["colliding_pairs"] == 0


def test_a_book_seen_where_another_stands_goes_to_the_nearest_free_slot() -> None:
    objects = [obj("shelf", (0.0, HALF - 0.2, 0.8), (1.0, 0.4, 1.6), against_walls=["wall_0"]),
               obj("book", (0.1, HALF - 0.2, 1.0), (0.05, 0.25, 0.3), support="shelf"),
               obj("book2", (0.11, HALF - 0.2, 1.0), (0.05, 0.25, 0.3), support="shelf")]
    problem, layout = solved(objects, {"shelf": "shelf", "book": "book", "book2": "book"})
    shelf_x = placed(layout, "shelf")[0][0]
    assert placed(layout, "book")[0][0] - shelf_x == pytest.approx(0.10, abs=1e-6)  # placed first, where seen
    # the second, seen 1 cm to its right, goes beside it on that side (4.5 cm away, not 6.5 cm on the left)
    assert placed(layout, "book2")[0][0] - shelf_x == pytest.approx(0.10 + 0.05 + 0.005, abs=1e-6)
    assert evaluate(layout, problem)["colliding_pairs"] == 0


def test_two_overlapping_chairs_separate_by_a_small_move() -> None:
    objects = [obj("chair", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9)), obj("chair2", (0.2, 0.1, 0.45), (0.5, 0.5, 0.9))]
    problem, layout = solved(objects, {"chair": "chair", "chair2": "chair"})
    a, b = np.array(placed(layout, "chair")[0]), np.array(placed(layout, "chair2")[0])
    assert evaluate(layout, problem)["colliding_pairs"] == 0
    moved = np.linalg.norm(a - [0.0, 0.0, 0.0]) + np.linalg.norm(b - [0.2, 0.1, 0.0])
    assert 0.29 < moved < 0.32  # the 0.3 m x-overlap (+2 mm clearance), not more


def test_a_pinned_object_does_not_move_the_other_one_does() -> None:
    objects = [obj("table", (0.0, 0.0, 0.375), (1.2, 0.8, 0.75)), obj("chair", (0.5, 0.0, 0.45), (0.5, 0.5, 0.9))]
    problem = build_problem(*scene(objects, {"table": "table", "chair": "chair"}), ASSETS)
    chair = problem.by_id()["chair"]
    chair.pinned, chair.initial = True, Pose(np.array([0.5, 0.0, 0.0]), 0.3)
    layout = solve(problem)
    assert layout.by_id()["chair"].transform == tuple(tuple(r) for r in chair.initial.rigid().tolist())
    assert layout.by_id()["chair"].pinned
    assert placed(layout, "table")[0] != [0.0, 0.0, 0.0]
    assert evaluate(layout, problem)["colliding_pairs"] == 0


def test_objects_stay_inside_the_room_and_wall_and_ceiling_hangers_hang() -> None:
    objects = [obj("chair", (HALF - 0.1, -HALF + 0.1, 0.45), (0.5, 0.5, 0.9)),  # seen poking through a corner
               obj("picture", (0.5, HALF - 0.05, 1.7), (0.8, 0.03, 0.6), yaw=0.1, hanging_on_wall=True,
                   against_walls=["wall_0"]),
               obj("pendant", (0.0, 0.0, 2.3), (0.4, 0.4, 0.3), hanging_from_ceiling=True)]
    problem, layout = solved(objects)
    m = evaluate(layout, problem)
    assert m["objects_outside_room"] == 0 and m["floating_objects"] == 0
    pic_pos, pic_yaw, _ = placed(layout, "picture")
    assert pic_pos[2] == pytest.approx(1.7 - 0.3, abs=1e-9) and pic_yaw == pytest.approx(0.0, abs=1e-9)
    assert pic_pos[1] + 0.015 == pytest.approx(HALF, abs=1e-9)
    assert placed(layout, "pendant")[0][2] + 0.3 == pytest.approx(HEIGHT, abs=1e-9)


def test_a_chair_turns_to_face_its_table() -> None:
    objects = [obj("table", (0.0, 0.0, 0.375), (1.2, 0.8, 0.75)),
               obj("chair", (1.2, 0.0, 0.45), (0.5, 0.5, 0.9), yaw=0.0, facing="table")]
    _, layout = solved(objects)
    pos, yaw, _ = placed(layout, "chair")
    front = np.array([math.sin(yaw), -math.cos(yaw)])
    to_table = -np.array(pos[:2]) / np.linalg.norm(pos[:2])
    assert front @ to_table == pytest.approx(1.0, abs=1e-9)


def test_solving_is_deterministic() -> None:
    objects = [obj("chair", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9)), obj("chair2", (0.1, 0.1, 0.45), (0.5, 0.5, 0.9)),
               obj("chair3", (0.2, -0.1, 0.45), (0.5, 0.5, 0.9), yaw=0.5),
               obj("nightstand", (0.3, 0.3, 0.3), (0.5, 0.4, 0.6)),
               obj("lamp", (0.3, 0.3, 0.9), (0.3, 0.3, 0.5), support="nightstand")]
    choices = {"chair": "chair", "chair2": "chair", "chair3": "chair", "nightstand": "nightstand", "lamp": "lamp"}
    first = solve(build_problem(*scene(objects, choices), ASSETS)).to_json()
    again = solve(build_problem(*scene(objects, choices), ASSETS)).to_json()
    assert first == again


def test_reoptimise_keeps_the_nudged_object_carries_its_lamp_and_pushes_a_neighbour() -> None:
    objects = [obj("nightstand", (0.0, 0.0, 0.3), (0.5, 0.4, 0.6)),
               obj("lamp", (0.0, 0.0, 0.9), (0.3, 0.3, 0.5), support="nightstand"),
               obj("chair", (1.0, 0.0, 0.45), (0.5, 0.5, 0.9))]
    problem, layout = solved(objects)
    before = Layout.from_json(layout.to_json())  # what layout.json holds: the layout before the edit
    edited = layout.by_id()["nightstand"]
    m = [list(r) for r in edited.transform]
    m[0][3] = 0.9  # the artist drags the nightstand into the chair
    edited.transform = tuple(tuple(r) for r in m)
    result = reoptimise(layout, problem, ["nightstand"], previous=before)
    assert result.by_id()["nightstand"].transform == edited.transform and result.by_id()["nightstand"].pinned
    lamp = placed(result, "lamp")[0]
    assert lamp[0] == pytest.approx(0.9, abs=1e-9) and lamp[2] == pytest.approx(0.6, abs=1e-6)
    assert evaluate(result, problem)["colliding_pairs"] == 0
    assert placed(result, "chair")[0] != [1.0, 0.0, 0.0]


def test_groups_share_the_medoid_scale() -> None:
    objects = [obj(f"chair{k}", (-1.0 + k * 0.8, 0.0, 0.5 * s), (0.5 * s, 0.5 * s, 0.9 * s), group="chairs")
               for k, s in enumerate([1.0, 1.1, 1.3])]
    _, layout = solved(objects, {f"chair{k}": "chair" for k in range(3)})
    for p in layout.placements:  # the medoid of (1.0, 1.1, 1.3) is 1.1: every chair gets it
        assert p.scale == pytest.approx((1.1, 1.1, 1.1))


def test_collision_world_can_be_injected() -> None:
    objects = [obj("chair", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9))]
    problem = build_problem(*scene(objects, {"chair": "chair"}), ASSETS)
    world = BvhCollisionWorld(0.01)
    solve(problem, collisions=world)
    assert world.ids() == ["chair"]


def test_two_vases_seen_at_one_spot_on_a_small_top_share_it() -> None:
    # 0.2 m vases on a 0.5 m top: neither can clear the other alone (it would fall off), so both move
    objects = [obj("nightstand", (0.0, 0.0, 0.3), (0.5, 0.4, 0.6)),
               obj("vase", (0.0, 0.0, 0.8), (0.2, 0.2, 0.35), support="nightstand"),
               obj("vase2", (0.01, 0.0, 0.8), (0.2, 0.2, 0.35), support="nightstand")]
    problem, layout = solved(objects, {"nightstand": "nightstand", "vase": "vase", "vase2": "vase"})
    m = evaluate(layout, problem)
    assert m["colliding_pairs"] == 0 and m["floating_objects"] == 0
    for oid in ("vase", "vase2"):
        pos = placed(layout, oid)[0]
        assert abs(pos[0]) <= 0.25 - 0.1 + 1e-9 and abs(pos[1]) <= 0.2 - 0.1 + 1e-9
        assert pos[2] == pytest.approx(0.6, abs=1e-6)


def test_an_edited_object_tilted_by_the_artist_is_returned_exactly() -> None:
    objects = [obj("chair", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9)), obj("table", (1.5, 0.0, 0.375), (1.2, 0.8, 0.75))]
    problem, layout = solved(objects)
    c, s = math.cos(0.2), math.sin(0.2)  # tipped 0.2 rad about x, lifted 1 cm
    tilted = ((1.0, 0.0, 0.0, 0.1), (0.0, c, -s, 0.0), (0.0, s, c, 0.01), (0.0, 0.0, 0.0, 1.0))
    layout.by_id()["chair"].transform = tilted
    result = reoptimise(layout, problem, ["chair"])
    assert result.by_id()["chair"].transform == tilted
    assert result.by_id()["table"].transform == layout.by_id()["table"].transform  # nothing to fix: stays


def test_a_swapped_parent_without_spaces_carries_its_book_on_top() -> None:
    objects = [obj("shelf", (0.0, 0.0, 0.8), (1.0, 0.4, 1.6)),
               obj("book", (0.0, 0.0, 0.5), (0.05, 0.25, 0.3), support="shelf")]
    problem, layout = solved(objects)
    assert layout.by_id()["book"].relation == "in"
    layout.by_id()["shelf"].asset_id = "cabinet"  # the artist swaps in a candidate without shelves
    result = reoptimise(layout, problem, ["shelf"])
    assert placed(result, "book")[0][2] == pytest.approx(0.9, abs=1e-6)  # on the 0.9 m cabinet's top


def test_reoptimise_without_pinning_re_rests_the_edited_object() -> None:
    objects = [obj("nightstand", (0.0, 0.0, 0.3), (0.5, 0.4, 0.6)),
               obj("lamp", (0.0, 0.0, 0.9), (0.3, 0.3, 0.5), support="nightstand")]
    problem, layout = solved(objects)
    lamp = layout.by_id()["lamp"]
    m = [list(r) for r in lamp.transform]
    m[0][3], m[2][3] = 0.05, 1.4  # lifted 0.8 m and nudged sideways
    lamp.transform = tuple(tuple(r) for r in m)
    result = reoptimise(layout, problem, ["lamp"], pin_edited=False)
    pos = placed(result, "lamp")[0]
    assert pos[0] == pytest.approx(0.05, abs=1e-9) and pos[2] == pytest.approx(0.6, abs=1e-6)
    assert not result.by_id()["lamp"].pinned


def test_without_a_ceiling_plane_a_pendant_keeps_its_observed_bottom() -> None:
    from imaginarium.core.layout.problem import build_problem as build
    from imaginarium.core.layout.solver import solve as run

    from .helpers import scene

    objects = [obj("pendant", (0.0, 0.0, 1.95), (0.3, 0.3, 0.2), hanging_from_ceiling=True, support="ceiling")]
    obs, cands = scene(objects, {"pendant": "pendant"})
    obs.planes = [p for p in obs.planes if p.kind != "ceiling"]  # the ceiling was not seen
    layout = run(build(obs, cands, ASSETS))
    assert placed(layout, "pendant")[0][2] == pytest.approx(1.85, abs=1e-9)  # asset bottom at the seen bottom
