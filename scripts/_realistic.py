"""Degrade a synthetic room's perfect passes the way a real capture and a real detector would (bench only).

``scripts/bench_synthetic.py --realistic`` renders a generated room exactly (ray-cast depth, instance
masks) and then spoils it with this module, so the amodal and support reasoning can be tuned on
hundreds of labelled rooms instead of a handful of real photos. Each kind of damage is one
function, seeded by the room, and its size is written in :data:`DEFAULTS`:

* **camera**: tilted (roll, pitch), turned and moved, with a narrower lens, so furniture is cut by
  the frame as in handheld photos (:func:`perturb_camera`, applied before rendering);
* **depth**: noise that grows with distance (structured-light / stereo: σ ∝ z²) plus a smooth
  scale error (monocular models), holes at depth edges and on dark or bright-shiny surfaces,
  and flying pixels mixed from the two sides of an edge (:func:`degrade_depth`);
* **masks**: eroded or dilated by a few pixels (:func:`degrade_mask`); **boxes** jittered by a few
  per cent of their size (:func:`jitter_box`); the smallest detection missed (:func:`drop_smallest`).

Not product code: the product never fakes damage. Kept out of ``core`` and out of the extension zip.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULTS = {
    "roll_deg": 4.0, "pitch_deg": (10.0, 25.0), "yaw_deg": 25.0, "hfov_deg": (60.0, 78.0),
    "move_x_frac": 0.25, "move_y_m": (0.0, 0.5), "height_m": (1.2, 1.7),
    "noise_base_m": 0.002, "noise_quad": 0.0025, "scale_error": 0.02,
    "edge_jump": 0.08, "hole_dark": 0.06, "hole_bright": 0.97, "hole_share": 0.6, "flying_share": 0.5,
    "mask_px": (1, 3), "box_jitter": 0.05,
}


def perturb_camera(camera: Any, room_planes: list, rng: np.random.Generator, cfg: dict | None = None) -> Any:
    """The generator's camera moved, turned, tilted and given a narrower lens (same image size)."""
    c = {**DEFAULTS, **(cfg or {})}
    m = np.asarray(camera.world_from_camera, dtype=float).copy()
    half_w = _half_width(room_planes)
    pos = m[:3, 3] + np.array([rng.uniform(-1, 1) * c["move_x_frac"] * half_w, rng.uniform(*c["move_y_m"]), 0.0])
    pos[2] = rng.uniform(*c["height_m"])
    yaw = math.radians(rng.uniform(-c["yaw_deg"], c["yaw_deg"]))
    pitch = math.radians(rng.uniform(*c["pitch_deg"]))
    roll = math.radians(rng.uniform(-c["roll_deg"], c["roll_deg"]))
    fwd = np.array([math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), -math.sin(pitch)])
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    cr, sr = math.cos(roll), math.sin(roll)
    right, down = cr * right + sr * down, -sr * right + cr * down
    out = np.eye(4)
    out[:3, 0], out[:3, 1], out[:3, 2], out[:3, 3] = right, down, fwd, pos
    f = (camera.width / 2) / math.tan(math.radians(rng.uniform(*c["hfov_deg"])) / 2)
    return type(camera)(f, f, camera.width / 2, camera.height / 2, camera.width, camera.height,
                        [list(r) for r in out])


def _half_width(planes: list) -> float:
    xs = [abs(float(p.offset)) for p in planes if p.kind == "wall" and abs(float(p.normal[0])) > 0.9]
    return min(xs) if xs else 2.0


def degrade_depth(depth: np.ndarray, rgb: np.ndarray | None, rng: np.random.Generator,
                  cfg: dict | None = None) -> np.ndarray:
    """Depth as a sensor or a depth model would give it: noisy, slightly mis-scaled, with holes (NaN)."""
    c = {**DEFAULTS, **(cfg or {})}
    z = np.asarray(depth, dtype=np.float64).copy()
    valid = np.isfinite(z) & (z > 1e-3)
    z[~valid] = np.nan
    h, w = z.shape
    # smooth scale error (a monocular model's low-frequency bias) and noise growing with distance
    field = _smooth_noise(h, w, rng, cells=4) * c["scale_error"]
    sigma = c["noise_base_m"] + c["noise_quad"] * np.nan_to_num(z) ** 2
    z = z * (1.0 + field) + rng.normal(0.0, 1.0, z.shape) * sigma
    # depth edges: flying pixels (a mix of both sides) on some, holes on the others
    filled = np.where(valid, depth, 0.0)
    gy, gx = np.gradient(filled)
    edge = valid & (np.hypot(gx, gy) > c["edge_jump"] * np.maximum(filled, 1e-3))
    edge = _dilate(edge, 1) & valid
    flying = edge & (rng.random(z.shape) < c["flying_share"])
    far = _max_filter(np.where(valid, depth, 0.0), 2)
    near = -_max_filter(np.where(valid, -depth, -1e9), 2)
    t = rng.random(z.shape)
    z[flying] = (t * near + (1 - t) * far)[flying]
    z[edge & ~flying] = np.nan
    # dark and bright (shiny) surfaces return nothing in blotches
    if rgb is not None:
        lum = (np.asarray(rgb, dtype=np.float64)[..., :3] / 255.0) @ np.array([0.2126, 0.7152, 0.0722])
        blotch = _smooth_noise(h, w, rng, cells=12) > (1 - 2 * c["hole_share"])
        z[((lum < c["hole_dark"]) | (lum > c["hole_bright"])) & blotch] = np.nan
    return z.astype(np.float32)


def degrade_mask(mask: np.ndarray, rng: np.random.Generator, cfg: dict | None = None) -> np.ndarray:
    """The mask eroded or dilated by a few pixels (a detector's border is never exact)."""
    c = {**DEFAULTS, **(cfg or {})}
    r = int(rng.integers(c["mask_px"][0], c["mask_px"][1] + 1))
    if rng.random() < 0.5:
        out = _erode(mask, r)
        return out if out.sum() >= 20 else mask
    return _dilate(mask, r)


def jitter_box(box: list[float], shape: tuple[int, int], rng: np.random.Generator,
               cfg: dict | None = None) -> list[int]:
    """Each side of a pixel box moved by up to ``box_jitter`` of the box's size, kept in the image."""
    c = {**DEFAULTS, **(cfg or {})}
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    j = rng.uniform(-c["box_jitter"], c["box_jitter"], 4) * np.array([bw, bh, bw, bh])
    h, w = shape
    nx0, ny0 = int(np.clip(round(x0 + j[0]), 0, w - 2)), int(np.clip(round(y0 + j[1]), 0, h - 2))
    nx1, ny1 = int(np.clip(round(x1 + j[2]), nx0 + 1, w)), int(np.clip(round(y1 + j[3]), ny0 + 1, h))
    return [nx0, ny0, nx1, ny1]


def floor_mask(depth: np.ndarray, camera: Any, object_masks: list[np.ndarray], tol_m: float = 0.03) -> np.ndarray:
    """Pixels that see the floor (z = 0 in the generator's world): what a detector prompted with "floor" finds."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    z = np.asarray(depth, dtype=np.float64)
    cam = np.stack([(u - camera.cx) / camera.fx * z, (v - camera.cy) / camera.fy * z, z], axis=-1)
    m = np.asarray(camera.world_from_camera, dtype=np.float64)
    height = (cam @ m[:3, :3].T + m[:3, 3])[..., 2]
    out = np.isfinite(z) & (z > 1e-3) & (np.abs(height) < tol_m)
    for om in object_masks:
        out &= ~om
    return out


def drop_smallest(areas: dict[str, int], min_objects: int = 4) -> str | None:
    """The object a detector would miss: the one with the fewest pixels (none when the room is nearly empty)."""
    if len(areas) < min_objects:
        return None
    return min(sorted(areas), key=lambda k: areas[k])


# -- small numpy image helpers ------------------------------------------------------------------------------
def _smooth_noise(h: int, w: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    """A smooth field in [-1, 1]: a coarse random grid, bilinearly upsampled."""
    gh, gw = cells + 1, max(2, int(round(cells * w / max(h, 1)))) + 1
    grid = rng.uniform(-1, 1, (gh, gw))
    ys, xs = np.linspace(0, gh - 1, h), np.linspace(0, gw - 1, w)
    y0, x0 = np.minimum(ys.astype(int), gh - 2), np.minimum(xs.astype(int), gw - 2)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    a, b = grid[y0][:, x0], grid[y0][:, x0 + 1]
    c, d = grid[y0 + 1][:, x0], grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    out = np.asarray(mask, bool)
    for _ in range(r):
        p = np.pad(out, 1, constant_values=False)
        out = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return out


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = np.asarray(mask, bool)
    for _ in range(r):
        p = np.pad(out, 1, constant_values=False)
        out = p[1:-1, 1:-1] | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return out


def _max_filter(a: np.ndarray, r: int) -> np.ndarray:
    out = a
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="edge")
        n = out.shape[axis]
        out = np.max([np.take(p, range(k, k + n), axis=axis) for k in range(2 * r + 1)], axis=0)
    return out
