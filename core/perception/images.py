"""Loading the user's image, with an error that says what to do for every bad input.

A depth map the user brings is read by :mod:`.depth_io` (units detected and reported).

Images must be 8-bit colour: the depth and detection models were trained on 8-bit RGB, and a
silent conversion (16-bit → 8-bit, grey → RGB, transparency → black) changes what they see
without the user knowing. Fully opaque RGBA (screenshots) is accepted and its alpha dropped.
EXIF orientation is applied so pixels match what a viewer shows, and the EXIF focal length is
returned for the camera model.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from ..runfolder import sha256_file

MAX_SIDE = 4096  # larger images only cost time and memory: models run at ~518–1333 px anyway
MIN_SIDE = 32
_FIX_RGB = "Re-export it as an 8-bit RGB PNG or JPEG."


@dataclass
class LoadedImage:
    """RGB pixels (H, W, 3) uint8, the file's content hash and EXIF numbers for the camera."""

    path: Path
    rgb: np.ndarray
    sha256: str
    exif: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def load_image(path: str | Path, max_side: int = MAX_SIDE) -> LoadedImage:
    """Read an 8-bit RGB image (PNG, JPEG, WebP, …) or raise :class:`BadInputError` naming the problem."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path).expanduser()
    if path.is_dir():
        raise BadInputError(f"Image {path} is a folder, not an image file.", "Give the image file's path.")
    if not path.is_file():
        raise BadInputError(f"Image {path} does not exist.", "Check the path and try again.")
    size = path.stat().st_size
    if size == 0:
        raise BadInputError(f"Image {path} is empty (0 bytes).", "The file was not written completely; export it again.")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between ~89 and ~179 Mpx and raises above; both are far past MAX_SIDE.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInputError(f"Image {path.name} is too large to open safely ({_pixels(exc)}); the largest side "
                            f"allowed is {max_side} px.",
                            f"Downscale it so the longer side is at most {max_side} px (models work at ~1 k px).") \
            from None
    except UnidentifiedImageError:
        head = path.read_bytes()[:64]
        kind = "text" if _looks_like_text(head) else "data"
        raise BadInputError(f"{path} is not an image: it holds {kind}, not a picture format PIL can read "
                            f"(starts with {head[:16]!r}).", _FIX_RGB) from None
    except OSError as exc:
        raise BadInputError(f"{path} could not be opened as an image ({exc}).", _FIX_RGB) from None
    w, h = img.size
    if max(w, h) > max_side:
        raise BadInputError(f"Image {path.name} is {w}x{h}; the largest side allowed is {max_side} px.",
                            f"Downscale it so the longer side is at most {max_side} px (models work at ~1 k px).")
    if min(w, h) < MIN_SIDE:
        raise BadInputError(f"Image {path.name} is only {w}x{h} px.", f"Use an image at least {MIN_SIDE} px per side.")
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F") or _png_bit_depth(path) == 16:
        raise BadInputError(f"Image {path.name} has 16-bit or float pixels (mode {mode}); the models need 8-bit "
                            "colour.",
                            "Convert it to 8-bit RGB; if it is a depth map, pass it with --depth instead.")
    if mode in ("L", "LA", "1"):
        raise BadInputError(f"Image {path.name} is greyscale (mode {mode}); the models need colour.",
                            "Convert it to RGB (e.g. Image.convert('RGB')) if greyscale is really intended.")
    try:
        img.load()
        exif = _exif_numbers(img)
        img = ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"Image {path.name} is corrupt or truncated ({exc}).",
                            "Export or download it again; the file is incomplete.") from None
    if img.mode in ("RGBA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"))
        if (rgba[..., 3] < 255).any():
            raise BadInputError(f"Image {path.name} has transparent pixels ({int((rgba[..., 3] < 255).sum())}); "
                                "they have no colour to perceive.", "Flatten it onto a background and save as RGB.")
        rgb = np.ascontiguousarray(rgba[..., :3])
    elif img.mode in ("RGB", "P", "CMYK", "YCbCr"):
        rgb = np.asarray(img.convert("RGB"))
    else:
        raise BadInputError(f"Image {path.name} has pixel mode {img.mode}, which is not colour.", _FIX_RGB)
    return LoadedImage(path, np.ascontiguousarray(rgb, dtype=np.uint8), sha256_file(path), exif)


def _pixels(exc: Exception) -> str:
    """Pillow's bomb message holds the pixel count; say it in megapixels."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    return f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "a decompression-bomb size"


def _png_bit_depth(path: Path) -> int | None:
    """PIL quietly reads 16-bit RGB(A) PNGs as 8-bit; the IHDR chunk says what the file really holds."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or len(head) < 25:
        return None
    return head[24]


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _exif_numbers(img: Any) -> dict[str, Any]:
    """FocalLengthIn35mmFilm, FocalLength and the focal-plane resolution, as plain floats (mm)."""
    try:
        exif = img.getexif()
        sub = exif.get_ifd(0x8769)
    except Exception:  # noqa: BLE001 - malformed EXIF must not stop perception; we fall back to defaults
        return {}
    out: dict[str, Any] = {}
    for key, tag in (("focal_35mm", 0xA405), ("focal_mm", 0x920A), ("focal_plane_x_res", 0xA20E)):
        value = sub.get(tag, exif.get(tag))
        if value is not None:
            try:
                out[key] = float(value)
            except (TypeError, ValueError, ZeroDivisionError):
                pass
    unit = sub.get(0xA210, exif.get(0xA210))
    if unit is not None:
        out["focal_plane_unit_mm"] = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}.get(int(unit), None)
    return out
