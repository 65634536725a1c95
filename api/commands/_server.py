"""Running the local service, shared by ``hrvpace serve`` and ``hrvpace demo``.

The flags, the data-dir lock, the socket and uvicorn (a neutral module: commands do not import
each other).
"""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from webconventions.hosts import is_loopback_address, url_for

if TYPE_CHECKING:  # the web stack is imported when a server starts, not for every command
    from fastapi import FastAPI

    from api.settings import Settings

if TYPE_CHECKING:
    from api.datadir import DataDirLock

__all__ = [
    "WS_MAX_MESSAGE_BYTES",
    "ConfigOpt",
    "DataDirOpt",
    "HostOpt",
    "PortOpt",
    "bind_socket",
    "hosts_note",
    "lock_data_dir",
    "run_server",
    "settings_from_flags",
    "url_for",
]

HostOpt = Annotated[
    str | None,
    typer.Option("--host", help="Address to bind (default 127.0.0.1; env HRVPACE_HOST)."),
]
PortOpt = Annotated[
    int | None,
    typer.Option("--port", help="TCP port (default 8765; 0 = any free port; env HRVPACE_PORT)."),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of the database and token (env HRVPACE_DATA_DIR)."),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML config file (env HRVPACE_CONFIG).")
]


def settings_from_flags(
    host: str | None, port: int | None, data_dir: Path | None, config: Path | None
) -> Settings:
    """Settings with the command line's flags on top of environment and config file.

    ``HRVPACE_TIMEZONE`` is checked too (:func:`api.settings.timezone_setting`): the service
    runs the day plan, and a mistyped zone is refused before anything starts rather than
    giving a new plan the machine's zone in silence.
    """
    from api.settings import load_settings, timezone_setting

    try:
        settings = load_settings(config_file=config, host=host, port=port, data_dir=data_dir)
        timezone_setting()
        return settings
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc


def lock_data_dir(settings: Settings) -> DataDirLock:
    """Hold the data dir's lock for this process, or exit 1 naming the server that has it.

    A data dir that cannot be created or written exits 1 too, naming it and why, and so does
    a database there that cannot be opened (a folder at its name, a file that is no SQLite
    database): one line as ``replay --store`` says it, not the app's startup traceback.
    """
    from api.datadir import DataDirLock
    from api.errors import DataDirInUseError, DataDirUnusableError

    try:
        lock = DataDirLock(settings.data_dir).acquire()
    except (DataDirInUseError, DataDirUnusableError) as exc:
        typer.echo(f"hrvpace: {exc}", err=True)
        raise typer.Exit(1) from None
    problem = _database_problem(settings.database_path)
    if problem is not None:
        lock.release()
        typer.echo(f"hrvpace: {problem}", err=True)
        raise typer.Exit(1)
    return lock


def _database_problem(path: Path) -> str | None:
    """Why the database at ``path`` cannot be opened (``None``: it can, or is not there yet).

    Opened read-only and read: nothing is changed (the app opens it for writing, marking
    sessions left running by a gone process interrupted, once it starts). Its owner lock
    folder must be writable too: one root made (a ``sudo`` run of an older hrvpace) failed
    the app's start with "Permission denied" (:func:`api.storage.owners.folder_problem`).
    """
    import sqlite3

    from api.storage.connection import connect_read_only
    from api.storage.owners import folder_problem

    owners_problem = folder_problem(path)
    if owners_problem is not None:
        return f"{path}: cannot open the database: {owners_problem}"
    if not os.path.lexists(path):
        return None  # made by the app
    if os.path.isdir(path):  # SQLite says "disk I/O error" of it
        return f"{path}: cannot open the database (it is a folder)"
    try:
        conn = connect_read_only(path)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as exc:
        return f"{path}: cannot open the database ({exc})"
    return None


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so the printed URL has the real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from webconventions.serving import listen_error

        raise typer.BadParameter(listen_error(host, port, exc)) from exc
    return sock


def hosts_note(settings: Settings) -> str | None:
    """For a server reachable beyond loopback: which ``Host`` names it answers, how to add one.

    ``None`` when ``--host`` is a loopback address (only this machine can connect). Otherwise
    a client reaching it by a name or address not listed (a phone app using the LAN address of
    a server on ``0.0.0.0``) gets 400 ``invalid_host``; the line says so before it happens.
    """
    if is_loopback_address(settings.host):  # a name or a wildcard: reachable from elsewhere
        return None
    return (
        "hosts: requests must name one of these in their Host header: "
        + ", ".join(settings.accepted_hosts)
        + "; to reach this server by another name or address (e.g. this machine's LAN "
        "address), add it: HRVPACE_ALLOWED_HOSTS='[\"192.168.1.20\"]' "
        "(or allowed_hosts = [...] in the config file)"
    )


def tune_gc() -> None:
    """Keep garbage-collection pauses short in the long-running service process.

    The modules sessions use are already loaded (the app imports :mod:`api.pipeline`, which
    imports its stages); everything alive (modules, the app, schemas: most of the process's
    objects) is moved out of the collector's sight (``gc.freeze``), so full collections no
    longer scan it. Without this, full collections
    paused the event loop for 100-200 ms with 500 live sessions (bench/sessions.py). Then a
    maintenance thread keeps doing so for what sessions accumulate (:func:`_gc_maintenance`).
    """
    gc.collect()
    gc.freeze()
    threading.Thread(target=_gc_maintenance, name="hrvpace-gc", daemon=True).start()


#: Largest message a WebSocket client may send (uvicorn's default is 16 MiB).
WS_MAX_MESSAGE_BYTES = 64 * 1024

#: Seconds between moves of the surviving objects out of the collector's sight.
GC_FREEZE_EVERY_S = 60.0
#: Seconds between full collections of everything (reclaims garbage in reference cycles).
GC_FULL_EVERY_S = 1800.0


def _gc_maintenance() -> None:
    """Freeze survivors every minute; a full collection every 30 minutes.

    Sessions keep many small long-lived objects (per-beat records of the micro-break signal
    tracker); without this the heap grows for the first hour and every 25 % of growth costs a
    full collection of all of it, 60-150 ms with a few hundred sessions. Frozen objects are
    still freed by reference counting; only garbage in cycles waits for the full collection.
    """
    last_full = time.monotonic()
    while True:
        time.sleep(GC_FREEZE_EVERY_S)
        if time.monotonic() - last_full >= GC_FULL_EVERY_S:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        gc.freeze()


def run_server(
    app: FastAPI,
    sock: socket.socket,
    *,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` on ``sock`` with uvicorn until interrupted (the process's GC is tuned).

    Each connection has ``request_head_timeout_s`` to send a complete request head and at most
    ``max_connections`` are open at once (the app's settings; ``webconventions.serving``).
    """
    import uvicorn

    tune_gc()
    # no per-message compression: zlib on every small live message costs more than it saves;
    # clients send nothing the live socket needs, so their messages are capped small
    from webconventions.serving import guarded_config

    settings = app.state.settings
    config = guarded_config(
        app,
        head_timeout_s=settings.request_head_timeout_s,
        max_connections=settings.max_connections,
        write_stall_timeout_s=settings.write_stall_timeout_s,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
    )
    if on_started is None:
        uvicorn.Server(config).run(sockets=[sock])
        return
    from webconventions.serving import AnnouncingServer

    AnnouncingServer(config, on_started=on_started).run(sockets=[sock])
