"""The ``hrvpace`` command line.

Each subcommand lives in its own module under :mod:`api.commands` and is registered here.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Iterator, MutableMapping
from typing import Annotated, Any, TypeVar

import typer
import typer.main
from typer.core import TyperGroup

from api._version import __version__

#: The subcommands in :mod:`api.commands`, each a module holding a function of its name, in the
#: order ``hrvpace --help`` lists them (``hub`` is :func:`_hub` below).
_SUBCOMMANDS = (
    "analyze",
    "assess",
    "demo",
    "export",
    "practice",
    "record",
    "replay",
    "report",
    "scan",
    "serve",
    "share",
    "hub",
    "sessions",
)

_C = TypeVar("_C")


class _Subcommands(MutableMapping[str, _C]):
    """The root group's commands by name: one in :data:`_SUBCOMMANDS` is made on first lookup.

    Importing every command's module cost each ``hrvpace`` run about 0.4 CPU-s (the pipeline,
    pydantic models, numpy, research code) before it parsed a flag; now a run imports the module
    of the command it runs (``hrvpace --help``, which shows each command's summary, imports
    them all; a mistyped name is matched against the names alone and imports none).
    """

    def __init__(self, made: MutableMapping[str, _C], make: Callable[[str], _C]) -> None:
        self._made = made
        self._make = make

    def __getitem__(self, name: str) -> _C:
        if name not in self._made and name in _SUBCOMMANDS:
            self._made[name] = self._make(name)
        return self._made[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The command ``name`` (its module imported now), else ``default``.

        Click's ``get_command`` is ``self.commands.get(name)``, and ``Mapping.get`` takes a
        ``KeyError`` for "no such name": one raised while the command's module loads (a
        module-level lookup in a dict or ``os.environ``) became "No such command 'scan'. Did
        you mean 'scan'?". It propagates, as any other error in an import does.
        """
        return self[name] if name in self else default  # noqa: SIM401 (that .get is this one)

    def __setitem__(self, name: str, command: _C) -> None:
        self._made[name] = command

    def __delitem__(self, name: str) -> None:
        del self._made[name]

    def __contains__(self, name: object) -> bool:
        return name in _SUBCOMMANDS or name in self._made

    def __iter__(self) -> Iterator[str]:
        yield from _SUBCOMMANDS
        yield from (name for name in self._made if name not in _SUBCOMMANDS)

    def __len__(self) -> int:
        return len(set(_SUBCOMMANDS) | set(self._made))


class _LazyGroup(TyperGroup):
    """``hrvpace`` itself: a subcommand's module is imported when the command is looked up."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Subcommands(self.commands, lambda name: typer.main.get_command(_one(name)))


def _one(name: str) -> typer.Typer:
    """A Typer app of the one command ``name`` from :mod:`api.commands`, set up as :data:`app`."""
    one = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode="markdown"
    )
    one.command(name)(getattr(importlib.import_module(f"api.commands.{name}"), name))
    return one


app = typer.Typer(
    name="hrvpace",
    cls=_LazyGroup,
    help=(
        "hrvpace: real-time HRV biofeedback from a Bluetooth heart-rate strap, resonance "
        "breathing and micro-break guidance."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


#: Commands that run a session in this process and print why its source failed themselves,
#: and the strap's notes (``[battery]``, ``[no data]``, ``[data]``, or ``--json`` events): the
#: pipeline's WARNING lines of them (a session id the user never saw; with ``--json`` a line
#: that is no JSON) are left out of their terminal. ``replay`` filters the failure itself; a
#: server (``serve``, ``demo``) logs them.
_REPORT_SOURCE_FAILURE = frozenset({"assess", "practice"})


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hrvpace {__version__}")
        raise typer.Exit()


def _configure_logging(verbose: int) -> None:
    """Root logging at WARNING (-v INFO, -vv DEBUG); bleak's own logger only with -vv.

    bleak warns about its internals (``Failed to cancel connection`` at every reconnect attempt,
    ``Could not determine BlueZ version``): what it means for the user is said by the sources'
    statuses, so its records show only at -vv (DEBUG), where everything does.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bleak").setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logging (-v INFO, -vv DEBUG).")
    ] = 0,
) -> None:
    _configure_logging(verbose)
    if ctx.invoked_subcommand in _REPORT_SOURCE_FAILURE:
        from api.pipeline import WithoutSourceFailure, WithoutStrapNotes

        pipeline_log = logging.getLogger("api.pipeline.loop")
        for quiet in (WithoutSourceFailure(), WithoutStrapNotes()):
            pipeline_log.addFilter(quiet)
            ctx.call_on_close(functools.partial(pipeline_log.removeFilter, quiet))


@app.command(
    "hub",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def _hub(ctx: typer.Context) -> None:
    """The organisation's hub (hrvpace hub serve --help). A package of its own, loaded here."""
    from hub.cli import main as hub_main  # lazily: the personal service never imports the hub

    hub_main(list(ctx.args) or ["--help"])


def _fewer_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at 2 (``mallopt(M_ARENA_MAX, 2)``; elsewhere a no-op).

    The service runs for days with a few threads (storage writer, event loop, thread pool);
    glibc gives each its own arena by default (8 x cores), and a 24-h replay's RSS kept growing
    by 12-20 MB from fragmentation across them before it levelled off (the Python heap stayed
    flat); with two arenas it grows ~8 MB (tests/api/test_long_days.py, issue 13 item 9).
    ``MALLOC_ARENA_MAX`` in the environment, if set, wins.
    """
    import os
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc (musl, ...): nothing to cap


def main() -> None:
    """Entry point of the ``hrvpace`` console script.

    Unusable settings (:class:`api.errors.ConfigError`: a config file with a key no setting
    has, not TOML, a value out of range) end any command with the reason and exit code 2, as a
    bad flag does, whichever command read them. ``replay``, ``record``, ``assess`` and
    ``practice`` ignore Ctrl-C and SIGTERM once the command's block is left (its output or
    error printed, its exit code chosen), to the exit (:func:`api._process.ends_with_its_command`).
    """
    from api._process import ends_with_its_command
    from api.errors import ConfigError

    _fewer_malloc_arenas()
    ends_with_its_command()
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"hrvpace: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
