"""``hrvpace hub ...``: run the organisation's hub (mounted lazily by ``api.cli``)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hrv.errors import install_hint
from webconventions.hosts import is_loopback_address

if TYPE_CHECKING:  # pydantic is imported when the hub starts, not for --help
    from hub.settings import HubSettings

__all__ = ["app", "hosts_note", "main", "worker_environ"]

app = typer.Typer(
    name="hub",
    help="The organisation's hub: groups, invites, k-anonymous weekly summaries, studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """The organisation's hub (a separate service; it never reads a person's own data)."""


def hosts_note(settings: HubSettings) -> str | None:
    """For a hub reachable beyond loopback: TLS, the ``Host`` names it answers, how to add one.

    ``None`` when ``--host`` is a loopback address in any spelling (``127.0.0.1``,
    ``127.0.0.2``, ``localhost``, ``::1``: only this machine connects). Otherwise the names
    are :attr:`HubSettings.accepted_hosts` (the ``--host`` address among them when it is one
    address), as the person's service's ``hosts:`` line lists its own.
    """
    if is_loopback_address(settings.host):
        return None
    return (
        "not loopback: put TLS in front (tokens travel in headers). Requests must name one of "
        "these in their Host header: "
        + ", ".join(settings.accepted_hosts)
        + "; to add the public name: HRVPACE_HUB_ALLOWED_HOSTS='[\"hub.example.org\"]' (it "
        "replaces the default 127.0.0.1, localhost, [::1]: list those you use too)"
    )


def worker_environ(settings: HubSettings, token_file: Path) -> dict[str, str]:
    """What each process of ``--workers N`` needs, as ``HRVPACE_HUB_*`` variables.

    Its :func:`hub.app.app_from_env` builds the same settings from them: the bound address
    too, whose name its Host check accepts. The admin token only as the file holding it.
    """
    environ = {
        "HRVPACE_HUB_HOST": settings.host,
        "HRVPACE_HUB_DATA_DIR": str(settings.data_dir),
        "HRVPACE_HUB_ADMIN_TOKEN_FILE": str(token_file),
        "HRVPACE_HUB_ALLOWED_HOSTS": json.dumps(settings.allowed_hosts),
    }
    if settings.database_url:  # else each derives the data dir's file, as this one did
        environ["HRVPACE_HUB_DATABASE_URL"] = settings.database_url
    return environ


@app.command("serve")
def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to bind (default 127.0.0.1; env HRVPACE_HUB_HOST)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="TCP port (default 8766; env HRVPACE_HUB_PORT).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder of the SQLite database and the admin token (env HRVPACE_HUB_DATA_DIR).",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="sqlite:///path (default: in the data dir) or postgresql://user@host/db "
            "(env HRVPACE_HUB_DATABASE_URL).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=64, help="Hub processes on this socket (default 1)."),
    ] = 1,
) -> None:
    """Run the hub: REST API under /hub/v1 and the dashboard page at /."""
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        typer.echo(f"hrvpace hub needs SQLAlchemy: {install_hint('hub')}", err=True)
        raise typer.Exit(1) from None
    from pydantic import ValidationError

    from hub.app import create_app
    from hub.auth import admin_token_source, load_or_create_admin_token
    from hub.db import connect, database_shown
    from hub.errors import HubConfigError
    from hub.settings import HubSettings
    from webconventions.hosts import url_for
    from webconventions.serving import guarded_config, listen_error

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "database_url": database_url,
    }
    try:
        settings = HubSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:  # e.g. HRVPACE_HUB_ALLOWED_HOSTS='["hub.example:443"]'
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"hrvpace hub: setting {where}: {message}", err=True)
        raise typer.Exit(1) from None
    try:
        if workers == 1:
            hub = create_app(settings)
            token, created = hub.state.admin_token, hub.state.admin_token_created
        else:  # the token and the schema first, once; then each worker reads the environment
            token, created = load_or_create_admin_token(settings)
            connect(settings.db_url).dispose()
    except HubConfigError as exc:
        typer.echo(f"hrvpace hub: {exc}", err=True)
        raise typer.Exit(1) from None
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise typer.BadParameter(listen_error(settings.host, settings.port, exc)) from exc
    url = url_for(settings.host, sock.getsockname()[1])
    # a deadline for each request head and a cap on open connections (per process)
    limits: dict[str, Any] = {
        "head_timeout_s": settings.request_head_timeout_s,
        "max_connections": settings.max_connections,
        "write_stall_timeout_s": settings.write_stall_timeout_s,
    }

    def announce() -> None:
        typer.echo(f"hrvpace hub is serving at {url}/")
        if created:
            typer.echo(f"admin token (new; saved in {settings.admin_token_path}, 0600): {token}")
        else:
            typer.echo(f"admin token: {admin_token_source(settings)}")
        shown = database_shown(settings.db_url)
        typer.echo(f"database: {shown}" + (f", {workers} worker processes" if workers > 1 else ""))
        note = hosts_note(settings)
        if note is not None:
            typer.echo(note, err=True)
        typer.echo("Ctrl+C to stop.", err=True)

    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        # The workers get the admin token from a file readable by this user only (removed
        # at exit), never from their environment (/proc/<pid>/environ, inherited by any
        # subprocess); a token given as HRVPACE_HUB_ADMIN_TOKEN is taken out of it.
        secret_dir = Path(tempfile.mkdtemp(prefix="hrvpace-hub-"))  # 0700
        token_file = secret_dir / "admin-token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        os.environ.pop("HRVPACE_HUB_ADMIN_TOKEN", None)
        os.environ.update(worker_environ(settings, token_file))
        try:
            config = guarded_config(
                "hub.app:app_from_env",
                factory=True,
                workers=workers,
                log_level="warning",
                **limits,
            )
            sock.set_inheritable(True)
            sock.listen(2048)  # connections wait in the backlog until a worker is up
            announce()
            Multiprocess(config, sockets=[sock]).run()
        finally:
            shutil.rmtree(secret_dir, ignore_errors=True)
        return

    from webconventions.serving import AnnouncingServer

    config = guarded_config(hub, log_level="warning", lifespan="on", **limits)
    AnnouncingServer(config, on_started=announce).run(sockets=[sock])


@app.command("backup")
def backup(
    out: Annotated[Path, typer.Argument(help="The backup file to create (must not exist).")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of the hub's SQLite database."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="sqlite:///path (default: in the data dir)."),
    ] = None,
) -> None:
    """Copy the SQLite hub database consistently, also while the hub runs (PostgreSQL: pg_dump).

    Restoring an older backup undoes what happened after it: README, "Backups".
    """
    from hub.db import backup_sqlite, sqlite_file
    from hub.errors import HubConfigError
    from hub.settings import HubSettings

    given: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    settings = HubSettings(**{k: v for k, v in given.items() if v is not None})
    try:
        backup_sqlite(settings.db_url, out)
    except HubConfigError as exc:
        typer.echo(f"hrvpace hub: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up {sqlite_file(settings.db_url)} to {out} (0600)")


@app.command("token")
def token(
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace it with a new token (0600) and print it.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of the admin token file."),
    ] = None,
) -> None:
    """Where the admin token is; --rotate makes a new one (restart the hub to refuse the old)."""
    from hub.auth import MAKE_TOKEN_COMMAND, admin_token_source, rotate_admin_token
    from hub.errors import HubConfigError
    from hub.settings import HubSettings

    settings = HubSettings() if data_dir is None else HubSettings(data_dir=data_dir)
    if not rotate:
        typer.echo(f"admin token: {admin_token_source(settings)}")
        if settings.admin_token_file is None and not (
            settings.admin_token is not None and settings.admin_token.get_secret_value()
        ):
            typer.echo("hrvpace hub token --rotate replaces it; then restart the hub", err=True)
        else:  # --rotate writes the data dir's file only, and refuses then
            typer.echo(
                f"to change it: {MAKE_TOKEN_COMMAND} prints a new one; put it there and "
                "restart every hub process",
                err=True,
            )
        return
    try:
        new = rotate_admin_token(settings)
    except HubConfigError as exc:
        typer.echo(f"hrvpace hub: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"new admin token (saved in {settings.admin_token_path}, 0600): {new}")
    typer.echo(
        "restart every hub process: the old token works until then; enter the new one in "
        "each open dashboard (Change token)",
        err=True,
    )


def main(args: list[str] | None = None) -> None:
    """Run the ``hub`` command line with ``args`` (``hrvpace hub <args>``)."""
    app(args=args, prog_name="hrvpace hub")
