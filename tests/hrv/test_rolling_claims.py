"""What README says of ``hrv.rolling``'s windows versus the single-window functions (review).

README claimed a window's values are "exactly the single-window functions' on its beats". That
holds for the time domain and the nonlinear metrics; the spectral ones equal
``frequency_domain``/``coherence`` only with ``t_s=`` the recording's clock and
``span_s=window_s``, and differ without (README now says so). Both halves are checked here.
"""

from __future__ import annotations

import numpy as np
import pytest

import hrv


def _window(rr: np.ndarray, w: dict[str, np.ndarray], k: int) -> np.ndarray:
    t = np.cumsum(rr) / 1000.0
    end = float(w["t_s"][k])
    return (t > end - 300.0) & (t <= end)


def test_spectral_values_need_the_recordings_clock_and_the_window_span() -> None:
    rng = np.random.default_rng(3)
    k_beat = np.arange(1200)
    rr = np.round(900.0 + 60.0 * np.sin(k_beat * 0.6) + 20.0 * rng.standard_normal(1200), 3)
    w = hrv.rolling(rr, window_s=300.0, step_s=10.0)
    t = np.cumsum(rr) / 1000.0
    k = 5
    sel = _window(rr, w, k)
    assert float(np.sum(rr[sel])) / 1000.0 < 300.0  # this window's intervals: under 300 s
    # time domain and nonlinear: the slice as it is
    assert w["rmssd_ms"][k] == hrv.time_domain(rr[sel]).rmssd_ms
    # rolling DFA and dfa_alpha1 are two codes of one definition: equal to the last bits (an
    # exact equality held on this window by chance, on 17 of 79 windows)
    assert w["dfa_alpha1"][k] == pytest.approx(hrv.dfa_alpha1(rr[sel]).alpha1, rel=1e-12, abs=0.0)
    # spectral: with the recording's clock and span_s=window_s, equal
    fd = hrv.frequency_domain(rr[sel], t_s=t[sel], span_s=300.0)
    # (to the last bits: the batched sums run in another order)
    for name in ("vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf", "lf_peak_hz"):
        assert w[name][k] == pytest.approx(getattr(fd, name), rel=1e-12, abs=0.0), name
    co = hrv.coherence(rr[sel], t_s=t[sel]).ratio
    assert w["coherence_ratio"][k] == pytest.approx(co, rel=1e-12, abs=0.0)
    # ... on the slice alone, not: another grid (its span, the beats' plus one interval,
    # still stands for 5 min, so VLF is reported, but of another grid)
    alone = hrv.frequency_domain(rr[sel])
    assert alone.lf_ms2 is not None and alone.vlf_ms2 is not None
    assert abs(alone.lf_ms2 / w["lf_ms2"][k] - 1.0) > 1e-6
    assert abs(alone.vlf_ms2 / w["vlf_ms2"][k] - 1.0) > 1e-6
    # a whole interval fewer: no 5 min
    assert hrv.frequency_domain(rr[sel][:-2]).vlf_ms2 is None
    assert abs(hrv.coherence(rr[sel]).ratio / w["coherence_ratio"][k] - 1.0) > 1e-6
