"""Which way an object runs, seen from above: the direction of its faces, or the room's when too little is seen.

Kept apart from :mod:`.boxes` (which measures extents) because these are the three guesses a box's
yaw rests on: the densest straight line of the top view (a face seen edge-on), the smallest
footprint when no line stands out, and the room's own axes for a strip of an object at the frame.
Pure numpy.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

MANHATTAN_SNAP_DEG = 10.0  # a yaw this close to the room's axes is taken as square with the walls
SLIVER_SHARE = 0.3  # a seen part shorter than this share of the class's size cannot tell the object's direction


def off_axes_deg(yaw: float) -> float:
    """How far ``yaw`` (radians) is from the nearest of the room's axes, in degrees (0–45)."""
    return abs((math.degrees(yaw) + 45.0) % 90.0 - 45.0)


def line_yaw(xy: np.ndarray, bin_m: float = 0.02, min_strength: float = 2.5) -> float | None:
    """Yaw in [0, 90°) of the densest straight line in the top view, or None when no line stands out.

    Seen from above, the faces a camera sees of a cabinet, a bed or a night stand are dense straight
    lines; stray points (a neighbour's corner, far background) are scattered. For each direction the
    points are projected on its normal and binned: a face makes one bin hold many points. A line
    "stands out" when its best bin holds ``min_strength`` × the median over directions.
    """
    if len(xy) < 30:
        return None
    pts = xy - xy.mean(axis=0)
    angles = np.radians(np.arange(0.0, 180.0, 1.0))
    scores = np.empty(len(angles))
    for i, a in enumerate(angles):
        proj = pts[:, 0] * math.cos(a) + pts[:, 1] * math.sin(a)
        scores[i] = np.bincount(np.floor((proj - proj.min()) / bin_m).astype(np.int64)).max()
    best = int(np.argmax(scores))
    if scores[best] < min_strength * float(np.median(scores)):
        return None
    return float(angles[best] % (math.pi / 2))


def is_sliver(xy: np.ndarray, yaw: float, prior: Any) -> bool:
    """Whether the seen part is too small to give the object's direction: its longer seen side is under
    ``SLIVER_SHARE`` of the class's largest size (a wardrobe seen as a strip at the image's edge).

    Its faces' directions then say nothing about the object's, and the room's axes are the better
    guess (furniture stands square with the walls far more often than at any one other angle).
    """
    c, s = math.cos(yaw), math.sin(yaw)
    u, v = c * xy[:, 0] + s * xy[:, 1], -s * xy[:, 0] + c * xy[:, 1]
    seen = max(float(np.ptp(np.percentile(u, [2, 98]))), float(np.ptp(np.percentile(v, [2, 98]))))
    return seen < SLIVER_SHARE * max(float(prior.high[0]), float(prior.high[1]))


def best_yaw(xy: np.ndarray, step_deg: float) -> float:
    """Yaw in [0°, 90°) with the smallest 1–99 % footprint; 0° (the Manhattan axes) wins near-ties."""
    angles = np.radians(np.arange(0.0, 90.0, step_deg))
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    u = c * xy[None, :, 0] + s * xy[None, :, 1]  # coordinates along the box's rotated x axis
    v = -s * xy[None, :, 0] + c * xy[None, :, 1]
    (u0, u1), (v0, v1) = np.percentile(u, [1, 99], axis=1), np.percentile(v, [1, 99], axis=1)
    area = np.maximum(u1 - u0, 1e-3) * np.maximum(v1 - v0, 1e-3)
    best = int(np.argmin(area))
    if area[0] <= 1.08 * area[best]:
        best = 0
    return float(angles[best])
