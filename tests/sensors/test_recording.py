"""Reading recordings (every format, real files and fixtures), broken files, the writer."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrv import LABEL_NAMES, clean
from sensors import (
    RECORDING_FORMATS,
    Beat,
    Recording,
    RecordingFormatError,
    RecordingWriter,
    detect_recording_format,
    read_recording,
)
from sensors.formats._common import MAX_RECORDING_BYTES
from sensors.formats.gaps import LiveGapRule, infer_gaps, timeline_with_gaps
from sensors.formats.text import RR_COLUMN_NAMES, heart_rate_like
from sensors.recording import CONTACT_NO, CONTACT_UNKNOWN, CONTACT_YES
from tests.conftest import load_rr_ms

FIXTURES = Path(__file__).parent / "fixtures"

#: The RR values the fixtures were written from (tests/sensors/fixtures, hand-made).
FIXTURE_RR = [812, 798, 805, 830, 851, 844, 820, 801, 795, 788, 802, 826, 848, 861, 850]
FIXTURE_RR += [829, 811, 803, 797, 809, 824, 843, 856, 849, 831, 815, 806, 799, 808, 821]


# --------------------------------------------------------------------------- real recordings

# (file, format, units, beats as in ../shared/data/README.md, detected format, hours)
REAL = [
    ("nsr2db_nsr001_rr_secs.txt", "physionet_rr_secs", None, 106_459, "plain", 22.5),
    ("nsr2db_nsr002_rr_secs.txt", "physionet_rr_secs", None, 111_333, "plain", 23.3),
    ("chf2db_chf201_rr_secs.txt", "physionet_rr_secs", None, 112_183, "plain", 23.0),
    ("rrhealthy_000_rr_ms.txt", None, None, 80_441, "plain", 21.1),
    ("rrhealthy_007_rr_ms.txt", "plain", "ms", 57_333, "plain", 12.0),
    ("ghrv_chapter6_rr.txt", "plain", "s", 15_456, "plain", 3.9),
    ("ghrv_beat_ascii.txt", "ghrv_beats", None, 7_181, "plain", 1.33),
    ("hrvpkg_exercise_rri.hrm", None, None, 4_117, "polar_hrm", 0.71),
    ("hrvpkg_noisy_rri.hrm", "polar_hrm", None, 3_581, "polar_hrm", 0.67),
    ("hrvpkg_rest_rri_ms.txt", None, None, 910, "plain", 16 / 60),
    ("hrvpkg_08012805_rri_ms.txt", None, None, 2_380, "plain", 21 / 60),
    # README says "200 s", but 1000 NN with the published mean 718.248 ms last 718 s
    ("hrvanalysis_test_nn_intervals_ms.txt", None, None, 1_000, "plain", 718.248 / 3600),
]


@pytest.mark.parametrize(("name", "fmt", "units", "n", "detected", "hours"), REAL)
def test_real_recordings_have_the_readme_beat_counts(
    shared_data: Path,
    name: str,
    fmt: str | None,
    units: str | None,
    n: int,
    detected: str,
    hours: float,
) -> None:
    path = shared_data / name
    assert detect_recording_format(path) == detected
    rec = read_recording(path, format=fmt, units=units)
    assert len(rec) == rec.n_beats == n
    assert rec.source_format == (fmt or detected)
    assert rec.rr_ms.dtype == np.float64 and rec.t_s.shape == (n,)
    assert not rec.gaps.any()
    assert (rec.contact == CONTACT_UNKNOWN).all() and rec.contact_at(0) is None
    assert rec.duration_s / 3600 == pytest.approx(hours, rel=0.03)
    # t_s follows the timeline contract: start + running sum of RR
    np.testing.assert_allclose(rec.t_s - rec.start_s, np.cumsum(rec.rr_ms) / 1000, atol=1e-9)
    assert not rec.rr_ms.flags.writeable


def test_physionet_values_match_an_independent_parse(shared_data: Path) -> None:
    path = shared_data / "nsr2db_nsr001_rr_secs.txt"
    rec = read_recording(path, format="physionet_rr_secs")
    expected = load_rr_ms(path, units="s", skip_first_line=True)
    np.testing.assert_allclose(rec.rr_ms, expected, rtol=0, atol=1e-6)
    # 1/128 s grid values are exact in binary: no rounding at all
    assert rec.rr_ms[0] == 695.3125
    assert rec.start_s == 225.796875 == rec.meta["first_beat_s"]
    assert rec.t_s[0] == pytest.approx(225.796875 + 0.6953125)
    assert float(np.median(rec.rr_ms)) == pytest.approx(711, abs=1)
    assert float(rec.rr_ms.max()) == pytest.approx(7480, abs=5)


def test_hrv_analysis_fixture_reads_to_its_published_values(shared_data: Path) -> None:
    # expected values of Aura-healthcare/hrv-analysis tests/test_extract_features_methods.py
    rec = read_recording(shared_data / "hrvanalysis_test_nn_intervals_ms.txt")
    assert float(np.mean(rec.rr_ms)) == pytest.approx(718.248, abs=1e-9)
    assert float(np.std(rec.rr_ms, ddof=1)) == pytest.approx(43.11307, abs=1e-4)
    rmssd = float(np.sqrt(np.mean(np.diff(rec.rr_ms) ** 2)))
    assert rmssd == pytest.approx(19.51940, abs=1e-4)


def test_plain_seconds_are_converted_without_float_noise(shared_data: Path) -> None:
    rec = read_recording(shared_data / "ghrv_chapter6_rr.txt", units="s")
    expected = load_rr_ms(shared_data / "ghrv_chapter6_rr.txt", units="s")
    np.testing.assert_allclose(rec.rr_ms, expected, atol=1e-6)
    assert rec.rr_ms[0] == 350.0
    assert float(np.median(rec.rr_ms)) == 890.0


def test_ghrv_beat_times_become_differences(shared_data: Path) -> None:
    path = shared_data / "ghrv_beat_ascii.txt"
    rec = read_recording(path, format="ghrv_beats")
    times = np.array(path.read_text().split(), dtype=float)
    np.testing.assert_allclose(rec.rr_ms, np.diff(times) * 1000, atol=1e-6)
    assert rec.rr_ms[0] == 684.0  # 1.036 - 0.352, no float noise
    assert rec.start_s == 0.352 and rec.t_s[0] == 1.036
    np.testing.assert_array_equal(rec.t_s, times[1:])
    assert float(np.median(rec.rr_ms)) == 668.0


def _beats_with_pause(shared_data: Path, tmp_path: Path, pause_s: float) -> tuple[Path, list[str]]:
    """A copy of gHRV's beat times with ``pause_s`` added to every time from beat 3000 on (a
    signal loss: electrodes off), written as the file writes its times."""
    lines = (shared_data / "ghrv_beat_ascii.txt").read_text().splitlines()
    out = lines[:2999] + [f"{float(x) + pause_s:9.3f}" for x in lines[2999:]]
    path = tmp_path / f"beats_pause_{pause_s:g}.txt"
    path.write_text("\n".join(out) + "\n")
    return path, out


def test_a_signal_loss_over_64_s_in_beat_times_is_a_gap(shared_data: Path, tmp_path: Path) -> None:
    """Review finding: 120 s added to every beat time from beat 3000 on (electrodes off for
    two minutes) was refused as ``:3001: RR interval '2104.064' is 120652 ms ... a corrupt
    value``. Beat times keep the timeline whatever is missing: the pause is left out and the
    beat after the next one follows a gap, the times all kept."""
    path, lines = _beats_with_pause(shared_data, tmp_path, 120.0)
    times = np.array(lines, dtype=float)
    rec = read_recording(path, format="ghrv_beats")
    assert rec.n_beats == len(times) - 2  # 7182 times: 7181 steps, one of them the pause
    (gap,) = np.flatnonzero(rec.gaps)
    # the pause runs from beat 2999 to beat 3000 (0-based 2998, 2999); beat 3001 follows a gap
    assert rec.t_s[gap - 1] == times[2998] and rec.t_s[gap] == times[3000]
    assert rec.rr_ms[gap] == pytest.approx((times[3000] - times[2999]) * 1000, abs=1e-6)
    np.testing.assert_array_equal(rec.t_s, np.delete(times[1:], 2998))
    assert float(rec.rr_ms.max()) < 2000.0 and rec.meta["n_gaps"] == 1
    assert rec.duration_s == pytest.approx(times[-1] - times[0])  # the pause is recording time
    # a 60-s pause stays an interval (hrv.clean's to label), and so does the unmodified file
    short = read_recording(_beats_with_pause(shared_data, tmp_path, 60.0)[0], format="ghrv_beats")
    assert short.n_beats == len(times) - 1 and not short.gaps.any()
    assert short.meta["n_gaps"] == 0
    assert rec.meta["signal_loss_lines"] == (3000,)  # the line of the beat ending the loss
    # times in ms (every step far beyond any RR) stay refused, as before
    ms = tmp_path / "ms.txt"
    ms.write_text("".join(f"{1000 * (1 + 0.8 * i):.0f}\n" for i in range(200)))
    with pytest.raises(RecordingFormatError, match="corrupt value"):
        read_recording(ms, format="ghrv_beats")


@pytest.mark.parametrize(
    ("edit", "line", "says"),
    [
        ((-1, "48004.72"), -1, "the last beat time '48004.72' is 43"),  # 4800.472 mistyped
        ((0, "-5000"), 1, "the first beat time '-5000' is 50"),
        ((0, "-70"), 1, "from the next beat"),  # a lone first beat a little over 64 s away
    ],
)
def test_a_lone_beat_at_either_end_over_64_s_away_is_refused_naming_its_line(
    shared_data: Path, tmp_path: Path, edit: tuple[int, str], line: int, says: str
) -> None:
    """Review finding: a corrupt first or last beat time more than 64 s from the rest was a
    signal loss at the first or last step, left out without a word. It gives no RR interval
    and is far more likely a typo: refused, naming its line (a real one may be deleted)."""
    lines = (shared_data / "ghrv_beat_ascii.txt").read_text().splitlines()
    lines[edit[0]] = edit[1]
    path = tmp_path / "beats.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path, format="ghrv_beats")
    assert info.value.line == (len(lines) if line == -1 else line)
    assert says in info.value.problem and "delete the line" in info.value.problem


def test_beat_times_read_as_plain_are_refused(shared_data: Path) -> None:
    # cumulative beat times read as RR intervals would give nonsense numbers: refuse, name the
    # file and the format to use; the units argument does not change that (units are not guessed)
    path = shared_data / "ghrv_beat_ascii.txt"
    for units in (None, "ms", "s"):
        with pytest.raises(RecordingFormatError, match="looks like beat times") as info:
            read_recording(path, units=units)
        assert "ghrv_beat_ascii.txt" in str(info.value) and info.value.path is not None
        assert "--format ghrv_beats" in str(info.value)


@pytest.mark.parametrize(
    ("n", "dip", "refused"),
    [(99, None, False), (100, None, True), (400, None, True), (400, 250, False)],
)
def test_plain_refuses_only_a_long_strictly_increasing_series(
    tmp_path: Path, n: int, dip: int | None, refused: bool
) -> None:
    values = [600.0 + i for i in range(n)]
    if dip is not None:
        values[dip] = values[dip - 1]  # one non-increase: RR intervals, read as they are
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(repr(v) for v in values) + "\n")
    if refused:
        with pytest.raises(RecordingFormatError, match="beat times"):
            read_recording(path)
    else:
        assert read_recording(path).rr_ms.tolist() == values


def _ecg_like(n: int = 3900, fs: float = 130.0) -> np.ndarray:
    """A headerless ECG in µV: noise around 0 with an R spike each 0.8 s (as a Polar H10's)."""
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 40.0, n)
    x[:: int(0.8 * fs)] += 1200.0
    return np.round(x)


def _ppg_like(n: int = 3840, fs: float = 64.0) -> np.ndarray:
    """A raw PPG in ADC counts: a 1.1-Hz pulse with a harmonic on a 30000 offset, all > 0.

    Counts within 250 - 2500 (plausible RR intervals in ms) are refused by the waveform-shape
    rule instead (tests/sensors/test_plain_not_rr.py)."""
    t = np.arange(n) / fs
    pulse = 3000 * np.sin(2 * np.pi * 1.1 * t) + 800 * np.sin(4 * np.pi * 1.1 * t)
    return np.round(30000 + pulse)


@pytest.mark.parametrize(
    ("make", "why"), [(_ecg_like, "% of them are negative"), (_ppg_like, "smoothly")]
)
@pytest.mark.parametrize("units", [None, "ms", "s"])
def test_a_headerless_signal_read_as_plain_is_refused(
    tmp_path: Path, make: object, why: str, units: str | None
) -> None:
    """Review finding: a raw ECG (or PPG) without a header, given without --format, was read
    as 39,000 RR intervals and analysed (exit 0). Refused as the beat-times check refuses,
    pointing to the signal formats and --sampling-rate; the units do not change that."""
    assert callable(make)
    path = tmp_path / "x.txt"
    path.write_text("\n".join(f"{v:g}" for v in make()) + "\n")
    with pytest.raises(RecordingFormatError, match="sampled signal") as info:
        read_recording(path, units=units)
    assert why in info.value.problem
    assert "--format ecg_csv --sampling-rate HZ" in info.value.problem
    assert "--format ppg_csv" in info.value.problem


def test_beat_times_with_a_repeated_time_point_to_ghrv_beats(
    shared_data: Path, tmp_path: Path
) -> None:
    """Code review: cumulative beat times with one repeated timestamp (so not strictly
    increasing) were refused as a sampled signal pointing to --format ecg_csv; values that
    rise as beat times do point to --format ghrv_beats, which names the repeated line."""
    rr = load_rr_ms(shared_data / "rrhealthy_007_rr_ms.txt", units="ms")[:2000]
    t = np.cumsum(rr) / 1000
    t[500] = t[499]
    path = tmp_path / "beats.txt"
    path.write_text("\n".join(f"{v:.3f}" for v in t) + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert "--format ghrv_beats" in info.value.problem
    assert "ecg_csv" not in info.value.problem
    with pytest.raises(RecordingFormatError) as named:
        read_recording(path, format="ghrv_beats")
    assert named.value.line == 501


def test_hrvpace_own_ecg_file_read_as_plain_points_to_ecg_csv(tmp_path: Path) -> None:
    """Review finding: hrvpace's own FILE.ecg.csv (header ecg_uV) was refused listing only RR
    column names; the message now says it is an ECG and how to read it."""
    path = tmp_path / "rec.ecg.csv"
    path.write_text("ecg_uV\n" + "\n".join(f"{v:g}" for v in _ecg_like()) + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert "ECG signal column" in info.value.problem and info.value.line == 1
    assert "--format ecg_csv --sampling-rate" in info.value.problem and "130" in info.value.problem
    ppg = tmp_path / "finger.csv"
    ppg.write_text("Pleth\n" + "\n".join(f"{v:g}" for v in _ppg_like()) + "\n")
    with pytest.raises(RecordingFormatError, match="--format ppg_csv"):
        read_recording(ppg)


@pytest.mark.parametrize(
    ("name", "units"),
    [
        ("rrhealthy_000_rr_ms.txt", "ms"),
        ("hrvanalysis_test_nn_intervals_ms.txt", "ms"),
        ("hrvpkg_08012805_rri_ms.txt", "ms"),
        ("ghrv_chapter6_rr.txt", "s"),
    ],
)
def test_real_rr_files_are_not_taken_for_signals(shared_data: Path, name: str, units: str) -> None:
    # the signal check must leave every real RR file alone (long, trending, quantised ones)
    assert len(read_recording(shared_data / name, units=units)) >= 1000


def _paced_rr_ms() -> np.ndarray:
    """A simulated RR series paced at 6 breaths/min at 80 bpm, little noise (1579 beats)."""
    from sensors.simulator import SimulatedPerson

    person = SimulatedPerson(
        seed=1,
        mean_hr_bpm=80,
        resonance_bpm=6.0,
        rsa_gain_bpm=25,
        jitter_ms=5.0,
        ectopic_rate=0,
        missed_beat_rate=0,
        breathing=lambda t: t * 6.0 / 60.0,
    )
    rr = [b.rr_ms for b in person.beats(20 * 60) if getattr(b, "rr_ms", None)]
    return np.round(np.asarray(rr, dtype=float))


def test_rr_series_as_smooth_as_a_signal_are_read(shared_data: Path, tmp_path: Path) -> None:
    """Code review: the smoothness test refused real RR intervals (gHRV chapter 6's first 1000
    in s: ratio 4.0 on its coarse grid; an nsr002 slice: 4.0; paced breathing at 6/min and
    80 bpm: 3.6). Plausible RR values are never taken for a signal; seconds read as ms still
    get the units check's --units s, not 'a sampled signal'."""
    chapter6 = tmp_path / "chapter6_first1000.txt"
    lines = (shared_data / "ghrv_chapter6_rr.txt").read_text().splitlines()[:1000]
    chapter6.write_text("\n".join(lines) + "\n")
    assert len(read_recording(chapter6, units="s")) == 1000
    with pytest.raises(RecordingFormatError, match="--units s") as info:
        read_recording(chapter6)
    assert "sampled signal" not in str(info.value)
    nsr = (shared_data / "nsr2db_nsr002_rr_secs.txt").read_text().splitlines()[74501:75501]
    secs = tmp_path / "nsr002_slice.txt"
    secs.write_text("\n".join(nsr) + "\n")
    assert len(read_recording(secs, units="s")) == 1000
    ms = tmp_path / "nsr002_slice_ms.txt"
    ms.write_text("\n".join(f"{1000 * float(v):g}" for v in nsr) + "\n")
    assert len(read_recording(ms)) == 1000
    paced = _paced_rr_ms()
    assert len(paced) >= 1000
    path = tmp_path / "paced.txt"
    path.write_text("\n".join(f"{v:g}" for v in paced) + "\n")
    assert read_recording(path).rr_ms.tolist() == paced.tolist()


def test_a_header_naming_the_rr_column_is_never_taken_for_a_signal(
    shared_data: Path, tmp_path: Path
) -> None:
    """Code review: a file whose header names its RR column was still refused as a sampled
    signal (6 % zeros, a device's missing beats): the header says what the column is."""
    rr = load_rr_ms(shared_data / "rrhealthy_007_rr_ms.txt", units="ms")[:2000].copy()
    rr[np.random.default_rng(0).choice(rr.shape[0], 120, replace=False)] = 0.0
    path = tmp_path / "zeros_hdr.csv"
    path.write_text("rr_ms\n" + "\n".join(f"{v:g}" for v in rr) + "\n")
    rec = read_recording(path)
    assert rec.rr_ms.tolist() == rr.tolist()
    assert LABEL_NAMES[int(clean(rec.rr_ms).labels[int(np.argmax(rr == 0))])] != "normal"


@pytest.mark.parametrize("marker", [0.0, -1.0])
def test_zeros_and_negative_markers_are_read_and_labelled(
    shared_data: Path, tmp_path: Path, marker: float
) -> None:
    """Code review: a headerless RR file with 6 % zeros (a device's missing beats) or -1
    markers was refused as a sampled signal; zeros are the --drop-zero case and hrv.clean
    labels both."""
    rr = load_rr_ms(shared_data / "rrhealthy_007_rr_ms.txt", units="ms")[:2000].copy()
    rr[np.random.default_rng(0).choice(rr.shape[0], 120, replace=False)] = marker
    path = tmp_path / "marked.txt"
    path.write_text("\n".join(f"{v:g}" for v in rr) + "\n")
    rec = read_recording(path)
    assert rec.rr_ms.tolist() == rr.tolist()
    labels = clean(rec.rr_ms).labels
    assert all(LABEL_NAMES[int(x)] != "normal" for x in labels[rr == marker])
    if marker == 0.0:
        assert len(read_recording(path, drop_zero=True)) == 2000 - 120


def test_polar_hrm_reads_rr_mode_and_its_params(shared_data: Path) -> None:
    rec = read_recording(shared_data / "hrvpkg_exercise_rri.hrm")
    assert rec.rr_ms[0] == 1589.0 and rec.rr_ms[-1] == 557.0
    assert rec.meta["start_time"] == "2008-02-08T08:50:31.0"
    assert rec.meta["device"] == "Polar HRM (Monitor=13)"
    assert rec.meta["params"]["Interval"] == "238"
    # the RR intervals add up to the Length the header states (00:42:41.7)
    assert rec.duration_s == pytest.approx(rec.meta["length_s"], abs=1.0)


def test_a_zero_is_read_and_labelled_not_a_reason_to_refuse_the_file(shared_data: Path) -> None:
    # the README's ready-made artefact: a 0 ms value, the last of 772 (issue 12 item 2)
    rec = read_recording(shared_data / "hrvpkg_real_rri_ms.txt")
    assert len(rec) == 772 and rec.rr_ms[-1] == 0.0
    cleaned = clean(rec.rr_ms)
    assert LABEL_NAMES[int(cleaned.labels[-1])] != "normal"
    assert (cleaned.rr_ms > 0).all()
    # a value over any RR's limit still names its line
    bad = tmp_copy_with(shared_data / "hrvpkg_rest_rri_ms.txt", line=10, text="1e12")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(bad)
    assert info.value.line == 10 and "corrupt value" in str(info.value)


def tmp_copy_with(src: Path, *, line: int, text: str) -> Path:
    lines = src.read_text().splitlines()
    lines[line - 1] = text
    out = Path(tempfile.mkdtemp()) / src.name
    out.write_text("\n".join(lines) + "\n")
    return out


def test_units_are_never_guessed(shared_data: Path) -> None:
    # a file in seconds read without units is refused, not rescaled: the error names the flag
    with pytest.raises(RecordingFormatError, match="look like seconds") as info:
        read_recording(shared_data / "ghrv_chapter6_rr.txt")
    assert "--units s" in str(info.value) and "ghrv_chapter6_rr.txt" in str(info.value)
    rec = read_recording(shared_data / "ghrv_chapter6_rr.txt", units="s")
    assert rec.source_format == "plain" and rec.meta["units"] == "s"
    assert rec.rr_ms[0] == 350.0
    # PhysioNet files do not describe themselves: without format= they are plain numbers, in
    # ms by default, so the seconds are refused with the format to use
    with pytest.raises(RecordingFormatError, match="physionet_rr_secs"):
        read_recording(shared_data / "nsr2db_nsr001_rr_secs.txt")
    # and milliseconds read as seconds are refused the other way round
    with pytest.raises(RecordingFormatError, match="look like milliseconds"):
        read_recording(shared_data / "hrvpkg_rest_rri_ms.txt", units="s")


# --------------------------------------------------------------------------- third-party fixtures


def test_polar_sensor_logger_fixture_finds_the_lost_notification() -> None:
    rec = read_recording(FIXTURES / "polar_sensor_logger_RR.txt")
    assert rec.source_format == "polar_sensor_logger"
    kept = FIXTURE_RR[:14] + FIXTURE_RR[16:]  # the fixture lost beats 14 and 15
    np.testing.assert_array_equal(rec.rr_ms, kept)
    assert np.flatnonzero(rec.gaps).tolist() == [14]
    # the missing time (850 + 829 ms) is put back into the timeline, give or take the latency
    true_t = np.cumsum(FIXTURE_RR) / 1000
    true_t = np.concatenate([true_t[:14], true_t[16:]])
    np.testing.assert_allclose(rec.t_s[:14], true_t[:14])
    assert np.abs(rec.t_s[14:] - true_t[14:]).max() < 0.5
    assert rec.arrived_at is not None
    # phone time 2026-06-01T21:17:08.845 (no zone in the file, read as UTC)
    assert rec.arrived_at[0] == pytest.approx(1780348628.845)
    assert rec.meta["start_time"] == "2026-06-01T21:17:08.845000"
    assert "none in the file" in rec.meta["timezone"]


@pytest.mark.parametrize(
    ("name", "n"), [("hrv_logger_RR.csv", 12), ("hrv_logger_epoch_RR.csv", 10)]
)
def test_hrv_logger_both_header_spellings(name: str, n: int) -> None:
    path = FIXTURES / name
    assert detect_recording_format(path) == "hrv_logger"
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.rr_ms, FIXTURE_RR[:n])
    assert not rec.gaps.any()
    assert rec.arrived_at is not None and np.all(np.diff(rec.arrived_at) >= 0)


def test_hrv_logger_epoch_milliseconds_are_unix_time() -> None:
    rec = read_recording(FIXTURES / "hrv_logger_epoch_RR.csv")
    assert rec.arrived_at is not None
    assert rec.arrived_at[0] == pytest.approx(1675889368.255)
    assert rec.meta["timezone"] == "UTC (epoch ms)"
    assert rec.meta["start_time"] == "2023-02-08T20:49:28.255000+00:00"


def test_polar_sensor_logger_with_a_zone_is_true_utc(tmp_path: Path) -> None:
    path = tmp_path / "tz_RR.txt"
    path.write_text(
        "Phone timestamp;RR-interval [ms]\n"
        "2026-06-01T21:17:07.832+02:00;800\n2026-06-01T21:17:08.632+02:00;800\n"
    )
    rec = read_recording(path)
    assert rec.arrived_at is not None
    assert rec.arrived_at.tolist() == pytest.approx([1780341427.832, 1780341428.632])
    assert rec.meta["start_time"] == "2026-06-01T19:17:07.832000+00:00"
    assert rec.meta["timezone"] == "from the file"


def test_polar_sensor_logger_hr_layout_reads_rr_by_name_and_skips_rows_without_rr(
    tmp_path: Path,
) -> None:
    """The app's layout with sensor time and HR before the RR (one row per RR, the
    notification's HR repeated; a notification without RR leaves the RR field empty)."""
    path = tmp_path / "Polar_H10_HR.txt"
    path.write_text(
        "Phone timestamp;sensor timestamp [ns];HR [bpm];RR-interval [ms]\n"
        "2026-06-01T21:17:07.832;0;62;950\n"
        "2026-06-01T21:17:08.801;0;62;969\n"
        "2026-06-01T21:17:09.810;0;61;\n"
        "2026-06-01T21:17:10.290;0;61\n"
        "2026-06-01T21:17:10.775;0;61;1004\n"
    )
    assert detect_recording_format(path) == "polar_sensor_logger"
    rec = read_recording(path)
    assert rec.rr_ms.tolist() == [950.0, 969.0, 1004.0]  # never the 0 ns or the bpm column
    assert rec.meta["rows_without_rr"] == 2


def test_polar_sensor_logger_row_without_a_phone_time_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad_RR.txt"
    path.write_text("Phone timestamp;RR-interval [ms]\n2026-06-01T21:17:07.832;800\n;810\n")
    with pytest.raises(RecordingFormatError, match="missing phone timestamp") as info:
        read_recording(path)
    assert ":3" in str(info.value) or "line 3" in str(info.value)


@pytest.mark.parametrize("name", ["2017-06-05 07-27-59.txt", "elite_hrv_commas.txt"])
def test_elite_hrv_one_per_line_or_commas(name: str) -> None:
    path = FIXTURES / name
    assert detect_recording_format(path) == "plain"  # no header: must be named
    rec = read_recording(path, format="elite_hrv")
    np.testing.assert_array_equal(rec.rr_ms, FIXTURE_RR[:15])
    if name.startswith("2017"):
        assert rec.meta["start_time"] == "2017-06-05T07:27:59"


def test_small_polar_hrm_fixture() -> None:
    rec = read_recording(FIXTURES / "polar_rr_mode.hrm")
    np.testing.assert_array_equal(rec.rr_ms, FIXTURE_RR[:20])


def test_hrvpace_fixture_keeps_contact_gaps_and_device_hr() -> None:
    rec = read_recording(FIXTURES / "hrvpace_v1.csv")
    assert rec.source_format == "hrvpace" and rec.start_s == 0.0
    assert rec.rr_ms.tolist() == [812.5, 808.59375, 808.59375, 820.3125, 800.78125, 804.6875]
    assert rec.t_s[4] == 5.75
    assert rec.contact.tolist() == [CONTACT_YES] * 3 + [CONTACT_NO, CONTACT_UNKNOWN, CONTACT_YES]
    assert [rec.contact_at(i) for i in (0, 3, 4)] == [True, False, None]
    assert rec.gaps.tolist() == [False, False, False, False, True, False]
    assert rec.heart_rate_bpm is not None
    assert math.isnan(rec.heart_rate_bpm[3]) and rec.heart_rate_bpm[4] == 76.5
    assert rec.meta["device"] == "Polar H10 1A2B3C4D"


def test_hrvpace_file_cut_by_a_crash_keeps_every_whole_line() -> None:
    rec = read_recording(FIXTURES / "hrvpace_crash_cut.csv")
    assert len(rec) == 6 and rec.meta["truncated_last_line"] is True


# --------------------------------------------------------------------------- broken files

BROKEN = [
    ("broken_letter_line7.txt", None, 7, "'8l2' is not a number"),
    ("broken_empty.txt", None, None, "empty"),
    ("broken_truncated.hrm", None, 23, "truncated Polar HRM"),
    ("broken_no_hrdata.hrm", None, 9, "no [HRData] section"),
    ("broken_hr_mode.hrm", None, 1, "not in R-R mode"),
    ("broken_psl_missing_column.txt", None, 6, "missing column"),
    ("broken_psl_bad_time.txt", None, 4, "'yesterday' is not a date-time"),
    ("broken_hrvpace_v99.csv", None, 1, "unsupported hrvpace recording version"),
    ("broken_ghrv_not_increasing.txt", "ghrv_beats", 4, "must strictly increase"),
    ("broken_empty.txt", "physionet_rr_secs", None, "empty"),
]


@pytest.mark.parametrize(("name", "fmt", "line", "problem"), BROKEN)
def test_broken_files_name_path_line_and_problem(
    name: str, fmt: str | None, line: int | None, problem: str
) -> None:
    path = FIXTURES / name
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path, format=fmt)
    err = info.value
    assert err.line == line
    assert err.path == str(path)
    assert problem in str(err)
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(err).startswith(where)
    assert isinstance(err, ValueError)


def test_physionet_file_needs_rr_after_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "x_rr_secs.txt"
    path.write_text("225.797\n")
    with pytest.raises(RecordingFormatError, match="no RR intervals") as info:
        read_recording(path, format="physionet_rr_secs")
    assert info.value.line == 1


def test_nan_and_inf_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rr.txt"
    path.write_text("800\n810\nnan\n")
    with pytest.raises(RecordingFormatError, match="not a finite number") as info:
        read_recording(path)
    assert info.value.line == 3


def test_missing_file_unknown_format_and_wrong_units(tmp_path: Path) -> None:
    with pytest.raises(RecordingFormatError, match="cannot read"):
        read_recording(tmp_path / "nope.txt")
    good = FIXTURES / "polar_rr_mode.hrm"
    with pytest.raises(RecordingFormatError, match="unknown recording format 'kubios'"):
        read_recording(good, format="kubios")
    with pytest.raises(RecordingFormatError, match="does not apply"):
        read_recording(good, units="s")
    with pytest.raises(RecordingFormatError, match="units must be"):
        read_recording(good, units="us")
    assert read_recording(good, units="ms").n_beats == 20


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rr.bin"
    path.write_bytes(b"800\n810\n\xff\xfe\x00\n")
    with pytest.raises(RecordingFormatError, match="not a text file") as info:
        read_recording(path)
    assert info.value.line == 3


def test_every_format_name_is_readable() -> None:
    assert set(RECORDING_FORMATS) == {
        "plain",
        "physionet_rr_secs",
        "ghrv_beats",
        "polar_hrm",
        "polar_sensor_logger",
        "polar_sensor_logger_ppi",
        "hrv_logger",
        "elite_hrv",
        "hrvpace",
        "hrvpace_export",
        "apple_health",
        "fit",
    }


# --------------------------------------------------------------------------- the writer


def _beats(seed: int, n: int) -> list[Beat]:
    rng = np.random.default_rng(seed)
    rr = rng.uniform(300, 2000, n)  # full float64 precision, nothing round
    t = np.cumsum(rr) / 1000 + rng.uniform(0, 1)
    contact = [None, True, False]
    return [
        Beat(
            t_s=float(t[i]),
            rr_ms=float(rr[i]),
            arrived_at=1_763_892_900.0 + float(t[i]) + float(rng.uniform(0, 0.9)),
            contact=contact[i % 3],
            gap_before=bool(i % 7 == 3),
            heart_rate_bpm=None if i % 5 == 0 else float(rng.uniform(40, 180)),
        )
        for i in range(n)
    ]


def _assert_same(rec: Recording, beats: list[Beat]) -> None:
    assert len(rec) == len(beats)
    np.testing.assert_array_equal(rec.rr_ms, [b.rr_ms for b in beats])  # exact, not rounded
    np.testing.assert_array_equal(rec.t_s, [b.t_s for b in beats])
    assert rec.arrived_at is not None and rec.heart_rate_bpm is not None
    np.testing.assert_array_equal(rec.arrived_at, [b.arrived_at for b in beats])
    assert [rec.contact_at(i) for i in range(len(rec))] == [b.contact for b in beats]
    assert rec.gaps.tolist() == [b.gap_before for b in beats]
    hr = [None if math.isnan(h) else h for h in rec.heart_rate_bpm.tolist()]
    assert hr == [b.heart_rate_bpm for b in beats]


def test_writer_round_trip_is_exact(tmp_path: Path) -> None:
    beats = _beats(1, 500)
    path = tmp_path / "session.csv"
    meta = {"device": "Polar H10 1A2B3C4D", "start_time": "2026-11-23T10:15:00+00:00"}
    with RecordingWriter(path, meta=meta) as writer:
        for beat in beats:
            writer.write(beat)
        assert writer.n_written == 500
    assert writer.closed
    assert detect_recording_format(path) == "hrvpace"
    rec = read_recording(path)
    _assert_same(rec, beats)
    assert rec.meta["device"] == "Polar H10 1A2B3C4D"
    assert rec.meta["truncated_last_line"] is False
    assert path.read_text().startswith("# hrvpace-recording v2\n# meta {")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            # the reader's bounds: RR up to 64 s, times within 8 days (MAX_RR_MS, MAX_DURATION_S)
            st.floats(min_value=1e-3, max_value=64_000, allow_nan=False),
            st.floats(min_value=-5e4, max_value=6e5, allow_nan=False, allow_infinity=False),
            st.sampled_from([None, True, False]),
            st.booleans(),
            st.one_of(st.none(), st.floats(min_value=0, max_value=400)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_writer_round_trip_any_floats(
    rows: list[tuple[float, float, bool | None, bool, float | None]],
) -> None:
    beats = [
        Beat(t_s=t, rr_ms=rr, arrived_at=t + 1e9, contact=c, gap_before=g, heart_rate_bpm=hr)
        for rr, t, c, g, hr in rows
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        with RecordingWriter(path) as writer:
            for beat in beats:
                writer.write(beat)
        rec = read_recording(path)
    np.testing.assert_array_equal(rec.rr_ms, [b.rr_ms for b in beats])
    np.testing.assert_array_equal(rec.t_s, [b.t_s for b in beats])
    assert [rec.contact_at(i) for i in range(len(rec))] == [b.contact for b in beats]
    # recorded gaps are kept (the reader may add inferred ones, never drop one)
    assert all(rec.gaps[i] for i, b in enumerate(beats) if b.gap_before)


def test_writer_flushes_each_beat_so_a_crash_loses_nothing(tmp_path: Path) -> None:
    beats = _beats(2, 30)
    path = tmp_path / "live.csv"
    writer = RecordingWriter(path, meta={"device": "x"})
    for k, beat in enumerate(beats, start=1):
        writer.write(beat)
        # another reader sees every beat written so far, before close (as after a crash)
        assert read_recording(path).n_beats == k
    _assert_same(read_recording(path), beats)
    writer.close()
    writer.close()  # twice is fine


def test_writer_refuses_to_overwrite_and_bad_beats(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    with RecordingWriter(path) as writer:
        writer.write(Beat(t_s=0.8, rr_ms=800.0, arrived_at=1.0))
        for bad in (
            Beat(t_s=1.6, rr_ms=0.0, arrived_at=2.0),
            Beat(t_s=1.6, rr_ms=float("nan"), arrived_at=2.0),
            Beat(t_s=float("inf"), rr_ms=800.0, arrived_at=2.0),
        ):
            with pytest.raises(RecordingFormatError, match="beat 2"):
                writer.write(bad)
    with pytest.raises(RecordingFormatError, match="cannot create"):
        RecordingWriter(path)
    with RecordingWriter(path, overwrite=True, fsync=True) as writer:
        writer.write(Beat(t_s=0.9, rr_ms=900.0, arrived_at=1.0))
    assert read_recording(path).rr_ms.tolist() == [900.0]
    with pytest.raises(RecordingFormatError, match="closed"):
        writer.write(Beat(t_s=1.8, rr_ms=900.0, arrived_at=2.0))


def test_hrvpace_gaps_are_also_inferred_from_stream_time(tmp_path: Path) -> None:
    # a source that did not flag its gap: 3 beats (2.4 s) missing between beats 19 and 20
    rr = np.full(40, 800.0)
    t = np.cumsum(rr) / 1000
    t[20:] += 2.4
    path = tmp_path / "unflagged.csv"
    with RecordingWriter(path) as writer:
        for i in range(40):
            writer.write(Beat(t_s=float(t[i]), rr_ms=800.0, arrived_at=100 + float(t[i])))
    rec = read_recording(path)
    assert np.flatnonzero(rec.gaps).tolist() == [20]
    np.testing.assert_array_equal(rec.t_s, t)  # t_s stays as recorded


# --------------------------------------------------------------------------- the gap rule


def test_gap_rule_is_exact_on_back_dated_timestamps() -> None:
    rng = np.random.default_rng(5)
    rr_all = rng.uniform(600, 1100, 400)
    beat_t = np.cumsum(rr_all) / 1000
    lost = {50, 51, 200, 333}
    keep = np.array([i not in lost for i in range(400)])
    gaps, missing = infer_gaps(rr_all[keep], beat_t[keep] + 1.7e9)
    idx = np.flatnonzero(keep)
    expected = np.flatnonzero(np.diff(idx) > 1) + 1
    assert np.flatnonzero(gaps).tolist() == expected.tolist()
    np.testing.assert_allclose(
        missing[expected],
        np.array([rr_all[50] + rr_all[51], rr_all[200], rr_all[333]]) / 1000,
        atol=1e-6,  # Unix-time float64 resolution near 1.7e9 s is ~2e-7 s
    )


def test_gap_rule_ignores_batched_and_late_notifications() -> None:
    rng = np.random.default_rng(6)
    rr = rng.uniform(700, 900, 600)
    beat_t = np.cumsum(rr) / 1000
    send = np.ceil(beat_t)  # one notification a second, carrying every beat since the last
    late = rng.random(send.size) < 0.03
    arrival = send + np.where(late, rng.uniform(0.5, 2.0, send.size), 0.0)
    arrival = np.maximum.accumulate(arrival)  # notifications arrive in order
    gaps, _ = infer_gaps(rr, arrival)
    assert not gaps.any()
    # a 5 s dropout (notifications at t = 300..304 s lost) is found at the first beat after it
    keep = (send < 300) | (send > 304)
    gaps, missing = infer_gaps(rr[keep], arrival[keep])
    first_after = int(np.argmax(send[keep] > 304))
    assert np.flatnonzero(gaps).tolist() == [first_after]
    lost_s = rr[~keep].sum() / 1000
    assert missing[first_after] == pytest.approx(lost_s, abs=1.0)  # within the latency spread


@pytest.mark.parametrize("beats_from_step", [-4, 4])
def test_a_gap_close_to_a_daylight_saving_step_is_its_own_length(beats_from_step: int) -> None:
    """rev13 review (finding 2, a side effect of the rev12 fix): a 2-s loss 4 beats before or
    after the local clock's spring-forward step was read as 3602 or 3604 s missing (the hour
    counted with it); it is the 2 s alone, and the step no gap."""
    rr = np.full(240, 1000.0)
    t0 = dt.datetime(2026, 3, 29, 1, 58, tzinfo=dt.UTC).timestamp()  # naive local, as UTC
    clock = t0 + np.cumsum(rr) / 1000.0
    clock[120:] += 3600.0  # 01:59:59 -> 03:00:00 (Europe)
    clock[120 + beats_from_step :] += 2.0  # 2 s of beats lost
    gaps, missing = infer_gaps(rr, clock, local_clock=True)
    assert np.flatnonzero(gaps).tolist() == [120 + beats_from_step]
    assert missing.sum() == pytest.approx(2.0, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_the_live_gap_rule_marks_every_gap_infer_gaps_finds(seed: int) -> None:
    # A live strap marks beats one at a time (LiveGapRule); the replay of its recording keeps
    # those marks and adds what infer_gaps finds. The live marks must include the inferred
    # ones, or live and replayed HRV take different successive differences (review finding 2).
    # Beats back-dated from notifications once a second, some late, with dropouts of 1-4 s.
    rng = np.random.default_rng(seed)
    rr = rng.uniform(600, 1100, 3000)
    send = np.ceil(np.cumsum(rr) / 1000)
    packets, which = np.unique(send, return_inverse=True)
    late = np.where(rng.random(packets.size) < 0.03, rng.uniform(0.5, 2.0, packets.size), 0.0)
    arrival = np.maximum.accumulate(packets + late + rng.uniform(0, 0.05, packets.size))
    # back-date within each packet: a beat ends before its packet's arrival by the later RR
    t = np.empty(rr.size)
    for k in range(packets.size):
        idx = np.flatnonzero(which == k)
        t[idx] = arrival[k] - (rr[idx].sum() - np.cumsum(rr[idx])) / 1000
    lost = np.zeros(rr.size, dtype=bool)
    for start in rng.choice(rr.size - 20, 8, replace=False):
        lost[start : start + int(rng.integers(1, 5))] = True
    rr_kept, t_kept = rr[~lost], t[~lost]
    inferred, _ = infer_gaps(rr_kept, t_kept)
    rule = LiveGapRule()
    live = np.array(
        [rule.follows_gap(float(a), float(b)) for a, b in zip(t_kept, rr_kept, strict=True)]
    )
    assert inferred.any()
    assert not (inferred & ~live).any()
    # its price: late notifications marked live, a few per hundred beats at 3 % late ones
    assert live.sum() < 0.05 * rr_kept.size


def test_gap_rule_tolerates_a_late_tail_and_a_short_series() -> None:
    rr = np.full(20, 800.0)
    t = np.cumsum(rr) / 1000
    t[-1] += 3.0  # the last notification is very late: cannot be told from a loss, not a gap
    gaps, _ = infer_gaps(rr, t)
    assert not gaps.any()
    assert infer_gaps(rr[:1], t[:1])[0].tolist() == [False]


@pytest.mark.parametrize(
    ("name", "fmt", "line"),
    [("broken_zero_line3.txt", None, 3), ("broken_negative_line5.txt", "elite_hrv", 5)],
)
def test_zero_and_negative_values_are_read_for_clean_to_label(
    name: str, fmt: str | None, line: int
) -> None:
    """No RR can be 0 or negative, but one such value does not refuse a recording: it is read
    as it is and hrv.clean labels it (issue 12 item 2)."""
    rec = read_recording(FIXTURES / name, format=fmt)
    assert rec.rr_ms[line - 1 - (1 if fmt == "elite_hrv" else 0)] <= 0 or (rec.rr_ms <= 0).any()
    labels = clean(rec.rr_ms).labels
    assert LABEL_NAMES[int(labels[int(np.argmax(rec.rr_ms <= 0))])] != "normal"


def test_hrvpace_keeps_a_stretch_without_skin_contact(tmp_path: Path) -> None:
    # review finding 3: a strap without skin contact sends no beats, so no beat line can keep
    # the stretch; '# contact' lines do, and a v1 file (without them) still reads
    path = tmp_path / "contact.csv"
    with RecordingWriter(path) as writer:
        writer.write(Beat(t_s=1.0, rr_ms=1000.0, arrived_at=101.0, contact=True))
        writer.write_contact(1.5, False)
        writer.write_contact(21.25, True)
        writer.write(Beat(t_s=22.0, rr_ms=1000.0, arrived_at=122.0, contact=True, gap_before=True))
    rec = read_recording(path)
    assert rec.meta["contact_changes"] == [[1.5, False], [21.25, True]]
    assert rec.meta["format_version"] == 2
    assert rec.rr_ms.tolist() == [1000.0, 1000.0] and rec.gaps.tolist() == [False, True]
    v1 = tmp_path / "v1.csv"
    v1.write_text(path.read_text().replace("v2", "v1", 1).replace("# contact", "#contact"))
    with pytest.raises(RecordingFormatError, match="missing column") as info:
        read_recording(v1)  # no contact lines in a v1 file
    assert info.value.line == 5
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text().replace('"contact": false', '"contact": "no"'))
    with pytest.raises(RecordingFormatError, match="a contact line needs") as info:
        read_recording(bad)
    assert info.value.line == 5


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("0.8,800.0,1.0,1,0", "missing column"),
        ("0.8,800.0,1.0,1,0,60,7", "extra column"),
        ("0.8,800.0,1.0,yes,0,60", "contact 'yes' must be 1, 0 or empty"),
        ("0.8,800.0,1.0,1,2,60", "gap_before '2' must be 1 or 0"),
        ("0.8,800.0,1.0,1,0,fast", "heart rate 'fast' is not a number"),
    ],
)
def test_broken_hrvpace_rows_name_the_line(tmp_path: Path, row: str, problem: str) -> None:
    path = tmp_path / "bad.csv"
    head = "# hrvpace-recording v1\n# meta {}\n" + ",".join(
        ("t_s", "rr_ms", "arrived_at_unix_s", "contact", "gap_before", "heart_rate_bpm")
    )
    path.write_text(f"{head}\n0.7,700.0,0.9,1,0,60\n{row}\n")
    with pytest.raises(RecordingFormatError, match=problem) as info:
        read_recording(path)
    assert info.value.line == 5


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=100.0, max_value=10_000.0), min_size=1, max_size=40),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.sampled_from(["\n", "\r\n"]),
)
def test_plain_reader_keeps_every_value_exactly(
    values: list[float], blanks: list[bool], newline: str
) -> None:
    # blank lines anywhere are skipped; CRLF or LF; values come back bit for bit (ms)
    # (values within the units check: a median of 100 ms - 10 s)
    lines: list[str] = []
    for v, blank in zip(values, blanks, strict=False):
        if blank:
            lines.append("  ")
        lines.append(f" {v!r} ")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rr.txt"
        path.write_bytes(newline.join(lines).encode())
        if heart_rate_like(np.asarray(values)) is not None:  # all within 100-230: no RR
            with pytest.raises(
                RecordingFormatError, match=r"like (a heart rate|heart rates) in bpm"
            ):
                read_recording(path)
            return
        rec = read_recording(path)
    assert rec.rr_ms.tolist() == values


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=5, max_value=60),
    st.data(),
    st.sampled_from(["abc", "8O0", "1,2", "--5", "inf", "1e12", "1e308", "64001", "9" * 400]),
)
def test_the_error_names_the_broken_line(n: int, data: st.DataObject, bad: str) -> None:
    k = data.draw(st.integers(min_value=1, max_value=n), label="broken line")
    lines = ["800" if i != k else bad for i in range(1, n + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rr.txt"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(RecordingFormatError) as info:
            read_recording(path)
    assert info.value.line == k
    assert repr(bad)[:150] in str(info.value)
    assert len(str(info.value)) < 200 + 250  # never more than 200 characters of the file


def test_impossible_values_and_oversized_files_are_refused_naming_where(tmp_path: Path) -> None:
    # a corrupt value no RR can have: refused with its line, not handed to the analysis
    path = tmp_path / "rr.txt"
    path.write_text("800\n810\n1e12\n790\n")
    with pytest.raises(RecordingFormatError, match="corrupt value") as info:
        read_recording(path)
    assert info.value.line == 3
    # one corrupt value of two is still that value, not a units problem (review: the median of
    # 800 and 1e12 is over the limit, and the file was refused as in the wrong units)
    path.write_text("800\n1e12\n")
    with pytest.raises(RecordingFormatError, match="corrupt value") as info:
        read_recording(path)
    assert info.value.line == 2
    # most values beyond the limit: the units are wrong, and the error says which flag reads it
    path.write_text("800\n810\n790\n")
    with pytest.raises(RecordingFormatError, match="units"):
        read_recording(path, units="s")
    # a file over the size limit is refused before being read whole (a sparse file: no disk)
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(MAX_RECORDING_BYTES + 1)
    with pytest.raises(RecordingFormatError, match="larger than 64 MiB"):
        read_recording(big)
    # an hrvpace recording whose time jumps years ahead: refused at that line
    rec = tmp_path / "r.csv"
    with RecordingWriter(rec) as writer:
        for i in range(3):
            t = 0.8 * (i + 1) if i != 1 else 1e12
            writer.write(Beat(t_s=t, rr_ms=800.0, arrived_at=1e9 + t, contact=True))
    with pytest.raises(RecordingFormatError, match="corrupt time") as info:
        read_recording(rec)
    assert info.value.line is not None and "1000000000000.0" in str(info.value)


def test_a_corrupt_beat_time_names_its_line(tmp_path: Path) -> None:
    """bench.faults found a gHRV beat-times file with 1e308 as its last time refused as
    'spans 1e+303 days' without its line."""
    path = tmp_path / "beats.txt"
    path.write_text("0.8\n1.6\n2.4\n3.2\n1e308\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path, format="ghrv_beats")
    assert info.value.line == 5 and "corrupt value" in str(info.value)


NEGATIVE_AND_ZEROS = [800.0] * 200 + [-60000.0] + [800.0] * 200 + [0.0] * 5 + [800.0] * 100


@pytest.mark.parametrize("fmt", [None, "elite_hrv"])
def test_a_negative_or_zero_value_adds_no_time(tmp_path: Path, fmt: str | None) -> None:
    """Review finding: a -60000 ms value moved the clock back a minute (the recording lasted
    340 s for 400 s of beats). A value of 0 or below is an artefact that adds no time: it sits
    at the time of the beat before it and every valid beat keeps its time."""
    path = tmp_path / "neg.txt"
    path.write_text("".join(f"{v:g}\n" for v in NEGATIVE_AND_ZEROS))
    rec = read_recording(path, format=fmt)
    assert len(rec) == 506 and rec.rr_ms.tolist() == NEGATIVE_AND_ZEROS  # read as it is
    assert rec.duration_s == pytest.approx(400.0, abs=1e-9)
    assert (np.diff(rec.t_s) >= 0).all()
    valid = rec.rr_ms > 0
    np.testing.assert_allclose(rec.t_s[valid], np.cumsum(rec.rr_ms[valid]) / 1000.0)
    assert rec.t_s[200] == rec.t_s[199] and (rec.t_s[401:406] == rec.t_s[400]).all()
    labels = clean(rec.rr_ms).labels  # hrv.clean labels the artefacts, as before
    assert all(LABEL_NAMES[int(labels[i])] != "normal" for i in (200, 401, 402, 403, 404, 405))


def test_physionet_seconds_with_a_negative_value_keep_their_clock(tmp_path: Path) -> None:
    path = tmp_path / "x_rr_secs.txt"
    path.write_text("5.0\n" + "".join(f"{v / 1000:g}\n" for v in NEGATIVE_AND_ZEROS))
    rec = read_recording(path, format="physionet_rr_secs")
    assert rec.start_s == 5.0 and rec.t_s[-1] == pytest.approx(405.0, abs=1e-9)
    assert (np.diff(rec.t_s) >= 0).all()


def test_timed_formats_see_no_gap_at_a_negative_value() -> None:
    """Clock-timed files (Sensor Logger, HRV Logger): beat times that run on through a negative
    value are no lost time (the offset rule uses the same no-time sum), and the timeline never
    steps back."""
    rr = np.array(NEGATIVE_AND_ZEROS)
    clock = 1_000.0 + np.cumsum(np.maximum(rr, 0.0)) / 1000.0
    gaps, missing = infer_gaps(rr, clock)
    assert not gaps.any() and not missing.any()
    t = timeline_with_gaps(rr, missing)
    np.testing.assert_allclose(t, clock - 1_000.0)


# --------------------------------------------------------------------------- plain with a header

RR_40 = [800.0 + 40.0 * math.sin(i / 2.0) for i in range(40)]


def _rows(header: str, row: str) -> str:
    """A file of ``RR_40`` in ms with a header line, each row made by ``row.format(ms=..)``."""
    return header + "\n" + "".join(row.format(ms=v, s=v / 1000.0) + "\n" for v in RR_40)


@pytest.mark.parametrize(
    ("text", "units"),
    [
        (_rows("rr_ms", "{ms!r}"), "ms"),
        (_rows("RR", "{ms!r}"), "ms"),
        (_rows("time_s,rr_ms,hr_bpm,flag", "0.5,{ms!r},75.2,0"), "ms"),
        (_rows("RR (s)", "{s!r}"), "s"),
        (_rows("Time\tIBI [ms]", "1.0\t{ms!r}"), "ms"),
        (_rows('"t";"rr_interval"', "1;{ms!r}"), "ms"),
        (_rows("nn_s", "{s!r}"), "s"),
        ("# subject 1\n# rest, 5 min\n" + _rows("rri", "{ms!r}"), "ms"),
        ("# subject 1\n" + "".join(f"{v!r}\n" for v in RR_40), "ms"),
    ],
    ids=["rr_ms", "RR", "4-columns", "RR (s)", "tab IBI [ms]", "quoted ;", "nn_s", "# + rri", "#"],
)
def test_a_header_naming_the_rr_column_is_read(tmp_path: Path, text: str, units: str) -> None:
    """Review finding: files with a header row (``rr_ms``, ``time_s,rr_ms,...``, ``RR``) or a
    ``#`` comment were refused at line 1; the named column is read in the units its name
    states."""
    path = tmp_path / "rr.csv"
    path.write_text(text)
    rec = read_recording(path)
    assert rec.source_format == "plain" and rec.meta["units"] == units
    np.testing.assert_allclose(rec.rr_ms, RR_40, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("header", "row", "units"),
    [
        ("Time,R-R interval (ms)", "1.1,{ms!r}", "ms"),
        ("RR interval (ms)", "{ms!r}", "ms"),
        ("R-R (ms)", "{ms!r}", "ms"),
        ("RR-interval [ms]", "{ms!r}", "ms"),
        ("Inter-beat interval (s)", "{s!r}", "s"),
        ("r-r_intervals_s", "{s!r}", "s"),
        ("time,beat-to-beat interval (ms)", "1.1,{ms!r}", "ms"),
        ("Beat-to-beat interval", "{ms!r}", "ms"),
        ("Beat-to-beat intervals (s)", "{s!r}", "s"),
        ("beat_to_beat_intervals_ms", "{ms!r}", "ms"),
    ],
)
def test_common_rr_header_spellings_are_read(
    tmp_path: Path, header: str, row: str, units: str
) -> None:
    """Review finding: ``Time,R-R interval (ms)`` (a common export) was not taken for an RR
    column: in a folder the file was skipped as a table of something else, given by name it
    failed; ``R-R (ms)`` failed too. ``time,beat-to-beat interval (ms)`` too (and its
    ``Beat-to-beat intervals`` spellings) failed as a table without an RR column."""
    path = tmp_path / "rr.csv"
    path.write_text(_rows(header, row))
    rec = read_recording(path)
    stated = "header" if any(u in header for u in ("ms", "s)", "_s")) else "default"
    assert (rec.meta["units"], rec.meta["units_from"]) == (units, stated)
    np.testing.assert_allclose(rec.rr_ms, RR_40, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("header", "row", "column"),
    [
        ("Time,Interval,RR", "1.1,2,{ms!r}", "RR"),  # Interval: the lap
        ("subject,interval,rr_ms", "s01,baseline,{ms!r}", "rr_ms"),  # the study phase
        ("nn,intervals", "{ms!r},3", "nn"),
        ("rr_ms,interval_s", "{ms!r},0.004", "rr_ms"),  # the sampling interval
    ],
)
def test_a_bare_interval_column_beside_an_rr_column_is_not_one(
    tmp_path: Path, header: str, row: str, column: str
) -> None:
    """Review finding: a bare ``interval`` was taken for an RR column, so these tables (read
    before) were refused as naming two RR columns. A bare ``interval`` names a lap, a phase or
    a sampling interval as often: it is no RR name; the specific RR column is read."""
    path = tmp_path / "rr.csv"
    path.write_text(_rows(header, row))
    rec = read_recording(path)
    assert rec.meta["column"] == column
    np.testing.assert_allclose(rec.rr_ms, RR_40, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("header", "row", "columns"),
    [
        ("Time,interval", "1.1,{ms!r}", "Time, interval"),
        ("interval,start_s,end_s", "1,0,300", "interval, start_s, end_s"),
        ("Interval,Time,HR", "1,1.1,72", "Interval, Time, HR"),
    ],
)
def test_a_table_naming_only_a_bare_interval_fails_naming_its_columns(
    tmp_path: Path, header: str, row: str, columns: str
) -> None:
    """Review finding: ``interval,start_s,end_s`` (epochs) and ``Interval,Time,HR`` (laps)
    were analysed as RR intervals (exit 0). A bare ``interval`` is too ambiguous to read: the
    table fails, naming its columns and the RR names read."""
    path = tmp_path / "t.csv"
    path.write_text(_rows(header, row))
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == 1
    assert info.value.problem.startswith(f"a table without an RR column (columns: {columns}): ")
    assert "inter_beat_interval" in info.value.problem


@pytest.mark.parametrize(
    "header",
    ["Inter-beat intervals (ms)", "interbeat intervals", "IBIs", "RRs", "RRIs", "time,IBIs_ms"],
)
def test_plural_rr_names_are_read(tmp_path: Path, header: str) -> None:
    """Review finding: README said the names are read "and plurals", but these were not."""
    path = tmp_path / "rr.csv"
    row = "1.1,{ms!r}" if header.startswith("time,") else "{ms!r}"
    path.write_text(_rows(header, row))
    rec = read_recording(path)
    assert rec.meta["units"] == "ms"
    np.testing.assert_allclose(rec.rr_ms, RR_40, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("header", "row", "units"),
    [("rr_ms [ms]", "{ms!r}", "ms"), ("idx [index],RR_s (s)", "1,{s!r}", "s")],
)
def test_a_unit_in_the_name_and_in_brackets_is_read_when_they_agree(
    tmp_path: Path, header: str, row: str, units: str
) -> None:
    """Review finding: hrvpace's own export names its column ``rr_ms [ms]``, and was refused
    as a table without an RR column."""
    path = tmp_path / "rr.csv"
    path.write_text(_rows(header, row))
    rec = read_recording(path)
    assert (rec.meta["units"], rec.meta["units_from"]) == (units, "header")
    np.testing.assert_allclose(rec.rr_ms, RR_40, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("RR (us)", "its unit 'us' is not one read (ms or s)"),
        ("time,rr_ms [s]", "its name says ms and its brackets s"),
    ],
)
def test_an_rr_column_in_units_not_read_says_so(tmp_path: Path, header: str, says: str) -> None:
    """Review finding: ``RR (us)`` got "a table without an RR column ... name the RR column
    one of ...", asking to rename a column that is one. The error says what is wrong."""
    path = tmp_path / "rr.csv"
    path.write_text(_rows(header, "{ms!r}" if "," not in header else "1,{ms!r}"))
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == 1
    assert "is not read: " + says in info.value.problem
    assert "without an RR column" not in info.value.problem


def test_semicolon_columns_read_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "rr.csv"
    rows = "".join(f"{i},5;{v:.1f}".replace(".", ",") + "\n" for i, v in enumerate(RR_40))
    path.write_text("time;rr\n" + rows)
    rec = read_recording(path)
    np.testing.assert_allclose(rec.rr_ms, np.round(RR_40, 1), rtol=0, atol=1e-9)
    # a bad cell is quoted as the file writes it, with its line
    path.write_text("time;rr\n0,5;800,5\n1,5;8OO,5\n")
    with pytest.raises(RecordingFormatError, match="'8OO,5' is not a number") as info:
        read_recording(path)
    assert info.value.line == 3


def test_a_header_row_that_breaks_names_the_problem_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rr.csv"
    # the header's units and the units given disagree: refused, not one silently preferred
    path.write_text(_rows("rr_ms", "{ms!r}"))
    with pytest.raises(RecordingFormatError, match="contradicts") as info:
        read_recording(path, units="s")
    assert info.value.line == 1
    assert read_recording(path, units="ms").n_beats == 40
    # the header says seconds but the values are ms: the units check names the header
    path.write_text(_rows("RR (s)", "{ms!r}"))
    with pytest.raises(RecordingFormatError, match="header's column 'RR \\(s\\)' says s"):
        read_recording(path)
    # two RR columns: which one is meant is not guessed
    path.write_text(_rows("rr_ms,nn_ms", "{ms!r},{ms!r}"))
    with pytest.raises(RecordingFormatError, match="2 RR columns") as info:
        read_recording(path)
    assert info.value.line == 1
    # a row without the RR cell
    path.write_text("time,rr\n1,800\n2,\n3,810\n")
    with pytest.raises(RecordingFormatError, match="no value in the RR column 'rr'") as info:
        read_recording(path)
    assert info.value.line == 3
    # a first line that is no number and names no RR column lists the names known
    path.write_text("beat\n800\n810\n")
    with pytest.raises(
        RecordingFormatError, match="neither a number nor a header naming an RR column"
    ) as info:
        read_recording(path)
    assert info.value.line == 1 and "rr_ms" in str(info.value)


def test_the_rr_names_an_error_lists_are_the_ones_read(tmp_path: Path) -> None:
    """Review finding: the error listed ``rr, rr_ms, RR (ms), rri, rr_interval, ibi, ibi_ms, nn``
    by hand, without ``nni`` or the seconds forms (``rr [s]``) that are read. The list is now
    made from ``RR_COLUMN_NAMES``: every name the reader takes is listed, and every name and
    unit form listed is read, in the units it states."""
    path = tmp_path / "rr.csv"
    path.write_text("heart\n800\n810\n")
    with pytest.raises(RecordingFormatError, match="neither a number nor a header") as info:
        read_recording(path)
    message = str(info.value)
    names_part = message[message.index("RR column (") + len("RR column (") :].split(";")[0]
    names = [n.strip() for n in names_part.split(",")]
    assert set(names) == set(RR_COLUMN_NAMES) and "nni" in names
    for name in names:
        path.write_text(_rows(name, "{ms!r}"))
        assert read_recording(path).meta["column"] == name
    units_part = message.split("a unit as in ", 1)[1]
    examples = [e.strip() for e in units_part.rstrip(")").split(",")]
    assert {"rr [s]", "RR (ms)"} <= set(examples), message
    for example in examples:
        unit = "s" if example.endswith(("s", "s]", "s)")) and "ms" not in example else "ms"
        path.write_text(_rows(example, "{ms!r}" if unit == "ms" else "{s!r}"))
        rec = read_recording(path)
        assert (rec.meta["units"], rec.meta["units_from"]) == (unit, "header"), example
        np.testing.assert_allclose(rec.rr_ms, RR_40, rtol=0, atol=1e-6)


def test_the_64_s_limit_applies_after_seconds_become_ms(tmp_path: Path) -> None:
    """Review finding: with units='s' the limit was checked on the raw values (5000 < 64000),
    so a 5000-s interval was analysed."""
    path = tmp_path / "rr.txt"
    path.write_text("0.8\n0.81\n5000\n0.79\n0.8\n")
    with pytest.raises(RecordingFormatError, match="corrupt value") as info:
        read_recording(path, units="s")
    assert info.value.line == 3 and "'5000' is 5e+06 ms" in str(info.value)
    path.write_text("0.8\n0.81\n64\n0.79\n0.8\n")  # 64 s exactly is the limit, still read
    assert read_recording(path, units="s").rr_ms[2] == 64_000.0
    # a PhysioNet first-beat time on line 1 read as an interval: refused, naming the format
    path.write_text("225.796875\n" + "0.8\n" * 20)
    with pytest.raises(RecordingFormatError, match="physionet_rr_secs") as info:
        read_recording(path, units="s")
    assert info.value.line == 1


def test_an_export_beats_table_is_read_with_its_gaps_and_its_bad_cells_named(
    tmp_path: Path,
) -> None:
    """``hrvpace export``'s ``ID-beats.csv`` (format ``hrvpace_export``, detected): times,
    gaps and contact as written; ``True``/``False`` gap flags (older exports) read; a bad cell
    is refused with its line."""
    from sensors.formats.hrvpace import EXPORT_BEATS_HEADER

    head = ",".join(EXPORT_BEATS_HEADER) + "\n"
    rows = "0,0.8,800.0,1.0,1,0,75.0\n1,1.6,800.0,2.0,-1,False,\n2,30.0,810.0,3.0,0,True,74\n"
    path = tmp_path / "x-beats.csv"
    path.write_text(head + rows)
    rec = read_recording(path)
    assert rec.source_format == "hrvpace_export"
    assert rec.t_s.tolist() == [0.8, 1.6, 30.0] and rec.gaps.tolist() == [False, False, True]
    assert rec.contact.tolist() == [1, -1, 0] and np.isnan(rec.heart_rate_bpm[1])
    path.write_text(head + rows.replace("True", "yes"))
    with pytest.raises(RecordingFormatError, match="gap_before 'yes' must be 1 or 0") as info:
        read_recording(path)
    assert info.value.line == 4


_RECORDING_HEAD = "# hrvpace-recording v2\n# meta {}\n" + ",".join(
    ("t_s", "rr_ms", "arrived_at_unix_s", "contact", "gap_before", "heart_rate_bpm")
)


@pytest.mark.parametrize(
    ("reader", "cells", "said", "summary"),
    [
        # the recording reader quotes the corrupt time, the export reader quotes nothing
        ("recording", ("1e9", "800.0", "1.0", "75"), "t_s '1e9' is beyond 8 days", None),
        ("export", ("1e9", "800.0", "1.0", "75"), "t_s is beyond 8 days", "t_s is beyond"),
        ("recording", ("0.8", "fast", "1.0", "75"), "RR interval 'fast' is not a number", None),
        ("export", ("0.8", "fast", "1.0", "75"), "RR interval 'fast' is not a number", None),
        ("recording", ("0.8", "90000", "1.0", "75"), "RR interval '90000'", None),
        ("export", ("0.8", "90000", "1.0", "75"), "RR interval '90000'", None),
        ("recording", ("0.8", "800.0", "late", "75"), "arrival time 'late' is not", None),
        ("export", ("0.8", "800.0", "late", "75"), "arrival time 'late' is not", None),
        ("recording", ("0.8", "800.0", "1.0", "fast"), "heart rate 'fast' is not", None),
        ("export", ("0.8", "800.0", "1.0", "fast"), "heart rate 'fast' is not", None),
    ],
)
def test_both_beats_readers_name_a_bad_time_rr_arrival_or_heart_rate_so(
    tmp_path: Path, reader: str, cells: tuple[str, str, str, str], said: str, summary: str | None
) -> None:
    """The recording reader and the export reader check the beat columns they share (t_s,
    RR, arrival time, heart rate) with one helper; each keeps its own messages (held here,
    with the line: the bad row is the second beat)."""
    from sensors.formats.hrvpace import EXPORT_BEATS_HEADER

    t, rr, arrived, hr = cells
    path = tmp_path / "x-beats.csv"
    if reader == "recording":
        path.write_text(f"{_RECORDING_HEAD}\n0.7,700.0,0.9,1,0,60\n{t},{rr},{arrived},1,0,{hr}\n")
        line = 5
    else:
        head = ",".join(EXPORT_BEATS_HEADER)
        path.write_text(f"{head}\n0,0.7,700.0,0.9,1,0,60\n1,{t},{rr},{arrived},1,0,{hr}\n")
        line = 3
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == line
    assert said in str(info.value)
    if summary is not None:
        assert info.value.summary is not None and info.value.summary.startswith(summary)
