"""The file readers on real files (issue 18: "real files for each format").

- ``tests/data/mitdb100x.edf``: 180 s of MIT-BIH Arrhythmia record 100, both leads, as EDF+;
  beats are checked against the cardiologists' labels (``tests/data/mitdb_100_beats.csv``).
- ``tests/data/fenix5_run_hrv.fit``: a Garmin fenix 5 running activity with ``hrv`` messages
  (python-fitparse's test file, positions blanked); the intervals are checked against a walk of
  the file's bytes written here from the FIT protocol, independent of Garmin's SDK the reader
  uses, and against the watch's own heart rate records.

No public Polar Sensor Logger PPI export or Apple Health ``export.xml`` with a licence allowing
redistribution was found (see tests/data/README.md), so those readers keep their synthetic
tests (test_polar_ppi.py, test_apple_health.py). Provenance, licences and SHA-256 of every
shipped file: tests/data/README.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from hrv import BeatLabel, clean
from sensors import Recording, RecordingFormatError, detect_recording_format, read_recording
from sensors.formats.signals import compare_beats

DATA = Path(__file__).resolve().parent.parent / "data"
EDF = DATA / "mitdb100x.edf"
FIT = DATA / "fenix5_run_hrv.fit"
FS = 360.0
EXCERPT_S = 180.0


def beat_times(rec: Recording) -> np.ndarray:
    """Every beat's time (s): the first beat, then the end of each RR interval."""
    return np.concatenate(([rec.start_s], rec.t_s))


def reference_beats_s() -> np.ndarray:
    """Beat times (s) of record 100's reference labels within the excerpt's 180 s."""
    with open(DATA / "mitdb_100_beats.csv") as f:
        samples = np.array([int(r["sample"]) for r in csv.DictReader(f)], dtype=float)
    return samples[samples < EXCERPT_S * FS] / FS


@pytest.mark.parametrize("name", ["mitdb100x.edf", "fenix5_run_hrv.fit"])
def test_shipped_files_are_the_ones_the_readme_describes(name: str) -> None:
    readme = (DATA / "README.md").read_text()
    section = readme.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    stated = re.search(r"SHA-256 of the shipped file\*\*: `([0-9a-f]{64})`", section)
    assert stated is not None, f"README gives no SHA-256 for {name}"
    assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == stated.group(1)


# ---------------------------------------------------------------------------------------------
# EDF
# ---------------------------------------------------------------------------------------------


def test_edf_excerpt_holds_the_millivolts_of_the_wfdb_excerpt() -> None:
    import warnings

    import pyedflib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # wfdb's own pandas deprecations
        import wfdb

        wfdb_mlii = wfdb.rdrecord(str(DATA / "mitdb100x")).p_signal[:, 0]
    reader = pyedflib.EdfReader(str(EDF))
    try:
        assert reader.getSignalLabels() == ["ECG MLII", "ECG V5"]
        assert list(reader.getSampleFrequencies()) == [FS, FS]
        edf_mlii = reader.readSignal(0)
    finally:
        reader.close()
    np.testing.assert_allclose(edf_mlii, wfdb_mlii, atol=1e-9)


def test_edf_with_two_ecg_leads_asks_which_channel() -> None:
    with pytest.raises(RecordingFormatError, match=r"choose the channel.*2 ECG/PPG-named"):
        read_recording(EDF, format="edf")
    by_index = read_recording(EDF, format="edf", channel=1)
    by_name = read_recording(EDF, format="edf", channel="ECG V5")
    assert by_index.meta["channel"] == by_name.meta["channel"] == "ECG V5"
    np.testing.assert_array_equal(by_index.t_s, by_name.t_s)


@pytest.mark.parametrize("channel", ["ECG MLII", "ECG V5"])
def test_edf_beats_match_the_cardiologists_labels(channel: str) -> None:
    rec = read_recording(EDF, format="edf", channel=channel)
    assert rec.source_format == "edf" and rec.meta["sampling_rate_hz"] == FS
    assert rec.meta["beats_from"] == "detected: NeuroKit2 ecg_peaks (neurokit)"
    result = compare_beats(reference_beats_s(), beat_times(rec), tolerance_s=0.075)
    assert result.sensitivity >= 0.995 and result.positive_predictivity >= 0.995
    assert result.rr_error_ms_rms < 5.0 and abs(result.rr_error_ms_mean) < 1.0
    hr = 60_000.0 / rec.rr_ms
    assert 65 < np.median(hr) < 85 and hr.min() > 40 and hr.max() < 130  # record 100: ~75/min
    assert rec.quality is not None and rec.quality.shape == rec.rr_ms.shape
    finite = rec.quality[np.isfinite(rec.quality)]
    assert ((finite >= 0) & (finite <= 1)).all() and np.median(finite) > 0.5


def test_edf_gives_the_beats_the_wfdb_reader_detects_on_the_same_lead() -> None:
    from_edf = read_recording(EDF, format="edf", channel="ECG MLII")
    from_wfdb = read_recording(DATA / "mitdb100x", format="wfdb", beats="detect")
    np.testing.assert_allclose(beat_times(from_edf), beat_times(from_wfdb), atol=1.5 / FS)


# ---------------------------------------------------------------------------------------------
# FIT
# ---------------------------------------------------------------------------------------------


def hrv_intervals_from_bytes(data: bytes) -> tuple[list[float], int]:
    """Intervals (s) of global message 78 (``hrv``), field 0, and the number of such messages.

    A walk of the FIT protocol (header, definition and data messages, compressed timestamp
    headers, developer fields) written for this test, so the reader's result has a witness
    that does not share Garmin's SDK with it.
    """
    header_size = data[0]
    data_size = struct.unpack_from("<I", data, 4)[0]
    body = data[header_size : header_size + data_size]
    defs: dict[int, tuple[int, str, list[tuple[int, int]], int]] = {}
    intervals: list[float] = []
    n_messages = 0
    pos = 0
    while pos < len(body):
        head = body[pos]
        if head & 0x80:
            local, is_def, has_dev = (head >> 5) & 0x03, False, False
        else:
            local, is_def, has_dev = head & 0x0F, bool(head & 0x40), bool(head & 0x20)
        if is_def:
            arch = "<" if body[pos + 2] == 0 else ">"
            glob = struct.unpack_from(arch + "H", body, pos + 3)[0]
            n = body[pos + 5]
            fields = [(body[pos + 6 + 3 * i], body[pos + 7 + 3 * i]) for i in range(n)]
            pos += 6 + 3 * n
            dev = 0
            if has_dev:
                dev = sum(body[pos + 3 + 3 * i] for i in range(body[pos]))
                pos += 1 + 3 * body[pos]
            defs[local] = (glob, arch, fields, dev)
            continue
        glob, arch, fields, dev = defs[local]
        offset = pos + 1
        for num, size in fields:
            if glob == 78 and num == 0:
                values = struct.unpack_from(f"{arch}{size // 2}H", body, offset)
                intervals += [v / 1000.0 for v in values if v != 0xFFFF]
            offset += size
        n_messages += glob == 78
        pos = offset + dev
    return intervals, n_messages


def test_fit_intervals_are_the_bytes_of_the_hrv_messages() -> None:
    assert detect_recording_format(FIT) == "fit"
    rec = read_recording(FIT)
    expected, n_messages = hrv_intervals_from_bytes(FIT.read_bytes())
    assert len(expected) == 113 and n_messages == 71
    assert rec.source_format == "fit" and len(rec) == len(expected)
    np.testing.assert_allclose(rec.rr_ms, np.array(expected) * 1000.0)
    np.testing.assert_allclose(rec.t_s, np.cumsum(expected))
    assert rec.meta["n_hrv_messages"] == n_messages
    assert rec.meta["device"] == "garmin fenix5"
    assert rec.meta["start_time"] == "2017-06-11T14:34:09+00:00"
    assert not rec.gaps.any()


def test_fit_intervals_follow_the_watchs_own_heart_rate() -> None:
    from garmin_fit_sdk import Decoder, Stream

    messages, errors = Decoder(Stream.from_file(str(FIT))).read()
    assert errors == []
    records = messages["record_mesgs"]
    assert all("position_lat" not in r and "position_long" not in r for r in records)
    watch_hr = np.array([r["heart_rate"] for r in records], dtype=float)
    rr_ms = read_recording(FIT).rr_ms
    # a warm-up run: from about 60/min standing to about 111/min running
    start_hr = np.median(60_000.0 / rr_ms[:8])
    end_hr = np.median(60_000.0 / rr_ms[-30:])
    assert abs(start_hr - watch_hr[:3].mean()) < 8
    assert abs(end_hr - watch_hr[-3:].mean()) < 8


def test_clean_labels_the_missed_beats_of_the_real_run() -> None:
    rr_ms = read_recording(FIT).rr_ms
    # intervals about twice their neighbours' median: a beat the watch did not see
    doubled = [
        k
        for k in range(5, len(rr_ms) - 5)
        if 1.8 < rr_ms[k] / np.median(np.r_[rr_ms[k - 5 : k], rr_ms[k + 1 : k + 6]]) < 2.2
    ]
    assert len(doubled) >= 8
    labels = clean(rr_ms).labels
    assert all(labels[k] != BeatLabel.NORMAL for k in doubled)
    # once running (from interval 30 on, about 100/min), each is labelled a missed beat
    assert all(labels[k] == BeatLabel.MISSED for k in doubled if k >= 30)
    assert np.mean(labels == BeatLabel.NORMAL) > 0.75


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------


def test_analyze_reads_both_real_files_on_the_command_line() -> None:
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, ["analyze", str(FIT), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (fit,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert fit["format"] == "fit" and fit["read_as"] == "fit (the file's header)"
    assert fit["n_beats"] == 113 and fit["cleaned"] and fit["n_artefacts"] > 0
    assert 90 < fit["mean_hr_bpm"] < 115  # mostly running at about 100-112/min

    args = ["analyze", str(EDF), "--format", "edf", "--channel", "ECG V5", "--json"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (edf,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert edf["format"] == "edf" and 215 <= edf["n_beats"] <= 225
    assert 70 < edf["mean_hr_bpm"] < 80
