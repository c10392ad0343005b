"""``python -m core perceive IMAGE [--depth D --intrinsics fx,fy,cx,cy] [--detections DET.json] [--fov DEG]
[--library DIR] --out RUN_DIR``."""
from __future__ import annotations

import argparse

from ..config import Secrets, Settings
from ..errors import BadInputError

DEPTH_HELP = ("Your own depth map: .npy (metres or millimetres), 16-bit PNG millimetres (SUN RGB-D raw PNGs "
              "recognised), 32-bit TIFF or EXR; units are detected and reported.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="RGB image (8-bit PNG/JPEG).")
    parser.add_argument("--out", required=True, help="Run folder to write (created if missing).")
    parser.add_argument("--depth", default=None, help=DEPTH_HELP)
    parser.add_argument("--intrinsics", default=None, help="fx,fy,cx,cy in pixels of the image.")
    parser.add_argument("--detections", default=None, help='JSON list of {"label", "box", "score", "mask"?}.')
    parser.add_argument("--fov", type=float, default=None, help="Horizontal field of view in degrees.")
    parser.add_argument("--labels", default=None, help="Comma-separated labels to detect (default: the library's "
                        "classes with --library, else a built-in list).")
    parser.add_argument("--library", default=None, help="Asset library folder: the detector looks for its classes "
                        "(or what the VLM sees, in its words) and the VLM's size verdicts use its sizes.")
    parser.add_argument("--clean", action="store_true", help="Recompute every stage, ignoring the cache.")


def parse_intrinsics(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise BadInputError(f"--intrinsics {text!r} is not four numbers.", "Write it as fx,fy,cx,cy, e.g. 500,500,320,240.")
    return values  # type: ignore[return-value]


def run(args: argparse.Namespace) -> int:
    from ..perception.pipeline import perceive

    settings = Settings.load(args.config)
    labels = [s for s in args.labels.split(",")] if args.labels else None
    obs = perceive(args.image, args.out, settings, Secrets.gather(), depth_path=args.depth,
                   intrinsics=parse_intrinsics(args.intrinsics), detections_path=args.detections,
                   fov_deg=args.fov, labels=labels, library=args.library, clean=args.clean)
    from ..runfolder import run_id

    planes = ", ".join(p.id for p in obs.planes)
    print(f"{len(obs.graph.objects)} objects, planes: {planes}; scene graph: {obs.graph.source}")
    for note in obs.notes:
        print(f"note: {note}")
    for o in obs.graph.objects:
        for note in o.notes:
            print(f"note: {o.id}: {note}")
    print(f"wrote {args.out}/observation.json (run id {run_id(args.out)})")
    return 0
