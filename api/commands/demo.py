"""``hrvpace demo``: a simulated person, the local service and the companion page, in seconds."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import webbrowser
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from api.commands._server import (
    ConfigOpt,
    DataDirOpt,
    HostOpt,
    PortOpt,
    bind_socket,
    hosts_note,
    lock_data_dir,
    run_server,
    settings_from_flags,
    url_for,
)
from api.commands._stop import handle_signal
from sensors.simulator import SIMULATED_RESONANCE_BPM

__all__ = ["DEMO_SUBDIR", "demo"]

#: A demo without ``--data-dir`` keeps its data here, inside the data dir (env, config file or
#: the default): its own database and token, so a simulated person's sessions never join the
#: person's own list and history. ``--data-dir`` names the folder itself.
DEMO_SUBDIR = "demo"


def _graphical_browser_available() -> bool:
    """A browser can be shown: a display on Linux/BSD, always on macOS and Windows."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd")) and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def demo_data_dir(data_dir: Path | None, *, fake_clock: bool) -> tuple[Path | None, bool]:
    """The demo's data dir and whether it is a temporary one (to remove at exit).

    A demo on a fake clock writes future-dated prompts and check-ins: in the person's own data
    dir they would pass for real ones (the real scheduler would treat that day's prompts as
    handled). So it gets a fresh temporary dir unless ``--data-dir`` names one explicitly.
    A demo on the real clock without ``--data-dir`` runs in :data:`DEMO_SUBDIR` of the data dir
    (``None`` here: it is found once the settings are read).
    """
    if data_dir is not None or not fake_clock:
        return data_dir, False
    return Path(tempfile.mkdtemp(prefix="hrvpace-demo-")), True


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def demo(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated person.")] = 1,
    resonance_bpm: Annotated[
        float,
        typer.Option(help="The simulated person's resonance rate, breaths/min (default 5.5)."),
    ] = SIMULATED_RESONANCE_BPM,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a browser if one exists.")
    ] = True,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start",
            formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
            help="Run the day plan's clock from this local time (the plan's time zone), e.g. "
            "2026-12-07T08:55: see the day's prompts within minutes. Runs on a fresh temporary "
            "data dir (removed at exit) unless --data-dir is given; webhooks and the hub push "
            "are off.",
        ),
    ] = None,
    clock_speed: Annotated[
        float,
        typer.Option(
            "--clock-speed",
            min=1.0,
            max=10_000.0,
            help="How many times faster than real time the day plan's clock runs (with --start).",
        ),
    ] = 1.0,
) -> None:
    """Start a simulated person's session and the service, and show the page.

    Without ``--data-dir`` the demo keeps its sessions, database and token in the ``demo``
    folder of the data dir (printed as ``data:``), apart from your own sessions.

    With ``--start`` (and ``--clock-speed``) the day plan runs on a demo clock: at 120x a working
    day passes in about 5 minutes. Only the demo has this; ``hrvpace serve`` always uses the
    real clock. A demo on this clock runs on a fresh temporary data dir (printed, removed at
    exit) unless ``--data-dir`` is given, and never posts to webhooks or pushes to a hub.
    """
    start_at = start
    fake_clock = start_at is not None or clock_speed != 1.0
    data_dir, temporary = demo_data_dir(data_dir, fake_clock=fake_clock)
    restores: list[Callable[[], None]] = []
    if temporary:
        # the server re-raises a SIGTERM/SIGHUP it caught once it has stopped: as an exit (not
        # the default handler's sudden death) the temporary data dir is still removed
        for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)):
            if sig is not None:
                restores.append(handle_signal(sig, _exit_on_signal))
    try:
        _run_demo(
            host,
            port,
            data_dir,
            config,
            seed,
            resonance_bpm,
            open_browser,
            start_at,
            clock_speed,
            temporary=temporary,
        )
    finally:
        if temporary and data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
        for restore in restores:  # removed: a process that goes on (a test's) has its own back
            restore()


def _run_demo(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    config: Path | None,
    seed: int,
    resonance_bpm: float,
    open_browser: bool,
    start_at: datetime | None,
    clock_speed: float,
    *,
    temporary: bool,
) -> None:
    fake_clock = start_at is not None or clock_speed != 1.0
    from api.app import create_app
    from api.pipeline import SimulatorSpec
    from api.sessions import SessionCreate

    settings = settings_from_flags(host, port, data_dir, config)
    if data_dir is None and not temporary:
        # the simulated person's sessions stay out of the person's own history and database
        settings = settings.model_copy(update={"data_dir": settings.data_dir / DEMO_SUBDIR})
    if temporary:
        typer.echo(f"hrvpace demo: fake clock, temporary data dir {settings.data_dir}")
    lock = lock_data_dir(settings)  # one server per data dir, held until the process ends
    session = SessionCreate(
        source=SimulatorSpec(kind="simulator", seed=seed, resonance_bpm=resonance_bpm)
    )
    plan_clock = None
    if start_at is not None:
        from api.dayplan import FastClock

        def plan_clock(timezone: str) -> FastClock:
            assert start_at is not None
            return FastClock.starting_at(start_at, timezone, clock_speed)

    # a fake clock's prompts and check-ins are not real: no webhooks, no hub push
    app = create_app(
        settings,
        start_sessions=[session],
        plan_clock=plan_clock,
        outbound=not fake_clock,
    )
    sock = bind_socket(settings.host, settings.port)
    url = url_for(settings.host, sock.getsockname()[1])
    page = f"{url}/#token={app.state.token}"

    def announce() -> None:
        ids = ", ".join(app.state.started_sessions)
        typer.echo(f"hrvpace demo: simulated person streaming (session {ids})")
        typer.echo(f"open {page}")
        typer.echo(f"token: {app.state.token}")
        typer.echo(f"data:  {settings.data_dir}")
        hosts = hosts_note(settings)
        if hosts is not None:
            typer.echo(hosts)
        if start_at is not None:
            typer.echo(f"day plan clock: from {start_at:%Y-%m-%d %H:%M} at {clock_speed:g}x")
            note = _not_a_working_day(app.state.prompts.plan, start_at)
            if note:
                typer.echo(f"hrvpace demo: note: {note}", err=True)
        if open_browser and _graphical_browser_available():
            webbrowser.open(page)
        typer.echo("Ctrl+C to stop.", err=True)

    try:
        run_server(app, sock, on_started=announce)
    finally:
        lock.release()


def _not_a_working_day(plan: Any, start_at: datetime) -> str | None:
    """Why nothing will fire soon when ``start_at`` is not on one of the plan's working days."""
    days = plan.working_days
    if start_at.isoweekday() in days:
        return None
    later = next(
        (
            start_at.date() + timedelta(days=k)
            for k in range(1, 8)
            if (start_at.date() + timedelta(days=k)).isoweekday() in days
        ),
        None,
    )
    when = f"the next is {later:%A %Y-%m-%d}" if later else "the plan has none"
    return (
        f"{start_at:%A %Y-%m-%d} is not a working day of the day plan, so no prompt fires "
        f"until its next working day ({when}); start on a working day to see them at once"
    )
