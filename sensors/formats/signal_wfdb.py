"""Beats of a PhysioNet WFDB record (format ``wfdb``), read with the ``wfdb`` package.

A record is a ``NAME.hea`` header and its signal file. When a reference annotation file
``NAME.atr`` is next to it, its beat labels are the beats (``meta["beats_from"]`` says so);
otherwise R peaks are detected in the chosen channel (:mod:`sensors.formats.signal_peaks`).

References
----------
Moody G.B., Mark R.G. (2001). The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol
20(3):45-50.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sensors.errors import RecordingFormatError
from sensors.formats._common import MAX_RECORDING_BYTES, Recording, quote
from sensors.formats.signal_peaks import (
    _INSTALL,
    INVERTED_NOTE,
    _detect,
    _library_warnings_off,
    _recording,
)

__all__ = ["BEAT_SYMBOLS", "read_wfdb"]

#: WFDB annotation codes that mark a beat (PhysioNet, "Annotation codes"); others (rhythm
#: changes ``+``, noise ``~``, comments) are not beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


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
    peaks, quality, notes, inverted = _detect("ecg", signal, fs, str(stem))
    meta["beats_from"] = "detected: NeuroKit2 ecg_peaks (neurokit)"
    meta["detector_notes"] = tuple(notes)
    meta["inverted"] = inverted
    meta["signal_notes"] = (INVERTED_NOTE,) if inverted else ()
    return _recording(peaks, fs, source_format="wfdb", quality=quality, meta=meta)
