"""Masks inside detection boxes from depth ("depth-aware segmentation"), all boxes competing at once.

Used when a detector gives boxes only (local Grounding DINO, a detections file without masks).
No segmentation model is needed, and real photos taught us why the rules are these:

1. **Room pixels out**: pixels on a room plane (floor, walls) are never object; without this
   every piece of furniture is joined to every other through the floor.
2. **Depth regions over the whole image**: 4-connected pixels with no depth jump between them
   (a jump is more than max(6 cm, 4 % of the depth)). Holes and sparse depth (a 50k-point
   sample of a Kinect frame) are bridged by the nearest valid depth for this step only.
3. **Regions compete for boxes**: a detection box is the tight box of what is visible of its
   object, so a region that lies (≥ 85 %) inside a box belongs to it — to the *smallest* such box
   when several hold it (a dresser inside the bed's box is the dresser's). A region that spills
   out of every box is background (a wall remnant, an undetected chest) unless boxes hold most
   of it; then each of its pixels goes to the box holding most of the region (a mattress seen
   through the dresser's box belongs to the bed, not to the dresser).
4. A small box inside a bigger object's box whose object touches it without a depth jump (a
   vase on a table) takes the pixels that rise off the bigger object's surface around it.
5. Only when that leaves almost nothing (a flat poster or rug on a plane) does colour decide:
   OpenCV's GrabCut seeded by the box's centre.

This is weaker than a learned segmenter (SAM) on thin structures and on objects pressed
against a same-coloured wall; docs/perception.md says so.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

Box = Sequence[float]
HOLD = 0.85          # a region this much inside one box is that box's object
BACKGROUND = 0.5     # a region less than this much inside the boxes is background
MIN_REGION_PX = 20
SILHOUETTE_TAN = 8.0  # a surface seen more steeply than atan(8) ≈ 83° from face-on is a silhouette edge


def segment_in_box(rgb: np.ndarray, depth: np.ndarray, box: Box, plane_distance: np.ndarray | None = None,
                   grabcut_iterations: int = 3, exclude: np.ndarray | None = None, *,
                   others: Sequence[Box] | None = None, focal_px: float | None = None) -> np.ndarray:
    """bool (H, W) mask of the object inside ``box``; never empty (falls back to the box's core).

    ``exclude`` marks pixels already given to other (smaller) objects, e.g. a vase on a table.
    ``others`` are the other detections' boxes: with them, regions are shared out fairly (see the
    module docstring); without them this box keeps every region that lies mostly inside it.
    """
    boxes = [tuple(box)] + [tuple(b) for b in (others or [])]
    return segment_boxes(rgb, depth, boxes, plane_distance, grabcut_iterations, exclude=exclude, focal_px=focal_px)[0]


def segment_boxes(rgb: np.ndarray, depth: np.ndarray, boxes: Sequence[Box], plane_distance: np.ndarray | None = None,
                  grabcut_iterations: int = 3, *, exclude: np.ndarray | None = None,
                  focal_px: float | None = None) -> list[np.ndarray]:
    """One mask per box, from one shared set of depth regions (pixels go to at most one box).

    ``focal_px`` (the camera's focal length in pixels of the depth map) sets how steep a surface may
    be before it counts as a silhouette edge; unknown, a 60° horizontal field of view is assumed.
    """
    h, w = depth.shape
    labels, n = depth_regions(depth, plane_distance, exclude, focal_px)
    rects = [_rect(b, w, h) for b in boxes]
    total = np.bincount(labels.ravel(), minlength=n + 1).astype(float)
    inside = np.zeros((n + 1, len(rects)))
    for j, (x0, y0, x1, y1) in enumerate(rects):
        inside[:, j] = np.bincount(labels[y0:y1, x0:x1].ravel(), minlength=n + 1)
    frac = inside / np.maximum(total[:, None], 1.0)
    frac[0] = 0.0
    area = np.array([max(1, (x1 - x0) * (y1 - y0)) for x0, y0, x1, y1 in rects], float)
    in_any = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in rects:
        in_any[y0:y1, x0:x1] = True
    union = np.bincount(labels[in_any].ravel(), minlength=n + 1) / np.maximum(total, 1.0)
    # Per region: the owner box when one box holds it (smallest such box), else -1 (split) / -2 (background).
    owner = np.full(n + 1, -2, int)
    for c in range(1, n + 1):
        if total[c] < MIN_REGION_PX:
            continue
        holders = np.flatnonzero(frac[c] >= HOLD)
        if len(holders):
            owner[c] = int(holders[np.argmin(area[holders])])
        elif union[c] >= BACKGROUND:
            owner[c] = -1
    masks = []
    for j, (x0, y0, x1, y1) in enumerate(rects):
        sub = labels[y0:y1, x0:x1]
        own = owner[sub] == j
        split = owner[sub] == -1
        if split.any():  # pixels of shared regions: to the box that holds most of their region
            fr = frac[sub, j]
            best = split & (fr > 0)
            yy, xx = np.mgrid[y0:y1, x0:x1]
            for k, (a0, b0, a1, b1) in enumerate(rects):
                if k == j:
                    continue
                in_k = (xx >= a0) & (xx < a1) & (yy >= b0) & (yy < b1)
                beaten = in_k & ((frac[sub, k] > fr) | ((frac[sub, k] == fr) & (area[k] < area[j])))
                best &= ~beaten
            own |= best
        mask = np.zeros((h, w), bool)
        mask[y0:y1, x0:x1] = own
        masks.append(mask)
    owned = owner[labels]  # per pixel: the box owning its region (-1 shared, -2 none)
    for j in np.argsort(area):  # small boxes first: a vase on a table, a book on a shelf
        _carve_nested(masks, rects, int(j), depth, owned)
    for j, (x0, y0, x1, y1) in enumerate(rects):
        masks[j][y0:y1, x0:x1] = _fill_depthless_holes(masks[j][y0:y1, x0:x1], depth[y0:y1, x0:x1])
    for j, rect in enumerate(rects):
        others = np.zeros((h, w), bool)
        for i, m in enumerate(masks):
            if i != j:
                others |= m
        _adopt_depthless(masks[j], rect, depth, others)
        if masks[j].sum() < 0.04 * (x1 - x0) * (y1 - y0):
            masks[j] = _flat_fallback(rgb, plane_distance, (x0, y0, x1, y1), exclude, grabcut_iterations, depth)
    return masks


def depth_regions(depth: np.ndarray, plane_distance: np.ndarray | None = None,
                  exclude: np.ndarray | None = None, focal_px: float | None = None) -> tuple[np.ndarray, int]:
    """Label image of smooth depth regions off the room's planes (0 = none) and their count."""
    focal = float(focal_px) if focal_px else 0.87 * depth.shape[1]  # 60° horizontal field of view
    valid = np.isfinite(depth) & (depth > 1e-3)
    if not valid.any():
        return np.zeros(depth.shape, np.int32), 0
    sparse = valid.mean() < 0.5
    dist, idx = ndimage.distance_transform_edt(~valid, return_indices=True)
    filled = depth[idx[0], idx[1]].astype(np.float32)
    usable = valid | (dist <= (np.inf if sparse else 12.0))
    if plane_distance is not None:
        pd = plane_distance[idx[0], idx[1]]
        usable &= ~(np.isfinite(pd) & (pd < 0.03 + 0.01 * filled))
    if exclude is not None:
        usable &= ~np.asarray(exclude, bool)
    jump = lambda a, b: np.abs(a - b) > np.maximum(0.06, 0.04 * np.minimum(a, b))  # noqa: E731
    cut = np.zeros(depth.shape, bool)
    jx = jump(filled[:, 1:], filled[:, :-1])
    far_right = filled[:, 1:] > filled[:, :-1]  # the farther pixel of a jump is the boundary
    cut[:, 1:] |= jx & far_right
    cut[:, :-1] |= jx & ~far_right
    jy = jump(filled[1:, :], filled[:-1, :])
    far_down = filled[1:, :] > filled[:-1, :]
    cut[1:, :] |= jy & far_down
    cut[:-1, :] |= jy & ~far_down
    # Smoothed or predicted depth turns edges into steep ramps instead of jumps: a surface seen
    # more steeply than ~83° from face-on (depth change per pixel > tan 83° × depth / focal) is a
    # silhouette edge, not a surface to grow through.
    gy, gx = np.gradient(filled)
    cut |= np.hypot(gx, gy) > SILHOUETTE_TAN / focal * filled
    body = usable & ~cut
    core = ndimage.binary_erosion(body, iterations=1)  # one-pixel bridges between objects break here
    labels, n = ndimage.label(core)
    if n:
        _, near = ndimage.distance_transform_edt(labels == 0, return_indices=True)
        grown = labels[near[0], near[1]]
        labels = np.where(body & (labels == 0), grown, labels)
        labels[~body] = 0
    return labels.astype(np.int32), int(n)


def _carve_nested(masks: list[np.ndarray], rects: list[tuple[int, int, int, int]], j: int, depth: np.ndarray,
                  owned: np.ndarray) -> None:
    """Give a small box the part of a bigger object's region that rises off that object's surface.

    A vase stands on a table with no depth jump where they touch, so both are one region and the
    table's box takes it. Around the small box, the region is the table's top: a plane, and the
    inverse depth of a plane is affine in the pixel coordinates. Inside the small box, the pixels
    that leave that plane (by more than max(2 cm, 1 %)) are the small object's.
    """
    x0, y0, x1, y1 = rects[j]
    box_area = (x1 - x0) * (y1 - y0)
    if masks[j][y0:y1, x0:x1].sum() >= 0.1 * box_area:  # only an object swallowed whole by a bigger region
        return
    for i, (a0, b0, a1, b1) in enumerate(rects):
        if i == j or (a1 - a0) * (b1 - b0) <= box_area:
            continue
        overlap = max(0, min(x1, a1) - max(x0, a0)) * max(0, min(y1, b1) - max(y0, b0))
        inside = owned[y0:y1, x0:x1] == i  # the bigger object's region, also where it leaves its own box
        if overlap < 0.5 * box_area or inside.sum() < 0.2 * box_area:
            continue
        pad = max(3, int(0.3 * max(x1 - x0, y1 - y0)))
        r0, r1, c0, c1 = max(0, y0 - pad), min(depth.shape[0], y1 + pad), max(0, x0 - pad), min(depth.shape[1], x1 + pad)
        ring = np.zeros(depth.shape, bool)
        ring[r0:r1, c0:c1] = True
        ring[y0:y1, x0:x1] = False
        ring &= (owned == i) & np.isfinite(depth) & (depth > 1e-3)
        if ring.sum() < 30:
            continue
        plane = _inverse_depth_plane(np.nonzero(ring), depth[ring])
        if plane is None:
            continue
        vs, us = np.mgrid[y0:y1, x0:x1]
        expected = 1.0 / np.maximum(plane[0] * us + plane[1] * vs + plane[2], 1e-6)
        z = depth[y0:y1, x0:x1]
        off = inside & np.isfinite(z) & (np.abs(z - expected) > np.maximum(0.02, 0.01 * z))
        if off.sum() >= 0.1 * box_area:
            masks[j][y0:y1, x0:x1] |= off
            masks[i][y0:y1, x0:x1] &= ~off
            return


def _inverse_depth_plane(pix: tuple[np.ndarray, np.ndarray], z: np.ndarray) -> np.ndarray | None:
    """Least squares 1/z = a·u + b·v + c, refit on the best 70 %; None when the ring is not one plane."""
    vs, us = pix
    a = np.stack([us, vs, np.ones_like(us)], axis=1).astype(np.float64)
    y = 1.0 / z.astype(np.float64)
    use = np.ones(len(y), bool)
    coef = None
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(a[use], y[use], rcond=None)
        res = np.abs(a @ coef - y)
        use = res <= np.percentile(res, 70)
    fit_z = 1.0 / np.maximum(a[use] @ coef, 1e-6)
    if np.median(np.abs(fit_z - z[use])) > max(0.01, 0.005 * float(np.median(z))):
        return None
    return coef


def _rect(box: Box, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x1, y1 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _fill_depthless_holes(mask: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Holes in the mask where the sensor gave no depth (black leather, glass) are the object too."""
    if not mask.any():
        return mask
    filled = ndimage.binary_fill_holes(mask)
    no_depth = ~(np.isfinite(depth) & (depth > 1e-3))
    return mask | (filled & no_depth)


def _adopt_depthless(mask: np.ndarray, rect: tuple[int, int, int, int], depth: np.ndarray,
                     others: np.ndarray) -> None:
    """Add the box's sizeable no-depth patches that border mostly on this object (a black headboard).

    Black leather, glass and dark lacquer return no depth, so no region holds them, yet they are
    the object and show how far it reaches. A patch is adopted when ≥ 35 % of its rim is this
    object's mask and ≤ 15 % another object's (the rest is room or image border); a window or a
    mirror in the wall behind borders mostly on the wall and stays out.
    """
    x0, y0, x1, y1 = rect
    if not mask[y0:y1, x0:x1].any():
        return
    z = depth[y0:y1, x0:x1]
    holes = ~(np.isfinite(z) & (z > 1e-3))
    labels, n = ndimage.label(holes)
    if not n:
        return
    sub, other = mask[y0:y1, x0:x1], others[y0:y1, x0:x1]
    min_px = max(MIN_REGION_PX, 0.005 * holes.size)
    for c, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        grown = tuple(slice(max(0, a.start - 2), a.stop + 2) for a in sl)
        comp = labels[grown] == c
        if comp.sum() < min_px:
            continue
        rim = ndimage.binary_dilation(comp, iterations=2) & ~comp
        if not rim.any():
            continue
        mine, theirs = sub[grown][rim].mean(), other[grown][rim].mean()
        if mine >= 0.35 and theirs <= 0.15:
            view = sub[grown]
            view |= comp


def _flat_fallback(rgb: np.ndarray, plane_distance: np.ndarray | None, rect: tuple[int, int, int, int],
                   exclude: np.ndarray | None, iterations: int, depth: np.ndarray) -> np.ndarray:
    """Little stands off the room's planes (a poster, a rug): colour decides, seeded by the box's centre."""
    h, w = depth.shape
    x0, y0, x1, y1 = rect
    out = np.zeros((h, w), bool)
    bh, bw = y1 - y0, x1 - x0
    centre = np.zeros((bh, bw), bool)
    centre[bh // 4: max(bh // 4 + 1, 3 * bh // 4), bw // 4: max(bw // 4 + 1, 3 * bw // 4)] = True
    taken = exclude[y0:y1, x0:x1] if exclude is not None else np.zeros_like(centre)
    seed = centre & ~taken
    if bh < 2 or bw < 2 or not seed.any():
        out[y0:y1, x0:x1] = ~taken if (~taken).any() else True
        return out
    refined = _grabcut(rgb[y0:y1, x0:x1], seed, iterations) & ~taken
    out[y0:y1, x0:x1] = refined if refined.sum() >= 0.3 * seed.sum() else seed
    return out


def _grabcut(rgb: np.ndarray, seed: np.ndarray, iterations: int) -> np.ndarray:
    """Colour refinement of a seed; returns the seed unchanged when GrabCut cannot run."""
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
