"""Intersection over union of axis-aligned 2D image boxes (``[x0, y0, x1, y1]``, pixels).

Why one module: detection non-maximum suppression, the second look's duplicate test and the
pairing of perceived objects with ground-truth boxes all ask the same question, and three
hand-written copies drifted apart on the degenerate cases. Here there is one definition:

* the overlap of two boxes is the area of their intersection rectangle (0 when they do not meet);
* IoU is that overlap over the area of their union;
* a union with no positive area (both boxes zero-area, or inverted corners) gives **0, never NaN**
  — such a pair does not overlap in any useful sense, and a NaN would silently fail every
  ``>=`` threshold test downstream.

Pure numpy; no bpy, no torch.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def box_iou_2d(a: np.ndarray | Sequence[Sequence[float]], b: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """IoU matrix between ``(N, 4)`` and ``(M, 4)`` xyxy boxes, shape ``(N, M)``.

    Vectorised because non-maximum suppression compares one box against hundreds at once.
    Entries whose union has no positive area are 0.
    """
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0.0, None) * np.clip(y1 - y0, 0.0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    positive = union > 0
    return np.where(positive, inter / np.where(positive, union, 1.0), 0.0)


def box_iou_2d_one(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two single xyxy boxes, as a plain float.

    A convenience for the pairwise loops (duplicate tests, greedy pairing) that hold one box at a
    time; it is :func:`box_iou_2d` on 1×1 arrays, so both agree exactly.
    """
    return float(box_iou_2d(a, b)[0, 0])
