"""Amodal boxes: sides cut off by the frame or hidden are completed; flying pixels and neighbours do not stretch boxes.

Every scene is ray-cast from known boxes (testkit.synthetic_scenes), so the truth is the scene,
never the code under test.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from imaginarium.core.geometry.amodal import Extents, complete_box, image_sides
from imaginarium.core.geometry.boxes import object_box
from imaginarium.core.geometry.camera import intrinsics_from_fov
from imaginarium.core.geometry.room import estimate_room
from imaginarium.core.library.priors import SizePrior, SizePriors, default_priors
from imaginarium.core.schema import Plane
from imaginarium.testkit.synthetic_scenes import SyntheticBox, SyntheticRoom, look_pose, render_depth

W, H = 240, 180


def _scene(boxes, pos=(0.0, -0.6, 1.5), yaw=0.0, pitch=-20.0, fov=70.0):
    room = SyntheticRoom(boxes=list(boxes))
    k = intrinsics_from_fov(W, H, fov)
    pose = look_pose(pos, yaw_deg=yaw, pitch_deg=pitch)
    depth, surface, obj = render_depth(room, k, pose)
    est = estimate_room(depth, k, exclude_mask=obj >= 0)
    return room, k, pose, depth, obj, est


def _prior(w, d, h, spread=0.15):
    med = (w, d, h)
    return SizePrior("test", 10, med, tuple(v * (1 - spread) for v in med), tuple(v * (1 + spread) for v in med),
                     "test prior")


def _bottom(box):
    return box.center[2] - box.size[2] / 2


def test_an_object_cut_by_the_bottom_border_still_reaches_the_floor():
    cabinet = SyntheticBox((0.0, 1.3, 0.6), (0.8, 0.5, 1.2))
    _, k, _, depth, obj, est = _scene([cabinet], pos=(0.0, -0.2, 1.5), pitch=0.0)
    mask = obj == 0
    assert mask[-1].any(), "the frame must cut the cabinet's lower part"
    free = object_box(mask, depth, k, est.world_from_camera, planes=est.planes)
    assert _bottom(free.box) == pytest.approx(0.0, abs=0.02)  # hidden bottom, nothing below: down to the floor
    ob = object_box(mask, depth, k, est.world_from_camera, planes=est.planes, floor_standing=True, label="cabinet",
                    prior=_prior(0.8, 0.5, 1.2))
    assert _bottom(ob.box) == pytest.approx(0.0, abs=0.02)
    assert ob.box.size[2] == pytest.approx(1.2, rel=0.08)
    assert ob.open_faces.get("bottom", "").startswith("cut off by the image's bottom edge")
    assert any("floor" in n for n in ob.notes)


def test_a_side_cut_by_the_left_border_is_completed_from_the_prior_and_says_so():
    dresser = SyntheticBox((-1.05, 1.4, 0.45), (1.6, 0.5, 0.9))  # its left end is outside the frame
    _, k, _, depth, obj, est = _scene([dresser], pos=(0.0, -0.6, 1.5), pitch=-25.0, fov=60.0)
    mask = obj == 0
    assert mask[:, 0].any(), "the scene must cut the dresser at the image's left edge"
    plain = object_box(mask, depth, k, est.world_from_camera, planes=est.planes)
    assert plain.box.size[0] < 1.3  # what the photo shows
    ob = object_box(mask, depth, k, est.world_from_camera, planes=est.planes, prior=_prior(1.6, 0.5, 0.9),
                    floor_standing=True, label="dresser")
    assert ob.box.size[0] == pytest.approx(1.6, abs=0.12)
    right_end = -1.05 + 0.8  # our world is the scene's shifted by the camera's foot, here x = 0
    assert ob.box.center[0] + ob.box.size[0] / 2 == pytest.approx(right_end, abs=0.08)  # the seen end stays
    assert any("cut off by the image's left edge" in n and "completed" in n for n in ob.notes)


def test_growth_stops_at_a_wall():
    ext = Extents(0.0, [-0.5, 0.5], [1.0, 1.2], [0.0, 0.9])  # only the front 20 cm seen
    wall = Plane("wall_0", "wall", (0.0, -1.0, 0.0), -1.5)  # y = 1.5, room on the -y side
    grown, notes = complete_box(ext, {"+y": "unseen (its far side, facing away from the camera)"},
                                _prior(1.0, 0.6, 0.9), [wall])
    assert grown.y[1] == pytest.approx(1.5, abs=1e-6)  # would reach 1.6 without the wall
    assert grown.y[0] == pytest.approx(1.0)
    assert notes and "depth" in notes[0]
    unchanged, notes = complete_box(ext, {}, _prior(1.0, 0.6, 0.9), [wall])
    assert unchanged.y == [1.0, 1.2] and not notes  # nothing hidden: nothing completed


def test_a_strip_cut_on_two_sides_takes_its_long_side_along_its_longer_seen_side():
    # a sofa at the frame's left edge: 10 cm of it seen across the view, 50 cm along it, both cut off. Either
    # pairing of its sides with the class's fits the numbers; the seen proportions say it runs along the view
    ext = Extents(0.0, [-2.7, -2.6], [0.1, 0.6], [0.0, 0.8])
    cut = "cut off by the image's left edge"
    grown, notes = complete_box(ext, {"-x": cut, "-y": cut}, _prior(2.2, 0.9, 0.8), [])
    assert grown.y[1] - grown.y[0] == pytest.approx(2.2, abs=1e-6)  # its length along y
    assert grown.x[1] - grown.x[0] == pytest.approx(0.9, abs=1e-6)  # its depth along x
    assert grown.x[1] == pytest.approx(-2.6) and grown.y[1] == pytest.approx(0.6)  # the seen ends stay
    assert any("width along y" in n for n in notes)


def test_a_hidden_bottom_with_nothing_found_under_it_is_completed_down_to_the_class_height():
    # a lamp's shade seen above the back of a sofa: 12 cm of it, its bottom hidden, no support found under it
    # (so it was not extended anywhere). It is as tall as a lamp, not a 12 cm sliver; its seen top stays
    ext = Extents(0.0, [-0.1, 0.1], [1.0, 1.2], [0.82, 0.94])
    hidden = "hidden behind something nearer on its bottom"
    grown, notes = complete_box(ext, {"bottom": hidden}, _prior(0.3, 0.3, 0.45), [], unsupported_bottom=True)
    assert grown.z == pytest.approx([0.94 - 0.45, 0.94])
    assert any("height completed downwards" in n for n in notes)
    # what it stands on was found (its bottom was taken down there, or a foot was found): left as measured
    assert complete_box(ext, {"bottom": hidden}, _prior(0.3, 0.3, 0.45), [])[0].z == pytest.approx([0.82, 0.94])
    on_floor = Extents(0.0, [-0.1, 0.1], [1.0, 1.2], [0.0, 0.12])  # already down at the floor: nothing to do
    assert complete_box(on_floor, {"bottom": hidden}, _prior(0.3, 0.3, 0.45), [],
                        unsupported_bottom=True)[0].z == pytest.approx([0.0, 0.12])


def test_flying_pixels_at_depth_edges_do_not_stretch_the_box():
    box = SyntheticBox((0.2, 2.0, 0.4), (0.8, 0.6, 0.8))
    _, k, pose, depth, obj, est = _scene([box], pos=(0.0, -0.3, 2.0), pitch=-35.0)
    mask = obj == 0
    ring = ndimage.binary_dilation(mask, iterations=3) & ~mask  # the detector's mask bleeds 3 px
    near = ndimage.grey_dilation(np.where(mask, -depth, -np.inf), size=(7, 7))  # the object's depth nearby
    t = np.random.default_rng(3).uniform(0.15, 0.85, depth.shape)
    flying = depth.copy()
    flying[ring] = ((1 - t) * -near + t * depth)[ring]  # a sensor's mixed readings between object and background
    bled = object_box(mask | ring, flying, k, est.world_from_camera, planes=est.planes)
    # The mask's 3 px of bleeding may widen the box by their footprint on each side; flying pixels
    # strung out along the viewing rays (up to a metre behind) must not stretch it further.
    bleed = 2 * 3 * float(np.median(depth[mask])) / k.fx + 0.02
    for got, true in zip(sorted(bled.box.size[:2]), (0.6, 0.8)):
        assert true - 0.1 < got < true + bleed
    assert bled.box.size[2] == pytest.approx(0.8, abs=0.07)
    centre = np.array(bled.box.center[:2]) + pose[:2, 3]  # our world is the scene's shifted by the camera foot
    assert np.linalg.norm(centre - np.array(box.center[:2])) < 0.08


def test_image_sides_tell_cut_from_occluded_from_free():
    depth = np.full((60, 80), 4.0, np.float32)
    mask = np.zeros((60, 80), bool)
    mask[20:45, 0:30] = True  # touches the left border
    depth[mask] = 3.0
    depth[45:60, 0:40] = 2.0  # something nearer right under it
    vis = image_sides(mask, depth)
    assert vis.hidden("left") == "cut" and vis.hidden("bottom") == "occluded"
    assert vis.hidden("right") is None and vis.hidden("top") is None
    assert "left edge" in vis.describe("left")


def test_a_mask_stopping_a_few_pixels_short_of_the_border_is_still_cut_by_it():
    # a detector's mask of an object that runs out of the frame rarely reaches the very last pixel
    depth = np.full((240, 320), 4.0, np.float32)
    mask = np.zeros((240, 320), bool)
    mask[150:237, 100:200] = True  # 3 px short of the bottom border
    depth[mask] = 3.0
    assert image_sides(mask, depth).hidden("bottom") == "cut"
    mask[230:237] = False  # 10 px short: the object ends there
    assert image_sides(mask, depth).hidden("bottom") is None


def test_a_wardrobe_seen_as_a_strip_at_the_frame_stands_square_with_the_walls():
    # 7 columns of it at the left edge: its noisy faces point anywhere, the room's axes are the better guess
    wardrobe = SyntheticBox((-2.2, 1.3, 1.0), (1.2, 0.6, 2.0))
    _, k, _, depth, obj, est = _scene([wardrobe], pos=(0.0, -0.6, 1.5), pitch=-10.0)
    mask = obj == 0
    assert 0 < mask.any(axis=0).sum() < 10
    for seed in range(3):
        noisy = (depth * (1 + np.random.default_rng(seed).normal(0, 0.01, depth.shape))).astype(np.float32)
        ob = object_box(mask, noisy, k, est.world_from_camera, planes=est.planes, floor_standing=True,
                        label="wardrobe", prior=_prior(1.2, 0.6, 2.0))
        assert abs((np.degrees(ob.box.yaw) + 45) % 90 - 45) < 1.0
    assert any("square with the walls" in n for n in ob.notes)


def test_a_rug_cut_by_the_frame_stands_square_with_the_walls_not_with_the_cut():
    # the camera looks 30° off the room's axes and the frame's bottom edge cuts the rug: what is seen is
    # bounded by that cut, and its smallest footprint runs the cut's way (no face of a rug is seen edge-on)
    rug = SyntheticBox((0.4, 0.0, 0.01), (1.4, 2.0, 0.02))
    _, k, _, depth, obj, est = _scene([rug], pos=(0.0, -0.6, 1.5), yaw=-30.0, pitch=-30.0)
    mask = obj == 0
    assert image_sides(mask, depth).hidden("bottom") == "cut"
    ob = object_box(mask, depth, k, est.world_from_camera, planes=est.planes, floor_standing=True, label="rug",
                    prior=_prior(1.6, 2.0, 0.02))
    assert abs((np.degrees(ob.box.yaw) + 45) % 90 - 45) < 1.0
    assert any("square with the walls" in n and "cut" in n for n in ob.notes)


def test_a_lamp_whose_table_was_not_detected_is_not_stretched_to_the_floor():
    lamp = SyntheticBox((0.0, 1.6, 0.85), (0.3, 0.3, 0.5))
    table = SyntheticBox((0.0, 1.45, 0.3), (0.6, 0.6, 0.6))  # hides the lamp's foot; the detector missed it
    _, k, _, depth, obj, est = _scene([lamp, table], pos=(0.0, -0.6, 1.0), pitch=-5.0)
    ob = object_box(obj == 0, depth, k, est.world_from_camera, planes=est.planes, label="table lamp",
                    prior=_prior(0.3, 0.3, 0.5))
    assert ob.open_faces.get("bottom", "").startswith("hidden behind")
    assert _bottom(ob.box) == pytest.approx(0.6, abs=0.04) and ob.box.size[2] == pytest.approx(0.5, abs=0.06)
    assert any("not extended to the floor" in n and "not detected" in n for n in ob.notes)


def test_a_lamp_measured_through_its_thin_stem_reaches_down_to_its_foot():
    # a shade on a 1.2 cm stem (under a pixel: not in the mask at all) and a 3 cm foot, on a table; the
    # foot's few pixels vanish when the mask is eroded
    shade = SyntheticBox((0.0, 2.2, 1.05), (0.3, 0.3, 0.2))
    stem = SyntheticBox((0.0, 2.2, 0.78), (0.012, 0.012, 0.34))
    foot = SyntheticBox((0.0, 2.2, 0.615), (0.16, 0.16, 0.03))
    table = SyntheticBox((0.0, 2.2, 0.3), (0.6, 0.6, 0.6))
    _, k, _, depth, obj, est = _scene([shade, stem, foot, table], pos=(0.0, -1.2, 1.3), pitch=-10.0)
    lamp = (obj == 0) | (obj == 1) | (obj == 2)
    ob = object_box(lamp, depth, k, est.world_from_camera, planes=est.planes, label="table lamp",
                    prior=_prior(0.3, 0.3, 0.5))
    assert _bottom(ob.box) == pytest.approx(0.6, abs=0.04)  # its foot on the table top, not the shade's bottom
    assert any("thin part" in n for n in ob.notes) and not any("not extended" in n for n in ob.notes)


def test_a_neighbour_behind_inside_the_same_mask_is_trimmed_by_the_class_size():
    bed = SyntheticBox((0.0, 2.0, 0.3), (1.6, 2.0, 0.6))
    behind = SyntheticBox((1.8, 2.9, 0.45), (1.6, 0.4, 0.9))  # a dresser behind and beside it
    _, k, _, depth, obj, est = _scene([bed, behind], pos=(0.0, -0.8, 1.6), pitch=-30.0, fov=80.0)
    thin = ndimage.binary_erosion(obj == 1, iterations=2)
    mask = (obj == 0) | (thin & ~ndimage.binary_erosion(thin, iterations=1))  # a sliver of the neighbour leaks in
    assert (mask & (obj == 1)).sum() > 0
    ob = object_box(mask, depth, k, est.world_from_camera, planes=est.planes, prior=_prior(1.6, 2.1, 0.6),
                    floor_standing=True, label="bed")
    assert max(ob.box.size[:2]) < 2.3 and min(ob.box.size[:2]) < 1.8


def test_the_top_reaches_where_the_photo_shows_it_but_the_sensor_saw_nothing():
    headboard = SyntheticBox((0.0, 2.2, 0.6), (1.6, 0.15, 1.2))
    _, k, _, depth, obj, est = _scene([headboard], pos=(0.0, -0.4, 1.4), pitch=-15.0)
    mask = obj == 0
    rows = np.flatnonzero(mask.any(axis=1))
    top_part = np.zeros_like(mask)
    top_part[rows[0]: rows[0] + (rows[-1] - rows[0]) * 2 // 5] = True
    dark = depth.copy()
    dark[mask & top_part] = np.nan  # black leather: no reading on the upper 40 %
    ob = object_box(mask, dark, k, est.world_from_camera, planes=est.planes, floor_standing=True, label="bed")
    assert ob.box.size[2] == pytest.approx(1.2, rel=0.12)
    assert any("sensor gave no depth" in n for n in ob.notes)
    seen = object_box(mask, depth, k, est.world_from_camera, planes=est.planes, floor_standing=True, label="bed")
    assert not any("sensor" in n for n in seen.notes)


def test_priors_from_any_catalogue_median_spread_outliers_and_lookup():
    rec = lambda cls, ret, size: SimpleNamespace(class_name=cls, retrieval_class=ret, size=size)  # noqa: E731
    assets = [rec("Double_bed", "Bed", (1.8, 2.1, 1.0)), rec("Double_bed", "Bed", (2.0, 2.2, 1.1)),
              rec("Double_bed", "Bed", (2.2, 2.3, 1.2)), rec("Double_bed", "Bed", (20.0, 22.0, 11.0)),  # mis-scaled
              rec("Bedside_table", "Storage", (0.5, 0.4, 0.55))]
    priors = SizePriors.from_assets(assets, source="my library")
    bed = priors.lookup("bed")  # "bed" is the retrieval class Bed
    assert bed.count == 3 and bed.median == pytest.approx((2.0, 2.2, 1.1))
    assert bed.low[0] < 2.0 < bed.high[0]
    assert priors.lookup("double beds").key == "double bed"
    assert priors.lookup("night stand").key == "bedside table"  # the shipped aliases apply to any catalogue
    assert "my library" in priors.lookup("nightstand").source
    shipped = default_priors()
    few = SizePriors.from_assets([rec("Bedside_table", "Storage", (1.0, 0.8, 1.1))], broad=shipped)
    assert few.lookup("night stand").median == pytest.approx((1.0, 0.8, 1.1))  # the library's own class wins
    assert few.lookup("wardrobe") == shipped.lookup("wardrobe")  # a class it lacks: the broad catalogue answers
    assert shipped.lookup("dresser").source.startswith("typical")  # no catalogue class: typical sizes
    assert shipped.lookup("monitor").median[2] < 1.0 and shipped.lookup("wardrobe").median[2] > 1.6
    assert shipped.lookup("qwxzv") is None


def test_the_librarys_own_vocabulary_resolves_labels_first():
    from imaginarium.core.library.vocabulary import Vocabulary

    rec = lambda cls, ret, size: SimpleNamespace(class_name=cls, retrieval_class=ret, size=size)  # noqa: E731
    assets = [rec("three-seat sofa", "sofa", (2.1, 0.9, 0.8)), rec("two-seat sofa", "sofa", (1.6, 0.9, 0.8)),
              rec("tv stand", "tv stand", (1.4, 0.45, 0.5))]
    vocab = Vocabulary.from_records(assets)
    priors = SizePriors.from_assets(assets, source="starter", vocabulary=vocab)
    assert priors.lookup("three seat sofa").median[0] == pytest.approx(2.1)
    assert priors.lookup("couch").median[0] == pytest.approx(1.85)  # a synonym of the retrieval class "sofa"
    assert priors.lookup("tv stand").median == pytest.approx((1.4, 0.45, 0.5))
