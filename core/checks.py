"""Field checks shared by the hand-off dataclasses in :mod:`core.schema`.

Each check names the field and the bad value in a :class:`~core.errors.SchemaError`, so a
person editing a run folder by hand is told exactly which line to fix.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from .errors import SchemaError


def number(field: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
           strict_min: bool = False) -> float:
    """A finite real number, optionally bounded."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars, numeric strings from CSV
        except (TypeError, ValueError):
            raise SchemaError(field, value, "is not a number") from None
    value = float(value)
    if not math.isfinite(value):
        raise SchemaError(field, value, "must be finite (NaN and infinity are not allowed)")
    if minimum is not None and (value <= minimum if strict_min else value < minimum):
        raise SchemaError(field, value, f"must be {'>' if strict_min else '>='} {minimum}")
    if maximum is not None and value > maximum:
        raise SchemaError(field, value, f"must be <= {maximum}")
    return value


def vector(field: str, value: Any, length: int, *, minimum: float | None = None) -> tuple[float, ...]:
    """A fixed-length tuple of finite numbers."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise SchemaError(field, value, f"must be a list of {length} numbers")
    items = list(value)
    if len(items) != length:
        raise SchemaError(field, value, f"must have {length} numbers, not {len(items)}")
    return tuple(number(f"{field}[{i}]", v, minimum=minimum) for i, v in enumerate(items))


def matrix(field: str, value: Any, rows: int = 4, cols: int = 4, *, affine: bool = True) -> tuple[tuple[float, ...], ...]:
    """A rows×cols matrix of finite numbers, given as nested lists (row-major)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise SchemaError(field, value, f"must be a {rows}x{cols} matrix (a list of {rows} rows)")
    row_list = [list(r) if isinstance(r, Iterable) and not isinstance(r, (str, bytes)) else r for r in value]
    if len(row_list) != rows or any(not isinstance(r, list) or len(r) != cols for r in row_list):
        shape = [len(r) if isinstance(r, list) else "?" for r in row_list]
        raise SchemaError(field, value, f"must be {rows}x{cols}, got {len(row_list)} rows of lengths {shape}")
    out = tuple(tuple(number(f"{field}[{i}][{j}]", v) for j, v in enumerate(r)) for i, r in enumerate(row_list))
    if affine and rows == 4 and cols == 4:
        bottom = out[3]
        if any(abs(a - b) > 1e-6 for a, b in zip(bottom, (0.0, 0.0, 0.0, 1.0))):
            raise SchemaError(field, value, "bottom row must be [0, 0, 0, 1] (an affine transform)")
    return out


def rotation_part_is_rigid(field: str, m: Sequence[Sequence[float]], tol: float = 1e-3) -> None:
    """The upper-left 3x3 block must be a rotation (orthonormal, det +1): cameras are not scaled."""
    r = [[m[i][j] for j in range(3)] for i in range(3)]
    for i in range(3):
        for j in range(3):
            dot = sum(r[k][i] * r[k][j] for k in range(3))
            if abs(dot - (1.0 if i == j else 0.0)) > tol:
                raise SchemaError(field, m, "rotation block is not orthonormal")
    det = (r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
           + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]))
    if det < 0:
        raise SchemaError(field, m, "rotation block is a reflection (determinant < 0)")


def text(field: str, value: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise SchemaError(field, value, "must be a string")
    if not allow_empty and not value.strip():
        raise SchemaError(field, value, "must not be empty")
    return value


def optional_text(field: str, value: Any) -> str | None:
    return None if value is None else text(field, value)


def texts(field: str, value: Any, *, allow_empty: bool = False) -> list[str]:
    """A list of strings (``notes`` fields): a bare string or a number in its place is an error, not a list of
    characters shown one per line."""
    if not isinstance(value, (list, tuple)):
        raise SchemaError(field, value, "must be a list of strings")
    for v in value:
        text(field, v, allow_empty=allow_empty)
    return value if isinstance(value, list) else list(value)  # the caller's list itself: later appends still count


def choice(field: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise SchemaError(field, value, f"must be one of {', '.join(allowed)}")
    return value


def flag(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise SchemaError(field, value, "must be true or false")


def unique_ids(field: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise SchemaError(field, i, "is used by more than one entry; ids must be unique")
        seen.add(i)


def no_support_cycle(field: str, parent_of: dict[str, str | None]) -> None:
    """Following parent links from any node must end at a root, never loop back."""
    for start in parent_of:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parent_of:
            if node in path:
                cycle = path[path.index(node):] + [node]
                raise SchemaError(field, " -> ".join(cycle), "forms a support cycle; an object cannot rest on itself")
            path.append(node)
            node = parent_of[node]
