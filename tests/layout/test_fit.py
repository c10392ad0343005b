"""The fit of an asset to observed points: pose and scale from the asset's own rendered depth, and the stage.

Depth is rendered by the test's own ray caster (testkit/fit_scenes.py), never by the fit's code.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.errors import BadInputError
from imaginarium.core.layout.fit import fit_candidates
from imaginarium.core.layout.fit_points import _read_png, back_project, read_mask
from imaginarium.core.layout.fit_solve import Hypothesis, fit_pose
from imaginarium.core.layout.fit_view import FitView, sample_surface
from imaginarium.core.schema import (AssetRecord, Box3D, Candidate, CandidateSet, Detection, Observation, Plane,
                                     PoseHypothesis, RankedAsset, SceneGraph, SceneObject)

from imaginarium.testkit import fit_scenes as fs

FLOOR = [Plane("floor", "floor", (0, 0, 1), 0.0)]


def wrap_deg(a: float) -> float:
    return abs(math.degrees((a + math.pi) % (2 * math.pi) - math.pi))


@pytest.fixture(scope="module")
def chair():
    return fs.subdivide(*fs.chair(), 1)


def render_object(verts, faces, yaw, position, scale, cam):
    world = fs.place(verts, yaw, position, scale)
    depth, owner = fs.render(cam, [(world, faces), fs.floor_mesh()])
    return depth, owner == 0


@pytest.mark.parametrize("strategy, yaw_deg, position, scale", [
    ("ISOTROPIC", 35.0, (0.15, 0.2, 0.0), (1.12, 1.12, 1.12)),
    ("RADIAL", -50.0, (-0.2, 0.1, 0.0), (0.9, 0.9, 1.08)),
])
def test_fit_recovers_a_known_pose_and_scale_from_its_own_depth(chair, strategy, yaw_deg, position, scale):
    verts, faces = chair
    cam = fs.camera(200, 150)
    yaw = math.radians(yaw_deg)
    depth, mask = render_object(verts, faces, yaw, position, scale, cam)
    points = back_project(mask, depth, cam, planes=FLOOR)
    assert len(points) > 200
    # start from the box's four upright yaws, all 12° off the truth, none favoured
    hyps = [Hypothesis(yaw + math.radians(12) + k * math.pi / 2, 0.25, "box") for k in range(4)]
    result = fit_pose(points, sample_surface(verts, faces), FitView(cam, depth), hyps, z=0.0,
                      strategy=strategy, asset_size=verts.max(axis=0) - verts.min(axis=0), mask=mask)
    assert np.linalg.norm(result.position[:2] - np.asarray(position)[:2]) < 0.05
    assert wrap_deg(result.yaw - yaw) < 5.0
    assert np.max(np.abs(result.scale / np.asarray(scale) - 1)) < 0.06
    assert result.residual_m < 0.03 and result.inlier_fraction > 0.9
    m = result.transform()
    assert np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3)) and np.allclose(m[2, :3], [0, 0, 1])  # yaw only


@pytest.mark.parametrize("free_space", [1.0, 0.0])
def test_free_space_takes_back_what_an_oversized_box_asked_for(chair, free_space):
    """A box measured 25 % too large asks for a larger chair; where the camera saw past it (its seat
    top would stand in front of the observed one, its legs in the floor's pixels) the fit shrinks it.

    Without the free-space term the larger size stays (the check that this test can fail).
    """
    from imaginarium.core.layout.fit_solve import FitParams

    verts, faces = chair
    cam = fs.camera(200, 150)
    yaw = math.radians(-30)
    depth, mask = render_object(verts, faces, yaw, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), cam)
    points = back_project(mask, depth, cam, planes=FLOOR)
    size = verts.max(axis=0) - verts.min(axis=0)
    clean_depth = FitParams(free_space_weight=free_space, free_space_tol_m=0.01, free_space_rel=0.005)
    result = fit_pose(points, sample_surface(verts, faces), FitView(cam, depth),
                      [Hypothesis(yaw, 0.9, "template")], z=0.0, strategy="ISOTROPIC", asset_size=size,
                      observed_size=size * 1.25, observed_yaw=yaw, mask=mask, params=clean_depth)
    if free_space:
        assert result.scale[0] < 1.06
    else:
        assert result.scale[0] > 1.08


def save_view(tmp_path, label: str, depth, mask) -> Detection:
    """The run folder's depth map and ``<label>_0``'s mask; its detection, boxed around the mask."""
    (tmp_path / "masks").mkdir()
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "masks" / f"{label}_0.png")
    np.save(tmp_path / "depth.npy", depth.astype(np.float32))
    ys, xs = np.nonzero(mask)
    return Detection(label, 0.9, (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)),
                     {"png": f"masks/{label}_0.png"})


def write_run(tmp_path, chair, *, group: bool = False):
    """A run folder: a chair rendered at a known pose, its mask, depth and an observation naming it."""
    verts, faces = chair
    cam = fs.camera(200, 150)
    yaw, pos = math.radians(25), (0.1, 0.15, 0.0)
    det = save_view(tmp_path, "chair", *render_object(verts, faces, yaw, pos, (1.0, 1.0, 1.0), cam))
    objs = [SceneObject("chair_0", "chair", det, Box3D((0.1, 0.1, 0.45), (0.5, 0.3, 0.9), 0.0),
                        group="chairs" if group else None),
            SceneObject("lamp_0", "lamp", None, Box3D((1.0, 1.0, 0.2), (0.2, 0.2, 0.4), 0.0))]
    if group:
        objs.append(SceneObject("chair_1", "chair", None, Box3D((-1.0, 1.0, 0.45), (0.5, 0.5, 0.9)),
                                group="chairs"))
    obs = Observation("image.png", cam, FLOOR, SceneGraph(objs), "depth.npy")
    size = tuple(float(s) for s in verts.max(axis=0) - verts.min(axis=0))
    catalogue = {a: AssetRecord(a, a, "chair", "chair", size) for a in ("chair_a", "chair_b")}
    catalogue["lamp_a"] = AssetRecord("lamp_a", "lamp_a", "lamp", "lamp", (0.2, 0.2, 0.4))
    proxies = {"chair_a": (verts, faces), "chair_b": (verts * [1.05, 1.0, 1.0], faces)}
    box_yaws = [PoseHypothesis(math.radians(10) + k * math.pi / 2, 0.2, "box") for k in range(4)]
    cands = [Candidate("chair_0", [RankedAsset("chair_a", 0.9), RankedAsset("chair_b", 0.5)], box_yaws),
             Candidate("lamp_0", [RankedAsset("lamp_a", 0.9)], [])]
    if group:  # the group votes chair_b (two of three first choices) over this object's own chair_a
        cands += [Candidate("chair_1", [RankedAsset("chair_b", 0.8)], [])]
        cands[0] = Candidate("chair_0", [RankedAsset("chair_a", 0.9)], box_yaws)
        objs.append(SceneObject("chair_2", "chair", None, None, group="chairs"))
        obs = Observation("image.png", cam, FLOOR, SceneGraph(objs), "depth.npy")
        cands += [Candidate("chair_2", [RankedAsset("chair_b", 0.7)], [])]
    return obs, CandidateSet(cands), catalogue, proxies, yaw, pos


def test_fit_candidates_fills_the_fit_of_each_object_with_points(tmp_path, chair):
    obs, cands, catalogue, proxies, yaw, pos = write_run(tmp_path, chair)
    out = fit_candidates(obs, cands, catalogue, proxies, None, tmp_path)
    fit = {c.object_id: c.fit for c in out.candidates}
    assert cands.candidates[0].fit is None  # the input is not changed
    f = fit["chair_0"]
    assert f["asset_id"] == "chair_a" and f["source"] == "fit"
    m = np.asarray(f["transform"])
    assert m.shape == (4, 4) and np.allclose(m[2], [0, 0, 1, 0]) and np.allclose(m[3], [0, 0, 0, 1])
    assert np.linalg.norm(m[:2, 3] - np.asarray(pos[:2])) < 0.05
    assert wrap_deg(math.atan2(m[1, 0], m[0, 0]) - yaw) < 5.0
    assert len(f["scale"]) == 3 and f["residual_m"] < 0.03
    assert fit["lamp_0"] is None and any("lamp_0" in n and "no mask" in n for n in out.notes)
    CandidateSet.from_json(out.to_json())  # the fit survives the JSON form


def test_fit_candidates_fits_the_asset_the_group_agrees_on(tmp_path, chair):
    obs, cands, catalogue, proxies, _, _ = write_run(tmp_path, chair, group=True)
    out = fit_candidates(obs, cands, catalogue, proxies, np.load(tmp_path / "depth.npy"), tmp_path)
    assert {c.object_id: c.fit for c in out.candidates}["chair_0"]["asset_id"] == "chair_b"


def test_png_masks_read_the_same_without_pil(tmp_path):
    rng = np.random.default_rng(0)
    mask = np.zeros((37, 53), bool)
    mask[5:30, 8:40] = True
    mask[rng.random(mask.shape) < 0.1] ^= True
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "m.png", optimize=True)
    Image.fromarray(np.stack([mask * 255] * 3, -1).astype(np.uint8)).save(tmp_path / "rgb.png")
    assert np.array_equal(_read_png(tmp_path / "m.png") > 127, mask)
    assert np.array_equal(_read_png(tmp_path / "rgb.png") > 127, mask)
    assert np.array_equal(read_mask(tmp_path / "m.png"), mask)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(BadInputError, match="cannot be read") as info:
        read_mask(tmp_path / "bad.png")
    assert "perception" in info.value.fix


def drum(radius: float = 0.2, height: float = 0.5, sides: int = 8):
    """A closed prism on a regular polygon: a low-poly lamp shade or pot, as wide every way."""
    ring = [(radius * math.cos(2 * math.pi * k / sides), radius * math.sin(2 * math.pi * k / sides))
            for k in range(sides)]
    verts = np.array([(x, y, z) for z in (0.0, height) for x, y in ring] + [(0, 0, 0), (0, 0, height)])
    faces = []
    for k in range(sides):
        a, b = k, (k + 1) % sides
        faces += [(a, b, sides + b), (a, sides + b, sides + a), (2 * sides, b, a), (2 * sides + 1, sides + a, sides + b)]
    return verts, np.array(faces)


def test_a_round_asset_is_squared_with_the_room_in_place(tmp_path):
    # seen from the front, an octagonal pot has no direction to measure: whatever yaw the box and the fit
    # read into its points, it stands square with the room's axes, its footprint where it was seen
    verts, faces = fs.subdivide(*drum(), 1)
    cam = fs.camera(200, 150)
    pos = (0.1, 0.3, 0.0)
    det = save_view(tmp_path, "pot", *render_object(verts, faces, math.radians(37), pos, (1.0, 1.0, 1.0), cam))
    box = Box3D((0.1, 0.3, 0.25), (0.4, 0.4, 0.5), math.radians(37))
    obs = Observation("image.png", cam, FLOOR, SceneGraph([SceneObject("pot_0", "pot", det, box)]), "depth.npy")
    catalogue = {"pot_a": AssetRecord("pot_a", "pot_a", "pot", "pot", (0.4, 0.4, 0.5))}
    cands = CandidateSet([Candidate("pot_0", [RankedAsset("pot_a", 0.9)],
                                    [PoseHypothesis(math.radians(37), 0.5, "template")])])
    fit = fit_candidates(obs, cands, catalogue, {"pot_a": (verts, faces)}, None, tmp_path).candidates[0].fit
    m = np.asarray(fit["transform"])
    yaw = math.degrees(math.atan2(m[1, 0], m[0, 0]))
    assert abs((yaw + 45.0) % 90.0 - 45.0) < 1e-6, yaw
    assert "round in plan" in fit["yaw_source"]
    assert np.linalg.norm(m[:2, 3] - np.asarray(pos[:2])) < 0.04  # turned about its own centre


def test_plan_width_ratio_tells_round_plans_from_square_ones():
    from imaginarium.core.layout.symmetry import ROUND_PLAN, plan_width_ratio

    assert plan_width_ratio(drum(sides=16)[0]) < plan_width_ratio(drum(sides=8)[0]) < ROUND_PLAN
    square = plan_width_ratio(drum(sides=4)[0])  # a square box: its diagonal is √2 × its side
    assert square == pytest.approx(math.sqrt(2), rel=0.01) and square > ROUND_PLAN


def test_nearest_border_is_the_same_without_scipy(monkeypatch):
    # Blender's own Python has no scipy: the fit there takes the k-d tree over the border pixels instead
    # of the distance transform, and must move a proxy point onto the same silhouette
    from types import SimpleNamespace

    from imaginarium.core.layout import fit_view

    yy, xx = np.mgrid[0:120, 0:160]
    mask = ((xx - 70) ** 2 / 900 + (yy - 60) ** 2 / 400 <= 1) | ((xx >= 90) & (xx < 110) & (yy >= 30) & (yy < 90))
    view = SimpleNamespace(camera=SimpleNamespace(width=160, height=120))
    rng = np.random.default_rng(0)
    u, v = rng.uniform(15, 140, 400), rng.uniform(10, 110, 400)
    outside = ~mask[v.astype(int), u.astype(int)]
    u, v = u[outside], v[outside]
    fast = fit_view.ObjectMask(mask, view).nearest_border(u, v)
    monkeypatch.setattr(fit_view, "_nearest_pixel_map", lambda m: None)
    slow = fit_view.ObjectMask(mask, view).nearest_border(u, v)
    d_fast, d_slow = np.hypot(fast[:, 0] - u, fast[:, 1] - v), np.hypot(slow[:, 0] - u, slow[:, 1] - v)
    # the map answers for the query's pixel, the index for its exact position: the same border within a pixel
    assert len(u) > 100 and np.abs(d_fast - d_slow).max() < 1.0 and np.median(np.abs(d_fast - d_slow)) < 1e-6
    assert mask[(fast[:, 1]).astype(int), (fast[:, 0]).astype(int)].all()
