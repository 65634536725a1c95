"""Beats from ECG and PPG signal recordings (private; use ``sensors.read_recording``).

Formats:

- ``wfdb``: a PhysioNet WFDB record (``NAME.hea`` header and its signal file), read with the
  ``wfdb`` package. When a reference annotation file ``NAME.atr`` is next to it, its beat labels
  are the beats (``meta["beats_from"]`` says so); otherwise R peaks are detected in the chosen
  channel.
- ``ecg_csv`` / ``ppg_csv``: one signal column of a CSV or text file (a header row is allowed;
  ``,``, ``;`` or tab separated), at the ``sampling_rate_hz`` the caller states (a signal file
  does not say it).

R peaks come from NeuroKit2 (``ecg_clean`` then ``ecg_peaks``, method ``"neurokit"``, no
artefact correction: hrvpace corrects artefacts itself, in :mod:`hrv.clean`); pulse peaks from
``ppg_clean`` and ``ppg_peaks`` (method ``"elgendi"``). Each beat's detector quality (0..1) is
NeuroKit2's quality index at the peak (``ecg_quality`` ``"averageQRS"``, ``ppg_quality``
``"templatematch"``). The beat times ``t_s`` are the peak times, in seconds from the start of
the signal; ``rr_ms`` their differences.

How good the detection is, measured, not assumed: on MIT-BIH Arrhythmia record 100 (30 min,
360 Hz, lead MLII) against the cardiologists' reference labels, tolerance 75 ms,
:func:`compare_beats` gives sensitivity 99.87 % (2,270 of 2,273 beats) and positive
predictivity 100.00 % (README, "Sensors"; ``python -m bench.ecg_detection``).

NeuroKit2 and wfdb are in the ``ecg`` extra (``pip install 'hrvpace[ecg]'``); without them
these formats raise :class:`sensors.RecordingFormatError` saying what to install.

References
----------
Makowski D. et al. (2021). NeuroKit2: a Python toolbox for neurophysiological signal
processing. Behavior Research Methods 53:1689-1696.
Moody G.B., Mark R.G. (2001). The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol
20(3):45-50.
ANSI/AAMI EC57:2012. Testing and reporting performance results of cardiac rhythm and ST segment
measurement algorithms (beat-by-beat sensitivity and positive predictivity).
Elgendi M. et al. (2013). Systolic peak detection in acceleration photoplethysmograms measured
from emergency responders in tropical conditions. PLoS ONE 8(10):e76585.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    CONTACT_UNKNOWN,
    MAX_RECORDING_BYTES,
    Recording,
    quote,
    read_text,
)

__all__ = [
    "BEAT_SYMBOLS",
    "BeatComparison",
    "compare_beats",
    "detect_pulse_peaks",
    "detect_r_peaks",
    "read_ecg_csv",
    "read_edf",
    "read_ppg_csv",
    "read_wfdb",
]

#: WFDB annotation codes that mark a beat (PhysioNet, "Annotation codes"); others (rhythm
#: changes ``+``, noise ``~``, comments) are not beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
_INSTALL = "pip install 'hrvpace[ecg]'"
#: Fewer seconds of signal than this cannot give a peak detector its footing.
_MIN_SIGNAL_S = 5.0
_MAX_SAMPLING_RATE_HZ = 20_000.0
#: Median beat interval of a signal recording: 250 ms - 3 s (240 - 20 bpm); outside, the
#: sampling rate given is most likely wrong.
_MIN_MEDIAN_BEAT_MS, _MAX_MEDIAN_BEAT_MS = 250.0, 3000.0


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


# -- CSV -------------------------------------------------------------------------------------------


def _read_signal_csv(path: str, channel: str | int | None) -> tuple[NDArray[np.float64], str]:
    text = read_text(path)
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    if "\t" in sample and sample.count("\t") > sample.count(delimiter):
        delimiter = "\t"
    rows = [
        (i + 1, row) for i, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter))
    ]
    rows = [(n, [c.strip() for c in r]) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise RecordingFormatError("the file is empty", path=path)
    header: list[str] | None = None
    first_line, first = rows[0]
    try:
        [float(c) for c in first]
    except ValueError:
        header, rows = first, rows[1:]
    width = len(header) if header is not None else len(rows[0][1]) if rows else 0
    if channel is None:
        if width != 1:
            names = ", ".join(header) if header else f"{width} unnamed columns"
            raise RecordingFormatError(
                f"expected one signal column, found {width} ({quote(names)}): choose one with "
                "channel= (the command line's --channel; a column name or 0-based index)",
                path=path,
                line=first_line,
            )
        col = 0
    elif isinstance(channel, int):
        col = channel
    elif header is not None and channel in header:
        col = header.index(channel)
    else:
        raise RecordingFormatError(
            f"no column named {quote(str(channel))}"
            + (f"; columns: {quote(', '.join(header))}" if header else " (the file has no header)")
            + " (channel=, the command line's --channel)",
            path=path,
        )
    if not 0 <= col < max(width, 1):
        raise RecordingFormatError(
            f"column index {col} is out of range: the file has {width} column(s) (channel=, the "
            "command line's --channel)",
            path=path,
        )
    values = np.empty(len(rows), dtype=np.float64)
    for k, (line, row) in enumerate(rows):
        if col >= len(row):
            raise RecordingFormatError(
                f"the row has {len(row)} column(s), column {col} is missing", path=path, line=line
            )
        try:
            values[k] = float(row[col])
        except ValueError:
            raise RecordingFormatError(
                f"not a number: {quote(row[col])}", path=path, line=line
            ) from None
    name = header[col] if header is not None else f"column {col}"
    return values, name


def _read_csv(
    kind: str, path: str, sampling_rate_hz: float | None, channel: str | int | None
) -> Recording:
    if sampling_rate_hz is None:
        raise RecordingFormatError(
            f"an {kind}_csv file does not say its sampling rate: give it (sampling_rate_hz=, "
            "the command line's --sampling-rate)",
            path=path,
        )
    _neurokit(path)
    signal, name = _read_signal_csv(path, channel)
    peaks, quality, notes = _detect(kind, signal, float(sampling_rate_hz), path)
    median_ms = float(np.median(np.diff(peaks))) / float(sampling_rate_hz) * 1000.0
    if not _MIN_MEDIAN_BEAT_MS <= median_ms <= _MAX_MEDIAN_BEAT_MS:
        raise RecordingFormatError(
            f"the median beat interval is {median_ms:.0f} ms at {float(sampling_rate_hz):g} Hz "
            f"(a heart rate of {60_000 / median_ms:.0f} bpm): is the sampling rate right? "
            "(sampling_rate_hz=, the command line's --sampling-rate)",
            path=path,
        )
    detector = (
        "NeuroKit2 ecg_peaks (neurokit)" if kind == "ecg" else "NeuroKit2 ppg_peaks (elgendi)"
    )
    return _recording(
        peaks,
        float(sampling_rate_hz),
        source_format=f"{kind}_csv",
        quality=quality,
        meta={
            "path": path,
            "sampling_rate_hz": float(sampling_rate_hz),
            "channel": name,
            "beats_from": f"detected: {detector}",
            "detector_notes": tuple(notes),
        },
    )


def read_ecg_csv(
    path: str, *, sampling_rate_hz: float | None = None, channel: str | int | None = None
) -> Recording:
    """Beats (R peaks) of a one-column ECG CSV at ``sampling_rate_hz``."""
    return _read_csv("ecg", path, sampling_rate_hz, channel)


def read_ppg_csv(
    path: str, *, sampling_rate_hz: float | None = None, channel: str | int | None = None
) -> Recording:
    """Beats (systolic peaks) of a one-column PPG CSV at ``sampling_rate_hz``."""
    return _read_csv("ppg", path, sampling_rate_hz, channel)


# -- WFDB ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _library_warnings_off() -> Iterator[None]:
    """Wfdb's own deprecation warnings (pandas, numpy) are not the reader's concern."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _record_stem(path: str) -> Path:
    p = Path(path)
    if p.suffix.lower() in (".hea", ".dat", ".atr", ".mat"):
        p = p.with_suffix("")
    return p


def read_wfdb(
    path: str,
    *,
    channel: str | int | None = None,
    beats: str = "auto",
    sampling_rate_hz: float | None = None,
) -> Recording:
    """Beats of a PhysioNet WFDB record: its reference annotations, or R peaks detected.

    Parameters
    ----------
    path
        The record's header (``NAME.hea``), signal file or ``NAME`` without a suffix.
    channel
        The signal to detect beats in: its name in the header (``"MLII"``) or 0-based index;
        default: the first channel.
    beats
        ``"auto"``: the reference annotations ``NAME.atr`` when present, else detection;
        ``"annotations"``: the annotations (an error without them); ``"detect"``: always
        detect R peaks (to measure the detector against the annotations).
    sampling_rate_hz
        Must match the header when given (the header states the rate).
    """
    if beats not in ("auto", "annotations", "detect"):
        raise ValueError(f"beats must be 'auto', 'annotations' or 'detect', got {beats!r}")
    stem = _record_stem(path)
    header = stem.with_suffix(".hea")
    if not header.is_file():
        raise RecordingFormatError("no WFDB header (.hea) for this record", path=str(header))
    try:
        with _library_warnings_off():
            import wfdb
    except ImportError:
        raise RecordingFormatError(
            f"reading WFDB records needs the wfdb package ({_INSTALL})", path=path
        ) from None
    try:
        with _library_warnings_off():
            head = wfdb.rdheader(str(stem))
    except Exception as exc:  # wfdb raises many kinds on a broken header
        raise RecordingFormatError(
            f"not a readable WFDB header: {quote(str(exc))}", path=str(header)
        ) from exc
    fs = float(head.fs)
    if sampling_rate_hz is not None and not math.isclose(sampling_rate_hz, fs):
        raise RecordingFormatError(
            f"the header says {fs:g} Hz, not {sampling_rate_hz:g} Hz (sampling_rate_hz=, the "
            "command line's --sampling-rate: leave it out to use the header's)",
            path=str(header),
        )
    names = list(head.sig_name or [])
    if channel is None:
        index = 0
    elif isinstance(channel, int):
        index = channel
    elif channel in names:
        index = names.index(channel)
    else:
        raise RecordingFormatError(
            f"no signal named {quote(str(channel))}; signals: {quote(', '.join(names))} "
            "(channel=, the command line's --channel)",
            path=str(header),
        )
    if not 0 <= index < int(head.n_sig):
        raise RecordingFormatError(
            f"signal index {index} is out of range: the record has {head.n_sig} "
            "(channel=, the command line's --channel)",
            path=str(header),
        )
    for f in set(head.file_name or []):
        signal_file = stem.parent / f
        if signal_file.is_file() and signal_file.stat().st_size > MAX_RECORDING_BYTES:
            raise RecordingFormatError(
                f"the signal file is larger than {MAX_RECORDING_BYTES // 2**20} MiB, the limit "
                "for a recording (split it)",
                path=str(signal_file),
            )
    annotations = stem.with_suffix(".atr")
    use_annotations = beats == "annotations" or (beats == "auto" and annotations.is_file())
    name = names[index] if index < len(names) else f"signal {index}"
    meta: dict[str, Any] = {
        "path": path,
        "record": stem.name,
        "sampling_rate_hz": fs,
        "channel": name,
        "comments": tuple(head.comments or ()),
    }
    if use_annotations:
        if not annotations.is_file():
            raise RecordingFormatError(
                "beats='annotations' but the record has no reference annotations (.atr)",
                path=str(annotations),
            )
        try:
            with _library_warnings_off():
                ann = wfdb.rdann(str(stem), "atr")
        except Exception as exc:
            raise RecordingFormatError(
                f"not a readable WFDB annotation file: {quote(str(exc))}", path=str(annotations)
            ) from exc
        symbols = list(ann.symbol or [])
        samples = np.asarray(ann.sample, dtype=np.int64)
        keep = np.array([s in BEAT_SYMBOLS for s in symbols], dtype=bool)
        peaks = samples[keep]
        labels = [s for s, k in zip(symbols, keep, strict=True) if k]
        order = np.argsort(peaks, kind="stable")
        peaks = peaks[order]
        if peaks.size < 2:
            raise RecordingFormatError(
                f"the annotations hold {peaks.size} beat label(s)", path=str(annotations)
            )
        counts: dict[str, int] = {}
        for s in labels:
            counts[s] = counts.get(s, 0) + 1
        meta["beats_from"] = f"reference annotations {annotations.name} (not detected)"
        meta["beat_labels"] = tuple(labels[i] for i in order)
        meta["label_counts"] = counts
        return _recording(peaks, fs, source_format="wfdb", quality=None, meta=meta)
    try:
        with _library_warnings_off():
            rec = wfdb.rdrecord(str(stem), channels=[index])
    except Exception as exc:
        raise RecordingFormatError(
            f"not a readable WFDB record: {quote(str(exc))}", path=str(stem)
        ) from exc
    signal = np.asarray(rec.p_signal, dtype=np.float64)[:, 0]
    peaks, quality, notes = _detect("ecg", signal, fs, str(stem))
    meta["beats_from"] = "detected: NeuroKit2 ecg_peaks (neurokit)"
    meta["detector_notes"] = tuple(notes)
    return _recording(peaks, fs, source_format="wfdb", quality=quality, meta=meta)


# -- EDF -------------------------------------------------------------------------------------------

_ECG_LABEL = re.compile(r"\b(ecg|ekg)", re.IGNORECASE)
_PPG_LABEL = re.compile(r"\b(ppg|pleth|pulse ?ox|bvp)", re.IGNORECASE)


def read_edf(
    path: str, *, channel: str | int | None = None, sampling_rate_hz: float | None = None
) -> Recording:
    """Beats of an ECG or PPG channel of an EDF/EDF+ file (pyedflib).

    Parameters
    ----------
    path
        The ``.edf`` file.
    channel
        The signal's label (``"ECG"``) or 0-based index; default: the only channel whose label
        names an ECG (``ECG``, ``EKG``) or else a PPG (``PPG``, ``Pleth``, ``BVP``).
    sampling_rate_hz
        Must match the channel's rate in the header when given.

    A channel whose label names a PPG gets pulse detection, any other R-peak detection.
    """
    try:
        with _library_warnings_off():
            import pyedflib
    except ImportError:
        raise RecordingFormatError(
            f"reading EDF files needs pyedflib ({_INSTALL})", path=path
        ) from None
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise RecordingFormatError(
            f"cannot read the file ({exc.strerror or exc})", path=path
        ) from exc
    if size > MAX_RECORDING_BYTES:
        raise RecordingFormatError(
            f"the file is larger than {MAX_RECORDING_BYTES // 2**20} MiB, the limit for a "
            "recording (split it)",
            path=path,
        )
    try:
        with _library_warnings_off():
            reader = pyedflib.EdfReader(str(p))
    except Exception as exc:  # pyedflib raises OSError with the C library's reason
        raise RecordingFormatError(
            f"not a readable EDF file: {quote(str(exc))}", path=path
        ) from exc
    try:
        labels = [str(x).strip() for x in reader.getSignalLabels()]
        if channel is None:
            ecg = [i for i, x in enumerate(labels) if _ECG_LABEL.search(x)]
            ppg = [i for i, x in enumerate(labels) if _PPG_LABEL.search(x)]
            candidates = ecg or ppg
            if len(candidates) != 1:
                raise RecordingFormatError(
                    f"choose the channel (channel=, the command line's --channel): "
                    f"{len(candidates)} ECG/PPG-named channels "
                    f"among {quote(', '.join(labels))}",
                    path=path,
                )
            index = candidates[0]
        elif isinstance(channel, int):
            index = channel
        elif channel in labels:
            index = labels.index(channel)
        else:
            raise RecordingFormatError(
                f"no channel named {quote(str(channel))}; channels: {quote(', '.join(labels))} "
                "(channel=, the command line's --channel)",
                path=path,
            )
        if not 0 <= index < len(labels):
            raise RecordingFormatError(
                f"channel index {index} is out of range: the file has {len(labels)} "
                "(channel=, the command line's --channel)",
                path=path,
            )
        fs = float(reader.getSampleFrequency(index))
        if sampling_rate_hz is not None and not math.isclose(sampling_rate_hz, fs):
            raise RecordingFormatError(
                f"the header says {fs:g} Hz for {quote(labels[index])}, not "
                f"{sampling_rate_hz:g} (sampling_rate_hz=, the command line's --sampling-rate: "
                "leave it out to use the header's)",
                path=path,
            )
        signal = np.asarray(reader.readSignal(index), dtype=np.float64)
        start = reader.getStartdatetime()
    except RecordingFormatError:
        raise
    except Exception as exc:
        raise RecordingFormatError(
            f"not a readable EDF file: {quote(str(exc))}", path=path
        ) from exc
    finally:
        reader.close()
    kind = (
        "ppg"
        if _PPG_LABEL.search(labels[index]) and not _ECG_LABEL.search(labels[index])
        else "ecg"
    )
    peaks, quality, notes = _detect(kind, signal, fs, path)
    detector = (
        "NeuroKit2 ecg_peaks (neurokit)" if kind == "ecg" else "NeuroKit2 ppg_peaks (elgendi)"
    )
    return _recording(
        peaks,
        fs,
        source_format="edf",
        quality=quality,
        meta={
            "path": path,
            "sampling_rate_hz": fs,
            "channel": labels[index],
            "signal": kind,
            "start_time": start.isoformat() if start is not None else None,
            "beats_from": f"detected: {detector}",
            "detector_notes": tuple(notes),
        },
    )


# -- accuracy --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BeatComparison:
    """Detected beats against reference beats (:func:`compare_beats`).

    Attributes
    ----------
    true_positives, false_negatives, false_positives
        Matched reference beats, missed reference beats, detections matching none.
    sensitivity
        ``TP / (TP + FN)``: the share of reference beats found.
    positive_predictivity
        ``TP / (TP + FP)``: the share of detections that are beats.
    rr_error_ms_mean, rr_error_ms_rms, rr_error_ms_max
        RR interval differences (detected minus reference) over pairs of consecutive reference
        beats both matched: mean, root mean square and largest absolute value, ms.
    n_rr
        How many RR intervals were compared.
    """

    true_positives: int
    false_negatives: int
    false_positives: int
    sensitivity: float
    positive_predictivity: float
    rr_error_ms_mean: float
    rr_error_ms_rms: float
    rr_error_ms_max: float
    n_rr: int


def compare_beats(
    reference_s: NDArray[np.float64],
    detected_s: NDArray[np.float64],
    *,
    tolerance_s: float = 0.075,
) -> BeatComparison:
    """Match detected beat times to reference ones, beat by beat (ANSI/AAMI EC57 style).

    Each reference beat is matched to the nearest unmatched detection within ``tolerance_s``
    (75 ms by default, half the 150-ms window of EC57's beat-by-beat comparison).

    References
    ----------
    ANSI/AAMI EC57:2012, section 4 (beat-by-beat comparison, Se and +P).
    """
    ref = np.sort(np.asarray(reference_s, dtype=np.float64))
    det = np.sort(np.asarray(detected_s, dtype=np.float64))
    used = np.zeros(det.size, dtype=bool)
    match = np.full(ref.size, -1, dtype=np.int64)
    nearest = np.searchsorted(det, ref)
    for k, r in enumerate(ref):
        best = -1
        for c in (nearest[k] - 1, nearest[k]):
            near = 0 <= c < det.size and not used[c] and abs(det[c] - r) <= tolerance_s
            if near and (best < 0 or abs(det[c] - r) < abs(det[best] - r)):
                best = int(c)
        if best >= 0:
            used[best] = True
            match[k] = best
    tp = int((match >= 0).sum())
    both = (match[:-1] >= 0) & (match[1:] >= 0)
    rr_ref = np.diff(ref)[both]
    rr_det = (det[match[1:]] - det[match[:-1]])[both]
    err_ms = (rr_det - rr_ref) * 1000.0
    return BeatComparison(
        true_positives=tp,
        false_negatives=int(ref.size - tp),
        false_positives=int(det.size - tp),
        sensitivity=tp / ref.size if ref.size else float("nan"),
        positive_predictivity=tp / det.size if det.size else float("nan"),
        rr_error_ms_mean=float(err_ms.mean()) if err_ms.size else float("nan"),
        rr_error_ms_rms=float(np.sqrt(np.mean(err_ms**2))) if err_ms.size else float("nan"),
        rr_error_ms_max=float(np.abs(err_ms).max()) if err_ms.size else float("nan"),
        n_rr=int(err_ms.size),
    )
