"""Analytic ray-cast depth maps of box-shaped rooms with box furniture: ground truth for tests and benchmarks.

A known room lets tests check recovered planes and boxes against exact numbers, and lets the
benchmark time the geometry on any resolution without model weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.geometry.camera import Intrinsics


@dataclass
class SyntheticBox:
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float = 0.0


@dataclass
class SyntheticRoom:
    """Room ``[x0, x1] × [y0, y1] × [0, height]`` (world frame, Z up) with boxes standing in it."""

    x0: float = -2.5
    x1: float = 2.5
    y0: float = -1.0
    y1: float = 4.0
    height: float = 2.7
    boxes: list[SyntheticBox] = field(default_factory=list)


def look_pose(position: tuple[float, float, float], yaw_deg: float = 0.0, pitch_deg: float = -15.0) -> np.ndarray:
    """world_from_camera for a camera at ``position`` looking along +Y turned by yaw (left) and pitch (up)."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    fwd = np.array([-math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), math.sin(pitch)])
    right = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    down = np.cross(fwd, right)
    m = np.eye(4)
    m[:3, :3] = np.stack([right, down, fwd], axis=1)  # columns: camera x, y, z in world
    m[:3, 3] = position
    return m


def render_depth(room: SyntheticRoom, k: Intrinsics, world_from_camera: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z-depth float32, surface map int8, object map int16) at the intrinsics' image size.

    Surface map: 0 floor, 1 ceiling, 2 wall x=x0, 3 wall x=x1, 4 wall y=y0, 5 wall y=y1, -1 an object.
    Object map: index into ``room.boxes`` or -1.
    """
    h, w = k.height, k.width
    u = (np.arange(w) + 0.5 - k.cx) / k.fx
    v = (np.arange(h) + 0.5 - k.cy) / k.fy
    dirs_c = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.ones((h, w))), axis=-1).reshape(-1, 3)
    rot, origin = world_from_camera[:3, :3], world_from_camera[:3, 3]
    d = dirs_c @ rot.T  # z-depth is the ray parameter because the camera-frame z of each ray is 1
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.array([room.x0, room.y0, 0.0])
        hi = np.array([room.x1, room.y1, room.height])
        far = np.where(d > 0, (hi - origin) / d, (lo - origin) / d)
        far = np.where(np.isfinite(far) & (far > 0), far, np.inf)
    axis = np.argmin(far, axis=1)
    t = far[np.arange(len(d)), axis]
    positive = d[np.arange(len(d)), axis] > 0
    surface = np.select([axis == 2, axis == 0, axis == 1], [np.where(positive, 1, 0),
                        np.where(positive, 3, 2), np.where(positive, 5, 4)]).astype(np.int8)
    obj = np.full(len(d), -1, np.int16)
    for i, b in enumerate(room.boxes):
        c, s = math.cos(b.yaw), math.sin(b.yaw)
        to_box = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1.0]])
        o = to_box @ (origin - np.asarray(b.center))
        db = d @ to_box.T
        half = np.asarray(b.size) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (-half - o) / db, (half - o) / db
        tn = np.nanmax(np.minimum(t1, t2), axis=1)
        tf = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (tn <= tf) & (tn > 0) & (tn < t)
        t = np.where(hit, tn, t)
        obj[hit] = i
        surface[hit] = -1
    return t.reshape(h, w).astype(np.float32), surface.reshape(h, w), obj.reshape(h, w)
