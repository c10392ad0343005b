"""Cloud detection with DINO-X / Grounding DINO 1.5 through ``dds-cloudapi-sdk`` (0.5.x).

Why the SDK is driven step by step (trigger, then our own polling) instead of ``task.run``:
``run`` polls with no deadline, retries only on its own error code, and turns HTTP failures
into bare ``RuntimeError``/``JSONDecodeError``. We need a deadline, cancellation, backoff on
quota and server errors, and messages that say what to do.

Two things the SDK does on import are switched off, because the rules of this product allow
no network traffic except to the configured model APIs: it starts Sentry error reporting to
the vendor (and tags events with the API token), which we stop by making ``sentry_sdk.init`` a
no-op while the SDK module is imported; and its shared ``requests`` session is given a hook
that raises on HTTP errors so the status code reaches us.

Token: ``DDS_API_TOKEN`` (or ``DDS_CLOUDAPI_TOKEN``) or the add-on preferences.
"""
from __future__ import annotations

import io
import json
import time
from typing import Any

import numpy as np

from ..config import DetectionSettings, Secrets
from ..errors import ApiAuthError, ApiError, ApiQuotaError, BadInputError, ModelOutputError, redact, register_secret
from .detections_file import check_box, check_label, check_score
from .masks import decode_rle
from .protocols import RawDetection

SEND_MAX_SIDE = 1536  # the API's own limit: larger images we shrink ourselves (see _fit)
MAX_OBJECTS = 1000
ANSWER_FIX = "Retry; if it persists, the DDS API changed its answer format: report it."
TOKEN_FIX = "Set DDS_API_TOKEN (or the DDS token in the add-on preferences) to a valid token from deepdataspace.com."
_SDK: Any = None


def _sdk() -> Any:
    """Import the SDK once, without its telemetry, with HTTP errors surfaced."""
    global _SDK
    if _SDK is not None:
        return _SDK
    import sentry_sdk

    real_init = sentry_sdk.init
    sentry_sdk.init = lambda *a, **k: None  # type: ignore[assignment]
    try:
        from dds_cloudapi_sdk import Config
        from dds_cloudapi_sdk.tasks import base
        from dds_cloudapi_sdk.tasks.v2_task import create_task_with_local_image_auto_resize
    finally:
        sentry_sdk.init = real_init  # type: ignore[assignment]
    hooks = base.http_session.hooks.setdefault("response", [])
    if _raise_for_status not in hooks:
        hooks.append(_raise_for_status)
    _SDK = {"Config": Config, "base": base, "create": create_task_with_local_image_auto_resize}
    return _SDK


def _raise_for_status(response: Any, *args: Any, **kwargs: Any) -> Any:
    if response.status_code >= 400:
        response.raise_for_status()
    return response


def api_path_for(model: str) -> str:
    """DINO-X models and Grounding DINO 1.x models live under different task paths."""
    return "/v2/task/dinox/detection" if model.lower().startswith("dino-x") else "/v2/task/grounding_dino/detection"


class DdsDetector:
    """:class:`~core.perception.protocols.DetectionBackend` for the DDS cloud API."""

    name = "dds"

    def __init__(self, settings: DetectionSettings, secrets: Secrets, *, backoff_s: float = 1.0,
                 poll_s: float = 0.5) -> None:
        if not secrets.dds_api_token:
            raise ApiAuthError("No DDS API token is set, so the cloud detector cannot run.", TOKEN_FIX)
        self.settings = settings
        self._token = str(secrets.dds_api_token)
        register_secret(self._token)  # no error raised after this point can show it
        self.notes: list[str] = []
        self.backoff_s = backoff_s
        self.poll_s = poll_s

    def detect(self, rgb: np.ndarray, labels: list[str], **context: Any) -> list[RawDetection]:
        """Boxes and masks at the image's size; ``self.notes`` says what was dropped from the answer and why."""
        ctx = context.get("ctx")
        h, w = rgb.shape[:2]
        sent = _fit(rgb, SEND_MAX_SIDE)
        result = self._run(self._body(labels), _png_bytes(sent), ctx)
        dets, self.notes = parse_dds_result(result, sent.shape[0], sent.shape[1], labels,
                                            self.settings.box_threshold)
        return [_rescale(d, sent.shape[0], sent.shape[1], h, w) for d in dets] if sent is not rgb else dets

    def _body(self, labels: list[str]) -> dict[str, Any]:
        return {"model": self.settings.dds_model, "prompt": {"type": "text", "text": ".".join(labels)},
                "targets": ["bbox", "mask"], "mask_format": "coco_rle",
                "bbox_threshold": self.settings.box_threshold, "iou_threshold": 0.8}

    def _run(self, body: dict[str, Any], image: bytes, ctx: Any) -> dict[str, Any]:
        """Trigger with retries and backoff, then poll until success, failure or the deadline."""
        import requests

        sdk = _sdk()
        config = sdk["Config"](self._token)
        config.endpoint = self.settings.dds_endpoint
        deadline = time.monotonic() + self.settings.timeout_s
        attempts = max(1, int(self.settings.retries))
        last: Exception | None = None
        for attempt in range(attempts):
            task = sdk["create"](api_path_for(self.settings.dds_model), dict(body), image)
            try:
                task.set_request_timeout(max(0.5, min(10.0, deadline - time.monotonic())))
                task.trigger(config)
                return self._poll(task, deadline, ctx)
            except requests.HTTPError as exc:
                code = exc.response.status_code if exc.response is not None else 0
                if code in (401, 403):
                    raise ApiAuthError(f"The DDS API refused the token (HTTP {code}).", TOKEN_FIX) from None
                if code != 429 and code < 500:
                    raise ApiError(f"The DDS API rejected the request (HTTP {code}): "
                                   f"{redact(_text(exc.response), [self._token])}.",
                                   f"Check detection.dds_model = {self.settings.dds_model!r} and the labels.") from None
                last = exc
            except (requests.Timeout, requests.ConnectionError, sdk["base"].Retry) as exc:
                last = exc
            except ValueError as exc:  # the body was not JSON (requests' JSONDecodeError is a ValueError)
                raise ApiError(f"The DDS API answered with something that is not JSON "
                               f"({redact(str(exc), [self._token])[:200]}).",
                               "Retry later; check detection.dds_endpoint if you use a proxy.") from None
            except (KeyError, TypeError, AttributeError, IndexError) as exc:  # the SDK reading an odd JSON shape
                raise ApiError(f"The DDS API answered JSON of an unexpected shape ({type(exc).__name__}: "
                               f"{redact(str(exc), [self._token])[:120]}).", ANSWER_FIX) from None
            except RuntimeError as exc:  # the SDK's "code != 0" answers and failed tasks
                raise ApiError(f"The DDS task failed: {redact(str(exc), [self._token])[:300]}.",
                               "Check the model name and token, then retry.") from None
            if attempt + 1 < attempts and time.monotonic() + self.backoff_s * 2 ** attempt < deadline:
                _sleep(self.backoff_s * 2 ** attempt, ctx)
            else:
                break
        code = getattr(getattr(last, "response", None), "status_code", None)
        if code == 429:
            raise ApiQuotaError(f"The DDS API kept answering 429 (quota or rate limit) after {attempt + 1} attempt(s).")
        if isinstance(last, (requests.Timeout,)):
            raise ApiError(f"The DDS API did not answer in time ({attempt + 1} attempt(s)).",
                           "Check your connection, or raise detection.timeout_s.")
        raise ApiError(f"The DDS API failed after {attempt + 1} attempt(s): {_describe(last)}.")

    def _poll(self, task: Any, deadline: float, ctx: Any) -> dict[str, Any]:
        base = _sdk()["base"]
        while True:
            task.set_request_timeout(max(0.5, min(10.0, deadline - time.monotonic())))
            task.check()
            if task.status == base.TaskStatus.Success:
                return task.result or {}
            if task.status == base.TaskStatus.Failed:
                raise RuntimeError(f"task {task.task_uuid} failed: {task.error}")
            if time.monotonic() + self.poll_s > deadline:
                raise ApiError(f"The DDS task did not finish within {self.settings.timeout_s:g} s.",
                               "Raise detection.timeout_s, or retry when the service is less busy.")
            _sleep(self.poll_s, ctx)


def parse_dds_result(result: Any, height: int, width: int, labels: list[str],
                     threshold: float) -> tuple[list[RawDetection], list[str]]:
    """The task result → detections of the asked labels at or above ``threshold``, plus notes.

    The answer is outside data: anything not in the documented shape (a list where an object
    belongs, a NaN score, a box outside the image, a mask of another size) is a
    :class:`ModelOutputError` naming the object, never a bare exception and never silently used.
    """
    if not isinstance(result, dict):
        raise ModelOutputError(f"The DDS answer's result is {type(result).__name__}, not an object.", ANSWER_FIX)
    objects = result.get("objects")
    if objects is None:
        objects = []
    if not isinstance(objects, list):
        raise ModelOutputError(f"The DDS answer's objects is {type(objects).__name__}, not a list.", ANSWER_FIX)
    if len(objects) > MAX_OBJECTS:
        raise ModelOutputError(f"The DDS answer lists {len(objects)} objects (at most {MAX_OBJECTS}).", ANSWER_FIX)
    wanted = {lab.strip().lower() for lab in labels}
    out: list[RawDetection] = []
    notes: list[str] = []
    for i, obj in enumerate(objects):
        where = f"DDS object {i}"
        if not isinstance(obj, dict):
            raise ModelOutputError(f"{where} is {type(obj).__name__}, not an object.", ANSWER_FIX)
        label = check_label(obj.get("category"), where, ModelOutputError, ANSWER_FIX)
        where = f"DDS object {i} ({label!r})"
        score = check_score(obj.get("score"), where, ModelOutputError, ANSWER_FIX)
        box = check_box(obj.get("bbox"), where, height, width, ModelOutputError, ANSWER_FIX, sliver_ok=True)
        if label not in wanted or score < threshold:
            continue
        if box is None:
            notes.append(f"{where}: its box has under one pixel inside the image; dropped.")
            continue
        raw = obj.get("mask")
        mask = None
        if isinstance(raw, dict):
            try:
                mask = decode_rle({"size": raw.get("size"), "counts": raw.get("counts")}, height, width,
                                  f"{where} mask")
            except BadInputError as exc:
                raise ModelOutputError(exc.message, ANSWER_FIX) from None
            if not mask.any():
                notes.append(f"{where}: the mask is empty; segmented inside the box instead.")
                mask = None
        elif raw is not None:
            raise ModelOutputError(f"{where} mask is {type(raw).__name__}, not a COCO RLE object.", ANSWER_FIX)
        out.append(RawDetection(label, score, box, mask, "detector" if mask is not None else ""))
    return out, notes


def _fit(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """The image shrunk to ``max_side`` by us, so the SDK's own resizing (which decodes masks with
    pycocotools' unchecked C decoder and logs whole answers on error) never runs."""
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    from PIL import Image

    scale = max_side / max(h, w)
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def _rescale(det: RawDetection, hs: int, ws: int, h: int, w: int) -> RawDetection:
    """A detection on the shrunk image → the same on the full image (nearest-neighbour mask)."""
    sx, sy = w / ws, h / hs
    x0, y0, x1, y1 = det.box
    box = (x0 * sx, y0 * sy, min(float(w), x1 * sx), min(float(h), y1 * sy))
    mask = det.mask
    if mask is not None:
        yi = np.minimum(((np.arange(h) + 0.5) * hs / h).astype(int), hs - 1)
        xi = np.minimum(((np.arange(w) + 0.5) * ws / w).astype(int), ws - 1)
        mask = mask[yi[:, None], xi[None, :]]
    return RawDetection(det.label, det.score, box, mask, det.mask_source)


def _sleep(seconds: float, ctx: Any) -> None:
    if ctx is not None:
        ctx.wait(seconds)
    else:
        time.sleep(seconds)


def _png_bytes(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def _text(response: Any) -> str:
    try:
        return json.dumps(response.json())[:200]
    except Exception:  # noqa: BLE001 - only for the message
        return (getattr(response, "text", "") or "")[:200]


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no answer"
    code = getattr(getattr(exc, "response", None), "status_code", None)
    return f"HTTP {code}" if code else type(exc).__name__


