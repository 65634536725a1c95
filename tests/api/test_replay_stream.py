"""``hrvpace replay --json`` prints the message stream a live client of the session gets.

The live side is the service's own session (:class:`api.sessions.SessionManager` with a real
SQLite file, a replay of its recordings folder at full speed): every message its live hub sends,
as a WebSocket client gets them, subscribed before the session's first beat so that none is
missed. The replay side is the command's stdout. The two sinks share nothing but the pipeline,
so a message kind the command leaves out, or a signal at another time, shows here.

By design the command leaves out ``status`` (the source's connection state, summed up by
``replay_end``) and the live messages' ``session_id``, ``seq`` and ``timestamp`` (wall clock),
and its beat lines carry no ``arrived_at`` (the replay's clock, not the recording's).
"""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.messages import parse_live_message
from api.pipeline import make_source
from api.sessions import SessionCreate, SessionManager
from api.storage import Storage
from sensors import Beat, RecordingWriter, SimulatedPerson
from tests._rhythm import sinus_then_bigeminy

runner = CliRunner()

#: Kinds a live client gets that are not replay lines, by design (see the module docstring).
LIVE_ONLY = {"status"}


def _live_stream(recording: Path, tmp_path: Path) -> list[Any]:
    """Every message a live client of a service replay of ``recording`` gets, in order."""
    folder = tmp_path / "recordings"
    folder.mkdir(parents=True)
    shutil.copy(recording, folder / recording.name)

    async def run() -> list[str]:
        storage = Storage(tmp_path / "hrvpace.sqlite3")
        try:
            manager = SessionManager(
                storage,
                queue_size=32_000,  # no message is dropped: it is read as it comes
                source_factory=functools.partial(make_source, recordings_dir=folder),
            )
            request = SessionCreate.model_validate(
                {"source": {"kind": "replay", "recording": recording.name, "speed": "max"}}
            )
            live = await manager.start(request)
            sub = live.hub.subscribe()  # before the session's task has run: from its start
            texts: list[str] = []
            while batch := await sub.get_batch():
                texts += batch
            await live.done.wait()
            assert sub.dropped == 0
            return texts
        finally:
            storage.close()

    return [parse_live_message(text) for text in asyncio.run(run())]


def _live_line(message: Any) -> dict[str, Any]:
    """A live message as the replay prints it: its type and t_s, its payload flat."""
    if message.type == "beat":
        beat: dict[str, Any] = message.model_dump(
            mode="json", exclude={"session_id", "seq", "timestamp", "arrived_at"}
        )
        return beat
    if message.type == "metrics":
        return {"type": "metrics", **message.metrics.model_dump(mode="json")}
    if message.type == "signal":
        return {"type": "signal", "t_s": message.t_s, **message.signal.model_dump(mode="json")}
    assert message.type == "micro_break", message.type
    event: dict[str, Any] = message.micro_break.model_dump(mode="json")  # type: the event's
    return event


def _replay_lines(recording: Path) -> list[dict[str, Any]]:
    out = runner.invoke(app, ["replay", str(recording), "--json", "--beats"])
    assert out.exit_code == 0, out.output
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _bigeminy(folder: Path) -> Path:
    rr, _ = sinus_then_bigeminy(90.0, 150.0)
    path = folder / "bigeminy.txt"
    path.write_text("".join(f"{x:.3f}\n" for x in rr), encoding="utf-8")
    return path


def _stress(folder: Path) -> Path:
    """25 minutes of the simulated person, calm for 10, then stressed (one stress flag)."""
    person = SimulatedPerson(seed=11, stress=lambda t: 0.0 if t < 600.0 else 1.0)
    path = folder / "stress.csv"
    with RecordingWriter(path, meta={"device": "simulated person, seed 11"}) as writer:
        for b in person.beats(1500.0):
            writer.write(
                Beat(t_s=b.t_s, rr_ms=b.rr_ms, arrived_at=b.t_s, contact=True, gap_before=False)
            )
    return path


@pytest.mark.parametrize("case", ["polar_noisy", "bigeminy", "stress"])
def test_replay_prints_the_live_clients_stream(
    case: str, shared_data: Path, tmp_path: Path
) -> None:
    """A real Polar recording ("many ectopic beats"), frequent early beats (signals that say
    irregular rhythm while no window comes) and a stressed stretch (a micro-break flag)."""
    source = tmp_path / "source"
    source.mkdir()
    recording = {
        "polar_noisy": lambda: shared_data / "hrvpkg_noisy_rri.hrm",
        "bigeminy": lambda: _bigeminy(source),
        "stress": lambda: _stress(source),
    }[case]()
    live = _live_stream(recording, tmp_path / "service")
    printed = _replay_lines(recording)

    end = printed.pop()
    assert end["type"] == "replay_end" and end["state"] == "ended"
    statuses = [m for m in live if m.type in LIVE_ONLY]
    assert statuses[-1].state == end["state"] and statuses[-1].n_beats == end["n_beats"]
    stream = [_live_line(m) for m in live if m.type not in LIVE_ONLY]
    kinds = Counter(line["type"] for line in stream)
    # the same kinds, as many of each, in the same order at the same times
    assert Counter(line["type"] for line in printed) == kinds
    assert [(e["type"], e["t_s"]) for e in printed] == [(e["type"], e["t_s"]) for e in stream]
    # and the same content, line by line
    assert printed == stream
    assert kinds["beat"] == end["n_beats"] and kinds["metrics"] == end["n_windows"]
    assert kinds["signal"] == end["n_signals"] > end["t_s"] / 6.0  # about every 5 s
    irregular = [e for e in stream if e["type"] == "signal" and e["irregular_rhythm"] is True]
    assert len(irregular) == end["n_irregular"]
    if case == "bigeminy":  # what the replay must show: the rhythm named, as live
        assert len(irregular) >= 15
    if case == "stress":
        assert kinds["micro_break"] == end["n_micro_breaks"] == 1
