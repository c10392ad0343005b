"""Which worker ops exist, and where their code lives.

Ops are named here as ``"module:function"`` strings and imported on first use, so the
worker starts fast and a missing optional dependency (diffusers, say) only affects the
ops that need it. Each op is ``fn(params: dict, ctx: JobContext) -> JSON-able value``.
Later stages add one line each.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from ..errors import ImaginariumError

OPS: dict[str, str] = {
    "ping": "core.worker.basic_ops:ping",
    "count_steps": "core.worker.basic_ops:count_steps",
    "perceive": "core.perception.worker_op:perceive_op",
    "match": "core.matching.ops:match_op",
    "generate_images": "core.t2i.worker_op:generate_images",
}


class UnknownOpError(ImaginariumError):
    default_fix = "Update the worker: the add-on and the worker come from different versions."


def resolve(name: str) -> Callable[[dict[str, Any], Any], Any]:
    target = OPS.get(name)
    if target is None:
        raise UnknownOpError(f"The worker has no op named {name!r} (known: {', '.join(sorted(OPS))}).")
    module_name, _, attr = target.partition(":")
    package = __package__.rsplit(".", 1)[0]  # "core", or "<ext pkg>.core" inside Blender
    module_name = package + module_name[len("core"):] if module_name.startswith("core") else module_name
    return getattr(importlib.import_module(module_name), attr)
