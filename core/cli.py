"""The command line: ``python -m core COMMAND …``.

Commands are listed as ``name: (module, help)`` and imported only when used, so a
command whose optional dependencies are missing does not break the others. A command
module has ``add_arguments(parser)`` and ``run(args) -> int``. Errors with a known
remedy print the message and the fix, and exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import ImaginariumError

COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("core.config_cli", "Show every setting with its default, or the effective values."),
    "library": ("core.library_cli", "Inspect an asset library catalogue (info)."),
    "perceive": ("core.perceive_cli", "Image → run folder with observation.json (camera, depth, planes, objects)."),
    "match": ("core.match_cli", "Retrieve library assets, poses and textures for a perceived run folder."),
}


def _module(name: str) -> object:
    target = COMMANDS[name][0]
    package = __package__ or "core"
    return importlib.import_module(package + target[len("core"):])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Imaginarium pipeline tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_command=name)
        p.add_argument("--config", default=None, help="Settings file (TOML); default: $IMAGINARIUM_CONFIG.")
        _module(name).add_arguments(p)  # type: ignore[attr-defined]
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_module(args._command).run(args) or 0)  # type: ignore[attr-defined]
    except ImaginariumError as exc:
        print(f"error: {exc.message}\nfix: {exc.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
