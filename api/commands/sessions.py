"""``hrvpace sessions``: the sessions stored in the service's database, one line each.

Columns: the id prefix that ``export`` and ``report`` accept (the shortest unique one, at least
8 characters), start (local time), length, source, label and beats. The database is opened
read-only, so a running ``hrvpace serve`` is not disturbed. Exit codes: 0 listed (also when
there are none); 1 the database cannot be read.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated

import typer

from hrv.errors import HrvpaceError

__all__ = ["sessions"]


def sessions(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The service's data folder (env HRVPACE_DATA_DIR)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per session on stdout.")
    ] = False,
) -> None:
    """List stored sessions: id prefix, start, length, source, label, beats."""
    from api.commands._text import human_duration
    from api.research.store import list_sessions, short_ids
    from api.settings import load_settings

    db = load_settings(data_dir=data_dir).database_path
    try:
        rows = list_sessions(db)
    except HrvpaceError as exc:
        typer.echo(f"hrvpace sessions: {exc}", err=True)
        raise typer.Exit(1) from None
    prefixes = short_ids([r.session_id for r in rows])
    if as_json:
        for r in rows:
            obj = {
                "id": r.session_id,
                "prefix": prefixes[r.session_id],
                "created_at": r.created_at,
                "ended_at": r.ended_at,
                "state": r.state,
                "mode": r.mode,
                "source": r.source,
                "label": r.label,
                "n_beats": r.n_beats,
                "duration_s": r.duration_s,
            }
            typer.echo(json.dumps(obj, allow_nan=False))
        return
    if not rows:
        typer.echo(f"no sessions in {db}", err=True)
        return
    table = [("id", "start", "length", "source", "label", "beats")]
    for r in rows:
        start = datetime.datetime.fromtimestamp(r.created_at).astimezone()
        table.append(
            (
                prefixes[r.session_id],
                start.strftime("%Y-%m-%d %H:%M"),
                human_duration(r.duration_s),
                r.source_text(),
                r.label,
                str(r.n_beats),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
