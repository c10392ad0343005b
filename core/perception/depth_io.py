"""Reading a depth map someone brings, in whatever units it really has, and saying what was assumed.

Depth files carry no unit. A silent guess is how SUN RGB-D's own 16-bit PNGs (millimetres with
the bits rotated right by three) were read 8× too deep — a camera 10.7 m above the floor — and
how a map in millimetres saved as ``.npy`` gave objects with no box and exit code 0. So the
units are decided by plausibility, each decision is written down, and what cannot be decided
is refused with a message:

* integer data (16-bit PNG, integer ``.npy``): millimetres, unless ≥ 90 % of the readings are
  multiples of 8 (the mark of SUN RGB-D's bit rotation: plain millimetres end in 000 only
  one time in eight) *and* the rotated reading gives the more typical room depth;
* float data (``.npy``, 32-bit TIFF, EXR): metres when the median reading is 0.1–30, millimetres
  when it is 100–30 000; anything else is refused.

Then flying pixels are removed (:mod:`.depth_clean`), the valid fraction is reported, a map
with under :data:`REFUSE_BELOW` valid pixels is refused, and one under :data:`DENSIFY_BELOW`
is filled in guided by the photo. Everything done is in the returned :class:`DepthReport`,
whose ``notes`` go into the Observation.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from .depth_clean import remove_flying_pixels

REFUSE_BELOW = 0.05  # valid fraction under which a depth map is refused
DENSIFY_BELOW = 0.5  # valid fraction under which a depth map is filled in guided by the image
METRES = (0.1, 30.0)  # plausible median depth of an indoor photo, metres
MILLIMETRES = (100.0, 30000.0)
TYPICAL_M = 2.5  # a room photo's median depth; the decoding nearer to it (in log) wins
MAX_DEPTH_BYTES = 512 * 1024 * 1024
FIX = ("Give a .npy array of metres (H, W) or a 16-bit PNG of millimetres (SUN RGB-D's own raw PNGs are "
       "recognised) with the image's aspect ratio.")


@dataclass
class DepthReport:
    """What was assumed and done to a depth map; ``notes`` are plain sentences for the Observation."""

    source: str = ""
    units_assumed: str = ""  # metres | millimetres | sunrgbd-rotated-millimetres
    valid_fraction: float = 0.0  # readings as read, before cleaning
    flying_removed: float = 0.0  # fraction of all pixels removed as flying pixels
    densified: bool = False
    densified_fraction: float = 0.0  # fraction of all pixels filled in
    final_valid_fraction: float = 0.0  # after cleaning and filling
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "DepthReport":
        """Rebuild from :meth:`to_dict` (a cached stage); unknown or malformed fields are dropped."""
        if not isinstance(data, dict):
            return cls()
        out = cls()
        for name, default in asdict(cls()).items():
            value = data.get(name, default)
            if isinstance(default, list):
                value = [str(v) for v in value] if isinstance(value, list) else []
            elif isinstance(default, bool):
                value = bool(value) if isinstance(value, bool) else default
            elif isinstance(default, float):
                value = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and math.isfinite(value) else default
            else:
                value = str(value)
            setattr(out, name, value)
        return out


def read_depth(path: str | Path, width: int, height: int, *, rgb: np.ndarray | None = None,
               focal_px: float | None = None, clean: bool = True) -> tuple[np.ndarray, DepthReport]:
    """A user's depth file → (float32 metres at width × height, NaN = unknown; the report).

    ``focal_px`` is the camera's focal length at the image's size (for telling flying pixels
    from steep surfaces; default: the 30 mm lens of :mod:`core.geometry.camera`). ``rgb`` guides
    the filling of sparse depth; without it sparse depth is refused instead of filled.
    """
    path = Path(path)
    report = DepthReport(source=path.name)
    raw = _read_array(path)
    metres, report.units_assumed, unit_note = decode_units(raw, path.name)
    report.notes.append(unit_note)
    valid = np.isfinite(metres) & (metres > 0)
    report.valid_fraction = float(valid.mean())
    _refuse_if_sparse(report.valid_fraction, path.name, "")
    dh, dw = metres.shape
    if (dh, dw) != (height, width) and abs(dw / dh - width / height) > 0.01:
        raise BadInputError(f"Depth map {path.name} is {dw}x{dh} but the image is {width}x{height}.", FIX)
    if clean:
        focal = (focal_px if focal_px and focal_px > 0 else 30.0 / 36.0 * width) * dw / width
        metres, removed = remove_flying_pixels(metres, focal)
        report.flying_removed = float(removed.mean())
        if removed.any():
            report.notes.append(f"depth: removed {int(removed.sum())} flying pixels ({report.flying_removed:.2%}) at depth "
                                "edges (readings between an object and what is behind it)")
    if (dh, dw) != (height, width):
        metres = resize_nearest(metres, height, width)
        report.notes.append(f"depth: resized from {dw}x{dh} to the image's {width}x{height} (nearest neighbour)")
    valid = np.isfinite(metres)
    left = float(valid.mean())
    _refuse_if_sparse(left, path.name, " after removing flying pixels")
    report.notes.append(f"depth: {report.valid_fraction:.0%} of pixels have a reading")
    if left < DENSIFY_BELOW:
        if rgb is None or rgb.shape[:2] != (height, width):
            raise BadInputError(f"Depth map {path.name} has readings at only {left:.0%} of pixels and no image was "
                                "given to fill it in by.", "Pass the photo with the depth map.")
        from .depth_clean import densify

        metres, filled = densify(metres, rgb)
        report.densified, report.densified_fraction = True, float(filled.mean())
        report.notes.append(f"depth: only {left:.0%} of pixels had a reading; the other {report.densified_fraction:.0%} "
                            "were filled in from nearby readings guided by the photo's colours (estimates, not "
                            "measurements)")
    report.final_valid_fraction = float(np.isfinite(metres).mean())
    return metres.astype(np.float32), report


def decode_units(raw: np.ndarray, name: str = "depth") -> tuple[np.ndarray, str, str]:
    """Raw numbers → (metres with NaN where there is no reading, the units assumed, a note saying why)."""
    if raw.dtype.kind in "ui":
        return _decode_integer(raw, name)
    values = raw.astype(np.float64)
    good = np.isfinite(values) & (values > 0)
    if not good.any():
        raise BadInputError(f"Depth map {name} has no positive depth values.", FIX)
    med = float(np.median(values[good]))
    out = np.where(good, values, np.nan)
    negative = float((np.isfinite(values) & (values < 0)).mean())
    extra = f"; {negative:.0%} negative values ignored (is it disparity?)" if negative > 0.01 else ""
    if METRES[0] <= med <= METRES[1]:
        note = f"depth: {name} read as metres (median {med:.2f} m){extra}"
        if float(np.max(values[good])) <= 1.0:
            note += "; every value is at most 1 — if this is normalised or relative depth, the scale is wrong"
        return out.astype(np.float32), "metres", note
    if MILLIMETRES[0] <= med <= MILLIMETRES[1]:
        return ((out / 1000.0).astype(np.float32), "millimetres",
                f"depth: {name} read as millimetres (median {med:.0f}, i.e. {med / 1000:.2f} m){extra}")
    raise BadInputError(
        f"Depth map {name} has a median of {med:.4g}: neither metres ({METRES[0]:g}–{METRES[1]:g}) nor millimetres "
        f"({MILLIMETRES[0]:g}–{MILLIMETRES[1]:g}) of an indoor photo.",
        "Save the depth in metres (.npy float) or millimetres (16-bit PNG); relative or inverse depth cannot be used.")


def _decode_integer(raw: np.ndarray, name: str) -> tuple[np.ndarray, str, str]:
    if raw.size and (int(raw.min()) < 0 or int(raw.max()) > 0xFFFF):
        return decode_units(raw.astype(np.float64), name)  # not 16-bit: judge it like float data
    v = raw.astype(np.uint32)
    good = v > 0
    if not good.any():
        raise BadInputError(f"Depth map {name} has no positive depth values.", FIX)
    plain = v / 1000.0
    rotated = (((v >> 3) | (v << 13)) & 0xFFFF) / 1000.0
    med_plain = float(np.median(plain[good]))
    med_rot = float(np.median(rotated[good]))
    eights = float(np.mean(v[good] % 8 == 0))

    def plausible(m: float) -> bool:
        return METRES[0] <= m <= METRES[1]

    use_rot = (eights >= 0.9 and plausible(med_rot)
               and (not plausible(med_plain) or abs(math.log(med_rot / TYPICAL_M)) < abs(math.log(med_plain / TYPICAL_M))))
    if use_rot:
        return (np.where(good, rotated, np.nan).astype(np.float32), "sunrgbd-rotated-millimetres",
                f"depth: {name} read as SUN RGB-D's bit-rotated millimetres ({eights:.0%} of readings are multiples "
                f"of 8; read plainly the median would be {med_plain:.1f} m, rotated it is {med_rot:.2f} m)")
    if not plausible(med_plain):
        raise BadInputError(
            f"Depth map {name}: as millimetres its median is {med_plain:.3g} m, not the depth of an indoor photo.",
            "Save 16-bit PNG depth in millimetres, or .npy float depth in metres.")
    note = f"depth: {name} read as millimetres (median {med_plain:.2f} m)"
    if eights >= 0.9:
        note += f"; {eights:.0%} of readings are multiples of 8 but the bit-rotated reading ({med_rot:.2f} m) is less " \
                "plausible"
    return np.where(good, plain, np.nan).astype(np.float32), "millimetres", note


def resize_nearest(depth: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest neighbour, so no depth is invented across edges."""
    dh, dw = depth.shape
    yi = np.minimum(((np.arange(height) + 0.5) * dh / height).astype(int), dh - 1)
    xi = np.minimum(((np.arange(width) + 0.5) * dw / width).astype(int), dw - 1)
    return depth[yi[:, None], xi[None, :]]


def load_run_depth(run_dir: str | Path, observation: Any) -> np.ndarray | None:
    """A run folder's depth in metres (float32, the camera's image size), or None when the run has none.

    The one reader of a run's depth for every later stage (match, fit, the pipeline), so each finds
    the file the same way (``observation.depth_path``, relative to the run folder, else
    ``depth.npy``) and checks it as :func:`load_cached_depth` does.
    """
    name = Path(observation.depth_path or "depth.npy")
    path = name if name.is_absolute() else Path(run_dir) / name
    if not path.is_file():
        return None
    return load_cached_depth(path, observation.camera.height, observation.camera.width)


def load_cached_depth(path: str | Path, height: int, width: int) -> np.ndarray:
    """The pipeline's own ``depth.npy`` stage file, checked: float (height, width), no negative values."""
    path = Path(path)
    fix = (f"Delete the damaged file {path} and run again (only that stage is redone), or run perceive again "
           "with --clean.")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise BadInputError(f"Cached depth {path} cannot be read ({str(exc)[:80]}).", fix) from None
    if arr.shape != (height, width) or arr.dtype.kind != "f":
        raise BadInputError(f"Cached depth {path} is {arr.shape} {arr.dtype}, expected ({height}, {width}) "
                            "float.", fix)
    with np.errstate(invalid="ignore"):
        if (arr < 0).any():
            raise BadInputError(f"Cached depth {path} has negative depths.", fix)
    return arr.astype(np.float32, copy=False)


def _refuse_if_sparse(fraction: float, name: str, when: str) -> None:
    if fraction < REFUSE_BELOW:
        raise BadInputError(
            f"Depth map {name} has a reading at only {fraction:.1%} of pixels{when} (under {REFUSE_BELOW:.0%}): too "
            "few to measure the room and its objects.",
            "Give a denser depth map, or leave --depth out so depth is estimated from the photo.")


def _read_array(path: Path) -> np.ndarray:
    """The file's numbers as they are stored: (H, W) integer or float array."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            raise BadInputError(f"Depth map {path} does not exist or is empty.", "Check the --depth path.")
        if path.stat().st_size > MAX_DEPTH_BYTES:
            raise BadInputError(f"Depth map {path.name} is larger than {MAX_DEPTH_BYTES >> 20} MiB.", FIX)
        suffix = path.suffix.lower()
        arr = _read_npy(path) if suffix == ".npy" else _read_exr(path) if suffix == ".exr" else _read_image(path)
    except BadInputError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise BadInputError(f"Depth map {path.name} cannot be read ({str(exc)[:100]}).", FIX) from None
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.dtype.kind not in "uif" or min(arr.shape) < 2:
        raise BadInputError(f"Depth map {path.name} has shape {arr.shape} / dtype {arr.dtype}; a single-channel "
                            "(H, W) array of numbers is needed.", FIX)
    return arr


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise BadInputError(f"Depth map {path.name} is not a plain .npy array ({str(exc)[:80]}).", FIX) from None


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise BadInputError(f"Depth map {path.name} is not a readable image ({str(exc)[:80]}).", FIX) from None
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(img).astype(np.uint16)
    if img.mode in ("I", "F"):
        return np.asarray(img)
    raise BadInputError(f"Depth image {path.name} has mode {img.mode}; a 16-bit single-channel PNG is needed "
                        "(8-bit depth has only 256 levels, and a coloured depth picture has no units).", FIX)


def _read_exr(path: Path) -> np.ndarray:
    """OpenEXR through OpenCV, whose EXR reader is off unless asked for (it is asked for here, for this file)."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    try:
        arr = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise BadInputError(f"Depth map {path.name}: OpenCV cannot read EXR here ({str(exc)[:80]}).",
                            "Convert it to a .npy array of metres.") from None
    if arr is None:
        raise BadInputError(f"Depth map {path.name} is not a readable EXR file.", FIX)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):  # a depth pass saved as colour: all channels must agree
        if not np.allclose(arr[..., 0], arr[..., 1], equal_nan=True) or not np.allclose(arr[..., 0], arr[..., 2],
                                                                                         equal_nan=True):
            raise BadInputError(f"Depth map {path.name} has colour channels that differ; it is not a depth pass.", FIX)
        arr = arr[..., 0]
    return arr
