"""The vectorised detector quality equals NeuroKit2's ``templatematch`` (to 1e-9).

:func:`sensors.formats.signal_peaks.templatematch_at_peaks` replaces ``nk.ecg_quality`` /
``nk.ppg_quality`` (``method="templatematch"``), which spent ~0.9 CPU-s of a 5-min 360-Hz
ECG building a pandas frame one epoch at a time. Compared here on the cleaned signals and
peaks the readers pass it: the MIT-BIH excerpts in tests/data (360 Hz and resampled to
130 Hz), NeuroKit2-simulated ECG (with noise) and PPG (motion, bursts), and Gaussian noise
read as ECG and as PPG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

nk = pytest.importorskip("neurokit2")
wfdb = pytest.importorskip("wfdb")

from sensors.formats.signal_peaks import ecg_is_inverted, templatematch_at_peaks  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"


def _cleaned(kind: str, signal: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """The cleaned signal and peaks, as ``signal_peaks._detect`` has them."""
    if kind == "ecg":
        if ecg_is_inverted(signal, fs, nk):
            signal = -signal
        clean = nk.ecg_clean(signal, sampling_rate=fs, method="neurokit")
        _, info = nk.ecg_peaks(clean, sampling_rate=fs, method="neurokit", correct_artifacts=False)
        peaks = info["ECG_R_Peaks"]
    else:
        clean = nk.ppg_clean(signal, sampling_rate=fs)
        _, info = nk.ppg_peaks(clean, sampling_rate=fs, method="elgendi")
        peaks = info["PPG_Peaks"]
    return np.asarray(clean, dtype=np.float64), np.unique(np.asarray(peaks, dtype=np.int64))


def _neurokit_quality(kind: str, clean: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    if kind == "ecg":
        index = nk.ecg_quality(clean, rpeaks=peaks, sampling_rate=fs, method="templatematch")
    else:
        index = nk.ppg_quality(clean, peaks=peaks, sampling_rate=fs, method="templatematch")
    return np.asarray(index, dtype=np.float64)[peaks]


def _assert_same(kind: str, signal: np.ndarray, fs: float) -> None:
    clean, peaks = _cleaned(kind, np.asarray(signal, dtype=np.float64), fs)
    ours = templatematch_at_peaks(clean, peaks, fs, nk)
    assert ours is not None
    theirs = _neurokit_quality(kind, clean, peaks, fs)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize(
    ("record", "rates_hz"),
    [
        ("100", (360.0, 130.0)),
        ("106", (360.0,)),  # runs of ventricular beats
        ("108", (360.0,)),  # large P waves, noise
        pytest.param("105", (360.0, 130.0), marks=pytest.mark.slow),
        pytest.param("106", (130.0,), marks=pytest.mark.slow),
        pytest.param("108", (130.0,), marks=pytest.mark.slow),
        pytest.param("119", (360.0, 130.0), marks=pytest.mark.slow),
        pytest.param("121", (360.0, 130.0), marks=pytest.mark.slow),
        pytest.param("123", (360.0, 130.0), marks=pytest.mark.slow),
    ],
)
def test_equals_neurokit_on_mitbih_excerpts(record: str, rates_hz: tuple[float, ...]) -> None:
    ecg = wfdb.rdrecord(str(DATA / f"mitdb{record}x"), channels=[0]).p_signal[:, 0]
    for fs in rates_hz:
        signal = (
            ecg
            if fs == 360.0
            else nk.signal_resample(ecg, sampling_rate=360, desired_sampling_rate=fs)
        )
        _assert_same("ecg", signal, fs)


@pytest.mark.parametrize(
    "seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]
)
def test_equals_neurokit_on_simulated_signals(seed: int) -> None:
    for noise in (0.0, 0.5):
        ecg = nk.ecg_simulate(
            duration=60,
            sampling_rate=250,
            heart_rate=60 + 10 * seed,
            noise=noise,
            random_state=seed,
        )
        _assert_same("ecg", ecg, 250.0)
    ppg = nk.ppg_simulate(
        duration=120,
        sampling_rate=100,
        heart_rate=60 + 5 * seed,
        motion_amplitude=0.1 * seed,
        burst_number=seed,
        random_state=seed,
    )
    _assert_same("ppg", ppg, 100.0)


def test_equals_neurokit_on_noise() -> None:
    rng = np.random.default_rng(1)
    _assert_same("ecg", rng.normal(size=250 * 60), 250.0)
    _assert_same("ppg", rng.normal(size=100 * 60), 100.0)


def test_leaves_short_signals_to_neurokit() -> None:
    """Under 4 s NeuroKit2 raises (the reader then has no quality): not guessed here."""
    clean = np.sin(np.linspace(0, 20, 300))
    assert templatematch_at_peaks(clean, np.array([50, 150, 250]), 100.0, nk) is None
