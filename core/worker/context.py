"""What a running op sees: progress and log reporting, and cancellation between steps."""
from __future__ import annotations

import threading
from typing import Any, Callable

from ..errors import CancelledError


class JobContext:
    """Handed to every op. Ops call :meth:`progress` per step and :meth:`check_cancelled` between steps."""

    def __init__(self, job_id: str, emit: Callable[[dict[str, Any]], None]) -> None:
        self.job_id = job_id
        self._emit = emit
        self._cancel = threading.Event()

    def progress(self, fraction: float, message: str = "") -> None:
        self.check_cancelled()
        self._emit({"id": self.job_id, "type": "progress", "fraction": max(0.0, min(1.0, float(fraction))),
                    "message": message})

    def log(self, message: str, level: str = "info") -> None:
        self._emit({"id": self.job_id, "type": "log", "level": level, "message": message})

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`CancelledError` if the client asked to cancel; call it between steps."""
        if self._cancel.is_set():
            raise CancelledError(f"Job {self.job_id} was cancelled.")

    def wait(self, seconds: float) -> None:
        """Sleep that wakes up early on cancel (for ops that poll remote services)."""
        if self._cancel.wait(seconds):
            self.check_cancelled()
