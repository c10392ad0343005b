"""Amodal extents: which sides of an object the photo does not show, and completing the box there.

A depth map shows only what faces the camera and is inside the frame, so a box measured from it
ends where the *view* ends, not where the object ends. Three kinds of side are hidden:

* **cut** — the mask runs to within ``border_margin_px`` of the image border on that side;
* **occluded** — along the mask's outline on that side, the depth just outside is nearer than
  the object just inside (something in front hides the rest);
* **unseen** — the far face along the box axis closest to the viewing direction (its back:
  along the other axis the front face itself shows the whole extent).

Image sides are turned into box faces by projecting each face's outward direction into the
image: a face whose direction points towards a hidden image side is open. An open face means
the measured extent is only a lower bound. :func:`complete_box` then grows the box on its open
faces to the class size prior when the measurement is implausibly small for the class (below
its 20th percentile), never through a wall, and a floor-standing object always reaches the floor.
Every completion is returned as a note for ``SceneObject.notes``. One more hidden part is found
here: a thin foot or stem that the mask's erosion removed lowers the bottom (:func:`lower_to_thin_parts`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..schema import Box3D, Plane
from .camera import Intrinsics, pixels_to_camera
from .room import to_world

SIDES = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "top": (0.0, -1.0), "bottom": (0.0, 1.0)}
CUT_SHARE = 0.15       # this share of a side's outline on the image border: cut off by the frame
OCCLUDED_SHARE = 0.4   # this share of a side's (readable) outline with nearer depth just outside: occluded
BAND_PX = 4


def border_margin_px(n: int) -> int:
    """How near the image border (in pixels, of ``n`` along that axis) a mask's edge counts as touching it.

    A detector's mask stops a pixel or three short of the border even when the object runs out of
    the frame (its border is never exact), so demanding the very last pixel misses most cut objects.
    """
    return max(3, round(0.01 * n))


@dataclass
class SideVisibility:
    """Per image side: share of its outline on the image border (cut) and behind something nearer (occluded)."""

    cut: dict[str, float] = field(default_factory=dict)
    occluded: dict[str, float] = field(default_factory=dict)

    def hidden(self, side: str) -> str | None:
        """'cut' or 'occluded' when that side of the object is not seen, else None."""
        if self.cut.get(side, 0.0) >= CUT_SHARE:
            return "cut"
        if self.occluded.get(side, 0.0) >= OCCLUDED_SHARE:
            return "occluded"
        return None

    def describe(self, side: str) -> str:
        how = self.hidden(side)
        if how == "cut":
            return f"cut off by the image's {side} edge"
        if how == "occluded":
            return f"hidden behind something nearer on its {side}"
        return f"seen on its {side}"


def image_sides(mask: np.ndarray, depth: np.ndarray, band: int = BAND_PX) -> SideVisibility:
    """Which sides of the mask are cut by the image border or occluded by nearer surfaces.

    For each row (left/right sides) or column (top/bottom), the outermost mask pixel is checked:
    on the border → cut; otherwise the median valid depth in a band just outside is compared with
    the band just inside — nearer by max(10 cm, 5 %) → occluded. Rows where no depth is readable
    on both sides do not vote.
    """
    mask = np.asarray(mask, bool)
    h, w = mask.shape
    vis = SideVisibility()
    z = np.where(np.isfinite(depth) & (depth > 1e-3), depth, np.nan).astype(np.float32)
    for side in SIDES:
        horizontal = side in ("left", "right")
        m = mask if horizontal else mask.T
        zz = z if horizontal else z.T
        lines = np.flatnonzero(m.any(axis=1))
        if not len(lines):
            vis.cut[side], vis.occluded[side] = 0.0, 0.0
            continue
        rows = m[lines]
        n = rows.shape[1]
        edge = np.argmax(rows, axis=1) if side in ("left", "top") else n - 1 - np.argmax(rows[:, ::-1], axis=1)
        step = -1 if side in ("left", "top") else 1
        margin = border_margin_px(n)
        on_border = (edge <= margin) if step < 0 else (edge >= n - 1 - margin)  # up to `margin` empty pixels
        vis.cut[side] = float(np.mean(on_border))
        votes = near = 0
        for line, e, border in zip(lines, edge, on_border):
            if border:
                continue
            out_idx = np.clip(e + step * np.arange(1, band + 1), 0, n - 1)
            in_idx = np.clip(e - step * np.arange(0, band), 0, n - 1)
            outside, inside = zz[line, out_idx], zz[line, in_idx]
            if not (np.isfinite(outside).any() and np.isfinite(inside).any()):
                continue
            zo, zi = float(np.nanmedian(outside)), float(np.nanmedian(inside))
            votes += 1
            near += zo < zi - max(0.10, 0.05 * zi)
        vis.occluded[side] = near / votes if votes else 0.0
    return vis


@dataclass
class Extents:
    """A box in its own frame: yaw, intervals along its x and y axes (world-rotated) and z."""

    yaw: float
    x: list[float]
    y: list[float]
    z: list[float]

    def box(self) -> Box3D:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        mu, mv = (self.x[0] + self.x[1]) / 2, (self.y[0] + self.y[1]) / 2
        return Box3D((float(c * mu - s * mv), float(s * mu + c * mv), float((self.z[0] + self.z[1]) / 2)),
                     (float(self.x[1] - self.x[0]), float(self.y[1] - self.y[0]), float(max(0.0, self.z[1] - self.z[0]))),
                     float(self.yaw))

    def axis(self, i: int) -> np.ndarray:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([c, s, 0.0]) if i == 0 else np.array([-s, c, 0.0])

    def face_centre(self, i: int, sign: int) -> np.ndarray:
        other = self.y if i == 0 else self.x
        along = (self.x if i == 0 else self.y)[1 if sign > 0 else 0]
        across = (other[0] + other[1]) / 2
        u, v = (along, across) if i == 0 else (across, along)
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([c * u - s * v, s * u + c * v, (self.z[0] + self.z[1]) / 2])


FACES = (("x", 0, -1), ("x", 0, 1), ("y", 1, -1), ("y", 1, 1))


def open_faces(ext: Extents, vis: SideVisibility, world_from_camera: np.ndarray, k: Any) -> dict[str, str]:
    """Box faces whose measured position is only a lower bound, with why: ``{"-x": "cut off by …", …}``.

    ``k``: intrinsics (fx, fy, cx, cy). The far face along the viewing direction is listed as "unseen".
    """
    cam_from_world = np.linalg.inv(world_from_camera)
    cam = world_from_camera[:3, 3]
    out: dict[str, str] = {}
    view = ext.box().center - cam
    view[2] = 0.0
    # Only the axis closest to the viewing direction can hide its far face: along the other axis the
    # front face itself spans the whole extent (a bed seen from its foot shows its full width).
    deep = max((0, 1), key=lambda i: abs(float(ext.axis(i) @ view)))
    for name, i, sign in FACES:
        centre = ext.face_centre(i, sign)
        normal = ext.axis(i) * sign
        a, b = _project(centre, cam_from_world, k), _project(centre + 0.25 * normal, cam_from_world, k)
        key = ("-" if sign < 0 else "+") + name
        if a is not None and b is not None and np.linalg.norm(b - a) > 1e-6:
            d = (b - a) / np.linalg.norm(b - a)
            for side, e in SIDES.items():
                if vis.hidden(side) and d @ np.array(e) > 0.6:
                    out[key] = vis.describe(side)
                    break
        if key not in out and i == deep and float(normal @ view) > 0:
            out[key] = "unseen (its far side, facing away from the camera)"
    if vis.hidden("bottom"):
        out["bottom"] = vis.describe("bottom")
    if vis.hidden("top"):
        out["top"] = vis.describe("top")
    return out


def raise_top_to_mask(ext: Extents, mask: np.ndarray, depth: np.ndarray, world_from_camera: np.ndarray, k: Any,
                      max_height: float) -> str | None:
    """Raise the top until the box's projection reaches the mask's top, where the sensor saw nothing.

    Black leather, glass and thin frames give no depth, so a headboard above the mattress can be in
    the mask (its holes are filled) but not among the 3D points. The box must still reach the top
    of what the photo shows. Done only when most mask pixels above the box's projected top have no
    depth (otherwise the points there were rejected for a reason) and never above ``max_height``.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows) or rows[0] == 0:
        return None
    top_row = float(np.percentile(np.nonzero(mask)[0], 0.5))
    cam_from_world = np.linalg.inv(world_from_camera)

    def projected_top(z1: float) -> float:
        e = Extents(ext.yaw, ext.x, ext.y, [ext.z[0], z1])
        box = e.box()
        c, s = math.cos(box.yaw), math.sin(box.yaw)
        vs = []
        for dx in (-0.5, 0.5):
            for dy in (-0.5, 0.5):
                corner = np.array([box.center[0] + c * dx * box.size[0] - s * dy * box.size[1],
                                   box.center[1] + s * dx * box.size[0] + c * dy * box.size[1], z1])
                p = _project(corner, cam_from_world, k)
                if p is not None:
                    vs.append(p[1])
        return min(vs) if vs else math.inf

    now = projected_top(ext.z[1])
    if now <= top_row + 3:
        return None
    above = mask[: int(now)]
    no_depth = ~(np.isfinite(depth[: int(now)]) & (depth[: int(now)] > 1e-3))
    if above.sum() < 20 or (above & no_depth).sum() < 0.5 * above.sum():
        return None
    lo, hi = ext.z[1], max(ext.z[1], ext.z[0] + max_height)
    if projected_top(hi) > top_row:  # even the tallest plausible box does not reach it: go that far only
        old, ext.z[1] = ext.z[1], hi
        return (f"top raised from {old - ext.z[0]:.2f} m to {hi - ext.z[0]:.2f} m tall (the most its class allows): "
                "the photo shows it reaching higher where the sensor gave no depth")
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if projected_top(mid) > top_row else (lo, mid)
    old, ext.z[1] = ext.z[1], hi
    return (f"top raised from {old - ext.z[0]:.2f} m to {hi - ext.z[0]:.2f} m tall: the photo shows it reaching "
            "higher where the sensor gave no depth")


def _project(p: np.ndarray, cam_from_world: np.ndarray, k: Any) -> np.ndarray | None:
    c = cam_from_world[:3, :3] @ p + cam_from_world[:3, 3]
    if c[2] <= 1e-3:
        return None
    return np.array([k.fx * c[0] / c[2] + k.cx, k.fy * c[1] / c[2] + k.cy])


def complete_box(ext: Extents, faces: dict[str, str], prior: Any | None, walls: Sequence[Plane], *,
                 floor_standing: bool = False, label: str = "object",
                 obstacles: Sequence[Box3D] = (), unsupported_bottom: bool = False) -> tuple[Extents, list[str]]:
    """Grow the open faces to the class prior where the measurement is implausibly small; returns notes.

    ``prior``: a :class:`core.library.priors.SizePrior` (width, depth, height) or None. The target is
    the class median, or its 20th percentile for classes whose sizes vary more than 1.6× (plants,
    lamps): the measurement is a lower bound, and a wide class says little beyond it. Faces cut off
    by the frame or occluded grow before an unseen far side (what the frame cuts is surely missing),
    and no face grows through a wall or into ``obstacles`` (other objects' visible boxes). A hidden
    bottom with nothing found under it to stand on (``unsupported_bottom``) grows down to the
    class's height.
    """
    notes: list[str] = []
    ext = Extents(ext.yaw, list(ext.x), list(ext.y), list(ext.z))
    if floor_standing and abs(ext.z[0]) > 0.03:
        notes.append(f"stands on the floor (a {label} does): its bottom, measured {ext.z[0]:+.2f} m from the floor"
                     + (f" ({faces['bottom']})" if "bottom" in faces else "") + ", now reaches the floor")
        ext.z[0] = 0.0
    if prior is None:
        if any(k in faces for k in ("-x", "+x", "-y", "+y", "top")):
            notes.append("no size prior for this class: its hidden sides were left as measured")
        return ext, notes
    src = prior.source
    height = ext.z[1] - ext.z[0]
    if "top" in faces and height < prior.low[2]:
        target = _target(prior, 2)
        notes.append(f"top {faces['top']}: height completed from {height:.2f} m to {target:.2f} m "
                     f"(size prior: {src})")
        ext.z[1] = ext.z[0] + target
    height = ext.z[1] - ext.z[0]
    if unsupported_bottom and "bottom" in faces and height < prior.low[2] and ext.z[0] > 0.0:
        # its bottom is hidden and nothing it could stand on was found under it (else it reached down
        # there): it is at least as tall as its class, not the sliver seen above what hides it
        bottom = max(0.0, ext.z[1] - _target(prior, 2))
        notes.append(f"bottom {faces['bottom']}: height completed downwards from {height:.2f} m to "
                     f"{ext.z[1] - bottom:.2f} m (size prior: {src})")
        ext.z[0] = bottom
    sizes = [ext.x[1] - ext.x[0], ext.y[1] - ext.y[0]]
    growable = [[f"{s}{n}" in faces for s in "-+"] for n in "xy"]
    order = _axis_order(sizes, growable, prior)
    for i, name in enumerate("xy"):
        j = order[i]
        if sizes[i] >= prior.low[j] or not any(growable[i]):
            continue
        grow = _target(prior, j) - sizes[i]
        keys = [f"{s}{name}" for s, g in zip("-+", growable[i]) if g]
        seen_cut = [k for k in keys if not faces[k].startswith("unseen")]
        keys = seen_cut or keys
        share = grow / len(keys)
        interval = ext.x if i == 0 else ext.y
        for key in keys:
            sign = -1 if key[0] == "-" else 1
            step = min(_wall_limit(ext, i, sign, share, walls), _obstacle_limit(ext, i, sign, share, obstacles))
            if sign < 0:
                interval[0] -= step
            else:
                interval[1] += step
        reasons = "; ".join(f"{k} {faces[k]}" for k in keys)
        notes.append(f"{'width' if j == 0 else 'depth'} along {name} completed from {sizes[i]:.2f} m to "
                     f"{interval[1] - interval[0]:.2f} m ({reasons}; size prior: {src})")
    return ext, notes


def _target(prior: Any, j: int) -> float:
    """The size to complete to along prior dimension ``j``: the median, or the 20th percentile of a wide class."""
    lo, med, hi = prior.low[j], prior.median[j], prior.high[j]
    return med if hi <= 1.6 * max(lo, 1e-6) else lo


def _obstacle_limit(ext: Extents, i: int, sign: int, grow: float, obstacles: Sequence[Box3D]) -> float:
    """How far a face may move outwards before it runs into another object's visible box in front of it."""
    c, s = math.cos(ext.yaw), math.sin(ext.yaw)
    along, across = (ext.x, ext.y) if i == 0 else (ext.y, ext.x)
    allowed = grow
    for b in obstacles:
        if min(ext.z[1], b.center[2] + b.size[2] / 2) - max(ext.z[0], b.center[2] - b.size[2] / 2) < 0.05:
            continue
        cb, sb = math.cos(b.yaw), math.sin(b.yaw)
        corners = [(b.center[0] + cb * dx * b.size[0] - sb * dy * b.size[1],
                    b.center[1] + sb * dx * b.size[0] + cb * dy * b.size[1]) for dx in (-0.5, 0.5) for dy in (-0.5, 0.5)]
        u = [c * x + s * y for x, y in corners]
        v = [-s * x + c * y for x, y in corners]
        p, q = (u, v) if i == 0 else (v, u)
        if min(q) >= across[1] - 0.01 or max(q) <= across[0] + 0.01:
            continue  # beside the face, not in front of it
        if sign > 0 and min(p) >= along[1] - 0.01:
            allowed = min(allowed, max(0.0, min(p) - along[1]))
        elif sign < 0 and max(p) <= along[0] + 0.01:
            allowed = min(allowed, max(0.0, along[0] - max(p)))
    return allowed


def _axis_order(sizes: list[float], growable: list[list[bool]], prior: Any) -> tuple[int, int]:
    """Which prior dimension (0 width, 1 depth) each box axis is: the pairing the measurement contradicts least.

    A fully seen axis should match its dimension; a partly hidden one only must not exceed it.
    """
    def cost(order: tuple[int, int]) -> tuple[float, float]:
        total = 0.0
        for i, j in enumerate(order):
            m, p = max(sizes[i], 1e-3), max(prior.median[j], 1e-3)
            if m > p or not any(growable[i]):
                total += math.log(m / p) ** 2
        # when both pairings fit (both axes partly hidden), the seen part's proportions decide: the
        # longer seen side is the longer one (a sofa seen as a strip along the view runs along it)
        seen = math.log(max(sizes[0], 1e-3) / max(sizes[1], 1e-3))
        wanted = math.log(max(prior.median[order[0]], 1e-3) / max(prior.median[order[1]], 1e-3))
        return round(total, 9), (seen - wanted) ** 2

    return min(((0, 1), (1, 0)), key=cost)


def _wall_limit(ext: Extents, i: int, sign: int, grow: float, walls: Sequence[Plane]) -> float:
    """How far a face may move outwards before a corner of it would pass through a wall."""
    normal = ext.axis(i) * sign
    interval_other = ext.y if i == 0 else ext.x
    centre = ext.face_centre(i, sign)
    half = (interval_other[1] - interval_other[0]) / 2
    across = ext.axis(1 - i)
    allowed = grow
    for wall in walls:
        n = np.asarray(wall.normal, float)
        towards = float(n @ normal)
        if towards >= -1e-6:
            continue
        for corner in (centre + half * across, centre - half * across):
            room = float(n @ corner - wall.offset)  # > 0 inside the room
            allowed = min(allowed, max(0.0, room / -towards))
    return allowed


def lower_to_thin_parts(ext: Extents, mask: np.ndarray, depth: np.ndarray, k: Intrinsics,
                         world_from_camera: np.ndarray, median_depth: float) -> float | None:
    """A lower bottom where the whole mask (not its eroded inside) reaches lower at the object's own depth.

    Why: the mask is eroded before measuring, to drop pixels bleeding over its outline; a table
    lamp's stem is one or two pixels wide and vanishes with it, and a small foot with it, so the lamp
    was measured as its shade alone and floated 30 cm above its table. Mask pixels below the box, at
    about the object's depth and near its footprint, are the object itself. Returns the new bottom
    height, or None.
    """
    vs, us = np.nonzero(mask & np.isfinite(depth) & (depth > 1e-3))
    if len(vs) < 3:
        return None
    z = depth[vs, us].astype(np.float64)
    near = np.abs(z - median_depth) < max(0.15, 0.05 * median_depth)
    vs, us, z = vs[near], us[near], z[near]
    if len(z) < 3:
        return None
    world = to_world(pixels_to_camera(us, vs, z, k, depth.shape), world_from_camera)
    c, s = math.cos(ext.yaw), math.sin(ext.yaw)
    u, v = c * world[:, 0] + s * world[:, 1], -s * world[:, 0] + c * world[:, 1]
    margin = 0.3  # only the front faces were measured: the foot may stand behind the shade's front
    under = ((u > ext.x[0] - margin) & (u < ext.x[1] + margin) & (v > ext.y[0] - margin) & (v < ext.y[1] + margin)
             & (world[:, 2] < ext.z[0]))
    if under.sum() < 3:
        return None
    bottom = max(float(np.percentile(world[under, 2], 2)), 0.0)
    return bottom if bottom < ext.z[0] - 0.03 else None
