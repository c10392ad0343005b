"""The Models section's runtime: each model's status, and Download / Verify jobs in a worker of their own.

Why a second worker process: a download takes minutes to hours (FLUX.1-dev is 34 GB) and the
main worker runs one job at a time, so a download there would hold up Build Room. This module
keeps its own :class:`WorkerClient` (the same machinery: JSON lines, progress, cancel, crash
reports) started with the same interpreter and settings, plus the Hugging Face token in its
environment — and only when Blender's online access is on. ``step()`` is the timer body, a
plain function tests call directly (timers never fire in background Blender).

Statuses come from :func:`core.models.status.status` (file sizes only) and are cached for a
moment, because Blender redraws the preferences many times a second.
"""
from __future__ import annotations

import time
from typing import Any

import bpy

from ..core.config import Secrets, Settings
from ..core.models import registry
from ..core.models.download import OfflineError
from ..core.models.status import ModelStatus, describe, status
from . import EXTENSION_ROOT, preferences, worker_runtime
from .worker_client import Job, WorkerClient

POLL_INTERVAL_S = 0.25
STATUS_TTL_S = 2.0
OPS = {"download": "download_model", "verify": "verify_model"}

_client: WorkerClient | None = None
_client_key: tuple[Any, ...] = ()  # (Worker Python, environment) the download worker was started with
_jobs: dict[str, Job] = {}           # model key → its running (or last) job
_notes: dict[str, str] = {}          # model key → the last result, one line
_cache: tuple[float, tuple, list[ModelStatus]] | None = None


def current_settings() -> Settings:
    """The settings a worker started now would see (preferences as IMAGINARIUM_* variables)."""
    return Settings.load(env=worker_runtime.settings_env())


def statuses(force: bool = False) -> list[ModelStatus]:
    """Every model's status at the place the preferences name (cached for ``STATUS_TTL_S``)."""
    global _cache
    env = tuple(sorted(worker_runtime.settings_env().items()))
    now = time.monotonic()
    if not force and _cache is not None and _cache[1] == env and now - _cache[0] < STATUS_TTL_S:
        return _cache[2]
    settings = current_settings()
    result = [status(spec, settings, EXTENSION_ROOT) for spec in registry.MODELS]
    _cache = (now, env, result)
    return result


def line(st: ModelStatus) -> str:
    """What the Models section shows next to a model: its state, or its running job's progress."""
    job = _jobs.get(st.key)
    if job is not None and not job.finished:
        return f"{'verifying' if job.op == OPS['verify'] else 'downloading'} {job.progress:.0%} {job.message}".strip()
    note = _notes.get(st.key)
    text = describe(st)
    if st.state == "missing":
        text += f" (about {registry.get(st.key).approx_gb:.1f} GB to download)"
    return text + (f" · {note}" if note else "")


def running(key: str) -> Job | None:
    job = _jobs.get(key)
    return job if job is not None and not job.finished else None


def _client_for_downloads() -> WorkerClient:
    global _client, _client_key
    python = preferences.worker_python()
    key = (python, _environment())
    if _client is not None and not any(not j.finished for j in _jobs.values()) and key != _client_key:
        _client.stop()  # preferences, the Worker Python or the token changed: the next job starts a new worker
        _client = None
    if _client is None:
        _client_key = key
        _client = WorkerClient(
            python=python,
            root=EXTENSION_ROOT, env=key[1],
            drop_env=() if bpy.app.online_access else ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
            default_timeout_s=7 * 24 * 3600.0)  # a 34 GB download must not hit the job time limit
    return _client


def _environment() -> dict[str, str]:
    env = dict(worker_runtime.settings_env())
    if bpy.app.online_access:
        token = Secrets.gather(preferences.secret_values()).hf_token
        env["IMAGINARIUM_ONLINE_ACCESS"] = "1"
        if token:
            env["HF_TOKEN"] = str(token)
    else:
        env.update({"IMAGINARIUM_ONLINE_ACCESS": "0", "HF_HUB_OFFLINE": "1"})
    return env


def start(key: str, action: str) -> Job:
    """Start ``download`` or ``verify`` for the model ``key``; a download needs Blender's online access."""
    spec = registry.get(key)
    if action not in OPS:
        raise ValueError(action)
    if action == "download" and not bpy.app.online_access:
        raise OfflineError(f"Online access is off: {spec.label} was not downloaded.")
    if running(key) is not None:
        return _jobs[key]
    job = _client_for_downloads().submit(OPS[action], {"model": key})
    _jobs[key] = job
    _notes.pop(key, None)
    if not bpy.app.timers.is_registered(step):
        bpy.app.timers.register(step, first_interval=POLL_INTERVAL_S)
    return job


def cancel(key: str) -> None:
    job = running(key)
    if job is not None and _client is not None:
        _client.cancel(job.id)


def step() -> float | None:
    """One poll of the download worker: finished jobs leave a note (and errors reach the Status section)."""
    global _cache
    if _client is None:
        return None
    _client.poll()
    for key, job in list(_jobs.items()):
        if job.finished and key not in _notes:
            _notes[key] = _summary(job)
            _cache = None  # files changed: read the statuses again
            if job.error is not None and job.state != "cancelled":
                worker_runtime.report_error(job.error)
    _redraw()
    return POLL_INTERVAL_S if any(not j.finished for j in _jobs.values()) else None


def _summary(job: Job) -> str:
    if job.state == "cancelled":
        return "cancelled (Download resumes it)" if job.op == OPS["download"] else "check cancelled"
    if job.error is not None:
        return f"failed: {job.error.message}"
    result: dict[str, Any] = job.result or {}
    if job.op == OPS["verify"]:
        problems = result.get("problems") or []
        return f"checked {result.get('checked', 0)} file(s): " + ("all good" if not problems else
                                                                   f"{len(problems)} problem(s): {problems[0]}")
    return f"downloaded ({result.get('fetched', 0)} of {result.get('files', 0)} file(s) fetched)"


def _redraw() -> None:
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in ("PREFERENCES", "VIEW_3D"):
                area.tag_redraw()


def stop() -> None:
    """Unregister: stop the timer and the download worker (a running download keeps its partial files)."""
    global _client, _cache
    if bpy.app.timers.is_registered(step):
        bpy.app.timers.unregister(step)
    if _client is not None:
        _client.stop()
    _client, _cache = None, None
    _jobs.clear()
    _notes.clear()
