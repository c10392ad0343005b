"""``python -m core library ACTION``: inspect a catalogue (``info``) and map labels to its classes (``classes``).

``classes`` prints one JSON object ``{"labels": {LABEL: {"class", "retrieval_class", "score"} | null}}``:
``null`` only where nothing at all matched (such an object is still placed, as a labelled box).
It reads only the catalogue's names, so it works on the bare published CSV without the assets.
"""
from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="library_command", required=True, metavar="ACTION")
    info = sub.add_parser("info", help="Print a JSON summary: usable assets, excluded rows, classes, problems.")
    info.add_argument("library", nargs="?", default=None,
                      help="imaginarium_asset_info.csv or the library folder (default: paths.library_dir).")
    info.add_argument("--store", action="store_true", help="Also summarise the derived-data store, if built.")
    classes = sub.add_parser("classes", help="Map labels (a detector's, a VLM's, yours) to the catalogue's classes.")
    classes.add_argument("catalogue", help="imaginarium_asset_info.csv (or the library folder holding it).")
    classes.add_argument("--labels", required=True, help='Comma-separated labels, e.g. "sofa,night stand,tv".')
    classes.add_argument("--text-model", default=None,
                         help="Folder of a sentence-embedding or CLIP text model for labels no rule knows "
                              "(default: weight-free character-trigram similarity).")
    classes.add_argument("--explain", action="store_true",
                         help="Also print how each label was matched and its alternatives (key \"details\").")


def run(args: argparse.Namespace) -> int:
    if args.library_command == "classes":
        return _classes(args)
    return _info(args)


def _classes(args: argparse.Namespace) -> int:
    from ..errors import BadInputError
    from ..library.text_match import load_text_encoder
    from ..library.vocabulary import Vocabulary

    labels = list(dict.fromkeys(s.strip() for s in str(args.labels).split(",") if s.strip()))
    if not labels:
        raise BadInputError("--labels is empty.", 'Pass labels separated by commas: --labels "sofa,night stand,tv".')
    vocab = Vocabulary.from_csv(args.catalogue, similarity=load_text_encoder(args.text_model))
    found = vocab.map_labels(labels)
    out: dict = {"labels": {lab: (m.to_dict() if m else None) for lab, m in found.items()}}
    if args.explain:
        out["details"] = {lab: ({"via": m.via, "specific_class": m.specific, "alternatives": [
            {"class": c, "retrieval_class": r, "score": s} for c, r, s in m.alternatives]} if m else None)
            for lab, m in found.items()}
        out["similarity"] = vocab.similarity.name
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _info(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..library.catalogue import load_catalogue

    target = args.library
    if target is None:
        settings = Settings.load(args.config)
        target = settings.paths.library_dir
    catalogue = load_catalogue(target)
    out = catalogue.summary()
    if args.store:
        from ..errors import LibraryError
        from ..library.store import FeatureStore

        try:
            out["store"] = FeatureStore.open(catalogue.library_dir / "derived").summary()
        except LibraryError as exc:
            out["store"] = {"error": exc.message, "fix": exc.fix}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0
