"""Read queries shared by the service's storage and the read-only view.

The service's is :class:`api.storage.Storage`, the read-only view
:class:`api.storage.readonly.ReadOnlyDatabase`. They read settings, and what the dashboard,
the trends, the baseline and the daily aggregates sent to a hub read.

Strap sessions are those with ``source.kind == "ble"`` (a real person; simulations and replays
are not). Metrics come back as ``(..., data)`` with ``data`` the stored window's metrics.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

__all__ = ["Queries"]

_STRAP = "json_extract(source_json, '$.kind') = 'ble'"


class Queries:
    """Reads over :meth:`query` (blocking: call via a thread from async code)."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query and return its rows."""
        raise NotImplementedError

    # -- settings and baseline ------------------------------------------------------------------

    def get_value(self, table: str, key: str) -> tuple[Any, float] | None:
        """The value stored under ``key`` in ``settings`` or ``baseline``, and when it was set."""
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        rows = self.query(f"SELECT value_json, updated_at FROM {table} WHERE key = ?", (key,))
        return (json.loads(rows[0][0]), rows[0][1]) if rows else None

    def all_settings(self) -> dict[str, Any]:
        """Every stored setting by key."""
        return {r[0]: json.loads(r[1]) for r in self.query("SELECT key, value_json FROM settings")}

    # -- windows --------------------------------------------------------------------------------

    def session_windows(
        self, session_id: str, *, t_from: float | None = None, t_to: float | None = None
    ) -> list[tuple[float, dict[str, Any]]]:
        """A session's metrics windows ``(t_s, data)`` in ``t_s`` order.

        Only ``t_from <= t_s <= t_to`` when given.
        """
        rows = self.query(
            "SELECT t_s, data_json FROM metrics WHERE session_id = ? AND (? IS NULL OR t_s >= ?) "
            "AND (? IS NULL OR t_s <= ?) ORDER BY t_s, rowid",
            (session_id, t_from, t_from, t_to, t_to),
        )
        return [(float(r[0]), json.loads(r[1])) for r in rows]

    def windows_recorded_since(self, since: float) -> list[tuple[str, dict[str, Any]]]:
        """Every session's windows ``(session_id, data)`` recorded at or after ``since``."""
        rows = self.query(
            "SELECT session_id, data_json FROM metrics WHERE recorded_at >= ?", (since,)
        )
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    def strap_windows_recorded_since(self, since: float) -> list[tuple[str, float, dict[str, Any]]]:
        """Strap sessions' windows ``(session_id, recorded_at, data)`` recorded since ``since``.

        At or after ``since``, oldest first.
        """
        rows = self.query(
            "SELECT m.session_id, m.recorded_at, m.data_json FROM metrics m "
            "JOIN sessions s ON s.id = m.session_id "
            "WHERE m.recorded_at >= ? AND json_extract(s.source_json, '$.kind') = 'ble' "
            "ORDER BY m.recorded_at",
            (since,),
        )
        return [(str(r[0]), float(r[1]), json.loads(r[2])) for r in rows]

    # -- sessions by kind -----------------------------------------------------------------------

    def strap_sessions(self, start: float, end: float) -> list[tuple[str, float]]:
        """Strap sessions ``(id, created_at)`` begun in ``[start, end]``, oldest first."""
        rows = self.query(
            f"SELECT id, created_at FROM sessions WHERE created_at >= ? AND created_at <= ? "
            f"AND {_STRAP} ORDER BY created_at",
            (start, end),
        )
        return [(str(r[0]), float(r[1])) for r in rows]

    def first_strap_session(self, start: float, end: float) -> str | None:
        """The id of the first strap session begun in ``[start, end)``, if any."""
        rows = self.query(
            f"SELECT id FROM sessions WHERE created_at >= ? AND created_at < ? AND {_STRAP} "
            "ORDER BY created_at LIMIT 1",
            (start, end),
        )
        return str(rows[0][0]) if rows else None

    def practice_sessions(self, start: float, end: float) -> list[tuple[str, float]]:
        """Sessions started in practice mode ``(id, created_at)`` in ``[start, end]``."""
        rows = self.query(
            "SELECT id, created_at FROM sessions WHERE mode = 'practice' AND created_at >= ? "
            "AND created_at <= ? ORDER BY created_at",
            (start, end),
        )
        return [(str(r[0]), float(r[1])) for r in rows]

    def strap_practice_spans(
        self, start: float, end: float, *, now: float
    ) -> list[tuple[float, float]]:
        """Strap practice sessions begun in ``[start, end)``: ``(created_at, ended_at)``.

        A running one ends ``now``.
        """
        rows = self.query(
            "SELECT created_at, COALESCE(ended_at, ?) FROM sessions WHERE mode = 'practice' "
            f"AND {_STRAP} AND created_at >= ? AND created_at < ?",
            (now, start, end),
        )
        return [(float(r[0]), float(r[1])) for r in rows]

    # -- events of a day ------------------------------------------------------------------------

    def break_effects(self, start: float, end: float) -> list[tuple[float, dict[str, Any]]]:
        """Break effects ``(recorded_at, data)`` measured in ``[start, end]``, oldest first."""
        rows = self.query(
            "SELECT recorded_at, data_json FROM micro_breaks WHERE kind = 'break_effect' "
            "AND recorded_at >= ? AND recorded_at <= ? ORDER BY recorded_at",
            (start, end),
        )
        return [(float(r[0]), json.loads(r[1])) for r in rows]

    def person_break_events(self, start: float, end: float) -> list[tuple[str, dict[str, Any]]]:
        """Micro-break events ``(kind, data)`` recorded in ``[start, end)``.

        Those of strap sessions or of none (a break started from the page).
        """
        rows = self.query(
            "SELECT m.kind, m.data_json FROM micro_breaks m LEFT JOIN sessions s "
            "ON s.id = m.session_id WHERE m.recorded_at >= ? AND m.recorded_at < ? AND "
            "(m.session_id IS NULL OR json_extract(s.source_json, '$.kind') = 'ble')",
            (start, end),
        )
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    def checkin_scores(self, start: float, end: float) -> list[tuple[int, int]]:
        """Check-ins' ``(stress, energy)`` made in ``[start, end)``."""
        rows = self.query(
            "SELECT stress, energy FROM checkins WHERE at >= ? AND at < ?", (start, end)
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    def prompt_counts(self, start: float, end: float) -> tuple[int, int]:
        """Prompts sent in ``[start, end)`` and how many of them were answered."""
        rows = self.query(
            "SELECT COUNT(*), COUNT(answered_at) FROM prompts WHERE sent_at >= ? AND sent_at < ?",
            (start, end),
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
