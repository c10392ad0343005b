"""A tiny library for tests and demos: 4 starter assets, few small views, built in seconds.

Why a function: tests across the project (matching, layout, the scene builder) need a real
library with real renders and proxies, not the full starter set. It runs the same two
scripts a user runs, in fresh interpreters (they need bpy), so it exercises the real path.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..core.errors import LibraryError

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], env: dict[str, str] | None, timeout: float) -> dict:
    script = REPO / "scripts" / args[0]
    if not script.is_file():
        raise LibraryError(f"{script} is missing; fixtures need the repository's scripts/ folder.",
                           "Run this from a checkout of the repository, not the installed extension.")
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, str(script), *args[1:]], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=REPO)
    if proc.returncode != 0:
        raise LibraryError(f"{args[0]} failed (exit {proc.returncode}): {proc.stderr[-1500:]}",
                           "Run the command by hand to see the whole error.")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_fixture_library(dest: str | os.PathLike[str], *, views: int = 12, resolution: int = 64, build: bool = True,
                         seed: int = 0, env: dict[str, str] | None = None, timeout: float = 240) -> Path:
    """Write the fixture library to ``dest`` (and its derived data unless ``build=False``)."""
    dest = Path(dest)
    _run(["make_starter_library.py", "--out", str(dest), "--seed", str(seed), "--only", "fixture"], env, timeout)
    if build:
        _run(["build_library.py", "--library", str(dest), "--views", str(views), "--resolution", str(resolution),
              "--workers", "1"], env, timeout)
    return dest
