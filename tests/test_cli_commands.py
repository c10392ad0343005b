"""The command table of `python -m core`: every command listed, modules imported lazily, typed errors exit 2."""
from __future__ import annotations

import pytest

from imaginarium.core import cli
from imaginarium.core.errors import BadInputError


def test_every_command_is_registered_with_its_own_module() -> None:
    assert {"config", "library", "perceive", "match", "room", "build"} <= set(cli.COMMANDS)
    for name in ("config", "library", "perceive", "match", "room"):
        module = cli._module(name)
        assert module.__name__ == f"imaginarium.core.cli.{name}"
        assert callable(module.add_arguments) and callable(module.run)


def test_a_command_whose_module_is_not_there_yet_fails_only_when_used(monkeypatch, capsys) -> None:
    monkeypatch.setitem(cli.COMMANDS, "later", ("not_written_yet", "A command still to come."))
    parser = cli.build_parser()  # the other commands still parse
    assert parser.parse_args(["config"]).command == "config"
    assert cli.main(["later", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The `later` command is not available") and "\nfix: " in err


def test_a_typed_error_prints_error_and_fix_and_exits_2(monkeypatch, capsys) -> None:
    from imaginarium.core.cli import room

    def boom(args):  # noqa: ANN001, ANN202
        raise BadInputError("the image is a directory.", "Give an image file.")

    monkeypatch.setattr(room, "run", boom)
    assert cli.main(["room", "img.png", "--out", "run"]) == 2
    assert capsys.readouterr().err == "error: the image is a directory.\nfix: Give an image file.\n"


def test_room_rejects_both_intrinsics_and_fov() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["room", "img.png", "--out", "run", "--intrinsics", "1,1,1,1", "--fov", "60"])
    assert exc.value.code == 2
