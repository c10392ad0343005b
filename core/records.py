"""JSON round-trip for the hand-off dataclasses: nested plain dicts, a versioned file header, atomic saves.

Kept apart from :mod:`core.schema` so the data model reads as data; every class there
inherits :class:`Record`.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import SchemaError

SCHEMA_VERSION = 1
T = TypeVar("T", bound="Record")


class Record:
    """JSON round-trip shared by every hand-off dataclass.

    ``to_dict``/``from_dict`` give the nested plain form; ``to_json``/``from_json`` add the
    ``schema_version`` and ``type`` header that files on disk carry.
    """

    nested: ClassVar[dict[str, Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            out[f.name] = _plain(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls: type[T], data: Any) -> T:
        if not isinstance(data, dict):
            raise SchemaError(cls.__name__, data, "must be a JSON object")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise SchemaError(f"{cls.__name__}.{unknown[0]}", data[unknown[0]], f"is not a field of {cls.__name__}")
        kwargs = {}
        for key, value in data.items():
            kind = cls.nested.get(key)
            if kind is not None and value is not None:
                if isinstance(kind, list):
                    if not isinstance(value, list):
                        raise SchemaError(f"{cls.__name__}.{key}", value, "must be a list")
                    value = [kind[0].from_dict(v) for v in value]
                else:
                    value = kind.from_dict(value)
            kwargs[key] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise SchemaError(cls.__name__, sorted(data), f"is missing a required field ({exc})") from None

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps({"schema_version": SCHEMA_VERSION, "type": type(self).__name__, **self.to_dict()},
                          indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls: type[T], text: str | bytes | dict[str, Any]) -> T:
        if isinstance(text, dict):
            data = dict(text)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SchemaError(cls.__name__, str(text)[:60], f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
            if not isinstance(data, dict):
                raise SchemaError(cls.__name__, data, "must be a JSON object")
        version = data.pop("schema_version", None)
        if version is None:
            raise SchemaError("schema_version", None, "is missing; this file was not written by Imaginarium")
        if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
            raise SchemaError("schema_version", version, f"is not supported (this version reads 1..{SCHEMA_VERSION})",
                              "Update the Imaginarium extension, or re-run the stage that wrote this file.")
        kind = data.pop("type", cls.__name__)
        if kind != cls.__name__:
            raise SchemaError("type", kind, f"this file holds a {kind}, not a {cls.__name__}")
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically: a crash mid-write never leaves a half file where a good one was."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls: type[T], path: str | os.PathLike[str]) -> T:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SchemaError("path", str(path), f"no {cls.__name__} file there",
                              "Run the stage that writes it first, or check the run folder.") from None
        except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, not UTF-8 text
            raise SchemaError("path", str(path), f"cannot be read as a {cls.__name__} file "
                              f"({getattr(exc, 'strerror', None) or exc})",
                              "Check the file's permissions, or re-run the stage that writes it.") from None
        return cls.from_json(text)


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
