"""Background textures by colour statistics on a rendered room (floor and wall colours known by construction)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imaginarium.core.matching.observed import load_depth, load_image, load_observation, observed_objects
from imaginarium.core.matching.textures import choose_textures


@dataclass
class Tex:
    id: str
    kind: str
    mean_rgb: tuple
    caption: str = ""
    path: str = ""


# The scenes' floor is a warm mid grey-brown and the wall an off-white (scene_script.py defaults).
TEXTURES = [Tex("floor_beige", "floor", (0.62, 0.58, 0.54)), Tex("floor_red", "floor", (0.6, 0.1, 0.1)),
            Tex("floor_dark", "floor", (0.15, 0.12, 0.1)), Tex("wall_white", "wall", (0.9, 0.9, 0.88)),
            Tex("wall_green", "wall", (0.2, 0.45, 0.25)), Tex("ceiling_white", "ceiling", (0.95, 0.95, 0.95)),
            Tex("ceiling_wood", "ceiling", (0.5, 0.3, 0.15))]


def _inputs(run):
    obs = load_observation(run)
    image = load_image(run, obs)
    objs, _ = observed_objects(run, obs, image.shape[:2])
    union = np.zeros(image.shape[:2], bool)
    for o in objs:
        union |= o.mask
    return obs, image, union


def test_colour_statistics_pick_the_matching_floor_and_wall(rendered) -> None:
    run = rendered.runs[0]
    obs, image, union = _inputs(run)
    chosen, notes = choose_textures(obs, image, TEXTURES, depth=load_depth(run, obs), objects_mask=union)
    assert chosen == {"floor": "floor_beige", "wall": "wall_white", "ceiling": "ceiling_white"}
    assert any("no ceiling pixels" in n for n in notes)          # unseen ceiling: fallback, said so


def test_swapped_palette_follows_the_pixels(rendered) -> None:
    # Recolour the photo's floor pixels red: the red floor texture must win now.
    run = rendered.runs[1]
    obs, image, union = _inputs(run)
    depth = load_depth(run, obs)
    floorish = (~union) & (np.arange(image.shape[0])[:, None] > image.shape[0] * 0.6)
    image = image.copy()
    image[floorish] = (150, 25, 25)
    chosen, _ = choose_textures(obs, image, TEXTURES, depth=depth, objects_mask=union)
    assert chosen["floor"] == "floor_red" and chosen["wall"] == "wall_white"


def test_without_depth_image_bands_are_used_and_noted(rendered) -> None:
    run = rendered.runs[0]
    obs, image, union = _inputs(run)
    chosen, notes = choose_textures(obs, image, TEXTURES, depth=None, objects_mask=union)
    assert chosen["floor"] == "floor_beige" and chosen["wall"] == "wall_white"
    assert any("image bands" in n for n in notes)


def test_vlm_choice_is_used_when_valid_and_ignored_when_not(rendered) -> None:
    run = rendered.runs[0]
    obs, image, union = _inputs(run)
    seen = {}

    def chooser(img, options):
        seen.update(options)
        return {"floor": "floor_dark", "wall": "no_such_texture"}

    chosen, notes = choose_textures(obs, image, TEXTURES, depth=None, objects_mask=union, vlm_chooser=chooser)
    assert chosen["floor"] == "floor_dark" and chosen["wall"] == "wall_white"
    assert [o[0] for o in seen["ceiling"]] == ["ceiling_white", "ceiling_wood"]
    assert any("no_such_texture" in n for n in notes)


def test_no_textures_in_library_is_a_note() -> None:
    from imaginarium.core.schema import Camera, Observation

    obs = Observation("x.png", Camera(100.0, 100.0, 50.0, 50.0, 100, 100))
    chosen, notes = choose_textures(obs, np.zeros((100, 100, 3), np.uint8), [])
    assert chosen == {} and "no background textures" in notes[0]


def test_an_unreadable_texture_never_drives_the_colour_choice(tmp_path) -> None:
    from pathlib import Path

    import numpy as np

    from imaginarium.core.library.textures import TextureRecord
    from imaginarium.core.matching.textures import choose_by_colour

    grey = (0.5, 0.5, 0.5)  # what an unreadable image used to become: close to a grey observed floor
    records = [TextureRecord("broken", "floor", Path(tmp_path / "broken.png"), "", grey, mean_known=False),
               TextureRecord("oak", "floor", Path(tmp_path / "oak.png"), "", (0.6, 0.4, 0.2))]
    chosen, notes = choose_by_colour({"floor": np.array(grey)}, records)
    assert chosen["floor"] == "oak"
    assert any("could not be read" in n and "broken" in n for n in notes)
