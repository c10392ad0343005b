"""Bring-your-own detections: a JSON list of ``{"label", "box": [x0, y0, x1, y1], "score", "mask"?}``.

``mask`` is optional: a PNG path (relative to the JSON file) or a COCO RLE object. Boxes are
in pixels of the image. Detections without a mask are segmented inside their box like the
local detector's (see :mod:`core.perception.segment`).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from .masks import decode_rle, read_mask_png
from .protocols import RawDetection

_FIX = ('Write a JSON list like [{"label": "chair", "box": [x0, y0, x1, y1], "score": 0.9, '
        '"mask": "masks/chair.png"}] with boxes in image pixels.')


def load_detections(path: str | Path, height: int, width: int) -> list[RawDetection]:
    """Read and validate the file; every problem names the entry and field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"Detections file {path} does not exist.", "Check the --detections path.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"Detections file {path.name} is not valid JSON ({exc}).", _FIX) from None
    if isinstance(data, dict) and isinstance(data.get("detections"), list):
        data = data["detections"]
    if not isinstance(data, list):
        raise BadInputError(f"Detections file {path.name} must hold a JSON list, not {type(data).__name__}.", _FIX)
    out = []
    for i, entry in enumerate(data):
        out.append(_entry(entry, f"{path.name}[{i}]", path.parent, height, width))
    return out


class FileDetections:
    """The :class:`~core.perception.protocols.DetectionBackend` view of a detections file."""

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def detect(self, rgb: np.ndarray, labels: list[str], **context: Any) -> list[RawDetection]:
        return load_detections(self.path, rgb.shape[0], rgb.shape[1])


def _entry(entry: Any, where: str, base: Path, height: int, width: int) -> RawDetection:
    if not isinstance(entry, dict):
        raise BadInputError(f"{where} is {type(entry).__name__}, not an object.", _FIX)
    label = entry.get("label")
    if not isinstance(label, str) or not label.strip():
        raise BadInputError(f"{where}.label = {label!r} must be a non-empty string.", _FIX)
    score = entry.get("score", 1.0)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= float(score) <= 1.0:
        raise BadInputError(f"{where}.score = {score!r} must be a number in [0, 1].", _FIX)
    box = entry.get("box")
    if (not isinstance(box, (list, tuple)) or len(box) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box)):
        raise BadInputError(f"{where}.box = {box!r} must be four numbers [x0, y0, x1, y1].", _FIX)
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise BadInputError(f"{where}.box = {box!r} is empty or outside the {width}x{height} image.",
                            "Boxes are [x0, y0, x1, y1] in pixels with x1 > x0 and y1 > y0.")
    mask = None
    raw = entry.get("mask")
    if isinstance(raw, str):
        mask = read_mask_png((base / raw) if not Path(raw).is_absolute() else Path(raw), height, width)
    elif isinstance(raw, dict):
        mask = decode_rle(raw, height, width, f"{where}.mask")
    elif raw is not None:
        raise BadInputError(f"{where}.mask must be a PNG path or a COCO RLE object.", _FIX)
    if mask is not None and not mask.any():
        raise BadInputError(f"{where}.mask is empty.", "Remove the mask (it will be segmented) or fix it.")
    return RawDetection(label.strip().lower(), float(score), (x0, y0, x1, y1), mask, "file" if mask is not None else "")
