"""A signal that does not look like an ECG/PPG (noise, an EEG channel) is refused, not analysed.

The criterion is the detector's own quality (NeuroKit2's ``templatematch``: each beat's
correlation with the signal's average beat): a median below
``sensors.formats.signal_peaks.DETECTOR_QUALITY_FLOOR`` is refused. Without it a channel of
pure noise gave 88 "beats" at 64 bpm, exit 0 and a frequent-ectopy warning. Real ECG (the
MIT-BIH excerpts of tests/data, upright and inverted, at 360 and 130 Hz, both leads of the EDF)
and NeuroKit2-simulated ECG and PPG with realistic noise must not be refused.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly
from typer.testing import CliRunner

from api.cli import app
from sensors import RecordingFormatError, read_recording
from sensors.formats.signals import detect_pulse_peaks, detect_r_peaks
from tests.sensors.test_signal_polarity import mitdb

DATA = Path(__file__).resolve().parent.parent / "data"


def write_column(path: Path, x: np.ndarray, header: str = "signal") -> Path:
    path.write_text(header + "\n" + "\n".join(f"{v:.6f}" for v in x) + "\n")
    return path


def test_a_channel_of_noise_is_refused_as_not_an_ecg(tmp_path: Path) -> None:
    noise = write_column(tmp_path / "noise.csv", np.random.default_rng(0).normal(0, 10, 300 * 128))
    with pytest.raises(RecordingFormatError, match=r"does not look like an ECG \(detector quality"):
        read_recording(noise, format="ecg_csv", sampling_rate_hz=128)
    with pytest.raises(RecordingFormatError, match=r"does not look like a PPG \(detector quality"):
        read_recording(noise, format="ppg_csv", sampling_rate_hz=128)
    result = CliRunner().invoke(
        app,
        ["analyze", "-q", "--json", "--format", "ecg_csv", "--sampling-rate", "128", str(noise)],
    )
    assert result.exit_code == 1
    assert "does not look like an ECG (detector quality 0." in result.output
    assert (
        "the 75th percentile" in result.output
        and "beats of another shape (ectopy)" in result.output
    )
    assert '"n_beats"' not in result.stdout


def test_an_eeg_channel_of_an_edf_chosen_by_channel_is_refused(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyedflib
    ecg = mitdb("100")
    eeg = np.random.default_rng(1).normal(0, 10, ecg.size // 360 * 128)
    path = tmp_path / "psg.edf"
    headers = [
        pyedflib.highlevel.make_signal_header("EEG C3-A2", dimension="uV", sample_frequency=128),
        pyedflib.highlevel.make_signal_header("ECG", dimension="mV", sample_frequency=360),
    ]
    for h, x in zip(headers, (eeg, ecg), strict=True):
        h["physical_min"], h["physical_max"] = float(np.floor(x.min())), float(np.ceil(x.max()))
    pyedflib.highlevel.write_edf(str(path), [eeg, ecg], headers)
    with pytest.raises(RecordingFormatError, match="does not look like an ECG"):
        read_recording(path, format="edf", channel="EEG C3-A2")
    assert read_recording(path, format="edf", channel="ECG").n_beats > 200
    result = CliRunner().invoke(
        app, ["analyze", "-q", "--format", "edf", "--channel", "EEG C3-A2", str(path)]
    )
    assert result.exit_code == 1 and "does not look like an ECG" in result.output


@pytest.mark.parametrize("record", ["100", "105", "106", "108", "119", "121", "123"])
def test_real_ecg_is_not_refused(record: str) -> None:
    x = mitdb(record)
    for signal, fs in ((x, 360.0), (-x, 360.0), (resample_poly(x, 13, 36), 130.0)):
        peaks, _ = detect_r_peaks(signal, fs)
        assert peaks.size > 200


def test_both_leads_of_the_edf_are_not_refused() -> None:
    for lead in ("ECG MLII", "ECG V5"):
        assert read_recording(DATA / "mitdb100x.edf", format="edf", channel=lead).n_beats > 200


@pytest.mark.parametrize("noise_mv", [0.1, 0.3, 0.5])
@pytest.mark.parametrize("heart_rate", [55, 100])
def test_simulated_ecg_with_realistic_noise_is_not_refused(
    noise_mv: float, heart_rate: int
) -> None:
    import neurokit2 as nk

    ecg = nk.ecg_simulate(
        duration=120, sampling_rate=250, heart_rate=heart_rate, noise=noise_mv, random_state=3
    )
    peaks, _ = detect_r_peaks(ecg, 250.0)
    assert abs(peaks.size - 2 * heart_rate) <= 3


@pytest.mark.parametrize("fs", [25.0, 64.0, 100.0])
def test_simulated_ppg_with_motion_and_bursts_is_not_refused(fs: float) -> None:
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the simulator's own interpolation warnings
        ppg = nk.ppg_simulate(
            duration=120,
            sampling_rate=fs,
            heart_rate=70,
            drift=1,
            motion_amplitude=0.5,
            powerline_amplitude=0.1,
            burst_number=4,
            burst_amplitude=3,
            random_state=4,
        )
    peaks, _ = detect_pulse_peaks(ppg, fs)
    assert abs(peaks.size - 140) <= 4


def _gauss(t: np.ndarray, mu: float, sd: float, a: float) -> np.ndarray:
    return np.asarray(a * np.exp(-0.5 * ((t - mu) / sd) ** 2))


def ventricular_pattern(pattern: str, fs: float = 250.0, duration_s: float = 300.0) -> np.ndarray:
    """An ECG whose beats follow ``pattern`` ("NV": bigeminy, "NNV": trigeminy).

    N: a narrow upright QRS with P and T waves; V: a premature, wide, negative complex with an
    opposite T wave, then a compensatory pause.
    """
    rng = np.random.default_rng(0)
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    x = np.zeros(n)
    beat, i = 1.0, 0
    while beat < duration_s - 1:
        kind, nxt = pattern[i % len(pattern)], pattern[(i + 1) % len(pattern)]
        i += 1
        lo, hi = max(0, int((beat - 0.4) * fs)), min(n, int((beat + 0.6) * fs))
        tt = t[lo:hi] - beat
        if kind == "N":
            x[lo:hi] += (
                _gauss(tt, -0.16, 0.025, 0.15)
                + _gauss(tt, -0.025, 0.008, -0.15)
                + _gauss(tt, 0, 0.010, 1.2)
                + _gauss(tt, 0.025, 0.008, -0.25)
                + _gauss(tt, 0.25, 0.05, 0.3)
            )
        else:
            x[lo:hi] += -(_gauss(tt, 0, 0.035, 1.6) + _gauss(tt, 0.06, 0.03, -0.4)) + _gauss(
                tt, 0.30, 0.07, 0.5
            )
        rr = 0.85 * (1 + 0.03 * np.sin(2 * np.pi * 0.25 * beat)) + rng.normal(0, 0.01)
        beat += 0.55 * rr if nxt == "V" else 1.45 * rr if kind == "V" else rr
    return x + rng.normal(0, 0.03, n) + 0.1 * np.sin(2 * np.pi * 0.2 * t)


@pytest.mark.parametrize("pattern", ["NV", "NNV"])
def test_ventricular_bigeminy_and_trigeminy_are_read_not_refused(
    pattern: str, tmp_path: Path
) -> None:
    """Half (a third) of the beats of another shape: the median quality fell to 0.23 (0.50).

    The 75th percentile still sees the normal beats (0.94, 0.77), so the ECG is read.
    """
    path = write_column(tmp_path / "ecg.csv", ventricular_pattern(pattern), header="ecg")
    rec = read_recording(path, format="ecg_csv", sampling_rate_hz=250.0)
    expected = 300.0 / 0.85
    assert 0.9 * expected <= rec.n_beats <= 1.1 * expected


def eeg_like(fs: int, seed: int, duration_s: float = 60.0) -> np.ndarray:
    """EEG-like noise (µV): 1/f noise with bursts of alpha (9.5 Hz) under a slow envelope."""

    def colored(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
        f = np.fft.rfftfreq(n)
        s = rng.normal(size=f.size) + 1j * rng.normal(size=f.size)
        f[0] = f[1]
        x = np.fft.irfft(s / f ** (alpha / 2), n)
        return np.asarray(x / x.std())

    rng = np.random.default_rng(seed * 1000 + fs)
    n = int(duration_s * fs)
    x = colored(n, 1.0, rng)
    t = np.arange(n) / fs
    envelope = np.clip(colored(n, 2.0, rng), 0, None)
    x += 1.5 * envelope * np.sin(2 * np.pi * (9.5 + 0.5 * rng.normal()) * t)
    return 30 * x


@pytest.mark.parametrize(("fs", "seed"), [(250, 4), (256, 0), (360, 0), (360, 2), (500, 5)])
def test_a_minute_of_eeg_like_noise_is_refused(fs: int, seed: int, tmp_path: Path) -> None:
    """12-22 R peaks a minute whose 75th percentile of quality was 0.62-0.82 (above 0.6): with
    fewer than 30 peaks a minute the 75th percentile must reach 0.9."""
    path = write_column(tmp_path / "eeg.csv", eeg_like(fs, seed), header="ecg")
    with pytest.raises(RecordingFormatError, match="with fewer than 30 peaks a minute"):
        read_recording(path, format="ecg_csv", sampling_rate_hz=float(fs))


@pytest.mark.parametrize("pattern", ["NV", "NNV"])
def test_half_a_minute_of_bigeminy_and_trigeminy_is_read(pattern: str, tmp_path: Path) -> None:
    """34 peaks in 30 s, a median quality of 0.20 (bigeminy): read as the 5 minutes are."""
    x = ventricular_pattern(pattern, duration_s=30.0)
    rec = read_recording(
        write_column(tmp_path / "ecg.csv", x, header="ecg"), format="ecg_csv", sampling_rate_hz=250
    )
    assert 30 <= rec.n_beats <= 40
