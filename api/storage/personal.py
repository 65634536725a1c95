"""The person's own tables: settings and baseline (key/value JSON) and check-ins."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import Future
from typing import Any

from api.storage.writer import StorageCore

__all__ = ["PersonalTables"]


class PersonalTables(StorageCore):
    """Settings, the learned baseline and check-ins (a part of :class:`api.storage.Storage`).

    Reads of settings and baseline (``get_value``) are in :class:`api.storage.queries.Queries`,
    shared with the read-only view of the database.
    """

    def put_value(
        self, table: str, key: str, value: Any, *, updated_at: float, wait: bool = True
    ) -> Future[Any] | None:
        """Store ``value`` under ``key`` (replacing); ``wait``: return a future of the commit.

        Never dropped past the bound, waited for or not (one row; the learned baseline is
        saved so at most once a minute).
        """
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        sql = (
            f"INSERT INTO {table} (key, value_json, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json, "
            "updated_at = excluded.updated_at"
        )
        params = (key, json.dumps(value), updated_at)
        if not wait:
            self._queue_write(sql, params, kept=True)
            return None
        return self._submit(sql, params, wait=True)

    def add_value_if_absent(self, table: str, key: str, value: Any, *, updated_at: float) -> None:
        """Store ``value`` under ``key`` unless a value is there already.

        Insert-or-ignore: of several racing callers exactly one stores; read the value back
        afterwards.
        """
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        future = self._submit(
            f"INSERT INTO {table} (key, value_json, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO NOTHING",
            (key, json.dumps(value), updated_at),
            wait=True,
        )
        assert future is not None
        future.result(timeout=30)

    def delete_value(self, table: str, key: str) -> Future[Any]:
        """Forget ``key``."""
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        future = self._submit(f"DELETE FROM {table} WHERE key = ?", (key,), wait=True)
        assert future is not None
        return future

    def add_checkin(
        self, *, session_id: str | None, at: float, stress: int, energy: int, note: str
    ) -> Future[Any]:
        """Store a check-in (the future gives its id)."""
        future = self._submit(
            "INSERT INTO checkins (session_id, at, stress, energy, note) VALUES (?, ?, ?, ?, ?)",
            (session_id, at, stress, energy, note),
            wait=True,
        )
        assert future is not None
        return future

    def checkins(
        self,
        *,
        session_id: str | None = None,
        since: float | None = None,
        limit: int = 500,
        after_id: int | None = None,
    ) -> list[sqlite3.Row]:
        """Check-ins, oldest first (by ``at``, then ``id``), filtered when asked.

        Of one session and at or after ``since`` when given; ``after_id``: only those after
        that check-in in this order (the next page; none when no check-in has that id, see
        :meth:`has_checkin`).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if after_id is not None:
            clauses.append("(at, id) > (SELECT at, id FROM checkins WHERE id = ?)")
            params.append(after_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self.query(
            f"SELECT * FROM checkins {where} ORDER BY at, id LIMIT ?", (*params, limit)
        )

    def has_checkin(self, checkin_id: int) -> bool:
        """Whether a check-in with this id is stored."""
        return bool(self.query("SELECT 1 FROM checkins WHERE id = ?", (checkin_id,)))

    def count_checkins(self, *, session_id: str | None = None, since: float | None = None) -> int:
        """How many check-ins :meth:`checkins` selects (before ``limit``)."""
        return int(
            self.query(
                "SELECT COUNT(*) FROM checkins WHERE (? IS NULL OR session_id = ?) "
                "AND (? IS NULL OR at >= ?)",
                (session_id, session_id, since, since),
            )[0][0]
        )
