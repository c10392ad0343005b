"""The world upright box of a placed asset: what ``Placement.box`` holds.

Why a box in the layout file: a layout can then be scored (IoU, centre error), drawn or
compared with a ground truth from ``layout.json`` alone, without the library or Blender.

The asset frame has its origin at the bottom centre of the asset's bounding box, so the box
spans ``[-sx/2, sx/2] x [-sy/2, sy/2] x [0, sz]`` of the catalogue size, stretched by the
placement's scale. Its world centre is that box's centre carried by ``Placement.transform``; its
yaw is the turn of the asset's x axis about world Z. A transform the artist tilted gives the
upright box of the tilted asset's centre and size (an approximation: layout stands things up).
"""
from __future__ import annotations

import math

import numpy as np

from ..schema import AssetRecord, Box3D, Placement


def placement_box(placement: Placement, asset: AssetRecord) -> Box3D:
    """``placement``'s asset as an upright world box (centre, size after scale, yaw)."""
    m = np.asarray(placement.transform, dtype=float)
    size = np.asarray(asset.size, dtype=float) * np.asarray(placement.scale, dtype=float)
    centre = m[:3, :3] @ np.array([0.0, 0.0, size[2] / 2.0]) + m[:3, 3]
    yaw = math.atan2(m[1, 0], m[0, 0])
    return Box3D(tuple(float(c) for c in centre), tuple(float(s) for s in size), float(yaw))
