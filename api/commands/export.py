"""``hrvpace export``: a stored session as CSV + Parquet with a JSON sidecar.

Files (see :mod:`api.research.export`): ``ID-beats.csv``/``.parquet``, ``ID-metrics.csv``/
``.parquet`` when the session has metric snapshots, ``ID-contact.csv``/``.parquet`` when the
strap lost skin contact (the stretches: start, end, what ended them), and the sidecar
``ID.json`` (device, software version and build, settings, events, columns with units).
``SESSION_ID`` may be a unique prefix of the id (``hrvpace sessions`` lists them); an
ambiguous one is an error listing the matches.
With ``--prompts``: the day plan's prompts (``prompts.csv``, ``prompt_answers.csv``,
``prompts.json`` with compliance and response latency, see :func:`api.dayplan.export_prompts`).
Exit codes: 0 written; 1 no such session, an ambiguous prefix or an unreadable database; 2
missing extra (pyarrow), or nothing asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hrv.errors import HrvpaceError

__all__ = ["export"]


def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    session_id: Annotated[
        str | None,
        typer.Argument(help="The session's id or a unique prefix (optional with --prompts)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The service's data folder (env HRVPACE_DATA_DIR)."),
    ] = None,
    prompts: Annotated[
        bool,
        typer.Option(
            "--prompts",
            help="Also (or only) the day plan's prompts and answers: prompts.csv, "
            "prompt_answers.csv and prompts.json (compliance, response latency).",
        ),
    ] = False,
) -> None:
    """Export a stored session and/or, with --prompts, the day plan's prompts and answers.

    A session is written as ID-beats and ID-metrics in CSV and Parquet, ID-contact.csv and
    .parquet when the strap lost skin contact (its stretches without contact), plus a JSON
    sidecar ID.json. Every file is written whole or not at all, ID.json last: a failed
    export leaves no half-written table and no ID.json describing tables not written.
    """
    from api.research import MissingExtraError
    from api.research.export import export_session
    from api.research.store import resolve_session_id
    from api.settings import load_settings

    db = load_settings(data_dir=data_dir).database_path
    if session_id is None and not prompts:
        typer.echo("hrvpace export: give a session id, --prompts, or both", err=True)
        raise typer.Exit(2)
    files: list[Path] = []
    try:
        if prompts:
            from api.dayplan import export_prompts

            files += export_prompts(db, out)
        if session_id is not None:
            files += export_session(db, resolve_session_id(db, session_id), out)
    except MissingExtraError as exc:
        typer.echo(f"hrvpace export: {exc}", err=True)
        raise typer.Exit(2) from None
    except HrvpaceError as exc:
        typer.echo(f"hrvpace export: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:  # names the file that could not be written; nothing half-written
        said = exc.strerror or str(exc)
        typer.echo(f"hrvpace export: cannot write {exc.filename or out}: {said}", err=True)
        raise typer.Exit(1) from None
    for f in files:
        typer.echo(str(f))
