"""An ECG upside down (leads reversed, strap worn the other way round) is detected and turned.

Real ECG: the MIT-BIH excerpts of tests/data (lead MLII, 360 Hz; provenance and licence in
tests/data/README.md), as recorded and multiplied by -1, at 360 Hz and resampled to the Polar
H10's 130 Hz. Without the polarity check the detector times the inverted record 121 on the
wrong wave (RMSSD 129 ms instead of 20 ms, a frequent-ectopy warning) and the inverted records
100 and 123 about 30 ms late on every beat, silently.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from api.research.analysis import AnalysisOptions, analyze_file
from sensors import read_recording
from sensors.ecg_live import LiveRPeakDetector
from sensors.formats.signal_peaks import INVERTED_NOTE
from sensors.formats.signals import compare_beats
from tests.sensors.test_ecg_live import run
from tests.sensors.test_signals import reference_beats_s

DATA = Path(__file__).resolve().parent.parent / "data"


def mitdb(record: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # wfdb's own pandas deprecations
        import wfdb

        return np.asarray(wfdb.rdrecord(str(DATA / f"mitdb{record}x")).p_signal[:, 0], float)


def h10_csv(path: Path, signal_mv: np.ndarray) -> Path:
    """The signal at 130 Hz in integer microvolts, as an H10 records it."""
    uv = np.round(resample_poly(signal_mv, 13, 36) * 1000).astype(int)
    path.write_text("ecg_uV\n" + "\n".join(str(v) for v in uv) + "\n")
    return path


def test_inverted_record_121_gives_the_upright_rmssd_and_says_it_was_inverted(
    tmp_path: Path,
) -> None:
    x = mitdb("121")
    up = h10_csv(tmp_path / "up.csv", x)
    down = h10_csv(tmp_path / "down.csv", -x)
    options = AnalysisOptions(format="ecg_csv", sampling_rate_hz=130.0)
    a, b = analyze_file(up, options), analyze_file(down, options)
    assert a.error is None and b.error is None
    assert a.summary is not None and b.summary is not None
    assert a.summary["rmssd_ms"] == pytest.approx(19.6, abs=0.5)
    assert b.summary["rmssd_ms"] == pytest.approx(a.summary["rmssd_ms"], abs=0.5)
    assert b.summary["n_beats"] == a.summary["n_beats"]
    assert not b.summary["ectopy_warning"]
    assert INVERTED_NOTE in b.summary["read_as"]
    assert "inverted" not in a.summary["read_as"]


@pytest.mark.parametrize("record", ["100", "105", "106", "119", "121", "123"])
def test_inverted_records_give_the_upright_beats(record: str, tmp_path: Path) -> None:
    x = mitdb(record)
    up = tmp_path / "up.csv"
    down = tmp_path / "down.csv"
    up.write_text("\n".join(f"{v:.3f}" for v in x) + "\n")
    down.write_text("\n".join(f"{v:.3f}" for v in -x) + "\n")
    a = read_recording(up, format="ecg_csv", sampling_rate_hz=360.0)
    b = read_recording(down, format="ecg_csv", sampling_rate_hz=360.0)
    assert a.meta["inverted"] is False and a.meta["signal_notes"] == ()
    assert b.meta["inverted"] is True and b.meta["signal_notes"] == (INVERTED_NOTE,)
    # the same R peaks, each within one sample (2.8 ms), not ~30 ms late
    ta, tb = np.r_[a.start_s, a.t_s], np.r_[b.start_s, b.t_s]
    assert ta.size == tb.size
    assert np.max(np.abs(ta - tb)) <= 1.5 / 360.0


def test_live_detector_decides_the_polarity_and_detects_on_the_upright_signal() -> None:
    x = resample_poly(mitdb("100"), 13, 36)
    for sign, expected in ((1.0, False), (-1.0, True)):
        det = LiveRPeakDetector(130.0)
        peaks, _ = run(det, sign * x)
        assert det.inverted is expected
        result = compare_beats(reference_beats_s(), np.asarray(peaks), tolerance_s=0.075)
        assert result.sensitivity >= 0.995 and result.positive_predictivity >= 0.995
        assert result.rr_error_ms_rms < 10.0


def test_an_ecg_whose_stretches_disagree_is_left_upright(tmp_path: Path) -> None:
    """108's excerpt (MLII, large P waves): 3 of its 5 minutes vote inverted, 2 upright.

    That is no verdict (27 % of its whole record votes inverted, and turned, every beat
    is timed ~35 ms late): the ECG stays as recorded. Before the 80 % rule it was turned.
    """
    path = tmp_path / "108.csv"
    path.write_text("\n".join(f"{v:.3f}" for v in mitdb("108")) + "\n")
    rec = read_recording(path, format="ecg_csv", sampling_rate_hz=360.0)
    assert rec.meta["inverted"] is False and rec.meta["signal_notes"] == ()


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_flat_stretches_do_not_vote_on_the_polarity(sign: float, tmp_path: Path) -> None:
    """An ECG with 6 minutes of zeros (lead off) after its 5 minutes is judged on the 5.

    Before, each flat minute voted upright and outvoted the inverted ECG.
    """
    x = np.r_[sign * mitdb("121"), np.zeros(360 * 360)]
    path = tmp_path / "ecg.csv"
    path.write_text("\n".join(f"{v:.3f}" for v in x) + "\n")
    rec = read_recording(path, format="ecg_csv", sampling_rate_hz=360.0)
    assert rec.meta["inverted"] is (sign < 0)


def settling_start(x: np.ndarray, seed: int, seconds: float = 5.0) -> np.ndarray:
    """``x`` whose first seconds are electrode settling: a decaying offset and noise, no ECG."""
    rng = np.random.default_rng(seed)
    n = round(seconds * 130.0)
    y = x.copy()
    drift = 2.0 * np.exp(-np.arange(n) / 130.0) * np.sign(rng.normal())
    y[:n] = drift + rng.normal(0, 0.4, n)
    return y


def test_live_polarity_is_not_decided_on_electrode_settling() -> None:
    """Decided on the first 4 s, settling marked upright streams inverted; now 20 s and more."""
    x = resample_poly(mitdb("100"), 13, 36)[: 90 * 130]
    for sign, expected in ((1.0, False), (-1.0, True)):
        for seed in range(6):
            det = LiveRPeakDetector(130.0)
            run(det, settling_start(sign * x, seed))
            assert det.inverted is expected, (sign, seed)


def test_live_polarity_waits_for_20_s_and_reset_keeps_it() -> None:
    x = -resample_poly(mitdb("121"), 13, 36)[: 40 * 130]
    det = LiveRPeakDetector(130.0)
    run(det, x[: 15 * 130])
    assert det.inverted is None  # 15 s: not yet
    run(det, x[15 * 130 :], t0=15.0)
    assert det.inverted is True
    det.reset()
    assert det.inverted is True


@pytest.mark.parametrize("swing", [3.0, 10.0])
def test_live_polarity_is_decided_after_a_large_start(swing: float) -> None:
    """A 3-10x slow swing in the first 5 s (the strap put on): measured against the voting
    blocks' median, every later block was "flat" and the vote never ended (None after 90 s)."""
    x = -resample_poly(mitdb("100"), 13, 36)[: 90 * 130]
    n = 5 * 130
    amplitude = float(np.ptp(np.percentile(x, [1.0, 99.0])))
    x[:n] += swing * amplitude * np.sin(2 * np.pi * 0.4 * np.arange(n) / 130.0)
    det = LiveRPeakDetector(130.0)
    run(det, x)
    assert det.inverted is True
