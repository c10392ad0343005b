"""Images a person can inspect in the run folder: depth colour map, masks overlay, planes overlay."""
from __future__ import annotations

from pathlib import Path

import numpy as np

PLANE_COLOURS = {0: (80, 200, 80), 1: (230, 230, 80)}  # floor green, ceiling yellow; walls cycle below
WALL_COLOURS = [(70, 130, 230), (230, 120, 60), (180, 80, 220), (60, 200, 210)]


def _colour(i: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(i * 7919 + 13)
    return tuple(int(c) for c in rng.integers(60, 255, 3))


def save_depth_colour(path: Path, depth: np.ndarray) -> None:
    """Near = warm, far = cool (turbo), unknown depth black; the range is the 2–98 % of valid depth."""
    import cv2

    finite = np.isfinite(depth)
    lo, hi = (np.percentile(depth[finite], [2, 98]) if finite.any() else (0.0, 1.0))
    norm = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1)
    img = cv2.applyColorMap((255 * (1 - np.nan_to_num(norm))).astype(np.uint8), cv2.COLORMAP_TURBO)
    img[~finite] = 0
    cv2.imwrite(str(path), img)


def save_masks_overlay(path: Path, rgb: np.ndarray, objects: list[tuple[str, np.ndarray, tuple]]) -> None:
    """Each (id, mask, box) tinted in its own colour, with its box and id."""
    import cv2

    out = rgb.astype(np.float32).copy()
    for i, (_, mask, _) in enumerate(objects):
        out[mask] = 0.45 * out[mask] + 0.55 * np.array(_colour(i), np.float32)
    out = np.ascontiguousarray(out.astype(np.uint8)[..., ::-1])
    for i, (oid, _, box) in enumerate(objects):
        c = _colour(i)[::-1]
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), c, 1)
        cv2.putText(out, oid, (x0 + 2, max(10, y0 + 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.35, c, 1, cv2.LINE_AA)
    cv2.imwrite(str(path), out)


def save_planes_overlay(path: Path, rgb: np.ndarray, label_map: np.ndarray) -> None:
    """Floor, walls and ceiling pixels tinted (label map upsampled with nearest neighbour)."""
    import cv2

    h, w = rgb.shape[:2]
    labels = cv2.resize(label_map.astype(np.int16), (w, h), interpolation=cv2.INTER_NEAREST)
    out = rgb.astype(np.float32).copy()
    for value in np.unique(labels):
        if value < 0:
            continue
        colour = PLANE_COLOURS.get(int(value)) or WALL_COLOURS[(int(value) - 2) % len(WALL_COLOURS)]
        sel = labels == value
        out[sel] = 0.5 * out[sel] + 0.5 * np.array(colour, np.float32)
    cv2.imwrite(str(path), np.ascontiguousarray(out.astype(np.uint8)[..., ::-1]))
