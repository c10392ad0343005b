"""``python -m core match RUN_DIR --library DIR``: retrieve assets and poses for a perceived run."""
from __future__ import annotations

import argparse
import json

from ..config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="Run folder with observation.json (from `python -m core perceive`).")
    parser.add_argument("--library", default=None, help="Asset library folder (default: paths.library_dir).")
    parser.add_argument("--embedder", choices=("auto", "dinov2", "classical"), default=None,
                        help="Override retrieval.embedder.")
    parser.add_argument("--top-k", type=int, default=None, help="Override retrieval.top_k.")
    parser.add_argument("--strict", action="store_true", help="Fail when a label has no candidate asset.")


def run(args: argparse.Namespace) -> int:
    from ..matching.pipeline import match

    settings = Settings.load(args.config)
    if args.embedder:
        settings.retrieval.embedder = args.embedder
    if args.top_k is not None:
        settings.retrieval.top_k = args.top_k
    if args.strict:
        settings.retrieval.strict_labels = True
    library = args.library or settings.paths.library_dir
    result = match(args.run_dir, library, settings)
    summary = {c.object_id: (c.assets[0].asset_id if c.assets else None) for c in result.candidates}
    print(json.dumps({"candidates": f"{args.run_dir}/candidates.json", "best": summary,
                      "textures": result.textures, "notes": result.notes}, indent=2))
    return 0
