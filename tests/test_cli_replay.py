"""``hrvpace replay``: real recordings through the live pipeline, events as JSON lines.

Everything is real: the recording readers, ReplaySource, api.pipeline.Pipeline with a real
SQLite file, the streaming analyser and the micro-break monitor. The stressed recording is
written by the real RecordingWriter from the seeded simulated person.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import hrv
from api.cli import app
from api.storage import Storage
from hrv import ArtefactFilter, rolling
from sensors import Beat, RecordingWriter, SimulatedPerson, read_recording
from sensors.formats.text import known_rr_headers
from tests._rhythm import sinus_then_bigeminy
from tests.conftest import shared_data_dir

DATA = shared_data_dir()
runner = CliRunner()


def live_windows(
    rr_ms: np.ndarray, t_s: np.ndarray, gaps: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """What the live pipeline's 60-s windows every 5 s should be, computed independently.

    The analyser sees NN intervals only (beats ``hrv.ArtefactFilter`` accepts, a gap after
    a left-out beat) on their own running-sum timeline; replay reports each window's end on the
    recording's timeline, through the last accepted beat before it. Returns ``hrv.rolling`` of
    the NN intervals and the window ends in recording time.
    """
    nn_filter = ArtefactFilter()
    nn: list[float] = []
    nn_gaps: list[bool] = []
    src_t: list[float] = []
    dropped = False
    for rr, t, gap in zip(rr_ms.tolist(), t_s.tolist(), gaps.tolist(), strict=True):
        if nn_filter.accept(rr, contact=None, gap_before=gap):
            nn.append(rr)
            nn_gaps.append(dropped or gap)
            src_t.append(t)
            dropped = False
        else:
            dropped = True
    table = rolling(
        np.array(nn), window_s=60.0, step_s=5.0, gaps=np.array(nn_gaps), metrics=("time",)
    )
    t_an = np.cumsum(nn) / 1000.0
    last = np.searchsorted(t_an, table["t_s"], side="right") - 1
    return table, np.asarray(src_t)[last] + (table["t_s"] - t_an[last])


def lines(stdout: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    for e in events:
        assert isinstance(e["type"], str) and isinstance(e["t_s"], float | int)
    return events


@pytest.fixture(scope="module")
def stressed_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """25 minutes of the simulated person: calm for 10, then stressed."""
    person = SimulatedPerson(seed=11, stress=lambda t: 0.0 if t < 600.0 else 1.0)
    path = tmp_path_factory.mktemp("rec") / "stress.csv"
    with RecordingWriter(path, meta={"device": "simulated person, seed 11"}) as writer:
        for b in person.beats(1500.0):
            writer.write(
                Beat(t_s=b.t_s, rr_ms=b.rr_ms, arrived_at=b.t_s, contact=True, gap_before=False)
            )
    return path


def test_replay_of_the_exercise_recording_prints_metrics_and_no_micro_break() -> None:
    """Rest, then 30 min cycling: activity, not stress."""
    path = DATA / "hrvpkg_exercise_rri.hrm"
    out = runner.invoke(app, ["replay", str(path), "--speed", "max", "--json"])
    assert out.exit_code == 0, out.output
    events = lines(out.stdout)
    assert events[-1]["type"] == "replay_end"
    end = events[-1]
    assert end["state"] == "ended" and end["n_beats"] == 4117 and end["n_micro_breaks"] == 0
    assert [e for e in events if e["type"] == "micro_break"] == []
    metrics = [e for e in events if e["type"] == "metrics"]
    assert len(metrics) == end["n_windows"] > 400
    # the live pipeline's windows are hrv.rolling's (60 s every 5 s) on the NN intervals
    rec = read_recording(path)
    table, t_end = live_windows(rec.rr_ms, rec.t_s, rec.gaps)
    n = len(metrics)
    assert n in (len(t_end), len(t_end) - 1)  # the last window may be held back
    np.testing.assert_allclose([m["t_s"] for m in metrics], t_end[:n], rtol=1e-12)
    np.testing.assert_allclose([m["rmssd_ms"] for m in metrics], table["rmssd_ms"][:n], rtol=1e-9)
    assert end["baseline"]["personal_s"] > 0  # learned from the seated rest


def test_replay_flags_the_simulated_stress_within_minutes(stressed_recording: Path) -> None:
    result = runner.invoke(app, ["replay", str(stressed_recording), "--json"])
    assert result.exit_code == 0, result.output
    events = lines(result.stdout)
    flags = [e for e in events if e["type"] == "micro_break"]
    assert len(flags) == 1  # 15 stressed minutes, 20-min cooldown
    flag = flags[0]
    assert 600.0 < flag["t_s"] <= 900.0
    assert flag["reason"]["code"] == "stress"
    assert "below your baseline" in flag["reason"]["details"]
    assert flag["reason"]["summary"] and "SD" not in flag["reason"]["summary"]
    assert flag["suggestion"]["kind"] == "breathing"
    assert flag["suggestion"]["duration_s"] == 120.0
    assert "Lehrer" in flag["suggestion"]["reference"]
    # events come in time order, the flag right after the window that caused it
    times = [e["t_s"] for e in events[:-1]]
    assert times == sorted(times)
    i = events.index(flag)
    assert events[i - 1]["type"] == "metrics" and events[i - 1]["t_s"] == pytest.approx(flag["t_s"])
    assert events[-1]["n_micro_breaks"] == 1

    human = runner.invoke(app, ["replay", str(stressed_recording)])
    assert human.exit_code == 0, human.output
    assert "micro-break due (stress)" in human.stdout
    assert "2-minute breathing reset" in human.stdout


def _signals_by_the_rule(rr_ms: list[float]) -> list[tuple[float, dict[str, Any]]]:
    """The live ``signal`` rule from the beats alone, with the core (not the pipeline): at
    the first beat, then at the first beat at least 5 s of session time after the previous
    one, ``hrv.SignalQuality.recent()`` of the analyser fed every beat (a file: no contact)."""
    analyser = hrv.LiveAnalyser(window_s=60.0, step_s=5.0)
    out: list[tuple[float, dict[str, Any]]] = []
    t_s = 0.0
    for rr in rr_ms:
        t_s += rr / 1000.0
        analyser.push(t_s, rr)
        if not out or t_s - out[-1][0] >= 5.0:
            out.append((t_s, dataclasses.asdict(analyser.signal.recent())))
    return out


def test_replay_prints_the_live_signals_and_names_frequent_early_beats(tmp_path: Path) -> None:
    """90 s of sinus rhythm, then 150 s of bigeminy (an early beat, a pause): the NN filter
    takes none of the bigeminy, so no window ends; the signal lines keep coming every 5 s of
    session time and, a minute in, say irregular rhythm with quality near 0."""
    sinus_bigeminy, onset_s = sinus_then_bigeminy(90.0, 150.0)
    rr = [round(x, 3) for x in sinus_bigeminy]  # as the file holds them
    path = tmp_path / "bigeminy.txt"
    path.write_text("".join(f"{x:.3f}\n" for x in rr), encoding="utf-8")
    out = runner.invoke(app, ["replay", str(path), "--json"])
    assert out.exit_code == 0, out.output
    events = lines(out.stdout)
    signals = [e for e in events if e["type"] == "signal"]
    end = events[-1]
    assert end["type"] == "replay_end" and end["n_beats"] == len(rr)
    # when and what: the live rule, computed from the beats with the core alone
    expected = _signals_by_the_rule(rr)
    assert [s["t_s"] for s in signals] == pytest.approx([t for t, _ in expected], abs=1e-6)
    for got, (_, want) in zip(signals, expected, strict=True):
        assert set(got) == {"type", "t_s", *want}
        assert {k: got[k] for k in want} == pytest.approx(want)
    # the sinus stretch is clean; a minute into the bigeminy the rhythm is named
    calm = [s for s in signals if 20.0 <= s["t_s"] < onset_s]
    assert calm and all(s["irregular_rhythm"] is False and s["quality"] == 1.0 for s in calm)
    late = [s for s in signals if s["t_s"] >= onset_s + 60.0]
    assert len(late) >= 15
    assert all(s["irregular_rhythm"] is True and s["quality"] < 0.1 for s in late)
    assert all(s["n_premature"] >= 25 and s["contact"] is None for s in late)
    # while the metrics windows stop at the first early beat
    windows = [e["t_s"] for e in events if e["type"] == "metrics"]
    assert windows and max(windows) < onset_s + 1.0
    assert end["n_signals"] == len(signals)
    assert end["n_irregular"] == sum(s["irregular_rhythm"] is True for s in signals) >= 15
    human = runner.invoke(app, ["replay", str(path)])
    assert human.exit_code == 0, human.output
    n_irregular = end["n_irregular"]
    assert f"{len(signals)} signals ({n_irregular} with irregular rhythm)" in human.stdout


def test_replay_store_keeps_the_session_and_its_flag_but_not_the_baseline(
    stressed_recording: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["replay", str(stressed_recording), "--json", "--store", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    end = lines(result.stdout)[-1]
    storage = Storage(tmp_path / "hrvpace.sqlite3")
    try:
        row = storage.get_session(end["session_id"])
        assert row is not None and row["state"] == "ended"
        n_file = len(read_recording(stressed_recording))
        assert len(storage.beats(end["session_id"])) == end["n_beats"] == n_file
        kinds = [r["kind"] for r in storage.micro_breaks(session_id=end["session_id"])]
        assert kinds == ["micro_break"]
        assert storage.get_value("baseline", "personal") is None  # a replay is not the person
    finally:
        storage.close()


def test_baseline_file_is_read_and_written(tmp_path: Path) -> None:
    path = DATA / "hrvpkg_rest_rri_ms.txt"
    baseline = tmp_path / "baseline.json"
    first = runner.invoke(app, ["replay", str(path), "--json", "--baseline", str(baseline)])
    assert first.exit_code == 0, first.output
    learned = json.loads(baseline.read_text())
    assert learned == lines(first.stdout)[-1]["baseline"]
    assert learned["personal_s"] > 600.0
    assert 55.0 < learned["hr_mean_bpm"] < 62.0  # supine rest, median RR 1066 ms
    second = runner.invoke(app, ["replay", str(path), "--json", "--baseline", str(baseline)])
    assert second.exit_code == 0, second.output
    again = json.loads(baseline.read_text())
    assert again["personal_s"] == pytest.approx(2 * learned["personal_s"])


def test_replay_in_scaled_real_time(tmp_path: Path) -> None:
    # the last 2 minutes of the rest recording at 200x: about 0.6 s of real waiting
    rr = read_recording(DATA / "hrvpkg_rest_rri_ms.txt").rr_ms[:130]
    path = tmp_path / "short.txt"
    path.write_text("\n".join(f"{x:g}" for x in rr) + "\n")
    result = runner.invoke(app, ["replay", str(path), "--units", "ms", "--speed", "200", "--json"])
    assert result.exit_code == 0, result.output
    events = lines(result.stdout)
    assert events[-1]["n_beats"] == 130
    rec = read_recording(path)
    _, t_end = live_windows(rec.rr_ms, rec.t_s, rec.gaps)
    got = [e["t_s"] for e in events if e["type"] == "metrics"][:2]
    assert got == pytest.approx(list(t_end[:2]), rel=1e-12)


def test_a_reader_that_leaves_stops_the_replay_quietly(tmp_path: Path) -> None:
    """``hrvpace replay --json --beats FILE | head -2`` on a 24-h recording: the replay stops
    when its stdout is gone (exit 1, no error per event) instead of playing the day into a
    closed pipe (it took about 30 s and logged an error for every event)."""
    path = DATA / "nsr2db_nsr001_rr_secs.txt"
    cmd = [sys.executable, "-m", "api", "replay", str(path), "--format", "physionet_rr_secs"]
    proc = subprocess.Popen(
        [*cmd, "--json", "--beats", "--store", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = [json.loads(proc.stdout.readline()) for _ in range(2)]
    assert [e["type"] for e in first] == ["beat", "signal"]
    proc.stdout.close()  # the reader leaves
    try:
        proc.wait(timeout=20)
    finally:
        proc.kill()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.returncode == 1 and stderr == ""
    storage = Storage(tmp_path / "hrvpace.sqlite3")
    try:
        (session,) = storage.list_sessions()
    finally:
        storage.close()
    assert session["state"] == "stopped"  # not played to the end of the day


def test_the_installed_command_replays_a_file(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_text("\n".join(["800", "810", "790"] * 40) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "api", "replay", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    events = lines(out.stdout)
    assert [e["type"] for e in events][-1] == "replay_end"
    assert events[-1]["n_beats"] == 120 and events[-1]["state"] == "ended"
    # 120 beats of 0.8 s on average: 96 s, windows end at 60, 65, ..., 95 (before the last beat)
    assert [e["t_s"] for e in events if e["type"] == "metrics"] == [
        60.0 + 5.0 * k for k in range(8)
    ]


def test_broken_and_missing_files_fail_with_a_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("800\n810\nabc\n790\n")
    result = runner.invoke(app, ["replay", str(broken), "--json"])
    assert result.exit_code == 1
    assert "broken.txt:3: RR interval 'abc' is not a number" in result.stderr
    assert lines(result.stdout)[-1]["state"] == "failed"
    # read before playing (a stretch): the JSON stream ends the same way, with the same fields
    stretch = runner.invoke(app, ["replay", str(broken), "--json", "--start", "0"])
    assert stretch.exit_code == 1 and "broken.txt:3" in stretch.stderr
    (end,) = lines(stretch.stdout)
    assert end["state"] == "failed" and set(end) == set(lines(result.stdout)[-1])
    # seconds read as milliseconds: refused as `hrvpace analyze` refuses them (one units policy;
    # under its own *_rr_secs name the file is read as PhysioNet seconds by both)
    nsr = tmp_path / "seconds.txt"
    nsr.write_bytes((DATA / "nsr2db_nsr001_rr_secs.txt").read_bytes())
    secs = runner.invoke(app, ["replay", str(nsr), "--json"])
    assert secs.exit_code == 1
    assert "look like seconds" in secs.stderr and "--format physionet_rr_secs" in secs.stderr
    assert lines(secs.stdout)[-1]["n_beats"] == 0
    analyzed = runner.invoke(app, ["analyze", str(nsr), "--json"])
    assert analyzed.exit_code == 1 and "look like seconds" in analyzed.stderr
    corrupt = tmp_path / "corrupt.txt"
    corrupt.write_text("800\n810\n1e308\n790\n")
    result = runner.invoke(app, ["replay", str(corrupt), "--json"])
    assert result.exit_code == 1 and "corrupt.txt:3: RR interval '1e308'" in result.stderr
    missing = runner.invoke(app, ["replay", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    bad_speed = runner.invoke(app, ["replay", str(broken), "--speed", "fast"])
    assert bad_speed.exit_code == 2 and "--speed" in bad_speed.stderr
    beats_alone = runner.invoke(app, ["replay", str(broken), "--beats"])
    assert beats_alone.exit_code == 2 and "--beats" in beats_alone.stderr
    assert "--json" in beats_alone.stderr


def test_a_negative_value_loses_no_beat_and_the_counts_agree(tmp_path: Path) -> None:
    """Review findings: 200 x 800, -60000, 200 x 800, 5 x 0, 100 x 800 ended at 340 s with
    426 of 506 beats (the 75 valid beats after the negative value dropped as out of order), and
    a replay said 772 beats where 771 were taken. Every valid beat is taken now, the 6
    artefacts are skipped, and the end counts both."""
    path = tmp_path / "neg.txt"
    values = [800] * 200 + [-60000] + [800] * 200 + [0] * 5 + [800] * 100
    path.write_text("".join(f"{v}\n" for v in values))
    out = runner.invoke(app, ["replay", str(path), "--json", "--beats"])
    assert out.exit_code == 0, out.output
    events = lines(out.stdout)
    end = events[-1]
    assert (end["n_beats"], end["n_skipped"], end["t_s"]) == (500, 6, 400.0)
    assert "506 beats, 6 of them unusable" in end["message"]
    taken = [e for e in events if e["type"] == "beat"]
    assert [e["rr_ms"] for e in taken] == [800] * 500
    assert [e["t_s"] for e in taken] == pytest.approx([0.8 * (k + 1) for k in range(500)])
    human = runner.invoke(app, ["replay", str(path)])
    assert "replay ended: 500 beats (6 skipped as unusable)," in human.stdout
    real = runner.invoke(app, ["replay", str(DATA / "hrvpkg_real_rri_ms.txt"), "--json"])
    end = lines(real.stdout)[-1]
    assert (end["n_beats"], end["n_skipped"]) == (771, 1)
    assert "(772 beats, 1 of them unusable: an RR of 0 or less)" in end["message"]


def test_a_folder_is_named_as_one(tmp_path: Path) -> None:
    """Review finding: a folder was 'no such file'."""
    out = runner.invoke(app, ["replay", str(tmp_path)])
    assert out.exit_code == 2
    assert out.stderr == f"hrvpace replay: {tmp_path}: a folder: replay takes one recording file\n"


@pytest.mark.parametrize("as_json", [False, True])
def test_a_file_that_is_no_recording_says_why_once(as_json: bool) -> None:
    """Review finding: a README printed the pipeline's WARNING log line and 'replay failed: 0
    beats ...' before the reason. Only the reason now, once (with --json the replay_end line
    on stdout too, as every replay ends)."""
    path = DATA / "README.md"
    out = subprocess.run(
        [sys.executable, "-m", "api", "replay", str(path), *(["--json"] if as_json else [])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    reason = (  # line 1 '# Real RR-interval data ...' is a comment: line 3 is read first
        f"{path}:3: 'Data files only: no code was copied. Each file is byte-identical to the "
        "source file named below' is neither a number nor a header naming an RR column "
        f"({known_rr_headers()})"
    )
    assert out.stderr == f"hrvpace replay: {reason}\n"
    if as_json:
        (end,) = lines(out.stdout)
        assert (end["state"], end["message"], end["n_beats"]) == ("failed", reason, 0)
    else:
        assert out.stdout == ""


def test_an_export_of_a_replayed_session_analyses_as_the_recording(tmp_path: Path) -> None:
    """Review finding: ``hrvpace analyze`` of hrvpace's own export (``ID-beats.csv``, header
    ``idx [index],t_s [s],rr_ms [ms],...``) failed as "a table without an RR column". Read
    as a plain rr_ms column it would also lose the session's gaps and times. The export's
    beats table is now a format of its own (``hrvpace_export``): its times, gaps and contact
    are read, so it analyses as the recording replayed into the session."""
    from api.research.units import BEAT_UNITS, csv_header
    from sensors.formats.hrvpace import EXPORT_BEATS_HEADER

    assert tuple(csv_header(n, u) for n, u in BEAT_UNITS.items()) == EXPORT_BEATS_HEADER
    person = SimulatedPerson(seed=5)
    path = tmp_path / "rec.csv"
    with RecordingWriter(path, meta={"device": "simulated person, seed 5"}) as writer:
        shift = 0.0
        for k, b in enumerate(person.beats(600.0)):
            gap = k == 300  # 20 s of beats lost before beat 300
            shift += 20.0 if gap else 0.0
            t = b.t_s + shift
            writer.write(Beat(t_s=t, rr_ms=b.rr_ms, arrived_at=t, contact=True, gap_before=gap))
    data = tmp_path / "data"
    res = runner.invoke(app, ["replay", str(path), "--json", "--store", "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    sid = lines(res.stdout)[-1]["session_id"]
    out = tmp_path / "out"
    res = runner.invoke(app, ["export", sid, "--out", str(out), "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    beats = out / f"{sid}-beats.csv"
    objs = {}
    for name, p in (("export", beats), ("recording", path)):
        res = runner.invoke(app, ["analyze", str(p), "--json", "-q"])
        assert res.exit_code == 0, res.output
        objs[name] = json.loads(res.stdout)
    assert objs["export"]["format"] == "hrvpace_export"
    assert objs["export"]["read_as"] == "hrvpace_export (the file's header)"
    rec = read_recording(beats)
    assert rec.source_format == "hrvpace_export" and np.flatnonzero(rec.gaps).tolist() == [300]
    np.testing.assert_array_equal(rec.t_s, read_recording(path).t_s)
    for key in ("n_beats", "duration_s", "mean_rr_ms", "sdnn_ms", "rmssd_ms", "lf_ms2", "hf_ms2"):
        assert objs["export"][key] == pytest.approx(objs["recording"][key], rel=1e-12), key


def _export_with_contact(tmp_path: Path) -> tuple[Path, str]:
    """An ``hrvpace export`` folder (beats, metrics, contact tables) of a replayed session."""
    import sqlite3

    person = SimulatedPerson(seed=7)
    path = tmp_path / "rec.csv"
    with RecordingWriter(path, meta={"device": "simulated person, seed 7"}) as writer:
        for b in person.beats(400.0):
            writer.write(Beat(t_s=b.t_s, rr_ms=b.rr_ms, arrived_at=b.t_s, contact=True))
    data = tmp_path / "data"
    res = runner.invoke(app, ["replay", str(path), "--json", "--store", "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    sid = lines(res.stdout)[-1]["session_id"]
    # the strap lost contact for 12 s, then from 390 s to the end (a stretch still open)
    with sqlite3.connect(data / "hrvpace.sqlite3") as db:
        db.executemany(
            "INSERT INTO contact_changes (session_id, t_s, contact, recorded_at) VALUES (?,?,?,0)",
            [(sid, 100.0, 0), (sid, 112.0, 1), (sid, 390.0, 0)],
        )
    db.close()
    out = tmp_path / "exp"
    res = runner.invoke(app, ["export", sid, "--out", str(out), "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert f"{sid}-metrics.csv" in names and f"{sid}-contact.csv" in names, names
    return out, sid


def test_an_export_folder_analyses_as_its_beats(tmp_path: Path) -> None:
    """Code review: ``hrvpace analyze`` of an export folder exited 1: ``ID-metrics.csv`` (columns
    of numbers, no RR column) failed as "a table without an RR column", as does
    ``ID-contact.csv`` when its rows are numbers only. They are hrvpace export's own tables,
    told by their headers and skipped saying so, naming the beats file (it said
    "ID-beats.csv", not the export's); the beats table is the one recording read."""
    out, sid = _export_with_contact(tmp_path)
    (out / "renamed.csv").write_bytes((out / f"{sid}-metrics.csv").read_bytes())
    res = runner.invoke(app, ["analyze", str(out), "--json", "-q"])
    assert res.exit_code == 0, res.output
    (obj,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert obj["path"] == str(out / f"{sid}-beats.csv") and obj["format"] == "hrvpace_export"
    for kind in ("metrics", "contact"):
        said = (
            f"{out / f'{sid}-{kind}.csv'}: hrvpace export's {kind} table, not a recording "
            f"(its beats are {sid}-beats.csv) (skipped)"
        )
        assert said in res.stderr, res.stderr
    # the beats file it names (a renamed copy: the export's, whose id its name no longer says)
    said = f"{out / 'renamed.csv'}: hrvpace export's metrics table, not a recording (its beats"
    assert f"{said} are the export's ID-beats.csv) (skipped)" in res.stderr, res.stderr
    # its sidecar says what it is (code review: "not a recording: '{' is neither a number...")
    said = f"{out / f'{sid}.json'}: hrvpace export's sidecar (the session's settings and events)"
    assert f"{said}, not a recording (its beats are {sid}-beats.csv) (skipped)" in res.stderr
    assert "'{' is neither" not in res.stderr
    assert "1 of 1 recording(s) analysed, 0 failed" in res.stderr


def test_an_export_table_named_on_its_own_says_what_it_is(tmp_path: Path) -> None:
    """``ID-metrics.csv`` or ``ID-contact.csv`` named on the command line (not in a folder,
    where they are skipped) failed as "a table without an RR column", which does not say what
    it is. It still fails (exit 1, a row with its error in --summary: a file named that cannot
    be analysed), saying it is hrvpace export's table and which beats file to analyse; a copy
    under another name is told by its header all the same. The beats file's path is named
    only when it is there (code review: a copy of ``ID-metrics.csv`` alone was told to analyse
    ``ID-beats.csv`` beside it, which did not exist)."""
    out, sid = _export_with_contact(tmp_path)
    beats = out / f"{sid}-beats.csv"
    other = tmp_path / "renamed.csv"
    other.write_bytes((out / f"{sid}-metrics.csv").read_bytes())
    (tmp_path / "copy").mkdir()
    alone = tmp_path / "copy" / f"{sid}-metrics.csv"
    alone.write_bytes((out / f"{sid}-metrics.csv").read_bytes())
    for kind, path, named in (
        ("metrics", out / f"{sid}-metrics.csv", f"the export's beats file {beats}"),
        ("contact", out / f"{sid}-contact.csv", f"the export's beats file {beats}"),
        ("metrics", other, "the beats file ID-beats.csv of its export"),
        ("metrics", alone, f"the beats file {sid}-beats.csv of its export"),
    ):
        summary = tmp_path / f"s-{kind}-{path.name}"
        res = runner.invoke(app, ["analyze", str(path), "--json", "-q", "--summary", str(summary)])
        assert res.exit_code == 1, res.output
        said = (
            f"{path}: hrvpace export's {kind} table, not beats: analyse {named} (or the export "
            "folder, where this table is skipped)"
        )
        assert json.loads(res.stdout)["error"] == said
        assert f"hrvpace analyze: {said} (failed)" in res.stderr
        assert "without an RR column" not in res.stderr
        assert "0 of 1 recording(s) analysed, 1 failed" in res.stderr
        assert said in summary.read_text()
    # the beats file it names is the one to analyse
    res = runner.invoke(app, ["analyze", str(beats), "--json", "-q"])
    assert res.exit_code == 0, res.output


def test_an_export_sidecar_named_on_its_own_says_what_it_is(tmp_path: Path) -> None:
    """Review: ``ID.json`` named to ``hrvpace analyze`` (skipped saying what it is in a folder)
    failed with the reader's "'{' is neither a number nor a header naming an RR column ...".
    It says it is the export's sidecar and which beats file to analyse, as the export's
    tables do: the path beside it, or, for a copy elsewhere under another name, the beats file
    its ``files`` list names."""
    out, sid = _export_with_contact(tmp_path)
    beats = out / f"{sid}-beats.csv"
    (tmp_path / "copy").mkdir()
    other = tmp_path / "copy" / "mine.json"
    other.write_bytes((out / f"{sid}.json").read_bytes())
    for path, named in (
        (out / f"{sid}.json", f"the export's beats file {beats}"),
        (other, f"the beats file {sid}-beats.csv of its export"),
    ):
        res = runner.invoke(app, ["analyze", str(path), "--json", "-q"])
        assert res.exit_code == 1, res.output
        said = (
            f"{path}: hrvpace export's sidecar (the session's settings and events), not beats: "
            f"analyse {named} (or the export folder, where this file is skipped)"
        )
        assert json.loads(res.stdout)["error"] == said
        assert f"hrvpace analyze: {said} (failed)" in res.stderr
        assert "neither a number" not in res.stderr


def test_replay_and_report_say_what_an_export_s_sidecar_or_table_is(tmp_path: Path) -> None:
    """Review: ``replay`` and ``report`` of an export's ``ID.json`` failed as "'{' is neither a
    number nor a header ...", of its metrics or contact table as "a table without an RR
    column", where analyze says what the file is. They say it too, naming the beats file to
    replay or report on; ``replay --json`` still ends with its ``replay_end``."""
    out, sid = _export_with_contact(tmp_path)
    beats = out / f"{sid}-beats.csv"
    for name, what in (
        (f"{sid}.json", "hrvpace export's sidecar (the session's settings and events)"),
        (f"{sid}-metrics.csv", "hrvpace export's metrics table"),
        (f"{sid}-contact.csv", "hrvpace export's contact table"),
    ):
        path = out / name
        res = runner.invoke(app, ["replay", str(path), "--json", "--speed", "max"])
        assert res.exit_code == 1, res.output
        said = f"{path}: {what}, not beats: replay the export's beats file {beats} instead"
        (end,) = lines(res.stdout)
        assert end["type"] == "replay_end" and end["state"] == "failed"
        assert end["message"] == said and end["n_beats"] == 0
        assert f"hrvpace replay: {said}" in res.stderr
        res = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "r.html"), "-q"])
        assert res.exit_code == 1, res.output
        said = f"{path}: {what}, not beats: report on the export's beats file {beats} instead"
        assert f"hrvpace report: {said}" in res.stderr
        assert not (tmp_path / "r.html").exists()


def test_a_json_file_over_1_mib_is_not_parsed_for_a_sidecar(tmp_path: Path) -> None:
    """Code review: a named ``.json`` up to 64 MiB was parsed whole to tell a sidecar (a 57-MB
    Fitbit export: 35 s of CPU, about 1 GB). An export's sidecar is a few kB: one over 1 MiB
    (named or uploaded) is not looked into and fails as any other file."""
    from api.research.discover import export_table_problem

    out, sid = _export_with_contact(tmp_path)
    sidecar = json.loads((out / f"{sid}.json").read_text())
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**sidecar, "padding": "x" * (1 << 20)}))
    assert export_table_problem(big) is None
    res = runner.invoke(app, ["analyze", str(big), "--json", "-q"])
    assert res.exit_code == 1, res.output
    assert "hrvpace export's sidecar" not in res.stderr
    # at 1 MiB it still says what it is
    pad = (1 << 20) - len(json.dumps({**sidecar, "padding": ""}))
    big.write_text(json.dumps({**sidecar, "padding": "x" * pad}))
    assert big.stat().st_size == 1 << 20
    assert "hrvpace export's sidecar" in (export_table_problem(big) or "")


def test_an_export_s_parquet_tables_say_what_they_are(tmp_path: Path) -> None:
    """Review finding: ``ID-metrics.parquet`` (or ``ID-beats.parquet``, ``ID-contact.parquet``,
    which export writes beside each CSV) named on its own failed as "not a text file", and in
    a folder was skipped quoting its binary first line. Now each says what it is: the beats
    table names its CSV (the same beats, which analyse reads), the others the beats file; a
    copy under another name is told by its columns; any other Parquet file is a Parquet
    table, not a recording. Nothing of the file is quoted."""
    pytest.importorskip("pyarrow.parquet")
    out, sid = _export_with_contact(tmp_path)
    beats = out / f"{sid}-beats.csv"
    other = tmp_path / "renamed.parquet"
    other.write_bytes((out / f"{sid}-metrics.parquet").read_bytes())
    windows = tmp_path / "windows.parquet"
    res = runner.invoke(app, ["analyze", str(beats), "-q", "--windows", str(windows)])
    assert res.exit_code == 0, res.output
    for path, said in (
        (
            out / f"{sid}-beats.parquet",
            "hrvpace export's beats table in Parquet, which is not read as a recording: "
            f"analyse its CSV {beats} instead (the same beats)",
        ),
        (
            out / f"{sid}-metrics.parquet",
            f"hrvpace export's metrics table (Parquet), not beats: analyse the export's beats "
            f"file {beats} (or the export folder, where this table is skipped)",
        ),
        (
            out / f"{sid}-contact.parquet",
            f"hrvpace export's contact table (Parquet), not beats: analyse the export's beats "
            f"file {beats} (or the export folder, where this table is skipped)",
        ),
        (
            other,
            "hrvpace export's metrics table (Parquet), not beats: analyse the beats file "
            "ID-beats.csv of its export (or the export folder, where this table is skipped)",
        ),
        (windows, "a Parquet table, not an RR recording (files are read as text: CSV or TXT)"),
    ):
        res = runner.invoke(app, ["analyze", str(path), "--json", "-q"])
        assert res.exit_code == 1, res.output
        assert json.loads(res.stdout)["error"] == f"{path}: {said}"
        assert "not a text file" not in res.stderr
    # in the export folder: skipped saying what each is, quoting none of its bytes
    res = runner.invoke(app, ["analyze", str(out), "--json", "-q"])
    assert res.exit_code == 0, res.output
    for kind, said in (
        (
            "beats",
            f"hrvpace export's beats table in Parquet (its CSV {beats.name} is the one read)",
        ),
        (
            "metrics",
            f"hrvpace export's metrics table (Parquet), not a recording "
            f"(its beats are {beats.name})",
        ),
        (
            "contact",
            f"hrvpace export's contact table (Parquet), not a recording "
            f"(its beats are {beats.name})",
        ),
    ):
        assert f"{out / f'{sid}-{kind}.parquet'}: {said} (skipped)" in res.stderr, res.stderr
    assert "PAR1" not in res.stderr
    (out / "windows.parquet").write_bytes(windows.read_bytes())
    res = runner.invoke(app, ["analyze", str(out), "--json", "-q"])
    said = "a Parquet table, not a recording (recordings are read as text: CSV or TXT)"
    assert f"{out / 'windows.parquet'}: {said} (skipped)" in res.stderr, res.stderr


@pytest.mark.parametrize("saved", ["quoted", "semicolon", "tab"])
def test_an_export_re_saved_by_a_spreadsheet_keeps_its_times_and_gaps(
    tmp_path: Path, saved: str
) -> None:
    """Code review: ``ID-beats.csv`` re-saved by a spreadsheet (every field quoted, or ``;``
    between columns with decimal commas) was not told as the export and was read as a plain
    ``rr_ms`` column: its 20-s gap lost (duration the RR sum, 20 s short). It is read as the
    export, with the same times, gaps and values."""
    import csv

    person = SimulatedPerson(seed=5)
    path = tmp_path / "rec.csv"
    with RecordingWriter(path, meta={"device": "simulated person, seed 5"}) as writer:
        shift = 0.0
        for k, b in enumerate(person.beats(400.0)):
            gap = k == 200  # 20 s of beats lost before beat 200
            shift += 20.0 if gap else 0.0
            t = b.t_s + shift
            writer.write(Beat(t_s=t, rr_ms=b.rr_ms, arrived_at=t, contact=True, gap_before=gap))
    data = tmp_path / "data"
    res = runner.invoke(app, ["replay", str(path), "--json", "--store", "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    sid = lines(res.stdout)[-1]["session_id"]
    out = tmp_path / "out"
    res = runner.invoke(app, ["export", sid, "--out", str(out), "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    beats = out / f"{sid}-beats.csv"
    with open(beats, newline="") as f:
        table = list(csv.reader(f))
    again = tmp_path / "again.csv"
    with open(again, "w", newline="") as f:
        if saved == "quoted":
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows(table)
        else:  # a spreadsheet in a decimal-comma locale
            sep = ";" if saved == "semicolon" else "\t"
            rows = [table[0]] + [[c.replace(".", ",") for c in r] for r in table[1:]]
            csv.writer(f, delimiter=sep).writerows(rows)
    objs = {}
    for name, p in (("export", beats), ("again", again)):
        res = runner.invoke(app, ["analyze", str(p), "--json", "-q"])
        assert res.exit_code == 0, res.output
        objs[name] = json.loads(res.stdout)
    assert objs["again"]["format"] == "hrvpace_export", objs["again"]["read_as"]
    for key in ("n_beats", "duration_s", "mean_rr_ms", "sdnn_ms", "rmssd_ms", "quality"):
        assert objs["again"][key] == objs["export"][key], key
    rec = read_recording(again)
    assert np.flatnonzero(rec.gaps).tolist() == [200]
    np.testing.assert_array_equal(rec.t_s, read_recording(beats).t_s)


def test_an_unwritable_baseline_file_is_refused_before_the_replay(tmp_path: Path) -> None:
    """``--baseline FILE`` is written at the end: a FILE that cannot be is said at once."""
    path = tmp_path / "short.txt"
    path.write_text("\n".join(["800", "810", "790"] * 40) + "\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    (tmp_path / "a-folder").mkdir()
    cases = {
        a_file / "b.json": f"{a_file} is a file, not a folder",
        tmp_path / "a-folder": "it is a folder",
        tmp_path / "missing" / "b.json": f"the folder {tmp_path / 'missing'} does not exist",
        tmp_path / ("b" * 300 + ".json"): "File name too long",  # was a traceback
        tmp_path / ("f" * 300) / "b.json": "File name too long",
    }
    for target, why in cases.items():
        done = subprocess.run(
            [sys.executable, "-m", "api", "replay", str(path), "--json", "--baseline", str(target)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, (target, done.stderr)
        assert done.stderr.strip() == f"hrvpace replay: cannot write --baseline {target}: {why}"
        assert done.stdout == ""  # refused before the replay: nothing played


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_a_replay_without_writing_its_baseline(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    """SIGTERM and Ctrl-C stop a replay as they stop assess, practice and record: the session
    ``stopped``, the summary printed, exit 128 + the signal; a partial replay's baseline is not
    the recording's, so ``--baseline FILE`` is not written (SIGTERM killed the replay (-15), its
    stored session left ``running``; Ctrl-C exited 0 having written the baseline)."""
    path = tmp_path / "long.txt"
    path.write_text("\n".join(["800", "810", "790"] * 400) + "\n")  # 16 min
    baseline = tmp_path / "baseline.json"
    store = ["--store", "--data-dir", str(tmp_path / "data"), "--baseline", str(baseline)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "replay", str(path), "--json", "--speed", "10", *store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["type"] == "signal"  # under way
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    end = json.loads(out.splitlines()[-1])
    assert end["type"] == "replay_end" and end["state"] == "stopped"
    assert 0 < end["n_beats"] < 1200
    label = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
    assert err == f"stopped ({label}): replay ended early, --baseline not written\n"
    assert not baseline.exists()
    storage = Storage(tmp_path / "data" / "hrvpace.sqlite3")
    try:
        (session,) = storage.list_sessions()
    finally:
        storage.close()
    assert session["state"] == "stopped"


def test_a_recording_without_beats_fails_as_analyze_says(tmp_path: Path) -> None:
    """A recording with its header and no beat: replay exited 0 ("0 beats") where analyze says
    "the recording has no beats" and exits 1; now both do."""
    path = tmp_path / "none.csv"
    with RecordingWriter(path, meta={"device": "test"}):
        pass
    said = f"{path}: the recording has no beats"
    baseline = tmp_path / "baseline.json"
    for command in (["replay"], ["replay", "--json", "--baseline", str(baseline)], ["analyze"]):
        done = subprocess.run(
            [sys.executable, "-m", "api", *command, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1, (command, done.stderr)
        assert said in done.stderr, (command, done.stderr)
    assert not baseline.exists()  # nothing replayed: no baseline of the recording (was written)


def test_replay_end_read_as_says_what_analyze_says_for_every_format(tmp_path: Path) -> None:
    """Code review: replay_end's read_as lacked analyze's notes for files replay did not read
    itself: a gHRV beat-times file's signal loss left out, an hrvpace recording's last line
    cut off. It says them now, as analyze's read_as."""
    times = (DATA / "ghrv_beat_ascii.txt").read_text().splitlines()
    beats = tmp_path / "beats.txt"
    beats.write_text(
        "\n".join(times[:2999] + [f"{float(x) + 120:9.3f}" for x in times[2999:3600]]) + "\n"
    )
    stressed = tmp_path / "cut.csv"
    person = SimulatedPerson(seed=3, ectopic_rate=0, missed_beat_rate=0)
    with RecordingWriter(stressed, meta={"device": "test"}) as writer:
        for b in person.beats(300):
            writer.write(
                Beat(t_s=b.t_s, rr_ms=b.rr_ms, arrived_at=b.t_s, contact=True, gap_before=False)
            )
    stressed.write_bytes(stressed.read_bytes() + b"12.5,8")  # a last line cut short
    for path, fmt, note in (
        (beats, "ghrv_beats", "1 signal loss(es) over 64 s between beats left out"),
        (stressed, None, "last line incomplete (file cut off?), ignored"),
    ):
        given = ["--format", fmt] if fmt else []
        analysed = runner.invoke(app, ["analyze", str(path), *given, "--json"])
        read_as = json.loads(analysed.stdout.splitlines()[0])["read_as"]
        assert note in read_as, read_as
        out = runner.invoke(app, ["replay", str(path), *given, "--json"])
        assert out.exit_code == 0, out.output
        assert lines(out.stdout)[-1]["read_as"] == read_as


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signals_after_the_first_change_nothing(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    """After the SIGTERM (Ctrl-C) that stops a replay, more of them, sent one after another
    until its end is printed, are ignored: one that came during the event loop's teardown or
    the stored session's final state raised out of the replay ("stopped (SIGTERM): nothing
    replayed" and no replay_end, or a traceback) though the replay had run. (One signal then
    another of a different kind can be taken in either order: the kernel delivers the lower
    number first.)"""
    path = tmp_path / "long.txt"
    path.write_text("\n".join(["800", "810", "790"] * 400) + "\n")  # 16 min
    baseline = tmp_path / "baseline.json"
    store = ["--store", "--data-dir", str(tmp_path / "data"), "--baseline", str(baseline)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "replay", str(path), "--json", "--speed", "10", *store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert json.loads(proc.stdout.readline())["type"] == "signal"  # under way
        reader = threading.Thread(target=lambda: out.extend(proc.stdout or ()))
        reader.start()
        proc.send_signal(signum)
        sent = 0
        # every moment from the first signal to the end printed gets one (after it, the
        # command is done: a signal then is the shell's as for any command)
        while not (out and '"replay_end"' in out[-1]) and proc.poll() is None:
            proc.send_signal(signum)
            sent += 1
            time.sleep(0.001)
        proc.wait(timeout=60)
        reader.join(timeout=60)
        err = proc.stderr.read()
    finally:
        proc.kill()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert sent > 0
    # or killed by one sent as the end was printed, once the command had done its work and
    # put the default handlers back (the shell's, as for any command)
    assert proc.returncode in (code, -signum), err
    assert out, err
    end = json.loads(out[-1])
    assert end["type"] == "replay_end" and end["state"] == "stopped"
    label = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
    assert err.splitlines()[0] == f"stopped ({label}): replay ended early, --baseline not written"
    assert not baseline.exists()
    storage = Storage(tmp_path / "data" / "hrvpace.sqlite3")
    try:
        (session,) = storage.list_sessions()
    finally:
        storage.close()
    assert session["state"] == "stopped"


def test_a_signal_while_a_busy_database_keeps_the_session_waiting(tmp_path: Path) -> None:
    """SIGTERM while ``--store``'s new session waits for a database another process holds:
    once it is made the replay does not start and the session is ``stopped`` (it raised out of
    the wait, and the session made once the database gave way was left ``running``, to be
    marked interrupted by the next opening as if the service had stopped)."""
    path = tmp_path / "short.txt"
    path.write_text("\n".join(["800", "810", "790"] * 40) + "\n")
    database = tmp_path / "data" / "hrvpace.sqlite3"
    Storage(database).close()
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    data_dir = ["--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "replay", str(path), "--json", "--store", *data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the database opened (a file of the process's), then its first write, the session,
        # waits: it is made at once after the opening's few reads
        fds = Path(f"/proc/{proc.pid}/fd")
        want = os.path.realpath(database)

        def has_it_open() -> bool:
            for fd in fds.iterdir():
                try:  # a descriptor listed can close before it is read (module imports)
                    if os.readlink(fd) == want:
                        return True
                except FileNotFoundError:
                    continue
            return False

        deadline = time.monotonic() + 60
        while not has_it_open():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        holder.execute("ROLLBACK")
        out, err = proc.communicate(timeout=60)
    finally:
        holder.close()
        proc.kill()
    assert proc.returncode == 143, err
    assert err == "stopped (SIGTERM): nothing replayed\n"
    assert out == ""
    storage = Storage(database)
    try:
        (session,) = storage.list_sessions()
        assert storage.interrupted_on_open == []
    finally:
        storage.close()
    assert (session["state"], session["message"]) == ("stopped", "stopped on request")


def test_the_summary_says_one_of_each_as_one(tmp_path: Path) -> None:
    """A one-beat replay's summary said "1 beats, ..., 1 signals"."""
    path = tmp_path / "one.txt"
    path.write_text("800\n")
    done = subprocess.run(
        [sys.executable, "-m", "api", "replay", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = "replay ended: 1 beat, 0 windows, 1 signal (0 with irregular rhythm), 0 micro-breaks\n"
    assert said in done.stdout, done.stdout


def test_replay_of_a_table_with_short_rows_says_it_read_them_positionally(tmp_path: Path) -> None:
    """Code review: a row whose trailing empty fields lost their tabs reads positionally and
    replay's read_as says so (analyze's read notes: tests/sensors/test_recording_rows.py)."""
    path = tmp_path / "trimmed.tsv"
    path.write_text("time\tRR\tnote\n1\t800\tstart\n2\t810\n3\t790\n")
    res = runner.invoke(app, ["replay", str(path), "--speed", "1000"])
    assert res.exit_code == 0, res.output
    assert "3 beats" in res.stdout
    assert "2 row(s) with fewer fields than the header (the first on line 3), read " in res.stdout
