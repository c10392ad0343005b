"""``python -m core room IMAGE --library DIR --out RUN``: one image to a solved room, every stage in order.

Writes ``RUN/observation.json``, ``RUN/candidates.json`` and ``RUN/layout.json`` (through
:func:`core.pipeline.image_to_room`, so re-running reuses finished stages; ``--clean`` redoes
them), then prints the run's notes (every fallback or guess a stage made) and a one-line summary.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Secrets, Settings
from ..errors import BadInputError
from .perceive import DEPTH_HELP, parse_intrinsics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="RGB image (8-bit PNG/JPEG).")
    parser.add_argument("--library", default=None, help="Asset library folder (default: paths.library_dir).")
    parser.add_argument("--out", required=True, help="Run folder to write (created if missing).")
    parser.add_argument("--depth", default=None, help=DEPTH_HELP)
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument("--intrinsics", default=None, help="fx,fy,cx,cy in pixels of the image.")
    camera.add_argument("--fov", type=float, default=None, help="Horizontal field of view in degrees.")
    parser.add_argument("--detections", default=None, help='JSON list of {"label", "box", "score", "mask"?}.')
    parser.add_argument("--labels", default=None, help="Comma-separated labels to detect (default: the library's classes).")
    parser.add_argument("--clean", action="store_true", help="Recompute every stage, ignoring the run folder's cache.")
    parser.add_argument("--quiet", action="store_true", help="No progress lines on stderr.")


class _StageLines:
    """Progress as one stderr line per step (a terminal, not a panel: plain lines that a log keeps)."""

    def __init__(self) -> None:
        self.last = ""

    def progress(self, fraction: float, message: str = "") -> None:
        if message and message != self.last:
            self.last = message
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    def log(self, message: str, level: str = "info") -> None:
        """Nothing: a stage's warnings are its notes, printed once at the end (and Python logging shows them)."""

    def check_cancelled(self) -> None:
        """Ctrl+C stops the CLI; nothing else cancels it."""


def run(args: argparse.Namespace) -> int:
    from ..pipeline import image_to_room

    settings = Settings.load(args.config)
    library = args.library or settings.paths.library_dir
    if args.fov is not None and not 1.0 <= args.fov <= 179.0:
        raise BadInputError(f"--fov {args.fov} is not a field of view in degrees.", "Give --fov between 1 and 179.")
    labels = [s.strip() for s in args.labels.split(",") if s.strip()] if args.labels else None
    layout = image_to_room(args.image, args.out, library, settings, Secrets.gather(), depth=args.depth,
                           intrinsics=parse_intrinsics(args.intrinsics), fov_deg=args.fov,
                           detections=args.detections, labels=labels,
                           ctx=None if args.quiet else _StageLines(), clean=args.clean)
    print_run_notes(Path(args.out), layout)
    return 0


def print_run_notes(run_dir: Path, layout: object) -> None:
    """The notes of every stage of the run, then a summary line.

    An object's own notes from perception travel in its placement's notes, so they are printed once,
    with the object's id.
    """
    from ..schema import CandidateSet, Observation

    notes: list[str] = []
    objects = 0
    if (run_dir / "observation.json").is_file():
        obs = Observation.load(run_dir / "observation.json")
        objects = len(obs.graph.objects)
        notes += [f"perceive: {n}" for n in list(obs.notes) + list(obs.graph.notes)]
    if (run_dir / "candidates.json").is_file():
        notes += [f"match: {n}" for n in CandidateSet.load(run_dir / "candidates.json").notes]
    notes += [f"solve: {n}" for n in layout.notes]  # type: ignore[attr-defined]
    notes += [f"{p.object_id}: {n}" for p in layout.placements for n in p.notes]  # type: ignore[attr-defined]
    for note in notes:
        print(f"note: {note}")
    placed = len(layout.placements)  # type: ignore[attr-defined]
    print(f"{placed} of {objects} object(s) placed, {len(notes)} note(s); wrote {run_dir / 'layout.json'}")
