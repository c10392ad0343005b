"""A small JSON-Schema subset validator for model answers (no jsonschema package in the environment).

Supports what :data:`core.perception.prompts.SCENE_TOOL` uses: ``type`` (one or a list, incl.
``null``), ``enum``, ``properties``, ``required``, ``additionalProperties: false`` and ``items``.
Errors name the JSON path, so the message shown back to the model is specific. Model answers
are outside data: any value is accepted as input and only ever produces a list of problems.
"""
from __future__ import annotations

import math
from typing import Any

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value: Any, kind: str) -> bool:
    if kind == "number":  # NaN and infinities are not JSON numbers, though Python's json module reads them
        return isinstance(value, (int, float)) and not isinstance(value, bool) and (
            isinstance(value, int) or math.isfinite(value))
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """All problems found (empty list = valid)."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            return [f"{path} should be {' or '.join(kinds)}, got {type(value).__name__}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path} = {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}.{name} is required")
        for name, item in value.items():
            if name in props:
                problems.extend(validate(item, props[name], f"{path}.{name}"))
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}.{name} is not allowed")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems.extend(validate(item, schema["items"], f"{path}[{i}]"))
    return problems
