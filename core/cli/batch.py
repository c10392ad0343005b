"""``python -m core batch library LIBDIR`` and ``python -m core batch rooms SPEC.jsonl --out DIR``.

Without ``--address`` a local Ray cluster starts on this machine (``--workers`` CPUs); with one
(``auto``, ``HOST:6379``, ``ray://HOST:10001``) the same code runs on that cluster. Prints one JSON
summary on stdout; progress bars go to stderr.
"""
from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="batch_command", required=True, metavar="WHAT")
    lib = sub.add_parser("library", help="Template renders, proxies and embeddings of a library, on Ray.")
    lib.add_argument("library", help="Library folder (with imaginarium_asset_info.csv).")
    lib.add_argument("--views", type=int, default=None, help="Template views per asset (default 162).")
    lib.add_argument("--resolution", type=int, default=None, help="Template render size in pixels (default 224).")
    lib.add_argument("--no-embed", action="store_true", help="Bake only; embed later.")
    lib.add_argument("--commit-every", type=int, default=20, help="Commit the store after this many assets.")
    rooms = sub.add_parser("rooms", help="Rooms from a JSON-lines list (generator, photo or prompt), on Ray.")
    rooms.add_argument("spec", help="JSON lines, one room each (see core/batch/room_spec.py).")
    rooms.add_argument("--out", required=True, help="Output folder: one folder per room and manifest.jsonl.")
    rooms.add_argument("--library", default=None, help="Asset library folder (default: settings paths.library_dir).")
    rooms.add_argument("--width", type=int, default=640)
    rooms.add_argument("--height", type=int, default=480)
    rooms.add_argument("--samples", type=int, default=16, help="Cycles samples per render.")
    rooms.add_argument("--for-lora", action="store_true",
                       help="Also write DIR/lora_data/<name>.png + .txt caption for scripts/train_flux_lora.py.")
    for p in (lib, rooms):
        p.add_argument("--address", default=None, help="Ray cluster to join (auto, HOST:PORT, ray://HOST:10001); "
                       "default: a local cluster on this machine.")
        p.add_argument("--workers", type=int, default=None, help="CPUs of the local cluster (default: all).")
        p.add_argument("--no-progress", action="store_true")


def _settings_library(args: argparse.Namespace) -> str | None:
    if args.library:
        return args.library
    from ..config import Settings

    value = getattr(Settings.load(args.config).paths, "library_dir", "")
    return value or None


def _clean_stdout():
    """Ray's own messages (a worker died, a task was retried) go to stderr; stdout keeps only our JSON."""
    import os
    import sys

    sys.stdout.flush()
    ours = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return ours


def run(args: argparse.Namespace) -> int:
    out = _clean_stdout()
    if args.batch_command == "library":
        from ..batch.library_build import build_library

        summary = build_library(args.library, address=args.address, workers=args.workers, views=args.views,
                                resolution=args.resolution, commit_every=args.commit_every, embed=not args.no_embed,
                                progress=not args.no_progress)
    else:
        from ..batch.rooms import RoomOptions, run_rooms

        summary = run_rooms(args.spec, args.out, library=_settings_library(args), address=args.address,
                            workers=args.workers, progress=not args.no_progress,
                            opts=RoomOptions(width=args.width, height=args.height, samples=args.samples,
                                             for_lora=args.for_lora))
    print(json.dumps(summary, indent=1), file=out, flush=True)
    return 1 if summary.get("failed") else 0
