"""The command line: ``python -m core COMMAND …``.

One small module per command in this package (``core/cli/<name>.py``), each with
``add_arguments(parser)`` and ``run(args) -> int``. Commands are imported only when
the parser is built or the command runs, so a command whose optional dependencies are
missing (or whose module is not written yet) does not break the others. Every
:class:`ImaginariumError` prints ``error: …`` and ``fix: …`` and exits with status 2,
without a traceback: the fix is the remedy, the traceback would only bury it.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import ImaginariumError

COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("config", "Show every setting with its default, or the effective values."),
    "library": ("library", "Inspect or build an asset library (info, …)."),
    "perceive": ("perceive", "Image → run folder with observation.json (camera, depth, planes, objects)."),
    "match": ("match", "Retrieve library assets, poses and textures for a perceived run folder."),
    "room": ("room", "Image → run folder with layout.json: perceive, match and solve in one go."),
    "build": ("build", "Run folder → Blender scene (.blend, optional render) in background Blender."),
    "batch": ("batch", "Many rooms, or a library's derived data, on a Ray cluster (local by default)."),
}


class _Missing:
    """Stands in for a command module that cannot be imported; says so when the command is used."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(self, args: argparse.Namespace) -> int:
        raise ImaginariumError(f"The `{self.name}` command is not available here ({self.reason}).",
                               "Update the add-on / repository, or use a command listed by `python -m core -h`.")


def _module(name: str) -> object:
    """Import ``core.cli.<module>`` for a command; a module that does not exist yet becomes :class:`_Missing`."""
    target = COMMANDS[name][0]
    package = __package__ or "core.cli"
    full = f"{package}.{target}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:  # the command exists but one of its own imports is missing: show that
            raise
        return _Missing(name, f"no module {full}")


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
    try:
        args = build_parser().parse_args(argv)
        return int(_module(args._command).run(args) or 0)  # type: ignore[attr-defined]
    except ImaginariumError as exc:
        print(f"error: {exc.message}\nfix: {exc.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
