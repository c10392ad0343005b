"""Ops that exist only for tests of the worker's error handling (registered by the tests themselves)."""
from __future__ import annotations

from typing import Any


def needs_a_missing_library(params: dict[str, Any], ctx: Any) -> None:
    import imaginarium_no_such_library  # noqa: F401  (the point: the worker's Python lacks it)
