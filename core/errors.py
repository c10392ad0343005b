"""Typed errors that always carry what the user should do next.

Every failure a user can hit (a missing checkpoint, a bad API key, a corrupt image, a
dead worker) is raised as an :class:`ImaginariumError` subclass with two parts:
``message`` says what went wrong, ``fix`` says what to do about it. The UI shows
both on one line; the worker sends both across the process boundary as a dict, so
the same class comes back out on the Blender side (:func:`error_from_dict`).
"""
from __future__ import annotations

import re
import urllib.parse
from typing import Any, Iterable

REDACTED = "[redacted]"
_MIN_SECRET_CHARS = 6  # shorter values would redact ordinary words; real keys and tokens are far longer
_SECRETS: set[str] = set()
# Shapes of keys that must never be shown even when nobody registered them (an Anthropic key pasted into a
# proxy's error page, a bearer header echoed back).
_KEY_SHAPES = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}|(?i:bearer)\s+(?=[A-Za-z0-9._\-]*\d)[A-Za-z0-9._\-]{8,}")


def register_secret(value: Any) -> None:
    """Remember a configured key or token so every later error message, fix and detail is scrubbed of it.

    Called where a secret is put to use (the cloud clients' constructors, the worker when it
    receives keys). Registration lasts for the process: a key once used must stay unprintable.
    """
    text = str(value or "").strip()
    if len(text) >= _MIN_SECRET_CHARS:
        _SECRETS.add(text)


def redact(text: Any, secrets: Iterable[Any] | None = None) -> str:
    """``text`` with every configured secret (and anything shaped like an API key) replaced by ``[redacted]``.

    Why more than one spelling: a remote server may echo the token URL-encoded (in a query
    string it logs) or JSON-escaped, so each secret is also removed in those forms.
    ``secrets`` adds to the registered ones; empty and very short values are ignored.
    """
    out = str(text)
    values = set(_SECRETS)
    for value in secrets or ():
        value = str(value or "").strip()
        if len(value) >= _MIN_SECRET_CHARS:
            values.add(value)
    for value in sorted(values, key=len, reverse=True):  # longest first: one key may contain another
        for form in {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
                     value.replace("\\", "\\\\").replace('"', '\\"')}:
            if form:
                out = out.replace(form, REDACTED)
    return _KEY_SHAPES.sub(REDACTED, out)


class ImaginariumError(Exception):
    """Base class: a problem with a known remedy."""

    default_fix = "See the log for details, then retry."

    def __init__(self, message: str, fix: str | None = None, **details: Any) -> None:
        # Scrubbed here, once, so no path (CLI stderr, the worker's error event, a run log) can show a key
        # that a remote error body echoed back.
        self.message = redact(message)
        self.fix = redact(fix or self.default_fix)
        self.details = {k: _redact_plain(v) for k, v in details.items()}
        super().__init__(f"{self.message} — {self.fix}")

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the worker protocol and run folders (no secrets ever go in details)."""
        return {"kind": self.kind, "message": self.message, "fix": self.fix, "details": _plain(self.details)}

    def one_line(self) -> str:
        return f"{self.message} Fix: {self.fix}"


class SchemaError(ImaginariumError):
    """A hand-off object (Observation, Layout, …) has a bad field."""

    default_fix = "Correct the named field in the JSON file, or re-run the stage that wrote it."

    def __init__(self, field: str, value: Any, problem: str, fix: str | None = None) -> None:
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"{field} = {shown}: {problem}.", fix, field=field, value=shown)
        self.field = field


class ConfigError(ImaginariumError):
    default_fix = "Correct the setting in your config file or environment variable (see README: Settings)."


class MissingWeightsError(ImaginariumError):
    default_fix = ("Download it in Preferences → Imaginarium → Models (Download next to the model), or put its files "
                   "in the weights folder by hand (see weights/README.md).")


class BadInputError(ImaginariumError):
    """An input file the user gave us cannot be used (corrupt image, wrong depth format…)."""

    default_fix = "Check the file named in the message; re-export it as an 8-bit RGB PNG or JPEG."


class ApiError(ImaginariumError):
    default_fix = "Check your network connection and the service status, then retry."


class ApiAuthError(ApiError):
    default_fix = "Set a valid key in the add-on preferences or the environment variable named in the message."


class ApiQuotaError(ApiError):
    default_fix = "Wait a minute and retry, or raise the quota of your account."


class ModelOutputError(ImaginariumError):
    """A model answered, but not in the shape we asked for (e.g. a VLM reply that is not the JSON schema)."""

    default_fix = "Retry; if it keeps happening, choose another model in preferences."


class AssetImportError(ImaginariumError):
    default_fix = "Re-export the asset (FBX/GLB/OBJ/.blend) or mark its catalogue row state=abort."


class LibraryError(ImaginariumError):
    default_fix = "Point preferences at a library folder with imaginarium_asset_info.csv, or run `make library`."


class WorkerError(ImaginariumError):
    default_fix = "Check the worker interpreter in preferences, then restart the worker from the Status section."


class WorkerDiedError(WorkerError):
    default_fix = "Restart the worker from the Status section; if it dies again, read the stderr lines shown."


class JobTimeoutError(WorkerError):
    default_fix = "Raise the job time limit in preferences, or use a smaller image / fewer steps."


class CancelledError(ImaginariumError):
    default_fix = "Nothing to do: the job was cancelled at your request."


_KINDS: dict[str, type[ImaginariumError]] = {}


def _register_kinds() -> None:
    stack: list[type[ImaginariumError]] = [ImaginariumError]
    while stack:
        cls = stack.pop()
        _KINDS[cls.__name__] = cls
        stack.extend(cls.__subclasses__())


def error_from_dict(data: dict[str, Any]) -> ImaginariumError:
    """Rebuild an error sent by the worker; unknown kinds become a plain ImaginariumError."""
    if not _KINDS:
        _register_kinds()
    cls = _KINDS.get(str(data.get("kind")), ImaginariumError)
    err = ImaginariumError.__new__(cls)
    ImaginariumError.__init__(err, str(data.get("message", "Unknown error.")), data.get("fix"), **dict(data.get("details") or {}))
    if cls is SchemaError:
        err.field = str((data.get("details") or {}).get("field", ""))  # type: ignore[attr-defined]
    return err


def _redact_plain(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_redact_plain(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)
