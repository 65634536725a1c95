"""Measure the raw-signal rule of ``signal_like`` (docs/signal_detection.md).

Prints, per series, the waveform shape (``waveform_steps``: lag-1 autocorrelation of the
successive changes, share of all change carried by their largest tenth) and the burst spacing
(``burst_spacing``: bursts, spread, median spacing, and spacing times median value, the time
between bursts were the values RR intervals in ms), then whether ``signal_like`` refuses it.

RR side (every one must be read, the whole series and every 1000-value window): the shared
data's RR files, the same smoothed by a 3- and 5-beat moving average, MIT-BIH's 48 records
from their reference beats (and smoothed), simulated sleep-apnoea cycles (RR 1000 -> 700 ms,
2-10 ms noise, 30-90 s cycles), simulated paced breathing (60-120 bpm, 4.5-7/min), a 4-Hz
resampled tachogram. Raw side: MIT-BIH ECG excerpts (tests/data, 360 Hz and decimated to
180/120 Hz), NeuroKit2's simulated ECG and PPG at 100-500 Hz (30 s, 60-120 bpm, counts
``1000 + 300 * ecg`` / ``1000 + 200 * z(ppg)``), and the tests' synthetic PPG.

Run: ``python -m bench.signal_shape`` (HRVPACE_SHARED_DATA for the shared data; about 1 min).
"""

from __future__ import annotations

import numpy as np

from sensors.formats.text import burst_spacing, signal_like, waveform_steps
from tests.conftest import load_rr_ms, shared_data_dir
from tests.sensors.test_plain_not_rr import (
    DATA,
    _apnea_rr_ms,
    _format_212_counts,
    _mitdb_rr_ms,
    _paced,
    _ppg_counts,
)


def _ecg(name: str) -> np.ndarray:
    return _format_212_counts(DATA / f"{name}.dat")


def _windows(x: np.ndarray, n: int = 1000) -> list[np.ndarray]:
    return [x] + [x[s : s + n] for s in range(0, x.shape[0] - n + 1, n // 2)]


def _rr_series() -> dict[str, np.ndarray]:
    shared = shared_data_dir()
    rr: dict[str, np.ndarray] = {}
    for name in (
        "rrhealthy_000_rr_ms",
        "rrhealthy_007_rr_ms",
        "hrvpkg_rest_rri_ms",
        "hrvpkg_real_rri_ms",
        "hrvpkg_08012805_rri_ms",
        "hrvanalysis_test_nn_intervals_ms",
    ):
        rr[name] = load_rr_ms(shared / f"{name}.txt", units="ms")
    rr["ghrv_chapter6_rr"] = load_rr_ms(shared / "ghrv_chapter6_rr.txt", units="s")
    for name in ("nsr2db_nsr001", "nsr2db_nsr002", "chf2db_chf201"):
        rr[name] = load_rr_ms(shared / f"{name}_rr_secs.txt", units="s", skip_first_line=True)
    rr.update({f"mitdb {k}": v for k, v in _mitdb_rr_ms().items()})
    for name, x in list(rr.items()):
        for width in (3, 5):
            rr[f"{name} MA{width}"] = np.convolve(x, np.ones(width) / width, "valid")
    rest = rr["hrvpkg_rest_rri_ms"]
    t_s = np.cumsum(rest) / 1000.0
    rr["hrvpkg_rest 4-Hz tachogram"] = np.interp(np.arange(t_s[0], t_s[-1], 0.25), t_s, rest)
    for noise in (2.0, 5.0, 8.0, 10.0):
        for cycle, fall in ((50.0, 4.0), (30.0, 4.0), (60.0, 6.0), (90.0, 8.0)):
            rr[f"apnoea {noise:g} ms {cycle:g} s"] = _apnea_rr_ms(noise, cycle, fall)
    rr["apnoea, the reviewer's file"] = np.loadtxt(DATA / "cvhr_apnea_rr_ms.txt")
    for hr in (60.0, 80.0, 100.0, 120.0):
        for rate in (4.5, 6.0, 7.0):
            for jitter in (0.5, 1.0, 5.0):
                rr[f"paced {hr:g} bpm {rate:g}/min {jitter:g} ms"] = _paced(hr, rate, jitter, 0.0)
    return rr


def _raw_series() -> dict[str, np.ndarray]:
    raw: dict[str, np.ndarray] = {}
    for rec in ("100", "105", "106", "108", "119", "121", "123"):
        x = _ecg(f"mitdb{rec}x")
        for step in (1, 2, 3):
            raw[f"MIT-BIH {rec} {360 // step} Hz"] = x[::step]
    import neurokit2 as nk

    for fs in (100, 125, 130, 200, 250, 360, 500):
        for hr in (60, 90, 120):
            ecg = nk.ecg_simulate(
                duration=30, sampling_rate=fs, heart_rate=hr, noise=0.02, random_state=hr
            )
            raw[f"NeuroKit2 ECG {fs} Hz {hr} bpm"] = np.round(1000 + 300 * ecg)
            ppg = nk.ppg_simulate(duration=30, sampling_rate=fs, heart_rate=hr, random_state=hr)
            raw[f"NeuroKit2 PPG {fs} Hz {hr} bpm"] = np.round(
                1000 + 200 * (ppg - ppg.mean()) / ppg.std()
            )
        raw[f"tests' PPG {fs} Hz"] = _ppg_counts(float(fs), 60 * fs)
    return raw


def _row(kind: str, name: str, x: np.ndarray, refused: str) -> None:
    corr, share = waveform_steps(x)
    bursts, spread, spacing = burst_spacing(x)
    period_s = spacing * float(np.median(x)) / 1000.0
    print(
        f"{kind} {name:34s} {corr:5.2f} {share:5.2f} {bursts:6d} {spread:6.2f} {spacing:7.0f}"
        f" {period_s:7.0f} {refused}"
    )


def main() -> None:
    """Print the measurements docs/signal_detection.md summarises."""
    print(
        "    series                              corr share bursts spread spacing  period refused"
    )
    worst_shape, worst_any = (0.0, ""), (0.0, "")
    refused_rr = 0
    for name, x in _rr_series().items():
        windows = [w for w in _windows(x) if w.shape[0] >= 1000]
        refused = sum(signal_like(w) is not None for w in windows)
        refused_rr += refused
        for w in windows:
            corr, share = waveform_steps(w)
            bursts, spread, spacing = burst_spacing(w)
            if bursts >= 8 and spread <= 0.25:
                period_s = spacing * float(np.median(w)) / 1000.0
                worst_any = max(worst_any, (period_s, name))
                if corr >= 0.5 and share >= 0.3:
                    worst_shape = max(worst_shape, (period_s, name))
        if windows:
            _row("RR ", name, x, f"{refused}/{len(windows)}")
    print(f"RR series refused (whole or a 1000-value window): {refused_rr}")
    print(
        f"RR longest steady burst period with a waveform's shape: {worst_shape[0]:.0f} s "
        f"({worst_shape[1]}); without: {worst_any[0]:.0f} s ({worst_any[1]})"
    )
    for name, x in _raw_series().items():
        _row("RAW", name, x, "refused" if signal_like(x) is not None else "read")


if __name__ == "__main__":
    main()
