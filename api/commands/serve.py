"""``hrvpace serve``: the local service on 127.0.0.1 (by default), printing its URL and token."""

from __future__ import annotations

import typer

from api.commands._server import (
    WS_MAX_MESSAGE_BYTES,
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

__all__ = [
    "WS_MAX_MESSAGE_BYTES",
    "bind_socket",
    "lock_data_dir",
    "run_server",
    "serve",
    "settings_from_flags",
]


def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run the local service: REST API, live WebSocket and the companion page."""
    from api.app import create_app

    settings = settings_from_flags(host, port, data_dir, config)
    lock = lock_data_dir(settings)  # one server per data dir, held until the process ends
    app = create_app(settings)
    sock = bind_socket(settings.host, settings.port)
    url = url_for(settings.host, sock.getsockname()[1])

    def announce() -> None:
        typer.echo(f"hrvpace is serving at {url}/")
        typer.echo(f"token: {app.state.token}")
        typer.echo(f"data:  {settings.data_dir}")
        note = hosts_note(settings)
        if note is not None:
            typer.echo(note)
        typer.echo("Ctrl+C to stop.", err=True)

    try:
        run_server(app, sock, on_started=announce)
    finally:
        lock.release()
