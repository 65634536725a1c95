"""A session keeps when its pacer ran (``sessions.paced_runs_json``, migration 7) and its export's
sidecar states them (``events.paced_runs``), so a replay of the export can judge those windows
as paced, as the live session did (real pipeline, real SQLite, beats fed by hand)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from api.live import LiveHub
from api.pipeline.analysis import make_analyser
from api.pipeline.loop import Pipeline
from api.pipeline.microbreaks import MicroBreaks
from api.pipeline.pacing import make_pacer
from api.research.export import export_session
from api.storage import Storage
from breathing import MicroBreakMonitor
from sensors import ReplaySource, read_recording
from sensors.beat import Beat

FIXTURE = Path(__file__).parents[1] / "sensors/fixtures/hrvpace_v1.csv"


def _pipeline(storage: Storage, sid: str, mode: str = "monitor") -> Pipeline:
    storage.create_session(sid, created_at=1.0, mode=mode, source={}, options={}).result()
    return Pipeline(
        session_id=sid,
        source=ReplaySource(read_recording(FIXTURE)),  # never run: beats are fed by hand
        storage=storage,
        hub=LiveHub(sid),
        analyser=make_analyser(),
        pacer=make_pacer(mode, {}),
        microbreaks=MicroBreaks(MicroBreakMonitor(), plan_day=None),
    )


def _feed(p: Pipeline, until_s: float, *, t: float = 0.0) -> float:
    """Beats of about 1 s up to ``until_s``; the last beat's time."""
    i = 0
    while t + 1.0 <= until_s:
        t, i = t + 1.0, i + 1
        p._on_beat(Beat(t_s=t, rr_ms=1000.0 + (20.0 if i % 2 else -20.0), arrived_at=1e9 + t))
    return t


def _stored(storage: Storage, sid: str) -> object:
    storage.flush().result()
    text = storage.query("SELECT paced_runs_json FROM sessions WHERE id = ?", (sid,))[0][0]
    return None if text is None else json.loads(text)


def test_runs_are_stored_as_they_start_and_end_and_the_export_states_them(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pyarrow")
    db = tmp_path / "hrvpace.sqlite3"
    storage = Storage(db)
    try:
        p = _pipeline(storage, "s1")
        pacer = p.pacer
        assert pacer is not None
        t = _feed(p, 300.0)
        assert _stored(storage, "s1") == []  # nothing paced yet
        p.publish_guidance(pacer.start_fixed(6.0, t_s=t), t_s=t)
        assert _stored(storage, "s1") == [[t, None]]  # a run going on: no stop yet
        start = t
        t = _feed(p, 450.0, t=t)
        p.publish_guidance(pacer.stop(t_s=t), t_s=t)
        assert _stored(storage, "s1") == [[start, t]]
        first = [start, t]
        t = _feed(p, 600.0, t=t)
        p.publish_guidance(pacer.start_fixed(6.0, t_s=t), t_s=t)
        second_start = t
        last = _feed(p, 700.0, t=t)
        p.finish()  # the session ends while pacing
        assert _stored(storage, "s1") == [first, [second_start, None]]
    finally:
        storage.close()
    export_session(db, "s1", tmp_path / "out")
    sidecar = json.loads((tmp_path / "out" / "s1.json").read_text(encoding="utf-8"))
    # the run still going when the session ended ends at its last beat
    assert sidecar["events"]["paced_runs"] == [first, [second_start, last]]


def test_a_session_that_never_paced_says_so_and_one_stored_before_says_nothing(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pyarrow")
    db = tmp_path / "hrvpace.sqlite3"
    storage = Storage(db)
    try:
        p = _pipeline(storage, "never")
        _feed(p, 200.0)
        p.finish()
        assert _stored(storage, "never") == []
        # a practice session paces from its start: stored at its first guidance
        q = _pipeline(storage, "practice", mode="practice")
        _feed(q, 5.0)
        assert _stored(storage, "practice") == [[0.0, None]]
        # a session stored before hrvpace kept its runs (the column NULL)
        storage.create_session("old", created_at=1.0, mode="monitor", source={}, options={})
        storage.flush().result()
    finally:
        storage.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE sessions SET paced_runs_json = NULL WHERE id = 'old'")
    conn.close()
    for sid, runs in (("never", []), ("old", None)):
        export_session(db, sid, tmp_path / sid)
        sidecar = json.loads((tmp_path / sid / f"{sid}.json").read_text(encoding="utf-8"))
        assert sidecar["events"]["paced_runs"] == runs, sid


def test_a_session_interrupted_before_it_paced_exports_no_runs_not_null(tmp_path: Path) -> None:
    """The service died mid-session (no finish): its export says it never paced (``[]``);
    ``null`` stays for a session stored before schema 7 (the crash the reviewer ran)."""
    pytest.importorskip("pyarrow")
    db = tmp_path / "hrvpace.sqlite3"
    storage = Storage(db)
    try:
        p = _pipeline(storage, "crashed")
        _feed(p, 200.0)
        storage.flush().result()
    finally:
        storage.close()  # never finished: as if the process had been killed
    storage = Storage(db)  # the next start marks it interrupted
    try:
        assert storage.interrupted_on_open == ["crashed"]
    finally:
        storage.close()
    export_session(db, "crashed", tmp_path / "out")
    sidecar = json.loads((tmp_path / "out" / "crashed.json").read_text(encoding="utf-8"))
    assert sidecar["session"]["state"] == "interrupted"
    assert sidecar["session"]["n_beats"] > 0
    assert sidecar["events"]["paced_runs"] == []


def test_a_stored_replay_of_a_segment_keeps_only_the_runs_on_its_timeline(
    tmp_path: Path,
) -> None:
    """``replay --start/--end --store`` of an export: the recording's runs, moved by the cut,
    are stored and exported clipped to the segment's beats (0 to its last beat); a run wholly
    before the cut is left out. The monitor still gets them whole (a run straddling the cut
    counts its part before it towards a break, as live)."""
    pytest.importorskip("pyarrow")
    from typer.testing import CliRunner

    from api.cli import app

    db = tmp_path / "hrvpace.sqlite3"
    storage = Storage(db)
    try:
        p = _pipeline(storage, "rec")
        pacer = p.pacer
        assert pacer is not None
        t = _feed(p, 20.0)
        p.publish_guidance(pacer.start_fixed(6.0, t_s=t), t_s=t)  # a run before the cut
        t = _feed(p, 40.0, t=t)
        p.publish_guidance(pacer.stop(t_s=t), t_s=t)
        t = _feed(p, 80.0, t=t)
        p.publish_guidance(pacer.start_fixed(6.0, t_s=t), t_s=t)  # straddles both ends
        t = _feed(p, 300.0, t=t)
        p.publish_guidance(pacer.stop(t_s=t), t_s=t)
        _feed(p, 400.0, t=t)
        p.finish()
    finally:
        storage.close()
    export_session(db, "rec", tmp_path / "rec")
    runs = json.loads((tmp_path / "rec" / "rec.json").read_text(encoding="utf-8"))["events"]
    assert runs["paced_runs"] == [[20.0, 40.0], [80.0, 300.0]]

    data = tmp_path / "data"
    result = CliRunner().invoke(
        app,
        [
            "replay",
            str(tmp_path / "rec" / "rec-beats.csv"),
            "--start",
            "100",
            "--end",
            "200",
            "--store",
            "--data-dir",
            str(data),
        ],
    )
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(data / "hrvpace.sqlite3")
    try:
        ((replayed, stored),) = conn.execute("SELECT id, paced_runs_json FROM sessions").fetchall()
    finally:
        conn.close()
    assert json.loads(stored)[0][0] == 0.0  # from the segment's start on, not before
    export_session(data / "hrvpace.sqlite3", replayed, tmp_path / "cut")
    sidecar = json.loads((tmp_path / "cut" / f"{replayed}.json").read_text(encoding="utf-8"))
    n_beats = sidecar["session"]["n_beats"]
    assert 90 <= n_beats <= 101, n_beats
    beats = (tmp_path / "cut" / f"{replayed}-beats.csv").read_text(encoding="utf-8").splitlines()
    last = float(beats[-1].split(",")[beats[0].split(",").index("t_s [s]")])
    assert sidecar["events"]["paced_runs"] == [[0.0, last]]

    # what the micro-break monitor gets is whole: the straddling run from before the cut
    from api.research.segments import Segment, cut

    played = cut(read_recording(tmp_path / "rec" / "rec-beats.csv"), Segment("cut", 100, 200))
    storage = Storage(tmp_path / "cut.sqlite3")
    try:
        storage.create_session("cut", created_at=1.0, mode="monitor", source={}, options={})
        q = Pipeline(
            session_id="cut",
            source=ReplaySource(played),
            storage=storage,
            hub=LiveHub("cut"),
            analyser=make_analyser(),
            pacer=make_pacer("monitor", {}),
            microbreaks=MicroBreaks(MicroBreakMonitor(), plan_day=None),
        )
        given = q.paced_runs()
        # the segment starts where its first beat's interval does (about 101 s - 1 s)
        assert given is not None and [round(a) for a, _ in given] == [-81, -21]
        q.finish()  # stored: the run wholly before the cut left out, the other from 0
        assert _stored(storage, "cut") == [[0.0, given[1][1]]]
    finally:
        storage.close()
