"""Masks inside a detection box from depth and colour ("depth-aware segmentation").

Used when a detector gives boxes only (local Grounding DINO, a detections file without masks).
No segmentation model is needed: inside the box, pixels that lie on a room plane (floor,
walls) are dropped, depth edges split the rest into smooth regions, the regions at the box's
centre are kept as "probably the object", and OpenCV's GrabCut refines that seed with colour.
This is weaker than a learned segmenter (SAM) on thin structures and on objects pressed
against a same-coloured wall, and it is said so in docs/perception.md.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def segment_in_box(rgb: np.ndarray, depth: np.ndarray, box: tuple[float, float, float, float],
                   plane_distance: np.ndarray | None = None, grabcut_iterations: int = 3,
                   exclude: np.ndarray | None = None) -> np.ndarray:
    """bool (H, W) mask of the object inside ``box``; never empty (falls back to the box's core).

    ``exclude`` marks pixels already given to other (smaller) objects, e.g. a vase on a table:
    depth is continuous where they touch, so only this keeps the vase out of the table's mask.
    """
    h, w = depth.shape
    x0, y0, x1, y1 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1]))), \
        int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    out = np.zeros((h, w), bool)
    if x1 - x0 < 2 or y1 - y0 < 2:
        out[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = True
        return out
    d = depth[y0:y1, x0:x1]
    finite = np.isfinite(d) & (d > 0)
    dz = np.where(finite, d, 0.0).astype(np.float32)
    gy, gx = np.gradient(dz)
    smooth = finite & (np.hypot(gx, gy) < 0.06 * np.maximum(dz, 1e-3))
    if plane_distance is not None:
        pd = plane_distance[y0:y1, x0:x1]
        smooth &= ~(pd < 0.03 + 0.01 * dz)
    taken = exclude[y0:y1, x0:x1] if exclude is not None else np.zeros_like(smooth)
    smooth &= ~taken
    labels, n = ndimage.label(smooth)
    bh, bw = d.shape
    centre = np.zeros_like(smooth)
    centre[bh // 4: max(bh // 4 + 1, 3 * bh // 4), bw // 4: max(bw // 4 + 1, 3 * bw // 4)] = True
    seed = np.zeros_like(smooth)
    if n:
        in_centre = np.bincount(labels[centre].ravel(), minlength=n + 1)[1:]
        sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
        best = int(np.argmax(in_centre))
        if in_centre[best] > 0:
            ref = float(np.median(d[labels == best + 1]))
            for j in np.flatnonzero((in_centre > 0) & (sizes >= 0.2 * sizes[best])):
                if abs(float(np.median(d[labels == j + 1])) - ref) < max(0.3, 0.15 * ref):
                    seed |= labels == j + 1
    if seed.sum() < 0.15 * seed.size:
        # Little stands off the room's planes: a flat thing on a wall or the floor (poster, rug).
        # Depth cannot separate it, so colour alone decides, seeded by the box's centre.
        refined = _grabcut(rgb[y0:y1, x0:x1], centre & ~taken, grabcut_iterations) & ~taken
        out[y0:y1, x0:x1] = refined if refined.sum() >= 0.3 * centre.sum() else centre & ~taken
        return out
    refined = _grabcut(rgb[y0:y1, x0:x1], seed, grabcut_iterations)
    refined &= ~taken
    if plane_distance is not None:
        refined &= ~(plane_distance[y0:y1, x0:x1] < 0.03 + 0.01 * dz)
    if refined.sum() < 0.3 * seed.sum():
        refined = seed
    out[y0:y1, x0:x1] = refined
    return out


def _grabcut(rgb: np.ndarray, seed: np.ndarray, iterations: int) -> np.ndarray:
    """Colour refinement of the depth seed; returns the seed unchanged when GrabCut cannot run."""
    if iterations <= 0 or seed.all() or min(seed.shape) < 8:
        return seed
    import cv2

    mask = np.full(seed.shape, cv2.GC_PR_BGD, np.uint8)
    mask[seed] = cv2.GC_PR_FGD
    core = ndimage.binary_erosion(seed, iterations=2)
    mask[core] = cv2.GC_FGD
    border = np.ones_like(seed)
    border[1:-1, 1:-1] = False
    mask[border & ~seed] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return seed
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
