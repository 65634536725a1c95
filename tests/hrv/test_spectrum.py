"""hrv.power_spectrum is the density the frequency-domain metrics integrate.

Band powers and refined peaks recomputed from the returned arrays equal
:func:`hrv.frequency_domain`'s numbers exactly (same resampling, detrending, segments, gaps and
estimator), on real recordings, with gaps, for every detrending and both estimators.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hrv
from hrv._spectral import refined_peak_hz
from hrv.frequency import HF_BAND_HZ, LF_BAND_HZ, VLF_BAND_HZ
from sensors import read_recording


def _band(spec: hrv.PowerSpectrum, band: tuple[float, float]) -> tuple[float, float]:
    """Power (ms^2) and refined peak (Hz) of one band, from the spectrum's own arrays."""
    assert spec.power_ms2_per_hz is not None
    f, p = spec.freq_hz, spec.power_ms2_per_hz
    inside = np.flatnonzero((f >= band[0]) & (f < band[1]))
    power = float(p[inside].sum() * spec.df_hz)
    k = inside[0] + int(np.argmax(p[inside]))
    peak = float(refined_peak_hz(p[None, :], np.array([k]), f, band)[0])
    return power, peak


@pytest.mark.parametrize("method", ["welch", "lomb"])
@pytest.mark.parametrize("detrend", ["smoothness_priors", "linear", None])
def test_metrics_integrate_the_spectrum(
    shared_data: Path, method: str, detrend: str | None
) -> None:
    rec = read_recording(shared_data / "rrhealthy_000_rr_ms.txt")
    rr = np.asarray(rec.rr_ms[:1500], dtype=np.float64)
    gaps = np.zeros(rr.size, dtype=bool)
    gaps[700] = True  # one real hole: Welch leaves the segments around it out
    spec = hrv.power_spectrum(rr, gaps=gaps, method=method, detrend=detrend)
    fd = hrv.frequency_domain(rr, gaps=gaps, method=method, detrend=detrend)
    lf, lf_peak = _band(spec, LF_BAND_HZ)
    hf, hf_peak = _band(spec, HF_BAND_HZ)
    vlf, _ = _band(spec, VLF_BAND_HZ)
    assert lf == fd.lf_ms2 and hf == fd.hf_ms2 and vlf == fd.vlf_ms2
    assert lf_peak == fd.lf_peak_hz and hf_peak == fd.hf_peak_hz
    assert spec.method == method and spec.detrend == detrend and spec.n_beats == rr.size
    if method == "welch":
        assert spec.df_hz == 4.0 / 512 and spec.resample_hz == 4.0 and spec.segment_s == 128.0
        assert spec.n_segments > 0 and spec.n_segments_left_out > 0
    else:
        assert spec.df_hz == 1.0 / 1024 and spec.resample_hz is None and spec.n_segments == 0
    assert spec.smoothness_lambda == (500.0 if detrend == "smoothness_priors" else None)


def test_a_window_of_rolling_is_the_spectrum_of_its_beats(shared_data: Path) -> None:
    """A 5-min window of :func:`hrv.rolling` integrates the power_spectrum of the window's beats
    (with their beat times on the recording's clock)."""
    rec = read_recording(shared_data / "rrhealthy_007_rr_ms.txt")
    rr = np.asarray(rec.rr_ms[:2000], dtype=np.float64)
    t = np.cumsum(rr) / 1000.0
    cols = hrv.rolling(rr, window_s=300.0, step_s=60.0, metrics=("frequency",))
    k = 3
    end = float(cols["t_s"][k])
    sel = (t > end - 300.0) & (t <= end)
    spec = hrv.power_spectrum(rr[sel], t_s=t[sel])
    lf, lf_peak = _band(spec, LF_BAND_HZ)
    assert lf == pytest.approx(float(cols["lf_ms2"][k]), rel=1e-9)
    assert lf_peak == pytest.approx(float(cols["lf_peak_hz"][k]), rel=1e-9)


def test_too_short_gives_no_density_and_read_only_arrays() -> None:
    short = hrv.power_spectrum(np.full(30, 800.0))
    assert short.power_ms2_per_hz is None and short.n_segments == 0 and short.n_beats == 30
    assert short.freq_hz[0] == 0.0 and short.freq_hz[-1] < 0.4
    rng = np.random.default_rng(1)
    spec = hrv.power_spectrum(800.0 + 30.0 * rng.standard_normal(400))
    assert spec.power_ms2_per_hz is not None
    assert spec.power_ms2_per_hz.shape == spec.freq_hz.shape
    with pytest.raises(ValueError):
        spec.power_ms2_per_hz[0] = 1.0
    with pytest.raises(hrv.HrvInputError, match="method"):
        hrv.power_spectrum(np.full(400, 800.0), method="fft")
    with pytest.raises(hrv.HrvInputError, match="detrend"):
        hrv.power_spectrum(np.full(400, 800.0), detrend="quadratic")
