"""Live R-peak detection on a sliding buffer (sensors.ecg_live), on real ECG.

MIT-BIH record 100's 3-minute excerpt (tests/data/mitdb100x, lead MLII, 360 Hz) resampled to the
H10's 130 Hz and pushed in frames of 73 samples, as an H10 sends them; the confirmed peaks are
compared with the cardiologists' labels (tests/data/mitdb_100_beats.csv).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from sensors.ecg_live import LiveRPeakDetector
from sensors.formats.signals import compare_beats
from tests.sensors.test_signals import excerpt_signal, reference_beats_s

H10_HZ = 130.0
FRAME = 73


def h10_signal() -> np.ndarray:
    return resample_poly(excerpt_signal(), 13, 36)  # 360 Hz -> 130 Hz


def run(
    detector: LiveRPeakDetector, x: np.ndarray, *, t0: float = 0.0
) -> tuple[list[float], list[float]]:
    """Push x in frames; return the peaks and, for each, how late it was confirmed (s)."""
    peaks: list[float] = []
    delays: list[float] = []
    for start in range(0, x.size, FRAME):
        frame = x[start : start + FRAME]
        t_end = t0 + (start + frame.size - 1) / H10_HZ
        for p in detector.push(frame, t_end_s=t_end):
            peaks.append(p)
            delays.append(t_end - p)
    peaks += detector.flush()
    return peaks, delays


def test_confirmed_peaks_match_the_reference_beats() -> None:
    peaks, delays = run(LiveRPeakDetector(H10_HZ), h10_signal())
    result = compare_beats(reference_beats_s(), np.asarray(peaks), tolerance_s=0.075)
    assert result.sensitivity >= 0.995 and result.positive_predictivity >= 0.995
    assert result.rr_error_ms_rms < 10.0  # 130 Hz: one sample is 7.7 ms
    assert np.all(np.diff(peaks) > 0.25)  # each beat once, in order
    # confirmed past the edge, within a step (and a frame) after; the first peaks wait for the
    # 4 s the detector needs before its first run
    steady = [d for p, d in zip(peaks, delays, strict=False) if p > 8.0]
    assert min(steady) >= 1.0 and max(steady) <= 2.2
    assert max(delays) <= 4.0


def test_a_gap_in_the_stream_restarts_the_buffer_without_false_beats() -> None:
    x = h10_signal()
    det = LiveRPeakDetector(H10_HZ)
    first, _ = run(det, x[: 60 * 130])
    # 5 s of samples lost: the next frame's time jumps; the buffer restarts there
    second, _ = run(det, x[65 * 130 :], t0=65.0)
    ref = reference_beats_s()
    both = np.r_[first, second]
    result = compare_beats(ref[(ref < 60) | (ref > 66)], both[(both < 60) | (both > 66)])
    assert result.positive_predictivity >= 0.99 and result.sensitivity >= 0.97
    assert not any(60.0 < p < 65.0 for p in both)  # nothing made up in the lost 5 s


def test_flat_signal_and_bad_samples() -> None:
    det = LiveRPeakDetector(H10_HZ)
    peaks, _ = run(det, np.zeros(20 * 130))
    assert peaks == []
    with pytest.raises(ValueError, match="finite"):
        det.push(np.array([0.0, np.nan]), t_end_s=30.0)
    with pytest.raises(ValueError, match="window_s must be >= 4"):
        LiveRPeakDetector(130.0, window_s=2.0)
