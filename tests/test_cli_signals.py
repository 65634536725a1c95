"""ECG/PPG signal recordings on the command line: ``--format``, ``--sampling-rate``, ``--channel``
for ``analyze``, ``replay`` and ``report``.

Real data: the 3-minute excerpt of MIT-BIH Arrhythmia record 100 the project ships
(tests/data/mitdb100x.*, lead MLII, 360 Hz, with its reference annotations; provenance and
licence in tests/data/README.md), as a WFDB record and written out as a one-column ECG CSV.
Everything runs for real: the readers, NeuroKit2's R-peak detection, the analysis, the live
pipeline of ``replay`` and the report's plots.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli import app
from sensors import read_recording

DATA = Path(__file__).resolve().parent / "data"
HEADER = DATA / "mitdb100x.hea"
FS = 360.0

runner = CliRunner()


def said(text: str) -> str:
    """An error panel's text on one line (the panel wraps and frames long messages)."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def ecg_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The excerpt's MLII signal as a CSV: a time column and the ECG (mV), 360 Hz."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # wfdb's own pandas deprecations
        import wfdb

        signal = np.asarray(wfdb.rdrecord(str(DATA / "mitdb100x")).p_signal[:, 0], dtype=float)
    path = tmp_path_factory.mktemp("signals") / "holter.csv"
    path.write_text(
        "time_s,ECG\n" + "\n".join(f"{i / FS:.5f},{v:.3f}" for i, v in enumerate(signal)) + "\n"
    )
    return path


@pytest.fixture(scope="module")
def ecg_csv_n_beats(ecg_csv: Path) -> int:
    """The beats ``read_recording`` detects in :func:`ecg_csv` (read once: a detection of the
    3 minutes at 360 Hz costs seconds), what ``analyze`` and ``replay`` must count."""
    return read_recording(ecg_csv, format="ecg_csv", sampling_rate_hz=FS, channel="ECG").n_beats


def test_help_says_which_formats_need_the_signal_options() -> None:
    for command in ("analyze", "replay", "report"):
        out = said(runner.invoke(app, [command, "--help"], terminal_width=200).stdout)
        assert "--sampling-rate" in out and "--channel" in out, command
        assert "ecg_csv or ppg_csv signal: required there" in out, command
        assert "wfdb or edf channel name" in out, command


def test_analyze_reads_an_ecg_csv_at_the_rate_given_and_picks_the_column(
    ecg_csv: Path, ecg_csv_n_beats: int
) -> None:
    result = runner.invoke(
        app,
        [
            "analyze",
            str(ecg_csv),
            "--format",
            "ecg_csv",
            "--sampling-rate",
            "360",
            "--channel",
            "ECG",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    [summary] = records(result.stdout)
    assert summary["format"] == "ecg_csv" and summary["n_beats"] == ecg_csv_n_beats
    # the same heart as the record's reference labels: 222 intervals of ~807 ms
    assert abs(summary["n_beats"] - 222) <= 2
    assert summary["mean_rr_ms"] == pytest.approx(807.0, abs=3.0)
    # the column by its 0-based index gives the same beats
    by_index = runner.invoke(
        app,
        [
            "analyze",
            str(ecg_csv),
            "--format",
            "ecg_csv",
            "--sampling-rate",
            "360",
            "--channel",
            "1",
            "--json",
        ],
    )
    assert records(by_index.stdout)[0]["rmssd_ms"] == summary["rmssd_ms"]


def test_analyze_reads_a_wfdb_record_with_a_channel_by_name_or_index() -> None:
    by_name = runner.invoke(app, ["analyze", str(HEADER), "--format", "wfdb", "--channel", "MLII"])
    assert by_name.exit_code == 0, by_name.output
    assert "[wfdb (--format); channel 'MLII' at 360 Hz; beats: reference annotations" in (
        by_name.stdout
    )
    assert "n_beats=222" in by_name.stdout
    by_index = runner.invoke(app, ["analyze", str(HEADER), "--format", "wfdb", "--channel", "0"])
    assert by_index.stdout == by_name.stdout


def test_missing_or_wrong_signal_options_are_clear_errors(ecg_csv: Path) -> None:
    # ecg_csv without its rate: refused before anything is read, naming the option and file
    no_rate = runner.invoke(app, ["analyze", str(ecg_csv), "--format", "ecg_csv"])
    assert no_rate.exit_code == 2
    text = said(no_rate.stderr)
    assert "Invalid value for --sampling-rate" in text and "--format ecg_csv needs" in text
    assert ecg_csv.name in text
    # the options with an RR format, or with none named (signals are never detected)
    for args, wanted in (
        (["--sampling-rate", "360"], "which are never detected: name one with --format"),
        (["--format", "plain", "--channel", "ECG"], "not to --format plain"),
        (["--format", "ecg_csv", "--sampling-rate", "-5"], "must be a number of Hz > 0"),
        (["--format", "ecg", "--sampling-rate", "360"], "unknown format 'ecg'"),
    ):
        bad = runner.invoke(app, ["analyze", str(ecg_csv), *args])
        assert bad.exit_code == 2, args
        assert wanted in said(bad.stderr), (args, said(bad.stderr))
    # a column or channel that is not there, a rate that makes no heart: the file's failure,
    # the reader's reason with the file and the option
    for args, wanted in (
        (
            ["--format", "ecg_csv", "--sampling-rate", "360", "--channel", "II"],
            "no column named 'II'; columns: 'time_s, ECG'",
        ),
        (
            ["--format", "ecg_csv", "--sampling-rate", "36", "--channel", "ECG"],
            "is the sampling rate right?",
        ),
        (["--format", "ecg_csv", "--sampling-rate", "360"], "expected one signal column"),
    ):
        failed = runner.invoke(app, ["analyze", str(ecg_csv), *args])
        assert failed.exit_code == 1, args
        text = said(failed.stderr)
        assert wanted in text and str(ecg_csv) in text, (args, text)
        assert ("--channel" in text) or ("--sampling-rate" in text)
    wrong_channel = runner.invoke(
        app, ["analyze", str(HEADER), "--format", "wfdb", "--channel", "V5"]
    )
    assert wrong_channel.exit_code == 1
    text = said(wrong_channel.stderr)
    assert "no signal named 'V5'; signals: 'MLII'" in text and "--channel" in text
    assert str(HEADER) in text
    wrong_rate = runner.invoke(
        app, ["analyze", str(HEADER), "--format", "wfdb", "--sampling-rate", "250"]
    )
    assert wrong_rate.exit_code == 1
    assert "the header says 360 Hz, not 250 Hz" in said(wrong_rate.stderr)


def test_replay_plays_the_beats_detected_in_an_ecg_csv(ecg_csv: Path, ecg_csv_n_beats: int) -> None:
    result = runner.invoke(
        app,
        [
            "replay",
            str(ecg_csv),
            "--format",
            "ecg_csv",
            "--sampling-rate",
            "360",
            "--channel",
            "ECG",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    events = records(result.stdout)
    end = events[-1]
    assert end["type"] == "replay_end" and end["state"] == "ended"
    assert end["n_beats"] == ecg_csv_n_beats
    # 3 minutes of beats: 60-s windows every 5 s from the first minute on
    assert sum(e["type"] == "metrics" for e in events) >= 20
    no_rate = runner.invoke(app, ["replay", str(ecg_csv), "--format", "ecg_csv", "--json"])
    assert no_rate.exit_code == 2 and "--sampling-rate" in said(no_rate.stderr)
    wrong = runner.invoke(
        app, ["replay", str(HEADER), "--format", "wfdb", "--channel", "V5", "--json"]
    )
    assert wrong.exit_code == 1 and "no signal named 'V5'" in said(wrong.stderr)


def test_report_of_a_wfdb_record_and_of_an_ecg_csv(ecg_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "ecg.html"
    result = runner.invoke(
        app,
        [
            "report",
            str(ecg_csv),
            "--out",
            str(out),
            "--format",
            "ecg_csv",
            "--sampling-rate",
            "360",
            "--channel",
            "ECG",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "ecg_csv" in html and "<img" in html
    missing = runner.invoke(
        app, ["report", str(ecg_csv), "--out", str(out), "--format", "ppg_csv", "--quiet"]
    )
    assert missing.exit_code == 2 and "--format ppg_csv needs" in said(missing.stderr)
    wrong = runner.invoke(
        app,
        [
            "report",
            str(HEADER),
            "--out",
            str(tmp_path / "w.html"),
            "--format",
            "wfdb",
            "--channel",
            "7",
            "--quiet",
        ],
    )
    assert wrong.exit_code == 1
    assert "signal index 7 is out of range" in said(wrong.stderr)
    assert "--channel" in said(wrong.stderr)


def test_outputs_say_where_the_beats_came_from_and_beats_from_forces_detection(
    ecg_csv: Path,
) -> None:
    """Review finding: a signal's results did not say which channel was read or whether its
    beats were detected (which detector) or a WFDB record's reference annotations, the help
    claimed signals were always analysed from detected beats, and forcing detection was
    Python-only (beats="detect"). read_as (text, --json, --summary; replay_end) says it now,
    and --beats-from chooses."""
    auto = records(
        runner.invoke(app, ["analyze", str(HEADER), "--format", "wfdb", "--json"]).stdout
    )
    assert auto[0]["read_as"] == (
        "wfdb (--format); channel 'MLII' at 360 Hz; beats: reference annotations mitdb100x.atr "
        "(not detected)"
    )
    detect = runner.invoke(
        app, ["analyze", str(HEADER), "--format", "wfdb", "--beats-from", "detect", "--json"]
    )
    assert detect.exit_code == 0, detect.output
    [row] = records(detect.stdout)
    assert row["read_as"] == (
        "wfdb (--format); channel 'MLII' at 360 Hz; beats: detected: NeuroKit2 ecg_peaks (neurokit)"
    )
    assert row["settings"]["beats_from"] == "detect"
    assert abs(row["n_beats"] - 222) <= 2
    csv = runner.invoke(
        app,
        [
            "analyze",
            str(ecg_csv),
            "--format",
            "ecg_csv",
            "--sampling-rate",
            "360",
            "--channel",
            "ECG",
            "--json",
        ],
    )
    assert records(csv.stdout)[0]["read_as"].endswith(
        "; channel 'ECG' at 360 Hz; beats: detected: NeuroKit2 ecg_peaks (neurokit)"
    )
    played = runner.invoke(
        app, ["replay", str(HEADER), "--format", "wfdb", "--json", "--speed", "max"]
    )
    assert played.exit_code == 0, played.output
    assert records(played.stdout)[-1]["read_as"] == auto[0]["read_as"]
    # only a WFDB record has annotations to choose from
    other = runner.invoke(
        app,
        [
            "analyze",
            str(ecg_csv),
            "--format",
            "ecg_csv",
            "--sampling-rate",
            "360",
            "--beats-from",
            "detect",
        ],
    )
    assert other.exit_code == 2 and "--format wfdb only" in said(other.output)
    for command in ("analyze", "replay", "report"):
        out = said(runner.invoke(app, [command, "--help"], terminal_width=200).stdout)
        assert "from their detected beats" not in out and "as its detected beats" not in out
        assert "reference annotations" in out and "--beats-from" in out, command
