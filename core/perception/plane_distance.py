"""Per-pixel distance to the nearest room plane: tells segmentation which pixels are room, not object."""
from __future__ import annotations

import numpy as np

from ..geometry.camera import Intrinsics, back_project
from ..geometry.room import RoomEstimate, to_world


def plane_distance_map(depth: np.ndarray, k: Intrinsics, room: RoomEstimate) -> np.ndarray:
    """(H, W) float32 metres from each pixel's 3D point to the closest floor/wall/ceiling; inf if unknown."""
    pts = to_world(back_project(depth, k), room.world_from_camera.astype(np.float32))
    out = np.full(depth.shape, np.inf, np.float32)
    for p in room.planes:
        d = np.abs(pts @ np.asarray(p.normal, np.float32) - np.float32(p.offset))
        np.fmin(out, d, out=out)
    return out
