"""``python -m core library info CSV_OR_LIBRARY_DIR``: what a catalogue holds and what is wrong with it."""
from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="library_command", required=True, metavar="ACTION")
    info = sub.add_parser("info", help="Print a JSON summary: usable assets, excluded rows, classes, problems.")
    info.add_argument("library", nargs="?", default=None,
                      help="imaginarium_asset_info.csv or the library folder (default: paths.library_dir).")
    info.add_argument("--store", action="store_true", help="Also summarise the derived-data store, if built.")


def run(args: argparse.Namespace) -> int:
    from .config import Settings
    from .library.catalogue import load_catalogue

    target = args.library
    if target is None:
        settings = Settings.load(args.config)
        target = settings.paths.library_dir
    catalogue = load_catalogue(target)
    out = catalogue.summary()
    if args.store:
        from .errors import LibraryError
        from .library.store import FeatureStore

        try:
            out["store"] = FeatureStore.open(catalogue.library_dir / "derived").summary()
        except LibraryError as exc:
            out["store"] = {"error": exc.message, "fix": exc.fix}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0
