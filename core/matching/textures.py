"""Background textures for floor, wall and ceiling.

By colour (always available): the photo's pixels are lifted to 3D with the depth map and
the camera, those lying on the floor / a wall / the ceiling plane (and on no object) give
that surface's median colour, and the texture whose mean colour is nearest in CIE Lab wins
— Lab so that the distance follows what a person sees as "close". By a VLM (optional):
the caller passes a chooser that picks from the texture captions; its answer is validated
and falls back to colour when it names no known texture.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..schema import Observation

KINDS = ("floor", "wall", "ceiling")
PLANE_TOL_M = 0.05
STRIDE = 2
LIGHT_NEUTRAL = (0.92, 0.92, 0.9)  # what an unseen ceiling most likely is


def rgb_to_lab(rgb01: np.ndarray) -> np.ndarray:
    """sRGB in 0..1 [..., 3] → CIE Lab [..., 3] (D65)."""
    import cv2

    arr = np.asarray(rgb01, dtype=np.float32).reshape(-1, 1, 3)
    return cv2.cvtColor(np.clip(arr, 0, 1), cv2.COLOR_RGB2Lab).reshape(np.shape(rgb01))


def world_points(depth: np.ndarray, camera: Any, stride: int = STRIDE) -> tuple[np.ndarray, np.ndarray]:
    """World points [M, 3] of every ``stride``-th pixel with valid depth, and their (row, col) [M, 2]."""
    h, w = depth.shape
    rows, cols = np.mgrid[0:h:stride, 0:w:stride]
    z = depth[rows, cols]
    ok = np.isfinite(z) & (z > 0)
    rows, cols, z = rows[ok], cols[ok], z[ok]
    # Depth maps may be at another resolution than the camera's image size: scale intrinsics.
    sx, sy = w / camera.width, h / camera.height
    x = (cols + 0.5 - camera.cx * sx) / (camera.fx * sx) * z
    y = (rows + 0.5 - camera.cy * sy) / (camera.fy * sy) * z
    cam = np.stack([x, y, z], axis=1)
    wfc = np.asarray(camera.world_from_camera, dtype=np.float64)
    return cam @ wfc[:3, :3].T + wfc[:3, 3], np.stack([rows, cols], axis=1)


def surface_colours(obs: Observation, image: np.ndarray, depth: np.ndarray | None,
                    objects_mask: np.ndarray | None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Median colour (0..1 RGB) of each visible surface kind, and notes on how it was found."""
    notes: list[str] = []
    h, w = image.shape[:2]
    free = np.ones((h, w), bool) if objects_mask is None else ~objects_mask
    out: dict[str, np.ndarray] = {}
    if depth is not None and obs.planes:
        if depth.shape != (h, w):
            import cv2
            depth = cv2.resize(depth.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
        pts, rc = world_points(depth, obs.camera)
        keep = free[rc[:, 0], rc[:, 1]]
        pts, rc = pts[keep], rc[keep]
        for kind in KINDS:
            sel = np.zeros(len(pts), bool)
            for plane in obs.planes:
                if plane.kind == kind:
                    sel |= np.abs(pts @ np.asarray(plane.normal) - plane.offset) < PLANE_TOL_M
            if sel.sum() >= 20:
                out[kind] = np.median(image[rc[sel, 0], rc[sel, 1]].astype(np.float32) / 255.0, axis=0)
        return out, notes
    # No depth or no planes: image bands, a rough guess that says so.
    notes.append("textures: no depth/planes; surface colours guessed from image bands (bottom = floor, top = wall).")
    bands = {"floor": (int(0.8 * h), h), "wall": (int(0.1 * h), int(0.45 * h))}
    for kind, (a, b) in bands.items():
        region = image[a:b][free[a:b]]
        if len(region) >= 20:
            out[kind] = np.median(region.astype(np.float32) / 255.0, axis=0)
    return out, notes


def nearest_texture(colour: np.ndarray, textures: Sequence[Any]) -> tuple[str, float]:
    """Id of the texture whose mean colour is nearest in Lab, and that distance (ΔE)."""
    means = np.array([t.mean_rgb for t in textures], dtype=np.float32)
    d = np.linalg.norm(rgb_to_lab(means) - rgb_to_lab(np.asarray(colour, np.float32)[None])[0], axis=1)
    i = int(np.argmin(d))
    return textures[i].id, float(d[i])


def choose_by_colour(colours: dict[str, np.ndarray], textures: Sequence[Any]) -> tuple[dict[str, str], list[str]]:
    """One texture per kind; unseen surfaces get a fallback named in the notes."""
    chosen: dict[str, str] = {}
    notes: list[str] = []
    for kind in KINDS:
        pool = [t for t in textures if t.kind == kind and getattr(t, "mean_known", True)]
        unreadable = [t for t in textures if t.kind == kind and not getattr(t, "mean_known", True)]
        if unreadable:  # a colour that could not be read must not drive the choice as grey would
            notes.append(f"textures: {len(unreadable)} {kind} texture(s) could not be read and were left out "
                         f"of the colour choice ({', '.join(getattr(t, 'id', '?') for t in unreadable[:3])}).")
        if not pool:
            notes.append(f"textures: the library has no readable {kind} texture.")
            continue
        colour = colours.get(kind)
        if colour is None:
            colour = np.asarray(LIGHT_NEUTRAL) if kind == "ceiling" else colours.get("wall" if kind == "floor" else "floor")
            if colour is None:
                colour = np.asarray(LIGHT_NEUTRAL)
            notes.append(f"textures: no {kind} pixels seen; chose the {kind} texture nearest a fallback colour.")
        chosen[kind], _ = nearest_texture(colour, pool)
    return chosen, notes


def choose_textures(obs: Observation, image: np.ndarray, textures: Sequence[Any], *, depth: np.ndarray | None = None,
                    objects_mask: np.ndarray | None = None,
                    vlm_chooser: Callable[[np.ndarray, dict[str, list[tuple[str, str]]]], dict[str, str]] | None = None
                    ) -> tuple[dict[str, str], list[str]]:
    """Floor / wall / ceiling texture ids for this photo, and notes for the CandidateSet.

    ``vlm_chooser(image, {kind: [(id, caption), …]}) -> {kind: id}`` is used first when given;
    answers naming unknown ids are ignored (colour decides those kinds).
    """
    if not textures:
        return {}, ["textures: the library has no background textures; none chosen."]
    colours, notes = surface_colours(obs, image, depth, objects_mask)
    chosen, more = choose_by_colour(colours, textures)
    notes += more
    if vlm_chooser is not None:
        options = {k: [(t.id, t.caption) for t in textures if t.kind == k] for k in KINDS}
        try:
            answer = vlm_chooser(image, options) or {}
        except Exception as exc:  # the VLM is optional: any failure falls back to colour, and says so
            notes.append(f"textures: VLM choice failed ({type(exc).__name__}: {exc}); used colour statistics.")
            answer = {}
        for kind, tid in answer.items():
            if kind in options and any(tid == o[0] for o in options[kind]):
                chosen[kind] = tid
            else:
                notes.append(f"textures: VLM named unknown {kind} texture {tid!r}; kept the colour choice.")
    return chosen, notes
