"""Procedural background textures (floor, wall, ceiling) for the starter library, numpy only.

Each pattern returns an sRGB float image (H, W, 3) in 0..1 that tiles; the generator saves
it as PNG through bpy and records its caption and mean colour in the captions JSON that
:func:`core.library.textures.load_textures` reads.
"""
from __future__ import annotations

import numpy as np

SIZE = 256


def _noise(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    """Tileable value noise: random grid upsampled by repetition then box-blurred (wraps around)."""
    base = rng.random((size // scale, size // scale))
    img = np.kron(base, np.ones((scale, scale)))
    for axis in (0, 1):
        img = sum(np.roll(img, s, axis=axis) for s in range(-scale // 2, scale // 2 + 1)) / (scale + 1)
    return img


def planks(rng: np.random.Generator, colour: tuple, rows: int = 8, herringbone: bool = False) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    if herringbone:
        x, y = (x + y) % 1.0, (y - x) % 1.0
    row = np.floor(y * rows)
    offset = (row * 0.37) % 1.0
    seam_x = ((x + offset) * 2) % 1.0 < 0.01
    seam_y = (y * rows) % 1.0 < 0.04
    grain = 0.85 + 0.15 * np.sin((x * 60 + _noise(rng, SIZE, 16) * 8))
    tone = 0.9 + 0.2 * ((row * 7919) % 13) / 13
    img = np.asarray(colour)[None, None, :] * (grain * tone)[..., None]
    img[seam_x | seam_y] *= 0.55
    return img


def tiles(rng: np.random.Generator, colour: tuple, grout: tuple, n: int = 4) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    line = ((x * n) % 1.0 < 0.03) | ((y * n) % 1.0 < 0.03)
    img = np.asarray(colour)[None, None, :] * (0.95 + 0.08 * _noise(rng, SIZE, 8))[..., None]
    img[line] = grout
    return img


def speckle(rng: np.random.Generator, colour: tuple, amount: float = 0.12, scale: int = 4) -> np.ndarray:
    """Carpet, concrete, plaster and paint: a colour with soft noise."""
    n = _noise(rng, SIZE, scale) * 0.6 + rng.random((SIZE, SIZE)) * 0.4
    return np.asarray(colour)[None, None, :] * (1 - amount + 2 * amount * n)[..., None]


def bricks(rng: np.random.Generator, colour: tuple, mortar: tuple) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    rows = 8
    row = np.floor(y * rows)
    xs = (x * 4 + 0.5 * (row % 2)) % 1.0
    line = (xs < 0.04) | ((y * rows) % 1.0 < 0.08)
    img = speckle(rng, colour, 0.15)
    img[line] = mortar
    return img


def stripes(rng: np.random.Generator, a: tuple, b: tuple, n: int = 8) -> np.ndarray:
    x = np.mgrid[0:SIZE, 0:SIZE][1] / SIZE
    mask = ((x * n) % 1.0 < 0.5)[..., None]
    return np.where(mask, np.asarray(a), np.asarray(b)) * (0.97 + 0.06 * _noise(rng, SIZE, 8))[..., None]


# (kind, id, caption, pattern, args)
TEXTURES = [
    ("floor", "oak_planks", "Light oak wooden floor planks.", planks, ((0.72, 0.55, 0.36),)),
    ("floor", "walnut_planks", "Dark walnut wooden floorboards.", planks, ((0.38, 0.25, 0.16),)),
    ("floor", "herringbone_parquet", "Honey-coloured herringbone parquet.", planks, ((0.78, 0.6, 0.38), 10, True)),
    ("floor", "grey_tiles", "Large light grey ceramic floor tiles.", tiles, ((0.72, 0.72, 0.7), (0.5, 0.5, 0.5))),
    ("floor", "white_marble_tiles", "White marble floor tiles with thin grout.", tiles,
     ((0.9, 0.89, 0.87), (0.7, 0.7, 0.7), 2)),
    ("floor", "beige_carpet", "Soft beige wall-to-wall carpet.", speckle, ((0.75, 0.67, 0.55), 0.1, 2)),
    ("floor", "polished_concrete", "Polished grey concrete floor.", speckle, ((0.55, 0.55, 0.54), 0.15, 16)),
    ("wall", "white_plaster", "Smooth white plastered wall.", speckle, ((0.93, 0.92, 0.9), 0.03, 16)),
    ("wall", "warm_beige_paint", "Warm beige painted wall.", speckle, ((0.86, 0.78, 0.66), 0.03, 16)),
    ("wall", "light_grey_paint", "Light grey painted wall.", speckle, ((0.74, 0.75, 0.76), 0.03, 16)),
    ("wall", "sage_green_paint", "Sage green painted wall.", speckle, ((0.6, 0.68, 0.58), 0.03, 16)),
    ("wall", "red_brick", "Exposed red brick wall.", bricks, ((0.6, 0.3, 0.22), (0.75, 0.72, 0.68))),
    ("wall", "striped_wallpaper", "Cream and pale blue striped wallpaper.", stripes,
     ((0.92, 0.88, 0.78), (0.72, 0.8, 0.88))),
    ("wall", "navy_paint", "Deep navy blue painted wall.", speckle, ((0.15, 0.2, 0.32), 0.03, 16)),
    ("ceiling", "white_ceiling", "Plain white ceiling.", speckle, ((0.95, 0.95, 0.94), 0.02, 16)),
    ("ceiling", "warm_white_ceiling", "Warm off-white ceiling.", speckle, ((0.93, 0.9, 0.84), 0.02, 16)),
    ("ceiling", "wood_panel_ceiling", "Pale wooden panelled ceiling.", planks, ((0.8, 0.66, 0.48), 6)),
]


def make(pattern, seed: int, args: tuple) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(pattern(rng, *args), 0.0, 1.0)
