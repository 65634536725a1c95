"""A session's time series: beats, contact changes, snapshots, assessments, micro-breaks.

Paging (``since``/``limit``): ``since`` is a session time ``t_s`` (s, exclusive: rows after it)
and rows come in ``t_s`` order (ties in storage order: a beat's ``idx``, a snapshot's row id).
A page cut by ``limit`` is extended by the rows sharing its last ``t_s``, so a client that asks
next with ``since=`` that ``t_s`` misses nothing and gets nothing twice. ``count_*`` give the
rows a filter selects before ``limit`` (a list's ``total``).

Every beat, metrics window and micro-break event of a live session is stored with its live
message number ``seq`` (:mod:`api.live`); :meth:`SeriesTables.missed_since_seq` reads them back,
a page at a time, for a WebSocket client that reconnects.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from api.storage.schema import BeatRow
from api.storage.writer import Queued, StorageCore

__all__ = ["SNAPSHOT_TABLES", "SeriesTables", "StoredMessage"]

#: Tables of JSON snapshots on a session's timeline.
SNAPSHOT_TABLES = ("metrics", "guidance")

#: A stored item a live client missed: ``(seq, type, fields)`` with ``type`` ``"beat"``,
#: ``"metrics"`` or ``"micro_break"`` and the fields of that live message (no header).
StoredMessage = tuple[int, str, dict[str, Any]]

#: One page of a resuming client's missed items: the three tables in one result (NULL where a
#: kind has no such column), merged in ``seq`` order; each arm walks its ``(session_id, seq)``
#: index, so only the page's rows are read.
_MISSED_PAGE = (
    "SELECT seq, 'beat', idx, t_s, rr_ms, arrived_at, contact, gap_before, hr_bpm, NULL, NULL "
    "FROM beats WHERE session_id = ? AND seq > ? "
    "UNION ALL SELECT seq, 'metrics', NULL, t_s, NULL, recorded_at, NULL, NULL, NULL, NULL, "
    "data_json FROM metrics WHERE session_id = ? AND seq > ? "
    "UNION ALL SELECT seq, 'micro_break', NULL, t_s, NULL, recorded_at, NULL, NULL, NULL, kind, "
    "data_json FROM micro_breaks WHERE session_id = ? AND seq > ? "
    "ORDER BY 1 LIMIT ?"
)

_BEAT_SELECT = "SELECT idx, t_s, rr_ms, arrived_at, contact, gap_before, hr_bpm FROM beats "


def _beat(r: Sequence[Any]) -> BeatRow:
    return (
        r[0],
        r[1],
        r[2],
        r[3],
        None if r[4] is None else bool(r[4]),
        bool(r[5]),
        r[6],
    )


def _check_table(table: str) -> None:
    if table not in SNAPSHOT_TABLES:
        raise ValueError(f"table: expected 'metrics' or 'guidance', got {table!r}")


class SeriesTables(StorageCore):
    """Beats, snapshots, assessments and micro-break events.

    A part of :class:`api.storage.Storage`.
    """

    # -- beats ----------------------------------------------------------------------------------

    def add_beats(
        self, session_id: str, rows: Sequence[BeatRow], *, seqs: Sequence[int] | None = None
    ) -> Queued:
        """Queue beats for writing (returns at once); ``seqs``: their live message numbers."""
        numbers: Sequence[int | None] = [None] * len(rows) if seqs is None else seqs
        if len(numbers) != len(rows):
            raise ValueError(f"seqs: expected {len(rows)} numbers, got {len(numbers)}")
        return self._queue_write(
            "INSERT OR REPLACE INTO beats (session_id, idx, t_s, rr_ms, arrived_at, contact, "
            "gap_before, hr_bpm, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(session_id, *row, seq) for row, seq in zip(rows, numbers, strict=True)],
            many=True,
        )

    def beats(
        self,
        session_id: str,
        *,
        since_t_s: float | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[BeatRow]:
        """A session's stored beats in order.

        ``since_t_s``: only those with ``t_s`` >= it; ``since``: only those with ``t_s`` > it;
        ``limit``: at most that many (more when the last ones share a ``t_s``, see the module).
        Beats are stored in ``t_s`` order (the pipeline drops one that goes back), so ``idx``
        order is ``t_s`` order.
        """
        where = "WHERE session_id = ? AND (? IS NULL OR t_s >= ?) AND (? IS NULL OR t_s > ?) "
        params: tuple[Any, ...] = (session_id, since_t_s, since_t_s, since, since)
        if limit is None:
            rows = self.query(_BEAT_SELECT + where + "ORDER BY idx", params)
            return [_beat(r) for r in rows]
        rows = self.query(_BEAT_SELECT + where + "ORDER BY idx LIMIT ?", (*params, limit))
        if len(rows) == limit:  # the rest of the last t_s: a page never splits a tie
            rows += self.query(
                _BEAT_SELECT + "WHERE session_id = ? AND t_s = ? AND idx > ? ORDER BY idx",
                (session_id, rows[-1][1], rows[-1][0]),
            )
        return [_beat(r) for r in rows]

    def count_beats(
        self, session_id: str, *, since_t_s: float | None = None, since: float | None = None
    ) -> int:
        """How many beats :meth:`beats` selects with these filters (before ``limit``)."""
        return int(
            self.query(
                "SELECT COUNT(*) FROM beats WHERE session_id = ? AND (? IS NULL OR t_s >= ?) "
                "AND (? IS NULL OR t_s > ?)",
                (session_id, since_t_s, since_t_s, since, since),
            )[0][0]
        )

    # -- changes of skin contact -----------------------------------------------------------------

    def add_contact_change(
        self, session_id: str, *, t_s: float, contact: bool, recorded_at: float
    ) -> Queued:
        """Queue a change of skin contact (:class:`sensors.contact.ContactChanges`).

        Dropped past the bound as beats are (one a status change of the strap, as frequent
        as its beats at worst); nothing is published about it as stored (the ``status`` says
        the strap's contact whether stored or not).
        """
        return self._queue_write(
            "INSERT INTO contact_changes (session_id, t_s, contact, recorded_at) "
            "VALUES (?, ?, ?, ?)",
            (session_id, t_s, int(bool(contact)), recorded_at),
        )

    def contact_changes(self, session_id: str) -> list[tuple[float, bool]]:
        """A session's changes of skin contact ``(t_s, contact)``, in the order kept."""
        rows = self.query(
            "SELECT t_s, contact FROM contact_changes WHERE session_id = ? ORDER BY rowid",
            (session_id,),
        )
        return [(float(r[0]), bool(r[1])) for r in rows]

    def next_contact_beat_times(self, session_id: str, after: Sequence[float]) -> list[float]:
        """For each time in ``after``, the ``t_s`` of the first beat with contact after it.

        Ascending; times with no such beat after them give nothing. A beat with contact is one
        whose ``contact`` is not 0 (1, or not reported): where a stretch without contact that
        has no ``contact`` 1 change ends (:func:`sensors.contact.no_contact_stretches`, for the
        times :func:`sensors.contact.open_stretch_starts` gives; a strap without contact may
        send beats marked so, which are in the stretch).

        Without reading every beat, and without an index on ``t_s``: beats are stored in ``t_s``
        order (:meth:`beats`), so the first beat after a time is found by bisecting on ``idx``
        (the primary key; a few lookups per time), then the beats marked without contact from
        there are stepped over. Times are taken in ascending order, each search starting where
        the last ended (a time before the beat found for the previous one has that beat too):
        no beat is stepped over twice. All in one read transaction.
        """
        times = sorted({float(t) for t in after})
        found: list[float] = []
        with self._read() as conn:
            conn.execute("BEGIN")
            try:
                # apart: SQLite reads a lone min() or max() off the index, both together by a scan
                first_idx, last_idx = (
                    conn.execute(
                        f"SELECT {f}(idx) FROM beats WHERE session_id = ?", (session_id,)
                    ).fetchone()[0]
                    for f in ("min", "max")
                )
                if first_idx is None or last_idx is None:
                    return []
                lo_idx, end_idx = int(first_idx), int(last_idx) + 1
                last: tuple[int, float] | None = None  # (idx, t_s) of the beat found last
                for t in times:
                    if last is not None and last[1] > t:
                        continue  # the same beat: no beat with contact between
                    first = _first_beat_after(conn, session_id, t, lo_idx, end_idx)
                    if first is None:
                        break  # no beat after t: none after the later times either
                    row = conn.execute(
                        "SELECT idx, t_s FROM beats WHERE session_id = ? AND idx >= ? "
                        "AND (contact IS NULL OR contact != 0) ORDER BY idx LIMIT 1",
                        (session_id, first),
                    ).fetchone()
                    if row is None:
                        break  # no beat with contact after t, nor after the later times
                    last = (int(row[0]), float(row[1]))
                    found.append(last[1])
                    lo_idx = last[0]  # the later times' first beats are at or after it
            finally:
                conn.execute("COMMIT")
        return found

    # -- metrics and guidance snapshots ---------------------------------------------------------

    def add_snapshot(
        self,
        table: str,
        session_id: str,
        *,
        t_s: float,
        recorded_at: float,
        data: dict[str, Any],
        seq: int | None = None,
    ) -> Queued:
        """Queue a metrics or guidance snapshot.

        ``table`` is ``"metrics"`` or ``"guidance"``; ``seq`` is a metrics window's live
        message number. A guidance snapshot (stored with the pacer's events that made it: a
        few a minute at most) is never dropped past the bound: the pacer's change it tells is
        published whatever the database does (the person breathes by it).
        """
        _check_table(table)
        if table == "metrics":
            return self._queue_write(
                "INSERT INTO metrics (session_id, t_s, recorded_at, data_json, seq) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_id, t_s, recorded_at, json.dumps(data), seq),
            )
        return self._queue_write(
            f"INSERT INTO {table} (session_id, t_s, recorded_at, data_json) VALUES (?, ?, ?, ?)",
            (session_id, t_s, recorded_at, json.dumps(data)),
            kept=True,
        )

    def snapshots(
        self,
        table: str,
        session_id: str,
        *,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """A session's snapshots in ``t_s`` order (``since``/``limit``: see the module)."""
        _check_table(table)
        select = f"SELECT t_s, recorded_at, data_json, rowid FROM {table} "
        where = "WHERE session_id = ? AND (? IS NULL OR t_s > ?) ORDER BY t_s, rowid"
        params: tuple[Any, ...] = (session_id, since, since)
        if limit is None:
            rows = self.query(select + where, params)
        else:
            rows = self.query(select + where + " LIMIT ?", (*params, limit))
            if len(rows) == limit:  # the rest of the last t_s
                rows += self.query(
                    select + "WHERE session_id = ? AND t_s = ? AND rowid > ? ORDER BY rowid",
                    (session_id, rows[-1][0], rows[-1][3]),
                )
        out: list[dict[str, Any]] = []
        for r in rows:
            item: dict[str, Any] = {"t_s": r[0], "recorded_at": r[1]}
            item.update(json.loads(r[2]))
            out.append(item)
        return out

    def last_snapshot(self, table: str, session_id: str) -> dict[str, Any] | None:
        """A session's latest snapshot as stored (its fields, no ``recorded_at``), or ``None``.

        One row through the ``(session_id, t_s)`` index: cheap whatever the session's length.
        """
        _check_table(table)
        rows = self.query(
            f"SELECT data_json FROM {table} WHERE session_id = ? ORDER BY t_s DESC, rowid DESC "
            "LIMIT 1",
            (session_id,),
        )
        return dict(json.loads(rows[0][0])) if rows else None

    def count_snapshots(self, table: str, session_id: str, *, since: float | None = None) -> int:
        """How many snapshots :meth:`snapshots` selects (before ``limit``)."""
        _check_table(table)
        return int(
            self.query(
                f"SELECT COUNT(*) FROM {table} WHERE session_id = ? AND (? IS NULL OR t_s > ?)",
                (session_id, since, since),
            )[0][0]
        )

    # -- assessments ----------------------------------------------------------------------------

    def add_assessment(
        self, session_id: str, *, recorded_at: float, data: dict[str, Any]
    ) -> Queued:
        """Queue an assessment step or verdict (never dropped: a few a session)."""
        return self._queue_write(
            "INSERT INTO assessments (session_id, recorded_at, data_json) VALUES (?, ?, ?)",
            (session_id, recorded_at, json.dumps(data)),
            kept=True,
        )

    def assessments(self, session_id: str) -> list[dict[str, Any]]:
        """A session's assessment steps and verdicts, in order."""
        rows = self.query(
            "SELECT id, recorded_at, data_json FROM assessments WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [{"id": r[0], "recorded_at": r[1], **json.loads(r[2])} for r in rows]

    # -- micro-break events ---------------------------------------------------------------------

    def add_micro_break(
        self,
        *,
        session_id: str | None,
        t_s: float | None,
        recorded_at: float,
        kind: str,
        data: dict[str, Any],
        seq: int | None = None,
    ) -> Queued:
        """Queue a micro-break event (``seq``: its live message number)."""
        return self._queue_write(
            "INSERT INTO micro_breaks (session_id, t_s, recorded_at, kind, data_json, seq) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, t_s, recorded_at, kind, json.dumps(data), seq),
        )

    def micro_breaks(
        self, *, session_id: str | None = None, limit: int = 200, after_id: int | None = None
    ) -> list[sqlite3.Row]:
        """Micro-break events, newest first (by ``recorded_at``, then ``id``).

        ``after_id``: only those after that event in this order, i.e. older (the next page;
        none when no event has that id).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if after_id is not None:
            clauses.append(
                "(recorded_at, id) < (SELECT recorded_at, id FROM micro_breaks WHERE id = ?)"
            )
            params.append(after_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self.query(
            f"SELECT * FROM micro_breaks {where} ORDER BY recorded_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )

    def has_micro_break(self, event_id: int) -> bool:
        """Whether a micro-break event with this id is stored."""
        return bool(self.query("SELECT 1 FROM micro_breaks WHERE id = ?", (event_id,)))

    def count_micro_breaks(self, *, session_id: str | None = None) -> int:
        """How many micro-break events are stored (of one session when given)."""
        return int(
            self.query(
                "SELECT COUNT(*) FROM micro_breaks WHERE ? IS NULL OR session_id = ?",
                (session_id, session_id),
            )[0][0]
        )

    # -- resuming a live client -----------------------------------------------------------------

    def last_seq(self, session_id: str) -> int | None:
        """The highest live message number (``seq``) stored for a session (``None``: none).

        Of its beats, metrics windows and micro-break events, read through the
        ``(session_id, seq)`` indexes (three index lookups, whatever the session's length).
        """
        rows = self.query(
            "SELECT MAX(m) FROM ("
            + " UNION ALL ".join(
                f"SELECT MAX(seq) AS m FROM {t} WHERE session_id = ? AND seq IS NOT NULL"
                for t in ("beats", "metrics", "micro_breaks")
            )
            + ")",
            (session_id,) * 3,
        )
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def missed_since_seq(self, session_id: str, seq: int, *, limit: int) -> list[StoredMessage]:
        """The first ``limit`` stored items of a live session numbered above ``seq``.

        Beats, metrics windows and micro-break events, in ``seq`` order (their live message
        number). One statement reads the three tables, so it sees one committed state: as
        stored ``seq`` order is commit order (:mod:`api.routes.live`), a page is the run of
        items right after ``seq`` with no gap, and a page shorter than ``limit`` holds every
        item committed above ``seq``. At most ``limit`` rows are read, through the
        ``(session_id, seq)`` indexes, so a resume pages through a long session in bounded
        memory.
        """
        if limit < 1:
            raise ValueError(f"limit: expected >= 1, got {limit}")
        rows = self.query(_MISSED_PAGE, (session_id, seq) * 3 + (limit,))
        out: list[StoredMessage] = []
        for r in rows:
            if r[1] == "beat":
                idx, t_s, rr_ms, arrived_at, contact, gap_before, hr_bpm = _beat(r[2:9])
                fields: dict[str, Any] = {
                    "idx": idx,
                    "t_s": t_s,
                    "rr_ms": rr_ms,
                    "arrived_at": arrived_at,
                    "contact": contact,
                    "gap_before": gap_before,
                    "hr_bpm": hr_bpm,
                }
            else:
                fields = {"t_s": r[3], "recorded_at": r[5], "data": json.loads(r[10])}
                if r[1] == "micro_break":
                    fields["kind"] = r[9]
            out.append((int(r[0]), str(r[1]), fields))
        return out


def _first_beat_after(
    conn: sqlite3.Connection, session_id: str, t: float, lo: int, hi: int
) -> int | None:
    """The ``idx`` of the session's first beat with ``t_s`` > ``t`` among ``lo`` <= idx < ``hi``.

    Bisection on ``idx`` (beats are stored in ``t_s`` order; ``idx`` may skip numbers):
    ``None`` when no beat in the range is after ``t``.
    """
    answer: int | None = None
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(
            "SELECT idx, t_s FROM beats WHERE session_id = ? AND idx >= ? AND idx < ? "
            "ORDER BY idx LIMIT 1",
            (session_id, mid, hi),
        ).fetchone()
        if row is None:
            hi = mid  # no beat in [mid, hi)
        elif float(row[1]) > t:
            answer, hi = int(row[0]), mid
        else:
            lo = int(row[0]) + 1
    return answer
