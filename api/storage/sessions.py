"""The ``sessions`` table: create, change state and label, list, read, summarise."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from api.storage.writer import Queued, StorageCore

__all__ = ["SessionTables"]


class SessionTables(StorageCore):
    """Sessions and their per-session summaries (a part of :class:`api.storage.Storage`)."""

    def create_session(
        self,
        session_id: str,
        *,
        created_at: float,
        mode: str,
        source: dict[str, Any],
        options: dict[str, Any],
        live_settings: dict[str, Any] | None = None,
    ) -> Future[Any]:
        """Store a new session, ``running`` (the future completes once committed).

        Its owner is this opening's (:attr:`StorageCore.owner`): another process's opening
        leaves it running while this one has the database open.

        ``live_settings``: how its live metric windows are made (``hrv.live_settings`` of the
        analyser it runs), kept so that an export states them; ``None``: not known. Its paced
        runs start as ``[]`` (never paced, :meth:`set_paced_runs` replaces them), so a session
        interrupted before it paced exports ``[]``; ``NULL`` is only a session stored before
        hrvpace kept them (schema 7).
        """
        future = self._submit(
            "INSERT INTO sessions (id, created_at, state, mode, source_json, options_json, "
            "live_settings_json, paced_runs_json, owner) "
            "VALUES (?, ?, 'running', ?, ?, ?, ?, '[]', ?)",
            (
                session_id,
                created_at,
                mode,
                json.dumps(source),
                json.dumps(options),
                None if live_settings is None else json.dumps(live_settings, allow_nan=False),
                self.owner.id,
            ),
            wait=True,
        )
        assert future is not None
        return future

    def set_session_state(
        self,
        session_id: str,
        state: str,
        *,
        message: str = "",
        ended_at: float | None = None,
        last_seq: int | None = None,
    ) -> Future[Any]:
        """Change a session's state and message.

        ``ended_at``: when it ended; ``last_seq``: the live message number of its final
        ``status`` (the last number its live clients got).
        """
        future = self._submit(
            "UPDATE sessions SET state = ?, message = ?, ended_at = COALESCE(?, ended_at), "
            "last_seq = COALESCE(?, last_seq) WHERE id = ?",
            (state, message, ended_at, last_seq, session_id),
            wait=True,
        )
        assert future is not None
        return future

    def set_paced_runs(self, session_id: str, runs: Sequence[tuple[float, float | None]]) -> Queued:
        """Queue when a session's pacer ran: ``(start, stop)`` session times, oldest first.

        ``stop`` ``None``: the run goes on (the session ended, or the service stopped, while it
        ran: an export ends it at the session's last beat). Replaces what was stored. Never
        dropped past the bound (one row, written as a run starts and ends).
        """
        text = json.dumps([[float(a), None if b is None else float(b)] for a, b in runs])
        return self._queue_write(
            "UPDATE sessions SET paced_runs_json = ? WHERE id = ?", (text, session_id), kept=True
        )

    def last_beat_t_s(self, session_id: str) -> float | None:
        """Session time of a session's last stored beat (``None`` without beats)."""
        rows = self.query(
            "SELECT t_s FROM beats WHERE session_id = ? ORDER BY idx DESC LIMIT 1", (session_id,)
        )
        return float(rows[0][0]) if rows else None

    def set_session_label(self, session_id: str, label: str) -> Future[Any]:
        """Set the free-text label of a session (kept in its options)."""
        future = self._submit(
            "UPDATE sessions SET options_json = json_set(options_json, '$.label', ?) WHERE id = ?",
            (label, session_id),
            wait=True,
        )
        assert future is not None
        return future

    def get_session(self, session_id: str) -> sqlite3.Row | None:
        """One session with its beat count (``n_beats``), or ``None``."""
        rows = self.query(
            "SELECT s.*, (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id) AS n_beats "
            "FROM sessions s WHERE s.id = ?",
            (session_id,),
        )
        return rows[0] if rows else None

    def count_sessions(self) -> int:
        """How many sessions are stored."""
        return int(self.query("SELECT COUNT(*) FROM sessions")[0][0])

    def list_sessions(
        self, *, limit: int = 100, offset: int = 0, after: tuple[float, str] | None = None
    ) -> list[sqlite3.Row]:
        """Sessions, newest first (then by id), with their beat count (``n_beats``).

        ``after``: ``(created_at, id)`` of a position in that order (a keyset cursor): only
        the sessions after it, whether a session is stored there or not (it may have been
        deleted). Both this and the order read the index ``sessions_newest`` (schema 9): a
        page counts the beats of its own rows only.
        """
        where = ""
        params: tuple[float | str, ...] = ()
        if after is not None:
            created_at, session_id = after
            # the order is mixed (created_at DESC, id ASC): no row-value comparison; the
            # first term is the index's range, the second the ties at its end
            where = "WHERE s.created_at <= ? AND (s.created_at < ? OR s.id > ?) "
            params = (created_at, created_at, session_id)
        return self.query(
            "SELECT s.*, (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id) AS n_beats "
            f"FROM sessions s {where}ORDER BY s.created_at DESC, s.id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )

    def session_summaries(self, session_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per session: duration, window count, mean RMSSD and HR, flags and check-ins."""
        out: dict[str, dict[str, Any]] = {
            sid: {
                "duration_s": None,
                "n_windows": 0,
                "mean_rmssd_ms": None,
                "mean_hr_bpm": None,
                "n_micro_breaks": 0,
                "n_breaks": 0,
                "n_checkins": 0,
            }
            for sid in session_ids
        }
        if not out:
            return out
        marks = ",".join("?" * len(out))
        ids = tuple(out)
        for r in self.query(
            "SELECT session_id, COUNT(*), AVG(json_extract(data_json, '$.rmssd_ms')), "
            "AVG(json_extract(data_json, '$.mean_hr_bpm')) FROM metrics "
            f"WHERE session_id IN ({marks}) GROUP BY session_id",
            ids,
        ):
            out[r[0]].update(n_windows=r[1], mean_rmssd_ms=r[2], mean_hr_bpm=r[3])
        for r in self.query(
            "SELECT session_id, COUNT(*) FROM micro_breaks WHERE kind = 'micro_break' "
            f"AND session_id IN ({marks}) GROUP BY session_id",
            ids,
        ):
            out[r[0]]["n_micro_breaks"] = r[1]
        for r in self.query(
            "SELECT session_id, COUNT(*) FROM micro_breaks WHERE kind = 'break_started' "
            f"AND session_id IN ({marks}) GROUP BY session_id",
            ids,
        ):
            out[r[0]]["n_breaks"] = r[1]
        for r in self.query(
            f"SELECT session_id, COUNT(*) FROM checkins WHERE session_id IN ({marks}) "
            "GROUP BY session_id",
            ids,
        ):
            out[r[0]]["n_checkins"] = r[1]
        for sid in ids:
            last = self.query(
                "SELECT t_s FROM beats WHERE session_id = ? ORDER BY idx DESC LIMIT 1", (sid,)
            )
            if last:
                out[sid]["duration_s"] = last[0][0]
        return out
