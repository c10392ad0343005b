"""Ops every worker has: a health check (the Status panel's ping)."""
from __future__ import annotations

import importlib.util
import os
import platform
import sys
from typing import Any

from .. import __version__
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
