"""Create the worker's Python environment from inside Blender, without freezing it.

Blender's bundled Python has no torch, so the models need an environment of their own.
:class:`EnvBuilder` runs ``python -m venv`` and ``pip install`` as child processes one after
another; :meth:`EnvBuilder.poll` is the non-blocking step a timer calls. Plain Python, no bpy:
the caller decides whether online access is allowed (``bpy.app.online_access``).
"""
from __future__ import annotations

import collections
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import WorkerError

REQUIREMENTS = Path(__file__).with_name("worker_requirements.txt")


def env_python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def manual_instructions(env_dir: Path) -> str:
    """What to type when Blender may not go online (or the automatic build failed)."""
    return (f"python3.11 -m venv {env_dir} && {env_python(env_dir)} -m pip install -r {REQUIREMENTS}, "
            "then set Worker Python to " + str(env_python(env_dir)))


@dataclass
class EnvBuilder:
    """Runs the creation steps in order; ``state`` is running | done | failed | cancelled."""

    env_dir: Path
    base_python: str = sys.executable
    requirements: Path | None = REQUIREMENTS
    pip_args: list[str] = field(default_factory=list)
    state: str = "idle"
    step: int = 0
    message: str = ""
    log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))
    _proc: subprocess.Popen | None = None

    def commands(self) -> list[list[str]]:
        py = str(env_python(self.env_dir))
        cmds = [[self.base_python, "-m", "venv", str(self.env_dir)]]
        if self.requirements is not None:
            cmds.append([py, "-m", "pip", "install", "--disable-pip-version-check", "-r", str(self.requirements),
                         *self.pip_args])
        return cmds

    @property
    def fraction(self) -> float:
        total = len(self.commands())
        return 1.0 if self.state == "done" else self.step / total

    def start(self) -> None:
        if self.state == "running":
            return
        self.state, self.step = "running", 0
        self._launch()

    def poll(self) -> str:
        """Advance when the current step has finished; never blocks."""
        if self.state != "running" or self._proc is None:
            return self.state
        code = self._proc.poll()
        if code is None:
            return self.state
        if code != 0:
            self.state = "failed"
            tail = " | ".join(list(self.log)[-3:])
            self.message = f"Step {self.step + 1} failed (exit {code}): {tail}"
            return self.state
        self.step += 1
        if self.step >= len(self.commands()):
            self.state, self.message = "done", f"Worker environment ready: {env_python(self.env_dir)}"
        else:
            self._launch()
        return self.state

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.state, self.message = "cancelled", "cancelled"

    def error(self) -> WorkerError | None:
        if self.state != "failed":
            return None
        return WorkerError(self.message, "Create it by hand: " + manual_instructions(self.env_dir))

    def _launch(self) -> None:
        cmd = self.commands()[self.step]
        self.message = ("Creating the environment" if self.step == 0 else "Installing torch and the models' "
                        "libraries (several GB; this takes a while)")
        try:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except OSError as exc:
            self.state, self.message = "failed", f"Could not run {cmd[0]}: {exc}"
            return
        threading.Thread(target=self._drain, args=(self._proc,), daemon=True).start()

    def _drain(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            self.log.append(line.rstrip())
