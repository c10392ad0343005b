"""The data model: JSON round-trips for every hand-off class, and each rejection names its field."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imaginarium.core import schema as s
from imaginarium.core.errors import SchemaError

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)
ident = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda x: not s.is_structure_id(x))
yaws = st.floats(min_value=-math.pi, max_value=math.pi, allow_nan=False)


def rigid(yaw: float, t: tuple[float, float, float]) -> list[list[float]]:
    c, sn = math.cos(yaw), math.sin(yaw)
    return [[c, -sn, 0, t[0]], [sn, c, 0, t[1]], [0, 0, 1, t[2]], [0, 0, 0, 1]]


cameras = st.builds(lambda f, w, h, yaw, t: s.Camera(f, f, w / 2, h / 2, w, h, rigid(yaw, t)),
                    st.floats(10, 5000), st.integers(1, 8192), st.integers(1, 8192), yaws, st.tuples(finite, finite, finite))
boxes = st.builds(s.Box3D, st.tuples(finite, finite, finite), st.tuples(positive, positive, positive), yaws)
detections = st.builds(lambda x, y, w, h, score, label: s.Detection(label, score, [x, y, x + w, y + h],
                                                                    {"rle": {"size": [64, 48], "counts": "abc"}}),
                       st.floats(0, 1000), st.floats(0, 1000), st.floats(1, 500), st.floats(1, 500),
                       st.floats(0, 1), st.sampled_from(["bed", "chair", "床"]))


@st.composite
def graphs(draw: st.DrawFn) -> s.SceneGraph:
    ids = draw(st.lists(ident, min_size=0, max_size=6, unique=True))
    objects = []
    for i, oid in enumerate(ids):
        # supports only point at earlier objects or the room: acyclic by construction
        support = draw(st.sampled_from(["floor", "ceiling", "wall_0"] + ids[:i]))
        objects.append(s.SceneObject(id=oid, label=draw(st.sampled_from(["lamp", "book"])),
                                     detection=draw(st.none() | detections), box=draw(st.none() | boxes),
                                     support=support, against_walls=draw(st.sampled_from([[], ["wall_0"]])),
                                     group=draw(st.none() | st.just("g1")), facing=draw(st.none() | st.sampled_from(ids[:i] or [None]))))
    return s.SceneGraph(objects=objects, source="geometry")


@st.composite
def layouts(draw: st.DrawFn) -> s.Layout:
    ids = draw(st.lists(ident, min_size=0, max_size=6, unique=True))
    placements = []
    for i, oid in enumerate(ids):
        parent = draw(st.sampled_from(["floor", "wall_0"] + ids[:i]))
        placements.append(s.Placement(oid, "asset_" + oid, rigid(draw(yaws), draw(st.tuples(finite, finite, finite))),
                                      draw(st.tuples(st.floats(0.1, 3), st.floats(0.1, 3), st.floats(0.1, 3))),
                                      parent, draw(st.sampled_from(s.RELATIONS)), draw(st.booleans())))
    planes = [s.Plane("floor", "floor", [0, 0, 1], 0.0), s.Plane("wall_0", "wall", [0, 1, 0], -2.0, [[0, -2, 0], [1, -2, 0], [1, -2, 2]])]
    return s.Layout(placements=placements, planes=planes, textures={"floor": "oak"}, camera=draw(cameras), run_id="r1")


def roundtrip(obj: s.Record) -> s.Record:
    return type(obj).from_json(obj.to_json())


@settings(max_examples=30, deadline=None)
@given(cameras)
def test_camera_roundtrip(cam: s.Camera) -> None:
    assert roundtrip(cam) == cam


@settings(max_examples=30, deadline=None)
@given(graphs(), cameras)
def test_observation_roundtrip(graph: s.SceneGraph, cam: s.Camera) -> None:
    obs = s.Observation("img.png", cam, [s.Plane("floor", "floor", [0, 0, 1], 0), s.Plane("wall_0", "wall", [1, 0, 0], 2)],
                        graph, provenance={"depth": "user"})
    back = roundtrip(obs)
    assert back == obs
    assert json.loads(obs.to_json())["schema_version"] == s.SCHEMA_VERSION


@settings(max_examples=30, deadline=None)
@given(layouts())
def test_layout_roundtrip(layout: s.Layout) -> None:
    assert roundtrip(layout) == layout


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(ident, st.floats(-5, 5), st.floats(0, 1)), max_size=5, unique_by=lambda t: t[0]))
def test_candidates_and_assets_roundtrip(rows: list[tuple[str, float, float]]) -> None:
    cands = s.CandidateSet([s.Candidate(oid, [s.RankedAsset("a1", score, {"global": score})],
                                        [s.PoseHypothesis(0.5, conf, "template")]) for oid, score, conf in rows],
                           textures={"floor": "oak", "wall": "plaster"})
    assert roundtrip(cands) == cands
    asset = s.AssetRecord("7", "rug_01", "rug", "rug", [2.0, 1.4, 0.0], "ALIGNED_ANISOTROPIC",
                          inner_spaces=[s.InnerSpace("shelf_1", s.IDENTITY4, [0.9, 0.8, 0.2])])
    assert roundtrip(asset) == asset


def test_save_and_load_is_atomic_and_complete(tmp_path) -> None:
    layout = s.Layout([s.Placement("chair_1", "chair_a")], run_id="x")
    path = layout.save(tmp_path / "run" / "layout.json")
    assert s.Layout.load(path) == layout
    assert [p.name for p in path.parent.iterdir()] == ["layout.json"]  # no temp file left behind


@pytest.mark.parametrize("build, field", [
    (lambda: s.Camera(500, 500, 1, 1, 10, 10, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), "Camera.world_from_camera"),
    (lambda: s.Camera(float("nan"), 500, 1, 1, 10, 10), "Camera.fx"),
    (lambda: s.Camera(500, 500, 1, 1, 10, 10, rigid(0, (0, float("inf"), 0))), "Camera.world_from_camera[1][3]"),
    (lambda: s.Camera(500, 500, 1, 1, 10, 10, [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "Camera.world_from_camera"),
    (lambda: s.Camera(500, 500, 1, 1, 0, 10), "Camera.width"),
    (lambda: s.Box3D([0, 0, 0], [1, -0.5, 1]), "Box3D.size[1]"),
    (lambda: s.Box3D([0, 0, float("nan")], [1, 1, 1]), "Box3D.center[2]"),
    (lambda: s.Placement("a", "x", relation="levitating"), "Placement[a].relation"),
    (lambda: s.Placement("a", "x", transform=[[1, 0], [0, 1]]), "Placement[a].transform"),
    (lambda: s.Placement("a", "x", scale=[1, 0, 1]), "Placement[a].scale"),
    (lambda: s.Layout([s.Placement("a", "x", parent="ghost")]), "Placement[a].parent"),
    (lambda: s.Layout([s.Placement("a", "x", parent="b"), s.Placement("b", "y", parent="a")]), "Placement.parent"),
    (lambda: s.Layout([s.Placement("a", "x", parent="a")]), "Placement[a].parent"),
    (lambda: s.Layout([s.Placement("a", "x"), s.Placement("a", "y")]), "Layout.placements.object_id"),
    (lambda: s.SceneGraph([s.SceneObject("a", "lamp", support="b"), s.SceneObject("b", "table", support="c"),
                           s.SceneObject("c", "rug", support="a")]), "SceneObject.support"),
    (lambda: s.SceneGraph([s.SceneObject("a", "lamp", facing="nobody")]), "SceneObject[a].facing"),
    (lambda: s.Detection("bed", 1.2, [0, 0, 1, 1]), "Detection.score"),
    (lambda: s.Detection("bed", 0.5, [5, 0, 1, 1]), "Detection.box"),
    (lambda: s.Detection("bed", 0.5, [0, 0, 1, 1], {"jpeg": "x"}), "Detection.mask"),
    (lambda: s.Plane("wall_0", "window", [0, 1, 0], 0), "Plane.kind"),
    (lambda: s.Plane("floor", "floor", [0, 0, 0], 0), "Plane.normal"),
    (lambda: s.AssetRecord("1", "n", "c", "c", [1, 0, 0]), "AssetRecord[1].size"),
    (lambda: s.AssetRecord("1", "n", "c", "c", [1, 1, 1], "STRETCHY"), "AssetRecord[1].scaling_strategy"),
    (lambda: s.SceneObject("floor", "rug"), "SceneObject.id"),
    (lambda: s.SceneObject("a", "rug", notes="guessed"), "SceneObject[a].notes"),
    (lambda: s.Placement("a", "x", notes=[3]), "Placement[a].notes"),
    (lambda: s.Observation("i.png", s.Camera(500, 500, 5, 5, 10, 10), notes="one note"), "Observation.notes"),
    (lambda: s.Layout(notes=[None]), "Layout.notes"),
    (lambda: s.CandidateSet(notes={"a": 1}), "CandidateSet.notes"),
    (lambda: s.SceneGraph(notes=5), "SceneGraph.notes"),
])
def test_rejections_name_the_field(build, field) -> None:
    with pytest.raises(SchemaError) as info:
        build()
    assert info.value.field == field
    assert info.value.fix  # every error says what to do


def test_observation_rejects_a_wall_the_room_does_not_have() -> None:
    cam = s.Camera(500, 500, 5, 5, 10, 10)
    graph = s.SceneGraph([s.SceneObject("tv", "tv", support="floor", against_walls=["wall_3"])])
    with pytest.raises(SchemaError) as info:
        s.Observation("i.png", cam, [s.Plane("floor", "floor", [0, 0, 1], 0)], graph)
    assert "wall_3" in str(info.value)


def test_file_level_rejections() -> None:
    good = json.loads(s.Layout().to_json())
    with pytest.raises(SchemaError, match="schema_version"):
        s.Layout.from_json({k: v for k, v in good.items() if k != "schema_version"})
    with pytest.raises(SchemaError, match="not supported"):
        s.Layout.from_json({**good, "schema_version": 99})
    with pytest.raises(SchemaError, match="holds a Layout"):
        s.Observation.from_json(json.dumps(good))
    with pytest.raises(SchemaError, match="not valid JSON"):
        s.Layout.from_json("{not json")
    with pytest.raises(SchemaError, match="not a field"):
        s.Layout.from_json({**good, "placments": []})


def test_a_file_that_cannot_be_read_is_a_schema_error_with_a_fix(tmp_path) -> None:
    (tmp_path / "layout.json").mkdir()
    (tmp_path / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    for name in ("layout.json", "binary.json"):
        with pytest.raises(SchemaError, match="cannot be read as a Layout file") as info:
            s.Layout.load(tmp_path / name)
        assert "re-run the stage" in info.value.fix


def test_flat_asset_size_is_valid() -> None:
    assert s.AssetRecord("9", "poster", "poster", "picture", [0.6, 0.0, 0.9]).size == (0.6, 0.0, 0.9)
