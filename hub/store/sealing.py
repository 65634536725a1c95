"""Sealing closed weeks: each (group, week) cell computed once over its frozen roster."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub import db
from hub.db import COUNT_MEASURES, MEASURES
from hub.periods import GRACE_DAYS, Week, closes_at, week_of_ts
from hub.privacy import enough, median_releasable
from hub.store.base import StoreBase

__all__ = ["SEAL_WEEKS_PER_QUERY", "SealingStore"]

#: Closed weeks computed by one query when sealing.
SEAL_WEEKS_PER_QUERY = 60
#: The Monday week numbers count from (in SQL) and the seconds of a day.
_MONDAY_0 = dt.date(1970, 1, 5)
_DAY_S = 86_400


_BITS = tuple((1 << i, m) for i, m in enumerate(MEASURES))


def _mask(values: Mapping[str, float | None]) -> int:
    """Bit i set: ``values`` holds a value of ``MEASURES[i]``."""
    mask = 0
    for bit, m in _BITS:
        if values.get(m) is not None:
            mask |= bit
    return mask


class SealingStore(StoreBase):
    """Closed weeks of a group computed and stored with their member sets."""

    def _weekly_member_means(
        self, conn: Connection, gid: str, weeks: list[Week]
    ) -> list[dict[str, dict[str, float | None]]]:
        """Each member's mean of each measure in each of ``weeks`` (consecutive).

        Over the contributions received before that week closed (one query grouped by member
        and week number; a row counts when received before its week closed). Members in id
        order. The cells and the effects' pairs
        (:meth:`~hub.store.interventions.InterventionStore._arm_pairs`) both read it, so an
        effect's weekly values are the cells'.

        One rule for every measure (README "The hub"): each day a member's service sent is a
        *contributed day*. A count measure (:data:`hub.db.COUNT_MEASURES`) is 0 on a contributed
        day without it (an absent one counts as 0), so its weekly value is per contributed
        day: practice minutes per day, not per day of practice. A level measure's weekly value
        is the mean over the days that have it. A member takes part in a week (is one of its
        ``contributors``) only with at least one *day of use* in it: a contributed day with
        any count above 0 or any level; a week of empty days (the app not used, the service
        sending zeros) leaves the member out of the week, as if nothing had been sent.
        """
        c = db.contributions.c
        # weeks since the Monday 1970-01-05 (a week's start is (n * 7 + 4) days after the
        # epoch, it closes GRACE_DAYS days after its end); SQLite keeps dates as ISO text
        number: sa.ColumnElement[Any]
        if conn.dialect.name == "postgresql":
            number = sa.literal_column("(day - DATE '1970-01-05') / 7")
        else:
            number = sa.literal_column("CAST((julianday(day) - 2440591.5) / 7 AS INTEGER)")
        rows = (
            sa.select(c.member_id, c.received_at, number.label("wn"), *(c[m] for m in MEASURES))
            .where(c.group_id == gid, c.day >= weeks[0].start, c.day < weeks[-1].end)
            .subquery()
        )
        closes = (rows.c.wn * 7 + (11 + GRACE_DAYS)) * _DAY_S  # closes_at of the row's week
        used = sa.or_(
            *(rows.c[m] > 0 if m in COUNT_MEASURES else rows.c[m].is_not(None) for m in MEASURES)
        )
        q = (
            sa.select(
                rows.c.member_id,
                rows.c.wn,
                *(
                    sa.func.avg(
                        sa.func.coalesce(rows.c[m], 0) if m in COUNT_MEASURES else rows.c[m]
                    ).label(m)
                    for m in MEASURES
                ),
            )
            .where(rows.c.received_at < closes)
            .group_by(rows.c.member_id, rows.c.wn)
            .having(sa.func.max(sa.case((used, 1), else_=0)) == 1)
            .order_by(rows.c.member_id, rows.c.wn)
        )
        first = (weeks[0].start - _MONDAY_0).days // 7
        out: list[dict[str, dict[str, float | None]]] = [{} for _ in weeks]
        for member_id, wn, *values in conn.execute(q):
            out[int(wn) - first][member_id] = {
                m: None if x is None else float(x) for m, x in zip(MEASURES, values, strict=True)
            }
        return out

    def _seal_weeks(self, conn: Connection, group: Mapping[Any, Any], weeks: list[Week]) -> None:
        """Compute and store the cells of ``weeks`` (consecutive, closed) of ``group``.

        Each over its frozen roster (members for the whole week), suppressed under k members.
        """
        gid, k = group["id"], int(group["k"])
        m = db.members.c
        members = conn.execute(
            sa.select(m.id, m.joined_at, m.left_at).where(m.group_id == gid)
        ).all()
        weekly = self._weekly_member_means(conn, gid, weeks)
        now = self.now()
        cells: list[dict[str, Any]] = []
        released: list[dict[str, Any]] = []
        for week, week_means in zip(weeks, weekly, strict=True):
            start_ts, end_ts = week.start_ts, week.end_ts
            roster = {  # as _roster: joined by the week's start, not left before its end
                mid
                for mid, joined_at, left_at in members
                if joined_at <= start_ts and (left_at is None or left_at >= end_ts)
            }
            means = {mid: v for mid, v in week_means.items() if mid in roster}
            suppressed = not enough(len(means), k)
            body: dict[str, Any] | None = None
            if not suppressed:
                body = {
                    "members": len(roster),
                    "contributors": len(means),
                    "measures": _measure_stats(means, k),
                }
                released.extend(
                    {"group_id": gid, "week": week.start, "member_id": mid, "mask": _mask(v)}
                    for mid, v in means.items()
                )
            cells.append(
                {
                    "group_id": gid,
                    "week": week.start,
                    "closed_at": now,
                    "suppressed": suppressed,
                    "reason": "fewer_than_k" if suppressed else None,
                    "body": None if body is None else json.dumps(body),
                }
            )
        if cells:
            conn.execute(db.period_cells.insert(), cells)
        if released and conn.dialect.name == "postgresql":
            # a year of a group's member sets is thousands of rows: COPY, in this transaction,
            # instead of psycopg's one INSERT per row
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(
                "COPY period_members (group_id, week, member_id, mask) FROM STDIN"
            ) as copy:
                for r in released:
                    copy.write_row((r["group_id"], r["week"], r["member_id"], r["mask"]))
        elif released:
            conn.execute(db.period_members.insert(), released)

    def seal_all(self) -> int:
        """Compute every closed, not yet stored week of every group; the number of groups.

        The hub's background job, so summaries are read, not computed.
        """
        with self.engine.connect() as conn:
            gids = list(conn.execute(sa.select(db.groups.c.id)).scalars())
        last = week_of_ts(self.now())
        for gid in gids:
            self.seal_through(gid, last)
        return len(gids)

    def seal_through(self, gid: str, last: Week, *, now: int | None = None) -> None:
        """Compute and store every closed, not yet stored week of ``gid`` up to ``last``.

        Closed as of ``now`` (default: the clock now): a caller that tells closed from open
        weeks after sealing passes the instant it tells them by
        (:meth:`hub.store.summaries.SummaryStore.summary`).

        Sealing is serialised: in this process by a lock, across hub processes on PostgreSQL
        by an advisory lock per group; a week stored meanwhile by another process is kept.
        """
        now = self.now() if now is None else now
        while last.start_ts > 0 and now < closes_at(last):
            last = last.previous()
        with self.engine.connect() as conn:  # the usual case, read only: all stored already
            done = conn.execute(
                sa.select(sa.func.max(db.period_cells.c.week)).where(
                    db.period_cells.c.group_id == gid
                )
            ).scalar_one()
        if done is not None and Week(done) >= last:
            return
        with self._seal_lock:
            try:
                self._seal_through(gid, last)
            except sa.exc.IntegrityError:  # another process stored these weeks first
                self._seal_through(gid, last)

    def _seal_through(self, gid: str, last: Week) -> None:
        with self.engine.begin() as conn:
            # hub processes sealing together: one at a time, each reading what the last stored
            self._lock_group(conn, gid)
            group = self._group(conn, gid)
            done = conn.execute(
                sa.select(sa.func.max(db.period_cells.c.week)).where(
                    db.period_cells.c.group_id == gid
                )
            ).scalar_one()
            week = Week(done).next() if done is not None else week_of_ts(group["created_at"])
            weeks = []
            while week <= last:
                weeks.append(week)
                week = week.next()
            for i in range(0, len(weeks), SEAL_WEEKS_PER_QUERY):
                self._seal_weeks(conn, group, weeks[i : i + SEAL_WEEKS_PER_QUERY])


def _measure_stats(means: Mapping[str, Mapping[str, float | None]], k: int) -> dict[str, Any]:
    """A released cell's statistics of each measure over the members' weekly ``means``.

    n, mean and median (:func:`hub.privacy.median_releasable`), or suppressed under k values.
    """
    measures: dict[str, Any] = {}
    for m in MEASURES:
        vals = [x for x in (v[m] for v in means.values()) if x is not None]
        if enough(len(vals), k):
            measures[m] = {
                "n": len(vals),
                "mean": round(statistics.fmean(vals), 2),
                "median": (
                    round(statistics.median(vals), 2) if median_releasable(len(vals)) else None
                ),
                "suppressed": False,
            }
        else:
            measures[m] = {"suppressed": True}
    return measures
