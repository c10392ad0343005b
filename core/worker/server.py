"""The worker's main loop: a stdin reader thread, one job thread, events on stdout."""
from __future__ import annotations

import logging
import queue
import sys
import threading
import traceback
from typing import Any, TextIO

from ..errors import ImaginariumError, WorkerError, redact
from . import protocol, registry
from .context import JobContext

log = logging.getLogger("imaginarium.worker")


class Worker:
    """Reads requests, runs jobs in order on one thread, writes events; survives bad input."""

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._out_lock = threading.Lock()
        self._jobs: "queue.Queue[tuple[str, str, dict[str, Any], JobContext] | None]" = queue.Queue()
        self._contexts: dict[str, JobContext] = {}
        self._lock = threading.Lock()

    def emit(self, event: dict[str, Any]) -> None:
        try:
            line = protocol.encode(event)
        except (TypeError, ValueError) as exc:  # an op returned something that is not JSON
            err = WorkerError(f"Op result could not be sent: {exc}.", "Report this as a bug.")
            line = protocol.encode({"id": event.get("id"), "type": "error", "error": err.to_dict()})
        with self._out_lock:
            self._stdout.write(line)
            self._stdout.flush()

    def serve(self) -> int:
        runner = threading.Thread(target=self._run_jobs, name="imaginarium-job", daemon=True)
        runner.start()
        for raw in self._stdin:
            raw = raw.strip()
            if not raw:
                continue
            if not self._handle_line(raw):
                break
        self._cancel_all()
        self._jobs.put(None)
        runner.join(timeout=10)
        return 0

    def _handle_line(self, raw: str) -> bool:
        """Act on one request; returns False on shutdown."""
        try:
            msg = protocol.decode(raw)
        except ValueError as exc:
            self._reject(None, f"Malformed request line ({exc}): {raw[:80]!r}.")
            return True
        op, job_id = msg.get("op"), msg.get("id")
        if op == "shutdown":
            return False
        if not isinstance(job_id, str) or not job_id:
            self._reject(None, f"Request without a string 'id': {raw[:80]!r}.")
            return True
        if op == "cancel":
            with self._lock:
                ctx = self._contexts.get(job_id)
            if ctx is not None:
                ctx.cancel()
            return True
        params = msg.get("params", {})
        if not isinstance(op, str) or not isinstance(params, dict):
            self._reject(job_id, "Request needs a string 'op' and an object 'params'.")
            return True
        ctx = JobContext(job_id, self.emit)
        with self._lock:
            if job_id in self._contexts:
                self._reject(job_id, f"Job id {job_id!r} is already in use.")
                return True
            self._contexts[job_id] = ctx
        self._jobs.put((job_id, op, params, ctx))
        return True

    def _reject(self, job_id: str | None, message: str) -> None:
        err = WorkerError(message, "Send one JSON object per line: {\"id\": ..., \"op\": ..., \"params\": {...}}.")
        self.emit({"id": job_id, "type": "error", "error": err.to_dict()})

    def _cancel_all(self) -> None:
        with self._lock:
            for ctx in self._contexts.values():
                ctx.cancel()

    def _run_jobs(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job_id, op, params, ctx = item
            try:
                ctx.check_cancelled()
                value = registry.resolve(op)(params, ctx)
                self.emit({"id": job_id, "type": "result", "value": value})
            except ImaginariumError as exc:
                self.emit({"id": job_id, "type": "error", "error": exc.to_dict()})
            except ModuleNotFoundError as exc:  # e.g. Blender's own Python, which has no cv2 or torch
                err = WorkerError(f"The worker's Python ({sys.executable}) cannot run {op}: it has no module "
                                  f"'{exc.name}'.",
                                  "Point 'Worker Python' in the add-on preferences at an environment made by "
                                  "'Create Worker Environment' (or `make venv`), which has the model libraries.")
                self.emit({"id": job_id, "type": "error", "error": err.to_dict()})
            except Exception as exc:  # any bug in an op becomes an error event; the worker stays up
                if _out_of_memory(exc):
                    _release_memory()
                    err = WorkerError(f"The worker ran out of {_memory_kind(exc)} memory while running {op}.",
                                      OUT_OF_MEMORY_FIX)
                else:
                    log.error("op %s failed:\n%s", op, redact(traceback.format_exc()))
                    err = WorkerError(f"Op {op} failed: {type(exc).__name__}: {exc}",
                                      "See the worker log (stderr) for the traceback and report it.")
                self.emit({"id": job_id, "type": "error", "error": err.to_dict()})
            finally:
                with self._lock:
                    self._contexts.pop(job_id, None)


OUT_OF_MEMORY_FIX = ("Choose a lower Memory mode, or CPU as the Device, in Preferences → Imaginarium; or use a "
                     "smaller image. Then retry: the worker is still running.")


def _out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or torch's CUDA out-of-memory (a RuntimeError subclass, not a MemoryError)."""
    return (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
            or "out of memory" in str(exc).lower())


def _release_memory() -> None:
    """Give back what the failed job held (its tensors, the allocator's cached blocks), so the retry the error
    suggests starts from the memory the loaded models need, not from what the failure left behind."""
    import gc

    gc.collect()
    torch = sys.modules.get("torch")  # only when a model op imported it: never import torch for this
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _memory_kind(exc: BaseException) -> str:
    return "GPU" if type(exc).__name__ == "OutOfMemoryError" or "cuda" in str(exc).lower() else "main"


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Anything a library prints must not corrupt the event stream: stdout is ours alone.
    events_out = sys.stdout
    sys.stdout = sys.stderr
    log.info("worker started")
    return Worker(sys.stdin, events_out).serve()
