"""Background texture sets (floor, wall, ceiling) laid out like the Imaginarium background set.

Layout: ``background_texture_dataset/{floor,wall,ceiling}/…`` plus a captions JSON
(``texture_captions.json``) mapping a texture (its relative path, file name or id) to
``{caption, mean_rgb, tile_m, roughness, maps}``. Matching picks a texture per surface by
caption and mean colour; the scene builder makes a material from *every* map of the set.

Why sets, not files: published PBR sets ship one image per map (``oak_Color.jpg``,
``oak_Roughness.jpg``, ``oak_NormalGL.jpg``, ``oak_Displacement.jpg``; or Poly Haven's
``oak_diff_1k.jpg``, ``oak_rough_1k.jpg``, ``oak_nor_gl_1k.jpg``). Listing each file as a
texture would offer a normal map as a floor colour, so files are grouped by their base name
and a map suffix; a file without a suffix is a colour map on its own (a user can drop a
plain photo in). ``tile_m`` is how many metres one repeat of the image covers (metadata:
the captions entry or a ``<base>.json`` sidecar); without it 1 m is assumed and said.

Notes, not silence: a texture whose mean colour is neither recorded nor readable keeps a
neutral grey placeholder but ``mean_known`` is False and a note says why, so a colour-based
choice can leave it out instead of being driven by a made-up grey.
Stdlib + numpy only (this runs in Blender's process too).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LibraryError

TEXTURE_DIR = "background_texture_dataset"
CAPTIONS_NAME = "texture_captions.json"
KINDS = ("floor", "wall", "ceiling")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".exr", ".tif", ".tiff")
MAP_KINDS = ("color", "roughness", "normal", "displacement", "ao", "metallic")
DEFAULT_TILE_M = 1.0
# Suffix spellings of the common PBR sets (ambientCG, Poly Haven, Quixel, Substance exports).
_MAP_WORDS = (r"(?P<map>basecolou?r|base_colou?r|albedo|diffuse|diff|colou?r|col|"
              r"roughness|rough|rgh|normal_?gl|nor_?gl|normal_?dx|nor_?dx|normal|nor|nrm|"
              r"displacement|disp|height|ao|ambient_?occlusion|occlusion|metal(?:lic|ness)?)(?:[ _\-.]+\d+k)?$")
_MAP_SUFFIX = re.compile(r"(?i)^(?:(?P<base>.*?)[ _\-.]+)?" + _MAP_WORDS)
_MAP_OF = {"basecolor": "color", "base_color": "color", "basecolour": "color", "base_colour": "color",
           "albedo": "color", "diffuse": "color", "diff": "color", "color": "color", "colour": "color",
           "col": "color", "roughness": "roughness", "rough": "roughness", "rgh": "roughness",
           "displacement": "displacement", "disp": "displacement", "height": "displacement", "ao": "ao",
           "ambientocclusion": "ao", "ambient_occlusion": "ao", "occlusion": "ao"}


@dataclass(frozen=True)
class TextureRecord:
    """One background material set.

    ``path`` is the colour map (absolute); ``maps`` every map of the set by kind (``color``,
    ``roughness``, ``normal``, ``displacement``, ``ao``, ``metallic``); ``normal_convention``
    ``"gl"`` (+Y up, Blender's) or ``"dx"`` (green flipped); ``tile_m`` metres per repeat;
    ``mean_rgb`` sRGB 0..1 (a placeholder when ``mean_known`` is False); ``roughness`` a
    constant used when the set has no roughness map (None: the material's default).
    """

    id: str
    kind: str
    path: Path
    caption: str
    mean_rgb: tuple[float, float, float]
    maps: dict = field(default_factory=dict)
    tile_m: float = DEFAULT_TILE_M
    tile_known: bool = False
    normal_convention: str = "gl"
    roughness: float | None = None
    mean_known: bool = True
    notes: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "path": str(self.path), "caption": self.caption,
                "mean_rgb": list(self.mean_rgb), "maps": {k: str(v) for k, v in self.maps.items()},
                "tile_m": self.tile_m, "tile_known": self.tile_known, "normal_convention": self.normal_convention,
                "roughness": self.roughness, "mean_known": self.mean_known, "notes": list(self.notes)}


def split_map_name(stem: str) -> tuple[str, str]:
    """(base name, map kind) of an image file stem; map kind ``"color"`` when no suffix names one.

    ``oak_NormalGL`` → ("oak", "normal"); ``oak_veneer_rough_1k`` → ("oak_veneer", "roughness");
    ``plain_white`` → ("plain_white", "color"); ``Roughness`` → ("", "roughness") (named by its folder).
    """
    m = _MAP_SUFFIX.match(stem)
    if not m:
        return stem, "color"
    base, word = m.group("base") or "", m.group("map").lower()
    if word.startswith(("normal", "nor", "nrm")):
        return base, "normal_dx" if word.endswith("dx") else "normal"
    if word.startswith("metal"):
        return base, "metallic"
    return base, _MAP_OF.get(word, _MAP_OF.get(word.replace("_", ""), "color"))


def load_textures(library_dir: str | os.PathLike[str]) -> list[TextureRecord]:
    """Every texture set under the folder, with its maps, caption, colour and tile size; sorted by kind then id.

    Images without a caption entry are still listed (caption = their name) so a user can drop
    files in; caption entries without an image are ignored; a map without a colour map in its
    set is ignored. LibraryError when the folder is missing or the captions file is not JSON.
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
        for (parent, base), maps in sorted(_group_sets(folder).items()):
            if "color" not in maps:
                continue
            out.append(_record(root, kind, parent, base, maps, captions))
    return out


def texture_notes(records: list[TextureRecord]) -> list[str]:
    """Every record's notes, one line each (for the run's notes)."""
    return [n for r in records for n in r.notes]


def _group_sets(folder: Path) -> dict[tuple[Path, str], dict[str, Path]]:
    """(folder, base name) → {map kind: file}; the first file wins when two spell the same map."""
    sets: dict[tuple[Path, str], dict[str, Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
            continue
        base, kind = split_map_name(path.stem)
        sets.setdefault((path.parent, base), {}).setdefault(kind, path)
    for key, maps in list(sets.items()):
        if list(maps) == ["metallic"]:  # "brushed_metal.png" alone is a colour image, not a metallic map
            only = maps["metallic"]
            del sets[key]
            sets.setdefault((only.parent, only.stem), {})["color"] = only
    # A set folder whose files carry no base name ("Color.jpg", "Roughness.jpg") is named by the folder.
    return {(p, b or p.name): m for (p, b), m in sets.items()}


def _record(root: Path, kind: str, parent: Path, base: str, maps: dict[str, Path],
            captions: dict[str, dict[str, Any]]) -> TextureRecord:
    colour = maps["color"]
    rel = colour.relative_to(root).as_posix()
    entry = (captions.get(rel) or captions.get(colour.name) or captions.get(colour.stem) or captions.get(base)
             or _sidecar(parent, base) or {})
    ident = str(entry.get("id") or base)
    notes: list[str] = []
    for name, rel_map in dict(entry.get("maps") or {}).items():  # maps named in the metadata win
        p = (root / rel_map) if not Path(rel_map).is_absolute() else Path(rel_map)
        if p.is_file():
            maps[str(name).lower()] = p
        else:
            notes.append(f"texture {ident}: its {name} map {rel_map} is missing; left out.")
    convention = "gl"
    dx = maps.pop("normal_dx", None)
    if dx is not None and "normal" not in maps:  # only a DirectX normal map: use it with green flipped
        maps["normal"], convention = dx, "dx"
    mean, mean_known = entry.get("mean_rgb"), True
    if mean is None:
        mean = _mean_rgb(colour)
        if mean is None:
            mean, mean_known = (0.5, 0.5, 0.5), False
            notes.append(f"texture {ident}: no mean colour recorded and {colour.name} could not be read here; "
                         "it is left out of colour-based choices (record mean_rgb in the captions file).")
    tile = _positive(entry.get("tile_m") or entry.get("size_m") or entry.get("metres_per_tile")
                     or entry.get("dimensions_m"))
    rough = entry.get("roughness")
    caption = str(entry.get("caption") or base.replace("_", " "))
    return TextureRecord(id=ident, kind=kind, path=colour.resolve(), caption=caption,
                         mean_rgb=tuple(float(c) for c in mean[:3]),  # type: ignore[arg-type]
                         maps={k: v.resolve() for k, v in sorted(maps.items()) if k in MAP_KINDS},
                         tile_m=tile or DEFAULT_TILE_M, tile_known=tile is not None, normal_convention=convention,
                         roughness=float(rough) if isinstance(rough, (int, float)) else None,
                         mean_known=mean_known, notes=tuple(notes))


def _positive(value: Any) -> float | None:
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def _sidecar(parent: Path, base: str) -> dict[str, Any] | None:
    """``<base>.json`` beside the set's images (how some sets carry their physical size)."""
    path = parent / f"{base}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


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


def _mean_rgb(path: Path) -> tuple[float, float, float] | None:
    """The image's mean sRGB colour, or None when it cannot be read here (no Pillow, or a broken file)."""
    try:
        from PIL import Image  # not in Blender's bundled Python
        import numpy as np

        with Image.open(path) as img:
            arr = np.asarray(img.convert("RGB").resize((64, 64)), dtype=np.float32) / 255.0
        return tuple(float(c) for c in arr.reshape(-1, 3).mean(axis=0))  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - an unreadable image must not hide the others
        return None


def derive_maps(rgb: Any, *, roughness: float = 0.7, relief: float = 2.0) -> dict[str, Any]:
    """Roughness and normal maps for a colour-only texture (the generated starter library's sets).

    Why: a procedural colour image has no measured maps, but its dark seams and grain are where
    a real surface is recessed, so luminance makes a plausible height field; its gradient (with
    wrap-around, the images tile) gives an OpenGL-convention normal map. Roughness varies
    a little with the same height (seams rougher). Returns float arrays in 0..1:
    ``{"roughness": (H, W), "normal": (H, W, 3)}``.
    """
    import numpy as np

    img = np.asarray(rgb, dtype=np.float64)[..., :3]
    height = img @ np.array([0.2126, 0.7152, 0.0722])
    span = float(np.ptp(height)) or 1.0
    h = (height - height.min()) / span
    dx = (np.roll(h, -1, axis=1) - np.roll(h, 1, axis=1)) * 0.5 * relief
    dy = (np.roll(h, 1, axis=0) - np.roll(h, -1, axis=0)) * 0.5 * relief  # image rows go down; +Y is up
    n = np.stack([-dx, -dy, np.ones_like(h)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    rough = np.clip(roughness + 0.15 * (0.5 - h), 0.0, 1.0)
    return {"roughness": rough, "normal": n * 0.5 + 0.5}
