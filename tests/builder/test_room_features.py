"""Lights, openings, placeholders, conflicts, the camera rule, run binding, texture maps and the preview, in real bpy.

One fresh interpreter runs tests/builder/check_room_features.py; these tests judge its report.
The wall-opening geometry is also checked here without bpy.
"""
from __future__ import annotations

import json

import pytest

from imaginarium.imaginarium_addon import room_meshes
from tests.conftest import ROOT, run_blender_script


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("features")
    proc = run_blender_script(ROOT / "tests" / "builder" / "check_room_features.py", str(work), timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_window_detection_becomes_a_wall_object_and_its_wall_gets_an_opening(report: dict) -> None:
    r = report["rich"]
    assert r["window_object"] and r["window_centre"][1] == pytest.approx(1.95, abs=1e-5)  # in the back wall (y = 2)
    assert r["wall2_area"] == pytest.approx(4.0 * 2.6 - 1.0 * 1.2, abs=1e-4)  # the hole is the window's box
    assert r["wall1_area"] == pytest.approx(4.0 * 2.6, abs=1e-4)  # other walls stay whole
    assert not r["through_window"] and r["beside_window"] and r["below_window"]
    (u0, u1, z0, z1), = r["wall2_openings"]
    assert u1 - u0 == pytest.approx(1.0, abs=1e-5) and (z0, z1) == pytest.approx((0.9, 2.1), abs=1e-5)


def test_lamps_and_windows_become_light_sources(report: dict) -> None:
    rows = {row["name"]: row for row in report["rich"]["lights"]}
    lamp = rows["lamp_0 light"]  # a 0.2 m table lamp standing on the 0.75 m table at (0.8, 1.0)
    assert lamp["type"] == "POINT" and lamp["object_id"] == "lamp_0" and 10 <= lamp["base"] <= 200
    assert lamp["location"][:2] == pytest.approx([0.8, 1.0], abs=1e-5) and 0.75 < lamp["location"][2] <= 0.95
    day = rows["window_0 daylight"]
    assert day["type"] == "AREA" and day["location"] == pytest.approx([-1.0, 1.94, 1.5], abs=1e-4)  # before the pane
    assert rows["sun"]["type"] == "SUN" and rows["sun"]["location"][1] > 2.0  # outside, shining in
    assert report["rich"]["lamp_shadow"] is False and report["rich"]["window_shadow"] is False


def test_a_label_without_an_asset_is_a_labelled_box_of_its_observed_size_with_a_note(report: dict) -> None:
    r = report["rich"]
    assert r["piano_dims"] == pytest.approx([1.5, 0.6, 1.2], abs=1e-5) and r["piano_show_name"]
    assert any("no library asset for 'piano'" in n for n in r["piano_notes"])
    assert r["piano_read_back_notes"] == r["piano_notes"] and "size from the box" in r["piano_notes"]
    assert r["copy"]["piano_dims"] == pytest.approx(r["piano_dims"], abs=1e-5)  # read back and rebuilt: same box
    assert r["copy"]["wall2_area"] == pytest.approx(r["wall2_area"], abs=1e-4)  # and the same window opening


def test_objects_inside_the_room_are_reported_and_only_hidden_on_request(report: dict) -> None:
    r = report["rich"]
    assert [c["name"] for c in r["conflicts"]] == ["Cube"]  # FarCube and the artist's camera are not in the room
    assert "Cube is inside the room" in r["conflicts"][0]["message"] and r["cube_untouched"]
    assert any("Cube is inside the room" in n for n in r["notes"])
    assert r["hidden"] == ["Cube"] and r["cube_hidden"] and r["conflicts_after_hide"] == []


def test_the_artists_camera_and_render_size_stay_unless_asked(report: dict) -> None:
    assert report["rich"]["scene_camera"] == "ArtistCam" and report["rich"]["resolution"] == [1111, 777]
    assert report["rebuild"]["asked_camera"] == ["camera", 64, 48]
    assert report["plain"]["scene_camera"] == "camera"  # an empty scene gets the reference camera


def test_a_rebuild_remakes_the_lights_and_gives_a_former_lamp_its_shadow_back(report: dict) -> None:
    r = report["rebuild"]
    assert r["names"] == ["sun", "window_0 daylight"] and r["lights_after"] == r["lights_before"] - 1
    assert r["lamp_now_chair_shadow"] and r["light_collections"] == 1


def test_without_lamps_or_windows_a_default_rig_keeps_the_room_lit(report: dict) -> None:
    p = report["plain"]
    assert {row["name"] for row in p["lights"]} == {"ceiling panel", "camera fill"}
    assert p["median"] > 0.05 and p["side_by_side"]  # linear luminance: far from black
    lamp_only = report["lamp_only"]  # a standing lamp alone: a weaker ceiling fill stands in for unseen light
    assert set(lamp_only) == {"lamp_0 light", "ceiling panel"}
    panel = {row["name"]: row["base"] for row in p["lights"]}["ceiling panel"]
    assert lamp_only["ceiling panel"] < 0.5 * panel


def test_the_render_matches_the_photos_brightness(report: dict) -> None:
    m = report["matched"]
    for key in ("a", "b"):  # two photos, 128 and 60 grey: each room is fitted to its own
        render, photo = m["medians"][key]
        assert 0.5 < render / photo < 2.0, (key, render, photo)
    assert m["exposure"][0] > m["exposure"][1]
    assert any("exposure scaled" in n for n in m["fit_notes"])


def test_runs_are_bound_to_their_folder_id_and_the_photo_is_behind_the_camera(report: dict) -> None:
    m = report["matched"]
    assert m["run_ids"] == m["run_json_ids"] and m["run_ids"][0] != m["run_ids"][1]
    assert m["first_table_x_after_second_build"] == pytest.approx(1.25) and m["same_object"]  # the edit survived
    assert m["show_background"] and m["background"] == [m["expected_background"]]


def test_surfaces_use_every_map_of_the_texture_set_with_its_tile_size(report: dict) -> None:
    f = report["matched"]["floor"]
    assert f["base"] == "color map" and f["roughness"] == "roughness map" and f["normal"] == "NORMAL_MAP"
    assert f["images"]["color map"] == ["sRGB", "oak_Color.png"]
    assert f["images"]["roughness map"][0] == f["images"]["normal map"][0] == "Non-Color"
    assert f["scale"] == pytest.approx([0.5, 0.5]) and not f["displacement_linked"]  # 2 m per repeat
    w = report["matched"]["wall"]
    linear = ((0.8 + 0.055) / 1.055) ** 2.4
    assert not w["textured"] and w["base"] == pytest.approx([linear] * 3, abs=1e-5)  # unreadable: its mean colour
    assert any("could not be read" in n and "plaster" in n for n in report["matched"]["fit_notes"])


def test_wall_openings_are_cut_as_a_grid_without_cracks() -> None:
    seg = ((-2.0, 2.0), (2.0, 2.0))
    corners = [(x, y, z) for x in (-0.5, 0.5) for y in (1.9, 2.1) for z in (0.8, 2.0)]
    hole = room_meshes.opening_on_wall(seg, (0.0, -1.0, 0.0), corners, 0.0, 2.6)
    assert hole == pytest.approx((1.5, 2.5, 0.8, 2.0))
    far = [(x, y - 1.0, z) for x, y, z in corners]  # a box a metre off the wall opens nothing
    assert room_meshes.opening_on_wall(seg, (0.0, -1.0, 0.0), far, 0.0, 2.6) is None
    us, zs, solid = room_meshes.wall_grid(4.0, 0.0, 2.6, [hole, (3.0, 3.6, 0.0, 2.1)])  # a window and a door
    cells = {(i, j) for i in range(len(us) - 1) for j in range(len(zs) - 1)}
    area = sum((us[i + 1] - us[i]) * (zs[j + 1] - zs[j]) for i, j in solid)
    assert area == pytest.approx(4.0 * 2.6 - 1.0 * 1.2 - 0.6 * 2.1)
    assert len(cells - set(solid)) >= 2
