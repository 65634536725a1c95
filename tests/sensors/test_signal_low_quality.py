"""Stretches of low detector quality are left out of the metrics, and the output says so.

The reviewer's case: a 5-min PPG (NeuroKit2-simulated, 100 Hz) with 20 s of 2.2-Hz motion (as
walking adds) gave 44 "beats" in those 20 s, the summary's correction quality 0.96 and no
warning. The detector's own quality per beat (``Recording.quality``, NeuroKit2's
``templatematch``) is low there; :func:`sensors.formats.signal_peaks.leave_out_low_quality`
leaves such stretches out with a gap and ``read_as`` says how many seconds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from api.research.analysis import AnalysisOptions, analyze_file
from sensors import Recording, read_recording
from sensors.formats._common import CONTACT_UNKNOWN
from sensors.formats.signal_peaks import leave_out_low_quality

FS = 100


def ppg_pair(tmp_path: Path) -> tuple[Path, Path]:
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ppg = nk.ppg_simulate(
            duration=300,
            sampling_rate=FS,
            heart_rate=65,
            frequency_modulation=0.3,
            ibi_randomness=0.1,
            random_state=2,
        )
    moved = ppg.copy()
    n = 20 * FS
    rng = np.random.default_rng(0)
    moved[200 * FS : 220 * FS] += 3 * np.sin(2 * np.pi * 2.2 * np.arange(n) / FS) + rng.normal(
        0, 0.5, n
    )
    still, motion = tmp_path / "ppg_still.csv", tmp_path / "ppg_motion.csv"
    for path, x in ((still, ppg), (motion, moved)):
        path.write_text("ppg\n" + "\n".join(f"{v:.6f}" for v in x) + "\n")
    return still, motion


def test_a_stretch_of_motion_in_a_ppg_is_left_out_and_said(tmp_path: Path) -> None:
    still, motion = ppg_pair(tmp_path)
    options = AnalysisOptions(format="ppg_csv", sampling_rate_hz=float(FS))
    a, b = analyze_file(still, options), analyze_file(motion, options)
    assert a.summary is not None and b.summary is not None
    assert "left out" not in a.summary["read_as"]
    read_as = b.summary["read_as"]
    assert "s of signal below detector quality 0.85 left out" in read_as
    seconds = float(read_as.split("; ")[-1].split(" s of signal")[0])
    assert 15 <= seconds <= 21
    # the motion's beats are gone: the metrics are the still signal's
    assert b.summary["rmssd_ms"] == pytest.approx(a.summary["rmssd_ms"], rel=0.05)
    assert b.summary["sdnn_ms"] == pytest.approx(a.summary["sdnn_ms"], rel=0.05)
    assert b.summary["n_beats"] <= a.summary["n_beats"] - 15
    rec = read_recording(motion, format="ppg_csv", sampling_rate_hz=FS)
    kept, left_out_s = leave_out_low_quality(rec)
    assert left_out_s == pytest.approx(seconds, abs=0.5)
    inside = (kept.t_s > 202.0) & (kept.t_s < 218.0)
    assert inside.sum() <= 2  # of the 44 motion "beats" (about 35 with their pulses)
    assert kept.gaps.sum() >= 1 and kept.start_s == rec.start_s


def test_leave_out_removes_the_intervals_touching_low_beats_with_a_gap() -> None:
    q = np.full(20, 0.95)
    q[8:13] = 0.2  # a stretch of five bad beats
    q[3] = 0.1  # a lone odd beat: the correction's to label, kept
    rr = np.full(20, 1000.0)
    rec = Recording(
        rr_ms=rr,
        t_s=np.arange(1, 21, dtype=float),
        gaps=np.zeros(20, dtype=bool),
        contact=np.full(20, CONTACT_UNKNOWN, dtype=np.int8),
        source_format="ppg_csv",
        quality=q,
        meta={"detector_quality_floor": 0.6, "signal_kind": "ppg", "signal_notes": ("x",)},
    )
    kept, left_out_s = leave_out_low_quality(rec)
    # the median of 5 is low for beats 8..12 (and their neighbours' medians of 5 are not);
    # intervals 8..13 touch them
    assert left_out_s == pytest.approx(6.0)
    np.testing.assert_array_equal(kept.t_s, np.r_[np.arange(1, 9), np.arange(15, 21)])
    assert kept.gaps.tolist() == [False] * 8 + [True] + [False] * 5
    assert kept.meta["signal_notes"] == ("x", "6 s of signal below detector quality 0.6 left out")
    assert kept.meta["low_quality_left_out_s"] == pytest.approx(6.0)


def test_recordings_without_detector_quality_are_left_as_they_are() -> None:
    data = Path(__file__).resolve().parent.parent / "data"
    rec = read_recording(data / "mitdb100x.hea", format="wfdb")  # reference annotations
    assert leave_out_low_quality(rec) == (rec, 0.0)
    detected = read_recording(data / "mitdb121x.hea", format="wfdb", beats="detect")
    assert leave_out_low_quality(detected) == (detected, 0.0)  # a clean ECG loses nothing


def test_an_ecg_keeps_its_runs_of_ventricular_beats_and_says_so(tmp_path: Path) -> None:
    """106's runs of ventricular beats have low detector quality but are true beats.

    Left out, 97.6 % of the intervals removed from the whole record ended on true beats: an ECG
    keeps them (the artefact correction labels them) and ``read_as`` says how many seconds.
    """
    data = Path(__file__).resolve().parent.parent / "data"
    rec = read_recording(data / "mitdb106x.hea", format="wfdb", beats="detect")
    assert rec.meta["signal_kind"] == "ecg"
    kept, left_out_s = leave_out_low_quality(rec)
    assert left_out_s == 0.0
    np.testing.assert_array_equal(kept.t_s, rec.t_s)
    assert not kept.gaps.any()
    note = kept.meta["signal_notes"][-1]
    assert note.endswith(
        "s of ECG with low detector quality (noise, or beats of another shape such as "
        "ventricular ectopy)"
    )
    assert 5 <= float(note.split(" s of ECG")[0]) <= 30
    a = analyze_file(data / "mitdb106x.hea", AnalysisOptions(format="wfdb", beats="detect"))
    assert a.summary is not None and a.summary["n_beats"] == rec.n_beats
    assert note in a.summary["read_as"]


def test_analyze_replay_and_report_read_a_motion_ppg_alike(tmp_path: Path) -> None:
    """replay and report read the signal themselves: they leave the motion out as analyze does."""
    import json

    from typer.testing import CliRunner

    from api.cli import app

    _, motion = ppg_pair(tmp_path)
    a = analyze_file(motion, AnalysisOptions(format="ppg_csv", sampling_rate_hz=float(FS)))
    assert a.summary is not None
    note = a.summary["read_as"].split("; ")[-1]
    assert note.endswith("s of signal below detector quality 0.85 left out")
    runner = CliRunner()
    opts = ["--format", "ppg_csv", "--sampling-rate", str(FS)]
    replay = runner.invoke(app, ["replay", str(motion), *opts, "--json", "--speed", "max"])
    assert replay.exit_code == 0, replay.output
    end = json.loads(replay.stdout.strip().splitlines()[-1])
    assert end["type"] == "replay_end"
    assert end["n_beats"] == a.summary["n_beats"]
    assert end["read_as"] == a.summary["read_as"]
    out = tmp_path / "ppg.html"
    report = runner.invoke(app, ["report", str(motion), "--out", str(out), *opts, "--quiet"])
    assert report.exit_code == 0, report.output
    assert note in out.read_text(encoding="utf-8")


def test_report_of_a_segment_cuts_first_then_leaves_out_as_analyze(tmp_path: Path) -> None:
    """report --start/--end read as analyze and replay: the segment cut, then its own motion
    left out and said (before, the whole recording's motion was left out and said in every
    segment's read_as, also of a segment without motion)."""
    from typer.testing import CliRunner

    from api.cli import app
    from api.research.segments import Segment

    _, motion = ppg_pair(tmp_path)
    opts = ["--format", "ppg_csv", "--sampling-rate", str(FS), "--quiet"]
    runner = CliRunner()
    for start, end in (("0", "100"), ("180", "240")):
        segment = Segment(label="segment", start_s=float(start), end_s=float(end))
        a = analyze_file(
            motion,
            AnalysisOptions(format="ppg_csv", sampling_rate_hz=float(FS), segment=segment),
        )
        assert a.summary is not None
        read_as = a.summary["read_as"]
        out = tmp_path / f"ppg-{start}.html"
        args = ["report", str(motion), "--out", str(out), *opts, "--start", start, "--end", end]
        report = runner.invoke(app, args)
        assert report.exit_code == 0, report.output
        html = out.read_text(encoding="utf-8")
        if start == "0":
            assert "left out" not in read_as and "left out" not in html
        else:
            note = read_as.split("; ")[-1]
            assert note.endswith("s of signal below detector quality 0.85 left out")
            assert note in html


def test_a_segment_wholly_in_motion_says_no_beats_left_in_replay_as_in_analyze(
    tmp_path: Path,
) -> None:
    """replay said "the recording has no beats" of it (it has beats: all below the floor)."""
    import json

    from typer.testing import CliRunner

    from api.cli import app
    from api.research.analysis import NO_BEATS_LEFT_SEGMENT as NO_BEATS_LEFT
    from api.research.segments import Segment

    _, motion = ppg_pair(tmp_path)
    segment = Segment(label="segment", start_s=203.0, end_s=217.0)
    a = analyze_file(
        motion, AnalysisOptions(format="ppg_csv", sampling_rate_hz=float(FS), segment=segment)
    )
    assert a.error == NO_BEATS_LEFT
    opts = ["--format", "ppg_csv", "--sampling-rate", str(FS), "--start", "203", "--end", "217"]
    replay = CliRunner().invoke(app, ["replay", str(motion), *opts, "--json", "--speed", "max"])
    assert replay.exit_code == 1
    assert f"hrvpace replay: {motion}: {NO_BEATS_LEFT}" in replay.output
    end = json.loads(replay.stdout.strip().splitlines()[-1])
    assert end["type"] == "replay_end" and NO_BEATS_LEFT in end["message"]


def test_report_goes_on_past_a_segment_with_no_beats_left(tmp_path: Path) -> None:
    """Review: report --segments stopped at the first segment with no beats left (its later
    segments were never written); analyze reports that segment's failure and goes on. report
    now names the segment, writes the others and exits 1."""
    from typer.testing import CliRunner

    from api.cli import app
    from api.research.analysis import NO_BEATS_LEFT_SEGMENT

    _, motion = ppg_pair(tmp_path)
    segments = tmp_path / "segments.csv"
    segments.write_text("label,start,end\nmoving,203,217\nbefore,0,100\nafter,240,300\n")
    out = tmp_path / "ppg.html"
    opts = ["--format", "ppg_csv", "--sampling-rate", str(FS), "--quiet"]
    args = ["report", str(motion), "--out", str(out), *opts, "--segments", str(segments)]
    report = CliRunner().invoke(app, args)
    assert report.exit_code == 1, report.output
    assert f"{motion}: segment moving: {NO_BEATS_LEFT_SEGMENT}" in report.stderr
    # review: analyze --segments names the segment as report does
    analyze = CliRunner().invoke(
        app, ["analyze", str(motion), *opts, "--segments", str(segments), "--json"]
    )
    assert analyze.exit_code == 1, analyze.output
    assert f"{motion}: segment moving: {NO_BEATS_LEFT_SEGMENT} (failed)" in analyze.stderr
    assert not (tmp_path / "ppg-moving.html").exists()
    for label in ("before", "after"):
        assert (tmp_path / f"ppg-{label}.html").is_file()
        assert str(tmp_path / f"ppg-{label}.html") in report.stdout
