"""``hrvpace hub ...``: run the organisation's hub (mounted lazily by ``api.cli``)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["app", "main"]

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


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8766).")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of the SQLite database and the admin token."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="sqlite:///path (default: in the data dir) or postgresql://user@host/db.",
        ),
    ] = None,
) -> None:
    """Run the hub: REST API under /hub/v1 and the dashboard page at /."""
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        typer.echo("hrvpace hub needs SQLAlchemy: pip install 'hrvpace[hub]'", err=True)
        raise typer.Exit(1) from None
    import uvicorn

    from hub.app import create_app
    from hub.errors import HubConfigError
    from hub.settings import HubSettings

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "database_url": database_url,
    }
    settings = HubSettings(**{k: v for k, v in given.items() if v is not None})
    try:
        hub = create_app(settings)
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
        raise typer.BadParameter(f"cannot listen on {settings.host}:{settings.port}") from exc
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{sock.getsockname()[1]}"
    config = uvicorn.Config(hub, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets=sockets)
        if not server.started:
            return
        typer.echo(f"hrvpace hub is serving at {url}/")
        if hub.state.admin_token_created:
            typer.echo(f"admin token (shown once): {hub.state.admin_token}")
        elif settings.admin_token is not None and settings.admin_token.get_secret_value():
            typer.echo("admin token: from HRVPACE_HUB_ADMIN_TOKEN")
        else:
            typer.echo(f"admin token: in {settings.admin_token_path}")
        db = settings.db_url.split("@")[-1] if "@" in settings.db_url else settings.db_url
        typer.echo(f"database: {db}")
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            typer.echo(
                "not loopback: put TLS in front (tokens travel in headers) and list the public "
                "name in HRVPACE_HUB_ALLOWED_HOSTS",
                err=True,
            )
        typer.echo("Ctrl+C to stop.", err=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


def main(args: list[str] | None = None) -> None:
    """Run the ``hub`` command line with ``args`` (``hrvpace hub <args>``)."""
    app(args=args, prog_name="hrvpace hub")
