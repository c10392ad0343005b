"""Run a bpy script in a fresh Blender and read its one-line JSON answer.

Why a child per task: a Blender session holds global state (the scene, loaded images, render
settings); a fresh process per room or asset keeps tasks independent, and a crash in Blender
costs one task (Ray retries it), never the driver. Which Blender: this interpreter when it can
import ``bpy`` (the bpy wheel, as in development and tests), else ``IMAGINARIUM_PATHS_BLENDER`` or a
``blender`` executable on PATH run as ``blender -b --python SCRIPT -- ARGS``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import ImaginariumError

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


class BlenderChildError(ImaginariumError):
    default_fix = "Run the same command on one room or asset to see Blender's whole message."


def blender_command(script: Path, args: list[str]) -> list[str]:
    """The command line that runs ``script`` with ``args`` under Blender."""
    if importlib.util.find_spec("bpy") is not None:
        return [sys.executable, str(script), *args]
    blender = os.environ.get("IMAGINARIUM_PATHS_BLENDER") or shutil.which("blender")
    if not blender:
        raise BlenderChildError("No Blender to build rooms with: this Python has no bpy and no `blender` is on PATH.",
                                "Install the bpy module (`pip install bpy==4.3.0`) or set IMAGINARIUM_PATHS_BLENDER "
                                "to the Blender executable.")
    return [blender, "-b", "--factory-startup", "--python", str(script), "--", *args]


def run_blender(script_name: str, args: list[str], *, timeout_s: float = 1800.0,
                env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``scripts/<script_name>`` in a fresh Blender; return the JSON object on its last stdout line."""
    script = SCRIPTS / script_name
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.run(blender_command(script, args), capture_output=True, text=True, timeout=timeout_s,
                              env=full_env, cwd=str(SCRIPTS.parent))
    except subprocess.TimeoutExpired:
        raise BlenderChildError(f"{script_name} did not finish within {timeout_s:.0f} s.") from None
    lines = [line for line in proc.stdout.strip().splitlines() if line.startswith("{")]
    answer: dict[str, Any] = {}
    if lines:
        try:
            answer = json.loads(lines[-1])
        except ValueError:
            answer = {}
    if proc.returncode != 0 or not answer:
        detail = answer.get("error") or (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BlenderChildError(f"{script_name} failed (exit {proc.returncode}): {detail}",
                                answer.get("fix") or BlenderChildError.default_fix)
    return answer
