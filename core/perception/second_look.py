"""A second look for objects the first detection pass missed.

Why: an open-vocabulary detector run once over a whole room misses things — small ones, half
hidden ones, ones its prompt named badly. Two signals point at what was missed:

* **with a VLM**: its ``missing_labels`` (things it sees that no detection covers) — the detector
  looks again for exactly those labels, over the whole image;
* **without a key**: large regions that are neither a room surface (their depth is not on a floor,
  wall or ceiling plane) nor covered by any detection (:func:`uncovered_regions`) — the detector
  looks again inside each such region's crop, with the full label list.

A new detection is kept when it does not duplicate an existing one (IoU below :data:`DUPLICATE_IOU`);
it comes back in full-image coordinates with a note saying how it was found, and merges into the
scene graph like any other detection.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..geometry.boxes2d import box_iou_2d_one
from .protocols import RawDetection

OFF_PLANE_M = 0.08        # farther than this from every room plane: something stands there
MIN_REGION_FRACTION = 0.015
MAX_REGIONS = 6
CROP_MARGIN = 0.15
DUPLICATE_IOU = 0.5


@dataclass
class SecondLookHit:
    """One detection found on the second look, and why it was looked for."""

    detection: RawDetection
    reason: str

    @property
    def note(self) -> str:
        return f"found on a second look ({self.reason})"


def uncovered_regions(plane_distance: np.ndarray, covered: np.ndarray, *, off_plane_m: float = OFF_PLANE_M,
                      min_fraction: float = MIN_REGION_FRACTION, max_regions: int = MAX_REGIONS) -> list[tuple[int, int, int, int]]:
    """Pixel boxes [x0, y0, x1, y1) of large connected regions off every room plane and under no detection.

    ``plane_distance``: metres from each pixel's 3D point to the nearest room plane (NaN / inf = unknown depth,
    never a region; :func:`core.perception.plane_distance.plane_distance_map`); ``covered``: bool mask of what the detections already explain.
    """
    import cv2

    pd = np.asarray(plane_distance, dtype=np.float32)
    free = np.isfinite(pd) & (pd > off_plane_m)
    free &= ~np.asarray(covered, bool)
    free = cv2.morphologyEx(free.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(free, connectivity=8)
    min_area = min_fraction * free.size
    regions = [(int(s[cv2.CC_STAT_AREA]), (int(s[0]), int(s[1]), int(s[0] + s[2]), int(s[1] + s[3])))
               for s in stats[1:n] if s[cv2.CC_STAT_AREA] >= min_area]
    regions.sort(reverse=True)
    return [r for _, r in regions[:max_regions]]


def _crop_box(region: Sequence[int], w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    mx, my = int((x1 - x0) * CROP_MARGIN), int((y1 - y0) * CROP_MARGIN)
    return max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def _shift(det: RawDetection, crop: Sequence[int], shape: tuple[int, int]) -> RawDetection:
    x0, y0, x1, y1 = crop
    box = (det.box[0] + x0, det.box[1] + y0, det.box[2] + x0, det.box[3] + y0)
    mask = None
    if det.mask is not None:
        mask = np.zeros(shape, bool)
        mask[y0:y1, x0:x1] = det.mask[: y1 - y0, : x1 - x0]
    return RawDetection(det.label, det.score, box, mask, det.mask_source)


def _new(found: list[RawDetection], existing: list[RawDetection]) -> list[RawDetection]:
    out: list[RawDetection] = []
    for d in sorted(found, key=lambda d: -d.score):
        if any(box_iou_2d_one(d.box, e.box) >= DUPLICATE_IOU for e in existing + out):
            continue
        out.append(d)
    return out


def look_again_for_labels(rgb: np.ndarray, detector: Any, missing_labels: Sequence[str], existing: list[RawDetection],
                          **context: Any) -> list[SecondLookHit]:
    """Detect the VLM's ``missing_labels`` over the whole image; new ones only."""
    labels = list(dict.fromkeys(m.strip().lower() for m in missing_labels if m and m.strip()))
    if not labels:
        return []
    found = detector.detect(rgb, labels, **context)
    return [SecondLookHit(d, f"the VLM saw a {d.label} the first pass missed") for d in _new(found, existing)]


def look_again_in_regions(rgb: np.ndarray, detector: Any, labels: Sequence[str], regions: Sequence[Sequence[int]],
                          existing: list[RawDetection], depth: np.ndarray | None = None,
                          **context: Any) -> list[SecondLookHit]:
    """Detect ``labels`` inside each region's crop (with a margin); results in full-image pixels, new ones only."""
    h, w = rgb.shape[:2]
    hits: list[SecondLookHit] = []
    known = list(existing)
    for region in regions:
        crop = _crop_box(region, w, h)
        x0, y0, x1, y1 = crop
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        ctx = dict(context)
        if depth is not None:
            ctx["depth"] = depth[y0:y1, x0:x1]
        found = [_shift(d, crop, (h, w)) for d in detector.detect(np.ascontiguousarray(rgb[y0:y1, x0:x1]),
                                                                  list(labels), **ctx)]
        for d in _new(found, known):
            known.append(d)
            hits.append(SecondLookHit(d, f"an uncovered region {list(region)} off the room's planes"))
    return hits


def second_look(rgb: np.ndarray, detector: Any, labels: Sequence[str], existing: list[RawDetection], *,
                missing_labels: Sequence[str] | None = None, plane_distance: np.ndarray | None = None,
                depth: np.ndarray | None = None, **context: Any) -> list[SecondLookHit]:
    """The VLM's missing labels when it named any; otherwise the uncovered off-plane regions (needs ``plane_distance``)."""
    if missing_labels:
        return look_again_for_labels(rgb, detector, missing_labels, existing, depth=depth, **context)
    if plane_distance is None:
        return []
    covered = np.zeros(rgb.shape[:2], bool)
    for d in existing:
        if d.mask is not None:
            covered |= d.mask
        else:
            x0, y0, x1, y1 = (int(round(v)) for v in d.box)
            covered[max(0, y0):y1, max(0, x0):x1] = True
    regions = uncovered_regions(plane_distance, covered)
    return look_again_in_regions(rgb, detector, labels, regions, existing, depth=depth, **context)
