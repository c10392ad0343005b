"""Size refinement by the VLM (the paper's step): the real width and depth of floor objects.

Why: a box measured from depth ends where the view ends — a bed seen from its foot is a slab, a
sofa cut by the frame is short — and the amodal completion can only guess from class sizes. A
vision-language model that sees the object (the whole image plus a crop) and the measured box
knows that this is a king-size bed or a three-seat sofa. It is asked, for every object standing
on the floor, the object's real width (longer horizontal side) and depth (shorter) in metres; the
height is kept (depth measures it well: tops are seen).

An answer is used only when it is plausible: each side within the class prior's 20–80 % range
widened by :data:`PRIOR_SLACK`, and the box is never made smaller than what was seen by more
than :data:`SHRINK_LIMIT`. Used and ignored answers both leave a note on the object. The box
grows away from the camera (its seen front stays where it was measured). Without a key nothing
is asked: the class priors already completed the hidden sides during perception
(:mod:`core.geometry.amodal`), and a note says so.

Priors are read through a small interface so any table works: an object with
``lookup(label) -> SizePrior (.median, .low, .high)`` (:class:`core.library.priors.SizePriors`) or
``size_of(label) -> (median[3], spread[3]) | None``; sizes are (width x, depth y, height z).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import Secrets, VlmSettings
from ..errors import ApiAuthError, register_secret
from ..schema import Box3D, Observation
from .claude_tools import KEY_FIX, ask_tool, call_tool
from .json_check import validate

PRIOR_SLACK = 1.6    # an answer may lie this factor outside the class's 20–80 % range
SHRINK_LIMIT = 0.7   # an answer may not make a side smaller than this share of what was measured
NO_PRIOR_RANGE = (0.05, 6.0)
CROP_SIDE = 384
SIZE_TOOL = {
    "name": "report_sizes",
    "description": "Report the real size of each listed object.",
    "input_schema": {
        "type": "object", "additionalProperties": False, "required": ["objects"],
        "properties": {"objects": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["id", "width_m", "depth_m"],
            "properties": {"id": {"type": "string"}, "width_m": {"type": "number"}, "depth_m": {"type": "number"}}}}},
    },
}
SYSTEM = ("You estimate real furniture sizes from photos of rooms. Sizes are in metres. Width is the longer "
          "horizontal side of the object, depth the shorter one, whatever way it faces the camera.")


@dataclass
class SizeAnswer:
    id: str
    width_m: float
    depth_m: float


def refine_sizes(observation: Observation, rgb: np.ndarray, priors: Any, settings: VlmSettings, secrets: Secrets,
                 *, max_retries: int = 2) -> tuple[Observation, list[str]]:
    """A copy of ``observation`` with the floor objects' box widths and depths refined, and run notes."""
    out = copy.deepcopy(observation)
    asked = [o for o in out.graph.objects if _is_floor_object(o)]
    if not asked:
        return out, []
    if not secrets.anthropic_api_key:
        return out, ["sizes: no Anthropic key, so the VLM was not asked; hidden sides come from the class "
                     "size priors"]
    answers = SizeVlm(settings, secrets, max_retries=max_retries).ask(rgb, asked, out.camera)
    used = 0
    for obj in asked:
        ans = answers.get(obj.id)
        if ans is None:
            obj.notes.append("size: the VLM gave no size for it; kept the measured one")
            continue
        ok, why = plausible(obj, ans, priors)
        if not ok:
            obj.notes.append(f"size: ignored the VLM's {ans.width_m:.2f} × {ans.depth_m:.2f} m ({why})")
            continue
        old = obj.box.size
        obj.box = refined_box(obj.box, ans, out.camera)
        obj.notes.append(f"size refined by the VLM: {obj.box.size[0]:.2f} × {obj.box.size[1]:.2f} m footprint "
                         f"(measured {old[0]:.2f} × {old[1]:.2f} m); height kept")
        used += 1
    notes = [f"sizes: the VLM's width and depth used for {used} of {len(asked)} floor object(s)"]
    return out, notes


def _is_floor_object(obj: Any) -> bool:
    return (obj.support == "floor" and not obj.hanging_on_wall and not obj.hanging_from_ceiling and not obj.removed
            and obj.box is not None and obj.detection is not None)


def prior_range(priors: Any, label: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) per axis (x, y, z) of a label's class, from either prior interface, or None."""
    if priors is None:
        return None
    if hasattr(priors, "lookup"):
        p = priors.lookup(label)
        return None if p is None else (np.asarray(p.low, dtype=float), np.asarray(p.high, dtype=float))
    if hasattr(priors, "size_of"):
        found = priors.size_of(label)
        if found is None:
            return None
        median, spread = (np.asarray(v, dtype=float) for v in found)
        return np.maximum(median - spread, 0.0), median + spread
    return None


def plausible(obj: Any, ans: SizeAnswer, priors: Any) -> tuple[bool, str]:
    """Whether the answer can be used, and why not: positive, within the class range, not below what was seen."""
    long_side, short_side = max(ans.width_m, ans.depth_m), min(ans.width_m, ans.depth_m)
    if not (math.isfinite(long_side) and math.isfinite(short_side)) or short_side <= 0:
        return False, "not a size"
    rng = prior_range(priors, obj.label)
    if rng is None:
        lo, hi = NO_PRIOR_RANGE
        if not (lo <= short_side and long_side <= hi):
            return False, f"outside {lo}–{hi} m and no class size to compare with"
    else:
        low, high = rng
        p_long, p_short = (max(low[0], low[1]), max(high[0], high[1])), (min(low[0], low[1]), min(high[0], high[1]))
        for name, value, (a, b) in (("width", long_side, p_long), ("depth", short_side, p_short)):
            if not (a / PRIOR_SLACK <= value <= b * PRIOR_SLACK):
                return False, (f"a {obj.label} is {a:.2f}–{b:.2f} m in {name}, the answer says {value:.2f} m")
    seen = sorted((float(obj.box.size[0]), float(obj.box.size[1])), reverse=True)
    if long_side < SHRINK_LIMIT * seen[0] or short_side < SHRINK_LIMIT * seen[1]:
        return False, f"smaller than the {seen[0]:.2f} × {seen[1]:.2f} m the depth map shows"
    return True, ""


def refined_box(box: Box3D, ans: SizeAnswer, camera: Any) -> Box3D:
    """The box with the answer's footprint, grown away from the camera; its height and yaw are kept.

    The longer answered side goes to the box axis where it needs the smaller stretch: observed
    extents are lower bounds, and the one across the view (the front face, seen whole) is
    trusted three times more than the one along it (the depth the camera cannot see).
    """
    sx, sy = float(box.size[0]), float(box.size[1])
    long_side, short_side = max(ans.width_m, ans.depth_m), min(ans.width_m, ans.depth_m)
    c = np.asarray(box.center, dtype=float)
    cam = np.asarray(camera.world_from_camera, dtype=float)[:3, 3]
    cy, sy_ = math.cos(box.yaw), math.sin(box.yaw)
    axes = [np.array([cy, sy_, 0.0]), np.array([-sy_, cy, 0.0])]
    view = (c - cam) * np.array([1.0, 1.0, 0.0])
    view /= max(float(np.linalg.norm(view)), 1e-9)
    trust = [1.0 + 2.0 * (1.0 - abs(float(np.dot(a, view)))) for a in axes]

    def stretch(a: float, b: float) -> float:
        return sum(t * (abs(math.log(max(obs, 1e-3) / new)) + 2 * max(0.0, math.log(max(obs, 1e-3) / new)))
                   for t, obs, new in zip(trust, (sx, sy), (a, b)))
    nx, ny = (long_side, short_side) if stretch(long_side, short_side) <= stretch(short_side, long_side) \
        else (short_side, long_side)
    for axis, old, new in zip(axes, (sx, sy), (nx, ny)):
        if new > old:  # along the view keep the face towards the camera and grow the far side; across, both sides
            c = c + axis * float(np.dot(axis, view)) * (new - old) / 2
    return Box3D(tuple(float(v) for v in c), (float(nx), float(ny), float(box.size[2])), float(box.yaw))


class SizeVlm:
    """Claude through the ``anthropic`` SDK, answering through the ``report_sizes`` tool (forced)."""

    def __init__(self, settings: VlmSettings, secrets: Secrets, *, max_retries: int = 2) -> None:
        import anthropic

        if not secrets.anthropic_api_key:
            raise ApiAuthError("No Anthropic API key is set.", KEY_FIX)
        self.settings = settings
        self._key = str(secrets.anthropic_api_key)
        register_secret(self._key)
        self._client = anthropic.Anthropic(api_key=self._key, base_url=settings.base_url or None,
                                           timeout=settings.timeout_s, max_retries=max_retries)

    def ask(self, rgb: np.ndarray, objects: list, camera: Any) -> dict[str, SizeAnswer]:
        """Answers by object id, in batches of ``vlm.max_objects_per_call`` (each batch sees the whole image)."""
        from .claude_vlm import encode_png_rgb

        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": encode_png_rgb(rgb)}}
        out: dict[str, SizeAnswer] = {}
        size = max(1, int(self.settings.max_objects_per_call))
        for start in range(0, len(objects), size):
            batch = objects[start:start + size]
            content: list[dict] = [image]
            for obj in batch:
                content += [{"type": "text", "text": f"Crop of {obj.id}:"},
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                         "data": encode_png_rgb(_crop(rgb, obj.detection.box))}}]
            content.append({"type": "text", "text": _prompt(batch)})
            data = self._ask([{"role": "user", "content": content}], {o.id for o in batch})
            for item in data["objects"]:
                out[item["id"]] = SizeAnswer(item["id"], float(item["width_m"]), float(item["depth_m"]))
        return out

    def _ask(self, messages: list[dict], ids: set[str]) -> dict:
        data, _ = ask_tool(self._call, messages, SIZE_TOOL["name"], lambda data: _check(data, ids),
                           lambda error: f"Your answer could not be used: {error}. Call report_sizes again.",
                           model=self.settings.model, what="the size question")
        return data

    def _call(self, messages: list[dict]) -> Any:
        return call_tool(self._client, model=self.settings.model, timeout_s=self.settings.timeout_s, key=self._key,
                         system=SYSTEM, tool=SIZE_TOOL, messages=messages, max_tokens=1024, what="the size question")


def _check(data: Any, ids: set[str]) -> str:
    problems = validate(data, SIZE_TOOL["input_schema"], "input")
    if problems:
        return "; ".join(problems[:5])
    for item in data["objects"]:
        if item["id"] not in ids:
            return f"object id {item['id']!r} is not one of the listed ids {sorted(ids)}"
    return ""


def _prompt(batch: list) -> str:
    lines = ["For each object below, give its real width (longer horizontal side) and depth (shorter horizontal "
             "side) in metres. The measured box comes from a depth map and is often too shallow, because the "
             "camera sees only the front, or the frame or other furniture cut the object. Its height is reliable.",
             ""]
    for o in batch:
        sx, sy, sz = o.box.size
        lines.append(f"- {o.id} ({o.label}): measured footprint {sx:.2f} × {sy:.2f} m, height {sz:.2f} m")
    lines.append("\nAnswer with report_sizes, one entry per listed id.")
    return "\n".join(lines)


def _crop(rgb: np.ndarray, box: Any, margin: float = 0.1) -> np.ndarray:
    """The detection's pixels with a margin, at most CROP_SIDE on its longer side (nearest-neighbour)."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    x0, y0 = max(0, int(x0 - mx)), max(0, int(y0 - my))
    x1, y1 = min(w, int(math.ceil(x1 + mx))), min(h, int(math.ceil(y1 + my)))
    crop = rgb[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    step = max(1, int(math.ceil(max(crop.shape[:2]) / CROP_SIDE)))
    return np.ascontiguousarray(crop[::step, ::step])
