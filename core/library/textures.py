"""Background textures (floor, wall, ceiling) laid out like the Imaginarium background set.

Layout: ``background_texture_dataset/{floor,wall,ceiling}/<file>`` plus a captions JSON
(``texture_captions.json``) mapping the relative path to ``{caption, mean_rgb}``. Matching
picks a texture per surface by caption and mean colour, so both are required; a texture
without a recorded mean colour gets one computed from its pixels when Pillow is available.
Stdlib + numpy only (this runs in Blender's process too).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LibraryError

TEXTURE_DIR = "background_texture_dataset"
CAPTIONS_NAME = "texture_captions.json"
KINDS = ("floor", "wall", "ceiling")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".exr", ".tif", ".tiff")


@dataclass(frozen=True)
class TextureRecord:
    """One background material: ``path`` absolute, ``mean_rgb`` sRGB in 0..1."""

    id: str
    kind: str
    path: Path
    caption: str
    mean_rgb: tuple[float, float, float]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "path": str(self.path), "caption": self.caption,
                "mean_rgb": list(self.mean_rgb)}


def load_textures(library_dir: str | os.PathLike[str]) -> list[TextureRecord]:
    """Every texture image under the folder, with caption and mean colour; sorted by kind then id.

    Images without a caption entry are still listed (caption = their file name) so a user can
    drop files in; caption entries without an image are ignored. LibraryError when the
    folder is missing or the captions file is not JSON.
    """
    root = Path(library_dir) / TEXTURE_DIR
    if not root.is_dir():
        raise LibraryError(f"{root} does not exist.",
                           "Unpack background_texture_dataset.tar.gz into the library folder, or run `make library`.")
    captions = _read_captions(root / CAPTIONS_NAME)
    out = []
    for kind in KINDS:
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            rel = path.relative_to(root).as_posix()
            entry = captions.get(rel) or captions.get(path.name) or captions.get(path.stem) or {}
            mean = entry.get("mean_rgb") or _mean_rgb(path)
            caption = str(entry.get("caption") or path.stem.replace("_", " "))
            out.append(TextureRecord(id=str(entry.get("id") or path.stem), kind=kind, path=path.resolve(),
                                     caption=caption, mean_rgb=tuple(float(c) for c in mean[:3])))  # type: ignore[arg-type]
    return out


def _read_captions(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise LibraryError(f"{path} is not valid JSON ({exc}).", "Fix or delete the captions file.") from None
    if isinstance(data, list):  # a list of {file|path, caption, ...}
        data = {str(d.get("file") or d.get("path")): d for d in data if isinstance(d, dict)}
    return {k: (v if isinstance(v, dict) else {"caption": str(v)}) for k, v in data.items()}


def _mean_rgb(path: Path) -> tuple[float, float, float]:
    try:
        from PIL import Image  # not in Blender's bundled Python: grey then, and said so in the caption
        import numpy as np

        with Image.open(path) as img:
            arr = np.asarray(img.convert("RGB").resize((64, 64)), dtype=np.float32) / 255.0
        return tuple(float(c) for c in arr.reshape(-1, 3).mean(axis=0))  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - an unreadable image must not hide the others
        return (0.5, 0.5, 0.5)
