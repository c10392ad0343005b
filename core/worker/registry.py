"""Which worker ops exist, and where their code lives.

Ops are named here as ``"module:function"`` strings and imported on first use, so the
worker starts fast and a missing optional dependency (diffusers, say) only affects the
ops that need it. Each op is ``fn(params: dict, ctx: JobContext) -> JSON-able value``.
Later stages add one line each.

``IMAGINARIUM_WORKER_EXTRA_OPS`` (``name=module:function`` pairs separated by commas) adds ops
from outside the product without shipping them: the test suite's counting op lives in
``testkit/`` (left out of the extension's zip) and reaches the worker this way.
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Callable

from ..errors import ImaginariumError

OPS: dict[str, str] = {
    "ping": "core.worker.basic_ops:ping",
    "perceive": "core.perception.worker_op:perceive_op",
    "match": "core.matching.ops:match_op",
    "generate_images": "core.t2i.worker_op:generate_images",
    "download_model": "core.models.ops:download_model",
    "verify_model": "core.models.ops:verify_model",
}


class UnknownOpError(ImaginariumError):
    default_fix = "Update the worker: the add-on and the worker come from different versions."


EXTRA_OPS_VAR = "IMAGINARIUM_WORKER_EXTRA_OPS"


def extra_ops(value: str | None = None) -> dict[str, str]:
    """Ops named in ``IMAGINARIUM_WORKER_EXTRA_OPS``; malformed pairs are ignored (they name no op)."""
    value = os.environ.get(EXTRA_OPS_VAR, "") if value is None else value
    pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
    return {name.strip(): target.strip() for name, target in pairs if name.strip() and ":" in target}


def resolve(name: str) -> Callable[[dict[str, Any], Any], Any]:
    known = {**extra_ops(), **OPS}
    target = known.get(name)
    if target is None:
        raise UnknownOpError(f"The worker has no op named {name!r} (known: {', '.join(sorted(known))}).")
    module_name, _, attr = target.partition(":")
    package = __package__.rsplit(".", 1)[0]  # "core", or "<ext pkg>.core" inside Blender
    module_name = package + module_name[len("core"):] if module_name.startswith("core") else module_name
    return getattr(importlib.import_module(module_name), attr)
