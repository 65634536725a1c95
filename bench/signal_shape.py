"""Measure the waveform-shape rule of ``signal_like`` (docs/signal_detection.md).

Prints, per series, the lag-1 autocorrelation of the successive changes and the share of all
change carried by their largest tenth (``waveform_steps``), worst 1000-value window first:
real RR series (the shared data's plain files, MIT-BIH's 48 records from their reference
beats), simulated paced breathing, and raw MIT-BIH ECG excerpts (tests/data, 360 Hz and
decimated). Run: ``python -m bench.signal_shape`` (HRVPACE_SHARED_DATA for the shared data).
"""

from __future__ import annotations

import numpy as np

from sensors.formats.text import waveform_steps
from tests.conftest import load_rr_ms, shared_data_dir
from tests.sensors.test_plain_not_rr import DATA, _mitdb_rr_ms, _paced


def _ecg(name: str) -> np.ndarray:
    raw = np.frombuffer((DATA / f"{name}.dat").read_bytes(), dtype=np.uint8)
    b = raw[: raw.shape[0] // 3 * 3].reshape(-1, 3).astype(np.int32)
    out = np.empty(2 * b.shape[0], dtype=np.int32)
    out[0::2] = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    out[1::2] = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    out[out > 2047] -= 4096
    return out.astype(float)


def _windows(x: np.ndarray, n: int = 1000) -> list[np.ndarray]:
    return [x[s : s + n] for s in range(0, max(1, x.shape[0] - n + 1), n)]


def main() -> None:
    """Print the table docs/signal_detection.md summarises."""
    shared = shared_data_dir()
    rr: dict[str, np.ndarray] = {}
    for name in ("rrhealthy_000_rr_ms", "rrhealthy_007_rr_ms", "hrvpkg_08012805_rri_ms"):
        rr[name] = load_rr_ms(shared / f"{name}.txt", units="ms")
    for name in ("nsr2db_nsr001", "nsr2db_nsr002", "chf2db_chf201"):
        rr[name] = load_rr_ms(shared / f"{name}_rr_secs.txt", units="s", skip_first_line=True)
    rr.update({f"mitdb {k}": v for k, v in _mitdb_rr_ms().items()})
    for hr in (60.0, 80.0, 100.0, 120.0):
        for rate in (4.5, 6.0, 7.0):
            rr[f"paced {hr:g} bpm {rate:g}/min 1 ms"] = _paced(hr, rate, 1.0, 0.0)
    print("series                         max corr  its share  (>= 0.5 and >= 0.3: signal)")
    for name, x in rr.items():
        stats = [waveform_steps(w) for w in _windows(x)]
        corr, share = max(stats)
        print(f"RR  {name:28s} {corr:8.2f} {share:10.2f}")
    for rec in ("mitdb100x", "mitdb105x", "mitdb106x", "mitdb108x", "mitdb119x", "mitdb121x"):
        x = _ecg(rec)
        for step in (1, 2, 3):
            corr, share = min(waveform_steps(w) for w in _windows(x[::step]))
            print(f"ECG {rec} {360 // step:3d} Hz{'':12s} {corr:8.2f} {share:10.2f}")


if __name__ == "__main__":
    main()
