"""Masked square crops: the one image form every embedder sees.

Why one form: retrieval compares an object cut out of a photo with an asset rendered on
transparent background. Both are reduced to the same thing — a square crop around the mask,
the background replaced by one neutral grey, resized to the embedder's input size — so the
features differ only by what the object looks like, not by framing or background.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError

BACKGROUND = (124, 116, 104)  # the ImageNet mean in 8-bit: "nothing here" for DINOv2


@dataclass
class Crop:
    """A square object crop: ``rgb`` uint8 [S, S, 3] on the neutral background, ``mask`` float32 [S, S] in 0..1.

    ``box`` is the square's pixel box [x0, y0, x1, y1] in the source image (may reach outside it).
    """

    rgb: np.ndarray
    mask: np.ndarray
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def flipped(self) -> "Crop":
        """The mirror image (left-right): used to read views of mirror-symmetric assets both ways."""
        x0, y0, x1, y1 = self.box
        return Crop(np.ascontiguousarray(self.rgb[:, ::-1]), np.ascontiguousarray(self.mask[:, ::-1]), (x0, y0, x1, y1))


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGB [H, W, 3] (alpha dropped)."""
    return read_rgba(path)[..., :3]


def read_rgba(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGBA [H, W, 4]; images without alpha get an opaque one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGBA"))
    except FileNotFoundError:
        raise BadInputError(f"Image {path} does not exist.", "Re-run the stage that writes it.") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise BadInputError(f"Image {path} cannot be read ({exc}).") from None
    return np.ascontiguousarray(arr)


def read_mask(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A mask PNG as bool [H, W]; a mask of another size than ``shape`` is an error (it belongs to another image)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L")) > 127
    except FileNotFoundError:
        raise BadInputError(f"Mask {path} does not exist.", "Re-run perception for this run folder.") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise BadInputError(f"Mask {path} cannot be read ({exc}).", "Re-run perception for this run folder.") from None
    if shape is not None and arr.shape != tuple(shape):
        raise BadInputError(f"Mask {path} is {arr.shape[1]}x{arr.shape[0]} but the image is {shape[1]}x{shape[0]}.",
                            "Re-run perception so masks and image match.")
    return arr


def square_box(mask: np.ndarray, margin: float = 0.08) -> tuple[float, float, float, float]:
    """The square pixel box around the mask's bounding box, with a relative margin."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        raise BadInputError("An object mask is empty.", "Re-run perception; the detection has no mask pixels.")
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return (cx - side / 2.0, cy - side / 2.0, cx + side / 2.0, cy + side / 2.0)


def make_crop(rgb: np.ndarray, mask: np.ndarray, size: int = 224, margin: float = 0.08) -> Crop:
    """Cut the mask's square out of ``rgb`` (uint8 [H, W, 3]) and resize it to ``size``.

    Pixels outside the image count as background; outside the mask the crop is the neutral grey.
    """
    import cv2

    if rgb.shape[:2] != mask.shape[:2]:
        raise BadInputError(f"Image {rgb.shape[:2]} and mask {mask.shape[:2]} differ in size.",
                            "Give the mask of this image.")
    box = square_box(mask, margin)
    x0, y0, x1, y1 = box
    scale = size / (x1 - x0)
    # One affine warp does crop, pad and resize together, with area-like filtering when shrinking.
    m = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]], dtype=np.float64)
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    img = cv2.warpAffine(np.ascontiguousarray(rgb[..., :3]), m, (size, size), flags=interp,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=BACKGROUND)
    msk = cv2.warpAffine(mask.astype(np.float32), m, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    msk = np.clip(msk, 0.0, 1.0)
    bg = np.asarray(BACKGROUND, dtype=np.float32)
    out = img.astype(np.float32) * msk[..., None] + bg * (1.0 - msk[..., None])
    return Crop(np.clip(out + 0.5, 0, 255).astype(np.uint8), msk, box)


def crop_from_rgba(rgba: np.ndarray, size: int = 224, margin: float = 0.08) -> Crop:
    """A template render (RGBA, alpha = mask) as a crop.

    A view that shows nothing (a flat rug seen edge-on) gives an empty crop — all background,
    zero mask — which embeds to zero features and so never matches.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise BadInputError(f"A template render must be RGBA, got shape {rgba.shape}.",
                            "Rebuild the library's derived data (template renders).")
    mask = rgba[..., 3] > 127
    if not mask.any():
        return Crop(np.full((size, size, 3), BACKGROUND, np.uint8), np.zeros((size, size), np.float32))
    return make_crop(rgba[..., :3], mask, size, margin)


def patch_mask(crop_mask: np.ndarray, grid: int) -> np.ndarray:
    """Fraction of each of the grid×grid patches covered by the mask, float32 [grid*grid]."""
    import cv2

    small = cv2.resize(crop_mask.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA)
    return small.reshape(-1)
