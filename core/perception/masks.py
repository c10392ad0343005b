"""Mask formats (COCO RLE, PNG), duplicate suppression by mask overlap, and PNG mask files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from .protocols import RawDetection


def decode_rle(rle: Any, height: int, width: int, where: str = "mask") -> np.ndarray:
    """COCO RLE (compressed string or uncompressed list counts, column-major) → bool (H, W)."""
    if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
        raise BadInputError(f"{where} is not a COCO RLE object: {str(rle)[:80]}.",
                            'Give {"size": [height, width], "counts": ...} as written by pycocotools.')
    h, w = (int(v) for v in rle["size"])
    if (h, w) != (height, width):
        raise BadInputError(f"{where} has size {h}x{w} but the image is {height}x{width}.",
                            "Encode masks at the image's own resolution.")
    counts = rle["counts"]
    try:
        if isinstance(counts, list):
            runs = np.asarray(counts, dtype=np.int64)
            if runs.sum() != h * w or (runs < 0).any():
                raise ValueError(f"run lengths sum to {runs.sum()}, expected {h * w}")
            flat = np.repeat(np.arange(len(runs)) % 2 == 1, runs)
            return flat.reshape(w, h).T.copy()
        from pycocotools import mask as coco_mask

        return coco_mask.decode({"size": [h, w], "counts": counts.encode() if isinstance(counts, str) else counts}
                                ).astype(bool)
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"{where} RLE could not be decoded ({exc}).", "Re-encode it with pycocotools.") from None


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
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise BadInputError(f"Mask {path} cannot be read ({exc}).", "Give a PNG path relative to the JSON file.") from None
    arr = np.asarray(img.convert("L"))
    if arr.shape != (height, width):
        raise BadInputError(f"Mask {path.name} is {arr.shape[1]}x{arr.shape[0]}; the image is {width}x{height}.",
                            "Save masks at the image's resolution.")
    return arr > 127


def write_mask_png(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(mask, bool).astype(np.uint8) * 255).save(path)


def box_mask(box: tuple[float, float, float, float], height: int, width: int) -> np.ndarray:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    m = np.zeros((height, width), bool)
    m[max(0, y0):max(0, min(height, y1)), max(0, x0):max(0, min(width, x1))] = True
    return m


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
