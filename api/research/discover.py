"""Which files of a folder are recordings, and how to read each one (format and units).

A folder given to ``hrvpace analyze`` holds recordings and other files (a README, notes). For
every file this module decides, from what the file itself says and never from a guess:

- :func:`skip_reason`: a file found in a folder is *not a recording* (skipped and listed,
  not failed) when no reader recognises its first line (after ``#`` comment lines) as a
  header, that line neither is a number nor names an RR column (``rr_ms``, ``RR (s)``,
  ``time;rr``), and most of its lines are not numbers (a README, an image, a table of
  text). A file of numbers that cannot be read (a single column under a name that is no RR
  column, or a table whose columns name none, ``time,hr``) is a failure with the reason,
  never skipped: it may be a subject's recording whose RR column is not recognised.
  Files named one by one are never skipped: their problem is reported as a failure.
  ``hrvpace export``'s tables that are not recordings, its metrics (``ID-metrics.csv``) and
  its stretches without contact (``ID-contact.csv``), are told by their header
  (:func:`export_table_kind`) and skipped saying so: an export folder analyses as its beats.
  Such a table, or a sidecar (``ID.json``), named on its own fails saying what it is and
  which beats file to analyse (:func:`export_table_problem`). A Parquet file (its Parquet
  twins, or any other) is told by its first bytes (:func:`parquet_kind`) and said to be one,
  in a folder (skipped) and named on its own (failed), never read as text nor quoted.
- :func:`choose_reading`: the format and units to read a file with, and why:

  ===========================  ==============================================================
  what the file says           read as
  ===========================  ==============================================================
  a known header               that format (its units are fixed: ``polar_hrm`` ms, ...)
  a header naming an RR        ``plain``, that column, in the units the name states
  column (``rr_ms``, ``RR``)   (``rr_ms``, ``RR (s)``), else ``--units``, else ms
  name ``*rr_secs*``, then     ``physionet_rr_secs`` (line 1 the first-beat time, then RR in
  values of 0.1-10 after       seconds): the name says seconds and the values agree
  line 1
  values that strictly rise    ``ghrv_beats`` (beat times in seconds): RR intervals never rise
  over the first 100+ lines    for 100 beats, and the steps are 0.1-10 s
  with steps of 0.1-10
  anything else                ``plain`` in the ``--units`` given, else ms; a file of seconds
                               then fails with the flag that reads it (``--units s``)
  ===========================  ==============================================================

  An explicit ``format`` is used as given (no detection).

Only the first :data:`HEAD_BYTES` of a file are looked at here; the reader then checks the
whole file (a ``ghrv_beats`` file that stops rising later fails with the line).
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from api.research import MissingExtraError, require
from api.research.export import METRIC_UNITS
from api.research.units import BEAT_UNITS, NO_CONTACT_UNITS, csv_header, unit_of
from sensors import detect_recording_format
from sensors.errors import RecordingFormatError
from sensors.formats._common import split_lines
from sensors.formats.text import (
    HEART_RATE_NOT_RR,
    PlainLayout,
    header_separator,
    heart_rate_column,
    no_rr_column_problem,
    plain_layout,
    split_fields,
    time_column,
)

__all__ = [
    "HEAD_BYTES",
    "Reading",
    "choose_reading",
    "export_table_kind",
    "export_table_problem",
    "parquet_kind",
    "skip_reason",
]

#: Bytes of a file looked at to choose its format (~1,000 lines of RR values).
HEAD_BYTES = 8192
#: Beat-time detection needs at least this many strictly rising values (as the plain reader).
_RISING_MIN = 100
#: RR intervals in seconds lie in this range (hrv's own bounds, 100 ms - 10 s).
_SECONDS_RANGE = (0.1, 10.0)
_RR_SECS_NAME = re.compile(r"rr[_-]?secs?", re.IGNORECASE)
_FIELD_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True)
class Reading:
    """How a file is read: ``format`` and ``units`` for :func:`sensors.read_recording`.

    ``how`` says in words what was chosen and why (printed per file by ``hrvpace analyze``).
    ``units_read`` is the units of the values in the file (``"ms"`` or ``"s"``).
    """

    format: str | None
    units: str | None
    units_read: str
    how: str


def _head_lines(path: Path) -> list[str]:
    """The non-blank lines of the file's head, as written.

    Not stripped: split as the reader splits its header and rows, so an empty first field
    (a pandas index) stays a field.
    """
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES).decode("utf-8-sig", errors="replace")
    lines = split_lines(head)  # as the readers count lines
    if len(head) == HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut
    return [ln for ln in lines if ln.strip()]


def _layout(lines: list[str], path: Path) -> PlainLayout:
    """:func:`~sensors.formats.text.plain_layout` of ``_head_lines``, as the reader gets it."""
    stripped = [(n, ln.strip()) for n, ln in enumerate(lines, start=1)]
    return plain_layout(stripped, path=str(path), raw=lines)


def _numbers(lines: list[str]) -> np.ndarray | None:
    try:
        return np.array([float(x) for x in lines], dtype=np.float64)
    except ValueError:
        return None


def _looks_numeric(line: str) -> bool:
    """Every field of ``line`` (split on ``,``, ``;``, tabs and spaces) is a number."""
    fields = [f for f in _FIELD_SPLIT.split(line) if f]
    try:
        for f in fields:
            float(f)
    except ValueError:
        return False
    return bool(fields)


#: ``hrvpace export``'s contact table's header (:data:`api.research.units.NO_CONTACT_UNITS`).
_CONTACT_HEADER = tuple(csv_header(n, u) for n, u in NO_CONTACT_UNITS.items())
#: Cells every ``hrvpace export`` metrics table's header has (:data:`METRIC_UNITS`).
_METRIC_CELLS = frozenset(csv_header(n, u) for n, u in METRIC_UNITS.items())
_HEADER_CELL = re.compile(r"(?P<name>[a-z0-9_]+) \[(?P<unit>[^\]]*)\]")


def export_table_kind(first_line: str) -> str | None:
    """``"metrics"`` or ``"contact"`` for a header of ``hrvpace export``'s tables, else ``None``.

    The contact table's header is fixed (``start_t_s [s],end_t_s [s],ended_by [text]``); the
    metrics table's columns are those the live pipeline stored, so its header is told by the
    columns every one has (:data:`METRIC_UNITS`, ``t_s [s]`` first) and every cell being
    ``name [unit]`` with hrvpace's unit for that name (:func:`api.research.units.unit_of`).
    """
    try:
        cells = tuple(c.strip() for c in next(csv.reader([first_line.strip()])))
    except (csv.Error, StopIteration):
        return None
    if cells == _CONTACT_HEADER:
        return "contact"
    if cells[:1] != (csv_header("t_s", "s"),) or not set(cells) >= _METRIC_CELLS:
        return None
    for c in cells:
        m = _HEADER_CELL.fullmatch(c)
        if m is None or unit_of(m["name"]) != m["unit"]:
            return None
    return "metrics"


_EXPORT_TABLE_NAME = re.compile(
    r"(?P<id>.+)-(?P<kind>beats|metrics|contact)\.(?:csv|parquet)", re.IGNORECASE
)
#: The first bytes of every Parquet file.
_PARQUET_MAGIC = b"PAR1"


def parquet_kind(
    path: str | os.PathLike[str], *, name: str | None = None, schema: bool = True
) -> str | None:
    """What a Parquet file is: ``"beats"``, ``"metrics"``, ``"contact"`` or ``"parquet"``.

    ``None`` for a file that is not Parquet (it does not start with ``PAR1``). The readers
    read text recordings, where a Parquet file fails as "not a text file", which does not say
    what it is. ``hrvpace export``'s Parquet tables are told by their columns (those of
    :data:`api.research.units.BEAT_UNITS`, :data:`api.research.units.NO_CONTACT_UNITS`, or
    ``t_s`` first and every column of :data:`METRIC_UNITS`) when pyarrow (the ``research``
    extra) reads the schema, else by the export's name (``ID-beats.parquet``, ``name``: the
    name its owner gave it), or when ``schema`` is false (an upload: a file from elsewhere is
    not handed to pyarrow only to word its refusal); any other Parquet file is ``"parquet"``.
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            if f.read(len(_PARQUET_MAGIC)) != _PARQUET_MAGIC:
                return None
    except OSError:
        return None
    columns: list[str] | None = None
    if schema:
        try:
            columns = list(require("pyarrow.parquet").read_schema(p).names)
        except (MissingExtraError, OSError, ValueError):  # no pyarrow, or a broken file
            columns = None
    if columns is None:
        named = _EXPORT_TABLE_NAME.fullmatch(name or p.name)
        return named["kind"].lower() if named and named[0].endswith("parquet") else "parquet"
    if columns == list(BEAT_UNITS):
        return "beats"
    if columns == list(NO_CONTACT_UNITS):
        return "contact"
    if columns[:1] == ["t_s"] and set(columns) >= set(METRIC_UNITS):
        return "metrics"
    return "parquet"


def _beats_of(p: Path, name: str | None) -> str | None:
    """``ID-beats.csv`` of the export a table's name says, or ``None`` for another name."""
    named = _EXPORT_TABLE_NAME.fullmatch(name or p.name)
    if named is None or named[0].lower().endswith("-beats.csv"):
        return None  # not the export's name (a beats CSV would name itself)
    return f"{named['id']}-beats.csv"


def _beats_file(p: Path, name: str | None, what: str) -> str:
    """The export's beats file to analyse instead of the table ``p``, in words.

    Its path when it is beside ``p``, else ``the {what} ID-beats.csv of its export`` (code
    review: a path was named that did not exist). ``what``: ``beats file``, or ``CSV`` for
    the beats table in Parquet.
    """
    beats = _beats_of(p, name)
    if beats is not None and p.with_name(beats).is_file():
        whose = "its" if what == "CSV" else "the export's"
        return f"{whose} {what} {p.with_name(beats)}"
    return f"the {what} {beats or 'ID-beats.csv'} of its export"


def _instead(doing: str, beats: str, this: str) -> str:
    """What to name instead of an export's table or sidecar ``this``: its ``beats`` file.

    ``analyse BEATS (or the export folder, where this THIS is skipped)``; a command that takes
    one file (``doing``: ``replay``, ``report on``) ``DOING BEATS instead``.
    """
    if doing == "analyse":
        return f"analyse {beats} (or the export folder, where this {this} is skipped)"
    return f"{doing} {beats} instead"


def _parquet_problem(p: Path, kind: str, name: str | None, upload: bool, doing: str) -> str:
    """:func:`export_table_problem` of a Parquet file (:func:`parquet_kind` ``kind``)."""
    shown = str(p) if name is None else name
    if kind == "parquet":
        return (
            f"{shown}: a Parquet table, not an RR recording ({'uploads' if upload else 'files'} "
            "are read as text: CSV or TXT)"
        )
    if upload:
        csv_file = _beats_of(p, name) or "ID-beats.csv"
        if kind == "beats":
            return (
                f"{shown}: hrvpace export's beats table in Parquet, which is not read as a "
                f"recording: upload its CSV {csv_file} instead (the same beats)"
            )
        return (
            f"{shown}: hrvpace export's {kind} table (Parquet), not beats: upload the export's "
            f"beats file {csv_file} instead"
        )
    if kind == "beats":
        return (
            f"{shown}: hrvpace export's beats table in Parquet, which is not read as a "
            f"recording: {doing} {_beats_file(p, name, 'CSV')} instead (the same beats)"
        )
    return f"{shown}: hrvpace export's {kind} table (Parquet), not beats: " + _instead(
        doing, _beats_file(p, name, "beats file"), "table"
    )


def export_table_problem(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    upload: bool = False,
    doing: str = "analyse",
) -> str | None:
    """Why a file named on its own is not a recording (an export's table), else ``None``.

    ``hrvpace export``'s metrics or contact table is told by its header
    (:func:`export_table_kind`, as :func:`skip_reason` tells it in a folder). Read as a
    recording such a table fails as "a table without an RR column", which does not say what
    it is; this names it and the export's beats file to analyse instead (the path of
    ``ID-beats.csv`` beside ``ID-metrics.csv`` when it is there, else "the beats file
    ID-beats.csv of its export"), or the export folder.

    An hrvpace sidecar (``ID.json``, ``NAME.csv.json``), which would fail as "'{' is neither a
    number nor a header ...", is told by its content (:func:`_json_sidecar`): the export's
    names the beats file its ``files`` list. A Parquet file (:func:`parquet_kind`), which
    would fail as "not a text file", is told too: the export's beats table in Parquet names
    its CSV (``ID-beats.csv``, the same beats), its metrics or contact table the beats file,
    any other is a Parquet table, not a recording.

    ``name``: the file's name as its owner gave it (an upload is on disk under a temporary
    name), shown instead of ``path`` and read for the session id; ``upload``: the problem of
    ``POST /api/v1/recordings``, which says which file to upload instead; ``doing``: what the
    command does with the file named instead (``analyse``, which also takes the export's
    folder; ``replay``; ``report on``).
    """
    p = Path(path)
    parquet = parquet_kind(p, name=name, schema=not upload)
    if parquet is not None:
        return _parquet_problem(p, parquet, name, upload, doing)
    sidecar = _sidecar_problem(p, name, upload, doing)
    if sidecar is not None:
        return sidecar
    try:
        if detect_recording_format(p) != "plain":
            return None
        lines = _head_lines(p)
    except (RecordingFormatError, OSError):
        return None  # the reader reports it
    kind = export_table_kind(lines[0]) if lines else None
    if kind is None:
        return None
    shown = str(p) if name is None else name
    named = _beats_of(p, name)
    if upload:
        return (
            f"{shown}: hrvpace export's {kind} table, not beats: upload the export's beats "
            f"file {named or 'ID-beats.csv'} instead"
        )
    return f"{shown}: hrvpace export's {kind} table, not beats: " + _instead(
        doing, _beats_file(p, name, "beats file"), "table"
    )


#: A JSON file larger than this is not looked into for an hrvpace sidecar, named or uploaded
#: (parsed whole, JSON takes many times its size in memory and time: a 57-MB Fitbit export
#: named to analyze took 35 s of CPU and about 1 GB, code review; an export's sidecar is a few
#: kB to a few hundred): it fails as any other file.
_SIDECAR_MAX_BYTES = 1024 * 1024
#: A beats file's name taken from a sidecar: a plain file name, quoted nothing else of it.
_BEATS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}-beats\.csv")
#: What an export's sidecar is, in the words of every message about it.
_EXPORT_SIDECAR = "hrvpace export's sidecar (the session's settings and events)"


@dataclass(frozen=True)
class _Sidecar:
    """An hrvpace sidecar (:func:`_json_sidecar`).

    ``kind``: ``"export"`` (``ID.json``) or ``"analyze"`` (``NAME.csv.json``); ``beats``: the
    export's beats file name (``ID-beats.csv``); ``of``: the table an analyze sidecar is of.
    """

    kind: str
    beats: str | None = None
    of: str = ""


def _json_sidecar(p: Path, name: str | None = None) -> _Sidecar | None:
    """What hrvpace sidecar ``p`` is (its name, or ``name`` its owner gave it, ends ``.json``).

    ``hrvpace export``'s ``ID.json`` (``software.name`` hrvpace, ``session``, ``files``),
    whose beats file is the one its ``files`` list as ``*-beats.csv`` (else its session id's,
    else its name's: ``ID-beats.csv``), and ``hrvpace analyze``'s ``NAME.csv.json``
    (``hrvpace_version``, ``table``). ``None`` for any other file, one larger than
    :data:`_SIDECAR_MAX_BYTES` (1 MiB), or one that is not JSON.
    """
    shown = Path(name) if name is not None else p
    if shown.suffix.lower() != ".json":
        return None
    try:
        if p.stat().st_size > _SIDECAR_MAX_BYTES:
            return None
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    software = obj.get("software")
    if isinstance(software, dict) and software.get("name") == "hrvpace" and "session" in obj:
        files = obj.get("files")
        listed = [f for f in files if isinstance(f, str)] if isinstance(files, list) else []
        session = obj.get("session")
        sid = session.get("id") if isinstance(session, dict) else None
        candidates = [
            *(f for f in listed if f.endswith("-beats.csv")),
            f"{sid}-beats.csv" if isinstance(sid, str) else "",
            f"{shown.stem}-beats.csv",
        ]
        beats = next((c for c in candidates if _BEATS_NAME.fullmatch(c)), None)
        return _Sidecar("export", beats)
    if "hrvpace_version" in obj and "table" in obj:
        return _Sidecar("analyze", of=shown.stem)
    return None


def _json_sidecar_reason(p: Path) -> str | None:
    """Why ``p`` is skipped in a folder when it is an hrvpace sidecar, else ``None``.

    Code review: they were skipped as "not a recording: '{' is neither a number ...", which
    did not say what they are (:func:`_json_sidecar`).
    """
    sidecar = _json_sidecar(p)
    if sidecar is None:
        return None
    if sidecar.kind == "export":
        return (
            f"{_EXPORT_SIDECAR}, not a recording (its beats are {sidecar.beats or 'ID-beats.csv'})"
        )
    return f"hrvpace analyze's settings sidecar of {sidecar.of}, not a recording"


def _sidecar_problem(p: Path, name: str | None, upload: bool, doing: str) -> str | None:
    """:func:`export_table_problem` of an hrvpace sidecar named on its own or uploaded."""
    sidecar = _json_sidecar(p, name)
    if sidecar is None:
        return None
    shown = str(p) if name is None else name
    if sidecar.kind == "analyze":
        return (
            f"{shown}: hrvpace analyze's settings sidecar of {sidecar.of} (how its table was "
            "made), not a recording: "
            + ("upload" if upload else doing)
            + " the recordings themselves"
        )
    beats = sidecar.beats or "ID-beats.csv"
    if upload:
        return (
            f"{shown}: {_EXPORT_SIDECAR}, not beats: upload the export's beats file {beats} instead"
        )
    beside = p.with_name(beats)
    where = (
        f"the export's beats file {beside}"
        if sidecar.beats is not None and beside.is_file()
        else f"the beats file {beats} of its export"
    )
    return f"{shown}: {_EXPORT_SIDECAR}, not beats: " + _instead(doing, where, "file")


def skip_reason(path: str | os.PathLike[str]) -> str | None:
    """Why a file found in a folder is not a recording, or ``None`` when it may be one.

    A file may be one when a reader knows its header, when its first line after any ``#``
    comment lines is a number or a header naming an RR column (``rr_ms``, ``time;RR (s)``:
    :func:`sensors.formats.text.plain_layout`), or when most of its lines are numbers (data the
    reader must then read or refuse with the reason: a failure, never a silent skip; a table
    whose columns name no RR column, ``time,hr``, too).

    Examples
    --------
    >>> skip_reason("README.md")  # doctest: +SKIP
    "not a recording: '# Real RR-interval data' is neither a number nor a header naming ..."
    """
    p = Path(path)
    parquet = parquet_kind(p)
    if parquet is not None:  # not text: never read as a recording, nor quoted
        beats = _beats_of(p, None) or "the export's ID-beats.csv"
        if parquet == "parquet":
            return "a Parquet table, not a recording (recordings are read as text: CSV or TXT)"
        if parquet == "beats":
            return f"hrvpace export's beats table in Parquet (its CSV {beats} is the one read)"
        return (
            f"hrvpace export's {parquet} table (Parquet), not a recording (its beats are {beats})"
        )
    sidecar = _json_sidecar_reason(p)
    if sidecar is not None:
        return sidecar
    try:
        if detect_recording_format(p) != "plain":
            return None
        lines = _head_lines(p)
        layout = _layout(lines, p)
    except (RecordingFormatError, OSError):
        return None  # unreadable, or a header naming two RR columns: that file's failure
    kind = export_table_kind(lines[0]) if lines else None
    if kind is not None:
        beats = _beats_of(p, None) or "the export's ID-beats.csv"
        return f"hrvpace export's {kind} table, not a recording (its beats are {beats})"
    body = lines[layout.skip :]
    if layout.header is not None or not body or _looks_numeric(body[0]):
        return None  # an RR header, values, or only comments (the reader says: empty)
    numeric = sum(_looks_numeric(line) for line in body)
    if 2 * numeric > len(body):
        # mostly numbers under a first line naming no RR column (one name, or a table's
        # columns, ``time,hr``): perhaps a recording whose RR column is not recognised, so it
        # is read and fails saying why (exit 1, a row in --summary), never skipped: a
        # subject's file must not drop out of a cohort silently
        return None
    first = body[0].strip()
    shown = first if len(first) <= 60 else first[:57] + "..."
    sep = header_separator(first)
    fields = split_fields(first, sep) if sep else [first]
    rates = [n for n in fields if heart_rate_column(n)]
    if rates and all(heart_rate_column(n) or time_column(n) for n in fields):
        # a watch's heart-rate export with clock times (2024-05-01T10:00:00,72)
        return (
            f"not a recording: {shown!r}: {rates[0]!r} names a heart-rate column (bpm), not RR "
            f"intervals; {HEART_RATE_NOT_RR}"
        )
    if rates:  # another column may hold RR intervals under a name not read: as the reader
        return f"not a recording: {no_rr_column_problem(first)}"
    return (
        f"not a recording: {shown!r} is neither a number nor a header naming an RR column, "
        f"and {numeric} of the {len(body)} lines looked at are numbers"
    )


def choose_reading(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    units: str | None = None,
    name: str | None = None,
) -> Reading:
    """The format and units to read ``path`` with (see the module docstring).

    The one detection of every command and of the service's uploads (``hrvpace analyze``,
    ``replay``, ``report``, ``POST /api/v1/recordings``).

    Parameters
    ----------
    path
        The file.
    format
        A format the user named (used as is), or ``None`` to decide from the content.
    units
        Units the user named for files that do not state theirs (``plain``), or ``None`` (ms).
    name
        The file's name as its owner gave it, for the ``*rr_secs*`` rule (an upload is on
        disk under a temporary name); ``None``: the name of ``path``.

    Returns
    -------
    Reading
        Unreadable files get the plain reading; reading them reports the problem.
    """
    p = Path(path)
    if format is not None:
        fixed = {"plain": units or "ms", "physionet_rr_secs": "s", "ghrv_beats": "s"}
        return Reading(format, units, fixed.get(format, units or "ms"), f"{format} (--format)")
    try:
        detected = detect_recording_format(p)
        lines = _head_lines(p) if detected == "plain" else []
        layout = _layout(lines, p)
    except (RecordingFormatError, OSError):
        return Reading(None, units, units or "ms", "unreadable")
    if detected != "plain":
        return Reading(detected, None, "ms", f"{detected} (the file's header)")
    if layout.header is not None:
        column = f"column {layout.column_name!r} of the header"
        if layout.units is not None:  # the file states its units: --units is for the others
            return Reading("plain", None, layout.units, f"plain, {layout.units} ({column})")
        if units is not None:
            return Reading("plain", units, units, f"plain, {units} (--units; {column})")
        return Reading("plain", None, "ms", f"plain, ms (default; {column}; --units s for seconds)")
    values = _numbers(lines[layout.skip :])
    lo, hi = _SECONDS_RANGE
    if values is not None and values.size >= 3 and _RR_SECS_NAME.search(name or p.name):
        rest = values[1:]
        if lo <= float(np.median(rest)) <= hi:
            return Reading(
                "physionet_rr_secs",
                None,
                "s",
                f"physionet_rr_secs, s (name *rr_secs*; line 1 = first beat at {values[0]:g} s)",
            )
    if values is not None and values.size >= _RISING_MIN:
        steps = np.diff(values)
        if bool(np.all(steps > 0)) and lo <= float(np.median(steps)) <= hi:
            return Reading(
                "ghrv_beats", None, "s", "ghrv_beats, s (values strictly rise: beat times)"
            )
    if units is not None:
        return Reading("plain", units, units, f"plain, {units} (--units)")
    return Reading("plain", None, "ms", "plain, ms (default; --units s for seconds)")
