"""Scene builder in real bpy 4.3: one fresh interpreter runs tests/builder/check_build.py, these tests judge it.

The fixture layout (tests/builder/bpy_fixtures.py): a two-part table from a .blend, a glTF box
on it, a chair from a .blend whose origin is not at its bottom, three walls, floor, ceiling
and a camera with non-square pixels and an off-centre principal point.
"""
from __future__ import annotations

import json
import math

import pytest

from tests.conftest import ROOT, run_blender_script


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("builder")
    proc = run_blender_script(ROOT / "tests" / "builder" / "check_build.py", str(work), timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_run_lands_in_its_own_collection_and_leaves_the_artist_alone(report: dict) -> None:
    coll = report["collection"]
    assert coll["name"] == "Imaginarium run_test" and coll["role"] == "run" and coll["in_scene"]
    assert set(coll["objects"]) == {"table_0", "box_0", "chair_0", "floor", "ceiling", "wall_0", "wall_1", "wall_2",
                                    "camera"}
    art = report["artist_after_build"]
    assert art["collections"] == ["Scene Collection"]
    assert [row[3] for row in art["matrix"][:3]] == [5.0, 5.0, 0.5]


def test_objects_sit_where_the_placements_say_with_scale_in_the_asset_frame(report: dict) -> None:
    objs = report["objects"]
    for oid, o in objs.items():
        assert o["type"] == "MESH" and o["matrix_error"] < 1e-6, oid
    # table: catalogue size, standing on the floor at (1, 1)
    assert objs["table_0"]["world_min"] == pytest.approx([0.5, 0.7, 0.0], abs=1e-5)
    assert objs["table_0"]["world_max"] == pytest.approx([1.5, 1.3, 0.75], abs=1e-5)
    # chair: mesh was centred on its middle in the file; the asset frame puts its bottom at z = 0,
    # and Placement.scale (1, 1.2, 0.9) multiplies the catalogue size along the asset's own axes
    assert objs["chair_0"]["local_size"] == pytest.approx([0.5, 0.6, 0.81], abs=1e-5)
    assert objs["chair_0"]["world_min"][2] == pytest.approx(0.0, abs=1e-6)
    assert objs["chair_0"]["world_max"][2] == pytest.approx(0.81, abs=1e-5)
    # box from GLB: bottom on the table top, turned 10° about Z (its footprint grows by cos + sin)
    half = 0.1 * (math.cos(math.radians(10)) + math.sin(math.radians(10)))
    assert objs["box_0"]["world_min"] == pytest.approx([1 - half, 1 - half, 0.75], abs=1e-5)
    assert objs["table_0"]["materials"] == ["wood"] and objs["box_0"]["materials"] == ["glow"]


def test_every_object_carries_the_properties_read_back_needs(report: dict) -> None:
    chair = report["objects"]["chair_0"]["props"]
    assert chair["imaginarium_run_id"] == "run_test" and chair["imaginarium_object_id"] == "chair_0"
    assert chair["imaginarium_asset_id"] == "chair_a" and chair["imaginarium_pinned"] is True
    assert chair["imaginarium_relation"] == "against_wall" and json.loads(chair["imaginarium_walls"]) == ["wall_0"]
    assert chair["imaginarium_parent"] == "floor" and chair["imaginarium_inner_space"] == ""
    assert json.loads(chair["imaginarium_candidates"]) == [{"asset_id": "chair_a", "score": None}]
    box = report["objects"]["box_0"]["props"]
    assert json.loads(box["imaginarium_candidates"]) == [{"asset_id": "box_a", "score": 0.9},
                                                         {"asset_id": "chair_a", "score": 0.4}]
    assert box["imaginarium_parent"] == "table_0" and box["imaginarium_relation"] == "on"
    assert box["imaginarium_pinned"] is False


def test_room_meshes_fit_the_planes_face_inwards_and_include_the_ceiling(report: dict) -> None:
    room = report["room"]
    assert set(room) == {"floor", "ceiling", "wall_0", "wall_1", "wall_2"}
    for pid, r in room.items():
        assert r["normal_dot"] > 0.999, pid  # face normal = plane normal, into the room
        assert r["plane_residual"] < 1e-5, pid
        assert r["uv_layers"] == 1 and r["material"], pid
    # walls at x = ±2 and y = 2; the side behind the camera (y = -1.5) has no wall: bounded 0.5 m behind it
    assert room["floor"]["min"] == pytest.approx([-2.0, -2.0, 0.0]) and room["floor"]["max"] == pytest.approx([2, 2, 0])
    assert room["ceiling"]["min"][2] == pytest.approx(2.6, abs=1e-6)
    assert room["wall_2"]["max"] == pytest.approx([2.0, 2.0, 2.6], abs=1e-6)


def test_materials_use_the_texture_image_or_fall_back_to_a_flat_colour(report: dict) -> None:
    room = report["room"]
    assert room["floor"]["images"] and room["floor"]["images"][0].endswith("oak.png")
    linear = ((0.95 + 0.055) / 1.055) ** 2.4  # the default sRGB 0.95 as a linear shader value
    assert room["ceiling"]["images"] == [] and room["ceiling"]["base_color"] == pytest.approx([linear] * 3, abs=1e-6)
    assert room["wall_0"]["material"] == room["wall_1"]["material"] == "Imaginarium wall plaster"


def test_blender_camera_projects_like_the_schema_camera(report: dict) -> None:
    cam = report["camera"]
    for px in cam["pixels"]:
        du = px["opencv"][0] - px["blender"][0]
        dv = px["opencv"][1] - px["blender"][1]
        assert math.hypot(du, dv) < 1e-3, px  # well inside the required 1 px
    assert cam["scene_camera"] and cam["resolution"] == [64, 48]
    assert cam["show_background"] and cam["background"][0].endswith("reference.png")


@pytest.mark.parametrize("key", ["roundtrip_original", "roundtrip_rebuilt"])
def test_build_read_build_round_trips(report: dict, key: str) -> None:
    r = report[key]
    assert r["ids"][0] == r["ids"][1] == ["table_0", "box_0", "chair_0"]
    assert r["transform_err"] < 1e-6 and r["scale_err"] < 1e-6 and r["fields_equal"]
    assert r["camera_err"] < 1e-4 and r["camera_pose_err"] < 1e-6
    assert r["planes_equal"] and r["textures"][0] == r["textures"][1]


def test_read_layout_sees_the_artists_nudge_and_apply_layout_writes_back(report: dict) -> None:
    assert report["nudge"]["after"] == pytest.approx(report["nudge"]["before"] + 0.1, abs=1e-6)
    assert report["apply"]["matrix_error"] < 1e-6
    wall = report["moved_wall"]  # back wall y = 2 (normal -Y, offset -2) pushed out by 0.3 m
    assert wall["normal"] == pytest.approx([0.0, -1.0, 0.0], abs=1e-6) and wall["offset"] == pytest.approx(-2.3, abs=1e-5)


def test_rebuilding_a_run_updates_it_in_place(report: dict) -> None:
    r = report["rebuild"]
    assert r["same_collection"] and r["ids"] == ["chair_0", "chair_1", "table_0"]
    assert r["table_same_object"] and r["table_modifiers"] == ["artist_bevel"]
    assert r["chairs_share_mesh"]  # members of a group share mesh data
    assert r["box_in_removed"] and r["box_still_exists"]  # dropped objects are set aside, not deleted
    assert r["cameras"] == 1 and r["all_objects"] == 9
    assert r["table_candidates"] == [{"asset_id": "table_a", "score": None}]  # kept from the first build
    assert r["run_collections"] == ["Imaginarium run_copy", "Imaginarium run_test"]


@pytest.mark.parametrize("key", ["fbx", "blend", "missing"])
def test_import_failure_is_a_clear_error_and_the_scene_is_intact(report: dict, key: str) -> None:
    f = report["failures"][key]
    assert f["raised"] == "AssetImportError"
    assert f["path"] in f["message"] and f["fix"]
    assert f["unchanged"], (f["before"], f["after"])
    assert not any(c.startswith("Imaginarium run_bad") for c in f["after"]["collections"])


def test_collision_proxies_come_from_the_placed_meshes_in_the_asset_frame(report: dict) -> None:
    p = report["proxies"]
    assert p["min"] == pytest.approx([-0.5, -0.3, 0.0], abs=1e-5) and p["max"] == pytest.approx([0.5, 0.3, 0.75], abs=1e-5)
    assert p["faces"] == [24, 3] and p["dtypes"] == ["float32", "int32"]  # two boxes, triangulated
    assert p["max_index"] < p["n_verts"]
    assert p["fallback"] == 4 and p["unknown"] == "KeyError"


def test_an_object_the_artist_duplicated_reads_back_as_a_new_placement(report: dict) -> None:
    d = report["duplicate"]
    assert d["ids"] == ["box_0", "chair_0", "chair_0_1", "table_0"] and d["copy_id"] == "chair_0_1"
    assert d["original_x"] == pytest.approx(-1.0, abs=1e-6) and d["copy_x"] == pytest.approx(-0.4, abs=1e-6)
    assert d["asset"] == "chair_a"


def test_a_layout_without_planes_still_gets_a_floor_and_ceiling_around_its_objects(report: dict) -> None:
    b = report["bare"]
    assert b["structures"] == ["ceiling", "floor"] and not b["camera"]
    # the table's footprint x 0.5..1.5, y 0.7..1.3, plus the 0.5 m open-side margin
    assert b["floor_min"] == pytest.approx([0.0, 0.2, 0.0]) and b["floor_max"] == pytest.approx([2.0, 1.8, 0.0])
    assert b["ceiling_z"] == pytest.approx(2.7)  # room_meshes.DEFAULT_CEILING_M
    assert b["read_back_planes"] == 0  # derived surfaces are not invented planes


def test_obj_import_is_normalised_to_the_catalogue_size_and_a_flat_rug_is_lifted_off_the_floor(report: dict) -> None:
    r = report["rug"]
    assert r["normalised"]
    assert r["min"] == pytest.approx([-0.2, -0.1, 0.002], abs=1e-5)  # 1.0 x 0.6 centred at (0.3, 0.2)
    assert r["max"] == pytest.approx([0.8, 0.5, 0.002], abs=1e-5)  # 2 mm above the floor: never coplanar
    assert r["read_back_z"] == pytest.approx(0.0, abs=1e-9)  # the placement itself stays exact


def test_cancelling_a_build_through_progress_leaves_the_scene_as_it_was(report: dict) -> None:
    c = report["failures"]["cancel"]
    assert c["raised"] == "CancelledError" and c["unchanged"], (c["before"], c["after"])
