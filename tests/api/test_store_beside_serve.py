"""``hrvpace replay --store`` beside a running ``hrvpace serve`` on the same data dir.

Opening the database marked every ``running`` session ``interrupted``, as if the opener were
the only process: a replay stored beside a running service marked the service's live sessions
interrupted (code review). Sessions now record the process that runs them, and only those of a
process that is gone are marked (:mod:`api.storage.owners`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app as cli
from api.storage import ReadOnlyDatabase
from tests.api.conftest import Server, scripted_factory

RR = [800.0, 850.0, 900.0] * 10


def test_a_stored_replay_beside_a_running_service_leaves_its_sessions_running(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(source_factory=scripted_factory(RR, repeat=True))
    with server.client() as c:
        r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 1}})
        assert r.status_code == 201, r.text
        session_id = r.json()["id"]
        recording = tmp_path / "short.txt"
        recording.write_text("\n".join(["800", "810", "790"] * 10) + "\n")
        result = CliRunner().invoke(
            cli,
            [
                "replay",
                str(recording),
                "--json",
                "--store",
                "--data-dir",
                str(server.settings.data_dir),
            ],
        )
        assert result.exit_code == 0, result.output
        # the stored row is what tells: a live session's GET takes its state from the pipeline,
        # and a stop overwrites "interrupted" (code review)
        with ReadOnlyDatabase(server.settings.database_path) as db:
            stored = db.session_row(session_id)
        assert stored is not None, session_id
        assert (stored["state"], stored["ended_at"]) == ("running", None), dict(stored)
