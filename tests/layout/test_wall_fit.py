"""The fitted asset is the witness for "against the wall": a gap in the fit keeps the object off the wall."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imaginarium.core.layout.geometry import Pose
from imaginarium.core.layout.problem import walls_near_fit
from imaginarium.core.schema import AssetRecord, Plane

WALL = Plane("wall_0", "wall", (0.0, -1.0, 0.0), -3.0)  # the plane y = 3, the room on its −y side
PLANT = AssetRecord("p", "plant", "potted plant", "plant", (0.4, 0.4, 1.0))


def test_a_fit_flush_with_the_wall_keeps_it_and_a_gap_drops_it_with_a_note() -> None:
    flush = Pose(np.array([0.0, 3.0 - 0.2 - 0.05, 0.0]), 0.0)  # back 5 cm from the wall
    assert walls_near_fit(flush, PLANT, ["wall_0"], [WALL]) == (["wall_0"], [])
    away = Pose(np.array([0.5, 3.0 - 0.2 - 0.3, 0.0]), 0.0)    # back 30 cm from the wall
    kept, notes = walls_near_fit(away, PLANT, ["wall_0"], [WALL])
    assert kept == [] and "0.30 m" in notes[0] and "wall_0" in notes[0]


def test_the_footprint_is_turned_and_scaled_with_the_fit() -> None:
    bench = AssetRecord("b", "bench", "bench", "bench", (1.6, 0.4, 0.5))
    # turned 90°, its 1.6 m side points at the wall: its end is 5 cm from it although its centre is 0.85 m away
    turned = Pose(np.array([0.0, 3.0 - 0.85, 0.0]), math.pi / 2)
    assert walls_near_fit(turned, bench, ["wall_0"], [WALL])[0] == ["wall_0"]
    # scaled to half its length, the same centre leaves a 45 cm gap
    half = Pose(np.array([0.0, 3.0 - 0.85, 0.0]), math.pi / 2, np.array([0.5, 1.0, 1.0]))
    assert walls_near_fit(half, bench, ["wall_0"], [WALL])[0] == []


def test_a_store_without_an_asset_gives_its_box_with_a_note_and_a_broken_store_is_raised() -> None:
    from imaginarium.core.errors import LibraryError
    from imaginarium.core.layout.assets import asset_proxy

    class Store:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def proxy(self, asset_id: str):  # noqa: ANN201
            raise self.error

    notes: list[str] = []
    verts, faces = asset_proxy(PLANT, Store(LibraryError("Asset 'p' is not in the store.", "Rebuild.")), notes)
    assert len(verts) == 8 and len(faces) == 12 and "box" in notes[0] and "not in the store" in notes[0]
    with pytest.raises(ZeroDivisionError):  # a bug in the store is not hidden behind a box
        asset_proxy(PLANT, Store(ZeroDivisionError("bug")), [])


def test_a_tv_on_its_stand_stays_where_it_was_fitted_a_few_centimetres_off_the_wall() -> None:
    from imaginarium.core.layout import build_problem, solve

    from .helpers import HALF, asset, obj, scene

    assets = {a.id: a for a in [asset("stand", (1.6, 0.45, 0.5), "ALIGNED_ANISOTROPIC", align=True),
                                asset("tv", (1.2, 0.25, 0.75), align=True)]}
    # wall_0 is y = 2 (room on −y); the stand's back touches it, the TV's back stays 8 cm off it
    stand_y, tv_y = HALF - 0.225, HALF - 0.125 - 0.08
    objects = [obj("stand", (0.0, stand_y, 0.25), (1.6, 0.45, 0.5), against_walls=["wall_0"]),
               obj("tv", (0.0, tv_y, 0.875), (1.2, 0.25, 0.75), support="stand", against_walls=["wall_0"])]
    observation, cands = scene(objects, {"stand": "stand", "tv": "tv"})
    for c, (y, z) in zip(cands.candidates, [(stand_y, 0.0), (tv_y, 0.5)]):
        c.fit = {"asset_id": c.object_id, "transform": [[1, 0, 0, 0.0], [0, 1, 0, y], [0, 0, 1, z], [0, 0, 0, 1]],
                 "scale": [1.0, 1.0, 1.0], "residual_m": 0.01, "source": "fit", "yaw_source": "box", "inliers": 1.0}
    layout = solve(build_problem(observation, cands, assets))
    tv = layout.by_id()["tv"]
    assert tv.relation == "on" and tv.parent == "stand"
    assert tv.transform[1][3] == pytest.approx(tv_y, abs=0.01)  # not pushed 8 cm back onto the wall
    assert any("not snapped to wall_0" in n for n in tv.notes)
    assert layout.by_id()["stand"].transform[1][3] == pytest.approx(stand_y, abs=0.01)


def test_a_lamp_with_no_support_detected_stays_where_it_was_fitted_off_the_wall() -> None:
    from imaginarium.core.layout import build_problem, solve

    from .helpers import HALF, asset, obj, scene

    assets = {"lamp": asset("lamp", (0.3, 0.3, 0.5))}
    lamp_y = HALF - 0.15 - 0.12  # its back 12 cm from wall_0, 0.6 m up on a table the detector missed
    objects = [obj("lamp", (0.0, lamp_y, 0.85), (0.3, 0.3, 0.5), support=None, against_walls=["wall_0"])]
    observation, cands = scene(objects, {"lamp": "lamp"})
    cands.candidates[0].fit = {"asset_id": "lamp", "transform": [[1, 0, 0, 0.0], [0, 1, 0, lamp_y], [0, 0, 1, 0.6],
                                                                 [0, 0, 0, 1]],
                               "scale": [1.0, 1.0, 1.0], "residual_m": 0.01, "source": "fit", "yaw_source": "box",
                               "inliers": 1.0}
    lamp = solve(build_problem(observation, cands, assets)).by_id()["lamp"]
    assert lamp.relation == "free"
    assert lamp.transform[1][3] == pytest.approx(lamp_y, abs=0.01) and lamp.transform[2][3] == pytest.approx(0.6)
