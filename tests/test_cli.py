"""The command line's root: --version and --help tell the truth."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from types import ModuleType, SimpleNamespace

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import api.commands
from api import cli
from api._version import __version__


def test_version_prints_the_package_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "api", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"hrvpace {__version__}"


def test_help_lists_usage_and_every_command_in_order() -> None:
    """Review of cliimport: ``hrvpace --help`` builds its command list from ``_SUBCOMMANDS``,
    and nothing held the list; a misspelt entry crashed it, a missing one hid a command."""
    out = subprocess.run(
        [sys.executable, "-m", "api", "--help"], capture_output=True, text=True, check=True
    )
    assert "Usage" in out.stdout
    assert "hrvpace" in out.stdout
    panel = out.stdout.split("Commands", 1)[1]
    listed = re.findall(r"^│ (\w+) ", panel, flags=re.MULTILINE)
    assert listed == list(cli._SUBCOMMANDS)


def test_the_lazy_command_table_is_the_commands_package() -> None:
    """Every module of :mod:`api.commands` without a leading ``_`` is a command: it is listed
    (else ``hrvpace`` never offers it), and each listed one loads as a command of its name
    with a summary (a misspelt entry would be a ``ModuleNotFoundError`` at ``--help``)."""
    modules = {
        m.name for m in pkgutil.iter_modules(api.commands.__path__) if not m.name.startswith("_")
    }
    assert modules == set(cli._SUBCOMMANDS) - {"hub"}  # hub: api.cli._hub, the hub package
    assert len(cli._SUBCOMMANDS) == len(set(cli._SUBCOMMANDS))
    for name in sorted(modules):
        command = typer.main.get_command(cli._one(name))
        assert command.name == name and command.get_short_help_str(), name
        assert callable(getattr(importlib.import_module(f"api.commands.{name}"), name))
    group = typer.main.get_command(cli.app)
    assert isinstance(group, cli._LazyGroup)
    with typer.Context(group) as ctx:
        assert group.list_commands(ctx) == list(cli._SUBCOMMANDS)
        assert group.get_command(ctx, "hub") is not None
        assert group.get_command(ctx, "nosuch") is None


def test_a_key_error_while_a_command_loads_is_raised_not_no_such_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review of cliimport: click looks a command up with ``Mapping.get``, which takes a
    ``KeyError`` for "no such name", so one raised while ``scan``'s module loaded (a
    module-level ``os.environ[...]``) was "No such command 'scan'. Did you mean 'scan'?"."""

    def import_module(name: str) -> ModuleType:
        if name == "api.commands.scan":
            raise KeyError("HRVPACE_SOMETHING")  # as a module-level lookup raises it
        return importlib.import_module(name)

    monkeypatch.setattr(cli, "importlib", SimpleNamespace(import_module=import_module))
    result = CliRunner().invoke(cli.app, ["scan", "--help"])
    assert isinstance(result.exception, KeyError), result.output
    assert result.exception.args == ("HRVPACE_SOMETHING",)
    assert "No such command" not in result.output
    result = CliRunner().invoke(cli.app, ["sessions", "--help"])  # another loads as before
    assert result.exit_code == 0 and "Usage" in result.output, result.output
    result = CliRunner().invoke(cli.app, ["scna"])
    assert result.exit_code == 2 and "No such command 'scna'" in result.output
