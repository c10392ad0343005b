"""What perceive reads from the user and writes into its stage files, checked at the boundary.

Kept apart from :mod:`.pipeline` so the pipeline reads as the recipe. Why each check exists:

* input paths are checked (exists, a file, readable) *before* their content is hashed for the
  cache key or the run folder is touched, so a typo gives an error and never a half-done run;
* labels become file names (``masks/<id>.png``) and panel text, so an absurdly long one is an
  input error and ids are capped to a length every file system accepts;
* the detections stage also keeps ``detections_info.json`` (labels chosen, detector notes, second-look
  hits) and the depth stage ``depth_report.json`` (units assumed, pixels removed or filled), so a
  cached rerun reports the same notes without calling a model;
* a mask's origin is recorded truthfully: the depth segmenter quietly falls back to the box's
  centre when it finds nothing, and that must not be reported as a segmentation.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from ..schema import Detection, is_structure_id
from .protocols import RawDetection

MAX_LABEL_CHARS = 80  # object class names; longer text is a sentence or garbage, and becomes a file name
MAX_ID_CHARS = 48
SEGMENTED = "depth-segmentation"
BOX_CENTRE = "box-centre"
WHOLE_BOX = "whole-box"
OPENING_BOX = "opening-box"
DEPTH_REPORT = "depth_report.json"
DETECTIONS_INFO = "detections_info.json"


def input_file(path: str | Path | None, what: str, flag: str) -> Path | None:
    """A file the user named: must exist, be a file and be readable; checked before it is hashed."""
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.exists():
        raise BadInputError(f"The {what} {p} does not exist.", f"Check the {flag} path.")
    if p.is_dir():
        raise BadInputError(f"The {what} {p} is a folder, not a file.", f"Give {flag} the file itself.")
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise BadInputError(f"The {what} {p} cannot be read ({exc.strerror or exc}).",
                            f"Check the file's permissions or give another {flag} file.") from None
    return p


def clean_labels(labels: list[str] | None, default: tuple[str, ...] | list[str]) -> list[str]:
    """The labels to look for: stripped, lower case, each a plausible class name."""
    out = [lab.strip().lower() for lab in (labels or default)
           if isinstance(lab, str) and lab.strip()]
    if not out:
        raise BadInputError("The label list is empty.", "Pass object labels to look for (--labels), or leave them unset.")
    for lab in out:
        if len(lab) > MAX_LABEL_CHARS:
            raise BadInputError(f"A label is {len(lab)} characters long ({lab[:30]!r}…); labels are object class "
                                f"names of at most {MAX_LABEL_CHARS} characters.",
                                "Shorten it to a class name such as 'chair' (--labels).")
    return out


def check_detections(raw: list[RawDetection], source: str, from_file: bool = True) -> None:
    """What any backend returned, before it is used: labels short enough to be names and file names.

    ``from_file``: the detections came from the user's file (the fix is to edit it); else from a
    detector, which only answers with the labels it was asked for (the fix is those labels)."""
    fix = ("Shorten the label to a class name such as 'chair' in the detections file (--detections)." if from_file
           else "Ask the detector for class names such as 'chair' (--labels), or leave the labels unset.")
    for i, d in enumerate(raw):
        if len(d.label) > MAX_LABEL_CHARS:
            raise BadInputError(f"Detection {i} from {source} has a label of {len(d.label)} characters "
                                f"({d.label[:30]!r}…); labels are object class names of at most {MAX_LABEL_CHARS}.",
                                fix)


def object_ids(dets: list[RawDetection]) -> list[str]:
    """Readable, unique ids from labels (``chair_0``), short enough for a file name on every system."""
    counts: dict[str, int] = {}
    ids = []
    for d in dets:
        slug = re.sub(r"[^a-z0-9]+", "_", d.label.lower()).strip("_")[:MAX_ID_CHARS].strip("_") or "object"
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        oid = f"{slug}_{n}"
        ids.append(f"obj_{oid}" if is_structure_id(oid) else oid)
    return ids


def to_detection(d: RawDetection, oid: str) -> Detection:
    return Detection(d.label, min(1.0, max(0.0, float(d.score))), tuple(float(v) for v in d.box),
                     {"png": f"masks/{oid}.png"})


def save_detections_info(path: Path, info: dict[str, Any]) -> None:
    """The detections stage's side file: the labels used and where they came from, the detector's notes,
    and which detections a second look found (by index in detections.json, with the note saying why)."""
    path.write_text(json.dumps(info, indent=1), encoding="utf-8")


def load_detections_info(path: Path) -> dict[str, Any]:
    """Read :func:`save_detections_info` back; a missing or damaged file gives empty fields (its stage is
    hash-checked, so this only matters for folders written by an older version)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        data = {}
    data = data if isinstance(data, dict) else {}
    labels = data.get("labels") if isinstance(data.get("labels"), dict) else {}
    names = [str(v) for v in labels.get("labels", []) if isinstance(v, str)] if isinstance(labels.get("labels"), list) else []
    second = data.get("second_look") if isinstance(data.get("second_look"), dict) else {}
    notes = data.get("detector_notes") if isinstance(data.get("detector_notes"), list) else []
    return {"labels": {**labels, "labels": names},
            "detector_notes": [str(n) for n in notes],
            "second_look": {str(k): str(v) for k, v in second.items()}}


def save_depth_report(path: Path, report: Any) -> None:
    path.write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")


def load_depth_report(path: Path) -> Any:
    """The cached depth stage's report (None when the stage wrote none)."""
    from .depth_io import DepthReport

    if not path.is_file():
        return None
    try:
        return DepthReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None


def segmentation_source(mask: np.ndarray, box: tuple[float, float, float, float], taken: np.ndarray) -> str:
    """Did the depth segmenter (:mod:`.segment`) really segment, or fall back to the box (centre)?

    It returns the box's centre half (minus pixels of smaller objects) when neither depth nor
    colour separated anything, and the whole box when the box is under 2 px; both are guesses.
    The rectangle is rebuilt here exactly as the segmenter builds it.
    """
    h, w = mask.shape
    x0, y0 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x1, y1 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return WHOLE_BOX
    bh, bw = y1 - y0, x1 - x0
    centre = np.zeros((h, w), bool)
    centre[y0 + bh // 4: y0 + max(bh // 4 + 1, 3 * bh // 4), x0 + bw // 4: x0 + max(bw // 4 + 1, 3 * bw // 4)] = True
    return BOX_CENTRE if np.array_equal(mask, centre & ~taken) else SEGMENTED


MASK_NOTES = {
    SEGMENTED: "mask segmented from depth inside the detection box (the detector gave only a box)",
    BOX_CENTRE: "mask guessed: depth segmentation found nothing inside the box, so the box's centre half is used",
    WHOLE_BOX: "mask guessed: the box is under 2 px, so the whole box is used",
    OPENING_BOX: "mask is the detection box (depth seen through a window or door cannot segment it)",
}
