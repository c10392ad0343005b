"""What the layout stage promises its callers: solving never changes the problem, relations are typed,
the fit is the start pose, removed objects are not placed, notes travel, and every placement has its box."""
from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest

from imaginarium.core.errors import SchemaError
from imaginarium.core.layout import build_problem, placement_box, reoptimise, solve
from imaginarium.core.layout.geometry import Pose
from imaginarium.core.layout.problem import LayoutItem, problem_from_layout
from imaginarium.core.schema import Layout, Placement, Relation

from .helpers import asset, obj, placed, scene, shelf_spaces

ASSETS = {a.id: a for a in [
    asset("nightstand", (0.5, 0.4, 0.6), "ALIGNED_ANISOTROPIC"), asset("lamp", (0.3, 0.3, 0.5)),
    asset("chair", (0.5, 0.5, 0.9)), asset("chair_b", (0.55, 0.5, 0.95), cls="chair"),
    asset("shelf", (1.0, 0.4, 1.6), "ALIGNED_ANISOTROPIC", align=True, spaces=shelf_spaces()),
    asset("book", (0.05, 0.25, 0.3)), asset("picture", (0.8, 0.03, 0.6), align=True),
    asset("table", (1.2, 0.8, 0.75), "RADIAL")]}


def snapshot(value: object) -> object:
    """A plain, comparable picture of a problem: every dataclass field, arrays as lists (private caches left out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, {f.name: snapshot(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.tolist())
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [snapshot(v) for v in value]
    return value


def busy_problem():  # noqa: ANN201
    """Every relation the solver treats differently, a collision to resolve and a group, in one room."""
    objects = [obj("nightstand", (0.0, 0.0, 0.3), (0.5, 0.4, 0.6)),
               obj("lamp", (0.0, 0.0, 0.9), (0.3, 0.3, 0.5), support="nightstand"),
               obj("chair", (0.2, 0.1, 0.45), (0.5, 0.5, 0.9), group="chairs", facing="table"),
               obj("chair2", (1.0, -1.0, 0.45), (0.5, 0.5, 0.9), group="chairs"),
               obj("table", (1.0, 0.0, 0.375), (1.2, 0.8, 0.75)),
               obj("shelf", (-1.5, 1.7, 0.8), (1.0, 0.4, 1.6), against_walls=["wall_0"]),
               obj("book", (-1.5, 1.7, 0.5), (0.05, 0.25, 0.3), support="shelf"),
               obj("picture", (1.0, 2.0, 1.6), (0.8, 0.05, 0.6), hanging_on_wall=True, against_walls=["wall_0"])]
    choices = {"nightstand": "nightstand", "lamp": "lamp", "chair": "chair", "chair2": "chair_b", "table": "table",
               "shelf": "shelf", "book": "book", "picture": "picture"}
    return build_problem(*scene(objects, choices), ASSETS)


def test_solve_leaves_the_problem_exactly_as_it_was() -> None:
    problem = busy_problem()
    before = snapshot(copy.deepcopy(problem))
    first = solve(problem)
    assert snapshot(problem) == before
    assert solve(problem).to_json() == first.to_json()  # and so solving it again gives the same room
    edited = Layout.from_json(first.to_json())
    m = [list(r) for r in edited.by_id()["nightstand"].transform]
    m[0][3] += 0.4
    edited.by_id()["nightstand"].transform = m
    reoptimise(edited, problem, ["nightstand"], previous=first)
    assert snapshot(problem) == before  # re-optimising reads the problem too, never writes it
    assert not hasattr(problem, "solved")


def test_relations_are_typed_from_the_scene_graph_to_the_file() -> None:
    problem = busy_problem()
    relations = {i.id: i.relation for i in problem.items}
    assert all(type(r) is Relation for r in relations.values())
    assert relations == {"nightstand": Relation.FLOOR, "lamp": Relation.ON, "chair": Relation.FLOOR,
                         "chair2": Relation.FLOOR, "table": Relation.FLOOR, "shelf": Relation.AGAINST_WALL,
                         "book": Relation.IN, "picture": Relation.WALL_HUNG}
    layout = solve(problem)
    assert all(type(p.relation) is Relation for p in layout.placements)
    data = Layout.from_json(layout.to_json())
    assert [p.relation for p in data.placements] == [p.relation for p in layout.placements]
    assert '"relation": "wall_hung"' in layout.to_json()  # files keep the plain words


def test_a_misspelt_relation_fails_where_it_is_made() -> None:
    with pytest.raises(ValueError):
        LayoutItem(id="x", label="x", asset=ASSETS["chair"], relation="on_top")
    with pytest.raises(SchemaError):
        Placement("x", "chair", relation="floating")
    assert LayoutItem(id="x", label="x", asset=ASSETS["chair"], relation="on").relation is Relation.ON


def test_every_placement_gets_the_world_box_of_its_scaled_posed_asset() -> None:
    layout = solve(busy_problem())
    for p in layout.placements:
        size = np.asarray(ASSETS[p.asset_id].size) * np.asarray(p.scale)
        pos, yaw, _ = placed(layout, p.object_id)
        assert p.box.size == pytest.approx(tuple(size))
        assert p.box.center == pytest.approx((pos[0], pos[1], pos[2] + size[2] / 2))
        assert p.box.yaw == pytest.approx(yaw)
    assert Layout.from_json(layout.to_json()).by_id()["table"].box == layout.by_id()["table"].box


def test_placement_box_of_a_turned_scaled_asset() -> None:
    c, s = math.cos(math.pi / 2), math.sin(math.pi / 2)
    p = Placement("t", "table", transform=[[c, -s, 0, 1.0], [s, c, 0, 2.0], [0, 0, 1, 0.5], [0, 0, 0, 1]],
                  scale=(1.0, 0.5, 2.0))
    box = placement_box(p, ASSETS["table"])
    assert box.center == pytest.approx((1.0, 2.0, 0.5 + 0.75))  # bottom at z 0.5, 1.5 m tall after scale
    assert box.size == pytest.approx((1.2, 0.4, 1.5)) and box.yaw == pytest.approx(math.pi / 2)


def test_the_fit_is_the_start_pose_and_its_scale_is_kept() -> None:
    objects = [obj("chair", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9), yaw=0.0)]
    obs, cands = scene(objects, {"chair": "chair"})
    c, s = math.cos(0.7), math.sin(0.7)
    cands.candidates[0].fit = {"asset_id": "chair", "transform": [[c, -s, 0, 0.6], [s, c, 0, -0.4], [0, 0, 1, 0.2],
                                                                 [0, 0, 0, 1]],
                               "scale": [1.2, 1.2, 1.2], "residual_m": 0.01, "source": "test"}
    problem = build_problem(obs, cands, ASSETS)
    assert isinstance(problem.items[0].fit, Pose)
    pos, yaw, scale = placed(solve(problem), "chair")
    assert pos == pytest.approx([0.6, -0.4, 0.0])  # where the fit put it, resting on the floor
    assert yaw == pytest.approx(0.7) and scale == pytest.approx([1.2, 1.2, 1.2])  # not the box's 1.0
    assert not any("observed box" in n for n in problem.notes)


def test_a_fit_for_another_asset_is_not_used_and_says_so() -> None:
    objects = [obj("chair", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9))]
    obs, cands = scene(objects, {"chair": "chair"})
    cands.candidates[0].fit = {"asset_id": "chair_b", "transform": [[1, 0, 0, 1.5], [0, 1, 0, 0], [0, 0, 1, 0],
                                                                   [0, 0, 0, 1]], "scale": [1, 1, 1]}
    problem = build_problem(obs, cands, ASSETS)
    assert problem.items[0].fit is None and any("fitted pose is for asset chair_b" in n for n in problem.items[0].notes)
    assert placed(solve(problem), "chair")[0][0] == pytest.approx(0.0)
    bad = scene(objects, {"chair": "chair"})[1]
    bad.candidates[0].fit = {"asset_id": "chair", "transform": [[1, 0, 0]], "scale": [1, 1, 1]}
    with pytest.raises(SchemaError, match=r"Candidate\[chair\]\.fit\.transform"):
        build_problem(obs, bad, ASSETS)


def test_removed_objects_are_not_placed_and_notes_travel_to_the_layout() -> None:
    objects = [obj("nightstand", (0.0, 0.0, 0.3), (0.5, 0.4, 0.6), removed="part of the bed asset"),
               obj("lamp", (0.0, 0.0, 0.9), (0.3, 0.3, 0.5), support="nightstand", notes=["top cut off by the frame"]),
               obj("chair", (1.0, 1.0, 0.45), (0.5, 0.5, 0.9), facing="nightstand")]
    problem = build_problem(*scene(objects, {"nightstand": "nightstand", "lamp": "lamp", "chair": "chair"}), ASSETS)
    layout = solve(problem)
    assert [p.object_id for p in layout.placements] == ["lamp", "chair"]
    assert any(n == "nightstand (nightstand) not placed: part of the bed asset" for n in layout.notes)
    lamp = layout.by_id()["lamp"]
    assert lamp.notes[0] == "top cut off by the frame"
    assert any("support nightstand is not placed" in n for n in lamp.notes) and lamp.relation == Relation.FLOOR
    assert any("faces nightstand, which is not placed" in n for n in layout.by_id()["chair"].notes)
    assert problem_from_layout(layout, ASSETS).items[0].notes == lamp.notes  # read back with its notes


def test_a_collision_left_after_separation_is_a_note_not_silence() -> None:
    # two pinned chairs in one spot: nothing may move, so the pair stays and the layout says so
    objects = [obj("chair", (0.0, 0.0, 0.45), (0.5, 0.5, 0.9)), obj("chair2", (0.1, 0.0, 0.45), (0.5, 0.5, 0.9))]
    problem = build_problem(*scene(objects, {"chair": "chair", "chair2": "chair"}), ASSETS)
    for item in problem.items:
        item.pinned = True
    layout = solve(problem)
    assert any(n.startswith("1 pair(s) still collide") for n in layout.notes)
    assert layout.by_id()["chair"].notes == ["still collides with chair2"]
    again = solve(problem_from_layout(layout, ASSETS))  # a re-solve replaces the note, never stacks it
    assert again.by_id()["chair"].notes == ["still collides with chair2"]
    assert sum(n.startswith("1 pair(s)") for n in again.notes) == 1


def test_group_members_overruled_by_their_group_say_so() -> None:
    objects = [obj(f"chair{k}", (-1.0 + k, 0.0, 0.45), (0.5, 0.5, 0.9), group="chairs") for k in range(3)]
    problem = build_problem(*scene(objects, {"chair0": "chair", "chair1": "chair", "chair2": "chair_b"}), ASSETS)
    assert {i.asset.id for i in problem.items} == {"chair"}
    assert problem.by_id()["chair2"].notes == ["uses chair, the asset of its group chairs (its own first choice "
                                               "was chair_b)"]
