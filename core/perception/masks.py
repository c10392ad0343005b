"""Mask formats (COCO RLE, PNG), duplicate suppression by mask overlap, and PNG mask files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from .protocols import RawDetection


MAX_RLE_CHARS = 4_000_000  # a compressed mask longer than this is not a mask of an image we accept


def decode_rle(rle: Any, height: int, width: int, where: str = "mask") -> np.ndarray:
    """COCO RLE (compressed string or uncompressed list counts, column-major) → bool (H, W).

    Everything here comes from outside (a detector's answer, a user's file, a cached stage file),
    so every field is checked and every problem is a :class:`BadInputError` naming ``where``.
    Compressed strings are decoded in Python rather than by pycocotools: its C decoder writes
    past the mask buffer when the run lengths add up to more than H×W, which a malformed answer
    can make it do.
    """
    if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
        raise BadInputError(f"{where} is not a COCO RLE object: {_short(rle)}.",
                            'Give {"size": [height, width], "counts": ...} as written by pycocotools.')
    size = rle["size"]
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
        raise BadInputError(f"{where}.size = {_short(size)} must be two integers [height, width].",
                            "Write the mask's size as [height, width] in pixels.")
    h, w = int(size[0]), int(size[1])
    if (h, w) != (height, width):
        raise BadInputError(f"{where} has size {h}x{w} but the image is {height}x{width}.",
                            "Encode masks at the image's own resolution.")
    counts = rle["counts"]
    try:
        if isinstance(counts, (str, bytes)):
            runs = _counts_from_string(counts)
        elif isinstance(counts, list):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
                raise ValueError("run lengths must be whole numbers")
            runs = counts
        else:
            raise ValueError(f"counts is {type(counts).__name__}, not a list of run lengths or a string")
        if len(runs) > h * w + 1:
            raise ValueError(f"{len(runs)} runs for {h * w} pixels")
        if any(r < 0 or r > h * w for r in runs):
            raise ValueError("a run length is negative or longer than the mask")
        arr = np.asarray(runs, dtype=np.int64)
        if int(arr.sum()) != h * w:
            raise ValueError(f"run lengths sum to {int(arr.sum())}, expected {h * w}")
    except ValueError as exc:
        raise BadInputError(f"{where} RLE could not be decoded ({exc}).", "Re-encode it with pycocotools.") from None
    flat = np.repeat(np.arange(len(arr)) % 2 == 1, arr)
    return flat.reshape(w, h).T.copy()


def _counts_from_string(text: str | bytes) -> list[int]:
    """COCO's compressed counts: 6-bit groups from '0' (48), 5 value bits + a continue bit, sign in bit 4 of
    the last group; from the third run on, each value is a difference to the run two before."""
    data = text.encode("ascii") if isinstance(text, str) else bytes(text)  # UnicodeEncodeError is a ValueError
    if len(data) > MAX_RLE_CHARS:
        raise ValueError(f"the counts string has {len(data)} characters")
    out: list[int] = []
    p = 0
    while p < len(data):
        x, k, more = 0, 0, True
        while more:
            if p >= len(data):
                raise ValueError("the counts string ends in the middle of a number")
            c = data[p] - 48
            if not 0 <= c < 64 or k > 6:
                raise ValueError(f"character {chr(data[p])!r} at {p} is not COCO RLE")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """bool (H, W) → uncompressed COCO RLE (column-major run lengths starting with zeros)."""
    flat = np.asarray(mask, bool).T.ravel()
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(r) for r in runs]}


def read_mask_png(path: Path, height: int, width: int) -> np.ndarray:
    """A mask image at the image's size (> 127 = inside); the size is checked before the pixels are read."""
    from PIL import Image, UnidentifiedImageError

    fix = "Give a PNG path relative to the JSON file."
    try:
        if not path.is_file():  # also keeps devices and FIFOs (which would block a read) out
            raise BadInputError(f"Mask {_short(str(path))} does not exist or is not a file.", fix)
        img = Image.open(path)
        if img.size != (width, height):
            raise BadInputError(f"Mask {_short(path.name)} is {img.size[0]}x{img.size[1]}; the image is "
                                f"{width}x{height}.", "Save masks at the image's resolution.")
        img.load()
        arr = np.asarray(img.convert("L"))
    except BadInputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:  # ValueError: NUL
        raise BadInputError(f"Mask {_short(str(path))} cannot be read ({_short(str(exc))}).", fix) from None
    return arr > 127


def write_mask_png(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(mask, bool).astype(np.uint8) * 255).save(path)


def suppress_duplicates(dets: list[RawDetection], iou: float = 0.6, containment: float = 0.85) -> list[RawDetection]:
    """Greedy by score, across labels: drop a detection whose mask mostly repeats a kept one.

    Open-vocabulary detectors often fire twice on one object under two names ("sofa" and
    "couch"); the higher-scoring name wins. Containment (overlap / smaller area) catches a
    second box drawn around half an object, but only between masks of similar size, so a pillow
    lying inside a bed's mask survives.
    """
    kept: list[RawDetection] = []
    for det in sorted(dets, key=lambda d: -d.score):
        m = det.mask if det.mask is not None else None
        duplicate = False
        for other in kept:
            a, b = m, other.mask
            if a is None or b is None:
                continue
            inter = np.logical_and(a, b).sum()
            if inter == 0:
                continue
            area_a, area_b = a.sum(), b.sum()
            similar = min(area_a, area_b) >= 0.5 * max(area_a, area_b)
            if inter / (area_a + area_b - inter) > iou or (similar and inter / max(1, min(area_a, area_b)) > containment):
                duplicate = True
                break
        if not duplicate:
            kept.append(det)
    return kept
