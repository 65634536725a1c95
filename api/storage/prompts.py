"""The day plan's prompts and their answers (issue 16)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from api.storage.writer import StorageCore

__all__ = ["PromptTables", "StoredAnswer"]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What :meth:`PromptTables.answer_prompt` stored."""

    #: The prompt was still open and is now answered (false: nothing was written).
    stored: bool
    #: The check-in row the answer also made (``None``: none asked for, or not stored).
    checkin_id: int | None


class PromptTables(StorageCore):
    """Prompts sent, answered, done, dismissed or expired (part of :class:`api.storage.Storage`)."""

    def add_prompt(
        self,
        *,
        key: str,
        kind: str,
        trigger: str,
        text: str,
        state: str,
        due_at: float,
        expires_at: float,
        at: float,
        reason: str = "",
        items: Sequence[dict[str, Any]] = (),
    ) -> Future[Any]:
        """Record a decided prompt (``state`` sent, skipped or expired at ``at``).

        A key that is already stored is left alone (the future then gives 0).
        """
        if state not in ("sent", "skipped", "expired"):
            raise ValueError(f"state: expected sent, skipped or expired, got {state!r}")
        future = self._submit(
            "INSERT INTO prompts (key, kind, trigger, text, state, reason, due_at, expires_at, "
            "sent_at, expired_at, items_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO NOTHING",
            (
                key,
                kind,
                trigger,
                text,
                state,
                reason,
                due_at,
                expires_at,
                at if state == "sent" else None,
                at if state != "sent" else None,
                json.dumps(list(items)),
            ),
            wait=True,
        )
        assert future is not None
        return future

    def prompt_keys(self, *, since_due: float) -> set[str]:
        """Keys of the prompts due at or after ``since_due``."""
        rows = self.query("SELECT key FROM prompts WHERE due_at >= ?", (since_due,))
        return {str(r[0]) for r in rows}

    def get_prompt(self, prompt_id: int) -> sqlite3.Row | None:
        """One prompt, or ``None``."""
        rows = self.query("SELECT * FROM prompts WHERE id = ?", (prompt_id,))
        return rows[0] if rows else None

    def prompts(
        self,
        *,
        since: float | None = None,
        state: str | None = None,
        limit: int = 500,
        after_id: int | None = None,
    ) -> list[sqlite3.Row]:
        """Prompts, oldest due first (by ``due_at``, then ``id``), filtered when asked.

        Due at or after ``since``, in ``state`` when given; ``after_id``: only those after
        that prompt in this order (the next page; none when no prompt has that id).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("due_at >= ?")
            params.append(since)
        if after_id is not None:
            clauses.append("(due_at, id) > (SELECT due_at, id FROM prompts WHERE id = ?)")
            params.append(after_id)
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self.query(
            f"SELECT * FROM prompts {where} ORDER BY due_at, id LIMIT ?", (*params, limit)
        )

    def prompt_answers(self, prompt_ids: Sequence[int]) -> dict[int, list[sqlite3.Row]]:
        """Per prompt id, its check-in items' answers in order."""
        out: dict[int, list[sqlite3.Row]] = {int(i): [] for i in prompt_ids}
        if not out:
            return out
        marks = ",".join("?" * len(out))
        for r in self.query(
            f"SELECT * FROM prompt_answers WHERE prompt_id IN ({marks}) "
            "ORDER BY prompt_id, position",
            tuple(out),
        ):
            out[int(r["prompt_id"])].append(r)
        return out

    def count_prompts(self, *, since: float | None = None, state: str | None = None) -> int:
        """How many prompts :meth:`prompts` selects (before ``limit``)."""
        return int(
            self.query(
                "SELECT COUNT(*) FROM prompts WHERE (? IS NULL OR due_at >= ?) "
                "AND (? IS NULL OR state = ?)",
                (since, since, state, state),
            )[0][0]
        )

    def last_checkin_due(self) -> float | None:
        """Due time of the newest check-in prompt not skipped (``None``: none yet)."""
        rows = self.query(
            "SELECT MAX(due_at) FROM prompts WHERE kind = 'checkin' AND state != 'skipped'"
        )
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def answer_prompt(
        self,
        prompt_id: int,
        *,
        at: float,
        text: str | None,
        note: str | None,
        items: Sequence[dict[str, Any]],
        checkin: tuple[int, int] | None = None,
        session_id: str | None = None,
    ) -> Future[StoredAnswer]:
        """Answer a sent prompt, in one transaction: all of it, or nothing when it is not open.

        The prompt becomes ``answered`` with its text or its check-in items (with their scale
        and anchor words) and note; ``checkin`` (stress, energy) also adds a check-in row with
        the note, attached to ``session_id`` (the session running when it was answered; ``None``:
        none). Only a prompt still ``sent`` is answered: when two answers race, the first
        one queued wins and the other stores nothing (:attr:`StoredAnswer.stored` false), so
        the items, the note and the check-in row always come from the same answer.
        """
        rows = [
            (
                prompt_id,
                i["key"],
                n,
                i["label"],
                i.get("value"),
                i.get("choice"),
                i.get("scale_min"),
                i.get("scale_max"),
                i.get("anchor_low", ""),
                i.get("anchor_high", ""),
            )
            for n, i in enumerate(items)
        ]

        def write(conn: sqlite3.Connection) -> StoredAnswer:
            cur = conn.execute(
                "UPDATE prompts SET state = 'answered', answered_at = ?, answer_text = ?, "
                "note = ? WHERE id = ? AND state = 'sent'",
                (at, text, note, prompt_id),
            )
            if cur.rowcount != 1:  # not open (answered, dismissed, expired) or no such prompt
                return StoredAnswer(stored=False, checkin_id=None)
            conn.executemany(
                "INSERT INTO prompt_answers (prompt_id, item_key, position, label, value, "
                "choice, scale_min, scale_max, anchor_low, anchor_high) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            checkin_id = None
            if checkin is not None:
                cur = conn.execute(
                    "INSERT INTO checkins (session_id, at, stress, energy, note) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (session_id, at, checkin[0], checkin[1], note or ""),
                )
                checkin_id = cur.lastrowid
            return StoredAnswer(stored=True, checkin_id=checkin_id)

        return self._submit_transaction(write)

    def mark_prompt_done(self, prompt_id: int, *, at: float) -> Future[bool]:
        """A sent action prompt done at ``at`` (the future gives whether it was still open)."""
        return self._close(prompt_id, "done", "answered_at", at)

    def close_prompt(self, prompt_id: int, *, state: str, at: float) -> Future[bool]:
        """A sent prompt dismissed or expired at ``at`` (the future: whether it was open)."""
        if state not in ("dismissed", "expired"):
            raise ValueError(f"state: expected dismissed or expired, got {state!r}")
        column = "dismissed_at" if state == "dismissed" else "expired_at"
        return self._close(prompt_id, state, column, at)

    def _close(self, prompt_id: int, state: str, column: str, at: float) -> Future[bool]:
        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"UPDATE prompts SET state = ?, {column} = ? WHERE id = ? AND state = 'sent'",
                (state, at, prompt_id),
            )
            return cur.rowcount == 1

        return self._submit_transaction(write)

    def expire_prompts(self, *, now: float) -> Future[Any]:
        """Every sent prompt past its expiry becomes ``expired`` (a missed prompt)."""
        future = self._submit(
            "UPDATE prompts SET state = 'expired', expired_at = expires_at "
            "WHERE state = 'sent' AND expires_at <= ?",
            (now,),
            wait=True,
        )
        assert future is not None
        return future
