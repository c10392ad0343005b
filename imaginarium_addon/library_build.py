"""Build a library's derived data from the sidebar: renders and proxies, then template embeddings.

Rendering needs Blender and embedding needs the worker's libraries (torch for DINOv2), so the
two steps run as child processes — a background Blender (or, with Blender as a Python module,
this interpreter) for ``scripts/build_library.py``, then the worker's Python for
``core.matching.embed_library`` — chained and polled like any long job. Both are incremental.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import bpy

from . import EXTENSION_ROOT
from .command_chain import CommandChain, Step


def render_command(library: Path) -> list[str]:
    script = str(EXTENSION_ROOT / "scripts" / "build_library.py")
    binary = bpy.app.binary_path
    if binary and Path(binary).is_file():  # the Blender application: a background instance, one worker
        return [binary, "--background", "--factory-startup", "--python", script, "--", "--library", str(library),
                "--workers", "1"]
    return [sys.executable, script, "--library", str(library)]  # bpy as a module (tests, scripts)


def build_chain(library: Path, worker_python: str) -> CommandChain:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(EXTENSION_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return CommandChain([
        Step(render_command(library), "Rendering template views and collision proxies", cwd=str(EXTENSION_ROOT)),
        Step([worker_python, "-m", "core.matching.embed_library", str(library)], "Embedding the templates",
             cwd=str(EXTENSION_ROOT), env=env),
    ])
