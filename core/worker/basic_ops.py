"""Ops every worker has: a health check and a cancellable counting job used by tests and the UI."""
from __future__ import annotations

import importlib.util
import os
import platform
import sys
from typing import Any

from .. import __version__
from ..errors import BadInputError
from .context import JobContext


def ping(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Answer who we are and what the interpreter can run, without importing torch."""
    return {
        "version": __version__,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "torch_installed": importlib.util.find_spec("torch") is not None,
        "echo": params.get("echo"),
        # which of the named variables are set (never their values): lets the UI and tests check keys arrived
        "env": {name: bool(os.environ.get(name)) for name in params.get("env", []) if isinstance(name, str)},
    }


def count_steps(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
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
