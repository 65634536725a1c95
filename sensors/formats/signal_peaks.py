"""R peaks of an ECG and pulse peaks of a PPG (NeuroKit2), shared by the signal readers.

R peaks come from NeuroKit2 (``ecg_clean`` then ``ecg_peaks``, method ``"neurokit"``, no
artefact correction: hrvpace corrects artefacts itself, in :mod:`hrv.clean`); pulse peaks from
``ppg_clean`` and ``ppg_peaks`` (method ``"elgendi"``). Each beat's detector quality (0..1) is
NeuroKit2's quality index at the peak (``ecg_quality`` ``"averageQRS"``, ``ppg_quality``
``"templatematch"``). The beat times ``t_s`` are the peak times, in seconds from the start of
the signal; ``rr_ms`` their differences (:func:`_recording`).

References
----------
Makowski D. et al. (2021). NeuroKit2: a Python toolbox for neurophysiological signal
processing. Behavior Research Methods 53:1689-1696.
Elgendi M. et al. (2013). Systolic peak detection in acceleration photoplethysmograms measured
from emergency responders in tropical conditions. PLoS ONE 8(10):e76585.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sensors.errors import RecordingFormatError
from sensors.formats._common import CONTACT_UNKNOWN, Recording, quote

__all__ = ["detect_pulse_peaks", "detect_r_peaks"]

_INSTALL = "pip install 'hrvpace[ecg]'"
#: Fewer seconds of signal than this cannot give a peak detector its footing.
_MIN_SIGNAL_S = 5.0
_MAX_SAMPLING_RATE_HZ = 20_000.0
#: NeuroKit2's PPG cleaning (Elgendi) band-passes 0.5-8 Hz: the rate must exceed twice 8 Hz.
_MIN_PPG_RATE_HZ = 16.0


def _neurokit(path: str) -> Any:
    try:
        import neurokit2
    except ImportError:
        raise RecordingFormatError(
            f"reading ECG or PPG signals needs NeuroKit2 ({_INSTALL})", path=path
        ) from None
    return neurokit2


def _check_signal(signal: NDArray[np.float64], fs: float, path: str) -> None:
    if not (math.isfinite(fs) and 0 < fs <= _MAX_SAMPLING_RATE_HZ):
        raise RecordingFormatError(
            f"sampling rate must be > 0 and <= {_MAX_SAMPLING_RATE_HZ:g} Hz, got {fs!r}",
            path=path,
        )
    if signal.size < _MIN_SIGNAL_S * fs:
        raise RecordingFormatError(
            f"the signal has {signal.size} samples ({signal.size / fs:.1f} s at {fs:g} Hz); "
            f"beat detection needs at least {_MIN_SIGNAL_S:g} s",
            path=path,
        )
    bad = ~np.isfinite(signal)
    if bad.any():
        first = int(np.argmax(bad))
        raise RecordingFormatError(
            f"the signal has {int(bad.sum())} missing or invalid samples (first at sample "
            f"{first}, {first / fs:.2f} s); beats cannot be detected across them",
            path=path,
        )
    if float(np.ptp(signal)) == 0.0:
        raise RecordingFormatError("the signal is flat: no beats in it", path=path)


def _detect(
    kind: str, signal: NDArray[np.float64], fs: float, path: str
) -> tuple[NDArray[np.int64], NDArray[np.float64], list[str]]:
    nk = _neurokit(path)
    _check_signal(signal, fs, path)
    if kind == "ppg" and not fs > _MIN_PPG_RATE_HZ:
        raise RecordingFormatError(
            f"PPG beat detection needs a sampling rate above {_MIN_PPG_RATE_HZ:g} Hz (its "
            f"0.5-8 Hz band-pass filter), got {fs:g} Hz; check the rate given "
            "(sampling_rate_hz=, the command line's --sampling-rate), or record the PPG faster "
            "(25 Hz and more; see the README on accuracy at low rates)",
            path=path,
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if kind == "ecg":
                clean = nk.ecg_clean(signal, sampling_rate=fs, method="neurokit")
                _, info = nk.ecg_peaks(
                    clean, sampling_rate=fs, method="neurokit", correct_artifacts=False
                )
                peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
            else:
                clean = nk.ppg_clean(signal, sampling_rate=fs)
                _, info = nk.ppg_peaks(clean, sampling_rate=fs, method="elgendi")
                peaks = np.asarray(info["PPG_Peaks"], dtype=np.int64)
        except Exception as exc:  # NeuroKit2 raises many kinds on odd signals
            raise RecordingFormatError(
                f"{kind.upper()} beat detection failed: {quote(str(exc))}", path=path
            ) from exc
        peaks = np.unique(peaks)
        if peaks.size < 2:
            raise RecordingFormatError(
                f"found {peaks.size} {'R' if kind == 'ecg' else 'pulse'} peak(s) in "
                f"{signal.size / fs:.1f} s of signal: not an {kind.upper()} at {fs:g} Hz?",
                path=path,
            )
        try:
            if kind == "ecg":
                index = nk.ecg_quality(clean, rpeaks=peaks, sampling_rate=fs, method="averageQRS")
            else:
                index = nk.ppg_quality(clean, peaks=peaks, sampling_rate=fs, method="templatematch")
            quality = np.clip(np.asarray(index, dtype=np.float64)[peaks], 0.0, 1.0)
        except Exception:  # quality is extra information, never a reason to lose the beats
            quality = np.full(peaks.size, np.nan)
    notes = sorted({str(w.message) for w in caught})
    return peaks, quality, notes


def detect_r_peaks(
    ecg: NDArray[np.float64], sampling_rate_hz: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """R peaks of an ECG with NeuroKit2, and the detector's quality (0..1) at each.

    Parameters
    ----------
    ecg
        The ECG samples (any unit), at least 5 s, no NaN.
    sampling_rate_hz
        Samples per second.

    Returns
    -------
    tuple
        Sample indices of the R peaks (sorted, unique) and NeuroKit2's ``averageQRS`` quality
        at each (NaN where it could not be computed).

    Raises
    ------
    RecordingFormatError
        NeuroKit2 missing, too short, invalid samples, a flat signal, or fewer than 2 peaks.

    References
    ----------
    Makowski D. et al. (2021). NeuroKit2. Behavior Research Methods 53:1689-1696.
    """
    peaks, quality, _ = _detect("ecg", np.asarray(ecg, dtype=np.float64), sampling_rate_hz, "")
    return peaks, quality


def detect_pulse_peaks(
    ppg: NDArray[np.float64], sampling_rate_hz: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Systolic peaks of a PPG with NeuroKit2 (Elgendi 2013), and the quality at each.

    References
    ----------
    Elgendi M. et al. (2013). PLoS ONE 8(10):e76585.
    """
    peaks, quality, _ = _detect("ppg", np.asarray(ppg, dtype=np.float64), sampling_rate_hz, "")
    return peaks, quality


def _recording(
    peaks: NDArray[np.int64],
    fs: float,
    *,
    source_format: str,
    quality: NDArray[np.float64] | None,
    meta: dict[str, Any],
) -> Recording:
    t = peaks.astype(np.float64) / fs
    n = peaks.size - 1
    return Recording(
        rr_ms=np.diff(t) * 1000.0,
        t_s=t[1:],
        gaps=np.zeros(n, dtype=bool),
        contact=np.full(n, CONTACT_UNKNOWN, dtype=np.int8),
        source_format=source_format,
        start_s=float(t[0]),
        quality=None if quality is None else quality[1:],
        meta=meta,
    )


@contextlib.contextmanager
def _library_warnings_off() -> Iterator[None]:
    """Wfdb's own deprecation warnings (pandas, numpy) are not the reader's concern."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
