"""The one worker client of this Blender session, and the timer that polls it.

``step()`` is the timer body as a plain function: it drains the client, mirrors the
current job into ``WindowManager.imaginarium_status`` and redraws the sidebar. In real
Blender ``bpy.app.timers`` calls it every 0.1 s while a job runs; in background mode
timers never fire, so tests call ``step()`` themselves.
"""
from __future__ import annotations

import hashlib
import json
import traceback
from typing import Any, Callable

import bpy

from ..core.config import Secrets
from ..core.errors import ImaginariumError
from . import EXTENSION_ROOT, preferences
from .panel_words import for_panel
from .worker_client import Job, WorkerClient

POLL_INTERVAL_S = 0.1
UNEXPECTED_FIX = ("This is a bug in Imaginarium: the traceback is in the system console (Window → Toggle System "
                  "Console); please report it with that text.")
_client: WorkerClient | None = None
_client_identity: tuple[Any, ...] = ()
_current: Job | None = None
_on_done: dict[str, Callable[[Job], str | None]] = {}


def settings_env() -> dict[str, str]:
    """Preferences as ``IMAGINARIUM_*`` settings variables: every worker op reads them through Settings.load."""
    prefs = preferences.get()
    if prefs is None:
        return {}
    env = {"IMAGINARIUM_DEVICE_DEVICE": prefs.device, "IMAGINARIUM_DEVICE_MEMORY_MODE": prefs.memory_mode,
           "IMAGINARIUM_VLM_MODEL": prefs.vlm_model, "IMAGINARIUM_DETECTION_DDS_MODEL": prefs.detector_model,
           "IMAGINARIUM_T2I_MODEL": prefs.t2i_model, "IMAGINARIUM_DEPTH_MODEL": prefs.depth_model,
           "IMAGINARIUM_RETRIEVAL_DINOV2_MODEL": prefs.dinov2_model,
           "IMAGINARIUM_DETECTION_LOCAL_MODEL": prefs.local_detector}
    for name, value in (("WEIGHTS_DIR", prefs.weights_dir), ("LIBRARY_DIR", prefs.library_dir),
                        ("RUNS_DIR", prefs.runs_dir)):
        if value:
            env[f"IMAGINARIUM_PATHS_{name}"] = bpy.path.abspath(value)
    env = {k: v for k, v in env.items() if v}
    env["IMAGINARIUM_T2I_LORA"] = prefs.t2i_lora.strip()  # empty is meaningful: no LoRA
    return env


def _worker_identity() -> tuple[Any, ...]:
    """What the running worker was started with: interpreter, time limit, online access and a digest of the
    keys (never the keys themselves). A change to any of them means the next job needs a new worker."""
    prefs = preferences.get()
    python = preferences.worker_python()
    keys = hashlib.sha256(json.dumps(sorted(preferences.secret_values().items())).encode()).hexdigest() \
        if bpy.app.online_access else ""
    return python, prefs.job_timeout_s if prefs else 1800.0, bool(bpy.app.online_access), keys


def client() -> WorkerClient:
    """The session's client, created from the preferences on first use (and again when they change).

    Any change that the worker sees — a settings preference, the Worker Python, the time limit, the keys,
    online access — takes effect on the next click: the idle worker is stopped and a new one starts.
    """
    global _client, _client_identity
    wanted = settings_env()
    identity = (*_worker_identity(), tuple(sorted(wanted.items())))  # a cleared setting counts as a change too
    if _client is not None and _current is None and identity != _client_identity:
        _client.stop()  # preferences changed: the next job starts a worker that sees them
        _client = None
    if _client is None:
        _client_identity = identity
        python, timeout_s = identity[0], identity[1]
        key_vars = tuple(name for names in Secrets.ENV_NAMES.values() for name in names)
        if bpy.app.online_access:
            secrets = Secrets.gather(preferences.secret_values())
            env = {"ANTHROPIC_API_KEY": secrets.anthropic_api_key, "DDS_API_TOKEN": secrets.dds_api_token}
            env = {k: v for k, v in env.items() if v}
            drop: tuple[str, ...] = ()
        else:  # no keys and no hub downloads: the worker then uses local models and geometry only
            env, drop = {"IMAGINARIUM_ONLINE_ACCESS": "0", "HF_HUB_OFFLINE": "1"}, key_vars
        env.update(wanted)
        _client = WorkerClient(python=python, root=EXTENSION_ROOT, env=env, drop_env=drop,
                               default_timeout_s=timeout_s)
    return _client


def submit(op: str, params: dict[str, Any], label: str, on_done: Callable[[Job], str | None] | None = None) -> Job:
    """Send a job and start polling it; ``on_done`` runs on the main thread when it finishes.

    ``on_done`` may return a short summary for the Status line ("done — …") and may raise: see :func:`_finish`.
    """
    global _current
    job = client().submit(op, params)
    _current = job
    if on_done is not None:
        _on_done[job.id] = on_done
    status = _status()
    if status is not None:
        status.job_id, status.job_label, status.progress, status.message = job.id, label, 0.0, "starting…"
        status.last_error = status.last_fix = ""
        status.notes_json = "[]"
        status.worker_state = "running"
    if not bpy.app.timers.is_registered(step):
        bpy.app.timers.register(step, first_interval=POLL_INTERVAL_S)
    return job


def set_notes(notes: list[str]) -> None:
    """Show a finished job's notes in the Status section ("done — N notes" and the list)."""
    status = _status()
    if status is not None:
        status.notes_json = json.dumps([str(n) for n in notes])


def notes() -> list[str]:
    """The notes the Status section shows (empty when none, or unreadable)."""
    status = _status()
    try:
        value = json.loads(status.notes_json) if status is not None and status.notes_json else []
    except ValueError:
        return []
    return [str(n) for n in value] if isinstance(value, list) else []


def current_job() -> Job | None:
    return _current


def cancel_current() -> None:
    if _current is not None and _client is not None:
        _client.cancel(_current.id)


def step() -> float | None:
    """One poll: returns the next interval, or None to stop the timer when nothing runs."""
    global _current
    if _client is None:
        return None
    _client.poll()
    status = _status()
    job = _current
    if job is not None and status is not None:
        status.progress, status.message = job.progress, job.message
        _status_bar(f"Imaginarium: {status.job_label} {job.progress:.0%} {job.message}")
        if job.finished:
            _current = None  # first: the callback may chain the next job (perceive → match)
            _finish(job, status)
    if _current is None:
        _status_bar(None)
    _redraw()
    return POLL_INTERVAL_S if _current is not None else None


def report_error(error: ImaginariumError) -> None:
    """Show an error and its fix in the Status section, in the panel's words (no command-line flags)."""
    status = _status()
    if status is not None:
        status.last_error, status.last_fix = for_panel(error)


def _finish(job: Job, status: Any) -> None:
    """Mirror a finished job, then run its callback; "done" is said only once the callback succeeded.

    A callback may chain the next job (then that job's status shows), return a short summary
    (shown after "done"), or raise: any exception becomes the Status section's error with its
    message, typed or not, so a failing build never reads as done.
    """
    status.worker_state = "idle" if _client is not None and _client.alive else "stopped"
    status.job_id = ""
    if job.error is not None:
        status.message = "cancelled" if job.state == "cancelled" else "failed"
        if job.state != "cancelled":
            report_error(job.error)
    callback = _on_done.pop(job.id, None)
    summary = None
    if callback is not None:
        try:
            summary = callback(job)
        except ImaginariumError as exc:
            status.message = "failed"
            report_error(exc)
            return
        except Exception as exc:  # a bug: show it where the user looks, keep the traceback for the report
            traceback.print_exc()
            status.message = "failed"
            report_error(ImaginariumError(f"{type(exc).__name__}: {exc}", UNEXPECTED_FIX))
            return
    if job.error is None and _current is None:  # a chained job, if any, shows its own progress
        shown = notes()
        tail = f"{len(shown)} note{'s' if len(shown) != 1 else ''}" if shown else ""
        parts = [p for p in ((summary if isinstance(summary, str) else ""), tail) if p]
        status.message = "done — " + ", ".join(parts) if parts else "done"


def _status_bar(text: str | None) -> None:
    """The job's progress in Blender's status bar too (None restores the default text)."""
    workspace = getattr(bpy.context, "workspace", None)
    if workspace is not None:
        try:
            workspace.status_text_set(text)
        except (RuntimeError, TypeError):  # no window (background mode): the sidebar still shows it
            pass


def _status() -> Any:
    wm = getattr(bpy.context, "window_manager", None)
    return getattr(wm, "imaginarium_status", None) if wm is not None else None


def _redraw() -> None:
    screen = getattr(bpy.context, "screen", None)
    for area in (screen.areas if screen else []):
        if area.type == "VIEW_3D":
            area.tag_redraw()


def stop() -> None:
    global _client, _current
    if bpy.app.timers.is_registered(step):
        bpy.app.timers.unregister(step)
    if _client is not None:
        _client.stop()
    _client, _current = None, None
    _on_done.clear()


def register() -> None:
    """Nothing to register: the client and its timer start with the first job."""


def unregister() -> None:
    stop()
