"""Ingest: a member's daily aggregates, one request or a group commit of several."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hub import db
from hub.db import MEASURES
from hub.errors import (
    BadRequestError,
    ContributionRefusedError,
    HubError,
    UnauthorizedError,
)
from hub.periods import Week, closes_at, week_of
from hub.store.base import Member, hash_secret
from hub.store.members import MemberStore

__all__ = ["ContributionStore"]

#: The current members holding any of a batch's token hashes (the group-commit ingest path);
#: on PostgreSQL their rows locked ``FOR SHARE`` in id order until the batch commits (a
#: withdrawal or deletion, which deletes members in id order, waits: :meth:`_lock_writes`).
_MEMBERS_BY_TOKENS = (
    sa.select(
        db.members.c.token_hash, db.members.c.id, db.members.c.group_id, db.members.c.joined_at
    )
    .where(
        db.members.c.token_hash.in_(sa.bindparam("token_hashes", expanding=True)),
        db.members.c.left_at.is_(None),
    )
    .order_by(db.members.c.id)
    .with_for_update(read=True)
)
#: SQLite's write lock, taken by a write that changes nothing (the one row of schema_version).
_SQLITE_WRITE_LOCK = db.schema_version.update().values(version=db.schema_version.c.version)


def _sealed_through(conn: sa.Connection, group_ids: set[str]) -> dict[str, dt.date]:
    """The last week (its Monday) with computed cells, of each of ``group_ids`` that has one."""
    if not group_ids:
        return {}
    pc = db.period_cells.c
    rows = conn.execute(
        sa.select(pc.group_id, sa.func.max(pc.week))
        .where(pc.group_id.in_(sorted(group_ids)))
        .group_by(pc.group_id)
    )
    return {str(r[0]): r[1] for r in rows if r[1] is not None}


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


class ContributionStore(MemberStore):
    """Contributions: checked against the member's weeks, upserted in one transaction."""

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
            ``date_in_future`` for a day no time zone has finished
            (:meth:`latest_finished_day`).
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
                self._lock_writes(conn)
                members = {
                    r[0]: Member(r[1], r[2], int(r[3]))
                    for r in conn.execute(_MEMBERS_BY_TOKENS, {"token_hashes": sorted(set(hashes))})
                }
                received_at = self.now()
                # weeks whose cells are computed, read in this transaction: a day checked open
                # just before its week closed must not land after its cell was computed (the
                # cell would leave it out, an effect's weekly means would not)
                sealed = _sealed_through(conn, {m.group_id for m in members.values()})
                for token_hash, (_, day, values) in zip(hashes, items, strict=True):
                    member = members.get(token_hash)
                    if member is None:
                        outcomes.append(UnauthorizedError("missing or wrong member token"))
                        continue
                    try:
                        week = self._check_day(member, day)
                        last = sealed.get(member.group_id)
                        if last is not None and week.start <= last:
                            raise ContributionRefusedError(
                                f"the week {week.label} is closed and its summary computed",
                                code="period_closed",
                            )
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

    @staticmethod
    def _lock_writes(conn: sa.Connection) -> None:
        """Hold off, until ``conn`` commits, whatever removes a member whose token it checks.

        A withdrawal or ``DELETE /me`` committed between ingest's token check and its upsert
        left a contribution of no member that nothing could delete (code review). SQLite: the
        write lock, taken before the check (a deferred transaction would check outside it).
        PostgreSQL: the members' rows, locked ``FOR SHARE`` by the check itself; the removals
        delete members before their contributions (:meth:`_delete_members`), so they wait for
        the upsert and then delete its rows, or remove the member before the check sees them.
        """
        if conn.dialect.name == "sqlite":
            conn.execute(_SQLITE_WRITE_LOCK)

    def latest_finished_day(self) -> dt.date:
        """The latest day some time zone has finished: the day before today in UTC+14.

        The last zone to start a day, UTC+14, finishes day D at D 10:00 UTC; a member's
        service sends finished days only, so a later date comes from a wrong clock. (It was
        "tomorrow in UTC", a day no zone on Earth has finished: outside review.)
        """
        now = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC) + dt.timedelta(hours=14)
        return now.date() - dt.timedelta(days=1)

    def _check_day(self, member: Member, day: dt.date) -> Week:
        week = week_of(day)
        latest = self.latest_finished_day()
        if day > latest:
            raise BadRequestError(
                f"date {day} is in the future: no time zone has finished it yet (the latest "
                f"finished day is {latest}, in UTC+14); check this machine's clock",
                code="date_in_future",
            )
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
