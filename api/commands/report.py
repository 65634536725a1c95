"""``hrvpace report``: a self-contained HTML report (PNG plots inside) of a session or a file.

``SESSION_ID_OR_FILE`` is a recording file when such a file exists (read with
``sensors.read_recording``, ``--format``/``--units`` as for ``analyze``), else the id of a
session in the service's database (``--data-dir``, env ``HRVPACE_DATA_DIR``), opened read-only.
Exit codes: 0 written; 1 the data cannot be read or analysed; 2 bad usage or missing extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.commands._options import FormatOpt, UnitsOpt
from api.errors import SessionNotFoundError
from hrv.errors import HrvpaceError
from sensors import RECORDING_FORMATS

__all__ = ["report"]


def report(
    target: Annotated[str, typer.Argument(help="A recording file, or a stored session's id.")],
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    png_dir: Annotated[
        Path | None, typer.Option("--png-dir", help="Also write each plot as a PNG here.")
    ] = None,
    fmt: FormatOpt = None,
    units: UnitsOpt = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The service's data folder (env HRVPACE_DATA_DIR)."),
    ] = None,
) -> None:
    """Write an HTML report (tachogram, trends, spectrum, assessment, breaks, numbers)."""
    from api.research import MissingExtraError
    from api.research.report import from_recording, from_session, write_report

    if fmt is not None and fmt not in RECORDING_FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(RECORDING_FORMATS)}")
    try:
        if Path(target).is_file():
            from sensors import read_recording

            rec = read_recording(target, format=fmt, units=units)
            if rec.n_beats == 0:
                typer.echo(f"hrvpace report: {target}: the recording has no beats", err=True)
                raise typer.Exit(1)
            data = from_recording(rec, path=target)
        else:
            from api.research.store import load_session
            from api.settings import load_settings

            db = load_settings(data_dir=data_dir).database_path
            session = load_session(db, target)
            if session.n_beats == 0:
                typer.echo(f"hrvpace report: session {target} has no beats", err=True)
                raise typer.Exit(1)
            data = from_session(session, database=db)
        files = write_report(data, out, png_dir=png_dir)
    except MissingExtraError as exc:
        typer.echo(f"hrvpace report: {exc}", err=True)
        raise typer.Exit(2) from None
    except SessionNotFoundError as exc:
        typer.echo(f"hrvpace report: {target}: not a file, and {exc}", err=True)
        raise typer.Exit(1) from None
    except HrvpaceError as exc:
        typer.echo(f"hrvpace report: {exc}", err=True)
        raise typer.Exit(1) from None
    for f in files:
        typer.echo(str(f))
