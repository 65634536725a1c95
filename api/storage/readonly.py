"""The service's database opened read-only, for the CLI while ``hrvpace serve`` may record.

Reports, exports, ``hrvpace sessions`` and ``hrvpace share`` read the database through
:class:`ReadOnlyDatabase` (SQLite ``mode=ro``) rather than :class:`api.storage.Storage`:
opening a ``Storage`` starts a writer thread and marks the ``running`` sessions of a gone
process ``interrupted``, which a read needs not.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from api.storage.connection import StorageError, connect_read_only
from api.storage.queries import Queries

__all__ = ["ReadOnlyDatabase"]


class ReadOnlyDatabase(Queries):
    """A read-only connection: the reads of :class:`api.storage.queries.Queries`, and more.

    Also the reads of a whole stored session.

    Parameters
    ----------
    path
        The database file.

    Raises
    ------
    StorageError
        There is no database at ``path``, or it cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise StorageError(f"no hrvpace database at {path}")
        try:
            self._conn = connect_read_only(path)
        except sqlite3.Error as exc:
            raise StorageError(f"{path}: cannot open the database read-only ({exc})") from exc
        self.path = path

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query and return its rows.

        Raises
        ------
        StorageError
            SQLite failed (a database of another program, a damaged file).
        """
        try:
            return list(self._conn.execute(sql, tuple(params)))
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: cannot read the database ({exc})") from exc

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ReadOnlyDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sessions for reports and exports -------------------------------------------------------

    def session_overview(self) -> list[sqlite3.Row]:
        """Every session, oldest first, with its beat count ``n`` and last beat time ``t_last``."""
        return self.query(
            "SELECT s.id, s.created_at, s.ended_at, s.state, s.mode, s.source_json, "
            "s.options_json, COUNT(b.idx) AS n, MAX(b.t_s) AS t_last "
            "FROM sessions s LEFT JOIN beats b ON b.session_id = s.id "
            "GROUP BY s.id ORDER BY s.created_at, s.id"
        )

    def session_row(self, session_id: str) -> sqlite3.Row | None:
        """The stored ``sessions`` row, or ``None``."""
        rows = self.query("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return rows[0] if rows else None

    def beat_rows(self, session_id: str) -> list[sqlite3.Row]:
        """A session's beats in ``idx`` order (columns as :data:`api.storage.BEAT_COLUMNS`)."""
        return self.query(
            "SELECT idx, t_s, rr_ms, arrived_at, contact, gap_before, hr_bpm FROM beats "
            "WHERE session_id = ? ORDER BY idx",
            (session_id,),
        )

    def contact_changes(self, session_id: str) -> list[tuple[float, bool]]:
        """A session's changes of skin contact ``(t_s, contact)``, in the order kept.

        None in a database an older hrvpace wrote and no newer one has opened since (read-only,
        it is not migrated: it has no such table).
        """
        if not self.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'contact_changes'"
        ):
            return []
        rows = self.query(
            "SELECT t_s, contact FROM contact_changes WHERE session_id = ? ORDER BY rowid",
            (session_id,),
        )
        return [(float(r[0]), bool(r[1])) for r in rows]

    def metric_snapshots(self, session_id: str) -> list[dict[str, Any]]:
        """A session's metrics windows with ``t_s`` and ``recorded_at``, in ``t_s`` order."""
        return [
            {"t_s": r[0], "recorded_at": r[1], **json.loads(r[2])}
            for r in self.query(
                "SELECT t_s, recorded_at, data_json FROM metrics WHERE session_id = ? "
                "ORDER BY t_s, rowid",
                (session_id,),
            )
        ]

    def micro_break_events(self, session_id: str) -> list[dict[str, Any]]:
        """A session's micro-break events (``t_s``, ``recorded_at``, ``kind``, ``data``)."""
        return [
            {"t_s": r[0], "recorded_at": r[1], "kind": r[2], "data": json.loads(r[3])}
            for r in self.query(
                "SELECT t_s, recorded_at, kind, data_json FROM micro_breaks "
                "WHERE session_id = ? ORDER BY recorded_at, id",
                (session_id,),
            )
        ]

    def session_checkins(self, session_id: str) -> list[dict[str, Any]]:
        """A session's check-ins (``id``, ``at``, ``stress``, ``energy``, ``note``)."""
        return [
            dict(r)
            for r in self.query(
                "SELECT id, at, stress, energy, note FROM checkins WHERE session_id = ? "
                "ORDER BY at, id",
                (session_id,),
            )
        ]

    def session_assessments(self, session_id: str) -> list[dict[str, Any]]:
        """A session's assessment events with ``recorded_at``, in order."""
        return [
            {"recorded_at": r[0], **json.loads(r[1])}
            for r in self.query(
                "SELECT recorded_at, data_json FROM assessments WHERE session_id = ? ORDER BY id",
                (session_id,),
            )
        ]

    # -- the day plan's prompts -----------------------------------------------------------------

    def all_prompts(self) -> list[sqlite3.Row]:
        """Every prompt, oldest due first."""
        return self.query("SELECT * FROM prompts ORDER BY due_at, id")

    def all_prompt_answers(self) -> list[sqlite3.Row]:
        """Every check-in item answer, by prompt and position."""
        return self.query("SELECT * FROM prompt_answers ORDER BY prompt_id, position")
