"""Doors and windows become wall objects: which wall, where along it, how big, how high.

Why: they are part of the room, and light and the eye go through them. Discarding them (as the
detector's "structure" labels used to be) loses a room's most recognisable features. Here a
window or door detection becomes a :class:`~core.schema.SceneObject` that hangs **in** its wall:

* **which wall**: every mask pixel's viewing ray is followed to the first room plane it meets
  (in a convex room that is the surface behind the pixel); the wall most pixels reach wins. Rays
  are used rather than the measured depth, which looks *through* a window (or an open door) and
  so lies behind the wall;
* **position and size**: where those rays meet the wall plane, in the wall's own coordinates (along
  the wall, height above the floor), robust to a few stray pixels (2nd–98th percentile);
* **a door stands on the floor**: its bottom is set to the floor, with a note if that moved it;
* the box is flush with the wall: centred on the wall plane, :data:`THICKNESS_M` thick, its x axis
  along the wall; ``support`` and ``against_walls`` name the wall, ``hanging_on_wall`` is set, so the
  layout places it WALL_HUNG on that wall and retrieves it from the library's window / door classes.

:func:`opening_rect` gives the hole's corners on the wall plane for the wall mesh (Blender side).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..library.text_match import content_words, words
from ..schema import Box3D, Detection, Plane, SceneObject

KINDS = {"window": "window", "door": "door", "doorway": "door", "skylight": "window", "casement": "window",
         "gate": "door"}
THICKNESS_M = 0.10
MAX_PIXELS = 4000
DOOR_SNAP_M = 0.35   # a door whose bottom is seen within this of the floor is simply on it; farther is noted


def opening_kind(label: str) -> str | None:
    """"window" / "door" when the label's head word names one ("french door", "windows"), else None.

    Things named after a window or door but not one ("window blind", "door mat") have another head word.
    """
    ws = content_words(words(label))
    return KINDS.get(ws[-1]) if ws else None


@dataclass
class WallHit:
    wall: str
    share: float            # of the mask's rays that reach this wall first
    along: tuple[float, float]
    height: tuple[float, float]
    tangent: tuple[float, float, float]
    origin: tuple[float, float, float]


def _rays(mask: np.ndarray, k: Any, world_from_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(mask)
    if len(xs) > MAX_PIXELS:
        pick = np.linspace(0, len(xs) - 1, MAX_PIXELS).astype(int)
        ys, xs = ys[pick], xs[pick]
    cam = np.stack([(xs + 0.5 - k.cx) / k.fx, (ys + 0.5 - k.cy) / k.fy, np.ones(len(xs))], axis=1)
    m = np.asarray(world_from_camera, dtype=float)
    return m[:3, 3], cam @ m[:3, :3].T


def wall_frame(plane: Plane) -> tuple[np.ndarray, np.ndarray]:
    """(origin, tangent): the wall point nearest the world's vertical axis and the horizontal direction along it."""
    n = np.asarray(plane.normal, dtype=float)
    t = np.cross([0.0, 0.0, 1.0], n)
    t = t / max(np.linalg.norm(t), 1e-9)
    origin = n * plane.offset
    origin[2] = 0.0
    return origin, t


def locate_on_wall(mask: np.ndarray, k: Any, world_from_camera: np.ndarray, planes: Sequence[Plane]) -> WallHit | None:
    """The wall the masked pixels look at first, and the mask's extent on it (None when no wall is behind it)."""
    if mask is None or not mask.any():
        return None
    origin, dirs = _rays(mask, k, world_from_camera)
    ts = []
    for p in planes:
        n = np.asarray(p.normal, dtype=float)
        denom = dirs @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (p.offset - origin @ n) / denom
        ts.append(np.where((denom < -1e-9) & (t > 0), t, np.inf))  # rays leaving the room through this plane
    t_all = np.stack(ts, axis=1)
    first = np.argmin(t_all, axis=1)
    reach = np.isfinite(t_all[np.arange(len(first)), first])
    walls = [i for i, p in enumerate(planes) if p.kind == "wall"]
    if not walls:
        return None
    counts = {i: int(np.sum((first == i) & reach)) for i in walls}
    best = max(counts, key=lambda i: counts[i])
    if counts[best] == 0:
        return None
    sel = (first == best) & reach
    pts = origin + dirs[sel] * t_all[sel, best][:, None]
    o, tangent = wall_frame(planes[best])
    along = (pts - o) @ tangent
    a0, a1 = np.percentile(along, [2, 98])
    z0, z1 = np.percentile(pts[:, 2], [2, 98])
    return WallHit(planes[best].id, counts[best] / max(len(first), 1), (float(a0), float(a1)), (float(z0), float(z1)),
                   tuple(float(v) for v in tangent), tuple(float(v) for v in o))


def opening_object(object_id: str, label: str, detection: Detection | None, mask: np.ndarray, k: Any,
                   world_from_camera: np.ndarray, planes: Sequence[Plane], confidence: float = 1.0) -> SceneObject:
    """A window / door SceneObject placed in its wall; without a wall behind it, kept as removed with the reason."""
    kind = opening_kind(label) or "window"
    hit = locate_on_wall(mask, k, world_from_camera, planes)
    if hit is None:
        return SceneObject(object_id, label, detection, None, support=None, confidence=confidence,
                           removed=f"no wall plane was found behind this {kind}, so it cannot be set into one",
                           notes=[f"{kind} not placed: no wall behind it was measured; restore it to place it freely"])
    floor = next((p for p in planes if p.kind == "floor"), None)
    floor_z = 0.0 if floor is None else float(floor.offset) / max(float(floor.normal[2]), 1e-9)
    (a0, a1), (z0, z1) = hit.along, hit.height
    notes = [f"{kind} in {hit.wall}: {a1 - a0:.2f} m wide, {z1 - z0:.2f} m high, bottom {z0 - floor_z:.2f} m above "
             f"the floor ({hit.share:.0%} of its pixels look at that wall)"]
    if kind == "door":
        if z0 - floor_z > DOOR_SNAP_M:
            notes.append(f"door bottom seen {z0 - floor_z:.2f} m above the floor (hidden by furniture?); "
                         "set on the floor")
        z0 = floor_z
    o, t = np.asarray(hit.origin), np.asarray(hit.tangent)
    mid = o + t * (a0 + a1) / 2
    center = (float(mid[0]), float(mid[1]), float((z0 + z1) / 2))
    yaw = math.atan2(t[1], t[0])
    box = Box3D(center, (max(a1 - a0, 0.05), THICKNESS_M, max(z1 - z0, 0.05)), yaw)
    return SceneObject(object_id, label, detection, box, support=hit.wall, against_walls=[hit.wall],
                       hanging_on_wall=True, confidence=confidence, notes=notes)


def box_mask(box: Sequence[float], shape: tuple[int, int]) -> np.ndarray:
    """A detection's pixel box as a mask: windows and doors are rectangles, and their depth (seen through
    them) makes depth segmentation unreliable, so the box is the better mask when the detector gave none."""
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = True
    return mask


def opening_rect(box: Box3D, plane: Plane) -> list[tuple[float, float, float]]:
    """The hole an opening's box cuts into ``plane``: 4 world corners on the plane (bottom-left first, counter-clockwise
    seen from inside the room). For the wall mesh: cut this rectangle through the wall."""
    n = np.asarray(plane.normal, dtype=float)
    c = np.asarray(box.center, dtype=float)
    c = c - n * (c @ n - plane.offset)  # onto the plane
    _, t = wall_frame(plane)
    hw, hh = box.size[0] / 2, box.size[2] / 2
    up = np.array([0.0, 0.0, 1.0])
    corners = [c - t * hw - up * hh, c + t * hw - up * hh, c + t * hw + up * hh, c - t * hw + up * hh]
    return [tuple(float(v) for v in p) for p in corners]


def openings_summary(objects: Sequence[SceneObject]) -> list[dict[str, Any]]:
    """One record per placed window / door (for provenance and the wall mesh): id, kind, wall, box."""
    out = []
    for o in objects:
        kind = opening_kind(o.label)
        if kind and o.box is not None and o.support and o.support.startswith("wall_") and not o.removed:
            bottom = o.box.center[2] - o.box.size[2] / 2
            out.append({"object_id": o.id, "kind": kind, "wall": o.support, "center": list(o.box.center),
                        "width": o.box.size[0], "height": o.box.size[2], "bottom": bottom, "yaw": o.box.yaw})
    return out
