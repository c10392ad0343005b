"""Create the worker's Python environment from inside Blender, without freezing it.

Blender's bundled Python has no torch, so the models need an environment of their own.
:func:`env_builder` returns a :class:`~.command_chain.CommandChain` that runs ``python -m venv``
and ``pip install`` as child processes; a timer polls it. Plain Python, no bpy: the caller
decides whether online access is allowed (``bpy.app.online_access``).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import WorkerError
from .command_chain import CommandChain, Step

REQUIREMENTS = Path(__file__).with_name("worker_requirements.txt")


def env_python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def manual_instructions(env_dir: Path) -> str:
    """What to type when Blender may not go online (or the automatic build failed)."""
    return (f"python3.11 -m venv {env_dir} && {env_python(env_dir)} -m pip install -r {REQUIREMENTS}, "
            "then set Worker Python to " + str(env_python(env_dir)))


def env_builder(env_dir: Path, base_python: str = sys.executable, requirements: Path | None = REQUIREMENTS,
                pip_args: list[str] | None = None) -> CommandChain:
    """The steps that create ``env_dir`` and install the worker's requirements into it."""
    steps = [Step([base_python, "-m", "venv", str(env_dir)], "Creating the environment")]
    if requirements is not None:
        steps.append(Step([str(env_python(env_dir)), "-m", "pip", "install", "--disable-pip-version-check",
                           "-r", str(requirements), *(pip_args or [])],
                          "Installing torch and the models' libraries (several GB; this takes a while)"))
    return CommandChain(steps)


def failure(chain: CommandChain, env_dir: Path) -> WorkerError | None:
    """The error to show when the chain failed, with the manual route as its fix."""
    if chain.state != "failed":
        return None
    return WorkerError(chain.message, "Create it by hand: " + manual_instructions(env_dir))
