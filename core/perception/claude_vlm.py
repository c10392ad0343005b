"""The scene-graph VLM: Claude through the ``anthropic`` SDK, answering through one tool.

* The image is sent as PNG from our RGB array, so channels are in RGB order (the published
  Imaginarium code swaps red and blue on its first call; we never hand OpenCV BGR to the API).
* The answer is requested with ``tool_choice`` forcing the ``report_scene`` tool, and its input
  is validated against the tool's JSON schema plus our own checks (ids must be the listed ones).
  One retry shows the model its error as a ``tool_result`` with ``is_error``; a second bad
  answer is a :class:`ModelOutputError`.
* Objects are sent in batches of ``vlm.max_objects_per_call`` (all batches share the image).
* Each call has a time limit (``vlm.timeout_s``); the SDK retries 429 and 5xx twice with its own
  backoff, after which failures become typed errors with a fix.
"""
from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from ..config import Secrets, VlmSettings
from ..errors import ApiAuthError, ModelOutputError, register_secret
from . import prompts
from .claude_tools import KEY_FIX, ask_tool, call_tool
from .detections_file import MAX_LABEL_CHARS
from .json_check import validate
from .protocols import VlmAnswer, VlmObjectAnswer

MAX_IMAGE_SIDE = 1568  # larger images are downscaled by the API anyway; sending less is faster


class ClaudeVlm:
    """:class:`~core.perception.protocols.VlmBackend` for Anthropic's Messages API."""

    name = "claude"

    def __init__(self, settings: VlmSettings, secrets: Secrets, *, max_retries: int = 2) -> None:
        import anthropic

        if not secrets.anthropic_api_key:
            raise ApiAuthError("No Anthropic API key is set.", KEY_FIX)
        self.settings = settings
        self._key = str(secrets.anthropic_api_key)
        register_secret(self._key)  # no error raised after this point can show it
        self._client = anthropic.Anthropic(api_key=self._key,
                                           base_url=settings.base_url or None,
                                           timeout=settings.timeout_s, max_retries=max_retries)

    def describe(self, rgb: np.ndarray, objects: list[dict[str, Any]], labels: list[str]) -> VlmAnswer:
        image_block = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                   "data": encode_png_rgb(rgb)}}
        answer = VlmAnswer(model=self.settings.model)
        size = max(1, int(self.settings.max_objects_per_call))
        known = {o["id"] for o in objects}  # a support or facing may be an object of another batch
        for start in range(0, len(objects), size):
            batch = objects[start:start + size]
            data, calls = self._ask(image_block, batch, labels, known)
            answer.calls += calls
            said, groups, missing = read_answer(data, {o["id"] for o in batch}, known)
            answer.objects.update((o.id, o) for o in said)
            answer.groups.extend(groups)
            answer.missing_labels.extend(m for m in missing if m not in answer.missing_labels)
        return answer

    def _ask(self, image_block: dict, batch: list[dict], labels: list[str], known: set[str]) -> tuple[dict, int]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": [
            image_block, {"type": "text", "text": prompts.user_prompt(batch, labels)}]}]
        ids = {o["id"] for o in batch}
        return ask_tool(self._call, messages, prompts.SCENE_TOOL["name"], lambda data: check_answer(data, ids, known),
                        prompts.retry_prompt, model=self.settings.model, what="the scene question")

    def _call(self, messages: list[dict[str, Any]]) -> Any:
        return call_tool(self._client, model=self.settings.model, timeout_s=self.settings.timeout_s, key=self._key,
                         system=prompts.SYSTEM, tool=prompts.SCENE_TOOL, messages=messages, max_tokens=4096,
                         what="the scene question")


def check_answer(data: Any, ids: set[str], known: set[str] | None = None) -> str:
    """Schema problems, then meaning problems; '' when the answer can be used.

    ``ids`` are the objects asked about in this call; ``known`` all objects of the image (a
    support, facing or group member may be one of another batch). Meaning: every answered id is
    asked about and answered once, every reference is known and not the object itself, and a
    missing label is a short category name. The text is shown to the model once so it can
    correct itself.
    """
    known = ids | (known or set())
    problems = validate(data, prompts.SCENE_TOOL["input_schema"], "input")
    if problems:
        return "; ".join(problems[:5])
    seen: set[str] = set()
    for item in data["objects"]:
        oid = item["id"]
        if oid not in ids:
            return f"object id {_short(oid)} is not one of the listed ids {sorted(ids)}"
        if oid in seen:
            return f"object {oid} is answered twice"
        seen.add(oid)
        support, facing = item.get("support"), item.get("facing")
        if item["relation"] == "on_object" and not support:
            return f"object {oid} is on_object but names no support"
        if item["relation"] == "on_object" and (support not in known or support == oid):
            return f"object {oid} has support {_short(support)}, which is not another listed id"
        if facing is not None and (facing not in known or facing == oid):
            return f"object {oid} faces {_short(facing)}, which is not another listed id"
    for group in data.get("groups", []):
        for member in group:
            if member not in known:
                return f"group member {_short(member)} is not one of the listed ids"
    for name in data.get("missing_labels", []):
        if not name.strip() or len(name) > MAX_LABEL_CHARS or not name.isprintable():
            return f"missing label {_short(name)} is not a short category name"
    return ""


def read_answer(data: Any, ids: set[str], known: set[str] | None = None
                ) -> tuple[list[VlmObjectAnswer], list[list[str]], list[str]]:
    """A checked tool input → (object answers, groups of two or more, missing labels lower-cased).

    Raises :class:`ModelOutputError` when :func:`check_answer` finds a problem, so no answer
    reaches the scene graph unchecked.
    """
    error = check_answer(data, ids, known)
    if error:
        raise ModelOutputError(f"The VLM's answer cannot be used: {error}.")
    objects = [VlmObjectAnswer(item["id"], bool(item["keep"]), item["relation"],
                               item.get("support") if item["relation"] == "on_object" else None,
                               item.get("facing"), item.get("plausible_size")) for item in data["objects"]]
    groups = [list(dict.fromkeys(g)) for g in data.get("groups", []) if len(set(g)) > 1]
    missing = list(dict.fromkeys(m.strip().lower() for m in data.get("missing_labels", [])))
    return objects, groups, missing


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def encode_png_rgb(rgb: np.ndarray) -> str:
    """Base64 PNG of an (H, W, 3) RGB array, downscaled to ≤ MAX_IMAGE_SIDE; channels stay in RGB order."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    if max(img.size) > MAX_IMAGE_SIDE:
        img.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")
