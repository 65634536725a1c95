"""One session assembly and one speed parser: the service, `hrvpace replay`, assess/practice.

Real parts throughout: a real uvicorn with a real SQLite file for the service, the real
``hrvpace replay`` command (in process, and as a subprocess for the no-database check), and
:func:`api.commands._paced.run_paced` (what ``hrvpace assess``/``practice`` call) on a real
recording through :class:`sensors.ReplaySource`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.commands._paced import run_paced
from api.pipeline import SPEED_RULE, Listener, parse_speed
from api.storage import Storage
from breathing import PacingEngine, PacingEvent, PacingMode
from sensors import ReplaySource, read_recording
from tests.api.conftest import Server, wait_for
from tests.test_cli_replay import live_windows

REPO_ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


# -- the one speed parser ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max", "max"),
        (" MAX ", "max"),
        ("1", 1.0),
        ("0.5", 0.5),
        ("10000", 10_000.0),
        (20, 20.0),
        (0.001, 0.001),
    ],
)
def test_speed_parser_accepts_max_and_finite_numbers_up_to_10000(
    value: str | float, expected: str | float
) -> None:
    assert parse_speed(value) == expected


@pytest.mark.parametrize(
    "value",
    ["inf", "-inf", "nan", "0", "-1", "10000.5", "1e308", "fast", "", float("inf"), 0, -2, True],
)
def test_speed_parser_refuses_the_rest_naming_the_rule_and_the_value(value: Any) -> None:
    with pytest.raises(ValueError) as info:
        parse_speed(value)
    assert str(info.value) == f"{SPEED_RULE}, got {value!r}"


def _flat(text: str) -> str:
    """Typer's error box, unwrapped: box characters dropped, runs of blanks made one."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("bad", ["inf", "0", "-1", "20000", "fast"])
def test_every_command_refuses_a_bad_speed_with_the_same_text(bad: str, tmp_path: Path) -> None:
    recording = tmp_path / "short.txt"
    recording.write_text("800\n810\n790\n")
    expected = f"{SPEED_RULE}, got {bad!r}"
    for args in (
        ["replay", str(recording), "--speed", bad],
        ["assess", "--simulate", "--speed", bad],
        ["practice", "--simulate", "--speed", bad],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in _flat(result.output), (args, result.output)
        assert "--speed" in result.output


@pytest.mark.parametrize("bad", [0, -1, 20000, 1e308])
def test_the_api_refuses_a_bad_speed_with_the_same_text(
    serve: Callable[..., Server], bad: float
) -> None:
    server = serve()
    with server.client() as c:
        for kind in ("simulator", "replay"):
            source: dict[str, Any] = {"kind": kind, "speed": bad}
            if kind == "replay":
                source["recording"] = "any.txt"
            r = c.post("/api/v1/sessions", json={"source": source})
            assert r.status_code == 422, r.text
            errors = r.json()["errors"]
            speed_errors = [e for e in errors if "speed" in e["loc"]]
            assert speed_errors, errors
            assert f"{SPEED_RULE}, got {bad!r}" in speed_errors[0]["msg"]


# -- replay without --store keeps nothing -----------------------------------------------------


def _files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def test_replay_without_store_creates_no_database_file(tmp_path: Path, shared_data: Path) -> None:
    """Every place a database or a temporary file could go is a folder of this test: the
    data folder, home, XDG folders, TMPDIR and the working directory. After a replay without
    ``--store`` they are all still empty; with ``--store`` (the control) the database is there."""
    recording = tmp_path / "rest.txt"
    recording.write_bytes((shared_data / "hrvpkg_rest_rri_ms.txt").read_bytes())
    places = tmp_path / "places"
    env = {
        **os.environ,
        "HOME": str(places / "home"),
        "XDG_DATA_HOME": str(places / "xdg-data"),
        "XDG_CONFIG_HOME": str(places / "xdg-config"),
        "XDG_STATE_HOME": str(places / "xdg-state"),
        "XDG_CACHE_HOME": str(places / "xdg-cache"),
        "TMPDIR": str(places / "tmp"),
        "HRVPACE_DATA_DIR": str(places / "data"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("home", "xdg-data", "xdg-config", "xdg-state", "xdg-cache", "tmp", "cwd"):
        (places / name).mkdir(parents=True)

    def replay(*extra: str) -> list[dict[str, Any]]:
        out = subprocess.run(
            [sys.executable, "-m", "api", "replay", str(recording), "--json", *extra],
            cwd=places / "cwd",
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    events = replay()
    assert events[-1]["type"] == "replay_end" and events[-1]["state"] == "ended"
    assert events[-1]["n_beats"] == 910 and events[-1]["n_windows"] > 0
    assert "session_id" not in events[-1]
    assert _files_under(places) == set()

    stored = replay("--store")  # the control: the same scan sees a database when there is one
    assert stored[-1]["session_id"]
    assert Path("data/hrvpace.sqlite3") in _files_under(places)


# -- the three paths give the same windows ----------------------------------------------------


class _Windows(Listener):
    def __init__(self) -> None:
        self.windows: list[dict[str, Any]] = []

    def on_metrics(self, data: dict[str, Any]) -> None:
        self.windows.append(data)


def _stored_windows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "recorded_at"} for row in rows]


def test_service_replay_and_paced_commands_give_the_same_windows(
    serve: Callable[..., Server], shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "hrvpkg_rest_rri_ms.txt"

    # 1. the service: POST /api/v1/sessions with a replay of the uploaded recording
    server = serve()
    with server.client() as c, path.open("rb") as fh:
        r = c.post("/api/v1/recordings", files={"file": (path.name, fh, "text/plain")})
        assert r.status_code == 201, r.text
        body = {"source": {"kind": "replay", "recording": path.name, "speed": "max"}}
        r = c.post("/api/v1/sessions", json=body)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]

        def done() -> dict[str, Any] | None:
            s = c.get(f"/api/v1/sessions/{sid}").json()
            return None if s["live"] else s

        assert wait_for(done, timeout_s=30, what="replay end")["state"] == "ended"
        service = _stored_windows(c.get(f"/api/v1/sessions/{sid}/metrics").json()["metrics"])

    # 2. hrvpace replay --store: the JSON lines and the stored session
    data_dir = tmp_path / "cli-data"
    out = runner.invoke(
        app, ["replay", str(path), "--json", "--store", "--data-dir", str(data_dir)]
    )
    assert out.exit_code == 0, out.output
    events = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    printed = [e for e in events if e["type"] == "metrics"]
    storage = Storage(data_dir / "hrvpace.sqlite3")
    try:
        replayed = _stored_windows(storage.snapshots("metrics", events[-1]["session_id"]))
    finally:
        storage.close()

    # 3. what hrvpace assess/practice run: run_paced with a pacing engine, no database
    listener = _Windows()
    events_seen: list[PacingEvent] = []

    def on_event(event: PacingEvent) -> bool:
        events_seen.append(event)
        return False

    engine = PacingEngine(mode=PacingMode.ADAPTIVE, rate_bpm=6.0)  # as practice
    run_paced(
        engine,
        ReplaySource(path, speed="max", format="plain", units="ms"),
        on_event=on_event,
        listeners=(listener,),
    )
    paced = json.loads(json.dumps(listener.windows))  # as stored: through JSON

    assert len(service) > 100 and events_seen  # the pacing stage ran in path 3
    assert replayed == service
    assert paced == service
    # the printed windows are the same windows, each end mapped to the recording's timeline
    assert [{k: v for k, v in e.items() if k not in ("type", "t_s")} for e in printed] == [
        {k: v for k, v in w.items() if k != "t_s"} for w in service
    ]

    # and they are hrv.rolling's windows of the beats the NN filter accepts (the safety net;
    # the independent computation of tests/test_cli_replay.py)
    rec = read_recording(path)
    expected, _ = live_windows(rec.rr_ms, rec.t_s, rec.gaps)
    n = len(service)
    assert n in (len(expected["t_s"]), len(expected["t_s"]) - 1)
    assert [w["rmssd_ms"] for w in service] == pytest.approx(
        list(expected["rmssd_ms"][:n]), rel=1e-9
    )


# -- a replay at full speed never queues more writes than the loop allows ---------------------


def test_a_fast_replay_waits_for_storage_instead_of_queueing_the_recording(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no live client nothing is held for commits, so only the write backlog can stop a
    replay at full speed from queueing its beats in memory (CI: a 24-h replay grew 28 MB).

    The disk is made slow (each commit of a batch waits 2 ms, the real commit still runs);
    the writer thread records how many writes were queued behind each batch.
    """
    from api.pipeline.loop import WRITE_BACKLOG_MAX
    from api.storage import writer

    backlog: list[int] = []
    commit = writer.StorageCore._commit

    def slow_commit(self: Any, conn: Any, batch: list[Any]) -> None:
        backlog.append(self.last_ticket - batch[-1].ticket)
        time.sleep(0.002)
        commit(self, conn, batch)

    monkeypatch.setattr(writer.StorageCore, "_commit", slow_commit)
    path = shared_data / "nsr2db_nsr001_rr_secs.txt"
    args = ["replay", str(path), "--format", "physionet_rr_secs", "--end", "02:00:00", "--json"]
    out = runner.invoke(app, [*args, "--store", "--data-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    end = json.loads(out.stdout.splitlines()[-1])
    assert end["type"] == "replay_end" and end["n_beats"] > 8_000
    assert len(backlog) > 100  # the writer committed all along
    assert max(backlog) <= WRITE_BACKLOG_MAX + 100, max(backlog)


# -- a status is published even when its change of skin contact cannot be stored ---------------


def test_a_no_contact_status_reaches_the_clients_when_storage_fails() -> None:
    from api.live import LiveHub
    from api.pipeline.loop import Pipeline
    from api.pipeline.sinks import NoStore
    from api.storage import StorageError
    from sensors import SourceState, SourceStatus

    class ClosedStore(NoStore):
        def add_contact_change(
            self, session_id: str, *, t_s: float, contact: bool, recorded_at: float
        ) -> None:
            raise StorageError("storage is closed")

    source = ReplaySource(
        read_recording(Path(__file__).parents[1] / "sensors/fixtures/hrvpace_v1.csv")
    )
    hub = LiveHub("s")
    Pipeline(
        session_id="s", source=source, storage=ClosedStore(), hub=hub, analyser=None, pacer=None
    )
    source._set_status(SourceStatus(SourceState.NO_CONTACT, contact_t_s=2.0))
    assert hub.last_status is not None and hub.last_status.source_state == "no_contact"
