"""Pinhole intrinsics and back-projection.

Conventions (see :mod:`core.schema`): pixel coordinates are continuous with the origin at the
top-left *corner* of the image, so pixel ``(i, j)`` has its centre at ``(i + 0.5, j + 0.5)`` and a
centred principal point is ``(width / 2, height / 2)`` — the same convention Blender's camera
uses, which keeps renders and perception in agreement to the sub-pixel. Depth maps hold
**z-depth** (distance along the optical axis, metres), not distance along the ray: that is what
Depth Anything V2 metric models and RGB-D cameras give.

Where the focal length comes from, in order: an explicit field of view or focal length from
the user, the image's EXIF, else the default of a 30 mm lens on a 36 mm wide sensor (about
62° horizontally, a common interior-photography framing and what the paper's renders use).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import BadInputError

FOCAL_RANGE = (0.1, 10.0)  # focal length / image width: 157° to 5.7° horizontal field of view
PRINCIPAL_OFFCENTRE_NOTE = 0.15  # a principal point this far (fraction of the size) from the centre gets a note
DEFAULT_FOCAL_MM = 30.0
DEFAULT_SENSOR_MM = 36.0
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)


@dataclass(frozen=True)
class Intrinsics:
    """Focal lengths and principal point in pixels, the image size, and where the numbers came from."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    source: str = "default"

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))

    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    def scaled(self, width: int, height: int) -> "Intrinsics":
        """The same camera seen at another resolution (depth maps at model resolution, thumbnails)."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height, self.source)


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise BadInputError(f"Image size {width}x{height} is empty.", "Give an image with pixels in it.")


def intrinsics_from_fov(width: int, height: int, hfov_deg: float) -> Intrinsics:
    """Square pixels, centred principal point, the given *horizontal* field of view."""
    _check_size(width, height)
    if not (isinstance(hfov_deg, (int, float)) and 1.0 <= hfov_deg <= 179.0):
        raise BadInputError(f"Field of view {hfov_deg!r}° is outside 1–179°.",
                            "Pass the horizontal field of view in degrees, e.g. --fov 60.")
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return Intrinsics(f, f, width / 2.0, height / 2.0, width, height, f"fov {hfov_deg:g}°")


def intrinsics_from_focal(width: int, height: int, focal_mm: float, sensor_width_mm: float = DEFAULT_SENSOR_MM,
                          source: str | None = None) -> Intrinsics:
    """A lens of ``focal_mm`` on a sensor ``sensor_width_mm`` wide, spanning the image width."""
    _check_size(width, height)
    if not (focal_mm > 0 and sensor_width_mm > 0):
        raise BadInputError(f"Focal length {focal_mm} mm / sensor {sensor_width_mm} mm must be positive.",
                            "Give the lens focal length and sensor width in millimetres.")
    f = focal_mm / sensor_width_mm * width
    return Intrinsics(f, f, width / 2.0, height / 2.0, width, height,
                      source or f"focal {focal_mm:g} mm on {sensor_width_mm:g} mm")


def intrinsics_from_exif(width: int, height: int, exif: Mapping[str, Any] | None) -> Intrinsics | None:
    """From EXIF numbers (keys ``focal_35mm``, ``focal_mm``, ``focal_plane_x_res``, ``focal_plane_unit_mm``).

    The 35 mm-equivalent focal length is defined on the *diagonal* of a 36×24 mm frame, so it is
    converted through the image diagonal (correct for any aspect ratio). Without it, the real focal
    length and the focal-plane resolution give the pixel pitch directly. Returns None when EXIF
    does not pin the focal length down.
    """
    if not exif:
        return None
    f35 = _positive(exif.get("focal_35mm"))
    if f35:
        f = f35 / FULL_FRAME_DIAGONAL_MM * math.hypot(width, height)
        return Intrinsics(f, f, width / 2.0, height / 2.0, width, height, f"EXIF 35 mm-equivalent {f35:g} mm")
    fmm, xres, unit_mm = (_positive(exif.get(k)) for k in ("focal_mm", "focal_plane_x_res", "focal_plane_unit_mm"))
    if fmm and xres and unit_mm:
        f = fmm * xres / unit_mm  # mm × (pixels per unit) / (mm per unit)
        return Intrinsics(f, f, width / 2.0, height / 2.0, width, height, f"EXIF focal {fmm:g} mm")
    return None


_K_FIX = ("Pass --intrinsics fx,fy,cx,cy in pixels of this image (or a field of view with --fov / in the From Image "
          "panel).")


def check_intrinsics(k: Intrinsics, width: int | None = None, height: int | None = None) -> list[str]:
    """Refuse a camera no photograph of a room can have, naming the value and its likely cause.

    Implausible numbers do not fail later on their own: a focal length of 1e30 px flattens every
    object to 0 m, 1e-9 px blows a bed up to 1e11 m, a principal point far outside the image
    bends the floor — and the run still "succeeds". So the focal length must lie within
    :data:`FOCAL_RANGE` × the image width, fx and fy within 2× of each other, and the principal
    point inside the image. Returns notes about legal but unusual values (an off-centre principal
    point); raises :class:`BadInputError` otherwise.
    """
    w = int(width if width is not None else k.width)
    h = int(height if height is not None else k.height)
    _check_size(w, h)
    values: dict[str, float] = {}
    for name in ("fx", "fy", "cx", "cy"):
        raw = getattr(k, name)
        try:
            values[name] = float(raw)
        except (TypeError, ValueError, OverflowError):
            values[name] = math.nan
        if not math.isfinite(values[name]):
            raise BadInputError(f"Camera {name} = {raw!r} ({k.source}) is not a finite number.", _K_FIX)
    lo, hi = FOCAL_RANGE
    for name in ("fx", "fy"):
        f = values[name]
        if f <= 0:
            raise BadInputError(f"Camera {name} = {f:g} px ({k.source}) must be positive.", _K_FIX)
        ratio = f / w
        if ratio < lo:
            raise BadInputError(
                f"Camera {name} = {f:g} px ({k.source}) is {ratio:.3g}× the image width {w} px, below {lo:g}× "
                f"(a field of view over {2 * math.degrees(math.atan(0.5 / lo)):.0f}°); likely a focal length in "
                "millimetres instead of pixels, or intrinsics of a much smaller image.", _K_FIX)
        if ratio > hi:
            raise BadInputError(
                f"Camera {name} = {f:g} px ({k.source}) is {ratio:.3g}× the image width {w} px, above {hi:g}× "
                f"(a field of view under {2 * math.degrees(math.atan(0.5 / hi)):.1f}°); likely intrinsics of the "
                "camera's full resolution for a downscaled image (scale them by this width / the calibration "
                "width), or a unit mix-up.", _K_FIX)
    fx, fy, cx, cy = values["fx"], values["fy"], values["cx"], values["cy"]
    if not 0.5 <= fx / fy <= 2.0:
        raise BadInputError(f"Camera fx = {fx:g} px and fy = {fy:g} px ({k.source}) differ by more than 2×; "
                            "likely one of them is for another resolution or the order of the values is wrong.",
                            _K_FIX)
    if not (0.0 <= cx <= w and 0.0 <= cy <= h):
        raise BadInputError(
            f"Camera principal point ({cx:g}, {cy:g}) px ({k.source}) lies outside the {w}x{h} image; "
            "likely cx and cy are swapped, given for another resolution, or in normalised units (0–1).", _K_FIX)
    notes = []
    off = max(abs(cx - w / 2) / w, abs(cy - h / 2) / h)
    if off > PRINCIPAL_OFFCENTRE_NOTE:
        notes.append(f"camera: the principal point ({cx:g}, {cy:g}) is {off:.0%} of the image size from its "
                     "centre (a cropped photo?); check the intrinsics if the floor comes out tilted")
    return notes


def resolve_intrinsics(width: int, height: int, *, fov_deg: float | None = None, focal_mm: float | None = None,
                       intrinsics: tuple[float, float, float, float] | None = None,
                       exif: Mapping[str, Any] | None = None) -> Intrinsics:
    """Pick the intrinsics by precedence: explicit K, field of view, focal length, EXIF, default lens.

    Every result passes :func:`check_intrinsics`; implausible EXIF numbers (a camera we did not
    ask the user about) fall back to the default lens, and the source says so.
    """
    if intrinsics is not None:
        try:
            fx, fy, cx, cy = (float(v) for v in intrinsics)
        except (TypeError, ValueError, OverflowError):
            raise BadInputError(f"Intrinsics {intrinsics!r} are not four numbers.", _K_FIX) from None
        k = Intrinsics(fx, fy, cx, cy, width, height, "given")
    elif fov_deg is not None:
        k = intrinsics_from_fov(width, height, float(fov_deg))
    elif focal_mm is not None:
        k = intrinsics_from_focal(width, height, float(focal_mm))
    else:
        default = intrinsics_from_focal(width, height, DEFAULT_FOCAL_MM, DEFAULT_SENSOR_MM,
                                        source=f"default {DEFAULT_FOCAL_MM:g} mm on {DEFAULT_SENSOR_MM:g} mm")
        k = intrinsics_from_exif(width, height, exif) or default
        if k is not default:
            try:
                check_intrinsics(k, width, height)
            except BadInputError:
                k = Intrinsics(default.fx, default.fy, default.cx, default.cy, width, height,
                               f"{default.source} (implausible {k.source} ignored)")
    check_intrinsics(k, width, height)
    return k


def back_project(depth: np.ndarray, k: Intrinsics, stride: int = 1) -> np.ndarray:
    """Camera-frame points (H', W', 3) for every ``stride``-th pixel centre; NaN depth stays NaN."""
    if depth.ndim != 2:
        raise BadInputError(f"Depth map has shape {depth.shape}; expected (height, width).",
                            "Give a single-channel depth map.")
    h, w = depth.shape
    sx, sy = k.width / w, k.height / h  # depth may be at another resolution than the intrinsics
    us = ((np.arange(0, w, stride) + 0.5) * sx - k.cx) / k.fx
    vs = ((np.arange(0, h, stride) + 0.5) * sy - k.cy) / k.fy
    z = depth[::stride, ::stride].astype(np.float32, copy=False)
    out = np.empty(z.shape + (3,), dtype=np.float32)
    out[..., 0] = us[None, :] * z
    out[..., 1] = vs[:, None] * z
    out[..., 2] = z
    return out


def pixels_to_camera(us: np.ndarray, vs: np.ndarray, z: np.ndarray, k: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Camera-frame points (N, 3) of pixel columns ``us``, rows ``vs`` (centres) at z-depths ``z``.

    ``shape`` is the (height, width) of the map the pixels index, which may differ from the
    intrinsics' image size; ``k`` is anything with fx, fy, cx, cy, width, height (Intrinsics, Camera).
    """
    sx, sy = k.width / shape[1], k.height / shape[0]
    return np.stack([((us + 0.5) * sx - k.cx) / k.fx * z, ((vs + 0.5) * sy - k.cy) / k.fy * z, z], axis=1)


def _positive(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return v if math.isfinite(v) and v > 0 else None
