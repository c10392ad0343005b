"""``python -m core config``: the settings a user can change, with defaults and docs."""
from __future__ import annotations

import argparse
import json

from ..config import Secrets, Settings, documented_defaults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--effective", action="store_true",
                        help="Print the values in force (defaults + file + environment) as JSON.")


def run(args: argparse.Namespace) -> int:
    if args.effective:
        settings = Settings.load(args.config)
        secrets = Secrets.gather()
        out = settings.to_dict()
        out["secrets"] = {name: ("set" if getattr(secrets, name) else "unset") for name in Secrets.ENV_NAMES}
        print(json.dumps(out, indent=2))
        return 0
    for name, default, doc in documented_defaults():
        print(f"{name} = {default!r}\n    {doc}")
    print("\nEnvironment: IMAGINARIUM_<SECTION>_<FIELD>; keys: " +
          ", ".join(n for names in Secrets.ENV_NAMES.values() for n in names))
    return 0
