"""The points the camera saw of one object: its mask and the depth map, back-projected into the world.

Why these clean-up steps (the same kinds of error as ``core.geometry.boxes`` removes, kept
light because the fit itself is robust): detector masks bleed over object borders and depth
smears across depth edges, so the mask is eroded by a pixel or two, pixels on depth jumps
(flying pixels) are dropped, the largest cluster along the viewing ray is kept (background
seen through a chair's back), and points lying on the floor or a wall (a mask bleeding onto
them) are dropped unless nearly all points do (a rug, a picture).

Masks are read with PIL when it is there, else with a small PNG reader (Blender's bundled
Python has numpy but no PIL), so the fit can run on either side of the worker boundary.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..geometry.camera import pixels_to_camera

MIN_POINTS = 30


def back_project(mask: np.ndarray, depth: np.ndarray, camera, *, erode: int = 1,  # noqa: ANN001 (schema.Camera)
                 planes: list | None = None, max_points: int = 5000, seed: int = 0) -> np.ndarray:
    """World points (N×3) of the masked pixels with a valid depth after the clean-up above."""
    mask = np.asarray(mask, bool)
    depth = np.asarray(depth, dtype=np.float64)
    if mask.shape != depth.shape:
        raise ValueError(f"mask {mask.shape} and depth {depth.shape} differ in size")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return np.zeros((0, 3))
    # work on the mask's box (a margin keeps the gradient and the erosion as on the whole image): a
    # small object's points no longer cost a pass over every pixel of the photo
    r0, c0 = max(0, rows[0] - 2), max(0, cols[0] - 2)
    full_depth, mask, depth = depth, mask[r0:rows[-1] + 3, c0:cols[-1] + 3], depth[r0:rows[-1] + 3, c0:cols[-1] + 3]
    core = _erode(mask, erode) if erode > 0 else mask
    if core.sum() < MIN_POINTS:
        core = mask
    valid = np.isfinite(depth) & (depth > 1e-3)
    z = np.where(valid, depth, 0.0)
    gy, gx = np.gradient(z)
    smooth = np.hypot(gx, gy) < 0.06 * np.maximum(z, 1e-3)
    keep = core & valid & smooth
    if keep.sum() < MIN_POINTS:
        keep = core & valid
    vs, us = np.nonzero(keep)
    if len(vs) == 0:
        return np.zeros((0, 3))
    if len(vs) > max_points:
        pick = np.sort(np.random.default_rng(seed).choice(len(vs), max_points, replace=False))
        vs, us = vs[pick], us[pick]
    zz = z[vs, us]
    vs, us = vs + r0, us + c0
    cam = pixels_to_camera(us, vs, zz, camera, full_depth.shape)[_largest_cluster(zz)]
    m = np.asarray(camera.world_from_camera, dtype=np.float64)
    world = cam @ m[:3, :3].T + m[:3, 3]
    return _off_planes(world, planes)


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    """Binary erosion by a (2r+1) square (numpy only)."""
    out = mask.copy()
    for _ in range(r):
        p = np.pad(out, 1, constant_values=False)
        out = (p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:])
    return out


def _largest_cluster(z: np.ndarray) -> np.ndarray:
    """Split sorted depths at gaps larger than max(10 cm, 5 % of the median); keep the biggest run."""
    order = np.argsort(z)
    zs = z[order]
    gap = max(0.10, 0.05 * float(np.median(zs)))
    cuts = np.flatnonzero(np.diff(zs) > gap) + 1
    bounds = np.concatenate([[0], cuts, [len(zs)]])
    i = int(np.argmax(np.diff(bounds)))
    keep = np.zeros(len(z), bool)
    keep[order[bounds[i]:bounds[i + 1]]] = True
    return keep


def _off_planes(world: np.ndarray, planes: list | None, tol: float = 0.02) -> np.ndarray:
    """Points off the floor and the walls; all of them when nearly all lie on one (a rug, a picture)."""
    if not planes or len(world) == 0:
        return world
    on = np.zeros(len(world), bool)
    for p in planes:
        if p.kind in ("floor", "wall"):
            on |= np.abs(world @ np.asarray(p.normal, dtype=float) - float(p.offset)) < tol
    rest = world[~on]
    return rest if len(rest) >= max(MIN_POINTS, 0.15 * len(world)) else world


def read_mask(path: str | Path) -> np.ndarray:
    """A mask PNG as bool [H, W] (> 127 is inside); an unreadable file is a BadInputError that says what to do."""
    try:
        try:
            from PIL import Image
        except ImportError:
            return _read_png(Path(path)) > 127
        with Image.open(path) as im:
            return np.asarray(im.convert("L")) > 127
    except (OSError, ValueError, struct.error, zlib.error) as exc:
        raise BadInputError(f"The object mask {path} cannot be read ({exc}).",
                            "Re-run perception with --clean, which writes the masks, or save the mask as an "
                            "8-bit PNG at the image's size.") from None


def _read_png(path: Path) -> np.ndarray:
    """First channel of an 8-bit, non-interlaced PNG (grey, grey+alpha, RGB or RGBA) as uint8 [H, W]."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, width = 8, b"", 0
    height = depth = colour = interlace = 0
    while pos < len(data):
        length, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if tag == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
        elif tag == b"IEND":
            break
        pos += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB PNGs are read without PIL")
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    stride = width * channels
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for r in range(height):
        kind, line = rows[r, 0], rows[r, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 0xFF
        else:  # Sub, Average and Paeth depend on the pixel to the left: decode along the row
            cur = np.zeros(stride, dtype=np.int32)
            for i in range(stride):
                a = cur[i - channels] if i >= channels else 0
                b, c = prev[i], prev[i - channels] if i >= channels else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (line[i] + pred) & 0xFF
        out[r] = cur
        prev = cur
    return out.reshape(height, width, channels)[..., 0].astype(np.uint8)
