"""hrvpace from Python: one import for the HRV core, the readers and the breathing engine.

``import hrvpace`` gives

- :func:`analyze`: every metric of a recording (a file, a :class:`Recording` or an array of
  RR intervals in ms, or s with ``units="s"``) as a one-row :class:`pandas.DataFrame` (a
  ``dict`` when pandas is not installed), like ``nk.hrv(...)``: the fields of a
  ``hrvpace analyze --json`` line, its ``hrvpace_version`` and ``settings`` in the
  DataFrame's ``attrs["hrvpace_settings"]``;
- :func:`read`: a recording file, its format and units chosen as ``hrvpace analyze`` chooses
  them (the file's header, name and content, or the arguments);
- the public API of :mod:`hrv` (metrics), :mod:`sensors` (readers and beat sources) and
  :mod:`breathing` (pacer, assessment, micro-breaks) under their own names, and the packages
  themselves as ``hrvpace.hrv``, ``hrvpace.sensors``, ``hrvpace.breathing``; the service
  (``hrvpace.api``) is imported only when first used.

Nothing in the four packages imports this module (``.importlinter``): it is a facade only.

Examples
--------
>>> import hrvpace
>>> df = hrvpace.analyze("rest.txt")  # doctest: +SKIP
>>> df[["rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2"]]  # doctest: +SKIP
>>> hrvpace.analyze([812.0, 790.5, 805.0] * 100, names="neurokit")["HRV_RMSSD"]  # doctest: +SKIP
>>> rec = hrvpace.read("nsr2db_nsr001_rr_secs.txt")  # PhysioNet seconds, detected  # doctest: +SKIP
>>> hrvpace.time_domain(rec.rr_ms).rmssd_ms  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import breathing
import hrv
import sensors
from api._version import __version__
from breathing import *  # noqa: F403 - the facade re-exports the packages' public names
from hrv import *  # noqa: F403
from sensors import *  # noqa: F403

__all__ = [
    "__version__",
    "analyze",
    "breathing",
    "hrv",
    "read",
    "sensors",
    *hrv.__all__,
    *sensors.__all__,
    *breathing.__all__,
]


def read(
    path: str | os.PathLike[str], *, format: str | None = None, units: str | None = None
) -> sensors.Recording:
    """Read a recording file as ``hrvpace analyze`` does.

    Parameters
    ----------
    path
        The file.
    format, units
        As the command line's ``--format``/``--units``; ``None``: decided from the file's
        header, name and content (:mod:`api.research.discover`), plain files in ms.

    Returns
    -------
    Recording
        RR in ms, beat times, gaps, ``source_format`` and ``meta["units"]``.

    Raises
    ------
    RecordingFormatError
        The file cannot be read; the message names the line and the flag that reads it right.

    Examples
    --------
    >>> rec = hrvpace.read("hrvpkg_exercise_rri.hrm")  # doctest: +SKIP
    >>> rec.source_format, rec.n_beats  # doctest: +SKIP
    ('polar_hrm', 4117)
    """
    from api.research.discover import choose_reading

    reading = choose_reading(path, format=format, units=units)
    return sensors.read_recording(path, format=reading.format, units=reading.units)


def analyze(
    rr_or_path: str | os.PathLike[str] | sensors.Recording | Sequence[float] | Any,
    *,
    format: str | None = None,
    units: str | None = None,
    clean: bool = True,
    start: float | str | None = None,
    end: float | str | None = None,
    names: str = "hrvpace",
    drop_zero: bool = False,
    as_dict: bool = False,
) -> Any:
    """Every metric of one recording, as one row, like ``nk.hrv(...)``.

    Parameters
    ----------
    rr_or_path
        A recording file (read as :func:`read` reads it), a :class:`Recording`, or RR intervals
        (array-like, in ``units``).
    format, units
        How to read a file (see :func:`read`). ``units`` also says the units of an array:
        ``"ms"`` (default) or ``"s"`` (converted to ms, rounded to 1e-6 ms as the readers
        do). ``format`` does not apply to an array, and neither applies to a
        :class:`Recording` (already read, RR in ms): giving them is an error, not ignored.
    clean
        Correct artefacts with :func:`hrv.clean` first (default), as the command line does.
    start, end
        Analyse only this stretch: seconds, or ``"[hh:]mm:ss"`` (see
        :mod:`api.research.segments`).
    names
        ``"hrvpace"`` (``rmssd_ms``, ...) or ``"neurokit"`` (``HRV_RMSSD`` where NeuroKit2
        computes the same value; see README "Research workflow").
    drop_zero
        Leave out RR values of exactly 0 in a plain file instead of refusing it (``--drop-zero``).
    as_dict
        Return a ``dict`` even when pandas is installed.

    Returns
    -------
    pandas.DataFrame or dict
        One row: ``path`` (``None`` for arrays) and every field of
        :data:`api.research.analysis.SUMMARY_FIELDS` (definitions and references in
        :mod:`api.research.analysis`), the same values ``hrvpace analyze --json`` prints. A
        DataFrame's ``attrs["hrvpace_settings"]`` holds the version and settings that made it
        (:func:`api.research.analysis.analysis_settings`, the ``settings`` of a ``--json``
        line).

    Raises
    ------
    HrvpaceError
        Unreadable file, unusable values (the message says which and where), a bad segment,
        ``format``/``units`` that do not apply (:class:`hrv.HrvInputError`).

    Examples
    --------
    >>> import numpy as np
    >>> rr = 800 + 40 * np.sin(np.arange(600) / 2.0)
    >>> row = hrvpace.analyze(rr, as_dict=True)
    >>> round(row["mean_rr_ms"], 1), row["n_beats"], row["path"]
    (800.2, 600, None)
    """
    from api.research.analysis import (
        AnalysisOptions,
        analysis_settings,
        analyze_recording,
        file_sha256,
        read_notes,
        rename_columns,
    )
    from api.research.segments import Segment, cut, parse_time

    if isinstance(rr_or_path, str | os.PathLike):
        path: str | None = str(rr_or_path)
        from api.research.discover import choose_reading

        reading = choose_reading(rr_or_path, format=format, units=units)
        rec = sensors.read_recording(
            rr_or_path, format=reading.format, units=reading.units, drop_zero=drop_zero
        )
        read_as: str | None = read_notes(reading.how, rec, drop_zero=drop_zero)
        given_units = units
    elif isinstance(rr_or_path, sensors.Recording):
        if format is not None or units is not None:
            raise hrv.HrvInputError(
                "format and units describe how to read a file; a Recording is already read "
                f"(RR in ms, format {rr_or_path.source_format!r}): give neither"
            )
        path, read_as, rec = None, None, rr_or_path
        given_units = None
    else:
        if format is not None:
            raise hrv.HrvInputError(
                f"format={format!r} describes a file; an array is RR intervals in units "
                "('ms', the default, or 's')"
            )
        path, read_as = None, None
        given_units = units or "ms"
        rec = _as_recording(rr_or_path, units=given_units)
    segment = None
    if start is not None or end is not None:
        a = None if start is None else parse_time(str(start), what="start")
        b = None if end is None else parse_time(str(end), what="end")
        segment = Segment(f"{start or 'start'}-{end or 'end'}", a, b)
        rec = cut(rec, segment)
    # the settings record how the numbers were made, as the command line's do: the reading
    # asked for (None where detected, as with no --format/--units), an array's own units
    options = AnalysisOptions(
        format=format,
        units=given_units,
        clean=clean,
        segment=segment,
        drop_zero=drop_zero,
    )
    result = analyze_recording(rec, options=options, path=path or "", read_as=read_as)
    assert result.summary is not None
    row = {**result.to_json(), "path": path}
    if path is not None:  # which file exactly, as the command line's rows say
        row["sha256"] = file_sha256(path)
    keys = rename_columns(list(row), style=names)
    out = dict(zip(keys, row.values(), strict=True))
    if as_dict:
        return out
    try:
        import pandas as pd
    except ImportError:
        return out
    df = pd.DataFrame([out])
    # what made the numbers, as the command line's outputs record it (README, analyze)
    df.attrs["hrvpace_settings"] = analysis_settings(options, names=names)
    return df


def _as_recording(rr: Any, *, units: str) -> sensors.Recording:
    import numpy as np

    from sensors.formats._common import plain_timeline
    from sensors.formats.text import s_to_ms

    if units not in ("ms", "s"):
        raise hrv.HrvInputError(f"units must be 'ms' or 's', got {units!r}")
    values = np.asarray(rr, dtype=np.float64)
    if values.ndim != 1:
        raise hrv.HrvInputError(f"rr: expected a 1-D array of RR intervals, got {values.shape}")
    # seconds to ms by the file readers' own conversion (rounded to 1 ns: no float noise; a
    # corrupt 1e308 becomes inf quietly, and the core refuses it as not finite)
    rr_ms = s_to_ms(values) if units == "s" else values
    t_s, gaps, contact = plain_timeline(rr_ms)
    return sensors.Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="array",
        meta={"units": units},
    )


def __getattr__(name: str) -> ModuleType:
    if name == "api":  # the service (FastAPI, SQLite): imported only when asked for
        return importlib.import_module("api")
    raise AttributeError(f"module 'hrvpace' has no attribute {name!r}")
