"""All SQL of the hub: groups, invites, members, contributions, weekly cells and effects.

Every method runs in its own transaction on the engine (SQLite or PostgreSQL, :mod:`hub.db`).
Time comes from an injected ``clock`` (Unix seconds), so tests can move through weeks at once.
What may be released is decided by :mod:`hub.privacy`; this module only applies it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import statistics
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from hub import db
from hub.db import MEASURES
from hub.errors import (
    BadRequestError,
    ContributionRefusedError,
    HubError,
    InviteInvalidError,
    NotFoundError,
    PeriodOpenError,
    UnauthorizedError,
)
from hub.periods import GRACE_DAYS, Week, closes_at, week_of, week_of_ts, weeks_between
from hub.privacy import differs_safely, enough, median_releasable
from hub.stats import diff_in_diff, paired_change

__all__ = ["Clock", "HubStore", "Member", "hash_secret"]

Clock = Callable[[], float]

#: At most this many weeks in one summary (two years).
MAX_SUMMARY_WEEKS = 106
#: At most this many weeks in an intervention's T1 (and so in its T0).
MAX_STUDY_WEEKS = 26
#: Closed weeks computed by one query when sealing.
SEAL_WEEKS_PER_QUERY = 60
#: The Monday week numbers count from (in SQL) and the seconds of a day.
_MONDAY_0 = dt.date(1970, 1, 5)
_DAY_S = 86_400


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a token or invite code: the hub stores no secret in clear."""
    return hashlib.sha256(secret.encode()).hexdigest()


#: The ingest path's statements, built once (building them per request cost ~1 ms).
_MEMBER_BY_TOKEN = sa.select(db.members.c.id, db.members.c.group_id, db.members.c.joined_at).where(
    db.members.c.token_hash == sa.bindparam("token_hash"), db.members.c.left_at.is_(None)
)
#: The current members holding any of a batch's token hashes (the group-commit ingest path).
_MEMBERS_BY_TOKENS = sa.select(
    db.members.c.token_hash, db.members.c.id, db.members.c.group_id, db.members.c.joined_at
).where(
    db.members.c.token_hash.in_(sa.bindparam("token_hashes", expanding=True)),
    db.members.c.left_at.is_(None),
)
#: The same, also for a member who stopped sharing (who may still delete their contributions).
_ANY_MEMBER_BY_TOKEN = sa.select(
    db.members.c.id, db.members.c.group_id, db.members.c.joined_at, db.members.c.left_at
).where(db.members.c.token_hash == sa.bindparam("token_hash"))


def _upsert_statement(dialect: Any) -> Any:
    stmt = dialect.insert(db.contributions)
    return stmt.on_conflict_do_update(
        index_elements=["member_id", "day"],
        set_={c: stmt.excluded[c] for c in (*MEASURES, "received_at")},
    )


_UPSERT: dict[str, Any] = {
    "sqlite": _upsert_statement(sqlite),
    "postgresql": _upsert_statement(postgresql),
}


_BITS = tuple((1 << i, m) for i, m in enumerate(MEASURES))


def _mask(values: Mapping[str, float | None]) -> int:
    """Bit i set: ``values`` holds a value of ``MEASURES[i]``."""
    mask = 0
    for bit, m in _BITS:
        if values.get(m) is not None:
            mask |= bit
    return mask


@dataclass(frozen=True)
class Member:
    """A member as the hub knows them: a random id, a group, when they joined."""

    id: str
    group_id: str
    joined_at: int
    #: When they stopped sharing (``None``: they share); a stopped member may only delete.
    left_at: int | None = None


class HubStore:
    """The hub's data, over one SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._seal_lock = threading.Lock()

    def now(self) -> int:
        """Unix seconds now, by the store's clock."""
        return int(self.clock())

    def today(self) -> dt.date:
        """Today's date in UTC, by the store's clock."""
        return dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC).date()

    # ---- groups and invites ------------------------------------------------------------

    def create_group(self, name: str, k: int) -> dict[str, Any]:
        """Create a group with its k; returns it as :class:`hub.models.Group` reads it."""
        gid = "g" + secrets.token_hex(8)
        row = {"id": gid, "name": name, "k": k, "created_at": self.now()}
        with self.engine.begin() as conn:
            conn.execute(db.groups.insert().values(**row))
        return self._group_out(row, 0)

    def _group_out(self, row: Mapping[Any, Any], n_members: int) -> dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "k": row["k"],
            "created": dt.datetime.fromtimestamp(row["created_at"], tz=dt.UTC).date(),
            "members": n_members,
        }

    def _group(self, conn: Connection, gid: str) -> Mapping[Any, Any]:
        row = conn.execute(sa.select(db.groups).where(db.groups.c.id == gid)).mappings().first()
        if row is None:
            raise NotFoundError(f"no group {gid!r}", code="group_not_found")
        return row

    def list_groups(self) -> list[dict[str, Any]]:
        """Every group with its current member count."""
        count = (
            sa.select(db.members.c.group_id, sa.func.count().label("n"))
            .where(db.members.c.left_at.is_(None))
            .group_by(db.members.c.group_id)
            .subquery()
        )
        q = (
            sa.select(db.groups, sa.func.coalesce(count.c.n, 0).label("n"))
            .outerjoin(count, count.c.group_id == db.groups.c.id)
            .order_by(db.groups.c.created_at, db.groups.c.id)
        )
        with self.engine.connect() as conn:
            return [self._group_out(r, int(r["n"])) for r in conn.execute(q).mappings()]

    def get_group(self, gid: str) -> dict[str, Any]:
        """One group with its current member count; :class:`NotFoundError` ``group_not_found``."""
        with self.engine.connect() as conn:
            row = self._group(conn, gid)
            n = conn.execute(
                sa.select(sa.func.count())
                .select_from(db.members)
                .where(db.members.c.group_id == gid, db.members.c.left_at.is_(None))
            ).scalar_one()
        return self._group_out(row, int(n))

    def create_invite(self, gid: str, *, days: int, uses: int) -> dict[str, Any]:
        """A new invite code for group ``gid``: ``days`` days, ``uses`` joins; its hash is kept."""
        code = secrets.token_urlsafe(12)
        now = self.now()
        with self.engine.begin() as conn:
            self._group(conn, gid)
            conn.execute(
                db.invites.insert().values(
                    code_hash=hash_secret(code),
                    group_id=gid,
                    created_at=now,
                    expires_at=now + days * 86_400,
                    uses_left=uses,
                )
            )
        expires = dt.datetime.fromtimestamp(now + days * 86_400, tz=dt.UTC)
        return {"code": code, "group_id": gid, "expires": expires, "uses": uses}

    # ---- members -----------------------------------------------------------------------

    def join(self, code: str) -> tuple[Member, str]:
        """Spend one use of the invite ``code``; a new pseudonymous member and their token."""
        now = self.now()
        with self.engine.begin() as conn:
            spent = conn.execute(
                db.invites.update()
                .where(
                    db.invites.c.code_hash == hash_secret(code),
                    db.invites.c.uses_left > 0,
                    db.invites.c.expires_at > now,
                )
                .values(uses_left=db.invites.c.uses_left - 1)
                .returning(db.invites.c.group_id)
            ).first()
            if spent is None:
                raise InviteInvalidError("invite code unknown, expired or used up")
            member = Member(id="m" + secrets.token_hex(8), group_id=spent[0], joined_at=now)
            token = "hm_" + secrets.token_urlsafe(32)
            conn.execute(
                db.members.insert().values(
                    id=member.id,
                    group_id=member.group_id,
                    token_hash=hash_secret(token),
                    joined_at=now,
                )
            )
        return member, token

    def member_for_token(self, token: str) -> Member | None:
        """The current (not left) member holding ``token``, or ``None``."""
        with self.engine.connect() as conn:
            return self._member(conn, token)

    def member_for_token_to_delete(self, token: str) -> Member | None:
        """The member holding ``token``, also one who stopped sharing (``left_at`` set).

        ``None`` when no member holds it. A member who stopped keeps the right to delete their
        contributions.
        """
        with self.engine.connect() as conn:
            row = conn.execute(_ANY_MEMBER_BY_TOKEN, {"token_hash": hash_secret(token)}).first()
        if row is None:
            return None
        return Member(row[0], row[1], int(row[2]), None if row[3] is None else int(row[3]))

    @staticmethod
    def _member(conn: Connection, token: str) -> Member | None:
        row = conn.execute(_MEMBER_BY_TOKEN, {"token_hash": hash_secret(token)}).first()
        return None if row is None else Member(row[0], row[1], int(row[2]))

    def first_counted_week(self, member: Member) -> Week:
        """The first week ``member`` counts in: the first that starts after they joined."""
        week = week_of_ts(member.joined_at)
        return week if week.start_ts == member.joined_at else week.next()

    def contribute(self, token: str, day: dt.date, values: Mapping[str, Any]) -> str:
        """Store (or replace: a retried push) the aggregates of one day of a member.

        ``day`` of the member holding ``token``, in one transaction with the token's check (the
        ingest path).

        Returns the label of the week the day counts in.

        Raises
        ------
        UnauthorizedError
            No current member holds ``token``.
        ContributionRefusedError
            ``before_membership`` when the day lies before the first whole week of membership
            (it would never be counted); ``period_closed`` when the day's week has closed.
        BadRequestError
            ``date_in_future`` for a day after tomorrow (UTC; a day ahead is allowed for
            time zones).
        """
        (outcome,) = self.contribute_many([(token, day, values)])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def contribute_many(
        self, items: Sequence[tuple[str, dt.date, Mapping[str, Any]]]
    ) -> list[str | Exception]:
        """:meth:`contribute` for several requests in one transaction (a group commit).

        Each item is ``(token, day, values)`` and gets its own outcome, in order: the week's
        label, or the error :meth:`contribute` would raise for it alone. The tokens are looked
        up in one query and the accepted days written in one ``executemany`` upsert; the same
        member and day twice in a batch is written once, the later values winning, as two
        requests one after the other would leave it. When the transaction itself fails
        (database unreachable, locked too long), every item not refused already gets that
        error and nothing of the batch is stored.
        """
        hashes = [hash_secret(token) for token, _, _ in items]
        outcomes: list[str | Exception] = []
        rows: dict[tuple[str, dt.date], dict[str, Any]] = {}
        try:
            with self.engine.begin() as conn:
                members = {
                    r[0]: Member(r[1], r[2], int(r[3]))
                    for r in conn.execute(_MEMBERS_BY_TOKENS, {"token_hashes": sorted(set(hashes))})
                }
                received_at = self.now()
                for token_hash, (_, day, values) in zip(hashes, items, strict=True):
                    member = members.get(token_hash)
                    if member is None:
                        outcomes.append(UnauthorizedError("missing or wrong member token"))
                        continue
                    try:
                        week = self._check_day(member, day)
                    except HubError as exc:
                        outcomes.append(exc)
                        continue
                    row = {m: values.get(m) for m in MEASURES}
                    row.update(
                        member_id=member.id,
                        day=day,
                        group_id=member.group_id,
                        received_at=received_at,
                    )
                    rows.pop((member.id, day), None)  # the later of two wins, as in order
                    rows[(member.id, day)] = row
                    outcomes.append(week.label)
                if rows:
                    conn.execute(_UPSERT[conn.dialect.name], list(rows.values()))
        except Exception as exc:  # the transaction failed: none of the batch was stored
            failed: list[str | Exception] = [
                o if isinstance(o, Exception) else exc for o in outcomes
            ]
            return failed + [exc] * (len(items) - len(failed))
        return outcomes

    def _check_day(self, member: Member, day: dt.date) -> Week:
        week = week_of(day)
        if day > self.today() + dt.timedelta(days=1):
            raise BadRequestError(f"date {day} is in the future", code="date_in_future")
        first = self.first_counted_week(member)
        if week < first:
            raise ContributionRefusedError(
                f"contributions count from the first whole week of membership, "
                f"{first.label} (from {first.start}); {day} is before it",
                code="before_membership",
            )
        if self.now() >= closes_at(week):
            raise ContributionRefusedError(
                f"the week {week.label} of {day} has closed; it is reported as it was",
                code="period_closed",
            )
        return week

    def leave(self, member: Member, *, delete: bool) -> int:
        """Stop ``member`` sharing (their token stops working).

        ``delete`` also removes their contributions and membership. Returns how many
        contributions were deleted.

        A member who already stopped (``left_at`` set) may only delete.
        """
        if member.left_at is not None and not delete:
            raise UnauthorizedError("this member stopped sharing; the token may only delete")
        with self.engine.begin() as conn:
            if not delete:
                conn.execute(
                    db.members.update()
                    .where(db.members.c.id == member.id)
                    .values(left_at=self.now())
                )
                return 0
            n = conn.execute(
                db.contributions.delete().where(db.contributions.c.member_id == member.id)
            ).rowcount
            conn.execute(db.members.delete().where(db.members.c.id == member.id))
        return int(n or 0)

    # ---- weekly cells ------------------------------------------------------------------

    def _roster(self, conn: Connection, gid: str, start_ts: int, end_ts: int) -> set[str]:
        """Members of ``gid`` for the whole span: joined by its start, not left before its end."""
        m = db.members.c
        q = sa.select(m.id).where(
            m.group_id == gid,
            m.joined_at <= start_ts,
            sa.or_(m.left_at.is_(None), m.left_at >= end_ts),
        )
        return {r[0] for r in conn.execute(q)}

    def _member_means(
        self, conn: Connection, gid: str, first: dt.date, end: dt.date, roster: set[str]
    ) -> dict[str, dict[str, float | None]]:
        """Each roster member's mean of each measure over days ``[first, end)`` (whole weeks).

        Only contributions received before their week closed count: one that passed the
        close-time check of :meth:`contribute` but was stored after the week was sealed is
        not a part of the week as reported (nor of an intervention's effect).
        """
        c = db.contributions.c
        weeks = weeks_between(first, end - dt.timedelta(days=1))
        on_time = sa.or_(
            *(sa.and_(c.day >= w.start, c.day < w.end, c.received_at < closes_at(w)) for w in weeks)
        )
        q = (
            sa.select(c.member_id, *(sa.func.avg(c[m]).label(m) for m in MEASURES))
            .where(c.group_id == gid, c.day >= first, c.day < end, on_time)
            .group_by(c.member_id)
        )
        out: dict[str, dict[str, float | None]] = {}
        for r in conn.execute(q).mappings():
            if r["member_id"] in roster:
                out[r["member_id"]] = {m: None if r[m] is None else float(r[m]) for m in MEASURES}
        return out

    def _weekly_member_means(
        self, conn: Connection, gid: str, weeks: list[Week]
    ) -> list[dict[str, dict[str, float | None]]]:
        """Each member's mean of each measure in each of ``weeks`` (consecutive).

        Over the contributions received before that week closed (as :meth:`_member_means`
        of each week alone, in one query grouped by member and week number; a row counts
        when received before its week closed). Members in id order.
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
        q = (
            sa.select(
                rows.c.member_id, rows.c.wn, *(sa.func.avg(rows.c[m]).label(m) for m in MEASURES)
            )
            .where(rows.c.received_at < closes)
            .group_by(rows.c.member_id, rows.c.wn)
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

    def seal_through(self, gid: str, last: Week) -> None:
        """Compute and store every closed, not yet stored week of ``gid`` up to ``last``.

        Sealing is serialised: in this process by a lock, across hub processes on PostgreSQL
        by an advisory lock per group; a week stored meanwhile by another process is kept.
        """
        now = self.now()
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
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:g))"), {"g": gid})
            else:  # SQLite: take the write lock first (a no-op write), then read
                conn.execute(
                    db.groups.update().where(db.groups.c.id == gid).values(k=db.groups.c.k)
                )
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

    def summary(self, gid: str, first: dt.date, last: dt.date) -> dict[str, Any]:
        """Weekly cells of ``gid`` for the whole weeks from ``first`` to ``last``."""
        weeks = weeks_between(first, last)
        if not weeks:
            raise BadRequestError("'to' is before 'from'", code="bad_range")
        if len(weeks) > MAX_SUMMARY_WEEKS:
            raise BadRequestError(
                f"at most {MAX_SUMMARY_WEEKS} weeks per summary, asked {len(weeks)}",
                code="range_too_long",
            )
        self.seal_through(gid, weeks[-1])
        with self.engine.connect() as conn:
            group = self._group(conn, gid)
            stored = {
                r["week"]: r
                for r in conn.execute(
                    sa.select(db.period_cells).where(
                        db.period_cells.c.group_id == gid,
                        db.period_cells.c.week >= weeks[0].start,
                        db.period_cells.c.week <= weeks[-1].start,
                    )
                ).mappings()
            }
        created = week_of_ts(group["created_at"])
        now = self.now()
        cells = []
        for w in weeks:
            cell: dict[str, Any] = {"period": w.label, "start": w.start, "end": w.end}
            row = stored.get(w.start)
            if row is not None:
                cell["status"] = "closed"
                cell["suppressed"] = bool(row["suppressed"])
                cell["reason"] = row["reason"]
                if row["body"] is not None:
                    cell.update(_without_small_medians(json.loads(row["body"])))
            elif w < created:
                cell.update(status="before_group", suppressed=True, reason="before_group")
            else:
                closes = dt.datetime.fromtimestamp(closes_at(w), tz=dt.UTC)
                assert now < closes_at(w), "a closed week is always stored"
                cell.update(status="open", suppressed=True, reason="open", closes=closes)
            cells.append(cell)
        return {
            "group_id": gid,
            "k": int(group["k"]),
            "by": "week",
            "from": weeks[0].start,
            "to": weeks[-1].end - dt.timedelta(days=1),
            "periods": cells,
        }

    # ---- interventions -----------------------------------------------------------------

    def create_intervention(
        self, gid: str, name: str, start: dt.date, end: dt.date, control: str | None
    ) -> dict[str, Any]:
        """Create an intervention of group ``gid`` from ``start`` to ``end`` (T0, T1 weeks)."""
        if end < start:
            raise BadRequestError("'end' is before 'start'", code="bad_range")
        if len(weeks_between(start, end)) > MAX_STUDY_WEEKS:
            raise BadRequestError(
                f"an intervention lasts at most {MAX_STUDY_WEEKS} weeks", code="range_too_long"
            )
        if control == gid:
            raise BadRequestError("the control group is the group itself", code="bad_control")
        iid = "i" + secrets.token_hex(8)
        with self.engine.begin() as conn:
            self._group(conn, gid)
            if control is not None:
                self._group(conn, control)
            conn.execute(
                db.interventions.insert().values(
                    id=iid,
                    group_id=gid,
                    name=name,
                    start=start,
                    end=end,
                    control_group_id=control,
                    created_at=self.now(),
                )
            )
        return self.get_intervention(iid)

    @staticmethod
    def periods_of(start: dt.date, end: dt.date) -> tuple[list[Week], list[Week]]:
        """T0 and T1 of an intervention: T1 its whole weeks, T0 as many weeks just before."""
        t1 = weeks_between(start, end)
        t0 = [Week(t1[0].start - dt.timedelta(days=7 * (len(t1) - i))) for i in range(len(t1))]
        return t0, t1

    def _intervention_out(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        t0, t1 = self.periods_of(row["start"], row["end"])
        return {
            "id": row["id"],
            "group_id": row["group_id"],
            "name": row["name"],
            "start": row["start"],
            "end": row["end"],
            "control_group": row["control_group_id"],
            "t0": {"from": t0[0].start, "to": t0[-1].end - dt.timedelta(days=1)},
            "t1": {"from": t1[0].start, "to": t1[-1].end - dt.timedelta(days=1)},
            "ready": self.now() >= closes_at(t1[-1]),
        }

    def get_intervention(self, iid: str) -> dict[str, Any]:
        """One intervention; :class:`NotFoundError` ``intervention_not_found``."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(db.interventions).where(db.interventions.c.id == iid))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no intervention {iid!r}", code="intervention_not_found")
        return self._intervention_out(row)

    def list_interventions(self, gid: str | None = None) -> list[dict[str, Any]]:
        """Interventions (of group ``gid`` if given), oldest first."""
        q = sa.select(db.interventions).order_by(db.interventions.c.created_at)
        if gid is not None:
            q = q.where(db.interventions.c.group_id == gid)
        with self.engine.connect() as conn:
            return [self._intervention_out(r) for r in conn.execute(q).mappings()]

    def _arm_pairs(
        self, conn: Connection, gid: str, t0: list[Week], t1: list[Week]
    ) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
        """Per measure: the members with a value in both periods, their T0 and T1 means."""
        roster = self._roster(conn, gid, t0[0].start_ts, t1[-1].end_ts)
        m0 = self._member_means(conn, gid, t0[0].start, t0[-1].end, roster)
        m1 = self._member_means(conn, gid, t1[0].start, t1[-1].end, roster)
        out: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        for m in MEASURES:
            ids = sorted(
                i for i in m0.keys() & m1.keys() if m0[i][m] is not None and m1[i][m] is not None
            )
            out[m] = (
                ids,
                np.array([m0[i][m] for i in ids], dtype=float),
                np.array([m1[i][m] for i in ids], dtype=float),
            )
        return out

    def _released_sets(
        self, conn: Connection, gid: str, weeks: list[Week], measure_bit: int, exclude: str
    ) -> list[set[str]]:
        """Member sets of released statistics over the same data.

        The group's cells of ``weeks`` (members with the measure) and its other effects
        overlapping them.
        """
        sets: list[set[str]] = []
        pm = db.period_members.c
        for w in weeks:
            rows = conn.execute(
                sa.select(pm.member_id, pm.mask).where(pm.group_id == gid, pm.week == w.start)
            ).all()
            if rows:
                sets.append({r[0] for r in rows if int(r[1]) & measure_bit})
        im = db.intervention_members.c
        iv = db.interventions.c
        others = conn.execute(
            sa.select(iv.id, iv.start, iv.end).where(iv.effect.is_not(None), iv.id != exclude)
        ).all()
        for oid, start, end in others:
            o0, o1 = self.periods_of(start, end)
            if o1[-1].end <= weeks[0].start or o0[0].start >= weeks[-1].end:
                continue  # no week in common: nothing to subtract
            rows = conn.execute(
                sa.select(im.member_id, im.mask).where(
                    im.intervention_id == oid, im.group_id == gid
                )
            ).all()
            if rows:
                sets.append({r[0] for r in rows if int(r[1]) & measure_bit})
        return sets

    def effect(self, iid: str) -> dict[str, Any]:
        """The intervention's effect, computed once when T1 has closed, then as stored.

        Raises
        ------
        PeriodOpenError
            T1 has not closed yet (the answer says when it will).
        """
        info = self.get_intervention(iid)
        t0, t1 = self.periods_of(info["start"], info["end"])
        if not info["ready"]:
            when = dt.datetime.fromtimestamp(closes_at(t1[-1]), tz=dt.UTC)
            raise PeriodOpenError(f"T1 closes at {when.isoformat()}; the effect is computed then")
        arms = [info["group_id"]] + ([info["control_group"]] if info["control_group"] else [])
        for gid in arms:  # the cells of T0 and T1 are released first, then compared with
            self.seal_through(gid, t1[-1])
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:i))"), {"i": iid})
            stored = conn.execute(
                sa.select(db.interventions.c.effect).where(db.interventions.c.id == iid)
            ).scalar_one()
            if stored is not None:
                return {**info, **json.loads(stored)}
            result = self._compute_effect(conn, iid, arms, t0 + t1)
            conn.execute(
                db.interventions.update()
                .where(db.interventions.c.id == iid)
                .values(effect=json.dumps(result))
            )
        return {**info, **result}

    def _compute_effect(
        self, conn: Connection, iid: str, arms: list[str], weeks: list[Week]
    ) -> dict[str, Any]:
        t0, t1 = weeks[: len(weeks) // 2], weeks[len(weeks) // 2 :]
        per_arm: list[dict[str, Any]] = []
        released: dict[str, dict[str, int]] = {}
        for gid in arms:
            k = int(self._group(conn, gid)["k"])
            pairs = self._arm_pairs(conn, gid, t0, t1)
            arm: dict[str, Any] = {}
            for i, m in enumerate(MEASURES):
                ids, x0, x1 = pairs[m]
                members = set(ids)
                if not enough(len(ids), k):
                    arm[m] = {"suppressed": True, "reason": "fewer_than_k"}
                    continue
                if not differs_safely(
                    members, self._released_sets(conn, gid, weeks, 1 << i, iid), k
                ):
                    arm[m] = {"suppressed": True, "reason": "differencing"}
                    continue
                r = paired_change(x0, x1)
                arm[m] = {"suppressed": False, "result": r}
                for mid in ids:
                    released.setdefault(gid, {}).setdefault(mid, 0)
                    released[gid][mid] |= 1 << i
            per_arm.append(arm)
        measures: dict[str, Any] = {}
        for m in MEASURES:
            entry: dict[str, Any] = {"group": _arm_json(per_arm[0][m])}
            if len(per_arm) > 1:
                entry["control"] = _arm_json(per_arm[1][m])
                a, b = per_arm[0][m], per_arm[1][m]
                if not a["suppressed"] and not b["suppressed"]:
                    did = diff_in_diff(a["result"], b["result"])
                    entry["diff_in_diff"] = {
                        "estimate": did.estimate,
                        "ci_low": did.ci_low,
                        "ci_high": did.ci_high,
                        "df": did.df,
                    }
                else:
                    entry["diff_in_diff"] = None
            measures[m] = entry
        for gid, masks in released.items():
            conn.execute(
                db.intervention_members.insert(),
                [
                    {"intervention_id": iid, "group_id": gid, "member_id": mid, "mask": mask}
                    for mid, mask in masks.items()
                ],
            )
        return {"computed_at": self.now(), "measures": measures}


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


def _without_small_medians(body: dict[str, Any]) -> dict[str, Any]:
    """A stored cell as released: no median over fewer than five values.

    Cells stored by a hub before that rule keep their values, but their small medians are not
    shown.
    """
    for stat in (body.get("measures") or {}).values():
        if stat.get("median") is not None and not median_releasable(int(stat.get("n") or 0)):
            stat["median"] = None
    return body


def _arm_json(arm: Mapping[str, Any]) -> dict[str, Any]:
    if arm["suppressed"]:
        return {"suppressed": True, "reason": arm["reason"]}
    r = arm["result"]
    return {
        "suppressed": False,
        "n": r.n,
        "mean_t0": r.mean_t0,
        "mean_t1": r.mean_t1,
        "mean_change": r.mean_change,
        "sd_change": r.sd_change,
        "ci_low": r.ci_low,
        "ci_high": r.ci_high,
        "d_z": r.d_z,
    }
