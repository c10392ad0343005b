"""Worker ops that exist only for tests: a cancellable counting job that exercises progress, cancel and time limits.

They are not in the product's op table; tests name them in ``IMAGINARIUM_WORKER_EXTRA_OPS`` (see
``core/worker/registry.py``). This module runs only inside a worker process, where the pipeline is the
top-level package ``core``.
"""
from __future__ import annotations

from typing import Any

from core.errors import BadInputError


def count_steps(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Emit ``steps`` progress events ``delay_s`` apart; cancellable between steps."""
    try:
        steps = int(params.get("steps", 5))
        delay = float(params.get("delay_s", 0.05))
    except (TypeError, ValueError):
        raise BadInputError(f"count_steps params must be numbers, got {params!r}.", "Pass steps (int) and delay_s.")
    if steps < 0 or delay < 0:
        raise BadInputError(f"count_steps needs steps >= 0 and delay_s >= 0, got {steps}, {delay}.",
                            "Pass non-negative values.")
    for i in range(steps):
        ctx.wait(delay)
        ctx.progress((i + 1) / steps if steps else 1.0, f"step {i + 1} of {steps}")
    return {"steps": steps}
