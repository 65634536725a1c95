"""What every part of the hub's store shares: the engine, the clock, a member, a group's row."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hub import db
from hub.errors import BadRequestError, NotFoundError

__all__ = ["Clock", "Member", "StoreBase", "hash_secret"]

Clock = Callable[[], float]


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a token or invite code: the hub stores no secret in clear."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Member:
    """A member as the hub knows them: a random id, a group, when they joined."""

    id: str
    group_id: str
    joined_at: int
    #: When they stopped sharing (``None``: they share); a stopped member may only delete.
    left_at: int | None = None


class StoreBase:
    """The engine and clock every part of :class:`hub.store.HubStore` works on."""

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

    def _group(self, conn: Connection, gid: str) -> Mapping[Any, Any]:
        row = conn.execute(sa.select(db.groups).where(db.groups.c.id == gid)).mappings().first()
        if row is None:
            raise NotFoundError(f"no group {gid!r}", code="group_not_found")
        return row

    @staticmethod
    def _after(conn: Connection, table: sa.Table, after: str, what: str) -> sa.ColumnElement[bool]:
        """The rows of ``table`` after the row ``after`` in (``created_at``, ``id``) order.

        Keyset paging of a list of rows never deleted (groups, interventions), so ``after``
        (the last id of a previous page) is always found: :class:`BadRequestError` naming
        ``after`` for an id that is no ``what``. Every row there throughout a walk is listed
        once; one created meanwhile at most once (on a later page unless made in the second of
        the last one shown with a smaller id).
        """
        c = table.c
        key = conn.execute(sa.select(c.created_at).where(c.id == after)).first()
        if key is None:
            raise BadRequestError(
                f"after: no such {what}; take the next page's address from the previous "
                "page's Link header"
            )
        return sa.or_(
            c.created_at > key.created_at,
            sa.and_(c.created_at == key.created_at, c.id > after),
        )

    @staticmethod
    def _lock_group(conn: Connection, gid: str) -> None:
        """Take the per-group lock sealing holds, for the rest of ``conn``'s transaction.

        PostgreSQL: an advisory lock on the group's id; SQLite: the write lock (a no-op write
        to the group), taken first so what is read after it is what sealing left. Sealing
        (:meth:`hub.store.sealing.SealingStore._seal_through`) and a withdrawal
        (:meth:`hub.store.members.MemberStore.withdraw_invite`) take it.
        """
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:g))"), {"g": gid})
        else:
            conn.execute(db.groups.update().where(db.groups.c.id == gid).values(k=db.groups.c.k))
