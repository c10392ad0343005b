"""Cleaning a measured depth map: flying pixels out, sparse depth filled in guided by the photo.

Flying pixels are the readings an RGB-D sensor (or a blurred model edge) puts *between* a
foreground edge and the background behind it. They belong to no surface, and a box fitted to a
mask that includes them stretches towards the wall (bookcases 7.9 m deep). They are recognised
by geometry, not by a depth threshold: the surface they would form is seen almost edge-on, so
the depth step to *both* neighbours along a row or column is large for the pixel's size on the
surface. A real foreground or background pixel next to an edge has one smooth side and stays.

Densification fills holes with a joint-bilateral normalised convolution: each missing pixel
takes a weighted mean of nearby readings, weighted by distance and by how alike the photo's
colours are, so depth does not bleed across an object's outline. Holes wider than the window
are filled from a coarser level of an image pyramid, the same way. It is written in numpy
because the OpenCV wheel the worker uses (opencv-python-headless) has no ``ximgproc``: the joint
bilateral and guided filters live in opencv-contrib, and OpenCV's own ``inpaint`` ignores the
photo, so it would smear depth across object outlines.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

FLYING_MAX_ANGLE_DEG = 84.0  # a surface seen more edge-on than this is not measured, it is an edge artefact
SPIKE_REL = 0.02  # a reading nearer or farther than all four neighbours by this fraction of its depth is a spike
SPIKE_MIN_M = 0.02


def remove_flying_pixels(depth: np.ndarray, focal_px: float, max_angle_deg: float = FLYING_MAX_ANGLE_DEG,
                         passes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(depth with flying pixels set to NaN, bool mask of the removed pixels).

    A pixel is flying when, along its row or its column, the *smaller* of the two one-sided depth
    steps exceeds ``tan(max_angle) × z / focal`` — the step of a surface tilted ``max_angle`` from
    facing the camera. A floor 10 m away seen from 1.2 m up is tilted about 83°, so it stays; the
    ramp a Kinect draws between a chair's edge and the wall is tilted over 89°. A missing
    neighbour counts as no evidence (the other side decides); two passes catch pairs of flying
    pixels that happened to get similar depths.

    Isolated spikes are removed too: a reading nearer (or farther) than *all* of its (at least
    two) valid row and column neighbours by more than :data:`SPIKE_REL` of its depth. At low
    resolution the angle test alone lets through spikes of several centimetres, and a thin
    structure (a chair leg one pixel wide) is never a spike: along its length it has neighbours.
    """
    z = np.array(depth, dtype=np.float32, copy=True)
    z[~np.isfinite(z) | (z <= 0)] = np.nan
    removed = np.zeros(z.shape, bool)
    limit = math.tan(math.radians(max_angle_deg)) / max(float(focal_px), 1e-6)
    for _ in range(max(1, passes)):
        steep = np.zeros(z.shape, bool)
        for axis in (0, 1):
            step = np.abs(np.diff(z, axis=axis))
            pad = np.full_like(np.take(step, [0], axis=axis), np.nan)
            before = np.concatenate([pad, step], axis=axis)  # |z[i] - z[i-1]|
            after = np.concatenate([step, pad], axis=axis)  # |z[i+1] - z[i]|
            with np.errstate(invalid="ignore"):
                smaller = np.fmin(before, after)  # NaN only where both neighbours are missing
                steep |= smaller > limit * z
        steep |= _spikes(z)
        if not steep.any():
            break
        z[steep] = np.nan
        removed |= steep
    return z, removed


def _spikes(z: np.ndarray) -> np.ndarray:
    """Readings beyond all their valid 4-neighbours (at least two) by SPIKE_REL × depth, in one direction."""
    padded = np.pad(z, 1, constant_values=np.nan)
    h, w = z.shape
    diffs = np.stack([padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - z
                      for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))])
    count = np.isfinite(diffs).sum(axis=0)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (no neighbours) give NaN: compares False
        lo, hi = np.nanmin(diffs, axis=0), np.nanmax(diffs, axis=0)
        t = np.maximum(SPIKE_REL * z, SPIKE_MIN_M)
        return (count >= 2) & ((lo > t) | (hi < -t))


def densify(depth: np.ndarray, rgb: np.ndarray, radius: int = 3, sigma_colour: float = 0.1,
            min_weight: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(depth with every hole filled, bool mask of the filled pixels), guided by the colour image.

    ``rgb`` is (H, W, 3) uint8 at the depth's size. Readings are never changed, only holes filled.
    """
    z = np.asarray(depth, dtype=np.float32)
    valid = np.isfinite(z) & (z > 0)
    if not valid.any():
        raise ValueError("no depth readings to fill from")
    guide = np.asarray(rgb, dtype=np.float32) / 255.0
    filled = _fill(np.where(valid, z, 0.0).astype(np.float32), valid, guide, radius, sigma_colour, min_weight)
    out = np.where(valid, z, filled).astype(np.float32)
    return out, ~valid


def _fill(z: np.ndarray, valid: np.ndarray, guide: np.ndarray, radius: int, sigma_colour: float,
          min_weight: float) -> np.ndarray:
    """One pyramid level: joint-bilateral estimate where the window has enough support, coarser level elsewhere."""
    est, weight = _joint_bilateral(z, valid, guide, radius, sigma_colour)
    need = ~valid & (weight < min_weight)
    if need.any():
        h, w = z.shape
        if min(h, w) <= 2 * radius + 2:
            coarse_up = np.full(z.shape, float(np.mean(z[valid])) if valid.any() else 0.0, np.float32)
        else:
            cz, cv, cg = _half(z, valid, guide)
            coarse = _fill(cz, cv, cg, radius, sigma_colour, min_weight)
            coarse_up = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)
            coarse_up = np.pad(coarse_up, ((0, max(0, h - coarse_up.shape[0])), (0, max(0, w - coarse_up.shape[1]))),
                               mode="edge")[:h, :w]
        # The coarse values seed the holes; one more guided pass smooths the seam with the readings.
        seeded = np.where(need, coarse_up, z)
        support = valid | need
        est2, _ = _joint_bilateral(seeded, support, guide, radius, sigma_colour)
        est = np.where(need, est2, est)
    return np.where(valid, z, est).astype(np.float32)


def _joint_bilateral(z: np.ndarray, valid: np.ndarray, guide: np.ndarray, radius: int,
                     sigma_colour: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution with spatial × colour weights; (estimate, summed weight) per pixel."""
    h, w = z.shape
    pad = radius
    zp = np.pad(z, pad)
    vp = np.pad(valid.astype(np.float32), pad)
    gp = np.pad(guide, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    num = np.zeros((h, w), np.float32)
    den = np.zeros((h, w), np.float32)
    sigma_space = max(1.0, radius / 1.5)
    inv_c = 1.0 / (2.0 * sigma_colour ** 2)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            sl = (slice(pad + dy, pad + dy + h), slice(pad + dx, pad + dx + w))
            spatial = math.exp(-(dx * dx + dy * dy) / (2.0 * sigma_space ** 2))
            diff = gp[sl] - guide
            wgt = spatial * np.exp(-np.einsum("ijk,ijk->ij", diff, diff) * inv_c) * vp[sl]
            num += wgt * zp[sl]
            den += wgt
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)
    return est.astype(np.float32), den


def _half(z: np.ndarray, valid: np.ndarray, guide: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2×2 blocks: mean of the readings in each block (valid if any), mean colour."""
    h, w = (z.shape[0] // 2) * 2, (z.shape[1] // 2) * 2
    if h < z.shape[0] or w < z.shape[1]:  # odd sizes: drop the last row/column at this level only
        z, valid, guide = z[:h, :w], valid[:h, :w], guide[:h, :w]
    v = valid.astype(np.float32)
    sv = v.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3))
    sz = (z * v).reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3))
    cz = np.where(sv > 0, sz / np.maximum(sv, 1), 0.0).astype(np.float32)
    cg = guide.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    return cz, sv > 0, cg
