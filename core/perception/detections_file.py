"""Detections from files: the user's own (``--detections``) and the pipeline's cached stage file.

User file: a JSON list of ``{"label", "box": [x0, y0, x1, y1], "score", "mask"?}`` (or
``{"detections": [...]}``). ``mask`` is optional: a PNG path (relative to the JSON file) or a
COCO RLE object. Boxes are in pixels of the image. Detections without a mask are segmented
inside their box like the local detector's (see :mod:`core.perception.segment`).

Both files come from outside the process, so nothing in them is trusted: every field is
checked, and every problem is a :class:`BadInputError` that names the entry and the field —
never a ``KeyError`` or a ``RecursionError`` from deep inside. :func:`check_box` is shared with
the cloud detector, whose answers get the same box rules.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..errors import BadInputError, ImaginariumError
from .masks import decode_rle, encode_rle, read_mask_png
from .protocols import RawDetection

_FIX = ('Write a JSON list like [{"label": "chair", "box": [x0, y0, x1, y1], "score": 0.9, '
        '"mask": "masks/chair.png"}] with boxes in image pixels.')
CACHE_FIX = "Run perceive again with --clean (or delete the named file): the cached stage file is damaged."
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DETECTIONS = 1000
MAX_LABEL_CHARS = 80  # labels become object ids and mask file names (same limit as stage_files.MAX_LABEL_CHARS)
BOX_SLACK = 0.05  # a box may reach this fraction of the image size (+2 px) past an edge; it is clipped


def load_detections(path: str | Path, height: int, width: int) -> list[RawDetection]:
    """Read and validate the user's file; every problem names the entry and field."""
    path = Path(path)
    data = _read_json_file(path, "Detections file", "Check the --detections path.", _FIX)
    if isinstance(data, dict) and isinstance(data.get("detections"), list):
        data = data["detections"]
    if not isinstance(data, list):
        raise BadInputError(f"Detections file {_name(path)} must hold a JSON list, not {type(data).__name__}.", _FIX)
    _check_count(data, path, _FIX)
    return [_entry(entry, f"{_name(path)}[{i}]", path.parent, height, width) for i, entry in enumerate(data)]


def save_cached_detections(path: Path, dets: list[RawDetection], backend: str) -> None:
    """The detections stage's cache file: label, score, box, mask as uncompressed RLE (or null), mask source."""
    data = {"backend": backend, "detections": [
        {"label": d.label, "score": float(d.score), "box": [float(v) for v in d.box], "mask_source": d.mask_source,
         "mask": encode_rle(d.mask) if d.mask is not None else None} for d in dets]}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


def load_cached_detections(path: str | Path, height: int, width: int) -> tuple[list[RawDetection], str]:
    """Read back :func:`save_cached_detections`: (detections, backend name), checked like a user's file.

    A damaged cache (edited by hand, truncated by a crash, written for another image) raises
    :class:`BadInputError` with :data:`CACHE_FIX`; the caller may instead recompute the stage.
    """
    path = Path(path)
    data = _read_json_file(path, "Cached detections", CACHE_FIX, CACHE_FIX)
    if not isinstance(data, dict) or not isinstance(data.get("detections"), list):
        raise BadInputError(f"Cached detections {_name(path)} must be an object with a 'detections' list.", CACHE_FIX)
    backend = data.get("backend", "cached")
    if not isinstance(backend, str) or not backend or len(backend) > 40:
        raise BadInputError(f"Cached detections {_name(path)}: backend = {_short(backend)} is not a backend name.",
                            CACHE_FIX)
    _check_count(data["detections"], path, CACHE_FIX)
    out = []
    for i, entry in enumerate(data["detections"]):
        where = f"{_name(path)}[{i}]"
        try:
            if isinstance(entry, dict) and entry.get("mask") is not None and not isinstance(entry["mask"], dict):
                raise BadInputError(f"{where}.mask must be a COCO RLE object or null.", CACHE_FIX)
            det = _entry(entry, where, path.parent, height, width)
        except BadInputError as exc:
            raise BadInputError(exc.message, CACHE_FIX) from None
        source = entry.get("mask_source", "")
        if not isinstance(source, str) or len(source) > 40:
            raise BadInputError(f"{where}.mask_source = {_short(source)} is not a mask source name.", CACHE_FIX)
        det.mask_source = source
        out.append(det)
    return out, backend


class FileDetections:
    """The :class:`~core.perception.protocols.DetectionBackend` view of a detections file."""

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def detect(self, rgb: np.ndarray, labels: list[str], **context: Any) -> list[RawDetection]:
        return load_detections(self.path, rgb.shape[0], rgb.shape[1])


def check_box(box: Any, where: str, height: int, width: int, error: type[ImaginariumError] = BadInputError,
              fix: str = _FIX, sliver_ok: bool = False) -> tuple[float, float, float, float] | None:
    """Four finite numbers with x1 > x0, y1 > y0, inside the image up to a small slack (then clipped).

    ``sliver_ok``: a well-formed box with under one pixel inside the image gives None instead of
    an error (a detector's sliver at the border is not a broken answer).

    A box far outside the image is an error, not something to clip: it usually means the boxes
    were made for another image size, and clipping would silently invent a box at the border.
    """
    values = []
    if isinstance(box, (list, tuple)) and len(box) == 4:
        for v in box:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                break
            try:
                f = float(v)
            except OverflowError:  # a JSON integer with hundreds of digits
                break
            if not math.isfinite(f):
                break
            values.append(f)
    if len(values) != 4:
        raise error(f"{where}.box = {_short(box)} must be four finite numbers [x0, y0, x1, y1].", fix)
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise error(f"{where}.box = {_short(box)} is empty or inverted (needs x1 > x0 and y1 > y0).", fix)
    sx, sy = BOX_SLACK * width + 2, BOX_SLACK * height + 2
    if x0 < -sx or y0 < -sy or x1 > width + sx or y1 > height + sy:
        raise error(f"{where}.box = {_short(box)} reaches outside the {width}x{height} image.",
                    "Give boxes in pixels of this image; were they made for an image of another size?")
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        if sliver_ok:
            return None
        raise error(f"{where}.box = {_short(box)} has less than one pixel inside the {width}x{height} image.",
                    "Boxes are [x0, y0, x1, y1] in pixels with x1 > x0 and y1 > y0.")
    return x0, y0, x1, y1


def check_label(label: Any, where: str, error: type[ImaginariumError] = BadInputError, fix: str = _FIX) -> str:
    """A category name: a non-empty printable string of at most MAX_LABEL_CHARS characters, lower-cased."""
    if not isinstance(label, str) or not label.strip():
        raise error(f"{where}.label = {_short(repr(label))} must be a non-empty string.", fix)
    text = label.strip()
    if len(text) > MAX_LABEL_CHARS:
        raise error(f"{where}.label is {len(text)} characters long (at most {MAX_LABEL_CHARS}): {_short(text)}.",
                    "Use a short category name such as 'chair'.")
    if not text.isprintable():
        raise error(f"{where}.label = {_short(repr(text))} contains control characters.", fix)
    return text.lower()


def check_score(score: Any, where: str, error: type[ImaginariumError] = BadInputError, fix: str = _FIX) -> float:
    ok = isinstance(score, (int, float)) and not isinstance(score, bool)
    try:
        value = float(score) if ok else math.nan
    except OverflowError:
        value = math.nan
    if not (0.0 <= value <= 1.0):  # also false for NaN
        raise error(f"{where}.score = {_short(score)} must be a number in [0, 1].", fix)
    return value


def _entry(entry: Any, where: str, base: Path, height: int, width: int) -> RawDetection:
    if not isinstance(entry, dict):
        raise BadInputError(f"{where} is {type(entry).__name__}, not an object.", _FIX)
    label = check_label(entry.get("label"), where)
    score = check_score(entry.get("score", 1.0), where)
    box = cast(tuple, check_box(entry.get("box"), where, height, width))  # never None: sliver_ok is off
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
    return RawDetection(label, score, box, mask, "file" if mask is not None else "")


def _read_json_file(path: Path, what: str, missing_fix: str, fix: str) -> Any:
    try:
        if not path.is_file():
            raise BadInputError(f"{what} {_short(str(path))} does not exist or is not a file.", missing_fix)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadInputError(f"{what} {_name(path)} is larger than {MAX_FILE_BYTES >> 20} MiB.", fix)
        return json.loads(path.read_text(encoding="utf-8"))
    except BadInputError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{what} {_name(path)} is not valid JSON ({_short(str(exc))}).", fix) from None
    except RecursionError:
        raise BadInputError(f"{what} {_name(path)} is nested too deeply to be detections.", fix) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise BadInputError(f"{what} {_name(path)} is not usable JSON ({_short(str(exc))}).", fix) from None
    except OSError as exc:  # unreadable, a name too long
        raise BadInputError(f"{what} {_short(str(path))} cannot be read ({_short(str(exc))}).", missing_fix) from None


def _check_count(entries: list, path: Path, fix: str) -> None:
    if len(entries) > MAX_DETECTIONS:
        raise BadInputError(f"{_name(path)} holds {len(entries)} detections; at most {MAX_DETECTIONS} are used.",
                            fix)


def _name(path: Path) -> str:
    return _short(path.name)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
