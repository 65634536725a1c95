"""Plain files that hold no RR intervals: heart rates in bpm, raw signals with RR-like counts."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from sensors import RecordingFormatError, read_recording
from sensors.formats.text import HEART_RATE_NOT_RR, signal_like
from tests.conftest import load_rr_ms

DATA = Path(__file__).parent.parent / "data"


def _heart_rate_bpm(n: int = 1800, mean: float = 72.0) -> np.ndarray:
    """A watch's 1-Hz heart rate: whole bpm drifting around ``mean``."""
    rng = np.random.default_rng(3)
    t = np.arange(n)
    return np.clip(np.round(mean + 12 * np.sin(t / 90) + rng.normal(0, 2, n)), 50, 185)


@pytest.mark.parametrize("header", ["hr", "heart_rate", "bpm", "HR (bpm)", "Heart Rate"])
def test_a_heart_rate_column_is_refused_as_heart_rates(tmp_path: Path, header: str) -> None:
    """Review: a 1-Hz heart-rate export under an HR header was refused as 'neither a number nor
    a header naming an RR column', not saying what it is; it says heart rates, not RR
    intervals, and what reads instead."""
    path = tmp_path / "watch_hr.csv"
    path.write_text(header + "\n" + "\n".join(f"{v:g}" for v in _heart_rate_bpm()) + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert "watch_hr.csv" in str(info.value) and info.value.line == 1
    assert "heart-rate column" in info.value.problem
    assert "beat-to-beat (RR/NN) intervals" in info.value.problem
    assert "rr_ms" in info.value.problem and "--format ecg_csv" in info.value.problem


def test_a_table_of_time_and_heart_rate_says_heart_rate(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = "\n".join(f"{i},{v:g}" for i, v in enumerate(_heart_rate_bpm(300)))
    path.write_text("time,hr\n" + rows + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.problem.startswith("a table without an RR column (columns: time, hr): ")
    assert "'hr' names a heart-rate column" in info.value.problem
    # review: every heart-rate refusal says what reads instead, the table form too
    assert info.value.problem.endswith(HEART_RATE_NOT_RR)
    assert "name" in info.value.problem and "rr_interval" in info.value.problem


def test_an_rr_column_of_values_no_person_has_says_so(tmp_path: Path) -> None:
    """Review: a header rr_ms over an animal's RR intervals (150-200 ms, a rat's) was refused
    as 'look like heart rates in bpm' and told to export 'a column rr_ms', which it has. It
    says the column holds values no human RR interval has, and their range."""
    path = tmp_path / "rat.txt"
    rr = np.round(170 + 10 * np.sin(np.arange(600) / 7.0), 1)
    path.write_text("rr_ms\n" + "\n".join(f"{v:g}" for v in rr) + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    problem = info.value.problem
    assert problem.startswith("column 'rr_ms' holds values no human RR interval has (160-180 ms")
    assert "heart rates in bpm, not RR" not in problem and "a column rr_ms" not in problem


def test_one_heart_rate_value_is_singular(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("72\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.problem.startswith("the value looks like a heart rate in bpm, not RR")


@pytest.mark.parametrize("mean", [72.0, 150.0])
@pytest.mark.parametrize("units", [None, "ms", "s"])
def test_headerless_heart_rates_are_refused_as_heart_rates(
    tmp_path: Path, mean: float, units: str | None
) -> None:
    """Review: a headerless 1-Hz heart rate during exercise (median 150) was analysed as RR
    intervals of 150 ms (exit 0, quality 0); at rest (median 72) it was refused asking for
    --units s, which then failed the other way. Both say heart rates in bpm, whatever the
    units."""
    path = tmp_path / "hr.txt"
    path.write_text("\n".join(f"{v:g}" for v in _heart_rate_bpm(mean=mean)) + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path, units=units)
    assert "hr.txt" in str(info.value)
    assert "look like heart rates in bpm" in info.value.problem
    assert "--units s" not in info.value.problem


def _mitdb_100_ecg_counts() -> np.ndarray:
    """MIT-BIH record 100's first 180 s (tests/data/mitdb100x.dat, format 212, 360 Hz): raw
    11-bit ADC counts around 1024, all within 250-2500 as RR intervals in ms would be."""
    return _format_212_counts(DATA / "mitdb100x.dat")


def _format_212_counts(path: Path) -> np.ndarray:
    """The samples of a WFDB format-212 file (two 12-bit two's-complement samples in three
    bytes; PhysioNet's signal file format 212), both channels interleaved."""
    raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    b = raw[: raw.shape[0] // 3 * 3].reshape(-1, 3).astype(np.int32)
    out = np.empty(2 * b.shape[0], dtype=np.int32)
    out[0::2] = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    out[1::2] = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    out[out > 2047] -= 4096
    return out.astype(float)


def _ppg_counts(fs: float = 200.0, n: int = 12000) -> np.ndarray:
    """A PPG in ADC counts on a 1000 offset: a fast upstroke and slow decay each 0.85 s."""
    t = np.arange(n) / fs
    phase = (t / 0.85) % 1.0
    pulse = np.where(phase < 0.15, phase / 0.15, np.exp(-(phase - 0.15) * 4.0))
    rng = np.random.default_rng(5)
    return np.round(1000 + 400 * pulse + rng.normal(0, 2, n))


@pytest.mark.parametrize("make", [_mitdb_100_ecg_counts, _ppg_counts])
@pytest.mark.parametrize("units", [None, "ms"])
def test_a_raw_signal_whose_counts_look_like_rr_is_refused(
    tmp_path: Path, make: object, units: str | None
) -> None:
    """Review: a raw ECG or PPG without a header whose counts lie within 250-2500 was read as
    RR intervals in ms and analysed. Refused as a sampled signal naming --format ecg_csv /
    ppg_csv; a header naming the column still reads it as RR intervals."""
    assert callable(make)
    values = make()
    assert float(np.mean((values >= 250) & (values <= 2500))) > 0.95  # plausible as RR in ms
    path = tmp_path / "signal.txt"
    path.write_text("\n".join(f"{v:g}" for v in values) + "\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path, units=units)
    assert "signal.txt" in str(info.value)
    assert "look like a sampled signal" in info.value.problem
    assert "--format ecg_csv --sampling-rate HZ" in info.value.problem
    assert "--format ppg_csv" in info.value.problem
    named = tmp_path / "named.txt"
    named.write_text("rr_ms\n" + path.read_text())
    assert len(read_recording(named)) == values.shape[0]


def _mitdb_rr_ms() -> dict[str, np.ndarray]:
    """RR intervals (ms) of all 48 MIT-BIH records from their reference beats."""
    with gzip.open(DATA / "mitdb_beats.csv.gz", "rt") as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:]]
    samples: dict[str, list[int]] = {}
    for record, sample, _symbol in rows:
        samples.setdefault(record, []).append(int(sample))
    return {k: np.diff(np.asarray(v)) / 360.0 * 1000.0 for k, v in samples.items()}


def _paced(hr: float, rate: float, jitter: float, ectopic: float) -> np.ndarray:
    from sensors.simulator import SimulatedPerson

    person = SimulatedPerson(
        seed=int(hr + 10 * rate),
        mean_hr_bpm=hr,
        resonance_bpm=rate,
        rsa_gain_bpm=25,
        jitter_ms=jitter,
        ectopic_rate=ectopic,
        missed_beat_rate=0,
        breathing=lambda t: t * rate / 60.0,
    )
    rr = [b.rr_ms for b in person.beats(15 * 60) if getattr(b, "rr_ms", None)]
    return np.round(np.asarray(rr, dtype=float))


def test_no_real_or_paced_rr_series_has_a_waveforms_shape(shared_data: Path) -> None:
    """The waveform rule must leave RR series alone: every 1000-beat window of the shared
    data's plain RR files (ms and s, coarse 1/128-s grids, zeros), all 48 MIT-BIH records
    (arrhythmias), and paced breathing at 4.5-7/min and 60-120 bpm with 1-5 ms jitter, on
    1-ms and 1/128-s grids, with and without ectopic beats."""
    series: dict[str, np.ndarray] = {}
    for name in (
        "rrhealthy_000_rr_ms.txt",
        "rrhealthy_007_rr_ms.txt",
        "hrvpkg_rest_rri_ms.txt",
        "hrvpkg_08012805_rri_ms.txt",
        "hrvanalysis_test_nn_intervals_ms.txt",
    ):
        series[name] = load_rr_ms(shared_data / name, units="ms")
    series["hrvpkg_real_rri_ms.txt"] = load_rr_ms(
        shared_data / "hrvpkg_real_rri_ms.txt", units="ms"
    )
    series["ghrv_chapter6_rr.txt"] = load_rr_ms(shared_data / "ghrv_chapter6_rr.txt", units="s")
    for name in ("nsr2db_nsr001", "nsr2db_nsr002", "chf2db_chf201"):
        # seconds on the 1/128-s grid, line 1 the first beat's time
        series[name] = load_rr_ms(
            shared_data / f"{name}_rr_secs.txt", units="s", skip_first_line=True
        )
    series.update(_mitdb_rr_ms())
    for hr in (60.0, 80.0, 120.0):
        for rate in (4.5, 6.0, 7.0):
            for jitter in (1.0, 5.0):
                for ectopic in (0.0, 0.01):
                    rr = _paced(hr, rate, jitter, ectopic)
                    series[f"paced {hr} {rate} {jitter} {ectopic}"] = rr
                    series[f"paced {hr} {rate} {jitter} {ectopic} grid"] = (
                        np.round(rr / 7.8125) * 7.8125
                    )
    with_zeros = load_rr_ms(shared_data / "rrhealthy_007_rr_ms.txt", units="ms")[:2000].copy()
    with_zeros[np.random.default_rng(0).choice(2000, 120, replace=False)] = 0.0
    series["6 % zeros"] = with_zeros
    refused = []
    for name, rr in series.items():
        starts = range(0, max(1, rr.shape[0] - 1000 + 1), 1000)
        for s in starts:
            window = np.asarray(rr[s : s + 1000], dtype=float)
            if window.shape[0] == 1000 and signal_like(window) is not None:
                refused.append((name, s))
    assert refused == []


def _apnea_rr_ms(noise_ms: float, cycle_s: float = 50.0, fall_s: float = 4.0) -> np.ndarray:
    """Cyclic variation of heart rate in sleep apnoea: every ``cycle_s`` RR falls from 1000 to
    700 ms over ``fall_s`` and recovers, with ``noise_ms`` of beat-to-beat noise, for 1 h."""
    rng = np.random.default_rng(int(noise_ms * 10 + cycle_s))
    t_s, out = 0.0, []
    while t_s < 3600.0:
        phase = t_s % cycle_s
        if phase < fall_s:
            base = 1000.0 - 300.0 * phase / fall_s
        else:
            base = 700.0 + 300.0 * (1.0 - np.exp(-(phase - fall_s) / ((cycle_s - fall_s) / 4)))
        rr = base + rng.normal(0.0, noise_ms)
        out.append(rr)
        t_s += rr / 1000.0
    return np.round(np.asarray(out))


def test_rr_series_with_a_waveforms_shape_are_read_as_rr(shared_data: Path) -> None:
    """Review: the waveform rule refused real-looking RR whose changes come in smooth bursts:
    sleep-apnoea heart-rate cycles (RR 1000 -> 700 ms over 4 s every 50 s; correlation 0.51,
    share 37 %) and RR smoothed by a 3-5 beat moving average (rrhealthy_007 MA3 0.64/0.34,
    hrvpkg_08012805 MA5 0.57/0.62). They have a waveform's shape but their bursts recur every
    2 min at most, read as RR: read, the whole file and every 1000-beat window. So is a
    tachogram resampled at 4 Hz (the docstring said read, the old rule refused it)."""
    series = {
        f"apnea {noise} ms {cycle} s": _apnea_rr_ms(noise, cycle, fall)
        for noise in (2.0, 5.0, 8.0, 10.0)
        for cycle, fall in ((50.0, 4.0), (30.0, 4.0), (60.0, 6.0), (90.0, 8.0))
    }
    for name in (
        "rrhealthy_000_rr_ms.txt",
        "rrhealthy_007_rr_ms.txt",
        "hrvpkg_rest_rri_ms.txt",
        "hrvpkg_08012805_rri_ms.txt",
        "hrvpkg_real_rri_ms.txt",
    ):
        rr = load_rr_ms(shared_data / name, units="ms")
        for width in (3, 5):
            series[f"{name} MA{width}"] = np.convolve(rr, np.ones(width) / width, "valid")
    for name in ("nsr2db_nsr001", "nsr2db_nsr002", "chf2db_chf201"):
        rr = load_rr_ms(shared_data / f"{name}_rr_secs.txt", units="s", skip_first_line=True)
        for width in (3, 5):
            series[f"{name} MA{width}"] = np.convolve(rr, np.ones(width) / width, "valid")
    rest = load_rr_ms(shared_data / "hrvpkg_rest_rri_ms.txt", units="ms")
    t_s = np.cumsum(rest) / 1000.0
    grid = np.arange(t_s[0], t_s[-1], 0.25)
    series["tachogram resampled at 4 Hz"] = np.round(np.interp(grid, t_s, rest), 1)
    refused = []
    for name, rr in series.items():
        windows = [rr] + [rr[s : s + 1000] for s in range(0, rr.shape[0] - 999, 500)]
        refused += [(name, w.shape[0]) for w in windows if signal_like(w) is not None]
    assert refused == []


def test_a_sleep_apnoea_rr_file_is_read() -> None:
    """The reviewer's file (tests/data/cvhr_apnea_rr_ms.txt: 3,949 headerless RR intervals,
    every 50 s RR falls 1000 -> 700 ms over 4 s and recovers, 8 ms beat noise) was refused as
    a sampled signal; it is read."""
    path = DATA / "cvhr_apnea_rr_ms.txt"
    assert len(read_recording(path)) == 3949
