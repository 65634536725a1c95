r"""hrvpace's own recording format: a versioned CSV written beat by beat (private module).

Layout (UTF-8, ``\n`` line ends)::

    # hrvpace-recording v2
    # meta {"device": "Polar H10 1A2B3C4D", "start_time": "2026-11-23T10:15:00+00:00"}
    t_s,rr_ms,arrived_at_unix_s,contact,gap_before,heart_rate_bpm
    0.8125,812.5,1763892900.8125,1,0,74
    1.62109375,808.59375,1763892901.64,1,0,
    # contact {"t_s": 2.4, "contact": false}
    # contact {"t_s": 9.1, "contact": true}
    9.9,800.0,1763892910.3,1,1,75

- line 1 names the format and its version; a reader refuses versions it does not know;
- line 2 is ``# meta`` and one JSON object (device, start time, anything the recorder knows);
- line 3 names the columns, with units in the names;
- then one line per beat, exactly the fields of :class:`sensors.Beat`: floats are written with
  Python's shortest round-trip ``repr``, so reading gives back the *identical* float64 values;
  ``contact`` is ``1``/``0``/empty (unknown), ``gap_before`` ``1``/``0``, ``heart_rate_bpm``
  empty when the device did not report one;
- ``# contact`` lines (v2) keep a stretch without skin contact, in which a strap sends no
  beats, or beats marked without contact, so the beat lines cannot say where it began and
  ended: one with ``"contact": false`` where the stretch began (``t_s`` on the beats'
  timeline), one with ``"contact": true`` where the strap said contact came back. A stretch
  the strap dropped in has no ``true`` line (when contact came back is unknown): it ends at
  the next beat with contact (``contact`` ``1`` or empty: beats marked ``0`` are in the
  stretch), or at the end of the file; two ``false`` lines in a row are possible. The reader
  returns them in ``meta["contact_changes"]`` as ``[t_s, contact]`` pairs. Version 1 files (no
  such lines) are read as before.

Each beat is written and flushed at once (and ``fsync``-ed when asked), so a crash loses at
most the line being written; a reader accepts a last line cut short without its newline (it is
dropped and ``meta["truncated_last_line"]`` is set).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NoReturn, Self

import numpy as np
from numpy.typing import NDArray

from sensors.beat import Beat
from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    CONTACT_NO,
    CONTACT_UNKNOWN,
    CONTACT_YES,
    MAX_DURATION_S,
    Recording,
    check_rr_values,
    parse_floats,
    quote,
    read_text,
)
from sensors.formats.gaps import infer_gaps
from sensors.formats.text import header_separator, split_fields

__all__ = [
    "CUT_OFF_NOTE",
    "EXPORT_BEATS_HEADER",
    "MAGIC",
    "RecordingWriter",
    "ends_cut_off",
    "export_paced_runs",
    "looks_like_hrvpace",
    "looks_like_hrvpace_export",
    "read_hrvpace",
    "read_hrvpace_export",
]

MAGIC = "# hrvpace-recording"
#: What a command says of a recording whose last line was cut short (the reader drops it).
CUT_OFF_NOTE = "last line incomplete (file cut off?), ignored"
VERSION = 2
#: Versions this reader reads (v1: the same without ``# contact`` lines).
_READABLE_VERSIONS = (1, 2)
_CONTACT_LINE = "# contact"
COLUMNS = ("t_s", "rr_ms", "arrived_at_unix_s", "contact", "gap_before", "heart_rate_bpm")
_CONTACT_CODES = {"1": CONTACT_YES, "0": CONTACT_NO, "": CONTACT_UNKNOWN}
#: Longest ``# meta`` line read (characters after ``# meta``): the recorder writes a few
#: hundred; a bound keeps a crafted line from costing memory and time to parse.
MAX_META_CHARS = 64 * 1024
#: Longest ``# contact`` line read (the writer's are about 40 characters).
MAX_CONTACT_CHARS = 4096
#: Deepest nesting of arrays and objects read in a ``# meta`` or ``# contact`` line (the
#: recorder's meta nests 3 deep); deeper JSON would exhaust the parser's recursion.
MAX_JSON_DEPTH = 32
#: Meta keys set after reading, by this reader, the other readers or a cut to a segment
#: (``api.research.segments.cut``), and read by the analysis: a file's meta line cannot set them
#: (a ``path`` naming another file, ``contact_changes`` that no contact line made, a
#: ``segment`` 'baseline' 100-400 s or ``dropped_zero_lines`` on a whole recording).
RESERVED_META_KEYS = frozenset(
    {
        "path",
        "units",
        "format_version",
        "contact_changes",
        "truncated_last_line",
        "n_gaps",
        "signal_loss_lines",
        # the plain reader's: the units' source, the RR column, the zeros left out
        "units_from",
        "column",
        "dropped_zero_lines",
        # a cut to a segment
        "segment",
        "segment_start_s",
        "segment_end_s",
        "segment_past_end",
        "segment_no_contact_at_start",
        # an export's sidecar: when the session was paced
        "paced_runs",
    }
)

_log = logging.getLogger(__name__)

#: Largest export sidecar (``ID.json``) read for its paced runs; a session's micro-break events
#: and check-ins make it a few hundred kB at most.
MAX_SIDECAR_BYTES = 64 * 2**20


#: The header of ``hrvpace export``'s ``ID-beats.csv`` (``api.research.units.BEAT_UNITS`` as
#: ``name [unit]``; a test holds the two equal: sensors does not import api).
EXPORT_BEATS_HEADER = (
    "idx [index]",
    "t_s [s]",
    "rr_ms [ms]",
    "arrived_at [unix_s]",
    "contact [1 contact/0 none/-1 unknown]",
    "gap_before [bool]",
    "hr_bpm [1/min]",
)
_EXPORT_CONTACT = {"1": CONTACT_YES, "0": CONTACT_NO, "-1": CONTACT_UNKNOWN}
#: ``gap_before`` as exports write it (``1``/``0``; exports before 0.1 wrote ``True``/``False``).
_EXPORT_GAP = {"1": True, "0": False, "true": True, "false": False}


def looks_like_hrvpace_export(first_line: str) -> bool:
    """True for the header of ``hrvpace export``'s beats table (:data:`EXPORT_BEATS_HEADER`).

    Split as the plain reader splits a header (:func:`sensors.formats.text.split_fields`:
    ``,``, ``;`` or tab, fields in double quotes): a table re-saved by a spreadsheet (every
    field quoted, or ``;`` between columns with decimal commas) is still the export, and
    read as one, not as a plain ``rr_ms`` column that loses its times and gaps.
    """
    line = first_line.strip()
    sep = header_separator(line)
    return sep is not None and tuple(split_fields(line, sep)) == EXPORT_BEATS_HEADER


def looks_like_hrvpace(first_line: str) -> bool:
    """True when the first line is the ``# hrvpace-recording vN`` header."""
    return first_line.strip().startswith(MAGIC)


class RecordingWriter:
    """Write beats to an hrvpace recording file, one line per beat, flushed as it goes.

    Usage::

        with RecordingWriter("session.csv", meta={"device": "Polar H10"}) as writer:
            async for beat in source:
                writer.write(beat)

    Parameters
    ----------
    path
        The file to create.
    meta
        What to record about the session (device name, start time, ...); stored as JSON on
        line 2 (values that JSON cannot hold are written as their ``str``).
    overwrite
        Replace an existing file instead of refusing it (default: refuse).
    fsync
        Also ``os.fsync`` after each beat, so even a power cut loses nothing written (slower).

    Raises
    ------
    RecordingFormatError
        The file exists (without ``overwrite``) or cannot be created; a beat with an RR
        interval that is not a positive finite number, or a non-finite time.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        meta: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._n = 0
        try:
            self._file: IO[str] | None = open(  # noqa: SIM115 - closed in close()
                self.path, "w" if overwrite else "x", encoding="utf-8", newline="\n"
            )
        except OSError as exc:
            reason = f"cannot create the recording ({exc.strerror or exc})"
            raise RecordingFormatError(reason, path=str(self.path)) from exc
        meta_json = json.dumps(dict(meta or {}), default=str, ensure_ascii=False)
        self._emit(f"{MAGIC} v{VERSION}\n# meta {meta_json}\n{','.join(COLUMNS)}\n")

    @property
    def n_written(self) -> int:
        """Beats written so far."""
        return self._n

    @property
    def closed(self) -> bool:
        """Whether the writer is closed (no more beats are taken)."""
        return self._file is None

    def _emit(self, text: str) -> None:
        if self._file is None:
            raise RecordingFormatError("the recording is closed", path=str(self.path))
        try:
            self._file.write(text)
            self._file.flush()
            if self._fsync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            # a full disk, a file-size limit: the lines before are in the file (flushed one by
            # one); this one is not counted, and the writer is closed (closing it would only
            # try the same write again), the error naming the file
            file, self._file = self._file, None
            with contextlib.suppress(OSError, ValueError):
                file.close()
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from exc

    def write(self, beat: Beat) -> None:
        """Append one beat and flush it to the operating system."""
        where = f"beat {self._n + 1}"
        rr = float(beat.rr_ms)
        if not (math.isfinite(rr) and rr > 0):
            raise RecordingFormatError(
                f"{where}: rr_ms={beat.rr_ms!r} must be a positive finite number",
                path=str(self.path),
            )
        for name in ("t_s", "arrived_at"):
            if not math.isfinite(float(getattr(beat, name))):
                raise RecordingFormatError(
                    f"{where}: {name}={getattr(beat, name)!r} must be finite", path=str(self.path)
                )
        contact = "" if beat.contact is None else ("1" if beat.contact else "0")
        hr = "" if beat.heart_rate_bpm is None else repr(float(beat.heart_rate_bpm))
        self._emit(
            f"{float(beat.t_s)!r},{rr!r},{float(beat.arrived_at)!r},{contact},"
            f"{int(bool(beat.gap_before))},{hr}\n"
        )
        self._n += 1

    def write_contact(self, t_s: float, contact: bool) -> None:
        """Record that skin contact was lost (``contact=False``) or came back at ``t_s``."""
        if not math.isfinite(float(t_s)):
            raise RecordingFormatError(
                f"contact change at t_s={t_s!r}: must be finite", path=str(self.path)
            )
        change = json.dumps({"t_s": float(t_s), "contact": bool(contact)})
        self._emit(f"{_CONTACT_LINE} {change}\n")

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def ends_cut_off(path: str | os.PathLike[str]) -> bool:
    """Whether the file ends in a line without its newline (:func:`read_hrvpace` drops it).

    Reads the last byte only; a file that cannot be read is not said to be cut off (reading
    it says why).
    """
    try:
        with open(path, "rb") as f:
            if f.seek(0, os.SEEK_END) == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:
        return False


def read_hrvpace(path: str) -> Recording:
    """Read an hrvpace recording (see the module docstring for the layout).

    ``t_s``, ``rr_ms``, ``arrived_at``, contact and the device heart rate come back exactly as
    written. ``gaps`` is the recorded ``gap_before`` *or* a gap found from the recorded beat
    times (rule in :mod:`sensors.formats.gaps`), so a file written by a source that did not
    mark its gaps still has them. ``start_s`` is 0: ``t_s`` is already stream time.
    """
    text = read_text(path)
    truncated = bool(text) and not text.endswith("\n")
    lines = text.split("\n")
    if truncated:
        lines = lines[:-1]
    head = lines[0].strip() if lines else ""
    if not looks_like_hrvpace(head):
        raise RecordingFormatError(
            f"not an hrvpace recording: line 1 must be '{MAGIC} v{VERSION}'", path=path, line=1
        )
    version = head[len(MAGIC) :].strip()
    if version not in {f"v{v}" for v in _READABLE_VERSIONS}:
        raise RecordingFormatError(
            f"unsupported hrvpace recording version {quote(version)} "
            f"(this hrvpace reads {', '.join(f'v{v}' for v in _READABLE_VERSIONS)})",
            path=path,
            line=1,
        )
    meta: dict[str, Any] = {}
    idx = 1
    if len(lines) > idx and lines[idx].startswith("# meta"):
        loaded = _json_line(
            lines[idx][len("# meta") :], what="meta", limit=MAX_META_CHARS, path=path, line=2
        )
        if not isinstance(loaded, dict):
            _refuse("the meta line is not a JSON object", path=path, line=2)
        meta.update({k: v for k, v in loaded.items() if k not in RESERVED_META_KEYS})
        idx += 1
    if len(lines) <= idx or tuple(c.strip() for c in lines[idx].split(",")) != COLUMNS:
        if truncated and not any(line.strip() for line in lines[idx:]):
            _refuse(
                "the file ends in an incomplete line before its column header: it looks cut "
                "off (an interrupted copy or download?)",
                path=path,
                line=len(lines) + 1,
            )
        _refuse(f"missing column header: expected {','.join(COLUMNS)!r}", path=path, line=idx + 1)
    first_data = idx + 1
    rows: list[list[str]] = []
    numbers: list[int] = []
    contact_changes: list[list[Any]] = []
    for k, raw in enumerate(lines[first_data:], start=first_data + 1):
        s = raw.strip()
        if not s:
            continue
        if s.startswith(_CONTACT_LINE) and version != "v1":
            change = _contact_change(s[len(_CONTACT_LINE) :], path=path, line=k)
            if contact_changes and change[0] < contact_changes[-1][0]:
                _refuse(
                    f"the contact change at t_s={change[0]:g} is before the one above it "
                    f"(t_s={contact_changes[-1][0]:g}): contact lines are written in time order",
                    path=path,
                    line=k,
                )
            contact_changes.append(change)
            continue
        fields = s.split(",")
        if len(fields) != len(COLUMNS):
            problem = "missing column" if len(fields) < len(COLUMNS) else "extra column"
            _refuse(
                f"{problem}: expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), "
                f"found {len(fields)}",
                path=path,
                line=k,
            )
        rows.append(fields)
        numbers.append(k)
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    t_s, rr_ms, arrived_at, hr = _beat_columns(
        cols[0], cols[1], cols[2], cols[5], numbers, path=path, quote_time=True
    )
    contact = np.empty(len(rows), dtype=np.int8)
    for k, (tok, line) in enumerate(zip(cols[3], numbers, strict=True)):
        code = _CONTACT_CODES.get(tok.strip())
        if code is None:
            raise RecordingFormatError(
                f"contact {quote(tok)} must be 1, 0 or empty", path=path, line=line
            )
        contact[k] = code
    gap_tok = [g.strip() for g in cols[4]]
    bad_gap = [k for k, g in enumerate(gap_tok) if g not in ("0", "1")]
    if bad_gap:
        k = bad_gap[0]
        raise RecordingFormatError(
            f"gap_before {quote(gap_tok[k])} must be 1 or 0", path=path, line=numbers[k]
        )
    recorded_gaps = np.array([g == "1" for g in gap_tok], dtype=np.bool_)
    inferred, _ = infer_gaps(rr_ms, t_s)
    gaps = recorded_gaps | inferred
    meta["path"] = path
    meta["units"] = "ms"
    meta["format_version"] = int(version[1:])
    if contact_changes:
        meta["contact_changes"] = contact_changes
    meta["truncated_last_line"] = truncated
    meta["n_gaps"] = int(gaps.sum())
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="hrvpace",
        arrived_at=arrived_at,
        heart_rate_bpm=hr,
        start_s=0.0,
        meta=meta,
    )


def read_hrvpace_export(path: str) -> Recording:
    """The beats table of ``hrvpace export`` (``ID-beats.csv``, :data:`EXPORT_BEATS_HEADER`).

    One row per stored beat: ``t_s`` (the session's stream time), ``rr_ms``, ``arrived_at``,
    ``contact`` (``1``/``0``/``-1``), ``gap_before`` (``1``/``0``: beats were missing before
    this one, as the live session found) and the strap's ``hr_bpm`` (empty: none), read as
    :func:`read_hrvpace` reads a recording: the same times, gaps (the recorded ones, or a gap
    found from the times, :mod:`sensors.formats.gaps`), contact codes and heart rates, so
    analysing an export gives what analysing the session's own recording gives. The stretches
    without contact are in the export's ``ID-contact.csv``, not read here. ``start_s`` is 0.
    A table re-saved by a spreadsheet is read too: fields in double quotes, ``;`` or tab
    between columns, and then decimal commas (as :func:`sensors.formats.text.read_plain`).

    When the session paced, the export's sidecar beside the table (``ID.json`` for
    ``ID-beats.csv``) says when: its ``events.paced_runs`` come back in
    ``meta["paced_runs"]`` (``[[start_t_s, end_t_s], ...]``), which a replay passes to the
    micro-break monitor (:attr:`sensors.ReplaySource.paced_runs`). Without a sidecar, or with
    one from before exports stated them, the key is absent (unpaced, as before). A sidecar that
    cannot be read, whose ``paced_runs`` are malformed, or that is another table's (its
    ``session.id`` or ``session.n_beats`` is not this table's), is logged as a warning naming
    the file and the field, and the key is absent: the beats are still read.
    """
    text = read_text(path)
    lines = [(k, ln) for k, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if not lines or not looks_like_hrvpace_export(lines[0][1]):
        _refuse(
            "not an hrvpace export's beats table: line 1 must be "
            f"{','.join(EXPORT_BEATS_HEADER)!r}",
            path=path,
            line=lines[0][0] if lines else 1,
        )
    width = len(EXPORT_BEATS_HEADER)
    sep = header_separator(lines[0][1].strip()) or ","
    rows: list[list[str]] = []
    numbers: list[int] = []
    for k, raw in lines[1:]:
        fields = split_fields(raw, sep)
        while len(fields) > width and not fields[-1]:  # a spreadsheet's trailing separator
            fields.pop()
        if len(fields) != width:
            _refuse(
                f"the row has {len(fields)} fields where the header has {width}",
                path=path,
                line=k,
            )
        rows.append(fields)
        numbers.append(k)
    if not rows:
        raise RecordingFormatError("the beats table is empty (no beats)", path=path)
    cols = list(zip(*rows, strict=True))
    if sep in (";", "\t"):  # a spreadsheet's decimal commas (0,736), as the plain reader reads
        cols[1:4] = [tuple(c.replace(",", ".") for c in col) for col in cols[1:4]]
        cols[6] = tuple(c.replace(",", ".") for c in cols[6])
    t_s, rr_ms, arrived_at, hr = _beat_columns(
        cols[1], cols[2], cols[3], cols[6], numbers, path=path, quote_time=False
    )
    contact = np.empty(len(rows), dtype=np.int8)
    recorded_gaps = np.empty(len(rows), dtype=np.bool_)
    for k, (c, g, line) in enumerate(zip(cols[4], cols[5], numbers, strict=True)):
        code = _EXPORT_CONTACT.get(c)
        if code is None:
            _refuse(f"contact {quote(c)} must be 1, 0 or -1", path=path, line=line)
        gap = _EXPORT_GAP.get(g.lower())
        if gap is None:
            _refuse(f"gap_before {quote(g)} must be 1 or 0", path=path, line=line)
        contact[k], recorded_gaps[k] = code, gap
    inferred, _ = infer_gaps(rr_ms, t_s)
    gaps = recorded_gaps | inferred
    meta: dict[str, Any] = {"path": path, "units": "ms", "n_gaps": int(gaps.sum())}
    paced_runs = export_paced_runs(path, n_beats=len(rows))
    if paced_runs is not None:
        meta["paced_runs"] = paced_runs
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="hrvpace_export",
        arrived_at=arrived_at,
        heart_rate_bpm=hr,
        start_s=0.0,
        meta=meta,
    )


#: The end of the name of ``hrvpace export``'s beats table (``ID-beats.csv``; sidecar ``ID.json``).
_EXPORT_BEATS_SUFFIX = "-beats.csv"


def export_paced_runs(path: str | os.PathLike[str], *, n_beats: int) -> list[list[float]] | None:
    """When the session of an export's beats table ``path`` paced, from its sidecar.

    The sidecar is ``ID.json`` beside ``ID-beats.csv``; its ``events.paced_runs`` are
    ``[[start_t_s, end_t_s], ...]`` on the beats' timeline (``[]``: the session never paced).
    ``None``: no sidecar, one from an export before they were stated (no ``paced_runs``, or
    ``null``), or one that cannot be used, which is logged as a warning naming the file and
    the field (it is no part of the beats: they are read all the same). A sidecar is the
    table's when its ``session.id`` is the one in the table's name and its ``session.n_beats``
    is ``n_beats``, the table's beats (a sidecar renamed to another export's table, or a table
    with beats added or removed, does not say when those beats paced).
    """
    beats = Path(path)
    if not beats.name.endswith(_EXPORT_BEATS_SUFFIX):
        return None
    session_id = beats.name[: -len(_EXPORT_BEATS_SUFFIX)]
    sidecar = beats.with_name(f"{session_id}.json")
    unused = "so the beats are read as unpaced (a replay judges no window as paced)"
    try:
        if not sidecar.is_file():
            return None
        with open(sidecar, "rb") as f:
            raw = f.read(MAX_SIDECAR_BYTES + 1)
        if len(raw) > MAX_SIDECAR_BYTES:
            _log.warning(
                "%s: the export's sidecar is larger than %d MiB: not read, %s",
                sidecar,
                MAX_SIDECAR_BYTES // 2**20,
                unused,
            )
            return None
        doc = json.loads(raw.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
        if isinstance(exc, json.JSONDecodeError):
            problem = f"not valid JSON: {exc.msg}, line {exc.lineno}"
        _log.warning("%s: the export's sidecar cannot be read (%s), %s", sidecar, problem, unused)
        return None
    if not isinstance(doc, dict):
        _log.warning("%s: the export's sidecar is not a JSON object, %s", sidecar, unused)
        return None
    session = doc.get("session")
    owner = session.get("id") if isinstance(session, dict) else None
    if owner is not None and owner != session_id:
        _log.warning(
            "%s: session.id is %s, not %s as the beats table's name says: its paced_runs are "
            "not this table's, %s",
            sidecar,
            quote(str(owner)),
            quote(session_id),
            unused,
        )
        return None
    events = doc.get("events")
    if events is None:
        return None
    if not isinstance(events, dict):
        _log.warning("%s: events is not a JSON object, %s", sidecar, unused)
        return None
    runs = events.get("paced_runs")
    if runs is None:
        return None
    if not isinstance(runs, list):
        _log.warning(
            "%s: events.paced_runs is not a list of [start_t_s, end_t_s], %s", sidecar, unused
        )
        return None
    out: list[list[float]] = []
    for i, run in enumerate(runs):
        pair = run if isinstance(run, list) and len(run) == 2 else None
        if pair is None or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and abs(x) <= MAX_DURATION_S
            for x in pair
        ):
            _log.warning(
                "%s: events.paced_runs[%d] is not [start_t_s, end_t_s] (two finite numbers of "
                "seconds on the beats' timeline), %s",
                sidecar,
                i,
                unused,
            )
            return None
        start, end = float(pair[0]), float(pair[1])
        if end < start:
            _log.warning("%s: events.paced_runs[%d] ends before it starts, %s", sidecar, i, unused)
            return None
        out.append([start, end])
    stated = session.get("n_beats") if isinstance(session, dict) else None
    if stated != n_beats or isinstance(stated, bool):
        _log.warning(
            "%s: session.n_beats is %s, but the beats table %s has %d beats: its paced_runs are "
            "not this table's, %s",
            sidecar,
            stated
            if isinstance(stated, int)
            else "missing"
            if stated is None
            else quote(str(stated)),
            beats.name,
            n_beats,
            unused,
        )
        return None
    return out


def _beat_columns(
    t_s: Sequence[str],
    rr_ms: Sequence[str],
    arrived_at: Sequence[str],
    hr_bpm: Sequence[str],
    numbers: Sequence[int],
    *,
    path: str,
    quote_time: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The beat times, RR intervals, arrival times and heart rates of a beats table's rows.

    The columns' fields (one per row, ``numbers`` their lines) as both readers check them: a
    time beyond :data:`MAX_DURATION_S` is corrupt, RR values pass
    :func:`~sensors.formats._common.check_rr_values`, an empty heart rate is NaN (none sent).
    ``quote_time``: the corrupt time's message quotes the field (the recording reader's), else
    it quotes nothing of the file (the export reader's, :func:`_refuse`).
    """
    t = parse_floats(t_s, numbers, path=path, what="t_s")
    bad_t = ~(np.abs(t) <= MAX_DURATION_S)
    if bad_t.any():
        k = int(np.argmax(bad_t))
        days = MAX_DURATION_S / 86_400
        beyond = f"is beyond {days:g} days, the longest recording: a corrupt time"
        if quote_time:
            raise RecordingFormatError(f"t_s {quote(t_s[k])} {beyond}", path=path, line=numbers[k])
        _refuse(f"t_s {beyond}", path=path, line=numbers[k])
    rr = parse_floats(rr_ms, numbers, path=path, what="RR interval")
    check_rr_values(rr, numbers, path=path, shown=rr_ms)
    arrived = parse_floats(arrived_at, numbers, path=path, what="arrival time")
    hr_tok = [h.strip() for h in hr_bpm]
    hr = np.full(len(hr_tok), np.nan)
    have_hr = [k for k, h in enumerate(hr_tok) if h]
    if have_hr:
        hr[have_hr] = parse_floats(
            [hr_tok[k] for k in have_hr],
            [numbers[k] for k in have_hr],
            path=path,
            what="heart rate",
        )
    return t, rr, arrived, hr


def _refuse(problem: str, *, path: str, line: int) -> NoReturn:
    """Raise the format error ``problem`` at ``line``; ``problem`` quotes nothing of the file."""
    raise RecordingFormatError(problem, path=path, line=line, summary=problem)


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON value (a scalar: 0), iteratively."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _json_line(text: str, *, what: str, limit: int, path: str, line: int) -> Any:
    """The JSON value of a ``# meta`` or ``# contact`` line, bounded in length and nesting."""
    if len(text) > limit:
        _refuse(f"the {what} line is longer than {limit} characters", path=path, line=line)
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        _refuse(f"the {what} line is not valid JSON ({exc.msg})", path=path, line=line)
    except (ValueError, RecursionError):  # an integer of over 4300 digits; nesting too deep
        _refuse(
            f"the {what} line is not JSON this reader takes (an integer too long or arrays "
            f"and objects nested more than {MAX_JSON_DEPTH} deep)",
            path=path,
            line=line,
        )
    if _depth(loaded) > MAX_JSON_DEPTH:
        _refuse(
            f"the {what} line nests arrays and objects more than {MAX_JSON_DEPTH} deep",
            path=path,
            line=line,
        )
    return loaded


def _contact_change(text: str, *, path: str, line: int) -> list[Any]:
    """``[t_s, contact]`` of a ``# contact`` line's JSON object.

    ``t_s`` must be a finite number within :data:`MAX_DURATION_S` of 0, the bound of a beat's
    ``t_s`` (the caller checks that contact lines come in time order).
    """
    loaded = _json_line(text, what="contact", limit=MAX_CONTACT_CHARS, path=path, line=line)
    t_s = loaded.get("t_s") if isinstance(loaded, dict) else None
    contact = loaded.get("contact") if isinstance(loaded, dict) else None
    if not isinstance(t_s, int | float) or isinstance(t_s, bool) or not isinstance(contact, bool):
        _refuse(
            'a contact line needs {"t_s": <number>, "contact": true|false}', path=path, line=line
        )
    try:
        seconds = float(t_s)
    except OverflowError:  # an integer beyond any float
        seconds = math.inf
    if not abs(seconds) <= MAX_DURATION_S:
        _refuse(
            f"the contact line's t_s is not a finite number within {MAX_DURATION_S / 86_400:g} "
            "days, the longest recording: a corrupt time",
            path=path,
            line=line,
        )
    return [seconds, contact]
