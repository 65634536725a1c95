"""Beats of an EDF/EDF+ file's ECG or PPG channel (format ``edf``), read with pyedflib.

The beats are the peaks :mod:`sensors.formats.signal_peaks` detects in the chosen channel.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

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

__all__ = ["read_edf"]

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
    peaks, quality, notes, inverted = _detect(kind, signal, fs, path)
    detector = (
        "NeuroKit2 ecg_peaks (neurokit)" if kind == "ecg" else "NeuroKit2 ppg_peaks (elgendi)"
    )
    return _recording(
        peaks,
        fs,
        source_format="edf",
        quality=quality,
        kind=kind,
        meta={
            "path": path,
            "sampling_rate_hz": fs,
            "channel": labels[index],
            "signal": kind,
            "start_time": start.isoformat() if start is not None else None,
            "beats_from": f"detected: {detector}",
            "detector_notes": tuple(notes),
            "inverted": inverted,
            "signal_notes": (INVERTED_NOTE,) if inverted else (),
        },
    )
