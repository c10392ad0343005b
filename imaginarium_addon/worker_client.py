"""Start the worker process, send it jobs, and drain its events without ever blocking.

Blender's main thread must stay responsive, so nothing here waits on the worker:
reader threads move stdout events into a queue and keep the last stderr lines, and
:meth:`WorkerClient.poll` — called by a ``bpy.app.timers`` callback in Blender, directly by
tests — drains that queue, applies events to :class:`Job` objects, enforces time limits
and notices a dead worker. No bpy here: this module is plain Python.
"""
from __future__ import annotations

import collections
import itertools
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import (ImaginariumError, JobTimeoutError, WorkerDiedError, WorkerError,
                           error_from_dict)
from ..core.worker import protocol

KILL_GRACE_S = 10.0  # after a time-out's cancel, how long the worker may take before we kill it


@dataclass
class Job:
    """A request and everything the worker said about it."""

    id: str
    op: str
    params: dict[str, Any]
    timeout_s: float
    submitted: float = field(default_factory=time.monotonic)
    state: str = "running"  # running | done | failed | cancelled
    progress: float = 0.0
    message: str = ""
    result: Any = None
    error: ImaginariumError | None = None
    logs: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state != "running"


class WorkerClient:
    """Owns one worker process and the jobs sent to it."""

    def __init__(self, python: str | None = None, root: str | os.PathLike[str] | None = None,
                 env: dict[str, str] | None = None, default_timeout_s: float = 1800.0,
                 stderr_lines: int = 40, drop_env: tuple[str, ...] = ()) -> None:
        self.python = python or _default_python()
        self.root = Path(root) if root else Path(__file__).resolve().parent.parent
        self.extra_env = dict(env or {})
        self.drop_env = tuple(drop_env)  # e.g. API keys when Blender's online access is off
        self.default_timeout_s = default_timeout_s
        self.jobs: dict[str, Job] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._events: "queue.Queue[dict[str, Any]]" = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._readers: list[threading.Thread] = []
        self._ids = itertools.count(1)
        self._kill_at: float | None = None

    # -- process -------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the worker if it is not running. Secrets travel in its environment, never in messages."""
        if self.alive:
            return
        if not Path(self.python).exists():
            raise WorkerError(f"Worker interpreter {self.python} does not exist.",
                              "Set 'Worker Python' in the add-on preferences to a Python with torch installed.")
        env = {k: v for k, v in os.environ.items() if k not in self.drop_env}
        env.update(self.extra_env)
        env["PYTHONPATH"] = os.pathsep.join([str(self.root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["PYTHONUNBUFFERED"] = "1"
        self._stderr.clear()
        self._events = queue.Queue()
        try:
            self._proc = subprocess.Popen(
                [self.python, "-m", "core.worker"], cwd=str(self.root), env=env, text=True, encoding="utf-8",
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1)
        except OSError as exc:
            raise WorkerError(f"Could not start the worker with {self.python}: {exc}.",
                              "Check 'Worker Python' in the add-on preferences.") from None
        self._kill_at = None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(self._proc, self._events), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._proc,), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Ask the worker to exit, then make sure it has; running jobs end as cancelled."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.stdin.write(protocol.encode({"op": "shutdown"}))  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
            except (OSError, ValueError):
                pass
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
        for job in self.jobs.values():
            if not job.finished:
                job.state, job.message = "cancelled", "worker stopped"
        self._proc = None

    def stderr_tail(self) -> list[str]:
        return list(self._stderr)

    # -- jobs ----------------------------------------------------------------------------
    def submit(self, op: str, params: dict[str, Any] | None = None, timeout_s: float | None = None) -> Job:
        self.start()
        job = Job(id=f"job-{os.getpid()}-{next(self._ids)}", op=op, params=dict(params or {}),
                  timeout_s=self.default_timeout_s if timeout_s is None else timeout_s)
        self.jobs[job.id] = job
        if not self._send({"id": job.id, "op": op, "params": job.params}):
            self._fail(job, self._died_error())
        return job

    def cancel(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None or job.finished:
            return
        self._send({"id": job_id, "op": "cancel"})
        job.message = "cancelling…"

    def poll(self) -> list[dict[str, Any]]:
        """Non-blocking step: apply every pending event, enforce time limits, detect a dead worker."""
        drained = self._drain()
        now = time.monotonic()
        for job in self.jobs.values():
            if not job.finished and now - job.submitted > job.timeout_s:
                self._send({"id": job.id, "op": "cancel"})
                self._fail(job, JobTimeoutError(f"Job {job.op} ran longer than {job.timeout_s:.0f} s and was stopped."))
                self._kill_at = self._kill_at or now + KILL_GRACE_S
        if self._kill_at is not None and now > self._kill_at and self.alive:
            self._proc.kill()  # type: ignore[union-attr]  # a stuck op never reached a cancel point
        proc = self._proc
        if proc is not None and proc.poll() is not None and not any(t.is_alive() for t in self._readers):
            drained += self._drain()
            died = self._died_error()
            for job in self.jobs.values():
                if not job.finished:
                    self._fail(job, died)
                    drained.append({"id": job.id, "type": "error", "error": died.to_dict()})
            self._proc = None
        return drained

    def wait(self, job: Job, timeout_s: float = 60.0, interval_s: float = 0.02) -> Job:
        """Poll until ``job`` finishes (for scripts and tests; never call this on Blender's main thread)."""
        deadline = time.monotonic() + timeout_s
        while not job.finished and time.monotonic() < deadline:
            self.poll()
            time.sleep(interval_s)
        return job

    # -- internals -----------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> bool:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return False
        try:
            proc.stdin.write(protocol.encode(message))  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            return True
        except (OSError, ValueError):
            return False

    def _drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return out
            self._apply(event)
            out.append(event)

    def _apply(self, event: dict[str, Any]) -> None:
        job = self.jobs.get(str(event.get("id")))
        kind = event.get("type")
        if job is None:
            if kind == "error":  # an error about no job (a malformed line): keep it visible
                self._stderr.append("worker: " + str((event.get("error") or {}).get("message")))
            return
        if job.finished:
            return  # late events after a time-out or cancel
        if kind == "progress":
            job.progress = float(event.get("fraction", job.progress))
            job.message = str(event.get("message", ""))
        elif kind == "log":
            job.logs.append(str(event.get("message", "")))
        elif kind == "result":
            job.state, job.progress, job.result = "done", 1.0, event.get("value")
        elif kind == "error":
            err = error_from_dict(event.get("error") or {})
            job.error = err
            job.state = "cancelled" if err.kind == "CancelledError" else "failed"

    def _fail(self, job: Job, error: ImaginariumError) -> None:
        job.state, job.error = "failed", error

    def _died_error(self) -> WorkerDiedError:
        code = self._proc.poll() if self._proc is not None else None
        tail = " | ".join(list(self._stderr)[-5:]) or "(no stderr output)"
        return WorkerDiedError(f"The worker process stopped (exit code {code}). Last stderr: {tail}",
                               stderr=list(self._stderr), exit_code=code)

    def _read_stdout(self, proc: subprocess.Popen[str], events: "queue.Queue[dict[str, Any]]") -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            try:
                events.put(protocol.decode(line))
            except ValueError:
                self._stderr.append("worker stdout (not an event): " + line.rstrip()[:200])

    def _read_stderr(self, proc: subprocess.Popen[str]) -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            self._stderr.append(line.rstrip())


def _default_python() -> str:
    """Blender's own Python by default; the user points preferences at one with torch for real models."""
    return sys.executable
