"""Reading RR recordings from files, and writing hrvpace's own recordings.

``read_recording(path, format=None, units=None)`` returns a :class:`Recording` whatever the
format. Units are explicit, never guessed from the magnitude of the numbers.

Formats (the names are also the command line's ``--format`` values)
--------------------------------------------------------------------
===========================  =======  ========  ==================================================
name                         units    detected  content
===========================  =======  ========  ==================================================
``plain``                    ms or s  fallback  one RR interval per line (``units``, ms by default),
                                                or a column a header line names (``rr_ms``, ...)
``physionet_rr_secs``        s        no        line 1 first-beat time, then one RR per line
``ghrv_beats``               s        no        one beat time per line (RR = differences)
``polar_hrm``                ms       yes       Polar ``.hrm``: ``[Params]`` ... ``[HRData]``
``polar_sensor_logger``      ms       yes       ``Phone timestamp;...;RR-interval [ms]`` CSV
``polar_sensor_logger_ppi``  ms       yes       ``Phone ...;PP-interval [ms];...`` (optical)
``hrv_logger``               ms       yes       HRV Logger ``date,rr,since start`` CSV
``elite_hrv``                ms       no        Elite HRV export: RR per line or comma separated
``hrvpace``                  ms       yes       ``# hrvpace-recording v2`` (``RecordingWriter``)
``hrvpace_export``           ms       yes       ``hrvpace export``'s ``ID-beats.csv``
                                                (``idx [index],t_s [s],rr_ms [ms],...``)
``wfdb``                     signal   no        PhysioNet record: ``.atr`` beats, else ECG R peaks
``ecg_csv``                  signal   no        one ECG column at ``sampling_rate_hz``: R peaks
``ppg_csv``                  signal   no        one PPG column at ``sampling_rate_hz``: pulse peaks
``edf``                      signal   no        EDF/EDF+ (pyedflib): the ECG or PPG channel's peaks
``apple_health``             ms       yes       ``export.xml``: one Apple Watch beat series
``fit``                      ms       yes       Garmin FIT: the ``hrv`` messages' intervals
===========================  =======  ========  ==================================================

Signal formats (:mod:`sensors.formats.signals`, NeuroKit2 and wfdb from the ``ecg`` extra): the
beats are detected peaks (or a WFDB record's reference annotations, said in
``meta["beats_from"]``), ``Recording.quality`` the detector's quality per beat; ``channel``
chooses the signal (name or 0-based index) and ``sampling_rate_hz`` states a CSV's rate.

Auto-detection (``format=None``) looks only at self-describing content: the hrvpace header line,
a ``[Params]`` section or the ``.hrm`` suffix, the Polar Sensor Logger and HRV Logger header
rows. Anything else is read as ``plain`` in the given units (ms by default; a header line
naming the RR column with a unit, ``rr_ms`` or ``RR (s)``, states them): a PhysioNet,
gHRV or Elite HRV file must be named with ``format=`` (the commands and the service's uploads
choose it with :func:`api.research.discover.choose_reading`, from the file's name and
content). A ``plain`` read refuses a series of 100 or more values that strictly increase
throughout (cumulative beat times, never RR intervals) and points to ``format="ghrv_beats"``.
It also refuses a sampled signal (an ECG or PPG without a header: 1,000+ values that are no
plausible RR intervals, 5 % or more of them negative or changing smoothly, or any values with
a waveform's shape, changes that keep their sign and come in bursts;
:func:`sensors.formats.text.signal_like`) and points to ``format="ecg_csv"``/``"ppg_csv"``
with ``sampling_rate_hz`` (or to ``format="ghrv_beats"`` when the values rise). Heart rates
in bpm (values within 30-230: :func:`sensors.formats.text.heart_rate_like`, or a header naming
a heart-rate column and no RR column) are refused saying HRV needs beat-to-beat intervals.

Gaps: files with a clock time per beat (Polar Sensor Logger, HRV Logger, hrvpace) get
``gaps`` where the clock moves on further than the RR intervals explain (the rule, and how well
it works on arrival times, is in :mod:`sensors.formats.gaps`); hrvpace recordings also keep the
gaps the live source flagged. Untimed formats have no gaps.

Every problem in a file raises :class:`sensors.RecordingFormatError` naming the path, the line
(1-based) and the problem: not a number, an RR beyond 64 s either way (a corrupt value such as
``1e12``; 0 and negative values are read, for ``hrv.clean`` to label, and add no time to the
timeline: such a beat sits at the time of the beat before it, never earlier), missing column,
truncated HRM, empty file, unsupported version; messages quote
at most 200 characters of the file.

One units policy for every reader and every command (``analyze``, ``replay``, the service): after
reading a file that does not state its units (``plain``, PhysioNet, gHRV, Elite HRV), the
median RR interval must lie between 100 ms and 10 s (``hrv``'s own bounds), so
seconds read as milliseconds (a PhysioNet ``*_rr_secs.txt`` read as ``plain``) or milliseconds
read as seconds are refused with the flag that reads the file right, never rescaled. A file over
64 MiB or a recording over 8 days is refused too, so what a file holds cannot exhaust memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    CONTACT_NO,
    CONTACT_UNKNOWN,
    CONTACT_YES,
    Recording,
    check_recording,
    split_lines,
)
from sensors.formats.apple_health import looks_like_apple_health, read_apple_health
from sensors.formats.apps import (
    looks_like_hrv_logger,
    looks_like_polar_sensor_logger,
    read_hrv_logger,
    read_polar_sensor_logger,
)
from sensors.formats.fit import looks_like_fit, read_fit
from sensors.formats.hrm import looks_like_hrm, read_polar_hrm
from sensors.formats.hrvpace import (
    RecordingWriter,
    looks_like_hrvpace,
    looks_like_hrvpace_export,
    read_hrvpace,
    read_hrvpace_export,
)
from sensors.formats.polar_ppi import (
    looks_like_polar_sensor_logger_ppi,
    read_polar_sensor_logger_ppi,
)
from sensors.formats.signals import read_ecg_csv, read_edf, read_ppg_csv, read_wfdb
from sensors.formats.text import (
    read_elite_hrv,
    read_ghrv_beats,
    read_physionet_rr_secs,
    read_plain,
)

__all__ = [
    "CONTACT_NO",
    "CONTACT_UNKNOWN",
    "CONTACT_YES",
    "RECORDING_FORMATS",
    "SIGNAL_FORMATS",
    "UNITS",
    "Recording",
    "RecordingWriter",
    "detect_recording_format",
    "read_recording",
]

#: Units each format stores its values in (``plain`` takes the ``units`` argument).
_FIXED_UNITS: dict[str, str] = {
    "physionet_rr_secs": "s",
    "ghrv_beats": "s",
    "polar_hrm": "ms",
    "polar_sensor_logger": "ms",
    "polar_sensor_logger_ppi": "ms",
    "hrv_logger": "ms",
    "elite_hrv": "ms",
    "hrvpace": "ms",
    "hrvpace_export": "ms",
    "apple_health": "ms",
    "fit": "ms",
}
#: Formats whose files state their units in a header (the units check is for the others).
_SELF_DESCRIBING = frozenset(
    {
        "polar_hrm",
        "polar_sensor_logger",
        "polar_sensor_logger_ppi",
        "hrv_logger",
        "hrvpace",
        "hrvpace_export",
        "apple_health",
        "fit",
    }
)
_READERS: dict[str, Callable[[str], Recording]] = {
    "physionet_rr_secs": read_physionet_rr_secs,
    "ghrv_beats": read_ghrv_beats,
    "polar_hrm": read_polar_hrm,
    "polar_sensor_logger": read_polar_sensor_logger,
    "polar_sensor_logger_ppi": read_polar_sensor_logger_ppi,
    "hrv_logger": read_hrv_logger,
    "elite_hrv": read_elite_hrv,
    "hrvpace": read_hrvpace,
    "hrvpace_export": read_hrvpace_export,
    "apple_health": read_apple_health,
    "fit": read_fit,
}

#: Signal formats: beats detected in (or annotated on) an ECG or PPG, RR in ms.
_SIGNAL_READERS: dict[str, Callable[..., Recording]] = {
    "wfdb": read_wfdb,
    "ecg_csv": read_ecg_csv,
    "ppg_csv": read_ppg_csv,
    "edf": read_edf,
}

#: The RR formats (the command line's and the service's ``--format`` values).
RECORDING_FORMATS: tuple[str, ...] = ("plain", *_READERS)
#: The signal formats ``read_recording`` also accepts (beats detected in ECG/PPG; they take a
#: sampling rate and a channel, the command line's ``--sampling-rate``/``--channel``, and need
#: the ``ecg`` extra).
SIGNAL_FORMATS: tuple[str, ...] = tuple(_SIGNAL_READERS)
#: Units a plain file may be in.
UNITS: tuple[str, ...] = ("ms", "s")

_HEAD_BYTES = 4096


def detect_recording_format(path: str | os.PathLike[str]) -> str:
    """Name the format of ``path`` from self-describing content, else ``"plain"``.

    Looks at the first non-blank line only (and the ``.hrm`` suffix, a FIT header's ``.FIT``
    signature, an Apple Health export's ``HealthData`` root), never at magnitudes.
    An unreadable file raises :class:`sensors.RecordingFormatError`.
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            raw_head = f.read(_HEAD_BYTES)
        head = raw_head.decode("utf-8-sig", errors="replace")
    except OSError as exc:
        reason = f"cannot read the file ({exc.strerror or exc})"
        raise RecordingFormatError(reason, path=str(p)) from exc
    if looks_like_fit(raw_head):
        return "fit"
    first = next((line.strip() for line in split_lines(head) if line.strip()), "")
    if looks_like_hrvpace(first):
        return "hrvpace"
    if looks_like_hrvpace_export(first):
        return "hrvpace_export"
    if looks_like_hrm(head) or p.suffix.lower() == ".hrm":
        return "polar_hrm"
    if looks_like_polar_sensor_logger(first):
        return "polar_sensor_logger"
    if looks_like_polar_sensor_logger_ppi(first):
        return "polar_sensor_logger_ppi"
    if looks_like_apple_health(head):
        return "apple_health"
    if looks_like_hrv_logger(first):
        return "hrv_logger"
    return "plain"


def read_recording(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    units: str | None = None,
    sampling_rate_hz: float | None = None,
    channel: str | int | None = None,
    beats: str = "auto",
    series: int | None = None,
    drop_zero: bool = False,
) -> Recording:
    """Read an RR recording file.

    Parameters
    ----------
    path
        The file.
    format
        One of :data:`RECORDING_FORMATS` or :data:`SIGNAL_FORMATS`; ``None`` detects it from
        self-describing content (see the module docstring) and falls back to ``"plain"``.
    units
        ``"ms"`` or ``"s"``: the units of a ``plain`` file (``None`` means ms). For a format
        with fixed units it may only repeat them; a signal format takes none.
    sampling_rate_hz, channel
        Signal formats only: the sampling rate of an ``ecg_csv``/``ppg_csv`` file (required
        there; a WFDB header states its own), and which signal or column holds the ECG/PPG.
    beats
        ``wfdb`` only: ``"auto"`` (reference annotations when present, else detection),
        ``"annotations"`` or ``"detect"``.
    series
        ``apple_health`` only: which beat series of the export (``0..N-1`` count from the
        oldest, ``-N..-1`` from the latest; -1, the latest, is the default).
    drop_zero
        ``plain`` files only: leave out RR values of exactly 0 (a beat annotated twice) rather
        than read them for ``hrv.clean`` to label; ``meta["dropped_zero_lines"]`` lists their
        lines.

    Returns
    -------
    Recording
        RR in ms (float64, never rounded), beat times, gaps, contact codes, arrival times when
        the file has them, ``source_format`` and ``meta``.

    Raises
    ------
    RecordingFormatError
        The file cannot be read or breaks its format; the message names path, line and problem.
        Also an unknown format name or units that contradict the format.

    References
    ----------
    Task Force of the ESC and NASPE (1996) Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation 93(5):1043-1065 (RR intervals
    between successive normal beats, in ms).
    """
    p = str(path)
    if units is not None and units not in UNITS:
        raise RecordingFormatError(f"units must be 'ms' or 's', got {units!r}", path=p)
    if format is None:
        format = detect_recording_format(p)
    if series is not None and format != "apple_health":
        raise RecordingFormatError(f"series applies to apple_health, not {format!r}", path=p)
    signal_reader = _SIGNAL_READERS.get(format)
    if signal_reader is None and (sampling_rate_hz is not None or channel is not None):
        raise RecordingFormatError(
            f"sampling_rate_hz and channel apply to signal formats "
            f"({', '.join(_SIGNAL_READERS)}), not {format!r}",
            path=p,
        )
    if signal_reader is not None:
        if units is not None:
            raise RecordingFormatError(
                f"format {format!r} is a signal: its beat intervals are in ms, units does not "
                "apply",
                path=p,
            )
        options: dict[str, object] = {"sampling_rate_hz": sampling_rate_hz, "channel": channel}
        if format == "wfdb":
            options["beats"] = beats
        rec = signal_reader(p, **options)
        check_recording(rec, units="ms", units_stated=True)
        return rec
    if format == "plain":
        rec = read_plain(p, units=units, drop_zero=drop_zero)
        check_recording(rec, units=str(rec.meta["units"]), units_stated=False)
        return rec
    reader = _READERS.get(format)
    if reader is None:
        raise RecordingFormatError(
            f"unknown recording format {format!r}; known: "
            f"{', '.join((*RECORDING_FORMATS, *SIGNAL_FORMATS))}",
            path=p,
        )
    fixed = _FIXED_UNITS[format]
    if units is not None and units != fixed:
        raise RecordingFormatError(
            f"format {format!r} stores its values in {fixed}; units={units!r} does not apply",
            path=p,
        )
    if series is not None and format != "apple_health":
        raise RecordingFormatError(f"series applies to apple_health, not {format!r}", path=p)
    rec = (
        read_apple_health(p, series=series if series is not None else -1)
        if (format == "apple_health")
        else reader(p)
    )
    check_recording(rec, units=fixed, units_stated=format in _SELF_DESCRIBING)
    return rec
