"""Background texture *sets*: maps grouped by base name, tile size from metadata, unreadable colours noted."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.library.textures import (CAPTIONS_NAME, TEXTURE_DIR, derive_maps, load_textures, split_map_name,
                                               texture_notes)


def _png(path: Path, value: int | tuple = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


@pytest.mark.parametrize("stem,expected", [
    ("oak_NormalGL", ("oak", "normal")), ("oak_veneer_01_diff_1k", ("oak_veneer_01", "color")),
    ("oak_veneer_01_nor_gl_1k", ("oak_veneer_01", "normal")), ("oak_veneer_01_rough_2k", ("oak_veneer_01", "roughness")),
    ("Wood041_1K-JPG_NormalDX", ("Wood041_1K-JPG", "normal_dx")), ("Roughness", ("", "roughness")),
    ("x_Displacement", ("x", "displacement")), ("plain_white", ("plain_white", "color")),
    ("polished_concrete", ("polished_concrete", "color"))])
def test_map_names_of_the_common_sets(stem: str, expected: tuple) -> None:
    assert split_map_name(stem) == expected


def test_sets_group_their_maps_and_read_tile_size_from_metadata(tmp_path: Path) -> None:
    root = tmp_path / TEXTURE_DIR
    for name in ("oak_Color", "oak_Roughness", "oak_NormalGL", "oak_Displacement"):
        _png(root / "floor" / "oak" / f"{name}.png")
    for name in ("Color", "Roughness", "NormalDX"):  # a set folder whose files carry no base name
        _png(root / "floor" / "slate" / f"{name}.jpg")
    _png(root / "wall" / "brushed_metal.png", (200, 200, 205))  # alone: a colour image, not a metallic map
    _png(root / "wall" / "lonely_Roughness.png")  # a map without its colour: not a texture
    (root / "floor" / "slate" / "slate.json").write_text(json.dumps({"tile_m": 0.6, "caption": "Slate tiles."}))
    (root / CAPTIONS_NAME).write_text(json.dumps({"floor/oak/oak_Color.png": {"caption": "Oak.", "tile_m": 2.0,
                                                                              "mean_rgb": [0.6, 0.5, 0.4]}}))
    tex = {t.id: t for t in load_textures(tmp_path)}
    assert sorted(tex) == ["brushed_metal", "oak", "slate"]
    oak = tex["oak"]
    assert sorted(oak.maps) == ["color", "displacement", "normal", "roughness"] and oak.path.name == "oak_Color.png"
    assert oak.tile_m == 2.0 and oak.tile_known and oak.normal_convention == "gl" and oak.mean_rgb == (0.6, 0.5, 0.4)
    slate = tex["slate"]
    assert sorted(slate.maps) == ["color", "normal", "roughness"] and slate.normal_convention == "dx"
    assert slate.tile_m == 0.6 and slate.caption == "Slate tiles."
    assert tex["brushed_metal"].kind == "wall" and not tex["brushed_metal"].tile_known
    assert np.allclose(tex["brushed_metal"].mean_rgb, (200 / 255, 200 / 255, 205 / 255), atol=0.01)


def test_an_unreadable_texture_is_noted_and_kept_out_of_colour_choices(tmp_path: Path) -> None:
    root = tmp_path / TEXTURE_DIR
    (root / "wall").mkdir(parents=True)
    (root / "wall" / "broken.png").write_bytes(b"not a png")
    _png(root / "wall" / "fine.png", (250, 250, 250))
    tex = {t.id: t for t in load_textures(tmp_path)}
    assert not tex["broken"].mean_known and tex["fine"].mean_known
    notes = texture_notes(list(tex.values()))
    assert len(notes) == 1 and "broken" in notes[0] and "could not be read" in notes[0]


def test_derived_maps_follow_the_colour_image() -> None:
    rgb = np.zeros((32, 32, 3))
    rgb[:, 16:] = 1.0  # a step: bright right half
    maps = derive_maps(rgb, roughness=0.6)
    n = maps["normal"] * 2 - 1
    assert maps["normal"].shape == (32, 32, 3) and maps["roughness"].shape == (32, 32)
    assert np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-6)
    assert n[5, 15, 0] < -0.1 and abs(n[5, 5, 0]) < 1e-9  # the slope tilts the normal away from the rise; flat is flat
    assert maps["roughness"][0, 0] > maps["roughness"][0, 20]  # recesses rougher
