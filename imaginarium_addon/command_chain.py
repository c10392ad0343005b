"""Run child processes one after another, polled without blocking Blender's main thread.

Used for work that must not run inside Blender's process: creating the worker's environment
(pip) and building a library's derived data (a background Blender). :meth:`CommandChain.poll`
is the step a timer calls; output lines are kept so a failure can show its last words, and a
``N/M`` counter in the output (tqdm's) becomes the step's progress.
"""
from __future__ import annotations

import collections
import re
import subprocess
import threading
from dataclasses import dataclass, field

_COUNTER = re.compile(r"(\d+)/(\d+)")


@dataclass
class Step:
    command: list[str]
    message: str
    cwd: str | None = None
    env: dict[str, str] | None = None  # the whole environment for this step (None: inherit ours)


@dataclass
class CommandChain:
    """``state`` is idle | running | done | failed | cancelled."""

    steps: list[Step]
    state: str = "idle"
    index: int = 0
    message: str = ""
    step_fraction: float = 0.0
    log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))
    _proc: subprocess.Popen | None = None

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return (self.index + self.step_fraction) / max(1, len(self.steps))

    def start(self) -> None:
        if self.state == "running":
            return
        self.state, self.index = "running", 0
        self._launch()

    def poll(self) -> str:
        """Advance when the current step has finished; never blocks."""
        if self.state != "running" or self._proc is None:
            return self.state
        code = self._proc.poll()
        if code is None:
            return self.state
        if code != 0:
            tail = " | ".join(list(self.log)[-3:])
            self.state, self.message = "failed", f"Step {self.index + 1} failed (exit {code}): {tail}"
            return self.state
        self.index += 1
        if self.index >= len(self.steps):
            self.state = "done"
        else:
            self._launch()
        return self.state

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.state, self.message = "cancelled", "cancelled"

    def _launch(self) -> None:
        step = self.steps[self.index]
        self.message, self.step_fraction = step.message, 0.0
        try:
            self._proc = subprocess.Popen(step.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                          cwd=step.cwd, env=step.env)
        except OSError as exc:
            self.state, self.message = "failed", f"Could not run {step.command[0]}: {exc}"
            return
        threading.Thread(target=self._drain, args=(self._proc,), daemon=True).start()

    def _drain(self, proc: subprocess.Popen) -> None:
        buffer = ""
        while True:
            chunk = proc.stdout.read(256)  # type: ignore[union-attr]
            if not chunk:
                break
            buffer += chunk
            parts = re.split(r"[\r\n]", buffer)  # tqdm redraws with \r
            buffer = parts.pop()
            for line in parts:
                if line.strip():
                    self.log.append(line.strip())
                    counts = _COUNTER.findall(line)
                    if counts:
                        done, total = (int(v) for v in counts[-1])
                        self.step_fraction = min(1.0, done / total) if total else 0.0
        if buffer.strip():
            self.log.append(buffer.strip())
