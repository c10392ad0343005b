"""The worker's wire format, shared by the worker and the Blender-side client.

Requests (one JSON object per line on the worker's stdin):

* ``{"id": "j1", "op": "ping", "params": {}}`` — start a job.
* ``{"id": "j1", "op": "cancel"}`` — cancel job ``j1`` at its next step.
* ``{"op": "shutdown"}`` — finish (cancelling what runs) and exit.

Events (one JSON object per line on stdout), each with the job ``id`` and a ``type``:

* ``progress`` — ``fraction`` in [0, 1] and a ``message``;
* ``log`` — ``level`` and ``message``;
* ``result`` — ``value`` (plain JSON); the job is over;
* ``error`` — ``error`` (``{kind, message, fix, details}``, see :mod:`core.errors`); the job is over.
"""
from __future__ import annotations

import json
from typing import Any

EVENT_TYPES = ("progress", "log", "result", "error")
FINAL_TYPES = ("result", "error")


def encode(message: dict[str, Any]) -> str:
    """One line of JSON; NaN is refused so the other side never meets non-standard JSON."""
    return json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def decode(line: str) -> dict[str, Any]:
    """Parse one line; raises ValueError with a readable reason for anything but a JSON object."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data
