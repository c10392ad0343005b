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
from ..errors import ApiAuthError, ApiError, ApiQuotaError
from .masks import decode_rle
from .protocols import RawDetection

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
        self.backoff_s = backoff_s
        self.poll_s = poll_s

    def detect(self, rgb: np.ndarray, labels: list[str], **context: Any) -> list[RawDetection]:
        ctx = context.get("ctx")
        h, w = rgb.shape[:2]
        result = self._run(self._body(labels), _png_bytes(rgb), ctx)
        wanted = {lab.lower() for lab in labels}
        out = []
        for i, obj in enumerate(result.get("objects") or []):
            try:
                label = str(obj["category"]).strip().lower()
                score = float(obj["score"])
                x0, y0, x1, y1 = (float(v) for v in obj["bbox"])
            except (KeyError, TypeError, ValueError):
                raise ApiError(f"The DDS answer's object {i} lacks category/score/bbox: {str(obj)[:120]}.",
                               "Retry; if it persists, the API changed: report it.") from None
            if label not in wanted or score < self.settings.box_threshold:
                continue
            x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            mask = None
            if isinstance(obj.get("mask"), dict):
                rle = {"size": obj["mask"].get("size"), "counts": obj["mask"].get("counts")}
                mask = decode_rle(rle, h, w, f"DDS object {i} mask")
            out.append(RawDetection(label, score, (x0, y0, x1, y1), mask, "detector" if mask is not None else ""))
        return out

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
                    raise ApiError(f"The DDS API rejected the request (HTTP {code}): {_text(exc.response)}.",
                                   f"Check detection.dds_model = {self.settings.dds_model!r} and the labels.") from None
                last = exc
            except (requests.Timeout, requests.ConnectionError, sdk["base"].Retry) as exc:
                last = exc
            except ValueError as exc:  # the body was not JSON (requests' JSONDecodeError is a ValueError)
                raise ApiError(f"The DDS API answered with something that is not JSON ({exc}).",
                               "Retry later; check detection.dds_endpoint if you use a proxy.") from None
            except RuntimeError as exc:  # the SDK's "code != 0" answers and failed tasks
                raise ApiError(f"The DDS task failed: {exc}.", "Check the model name and token, then retry.") from None
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


