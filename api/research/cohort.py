"""Many recordings at once: all local cores, or a Dask cluster; results gathered into one table.

One task per recording (:func:`api.research.analysis.analyze_file`), so a broken file fails only
its own task. Results come back in input order whatever order the tasks finish in.

- Local (default): :class:`concurrent.futures.ProcessPoolExecutor` with ``jobs`` workers (all
  cores by default; ``jobs=1`` runs in this process, which is also used for a single file).
- Dask: ``dask=True`` starts a :class:`distributed.LocalCluster` (``jobs`` worker processes,
  one thread each) for the run; ``scheduler="tcp://host:port"`` uses an existing cluster, whose
  workers must have hrvpace installed (the task is a reference to ``analyze_file``, not code).
"""

from __future__ import annotations

import csv
import errno
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from api._files import move_into, real_path, replace_with, write_replacing
from api._version import __version__
from api.research import require
from api.research.analysis import (
    SUMMARY_FIELDS,
    AnalysisOptions,
    RecordingAnalysis,
    analyze_file,
    rename_columns,
)
from api.research.units import DESCRIPTIONS, arrow_null_type, csv_cell, csv_header, units_of

__all__ = [
    "Progress",
    "analyze_many",
    "default_jobs",
    "sidecar_path",
    "sidecar_problem",
    "summary_table",
    "windows_table",
    "write_table",
]

#: Called after each finished recording with ``(done, total, result)``.
Progress = Callable[[int, int, RecordingAnalysis], None]


def default_jobs() -> int:
    """Cores this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def analyze_many(
    paths: Sequence[str | os.PathLike[str]],
    *,
    options: AnalysisOptions,
    jobs: int | None = None,
    dask: bool = False,
    scheduler: str | None = None,
    progress: Progress | None = None,
    dask_processes: bool = True,
) -> list[RecordingAnalysis]:
    """Analyse every recording; one result per path, in the order given.

    Parameters
    ----------
    paths
        Recording files (folders already expanded).
    options
        How to read and analyse each one.
    jobs
        Worker processes (default: every core this process may use).
    dask, scheduler
        Run on a local Dask cluster started for this call, or on the cluster at ``scheduler``.
    progress
        Called after each recording finishes.
    dask_processes
        Workers of the local Dask cluster are processes (default) or threads of this process
        (``False``: cheap, for tests and small runs).

    Returns
    -------
    list of RecordingAnalysis
        Failures carry ``error``; they never raise.

    Raises
    ------
    MissingExtraError
        Dask asked for but not installed.
    """
    names = [str(p) for p in paths]
    n_jobs = default_jobs() if jobs is None else max(1, int(jobs))
    if dask or scheduler is not None:
        return _run_dask(
            names,
            options,
            jobs=n_jobs,
            scheduler=scheduler,
            progress=progress,
            processes=dask_processes,
        )
    if n_jobs == 1 or len(names) <= 1:
        out = []
        for i, p in enumerate(names):
            out.append(analyze_file(p, options))
            if progress is not None:
                progress(i + 1, len(names), out[-1])
        return out
    results: list[RecordingAnalysis | None] = [None] * len(names)
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(names))) as pool:
        futures = {pool.submit(analyze_file, p, options): i for i, p in enumerate(names)}
        for done, fut in enumerate(as_completed(futures), start=1):
            i = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # a dead worker fails its file, not the run
                result = RecordingAnalysis(
                    path=names[i],
                    error=f"the worker analysing it failed ({type(exc).__name__})",
                    segment=None if options.segment is None else options.segment.label,
                )
            results[i] = result
            if progress is not None:
                progress(done, len(names), result)
    return [r for r in results if r is not None]


def _run_dask(
    names: list[str],
    options: AnalysisOptions,
    *,
    jobs: int,
    scheduler: str | None,
    progress: Progress | None,
    processes: bool,
) -> list[RecordingAnalysis]:
    distributed = require("distributed")
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=processes,
            dashboard_address="127.0.0.1:0",  # a free port: never clash with another cluster
        )
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    try:
        futures = client.map(analyze_file, names, options=options, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[RecordingAnalysis | None] = [None] * len(names)
        # with_results: results come with the completions (no round trip per future)
        completions = distributed.as_completed(futures, with_results=True)
        for done, (fut, result) in enumerate(completions, start=1):
            results[index[fut.key]] = result
            if progress is not None:
                progress(done, len(names), result)
            fut.release()
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def summary_table(
    results: Sequence[RecordingAnalysis], *, names: str = "hrvpace"
) -> dict[str, list[Any]]:
    """One row per result, in input order: ``path``, every :data:`SUMMARY_FIELDS`, ``error``.

    A recording that could not be analysed keeps its row, with every field missing (``None``)
    but ``segment`` (which segment failed, when segments were analysed; ``None`` for a file
    that failed before it was cut, which has one row, not one per segment) and ``error`` its
    reason, so the table shows what is missing; ``error`` is ``None`` (an empty CSV cell) for
    the analysed ones; a segment skipped as beyond the recording's end has ``error``
    ``skipped: beyond the recording's end (N s)``.
    """
    cols = ["path", *SUMMARY_FIELDS, "error"]
    out: dict[str, list[Any]] = {c: [] for c in rename_columns(cols, style=names)}
    keys = list(out)
    for r in results:
        out[keys[0]].append(r.path)
        for key, field in zip(keys[1:-1], SUMMARY_FIELDS, strict=True):
            if r.summary is not None:
                out[key].append(r.summary[field])
            else:
                out[key].append(
                    r.segment if field == "segment" else r.sha256 if field == "sha256" else None
                )
        out[keys[-1]].append(
            None
            if r.summary is not None
            else f"skipped: {r.skipped}"
            if r.skipped is not None
            else (r.error or "not analysed")
        )
    return out


def windows_table(
    results: Sequence[RecordingAnalysis], *, names: str = "hrvpace"
) -> dict[str, NDArray[Any]]:
    """The windows of every successful recording stacked.

    A ``path`` column, then :func:`hrv.rolling`'s columns (one row per window per recording,
    in input order; ``t_s`` is the window's end; a ``segment`` column when segments were
    analysed).
    """
    parts = [r for r in results if r.windows is not None]
    if not parts:
        return {}
    first = parts[0].windows
    assert first is not None
    cols = list(first)
    recording = np.concatenate(
        [np.full(len(r.windows["t_s"]), r.path, dtype=object) for r in parts if r.windows]
    )
    out: dict[str, NDArray[Any]] = {"path": recording}
    if any(r.summary is not None and r.summary.get("segment") is not None for r in parts):
        out["segment"] = np.concatenate(
            [
                np.full(len(r.windows["t_s"]), (r.summary or {}).get("segment"), dtype=object)
                for r in parts
                if r.windows
            ]
        )
    for c in cols:
        out[c] = np.concatenate([r.windows[c] for r in parts if r.windows])
    renamed = rename_columns(list(out), style=names)
    return dict(zip(renamed, out.values(), strict=True))


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """Where :func:`write_table` puts a CSV's settings: beside it, its full name + ``.json``.

    ``s.csv`` -> ``s.csv.json``: never ``s.json``, which may be the user's own file,
    ``--json`` output redirected there, or ``hrvpace export``'s ``ID.json`` beside its
    ``ID.csv`` (code review: all three were overwritten).
    """
    p = Path(path)
    return p.with_name(p.name + ".json")


#: Largest file :func:`sidecar_problem` reads to tell whether it is an hrvpace sidecar.
_SIDECAR_MAX_BYTES = 1 << 20


def sidecar_problem(path: str | os.PathLike[str]) -> str | None:
    """Why :func:`write_table` must not replace the sidecar at ``path``, else ``None``.

    A missing path, or an earlier hrvpace sidecar (a JSON object with ``hrvpace_version`` and
    ``table``), may be replaced; anything else is someone else's file (or folder) and is
    refused rather than overwritten.
    """
    p = Path(path)
    if not os.path.lexists(p):
        return None
    if p.is_symlink():
        # replacing it would replace the link with a file (code review): a link is never
        # taken for hrvpace's own sidecar, whatever it points to
        return "it is a link (hrvpace writes its sidecar as a file of its own)"
    if p.is_dir():
        return "it is a folder"
    try:
        if not p.is_file() or p.stat().st_size > _SIDECAR_MAX_BYTES:
            raise ValueError
        obj = json.loads(p.read_text(encoding="utf-8"))
        if not (isinstance(obj, dict) and "hrvpace_version" in obj and "table" in obj):
            raise ValueError
    except (OSError, ValueError):
        return "it exists and is not an hrvpace settings sidecar (it would be overwritten)"
    return None


def write_table(
    columns: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    names: str = "hrvpace",
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write a column dict (hrvpace's column names) as ``.csv``, ``.parquet`` or ``.json``.

    Units travel with the numbers (:mod:`api.research.units`): a CSV header cell is
    ``name [unit]``, floats are written with ``repr`` (exact; empty cell for missing) and
    booleans as ``1``/``0`` (:func:`api.research.units.csv_cell`, as every hrvpace CSV); a
    Parquet field carries ``unit`` (and ``description`` where one is known, e.g. ``t_s`` = the
    window's end) in its metadata, the schema ``hrvpace_version``; nulls for missing (a column
    with no value at all gets the type of its unit, :func:`api.research.units.arrow_null_type`,
    so that runs concatenate). ``.json``
    is a list of records. ``names="neurokit"`` renames the columns
    (:func:`api.research.analysis.rename_columns`); the units stay those of the hrvpace column.

    ``settings`` (:func:`api.research.analysis.analysis_settings`: version, window length and
    step, correction, spectral settings) travel with the table: as the Parquet schema's
    ``hrvpace_settings`` (a JSON text), and for a CSV, which has no place for them, in the
    sidecar :func:`sidecar_path` (``s.csv`` -> ``s.csv.json``: ``{"hrvpace_version",
    "table", "settings"}``). A CSV and its sidecar are written under temporary names in the
    same folder and moved in place, the sidecar first, so a failure never leaves a new table
    beside a stale sidecar. A Parquet or ``.json`` table is likewise written under a
    temporary name and moved in place: a failed write leaves the old table, never half a new
    one. A link at the table's name stays a link: the file it names is
    replaced; a replaced file keeps its mode, a new one gets ``0666`` less the umask. A
    ``.json`` table stays a bare list of records.

    Raises
    ------
    ValueError
        Unknown suffix.
    OSError
        The table or its sidecar cannot be written (``filename`` names which);
        :class:`FileExistsError` when the sidecar's name is taken by a file that is not an
        hrvpace sidecar, or a folder (:func:`sidecar_problem`).
    MissingExtraError
        Parquet without pyarrow.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    own = list(columns)
    units = units_of(own)
    descriptions = {c: DESCRIPTIONS[c] for c in own if c in DESCRIPTIONS}
    renamed = rename_columns(own, style=names)
    n = len(next(iter(columns.values()))) if columns else 0
    if suffix == ".csv":
        side = sidecar_path(p)
        if settings is not None:
            problem = sidecar_problem(side)
            if problem is not None:
                raise FileExistsError(errno.EEXIST, f"its settings sidecar: {problem}", str(side))
            text = json.dumps(
                {"hrvpace_version": __version__, "table": p.name, "settings": settings},
                indent=2,
                allow_nan=False,
            )

        def write_csv(f: Any) -> None:
            w = csv.writer(f)
            w.writerow([csv_header(r, units[c]) for r, c in zip(renamed, own, strict=True)])
            for i in range(n):
                # the one cell rule of every hrvpace CSV (booleans 1/0, as export and the API)
                w.writerow([csv_cell(columns[c][i]) for c in own])

        # both written under temporary names first, then moved in place, the sidecar first: a
        # failure leaves the old pair or the new sidecar beside the old table, never a new
        # table beside a stale sidecar (code review)
        # the real files are replaced (a link stays a link; mode kept): real_path, replace_with
        real_table = real_path(p)
        tmp_table = replace_with(real_table, write_csv)
        try:
            if settings is not None:
                real_side = real_path(side)
                tmp_side = replace_with(real_side, lambda f: f.write(text + "\n"))
                move_into(tmp_side, real_side)
            move_into(tmp_table, real_table)
        finally:
            tmp_table.unlink(missing_ok=True)
    elif suffix == ".parquet":
        pa = require("pyarrow")
        pq = require("pyarrow.parquet")
        arrays = []
        schema_fields = []
        for c, r in zip(own, renamed, strict=True):
            col = columns[c]
            if isinstance(col, np.ndarray) and col.dtype.kind == "f":
                arr = pa.array(col, mask=np.isnan(col))
            elif isinstance(col, np.ndarray) and col.dtype.kind in "iub":
                arr = pa.array(col)
            else:
                arr = pa.array(
                    [None if (isinstance(v, float) and v != v) else _np_item(v) for v in col]
                )
            if arr.type == pa.null():  # all missing: the type of the unit, not of the data
                arr = arr.cast(arrow_null_type(pa, units[c]))
            meta = {"unit": units[c]}
            if c in descriptions:
                meta["description"] = descriptions[c]
            arrays.append(arr)
            schema_fields.append(pa.field(r, arr.type, metadata=meta))
        table_meta = {"hrvpace_version": __version__}
        if settings is not None:
            table_meta["hrvpace_settings"] = json.dumps(settings, allow_nan=False)
        schema = pa.schema(schema_fields, metadata=table_meta)
        arrow_table = pa.Table.from_arrays(arrays, schema=schema)
        # as a CSV: written under a temporary name and moved in place, so a failed write
        # leaves the old table as it was, never half a new one (a link stays a link; mode kept)
        write_replacing(p, lambda f: pq.write_table(arrow_table, f), binary=True)
    elif suffix == ".json":
        rows = [
            {r: _json_item(columns[c][i]) for c, r in zip(own, renamed, strict=True)}
            for i in range(n)
        ]
        text = json.dumps(rows, allow_nan=False)
        write_replacing(p, lambda f: f.write(text))
    else:
        raise ValueError(f"{p}: the table's file must end in .csv, .parquet or .json")
    return p


def _np_item(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _json_item(v: Any) -> Any:
    v = _np_item(v)
    if isinstance(v, float) and v != v:
        return None
    return v
