"""Pair perceived objects with ground-truth objects, so metrics can compare them by id.

Perception names objects itself (``obj_0``, …), while a ground-truth layout keeps its own ids.
When the detections came from known ground-truth instances (the demo, synthetic benchmarks),
each perceived object still carries its 2D detection box, so the pairing is a one-to-one
assignment by box overlap (greedy on IoU, best first, deterministic).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from ..geometry.boxes2d import box_iou_2d_one
from ..schema import Layout, Observation


def pair_by_boxes(observation: Observation, gt_boxes: Mapping[str, Sequence[float]],
                  min_iou: float = 0.5) -> dict[str, str]:
    """perceived id → ground-truth id for pairs whose 2D boxes overlap by at least ``min_iou``."""
    scored = []
    for obj in observation.graph.objects:
        if obj.detection is None:
            continue
        for gt_id, box in gt_boxes.items():
            iou = box_iou_2d_one(obj.detection.box, box)
            if iou >= min_iou:
                scored.append((-iou, obj.id, gt_id))
    pairs: dict[str, str] = {}
    used: set[str] = set()
    for _, pred, gt in sorted(scored):
        if pred not in pairs and gt not in used:
            pairs[pred] = gt
            used.add(gt)
    return pairs


def relabel(layout: Layout, mapping: Mapping[str, str]) -> Layout:
    """The same layout with object ids (and parent references) renamed; unpaired ids get a prefix
    so they can never collide with a ground-truth id."""
    def new(i: str | None) -> str | None:
        if i is None or i not in {p.object_id for p in layout.placements}:
            return i
        return mapping.get(i, f"unpaired_{i}")

    placements = [dataclasses.replace(p, object_id=new(p.object_id), parent=new(p.parent))
                  for p in layout.placements]
    return dataclasses.replace(layout, placements=placements)


def align_to_camera(layout: Layout, predicted_camera: object, reference_camera: object) -> Layout:
    """Express a reconstructed layout in the reference world frame.

    A reconstruction from one image fixes the world frame only up to perception's own choice of
    origin and heading (floor at z = 0, walls along the axes). Both frames see the image from the
    same camera, so ``reference_world_from_camera · predicted_world_from_camera⁻¹`` maps one world
    onto the other; that is the alignment used before comparing with a ground truth.
    """
    import numpy as np

    ref = np.asarray(reference_camera.world_from_camera, dtype=float)  # type: ignore[attr-defined]
    pred = np.asarray(predicted_camera.world_from_camera, dtype=float)  # type: ignore[attr-defined]
    t = ref @ np.linalg.inv(pred)
    # keep it a rigid map: orthonormalise the rotation (perception's small tilt errors stay in it)
    u, _, vt = np.linalg.svd(t[:3, :3])
    t[:3, :3] = u @ vt
    placements = []
    for p in layout.placements:
        m = t @ np.asarray(p.transform, dtype=float)
        m[3] = (0.0, 0.0, 0.0, 1.0)
        placements.append(dataclasses.replace(p, transform=tuple(tuple(float(v) for v in row) for row in m)))
    planes = []
    for plane in layout.planes:  # the room moves with its objects: n' = R n, offset' = n' · (T (n offset))
        n = t[:3, :3] @ np.asarray(plane.normal, dtype=float)
        point = t[:3, :3] @ (np.asarray(plane.normal, dtype=float) * plane.offset) + t[:3, 3]
        extent = [tuple(float(v) for v in t[:3, :3] @ np.asarray(e, dtype=float) + t[:3, 3]) for e in plane.extent]
        planes.append(dataclasses.replace(plane, normal=tuple(float(v) for v in n), offset=float(n @ point),
                                          extent=extent))
    return dataclasses.replace(layout, placements=placements, planes=planes, camera=reference_camera)
