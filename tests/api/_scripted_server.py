"""A service process with an endless scripted session, for the kill -9 test.

``python -m tests.api._scripted_server DATA_DIR`` prints ``READY <port> <session id>`` once up.
"""

from __future__ import annotations

import sys
from pathlib import Path

from api.app import create_app
from api.commands.serve import bind_socket, run_server
from api.pipeline import SimulatorSpec
from api.sessions import SessionCreate
from api.settings import load_settings
from tests.api.conftest import scripted_factory


def main() -> None:
    settings = load_settings(data_dir=Path(sys.argv[1]), token="kill-test", port=0)
    factory = scripted_factory([800.0, 850.0, 900.0, 950.0], repeat=True)
    start = SessionCreate(source=SimulatorSpec(kind="simulator", speed=20))
    app = create_app(settings, source_factory=factory, start_sessions=[start])
    sock = bind_socket("127.0.0.1", 0)

    def ready() -> None:
        print("READY", sock.getsockname()[1], app.state.started_sessions[0], flush=True)

    run_server(app, sock, on_started=ready)


if __name__ == "__main__":
    main()
