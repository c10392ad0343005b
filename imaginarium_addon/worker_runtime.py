"""The one worker client of this Blender session, and the timer that polls it.

``step()`` is the timer body as a plain function: it drains the client, mirrors the
current job into ``WindowManager.imaginarium_status`` and redraws the sidebar. In real
Blender ``bpy.app.timers`` calls it every 0.1 s while a job runs; in background mode
timers never fire, so tests call ``step()`` themselves.
"""
from __future__ import annotations

from typing import Any, Callable

import bpy

from ..core.config import Secrets
from ..core.errors import ImaginariumError
from . import EXTENSION_ROOT, preferences
from .worker_client import Job, WorkerClient

POLL_INTERVAL_S = 0.1
_client: WorkerClient | None = None
_current: Job | None = None
_on_done: dict[str, Callable[[Job], None]] = {}


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


def client() -> WorkerClient:
    """The session's client, created from the preferences on first use (and again when they change)."""
    global _client
    wanted = settings_env()
    if _client is not None and _current is None and any(_client.extra_env.get(k) != v for k, v in wanted.items()):
        _client.stop()  # preferences changed: the next job starts a worker that sees them
        _client = None
    if _client is None:
        prefs = preferences.get()
        key_vars = tuple(name for names in Secrets.ENV_NAMES.values() for name in names)
        if bpy.app.online_access:
            secrets = Secrets.gather(preferences.secret_values())
            env = {"ANTHROPIC_API_KEY": secrets.anthropic_api_key, "DDS_API_TOKEN": secrets.dds_api_token}
            env = {k: v for k, v in env.items() if v}
            drop: tuple[str, ...] = ()
        else:  # no keys and no hub downloads: the worker then uses local models and geometry only
            env, drop = {"IMAGINARIUM_ONLINE_ACCESS": "0", "HF_HUB_OFFLINE": "1"}, key_vars
        env.update(wanted)
        _client = WorkerClient(
            python=(bpy.path.abspath(prefs.worker_python) if prefs and prefs.worker_python else None),
            root=EXTENSION_ROOT, env=env, drop_env=drop,
            default_timeout_s=prefs.job_timeout_s if prefs else 1800.0)
    return _client


def submit(op: str, params: dict[str, Any], label: str, on_done: Callable[[Job], None] | None = None) -> Job:
    """Send a job and start polling it; ``on_done`` runs on the main thread when it finishes."""
    global _current
    job = client().submit(op, params)
    _current = job
    if on_done is not None:
        _on_done[job.id] = on_done
    status = _status()
    if status is not None:
        status.job_id, status.job_label, status.progress, status.message = job.id, label, 0.0, "starting…"
        status.last_error = status.last_fix = ""
        status.worker_state = "running"
    if not bpy.app.timers.is_registered(step):
        bpy.app.timers.register(step, first_interval=POLL_INTERVAL_S)
    return job


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
    status = _status()
    if status is not None:
        status.last_error, status.last_fix = error.message, error.fix


def _finish(job: Job, status: Any) -> None:
    status.worker_state = "idle" if _client is not None and _client.alive else "stopped"
    status.job_id = ""
    if job.error is not None:
        status.message = "cancelled" if job.state == "cancelled" else "failed"
        if job.state != "cancelled":
            report_error(job.error)
    else:
        status.message = "done"
    callback = _on_done.pop(job.id, None)
    if callback is not None:
        try:
            callback(job)
        except ImaginariumError as exc:
            report_error(exc)


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
