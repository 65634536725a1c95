"""Groups and their invite codes."""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub import db
from hub.errors import GroupExistsError, NotFoundError
from hub.models import IGNORED_IN_NAMES
from hub.store.base import StoreBase, hash_secret
from hub.store.members import (
    INVITE_ID_LEN,
    counted_by,
    invite_id,
    invite_withdrawable,
    is_invite_id,
)

__all__ = [
    "INVITE_ID_LEN",
    "GroupStore",
    "group_name_key",
    "invite_id",
    "is_group_id",
    "is_invite_id",
]


def is_group_id(s: str) -> bool:
    """Whether ``s`` has a group id's shape: ``g`` and 16 lowercase hex digits.

    As :meth:`GroupStore.create_group` makes them (so no character a database could refuse).
    """
    return len(s) == 17 and s[0] == "g" and all(c in "0123456789abcdef" for c in s[1:])


def normal_name(name: str) -> str:
    """A name as stored: without the spaces around it, each run of inner spaces one space.

    As the API's models leave it (``hub.models._trimmed``), for callers of the store too.
    """
    return " ".join(name.split())


def group_name_key(name: str) -> str:
    """What two group names are compared by: spaces as :func:`normal_name`, ignoring case.

    ``"Sales"``, ``"sales"`` and ``" SALES "`` are one name, and so are ``"Sales north"``
    and ``"Sales  north"`` (admin review: both could exist and dashboards confused them; two
    spaces show as one). Unicode case folding on the NFKC form, so ``"Straße"`` is
    ``"STRASSE"`` and a composed ``"é"`` the decomposed one, on either database (SQL's
    ``lower()`` folds ASCII only in SQLite). The name shown is the one the admin gave (its
    spaces so). The zero-width joiners and the variation selectors
    (:data:`hub.models.IGNORED_IN_NAMES`) are left out: invisible, a name may have them where
    they join or select (``"\u2764\ufe0f Team"``), and with them it looks like the name
    without (``"Sales\ufe00"`` is ``"Sales"``).
    """
    seen = "".join(c for c in name if c not in IGNORED_IN_NAMES)  # invisible: not in the key
    folded = unicodedata.normalize("NFKC", normal_name(seen)).casefold()
    return normal_name(unicodedata.normalize("NFKC", folded))


class GroupStore(StoreBase):
    """Groups (with their k) and invite codes."""

    @staticmethod
    def _lock_names(conn: Connection) -> None:
        """One creator or renamer at a time, for the rest of ``conn``'s transaction.

        So two giving one name cannot both pass :meth:`_name_holder`.
        """
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(8173018)"))
        else:  # SQLite: take the write lock before reading
            conn.execute(db.schema_version.update().values(version=db.schema_version.c.version))

    @staticmethod
    def _name_holder(conn: Connection, name: str, but: str | None = None) -> tuple[str, str] | None:
        """The (id, name) of the oldest group but ``but`` whose name is ``name``.

        Compared by :func:`group_name_key`.

        Read in Python over every group's name (an organisation's groups: hundreds), so a
        database holding two names that differ only in case, made before names were compared
        so, opens and works as before (no unique index that it would fail); neither of them
        can be given to a third group.
        """
        key = group_name_key(name)
        g = db.groups.c
        for row in conn.execute(sa.select(g.id, g.name).order_by(g.created_at, g.id)):
            if row.id != but and group_name_key(row.name) == key:
                return row.id, row.name
        return None

    @staticmethod
    def _name_taken(name: str, holder: tuple[str, str]) -> GroupExistsError:
        gid, held = holder
        return GroupExistsError(
            f"a group named {held!r} exists already ({gid}); names are compared "
            f"ignoring case and spaces: choose another name than {name!r}",
            code="group_exists",
        )

    def create_group(self, name: str, k: int) -> dict[str, Any]:
        """Create a group with its k; returns it as :class:`hub.models.Group` reads it.

        Its id begins with the microsecond of its second it was made in (5 hex digits, then 11
        random ones), so groups made in one second list in the order made (the list sorts by
        second, then id; ids were all random, and 150 groups made by a script came in random
        order). The name is kept as given, spaces as :func:`normal_name`.
        :class:`GroupExistsError` (409 ``group_exists``) when a group has that name, ignoring
        case and those spaces (:func:`group_name_key`): a retried script made a second one,
        told apart only by its id, and ``"Sales"`` beside ``"sales"`` confused dashboards.
        """
        name = normal_name(name)
        t = self.clock()
        micro = min(int((t - int(t)) * 1_000_000), 0xFFFFF)
        gid = f"g{micro:05x}{secrets.token_hex(6)[:11]}"
        row = {"id": gid, "name": name, "k": k, "created_at": int(t)}
        with self.engine.begin() as conn:
            self._lock_names(conn)
            taken = self._name_holder(conn, name)
            if taken is not None:
                raise self._name_taken(name, taken)
            conn.execute(db.groups.insert().values(**row))
        return self._group_out(row, 0)

    def rename_group(
        self, gid: str, name: str, check: Callable[[str], str] | None = None
    ) -> dict[str, Any]:
        """Give group ``gid`` the name ``name`` (as given, trimmed); returns it as get_group.

        Only the name changes: its id, k, members, invites, released weeks and the
        interventions naming it stay, all keyed by the id. 404 ``group_not_found``; 409
        ``group_exists`` when another group has the name by :func:`group_name_key` (the group's
        own name in another case or spacing is a rename). Its own name unchanged (as stored)
        is a no-op that succeeds, also on a database holding another group with that name in
        another case (made before names were compared so): it was 409 naming that group,
        though nothing changed (review; an idempotent script sends it). ``check`` (the
        route's: :func:`hub.models.valid_name`) checks the name as given, and gives it as
        stored, only when it is not the group's own: a name stored before a rule that now
        refuses it is still a no-op (review rev12: it was 422).
        """
        given, name = name, normal_name(name)
        with self.engine.begin() as conn:
            self._lock_names(conn)
            if self._group(conn, gid)["name"] != name:  # its own name exactly: nothing to do
                if check is not None:
                    name = check(given)
                taken = self._name_holder(conn, name, but=gid)
                if taken is not None:
                    raise self._name_taken(name, taken)
                conn.execute(db.groups.update().where(db.groups.c.id == gid).values(name=name))
        return self.get_group(gid)

    def _group_out(self, row: Mapping[Any, Any], n_members: int) -> dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "k": row["k"],
            "created": dt.datetime.fromtimestamp(row["created_at"], tz=dt.UTC).date(),
            "members": n_members,
        }

    def _counted(self) -> sa.ColumnElement[bool]:
        """The members an admin's member count counts: sharing, and counted in a closed week.

        Only those whose first counted week has closed (``not withdrawable(joined_at, now)``):
        a withdrawal removes no one of them, so the count is the same before and after it
        (review: with a one-person invite, the count falling at a withdrawal told that the
        person was still sharing). Someone who joined shows from their first week's close on.
        """
        m = db.members.c
        return sa.and_(m.left_at.is_(None), m.joined_at <= counted_by(self.now()))

    def list_groups(
        self, *, limit: int | None = None, after: str | None = None
    ) -> list[dict[str, Any]]:
        """The groups, oldest first, each with its member count (:meth:`_counted`).

        ``limit`` groups at most, those after the group ``after`` (an id, from a previous
        page): keyset paging, so every group there throughout a walk is listed once; one
        created meanwhile is listed at most once (on a later page unless made in the second of
        the last one shown with a smaller id). Groups are never deleted, so ``after`` is always
        found: :class:`BadRequestError` for an ``after`` that is no group.
        """
        g = db.groups.c
        count = (
            sa.select(db.members.c.group_id, sa.func.count().label("n"))
            .where(self._counted())
            .group_by(db.members.c.group_id)
            .subquery()
        )
        q = (
            sa.select(db.groups, sa.func.coalesce(count.c.n, 0).label("n"))
            .outerjoin(count, count.c.group_id == g.id)
            .order_by(g.created_at, g.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            if after is not None:
                q = q.where(self._after(conn, db.groups, after, "group"))
            return [self._group_out(r, int(r["n"])) for r in conn.execute(q).mappings()]

    def get_group(self, gid: str) -> dict[str, Any]:
        """One group with its member count (:meth:`_counted`); 404 ``group_not_found``."""
        with self.engine.connect() as conn:
            row = self._group(conn, gid)
            n = conn.execute(
                sa.select(sa.func.count())
                .select_from(db.members)
                .where(db.members.c.group_id == gid, self._counted())
            ).scalar_one()
        return self._group_out(row, int(n))

    def create_invite(self, gid: str, *, days: int, uses: int) -> dict[str, Any]:
        """A new invite code for group ``gid``: ``days`` days, ``uses`` joins; its hash is kept."""
        code = secrets.token_urlsafe(12)
        code_hash = hash_secret(code)
        now = self.now()
        with self.engine.begin() as conn:
            self._group(conn, gid)
            conn.execute(
                db.invites.insert().values(
                    code_hash=code_hash,
                    group_id=gid,
                    created_at=now,
                    expires_at=now + days * 86_400,
                    uses_left=uses,
                )
            )
        expires = dt.datetime.fromtimestamp(now + days * 86_400, tz=dt.UTC)
        return {
            "code": code,
            "id": invite_id(code_hash),
            "group_id": gid,
            "expires": expires,
            "uses": uses,
        }

    def list_invites(
        self,
        gid: str,
        *,
        limit: int | None = None,
        after: tuple[int | None, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The invites of group ``gid``, newest first: id, when made, expiry, uses left.

        Expired and used-up invites are listed too (their status says so) until revoked; a
        revoked one (``revoked``, no times) while it may still be withdrawn: until the first
        counted week of its last join has closed (:func:`invite_withdrawable`), whatever its
        members did since. Revoked ones come last, in id order (their times are not shown).

        ``limit`` invites at most, those after ``after``: the ``(created_at, id)`` of the
        last invite of the previous page, ``(None, id)`` for a revoked one (keyset paging on
        what the page showed and nothing else: every invite there and not revoked throughout
        a walk is listed once; one made meanwhile at most once, only if made in the second of
        the last one shown with a larger id). ``after`` is not looked up: the invite it names
        may have been revoked and forgotten since; any such pair is a position.
        """
        i = db.invites.c
        now = self.now()
        short_id = sa.func.substr(i.code_hash, 1, INVITE_ID_LEN)
        revoked = i.revoked_at.is_not(None)
        q = (
            sa.select(
                i.code_hash,
                i.created_at,
                i.expires_at,
                i.uses_left,
                i.revoked_at,
            )
            .where(
                i.group_id == gid,
                # invite_withdrawable, in SQL: the page's limit counts listed invites only
                sa.or_(i.revoked_at.is_(None), i.last_joined_at > counted_by(now)),
            )
            .order_by(
                revoked,
                sa.case((revoked, sa.null()), else_=i.created_at).desc(),
                short_id,
            )
            .limit(limit)
        )
        if after is not None:
            created, last_id = after
            if created is None:  # after a revoked one: the revoked ones after it
                q = q.where(revoked, short_id > last_id)
            else:
                q = q.where(
                    sa.or_(
                        revoked,
                        i.created_at < created,
                        sa.and_(i.created_at == created, short_id > last_id),
                    )
                )
        with self.engine.connect() as conn:
            self._group(conn, gid)
            rows = conn.execute(q).all()

        def utc(ts: int) -> dt.datetime:
            return dt.datetime.fromtimestamp(ts, tz=dt.UTC)

        def status(expires: int, uses_left: int) -> str:
            return "expired" if expires <= now else "used_up" if uses_left <= 0 else "active"

        return [
            {
                "id": invite_id(code_hash),
                "group_id": gid,
                "created": None if revoked_at is not None else utc(created),
                "expires": None if revoked_at is not None else utc(expires),
                "uses_left": 0 if revoked_at is not None else int(uses_left),
                "status": "revoked" if revoked_at is not None else status(expires, uses_left),
            }
            for code_hash, created, expires, uses_left, revoked_at in rows
        ]

    def revoke_invite(self, gid: str, iid: str) -> None:
        """Revoke the invite ``iid`` of group ``gid``: its code lets no one join any more.

        Members who joined with it stay members: an admin can neither list members nor remove
        one (a roster an admin could shrink or watch would single people out); withdrawing
        the invite (:meth:`hub.store.members.MemberStore.withdraw_invite`) also removes those
        of its members who have not yet counted. The revoked invite is kept (listed as
        revoked) while it may be withdrawn (:func:`invite_withdrawable`), forgotten at once
        otherwise. :class:`NotFoundError` ``invite_not_found`` when the group has no such
        invite not yet revoked.
        """
        if not is_invite_id(iid):
            raise NotFoundError(f"no invite {iid!r}", code="invite_not_found")
        now = self.now()
        i = db.invites.c
        with self.engine.begin() as conn:
            self._group(conn, gid)
            mine = sa.and_(i.group_id == gid, i.code_hash.startswith(iid), i.revoked_at.is_(None))
            row = conn.execute(sa.select(i.last_joined_at).where(mine)).first()
            if row is None:
                raise NotFoundError(f"no invite {iid!r} in this group", code="invite_not_found")
            if invite_withdrawable(row.last_joined_at, now):
                conn.execute(db.invites.update().where(mine).values(revoked_at=now))
            else:
                conn.execute(db.invites.delete().where(mine))
