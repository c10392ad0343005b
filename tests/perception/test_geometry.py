"""Room planes, camera pose and object boxes recovered from synthetic depth maps of known rooms."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from imaginarium.core.errors import BadInputError
from imaginarium.core.geometry.boxes import object_box
from imaginarium.core.geometry.camera import (DEFAULT_FOCAL_MM, back_project, intrinsics_from_exif, intrinsics_from_fov,
                                  resolve_intrinsics)
from imaginarium.core.geometry.room import estimate_room, to_world
from imaginarium.testkit.synthetic_scenes import SyntheticBox, SyntheticRoom, look_pose, render_depth

W, H = 240, 180


def _scene(pitch=-20.0, yaw=12.0, boxes=(), noise=0.0, fov=70.0, size=(W, H), pos=(0.0, -0.6, 1.5)):
    room = SyntheticRoom(boxes=list(boxes))
    k = intrinsics_from_fov(size[0], size[1], fov)
    pose = look_pose(pos, yaw_deg=yaw, pitch_deg=pitch)
    depth, surface, obj = render_depth(room, k, pose)
    if noise:
        depth = depth * (1 + np.random.default_rng(1).normal(0, noise, depth.shape)).astype(np.float32)
    return room, k, pose, depth, surface, obj


# ---- intrinsics ---------------------------------------------------------------------------------------------

def test_fov_gives_focal_and_centred_principal_point():
    k = intrinsics_from_fov(640, 480, 90.0)
    assert k.fx == pytest.approx(320.0) and k.fy == pytest.approx(320.0)
    assert (k.cx, k.cy) == (320.0, 240.0)
    assert k.hfov_deg == pytest.approx(90.0)


def test_default_is_30mm_lens_on_36mm_sensor_for_any_aspect():
    for w, h in ((1024, 1024), (1600, 900), (300, 800)):
        k = resolve_intrinsics(w, h)
        assert k.fx == pytest.approx(DEFAULT_FOCAL_MM / 36.0 * w)
        assert k.source.startswith("default")
        assert k.hfov_deg == pytest.approx(2 * math.degrees(math.atan(18 / 30)), abs=1e-6)


def test_exif_35mm_equivalent_uses_the_diagonal_and_explicit_values_win():
    k = intrinsics_from_exif(4000, 3000, {"focal_35mm": 26.0})
    assert k.fx == pytest.approx(26.0 / math.hypot(36, 24) * 5000.0)
    k2 = intrinsics_from_exif(4000, 3000, {"focal_mm": 4.0, "focal_plane_x_res": 1000.0, "focal_plane_unit_mm": 1.0})
    assert k2.fx == pytest.approx(4000.0)
    assert intrinsics_from_exif(100, 100, {"focal_mm": 4.0}) is None  # no pixel pitch: cannot tell
    assert resolve_intrinsics(4000, 3000, fov_deg=60, exif={"focal_35mm": 26.0}).source == "fov 60°"
    assert resolve_intrinsics(4000, 3000, exif={"focal_35mm": 26.0}).source.startswith("EXIF")
    assert resolve_intrinsics(400, 300, intrinsics=(500, 510, 200, 150)).fy == 510


@pytest.mark.parametrize("fov", [0.0, 180.0, -5.0])
def test_bad_fov_is_a_clear_error(fov):
    with pytest.raises(BadInputError, match="Field of view"):
        intrinsics_from_fov(100, 100, fov)


def test_back_projection_inverts_projection():
    k = intrinsics_from_fov(W, H, 60.0)
    depth = np.random.default_rng(0).uniform(1, 5, (H, W)).astype(np.float32)
    pts = back_project(depth, k)
    u = pts[..., 0] / pts[..., 2] * k.fx + k.cx
    v = pts[..., 1] / pts[..., 2] * k.fy + k.cy
    assert np.allclose(u, np.arange(W)[None, :] + 0.5, atol=1e-3)
    assert np.allclose(v, np.arange(H)[:, None] + 0.5, atol=1e-3)
    assert back_project(depth, k, stride=4).shape == (H // 4, W // 4, 3)


# ---- room -----------------------------------------------------------------------------------------------------

def _world_of_synthetic(pose):
    """Our world = synthetic world shifted so the camera's foot is the origin (yaw is Manhattan-snapped to 0)."""
    return np.array([pose[0, 3], pose[1, 3], 0.0])


@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_floor_walls_and_camera_pose_of_a_known_room(noise):
    room, k, pose, depth, _, _ = _scene(noise=noise)
    est = estimate_room(depth, k)
    tol = 0.02 if not noise else 0.05
    assert est.camera_height == pytest.approx(1.5, abs=tol)
    assert est.floor_source.startswith("lowest")  # the floor is the lowest large horizontal surface (issue #15)
    shift = _world_of_synthetic(pose)
    walls = {p.id: p for p in est.walls}
    assert len(walls) == 2
    # Expected walls in our frame: x = x0 (normal +X) and y = y1 (normal -Y), offsets shifted by the camera foot.
    expected = {(1.0, 0.0): room.x0 - shift[0], (0.0, -1.0): -(room.y1 - shift[1])}
    for wall in walls.values():
        n = tuple(round(c, 6) + 0.0 for c in wall.normal[:2])
        assert n in expected, wall.normal  # Manhattan-snapped exactly onto an axis
        assert wall.normal[2] == pytest.approx(0.0, abs=1e-9)
        assert wall.offset == pytest.approx(expected[n], abs=tol + 0.01)
    # The recovered pose maps synthetic camera points to our world exactly up to the shift.
    cam_pts = back_project(depth, k, stride=7).reshape(-1, 3)
    ours = to_world(cam_pts.astype(np.float64), est.world_from_camera)
    truth = to_world(cam_pts.astype(np.float64), pose) - shift
    assert np.nanmedian(np.linalg.norm(ours - truth, axis=1)) < tol + 0.01
    r = est.world_from_camera[:3, :3]
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-6) and np.linalg.det(r) == pytest.approx(1.0)


def test_ceiling_found_when_visible_and_labelled_floor_used():
    room, k, pose, depth, surface, _ = _scene(pitch=8.0, yaw=-30.0, pos=(0.5, 0.0, 1.3), fov=80)
    est = estimate_room(depth, k, floor_mask=surface == 0)
    assert est.floor_source == "labelled floor pixels"
    ceiling = est.plane("ceiling")
    assert ceiling is not None
    assert -ceiling.offset == pytest.approx(room.height, abs=0.03)
    assert ceiling.normal == pytest.approx((0.0, 0.0, -1.0))
    assert 2 <= len(est.walls) <= 4
    assert (est.label_map == 1).any() and (est.label_map >= 2).any()


def test_a_tilted_photo_that_sees_no_ceiling_finds_none_in_the_top_rows_of_the_wall():
    # pitched down 15° and rolled 5°: the top rows fall on the back wall along a slanted line, which a
    # near-horizontal plane fits; it is not a ceiling (it would push pictures and shelves down a metre)
    room = SyntheticRoom()
    k = intrinsics_from_fov(320, 240, 65)
    pose = look_pose((0.3, 0.0, 1.5), yaw_deg=8.0, pitch_deg=-15.0)
    a = math.radians(5.0)
    pose[:3, :3] = pose[:3, :3] @ np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    depth, surface, _ = render_depth(room, k, pose)
    assert not (surface == 1).any()  # the ceiling is out of view
    depth = (depth * (1 + np.random.default_rng(0).normal(0, 0.01, depth.shape))).astype(np.float32)
    assert estimate_room(depth, k, floor_mask=surface == 0).plane("ceiling") is None


def test_a_surface_facing_down_lower_than_a_room_is_tall_is_not_the_ceiling():
    # a loft (or a high cabinet) over the back of the room, 1.75 m up, fills the top of the view: its
    # underside faces down like a ceiling, but a ceiling that low would push every picture and shelf under it
    loft = SyntheticBox((0.0, 2.0, 1.85), (5.0, 4.0, 0.2))
    room, k, pose, depth, surface, _ = _scene(pitch=5.0, yaw=5.0, pos=(0.3, 0.0, 1.4), fov=75, boxes=[loft],
                                              size=(320, 240))
    est = estimate_room(depth, k, floor_mask=surface == 0)
    assert est.plane("ceiling") is None
    assert any("not taken for the ceiling" in n for n in est.notes)


def test_big_table_in_the_lower_image_is_not_taken_for_the_floor():
    table = SyntheticBox((0.0, 1.2, 0.375), (2.6, 1.4, 0.75))
    room, k, pose, depth, surface, obj = _scene(boxes=[table], pitch=-30.0, yaw=0.0)
    assert (obj == 0).mean() > 0.25  # the table top dominates the lower half
    est = estimate_room(depth, k)
    assert est.camera_height == pytest.approx(1.5, abs=0.03)


def test_no_usable_depth_assumes_a_level_camera_and_says_so():
    k = intrinsics_from_fov(64, 48, 60)
    est = estimate_room(np.full((48, 64), np.nan, np.float32), k)
    assert est.floor_source == "assumed" and est.notes
    assert est.world_from_camera[2, 3] == pytest.approx(1.5)


def test_objects_excluded_from_wall_search_and_walls_only_where_nothing_is_behind():
    cabinet = SyntheticBox((0.3, 2.0, 0.9), (1.6, 0.5, 1.8))  # a big flat front, room behind it
    room, k, pose, depth, _, obj = _scene(boxes=[cabinet], yaw=0.0)
    est = estimate_room(depth, k)  # no exclusion: the "few points behind" rule must reject the cabinet front
    assert est.walls
    for wall in est.walls:  # the back wall is 4.6 m away; the cabinet front would be a -Y wall 2.35 m away
        assert not (wall.normal[1] < -0.9 and abs(wall.offset) < 3.0), "the cabinet front was taken for a wall"


# ---- object boxes ---------------------------------------------------------------------------------------------

def _box_of(i, boxes, **kw):
    room, k, pose, depth, _, obj = _scene(boxes=boxes, **kw)
    est = estimate_room(depth, k, exclude_mask=obj >= 0)
    return room, k, pose, depth, obj, est


def test_box_size_yaw_and_centre_of_a_rotated_box_seen_from_above():
    box = SyntheticBox((0.4, 2.0, 0.3), (1.0, 0.5, 0.6), yaw=math.radians(25))
    room, k, pose, depth, obj, est = _box_of(0, [box], pitch=-45.0, pos=(0.0, -0.3, 2.4), yaw=0.0)
    ob = object_box(obj == 0, depth, k, est.world_from_camera)
    assert ob is not None and ob.confidence > 0.5
    dims = sorted(ob.box.size[:2])
    assert dims[1] == pytest.approx(1.0, rel=0.12) and dims[0] == pytest.approx(0.5, rel=0.25)
    assert ob.box.size[2] == pytest.approx(0.6, rel=0.12)
    yaw_err = (math.degrees(ob.box.yaw) - 25.0 + 45) % 90 - 45
    assert abs(yaw_err) < 6.0
    centre = np.array(ob.box.center[:2]) + est.world_from_camera[:2, 3] + pose[:2, 3] - est.world_from_camera[:2, 3]
    assert np.linalg.norm(centre - np.array(box.center[:2])) < 0.15


def test_mask_bleeding_into_the_background_is_clipped():
    box = SyntheticBox((0.2, 2.0, 0.4), (0.8, 0.6, 0.8))
    room, k, pose, depth, obj, est = _box_of(0, [box], pitch=-35.0, pos=(0.0, -0.3, 2.0), yaw=0.0)
    clean = object_box(obj == 0, depth, k, est.world_from_camera, planes=est.planes)
    bled = object_box(ndimage.binary_dilation(obj == 0, iterations=4), depth, k, est.world_from_camera,
                      planes=est.planes)
    for a, b in zip(clean.box.size, bled.box.size):
        assert b == pytest.approx(a, rel=0.2, abs=0.05)
    assert bled.box.size[2] == pytest.approx(0.8, rel=0.15)


def test_hidden_bottom_is_extended_down_to_the_floor():
    box = SyntheticBox((0.0, 1.1, 0.45), (0.6, 0.5, 0.9))
    room, k, pose, depth, obj, est = _box_of(0, [box], pitch=-10.0, pos=(0.0, -0.2, 1.4), yaw=0.0)
    mask = obj == 0
    assert mask[-1].any(), "scene must cut the box at the image bottom"
    ob = object_box(mask, depth, k, est.world_from_camera)
    assert ob.bottom_hidden and ob.extended_to == "floor"
    assert ob.box.center[2] - ob.box.size[2] / 2 == pytest.approx(0.0, abs=0.01)
    assert ob.box.size[2] == pytest.approx(0.9, rel=0.1)


def test_tiny_mask_gives_no_box():
    room, k, pose, depth, obj, est = _box_of(0, [])
    m = np.zeros(depth.shape, bool)
    m[10, 10:14] = True
    assert object_box(m, depth, k, est.world_from_camera) is None


def test_hidden_bottom_is_extended_to_the_object_below_not_the_floor():
    from imaginarium.core.geometry.boxes import SupportSurface

    table = SyntheticBox((0.0, 1.6, 0.375), (1.2, 0.8, 0.75))
    vase = SyntheticBox((0.0, 1.7, 0.9), (0.25, 0.25, 0.3))
    room, k, pose, depth, obj, est = _box_of(1, [table, vase], pitch=0.0, pos=(0.0, 0.2, 0.8), yaw=0.0)
    shift = _world_of_synthetic(pose)
    table_box = object_box(obj == 0, depth, k, est.world_from_camera, planes=est.planes)
    assert table_box.box.size[1] < 0.1  # seen edge-on: the measured table is only its front face
    cam_xy = tuple(est.world_from_camera[:2, 3])
    first = object_box(obj == 1, depth, k, est.world_from_camera, planes=est.planes)
    assert first.extended_to == "floor"  # without supports the only thing below is the floor
    assert not SupportSurface("table_0", 0.75, table_box.box).covers(*first.box.center[:2])
    support = SupportSurface("table_0", 0.75, table_box.box, cam_xy)  # allows for the table's unseen back
    ob = object_box(obj == 1, depth, k, est.world_from_camera, supports=[support], planes=est.planes)
    assert ob.bottom_hidden and ob.extended_to == "table_0"
    assert ob.box.center[2] - ob.box.size[2] / 2 == pytest.approx(0.75, abs=0.01)
    assert ob.box.size[2] == pytest.approx(0.3, abs=0.05)
    assert np.linalg.norm(np.array(ob.box.center[:2]) + shift[:2] - np.array(vase.center[:2])) < 0.2
