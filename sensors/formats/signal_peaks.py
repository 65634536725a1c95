"""R peaks of an ECG and pulse peaks of a PPG (NeuroKit2), shared by the signal readers.

R peaks come from NeuroKit2 (``ecg_clean`` then ``ecg_peaks``, method ``"neurokit"``, no
artefact correction: hrvpace corrects artefacts itself, in :mod:`hrv.clean`); pulse peaks from
``ppg_clean`` and ``ppg_peaks`` (method ``"elgendi"``). Each beat's detector quality (0..1) is
NeuroKit2's ``templatematch`` quality at the peak (``ecg_quality``, ``ppg_quality``: the beat's
correlation with the signal's average beat). A signal whose beat quality (ECG: 75th percentile,
so frequent ectopic beats do not count against it, and 0.9 with fewer than 30 R peaks a
minute; PPG: median) is below :data:`DETECTOR_QUALITY_FLOOR` is refused: it does not look like
an ECG/PPG (noise, an EEG channel chosen by mistake). The beat times ``t_s`` are the peak
times, in seconds from the start of the signal; ``rr_ms`` their differences
(:func:`_recording`). An ECG upside down is turned before detection (:func:`ecg_is_inverted`);
the readers say so in ``meta["inverted"]`` and ``meta["signal_notes"]`` (:data:`INVERTED_NOTE`,
which ``hrvpace analyze`` adds to ``read_as``).

References
----------
Makowski D. et al. (2021). NeuroKit2: a Python toolbox for neurophysiological signal
processing. Behavior Research Methods 53:1689-1696.
Elgendi M. et al. (2013). Systolic peak detection in acceleration photoplethysmograms measured
from emergency responders in tropical conditions. PLoS ONE 8(10):e76585.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv.errors import install_hint
from sensors.errors import RecordingFormatError
from sensors.formats._common import CONTACT_UNKNOWN, Recording, quote
from sensors.formats.text import s_to_ms

__all__ = [
    "DETECTOR_QUALITY_FLOOR",
    "INVERTED_NOTE",
    "LOW_QUALITY_ECG_NOTE",
    "detect_pulse_peaks",
    "detect_r_peaks",
    "ecg_is_inverted",
    "leave_out_low_quality",
    "templatematch_at_peaks",
]

_INSTALL = install_hint("ecg")
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


#: Detector quality (NeuroKit2's ``templatematch``: each beat's correlation with the signal's
#: average beat, 0..1) below which a beat does not look like the signal's own beats: per kind.
#: A signal whose beats are below it (ECG: the 75th percentile, PPG: the median;
#: :data:`_LOOKS_LIKE_PERCENTILE`) is refused as not an ECG/PPG, and stretches where
#: the median of 5 beats is below it are left out of a PPG and said of an ECG
#: (:func:`leave_out_low_quality`: of the PPG with 20 s of 2.2-Hz motion, 19 s; none of the
#: real ECG excerpts 100, 119, 121, 123 nor of the simulated PPG; 80 s of the noisy 105, 15 s
#: of 106 around its runs of ventricular beats, 2 s of 108; simulated PPG with a very irregular
#: rhythm, 1.5 s). Measured (median per
#: signal): real ECG (MIT-BIH excerpts 100-123, at 360 and 130 Hz, both EDF leads) 0.74-0.99,
#: NeuroKit2-simulated ECG with noise up to 0.5 mV 0.79-0.99, Gaussian, brown, pink and
#: low-passed noise read as ECG 0.11-0.49; simulated PPG (motion, bursts) 0.99, PPG with 20 s of
#: motion in 5 min 0.91, noise read as PPG 0.58-0.67 (but noise low-passed at 3 Hz 0.85-0.87:
#: smooth noise looks like pulses and is not refused).
DETECTOR_QUALITY_FLOOR: dict[str, float] = {"ecg": 0.6, "ppg": 0.85}

#: Polarity is judged on the signal decimated to at most this rate, in stretches of at most
#: :data:`_POLARITY_CHUNK_S`: NeuroKit2's ``ecg_invert`` squares a 2-s sliding window of every
#: sample (memory grows with samples x window), and the QRS complex lies well below 125 Hz.
_POLARITY_MAX_HZ = 250.0
_POLARITY_CHUNK_S = 60.0
#: What a reading says when it detected on the inverted signal (``read_as``, notes, live).
INVERTED_NOTE = "signal inverted (leads reversed?): detected on the inverted signal"


#: Share of the judged signal whose stretches must vote inverted for an ECG to be turned: only a
#: clear verdict turns it (turning an upright ECG puts every beat ~35 ms late). Measured (share
#: of the judged signal whose stretches vote inverted, :func:`_polarity_votes` as shipped, flat
#: stretches not voting): upright MIT-BIH full records 100, 102, 105, 106, 116, 119 0.00, 104
#: 0.24, 108 0.27, 200 0.66 (bigeminy), 114 0.67; the same records negated (truly inverted)
#: 1.00 except 104 0.76 and 108 0.73 (left upright: a stretch-by-stretch coin is no
#: verdict); the 5-min excerpts 100, 105, 106, 119, 121, 123
#: (MLII) 0.00 upright and 1.00 negated, 108 0.60 upright and 0.40 negated.
INVERTED_SHARE = 0.8
#: A stretch whose amplitude (1st to 99th percentile) is below this share of the median
#: stretch's is flat or nearly (lead off, zeros written while disconnected): it does not vote.
_FLAT_SHARE = 0.2


def _polarity_votes(signal: NDArray[np.float64], fs: float, nk: Any) -> tuple[float, float]:
    """Seconds of ``signal`` voting inverted and seconds judged (flat stretches do not vote)."""
    step = max(1, math.ceil(fs / _POLARITY_MAX_HZ))
    if step > 1:
        from scipy.signal import decimate

        x = decimate(signal, step, ftype="fir", zero_phase=True)
    else:
        x = signal
    rate = fs / step
    chunk = max(int(_POLARITY_CHUNK_S * rate), 1)
    parts = [
        x[lo : lo + chunk]
        for lo in range(0, x.size, chunk)
        if x[lo : lo + chunk].size >= 4.0 * rate  # a short tail: too little to judge
    ]
    amplitude = np.array([float(np.ptp(np.percentile(p, [1.0, 99.0]))) for p in parts])
    live = amplitude[amplitude > 0.0]
    if live.size == 0:
        return 0.0, 0.0
    least = _FLAT_SHARE * float(np.median(live))
    votes = 0.0
    total = 0.0
    for part, amp in zip(parts, amplitude, strict=True):
        if not (amp > 0.0 and amp >= least):
            continue
        _, inverted = nk.ecg_invert(part, sampling_rate=rate)
        votes += part.size / rate if inverted else 0.0
        total += part.size / rate
    return votes, total


def ecg_is_inverted(signal: NDArray[np.float64], fs: float, nk: Any) -> bool:
    """Whether an ECG is clearly upside down (leads reversed, strap worn the other way round).

    NeuroKit2's ``ecg_invert`` votes (the cleaned signal's value at the largest squared
    deflection of each 2-s window; inverted when their median is negative) on stretches of at
    most 60 s of the signal decimated to at most 250 Hz (memory); flat or nearly flat stretches
    (amplitude below 0.2 of the median stretch's: lead off) do not vote. The ECG is inverted
    only when stretches covering at least :data:`INVERTED_SHARE` (80 %) of the judged signal
    vote so: an ECG whose stretches disagree (MIT-BIH 200 with its bigeminy, 114, 108: upright,
    and detected worse when turned) stays as it is. The measurements are at
    :data:`INVERTED_SHARE`.
    """
    votes, total = _polarity_votes(signal, fs, nk)
    return total > 0.0 and votes >= INVERTED_SHARE * total


def templatematch_at_peaks(
    clean: NDArray[np.float64], peaks: NDArray[np.int64], fs: float, nk: Any
) -> NDArray[np.float64] | None:
    """NeuroKit2's ``templatematch`` quality at each of ``peaks``, vectorised, or ``None``.

    The same computation as ``nk.ecg_quality``/``nk.ppg_quality`` with
    ``method="templatematch"`` (NeuroKit2 0.3: ``signal_quality`` ->
    ``_quality_templatematch``), without its pandas frame built one epoch at a time (~0.9 CPU-s
    of a 5-min 360-Hz ECG; this takes ~3 ms). Each beat is the window of ``60 / mean rate`` s
    centred on its peak (``signal_cyclesegment``: the mean of ``nk.signal_rate`` over the
    signal), cut as ``epochs_create`` cuts it (sample indices truncated from the same float
    sums, windows reaching past either end of the signal left out); the template is the mean
    of the beats kept; each kept beat but the last gets the Pearson correlation of its window
    with the template, and a peak takes the value of the last kept beat at or before it (the
    first kept beat's before the first, ``signal_interpolate`` with ``method="previous"``).
    Equal to NeuroKit2's to 1e-9 (tests/sensors/test_templatematch.py compares them on the
    MIT-BIH excerpts and simulated ECG, PPG and noise; measured differences ~3e-15).

    ``None`` where NeuroKit2 would take another path or raise (fewer than 3 peaks, under 4 s of
    signal, windows of unequal length, fewer than 2 whole beats): the caller then asks
    NeuroKit2 itself.

    References
    ----------
    Orphanidou C. et al. (2015). Signal-quality indices for the electrocardiogram and
    photoplethysmogram: derivation and applications to wireless monitoring. IEEE J Biomed
    Health Inform 19(3):832-838.
    Makowski D. et al. (2021). NeuroKit2: a Python toolbox for neurophysiological signal
    processing. Behavior Research Methods 53:1689-1696.
    """
    n = clean.shape[0]
    if peaks.shape[0] < 3 or n < fs * 4:
        return None
    rate = float(np.mean(nk.signal_rate(peaks, sampling_rate=fs, desired_length=n)))
    window_s = 60 / rate
    start_s, end_s = -(0.5 * window_s), (1 - 0.5) * window_s
    buffer = int((end_s - start_s) * fs)
    onsets = peaks + buffer
    first = (onsets + start_s * fs).astype(np.int64)
    last = (onsets + end_s * fs).astype(np.int64)
    length = int(last[0] - first[0])
    if length < 2 or not bool(np.all(last - first == length)):
        return None
    padded = np.concatenate([np.full(buffer, np.nan), clean, np.full(buffer, np.nan)])
    cycles = padded[first[:, None] + np.arange(length)]
    whole = ~np.isnan(cycles).any(axis=1)
    cycles, kept = cycles[whole], peaks[whole]
    if kept.shape[0] < 2:
        return None
    template = cycles.mean(axis=0)
    beats = cycles[:-1] - cycles[:-1].mean(axis=1, keepdims=True)
    centred = template - template.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = (beats @ centred) / np.sqrt(
            np.einsum("ij,ij->i", beats, beats) * float(centred @ centred)
        )
    cc = np.clip(cc, -1.0, 1.0)
    k = np.searchsorted(kept[:-1], peaks, side="right") - 1
    result: NDArray[np.float64] = cc[np.clip(k, 0, cc.shape[0] - 1)]
    return result


def _detect(
    kind: str, signal: NDArray[np.float64], fs: float, path: str
) -> tuple[NDArray[np.int64], NDArray[np.float64], list[str], bool]:
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
    inverted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if kind == "ecg":
                inverted = ecg_is_inverted(signal, fs, nk)
                if inverted:
                    signal = -signal
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
            at_peaks = templatematch_at_peaks(np.asarray(clean, dtype=np.float64), peaks, fs, nk)
            if at_peaks is None:  # a case the vectorised form does not cover: NeuroKit2's own
                if kind == "ecg":
                    index = nk.ecg_quality(
                        clean, rpeaks=peaks, sampling_rate=fs, method="templatematch"
                    )
                else:
                    index = nk.ppg_quality(
                        clean, peaks=peaks, sampling_rate=fs, method="templatematch"
                    )
                at_peaks = np.asarray(index, dtype=np.float64)[peaks]
            quality = np.clip(at_peaks, 0.0, 1.0)
        except Exception:  # quality is extra information, never a reason to lose the beats
            quality = np.full(peaks.size, np.nan)
    _check_looks_like(kind, quality, path, duration_s=signal.size / fs)
    notes = sorted({str(w.message) for w in caught})
    return peaks, quality, notes, inverted


#: The percentile of the beats' detector quality that must reach the floor, per kind. ECG: the
#: 75th, so that up to half the beats of another shape (ventricular bigeminy, trigeminy) do not
#: refuse a real ECG: simulated bigeminy gave a median of 0.23-0.60 but a 75th percentile of
#: 0.94-0.96, trigeminy 0.50-0.79 and 0.77-0.88; noise read as ECG (Gaussian, brown, pink,
#: low-passed at 10-40 Hz; 128, 130 and 360 Hz) a 75th percentile of 0.21-0.54, below 0.6.
#: PPG: the median, as before (noise read as PPG reaches 0.67-0.80 at its 75th percentile,
#: too near its floor of 0.85).
_LOOKS_LIKE_PERCENTILE: dict[str, float] = {"ecg": 75.0, "ppg": 50.0}

#: An ECG whose R peaks come fewer than this many a minute (no heart beats so slowly: mostly no
#: ECG) must reach :data:`_SPARSE_ECG_FLOOR` at its 75th percentile instead. With few peaks the
#: template is the average of a dozen or two and matches them better: 60 s of EEG-like noise (1/f
#: with bursts of alpha; 128-500 Hz, 36 signals) gave 12-22 peaks a minute and a 75th percentile
#: up to 0.82 (5 of 36 at 0.62-0.82, above 0.6), and their median up to 0.63, so neither the
#: median nor both would refuse them, while simulated bigeminy of 30 s has a median of 0.20.
#: ECGs come at 50-88 peaks a minute (MIT-BIH 100-123) and their 75th percentile is 0.86-1.00
#: (bigeminy 0.94, trigeminy 0.77, both at 68-70 a minute).
_SPARSE_ECG_PER_MIN = 30.0
_SPARSE_ECG_FLOOR = 0.9


def _check_looks_like(
    kind: str, quality: NDArray[np.float64], path: str, *, duration_s: float
) -> None:
    """Refuse a signal whose beats do not match the template (noise, another signal).

    ECG: the 75th percentile of the beats' quality is below the floor (below
    :data:`_SPARSE_ECG_FLOOR` when fewer than :data:`_SPARSE_ECG_PER_MIN` peaks a minute were
    found); PPG: the median (:data:`_LOOKS_LIKE_PERCENTILE`).
    """
    finite = quality[np.isfinite(quality)]
    if finite.size == 0:
        return  # the quality could not be computed: no grounds to refuse
    pct = _LOOKS_LIKE_PERCENTILE[kind]
    value = float(np.percentile(finite, pct))
    floor = DETECTOR_QUALITY_FLOOR[kind]
    per_min = quality.size / duration_s * 60.0 if duration_s > 0 else np.inf
    sparse = kind == "ecg" and per_min < _SPARSE_ECG_PER_MIN
    if sparse:
        floor = _SPARSE_ECG_FLOOR
    if value < floor:
        what = "an ECG" if kind == "ecg" else "a PPG"
        which = "the median" if pct == 50.0 else f"the {pct:.0f}th percentile"
        ectopy = ", or frequent beats of another shape (ectopy)" if kind == "ecg" else ""
        raise RecordingFormatError(
            f"does not look like {what} (detector quality {value:.2f}, {which} over "
            f"{quality.size} {'R' if kind == 'ecg' else 'pulse'} peaks found; {what}'s is at "
            f"least {floor:g}"
            + (f" with fewer than {_SPARSE_ECG_PER_MIN:g} peaks a minute" if sparse else "")
            + f"): noise, or another signal{ectopy}? (channel=, the command "
            "line's --channel, chooses the signal)",
            path=path,
        )


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
        Sample indices of the R peaks (sorted, unique) and NeuroKit2's ``templatematch``
        quality at each (NaN where it could not be computed). An inverted ECG is detected on the
        signal turned upright (:func:`ecg_is_inverted`).

    Raises
    ------
    RecordingFormatError
        NeuroKit2 missing, too short, invalid samples, a flat signal, fewer than 2 peaks, or a
        signal that does not look like an ECG (75th percentile of detector quality below
        :data:`DETECTOR_QUALITY_FLOOR`).

    References
    ----------
    Makowski D. et al. (2021). NeuroKit2. Behavior Research Methods 53:1689-1696.
    """
    peaks, quality, _, _ = _detect("ecg", np.asarray(ecg, dtype=np.float64), sampling_rate_hz, "")
    return peaks, quality


def detect_pulse_peaks(
    ppg: NDArray[np.float64], sampling_rate_hz: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Systolic peaks of a PPG with NeuroKit2 (Elgendi 2013), and the quality at each.

    References
    ----------
    Elgendi M. et al. (2013). PLoS ONE 8(10):e76585.
    """
    peaks, quality, _, _ = _detect("ppg", np.asarray(ppg, dtype=np.float64), sampling_rate_hz, "")
    return peaks, quality


def _recording(
    peaks: NDArray[np.int64],
    fs: float,
    *,
    source_format: str,
    quality: NDArray[np.float64] | None,
    meta: dict[str, Any],
    kind: str = "ecg",
) -> Recording:
    t = peaks.astype(np.float64) / fs
    n = peaks.size - 1
    if quality is not None:
        meta = {**meta, "detector_quality_floor": DETECTOR_QUALITY_FLOOR[kind], "signal_kind": kind}
    return Recording(
        rr_ms=s_to_ms(np.diff(t)),  # rounded to 1 ns: 50 ms at 100 Hz is 50.0, not 50.000001
        t_s=t[1:],
        gaps=np.zeros(n, dtype=bool),
        contact=np.full(n, CONTACT_UNKNOWN, dtype=np.int8),
        source_format=source_format,
        start_s=float(t[0]),
        quality=None if quality is None else quality[1:],
        meta=meta,
    )


#: What an ECG's reading says of its stretches of low detector quality (kept, not left out).
LOW_QUALITY_ECG_NOTE = (
    "{s:.0f} s of ECG with low detector quality (noise, or beats of another shape such as "
    "ventricular ectopy)"
)

#: Beats around each beat whose median detector quality decides it (a lone odd beat, such as a
#: premature ventricular one, is the correction's to label; a stretch is left out).
_QUALITY_SPAN_BEATS = 5


def leave_out_low_quality(rec: Recording) -> tuple[Recording, float]:
    """``rec`` without its PPG stretches of low detector quality, and the seconds left out.

    A beat is of low quality when the median detector quality (``Recording.quality``) of the 5
    beats around it is below the signal's floor (``meta["detector_quality_floor"]``:
    :data:`DETECTOR_QUALITY_FLOOR`, 0.6 for ECG, 0.85 for PPG). PPG (``meta["signal_kind"]``):
    an interval that ends or starts at such a beat is left out, and the next interval kept
    follows a gap (``gaps``), so no successive difference is taken across it (motion: a PPG
    with 20 s of 2.2-Hz motion gave 44 "beats" there). Beat times stay on the recording's clock
    (``start_s`` unchanged). ``meta["low_quality_left_out_s"]`` holds the seconds left out and
    ``meta["signal_notes"]`` says so (``analyze``'s ``read_as``).

    ECG: nothing is left out (returned with 0); ``meta["signal_notes"]`` says how many seconds
    have low detector quality (:data:`LOW_QUALITY_ECG_NOTE`). In an ECG such stretches are
    mostly runs of beats of another shape, correctly detected (MIT-BIH 106: 97.6 % of the
    intervals it left out ended on true beats), which the artefact correction
    (:func:`hrv.clean`) labels; leaving them out lost real beats. A recording without detector
    quality (RR files, reference annotations) is returned as it is, with 0.

    This is the *detector's* quality (how much each beat looks like the signal's average beat);
    a summary's ``quality`` is another thing: the share of intervals the artefact correction
    (:func:`hrv.clean`) labelled normal.

    References
    ----------
    Orphanidou C. et al. (2015). Signal-quality indices for the electrocardiogram and
    photoplethysmogram: derivation and applications to wireless monitoring. IEEE J Biomed
    Health Inform 19(3):832-838 (template matching, as NeuroKit2's ``templatematch``).
    """
    floor = rec.meta.get("detector_quality_floor")
    if rec.quality is None or floor is None or len(rec) == 0:
        return rec, 0.0
    from scipy.ndimage import median_filter

    q = np.where(np.isfinite(rec.quality), rec.quality, 1.0)  # unknown: no grounds to drop
    low = median_filter(q, size=_QUALITY_SPAN_BEATS, mode="nearest") < float(floor)
    drop = low.copy()
    drop[1:] |= low[:-1]  # the interval's first beat is the previous interval's last
    if not drop.any():
        return rec, 0.0
    if rec.meta.get("signal_kind", "ppg" if rec.source_format == "ppg_csv" else "ecg") != "ppg":
        low_s = float(np.sum(rec.rr_ms[drop])) / 1000.0
        notes = (*tuple(rec.meta.get("signal_notes") or ()), LOW_QUALITY_ECG_NOTE.format(s=low_s))
        return dataclasses.replace(rec, meta={**rec.meta, "signal_notes": notes}), 0.0
    keep = ~drop
    left_out_s = float(np.sum(rec.rr_ms[drop])) / 1000.0
    # a kept interval follows a gap when an interval before it (since the previous kept one)
    # was left out, or when it already did
    dropped_before = np.cumsum(drop)
    index = np.flatnonzero(keep)
    gaps = rec.gaps[index].copy()
    gaps[1:] |= dropped_before[index[1:]] > dropped_before[index[:-1]]
    if index.size:
        gaps[0] = False
    note = f"{left_out_s:.0f} s of signal below detector quality {float(floor):g} left out"
    return (
        Recording(
            rr_ms=rec.rr_ms[index].copy(),
            t_s=rec.t_s[index].copy(),
            gaps=gaps,
            contact=rec.contact[index].copy(),
            source_format=rec.source_format,
            arrived_at=None if rec.arrived_at is None else rec.arrived_at[index].copy(),
            heart_rate_bpm=None if rec.heart_rate_bpm is None else rec.heart_rate_bpm[index].copy(),
            start_s=rec.start_s,
            quality=rec.quality[index].copy(),
            meta={
                **rec.meta,
                "low_quality_left_out_s": left_out_s,
                "signal_notes": (*tuple(rec.meta.get("signal_notes") or ()), note),
            },
        ),
        left_out_s,
    )


@contextlib.contextmanager
def _library_warnings_off() -> Iterator[None]:
    """Wfdb's own deprecation warnings (pandas, numpy) are not the reader's concern."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
