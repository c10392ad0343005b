"""Typed errors that always carry what the user should do next.

Every failure a user can hit (a missing checkpoint, a bad API key, a corrupt image, a
dead worker) is raised as an :class:`ImaginariumError` subclass with two parts:
``message`` says what went wrong, ``fix`` says what to do about it. The UI shows
both on one line; the worker sends both across the process boundary as a dict, so
the same class comes back out on the Blender side (:func:`error_from_dict`).
"""
from __future__ import annotations

from typing import Any


class ImaginariumError(Exception):
    """Base class: a problem with a known remedy."""

    default_fix = "See the log for details, then retry."

    def __init__(self, message: str, fix: str | None = None, **details: Any) -> None:
        self.message = message
        self.fix = fix or self.default_fix
        self.details = details
        super().__init__(f"{message} — {self.fix}")

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
    default_fix = "Download the checkpoint listed in weights/README.md into the weights folder set in preferences."


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


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)
