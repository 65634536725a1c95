"""The ``hrvpace`` command line.

Each subcommand lives in its own module under :mod:`api.commands` and is registered here.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from api._version import __version__

app = typer.Typer(
    name="hrvpace",
    help=(
        "hrvpace: real-time HRV biofeedback from a Bluetooth heart-rate strap, resonance "
        "breathing and micro-break guidance."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


#: Commands that run a session in this process and print why its source failed themselves:
#: the pipeline's WARNING line of it (no reason, a session id the user never saw) is left out
#: of their terminal. ``replay`` filters it itself; a server (``serve``, ``demo``) logs it.
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
        from api.pipeline import WithoutSourceFailure

        quiet = WithoutSourceFailure()
        pipeline_log = logging.getLogger("api.pipeline.loop")
        pipeline_log.addFilter(quiet)
        ctx.call_on_close(lambda: pipeline_log.removeFilter(quiet))


# Subcommands: one line each, keep alphabetical.
app.command("analyze")(__import__("api.commands.analyze", fromlist=["analyze"]).analyze)
app.command("assess")(__import__("api.commands.assess", fromlist=["assess"]).assess)
app.command("demo")(__import__("api.commands.demo", fromlist=["demo"]).demo)
app.command("export")(__import__("api.commands.export", fromlist=["export"]).export)
app.command("practice")(__import__("api.commands.practice", fromlist=["practice"]).practice)
app.command("record")(__import__("api.commands.record", fromlist=["record"]).record)
app.command("replay")(__import__("api.commands.replay", fromlist=["replay"]).replay)
app.command("report")(__import__("api.commands.report", fromlist=["report"]).report)
app.command("scan")(__import__("api.commands.scan", fromlist=["scan"]).scan)
app.command("serve")(__import__("api.commands.serve", fromlist=["serve"]).serve)
app.command("share")(__import__("api.commands.share", fromlist=["share"]).share)


@app.command(
    "hub",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def _hub(ctx: typer.Context) -> None:
    """The organisation's hub (hrvpace hub serve --help). A package of its own, loaded here."""
    from hub.cli import main as hub_main  # lazily: the personal service never imports the hub

    hub_main(list(ctx.args) or ["--help"])


app.command("sessions")(__import__("api.commands.sessions", fromlist=["sessions"]).sessions)


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

    Unusable settings (:class:`api.settings.ConfigError`: a config file with a key no setting
    has, not TOML, a value out of range) end any command with the reason and exit code 2, as a
    bad flag does, whichever command read them.
    """
    from api.settings import ConfigError

    _fewer_malloc_arenas()
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"hrvpace: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
