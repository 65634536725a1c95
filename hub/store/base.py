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
from hub.errors import NotFoundError

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
