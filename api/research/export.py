"""A stored session as files: CSV (units in the header) and Parquet, with a JSON sidecar.

For session ``ID`` in ``DIR``:

- ``ID-beats.csv`` / ``ID-beats.parquet``: one row per beat, :data:`BEAT_UNITS` (the CSV
  header says ``name [unit]``; Parquet keeps the plain names and puts the unit in each field's
  metadata, key ``unit``). Floats are written with ``repr`` in the CSV (exact round trip);
  missing values are empty cells / Parquet nulls;
- ``ID-metrics.csv`` / ``ID-metrics.parquet``: the metric snapshots the live pipeline stored
  (one row per analysed window; columns as in ``hrv.rolling``, ``t_s`` the window end, which
  the Parquet field's ``description`` says);
- ``ID-contact.csv`` / ``ID-contact.parquet``: the stretches without skin contact the strap
  reported (:data:`NO_CONTACT_UNITS`: ``start_t_s``, ``end_t_s``, ``ended_by``; see
  :mod:`sensors.contact`): the strap sends no beats then, or beats marked without contact, so
  the beats table cannot show where they began and ended;
- ``ID.json``: the sidecar: session (id, mode, state, times), device and source, software
  version (``software``) and the exporting build (:func:`api._version.provenance`:
  ``hrvpace_version``, ``hrvpace_build``, ``libraries``, as ``analyze`` records them), the
  session's options, how the live metric windows were made
  (``settings.live_analysis``: :func:`hrv.live.live_settings` as stored with the session when
  it started, ``settings_recorded`` true; for a session stored before hrvpace kept them, the
  exporting version's, ``settings_recorded`` false and ``assumed`` saying so: window
  length and step, NN filter, spectral settings, and why the frequency columns are empty:
  a 60-s window is shorter than the 128 s Welch needs) and the service's stored settings,
  the session's events
  (micro-break events, check-ins with their ``t_s`` on the beat timeline or ``null``,
  assessment events, stretches without contact, and ``paced_runs``: when the session's pacer
  ran, ``[[start_t_s, end_t_s], ...]``, ``[]`` for a session that never paced, ``null`` for one
  stored before hrvpace kept them; ``hrvpace replay`` of the beats table reads them, so the
  replay judges those windows as paced, as the live session did), the files and their
  columns with units.
  Written last, so its presence means the export is complete.

Every file is written whole or not at all: all of them are first written under temporary
names in ``DIR`` (:mod:`api._files`); a failure then (a full disk, an unwritable
folder) removes them and leaves an earlier export of the session as it was. Only then is an
earlier ``ID.json`` removed, the tables moved in place and the new ``ID.json`` moved in last,
so a sidecar never describes tables that were not written. A link at a file's name stays a
link (the file it names is replaced); a replaced file keeps its mode (health data kept
``0600`` stays so), a new one gets ``0666`` less the umask.

No file is written for an empty table other than the beats (a session with no beats still
gets an empty beats table with its header).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api._files import move_into, real_path, replace_with
from api._version import __version__, provenance
from api.research import require
from api.research.store import StoredSession, load_session
from api.research.units import (
    BEAT_UNITS,
    DESCRIPTIONS,
    NO_CONTACT_UNITS,
    arrow_null_type,
    csv_text,
    unit_of,
    units_of,
)
from api.storage import ReadOnlyDatabase, StorageError
from hrv.live import live_settings

__all__ = ["BEAT_UNITS", "METRIC_UNITS", "export_session"]

#: Units of the usual metric columns (others are derived from the name by the same rule).
METRIC_UNITS: dict[str, str] = {
    n: unit_of(n)
    for n in ("t_s", "n_beats", "rmssd_ms", "sdnn_ms", "lf_ms2", "lf_hf", "coherence_ratio")
}


class _Staged:
    """Files written under temporary names beside their final ones, moved in by :meth:`commit`.

    A write that fails leaves the folder as it was once :meth:`discard` removed the temporary
    files written so far.
    """

    def __init__(self) -> None:
        self.moves: list[tuple[Path, Path]] = []  # (temporary, real final)

    def write(self, path: Path, write: Callable[[Any], None], *, binary: bool = False) -> None:
        real = real_path(path)
        self.moves.append((replace_with(real, write, binary=binary), real))

    def commit(self, sidecar: Path) -> None:
        """Remove an earlier ``sidecar``, move the tables in, then the staged ``sidecar``."""
        real_side = real_path(sidecar)
        try:
            real_side.unlink(missing_ok=True)  # an earlier export's: it would describe a mix
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(real_side)) from None
        tables = [m for m in self.moves if m[1] != real_side]
        sides = [m for m in self.moves if m[1] == real_side]
        for tmp, final in tables + sides:
            move_into(tmp, final)

    def discard(self) -> None:
        """Remove the temporary files not moved in (none after a :meth:`commit`)."""
        for tmp, _ in self.moves:
            tmp.unlink(missing_ok=True)


def _write_csv(
    staged: _Staged, path: Path, names: list[str], units: dict[str, str], rows: list[list[Any]]
) -> None:
    text = csv_text(names, units, rows)
    staged.write(path, lambda f: f.write(text))


def _write_parquet(
    staged: _Staged,
    path: Path,
    names: list[str],
    units: dict[str, str],
    columns: list[list[Any]],
    descriptions: dict[str, str] | None = None,
) -> None:
    pa = require("pyarrow")
    pq = require("pyarrow.parquet")
    arrays = []
    fields = []
    for n, col in zip(names, columns, strict=True):
        clean = [None if (isinstance(v, float) and v != v) else v for v in col]
        arr = pa.array(clean)
        if arr.type == pa.null():  # all missing: the type of the unit, not of the data
            arr = pa.array(clean, type=arrow_null_type(pa, units[n]))
        arrays.append(arr)
        meta = {"unit": units[n]}
        if descriptions and n in descriptions:
            meta["description"] = descriptions[n]
        fields.append(pa.field(n, arr.type, metadata=meta))
    schema = pa.schema(fields, metadata={"hrvpace_version": __version__})
    table = pa.Table.from_arrays(arrays, schema=schema)
    staged.write(path, lambda f: pq.write_table(table, f), binary=True)


def _service_settings(database: Path) -> dict[str, Any]:
    try:
        with ReadOnlyDatabase(database) as db:
            return db.all_settings()
    except StorageError:
        return {}


#: What the sidecar says of a session stored without its live settings.
ASSUMED_NOTE = (
    "not stored with this session (recorded before hrvpace stored them, or unreadable): "
    "these are the exporting version's settings, assumed to be those it was analysed with"
)


def _live_analysis(s: StoredSession) -> dict[str, Any]:
    """How the session's live windows were made, as stored when it started.

    ``settings_recorded``: ``true`` when they were stored with the session; else the current
    version's :func:`hrv.live.live_settings`, ``assumed`` saying so.
    """
    text = s.live_settings_json
    if text is not None:
        try:
            recorded = json.loads(text)
        except ValueError:
            recorded = None
        if isinstance(recorded, dict):
            return {**recorded, "settings_recorded": True}
    return {**live_settings(), "settings_recorded": False, "assumed": ASSUMED_NOTE}


def _paced_runs(s: StoredSession) -> list[list[float]] | None:
    """When the session's pacer ran: ``[[start_t_s, end_t_s], ...]`` on the beat timeline.

    A run stored without its end (the session ended, or the service stopped, while it ran)
    ends at the session's last beat. Runs are clipped to the beats' timeline, 0 to the last
    beat, and a run left empty by that is left out (a replay of a segment of a recording made
    while pacing, stored with ``replay --store``, has the recording's runs moved by the cut).
    ``[]``: never paced (a session starts with ``[]``, so one interrupted before it paced says
    so too). ``None``: not stored with the session (stored before hrvpace kept them, schema 7)
    or unreadable.
    """
    text = s.paced_runs_json
    if text is None:
        return None
    try:
        stored = json.loads(text)
    except ValueError:
        return None
    if not isinstance(stored, list):
        return None
    last = float(s.t_s[-1]) if s.t_s.size else None
    out: list[list[float]] = []
    for run in stored:
        if not (isinstance(run, list) and len(run) == 2 and isinstance(run[0], int | float)):
            return None
        start, stop = float(run[0]), run[1]
        if stop is None:
            stop = start if last is None else max(start, last)
        if not isinstance(stop, int | float):
            return None
        stop = float(stop)
        lo, hi = max(start, 0.0), stop if last is None else min(stop, last)
        if hi < lo or (hi == lo and stop > start):  # outside the beats, or clipped empty
            continue
        out.append([lo, hi])
    return out


def _device(s: StoredSession) -> dict[str, Any]:
    src = s.source
    out: dict[str, Any] = {"kind": src.get("kind")}
    for key in ("device", "device_name", "address", "name", "device_info", "path", "seed"):
        if key in src:
            out[key] = src[key]
    return out


def _iso(t: Any) -> str | None:
    if not isinstance(t, int | float):
        return None
    return datetime.datetime.fromtimestamp(float(t), tz=datetime.UTC).isoformat()


def export_session(
    database: str | os.PathLike[str], session_id: str, out_dir: str | os.PathLike[str]
) -> list[Path]:
    """Export one stored session into ``out_dir`` (created); return the files written.

    Raises
    ------
    SessionNotFoundError
        No such session.
    ApiError
        The database cannot be opened.
    MissingExtraError
        pyarrow is not installed (nothing is written then).
    OSError
        A file cannot be written or moved in place (``filename`` names it): no table is left
        half-written and no ``ID.json`` describes tables not written (module docstring).
    """
    require("pyarrow.parquet")  # fail before writing anything
    db = Path(database)
    s = load_session(db, session_id)
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    staged = _Staged()
    try:
        files = _stage(s, session_id, db, d, staged)
        staged.commit(files[-1])
    finally:
        staged.discard()
    return files


def _stage(s: StoredSession, session_id: str, db: Path, d: Path, staged: _Staged) -> list[Path]:
    """Write the export's files under temporary names (:class:`_Staged`); the sidecar last."""
    files: list[Path] = []

    beat_names = list(BEAT_UNITS)
    beat_cols: list[list[Any]] = [
        s.idx.tolist(),
        s.t_s.tolist(),
        s.rr_ms.tolist(),
        s.arrived_at.tolist(),
        s.contact.astype(int).tolist(),
        [bool(g) for g in s.gap_before],
        [None if h != h else h for h in s.hr_bpm.tolist()],
    ]
    beat_rows = [list(r) for r in zip(*beat_cols, strict=True)]
    _write_csv(staged, d / f"{session_id}-beats.csv", beat_names, BEAT_UNITS, beat_rows)
    _write_parquet(staged, d / f"{session_id}-beats.parquet", beat_names, BEAT_UNITS, beat_cols)
    files += [d / f"{session_id}-beats.csv", d / f"{session_id}-beats.parquet"]
    tables: dict[str, Any] = {"beats": {n: BEAT_UNITS[n] for n in beat_names}}

    if s.metrics:
        names: list[str] = []
        for m in s.metrics:
            for k, v in m.items():
                if k not in names and (v is None or isinstance(v, int | float | str)):
                    names.append(k)
        units = units_of(names)
        cols = [[m.get(n) for m in s.metrics] for n in names]
        rows = [list(r) for r in zip(*cols, strict=True)]
        _write_csv(staged, d / f"{session_id}-metrics.csv", names, units, rows)
        _write_parquet(
            staged,
            d / f"{session_id}-metrics.parquet",
            names,
            units,
            cols,
            {"t_s": DESCRIPTIONS["t_s"]},
        )
        files += [d / f"{session_id}-metrics.csv", d / f"{session_id}-metrics.parquet"]
        tables["metrics"] = units

    if s.no_contact:
        names = list(NO_CONTACT_UNITS)
        cols = [
            [x.start_t_s for x in s.no_contact],
            [x.end_t_s for x in s.no_contact],
            [x.ended_by for x in s.no_contact],
        ]
        rows = [list(r) for r in zip(*cols, strict=True)]
        descriptions = {n: DESCRIPTIONS[n] for n in names}
        _write_csv(staged, d / f"{session_id}-contact.csv", names, NO_CONTACT_UNITS, rows)
        _write_parquet(
            staged, d / f"{session_id}-contact.parquet", names, NO_CONTACT_UNITS, cols, descriptions
        )
        files += [d / f"{session_id}-contact.csv", d / f"{session_id}-contact.parquet"]
        tables["contact"] = NO_CONTACT_UNITS

    sidecar = {
        "session": {
            "id": s.session_id,
            "mode": s.info.get("mode"),
            "state": s.info.get("state"),
            "message": s.info.get("message"),
            "created_at": _iso(s.info.get("created_at")),
            "ended_at": _iso(s.info.get("ended_at")),
            "n_beats": s.n_beats,
            "n_metrics": len(s.metrics),
            "n_micro_break_events": len(s.micro_breaks),
            "n_checkins": len(s.checkins),
            "n_assessment_events": len(s.assessments),
            "n_no_contact": len(s.no_contact),
        },
        "device": _device(s),
        "source": s.source,
        "software": {"name": "hrvpace", "version": __version__},
        # the exporting build, as analyze's settings and replay's replay_end name it
        **provenance(),
        "settings": {
            "session_options": s.options,
            # how the metric windows were made (window, step, NN filter, spectrum) and why
            # the frequency columns of a 60-s window are empty (README, hrvpace export)
            "live_analysis": _live_analysis(s),
            "service": _service_settings(db),
        },
        "timeline": "t_s: seconds of the session's beat timeline (docs/ARCHITECTURE.md); "
        "arrived_at: Unix seconds (UTC), when the beat reached the service (wall clock, also "
        "for a replay or simulation at speed: then it does not follow t_s)",
        "events": {
            "micro_breaks": s.micro_breaks,
            "checkins": [dict(c) for c in s.checkins],
            "assessments": s.assessments,
            "no_contact": [dataclasses.asdict(x) for x in s.no_contact],
            # when the pacer ran: a replay of the beats judges those windows as paced
            "paced_runs": _paced_runs(s),
        },
        "files": [p.name for p in files],
        "columns": tables,
        "exported_at": datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds"),
    }
    side = d / f"{session_id}.json"
    text = json.dumps(sidecar, indent=2, allow_nan=False)
    staged.write(side, lambda f: f.write(text))
    files.append(side)
    return files
