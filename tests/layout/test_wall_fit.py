"""The fitted asset is the witness for "against the wall": a gap in the fit keeps the object off the wall."""
from __future__ import annotations

import math

import numpy as np

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
    import pytest

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
