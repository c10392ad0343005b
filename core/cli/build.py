"""``python -m core build RUN [--library DIR] [--out OUT.blend] [--render OUT.png]``: run folder → Blender scene.

Why a child process: building needs Blender (bpy), and the command line may run in a Python
without it — or with it, where a build would still leave state in this interpreter. So a
fresh background Blender always does the work: ``sys.executable scripts/blender_build.py``
when ``bpy`` imports here (the bpy wheel), else a ``blender`` executable (``--blender``,
``$IMAGINARIUM_BLENDER`` or PATH) with ``-b --python``. The child reports one JSON line; an
error comes back as the same typed error (``error:``/``fix:``, exit 2).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..config import Settings
from ..errors import BadInputError, ImaginariumError, error_from_dict

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "blender_build.py"
RESULT_PREFIX = "IMAGINARIUM_BUILD_RESULT "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="Run folder with layout.json (from `python -m core room`).")
    parser.add_argument("--library", default=None, help="Asset library folder (default: paths.library_dir).")
    parser.add_argument("--blend", "--out", dest="out", default=None,
                        help="Where to save the scene (default: RUN/scene.blend).")
    parser.add_argument("--render", default=None, metavar="PNG",
                        help="Also render a preview from the reference camera here (plus PNG_side_by_side.png).")
    parser.add_argument("--width", type=int, default=320, help="Preview width in pixels (default 320).")
    parser.add_argument("--samples", type=int, default=16, help="Preview Cycles samples (default 16, denoised).")
    parser.add_argument("--no-fit", action="store_true", help="Keep the lights' default power (no exposure fit).")
    parser.add_argument("--blender", default=None, help="Blender executable when this Python has no bpy.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Seconds before the child Blender is stopped.")


def child_command(args: argparse.Namespace) -> list[str]:
    """The command line of the child Blender that builds the run."""
    script_args = ["--run", str(Path(args.run_dir).resolve()), "--library", str(Path(args.library).resolve()),
                   "--out", str(Path(args.out).resolve()), "--width", str(args.width), "--samples", str(args.samples)]
    if args.render:
        script_args += ["--render", str(Path(args.render).resolve())]
    if args.no_fit:
        script_args.append("--no-fit")
    if importlib.util.find_spec("bpy") is not None:
        return [sys.executable, str(SCRIPT), "--", *script_args]
    blender = args.blender or os.environ.get("IMAGINARIUM_BLENDER") or shutil.which("blender")
    if not blender:
        raise BadInputError("No Blender to build with: this Python has no bpy and no `blender` is on PATH.",
                            "Pass --blender /path/to/blender (4.3), set IMAGINARIUM_BLENDER, or install the bpy wheel "
                            "(pip install bpy==4.3.0).")
    return [blender, "-b", "--factory-startup", "--python", str(SCRIPT), "--", *script_args]


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    run_dir = Path(args.run_dir)
    if not (run_dir / "layout.json").is_file():
        raise BadInputError(f"{run_dir} has no layout.json.",
                            f"Solve the run first: python -m core room IMAGE --out {run_dir}")
    args.library = args.library or settings.paths.library_dir
    args.out = args.out or str(run_dir / "scene.blend")
    result = run_child(child_command(args), args.timeout)
    for note in result.get("notes", []):
        print(f"note: {note}")
    print(json.dumps({k: v for k, v in result.items() if k != "notes"}, indent=2))
    return 0


def run_child(cmd: list[str], timeout: float) -> dict:
    """Run the child and return its result; its typed error is raised here as the same class."""
    env = dict(os.environ)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise BadInputError(f"Blender did not finish the build within {timeout:.0f} s.",
                            "Raise --timeout, or render a smaller preview (--width, --samples).") from None
    except OSError as exc:
        raise BadInputError(f"Could not start Blender ({cmd[0]}): {exc}.",
                            "Pass --blender with the path of a Blender 4.3 executable.") from None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX):])
            if "error" in data:
                raise error_from_dict(data["error"])
            return data
    tail = (proc.stderr or proc.stdout)[-1500:].strip()
    raise ImaginariumError(f"Blender exited ({proc.returncode}) without a result: {tail}",
                           "Check that the Blender is version 4.3 and that the run folder and library are readable.")
