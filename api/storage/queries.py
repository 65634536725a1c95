"""Read queries shared by the service's storage and the read-only view.

The service's is :class:`api.storage.Storage`, the read-only view
:class:`api.storage.readonly.ReadOnlyDatabase`. They read settings, and what the dashboard,
the trends, the baseline and the daily aggregates sent to a hub read.

Every read that aggregates across sessions (the person's numbers: the assessed resonance rate,
the baseline windows, the dashboard, the trends, the resting measure, the day's aggregates for a
hub, the breaks that prompt a check-in) counts only sessions on the person, told by one
definition: :data:`PERSON_SOURCE` for a session row, :func:`of_person` for a row naming its
session. Metrics come back as ``(..., data)`` with ``data`` the stored window's metrics.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

__all__ = ["PERSON_KIND", "PERSON_SOURCE", "Queries", "of_person"]

#: The source kind of a session on the person (``api.pipeline.BleSpec``); the service decides
#: with it whether a starting session reads and updates the person's baseline.
PERSON_KIND = "ble"

#: SQL on a ``sessions`` row: the session was on the person, a "strap session". That is a
#: Bluetooth strap, watch or optical sensor (``source.kind == "ble"``, whichever ``stream``: the
#: Heart Rate RR, PMD PPI or PMD ECG). A simulated person is not the person, nor is a replay,
#: even of the person's own recording: the service cannot tell whose file it is, and a replay's
#: windows are dated by the replay's clock, not by when the beats were recorded.
PERSON_SOURCE = f"json_extract(source_json, '$.kind') = '{PERSON_KIND}'"


def of_person(session_id: str = "session_id", *, or_none: bool = False) -> str:
    """SQL: the column ``session_id`` names a session on the person (:data:`PERSON_SOURCE`).

    ``or_none``: a row with no session counts too (a micro-break event recorded outside a
    session is the person's own).
    """
    person = f"{session_id} IN (SELECT id FROM sessions WHERE {PERSON_SOURCE})"
    return f"({session_id} IS NULL OR {person})" if or_none else person


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

    def latest_resonance_bpm(self) -> float | None:
        """The person's resonance rate (breaths/min), from a strap session's assessment.

        That of the newest finished assessment of a strap session that found one; ``None``
        when none has a result (none run, or none conclusive). An assessment of a simulated
        person or of a replay is that session's own (its assessments), not the person's.
        """
        rows = self.query(
            "SELECT json_extract(data_json, '$.result.resonance_bpm') FROM assessments "
            "WHERE json_extract(data_json, '$.type') = 'assessment_complete' "
            "AND json_extract(data_json, '$.result.resonance_bpm') IS NOT NULL "
            f"AND {of_person()} ORDER BY recorded_at DESC, id DESC LIMIT 1"
        )
        return float(rows[0][0]) if rows else None

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

    def strap_windows_recorded_since(self, since: float) -> list[tuple[str, float, dict[str, Any]]]:
        """Strap sessions' windows ``(session_id, recorded_at, data)`` recorded since ``since``.

        At or after ``since``, oldest first.
        """
        rows = self.query(
            "SELECT session_id, recorded_at, data_json FROM metrics "
            f"WHERE recorded_at >= ? AND {of_person()} ORDER BY recorded_at",
            (since,),
        )
        return [(str(r[0]), float(r[1]), json.loads(r[2])) for r in rows]

    # -- sessions by kind -----------------------------------------------------------------------

    def strap_sessions(self, start: float, end: float) -> list[tuple[str, float]]:
        """Strap sessions ``(id, created_at)`` begun in ``[start, end]``, oldest first."""
        rows = self.query(
            f"SELECT id, created_at FROM sessions WHERE created_at >= ? AND created_at <= ? "
            f"AND {PERSON_SOURCE} ORDER BY created_at",
            (start, end),
        )
        return [(str(r[0]), float(r[1])) for r in rows]

    def first_strap_session(self, start: float, end: float) -> str | None:
        """The id of the first strap session begun in ``[start, end)``, if any."""
        rows = self.query(
            f"SELECT id FROM sessions WHERE created_at >= ? AND created_at < ? AND {PERSON_SOURCE} "
            "ORDER BY created_at LIMIT 1",
            (start, end),
        )
        return str(rows[0][0]) if rows else None

    def strap_practice_sessions(self, start: float, end: float) -> list[tuple[str, float]]:
        """Strap sessions started in practice mode ``(id, created_at)`` in ``[start, end]``."""
        rows = self.query(
            "SELECT id, created_at FROM sessions WHERE mode = 'practice' AND created_at >= ? "
            f"AND created_at <= ? AND {PERSON_SOURCE} ORDER BY created_at",
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
            f"AND {PERSON_SOURCE} AND created_at >= ? AND created_at < ?",
            (now, start, end),
        )
        return [(float(r[0]), float(r[1])) for r in rows]

    # -- events of a day ------------------------------------------------------------------------

    def person_break_effects(self, start: float, end: float) -> list[tuple[float, dict[str, Any]]]:
        """Break effects ``(recorded_at, data)`` measured in ``[start, end]``, oldest first.

        Those of strap sessions or of none.
        """
        rows = self.query(
            "SELECT recorded_at, data_json FROM micro_breaks WHERE kind = 'break_effect' "
            f"AND recorded_at >= ? AND recorded_at <= ? AND {of_person(or_none=True)} "
            "ORDER BY recorded_at",
            (start, end),
        )
        return [(float(r[0]), json.loads(r[1])) for r in rows]

    def person_break_events(self, start: float, end: float) -> list[tuple[str, dict[str, Any]]]:
        """Micro-break events ``(kind, data)`` recorded in ``[start, end)``.

        Those of strap sessions or of none (a break started from the page).
        """
        rows = self.query(
            "SELECT kind, data_json FROM micro_breaks WHERE recorded_at >= ? AND recorded_at < ? "
            f"AND {of_person(or_none=True)}",
            (start, end),
        )
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    def recent_break_events(self, *, limit: int = 200) -> list[sqlite3.Row]:
        """The newest flags of the person and breaks (``id``, ``kind``, ``recorded_at``).

        Newest first. Flags (``micro_break``) of strap sessions or of none only: a simulated
        person's or a replay's flag asks the person nothing. Break starts and ends of any
        session: a break is the person's own doing (started from the page, the app or a
        prompt), also on the demo's simulated person, and the day plan holds prompts during
        it and skips a breathing reset just after it.
        """
        return self.query(
            "SELECT id, kind, recorded_at FROM micro_breaks "
            "WHERE (kind = 'micro_break' "
            f"AND {of_person(or_none=True)}) OR kind IN ('break_started', 'break_ended') "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )

    def checkin_scores(self, start: float, end: float) -> list[tuple[int, int]]:
        """Check-ins' ``(stress, energy)`` made in ``[start, end)``."""
        rows = self.query(
            "SELECT stress, energy FROM checkins WHERE at >= ? AND at < ?", (start, end)
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    def prompt_counts(self, start: float, end: float) -> tuple[int, int]:
        """Prompts sent in ``[start, end)`` and how many of them were answered (or done)."""
        rows = self.query(
            "SELECT COUNT(*), COUNT(answered_at) FROM prompts WHERE sent_at >= ? AND sent_at < ?",
            (start, end),
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
