"""Background texture loading: captions JSON in either form, images dropped in without captions."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.errors import LibraryError
from imaginarium.core.library.textures import CAPTIONS_NAME, TEXTURE_DIR, load_textures


def _png(path: Path, rgb: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), rgb, np.uint8)).save(path)


def test_captions_and_fallbacks(tmp_path: Path) -> None:
    root = tmp_path / TEXTURE_DIR
    _png(root / "floor" / "oak.png", (200, 150, 100))
    _png(root / "wall" / "plain_white.jpg", (250, 250, 250))
    _png(root / "ceiling" / "sub" / "white.png", (255, 255, 255))
    (root / "floor" / "notes.txt").write_text("not an image")
    (root / CAPTIONS_NAME).write_text(json.dumps([{"file": "floor/oak.png", "caption": "Oak floor.",
                                                   "mean_rgb": [0.78, 0.59, 0.39]}]))
    tex = {t.id: t for t in load_textures(tmp_path)}
    assert sorted(tex) == ["oak", "plain_white", "white"]
    assert tex["oak"].caption == "Oak floor." and tex["oak"].mean_rgb == (0.78, 0.59, 0.39)
    assert tex["plain_white"].kind == "wall" and tex["plain_white"].caption == "plain white"
    assert np.allclose(tex["plain_white"].mean_rgb, 250 / 255, atol=0.02)  # computed from the pixels
    assert tex["white"].kind == "ceiling"


def test_missing_folder_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="does not exist"):
        load_textures(tmp_path)
    (tmp_path / TEXTURE_DIR).mkdir()
    (tmp_path / TEXTURE_DIR / CAPTIONS_NAME).write_text("{broken")
    with pytest.raises(LibraryError, match="not valid JSON"):
        load_textures(tmp_path)
