"""Groups and their invite codes."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from hub import db
from hub.errors import NotFoundError
from hub.store.base import StoreBase, hash_secret
from hub.store.members import INVITE_ID_LEN, counted_by, invite_id, invite_withdrawable

__all__ = ["INVITE_ID_LEN", "GroupStore", "invite_id"]


class GroupStore(StoreBase):
    """Groups (with their k) and invite codes."""

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

    def _counted(self) -> sa.ColumnElement[bool]:
        """The members an admin's member count counts: sharing, and counted in a closed week.

        Only those whose first counted week has closed (``not withdrawable(joined_at, now)``):
        a withdrawal removes no one of them, so the count is the same before and after it
        (review: with a one-person invite, the count falling at a withdrawal told that the
        person was still sharing). Someone who joined shows from their first week's close on.
        """
        m = db.members.c
        return sa.and_(m.left_at.is_(None), m.joined_at <= counted_by(self.now()))

    def list_groups(self) -> list[dict[str, Any]]:
        """Every group with its member count (:meth:`_counted`)."""
        count = (
            sa.select(db.members.c.group_id, sa.func.count().label("n"))
            .where(self._counted())
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

    def list_invites(self, gid: str) -> list[dict[str, Any]]:
        """The invites of group ``gid``, newest first: id, when made, expiry, uses left.

        Expired and used-up invites are listed too (their status says so) until revoked; a
        revoked one (``revoked``, no times) while it may still be withdrawn: until the first
        counted week of its last join has closed (:func:`invite_withdrawable`), whatever its
        members did since.
        """
        i = db.invites.c
        with self.engine.connect() as conn:
            self._group(conn, gid)
            rows = conn.execute(
                sa.select(
                    i.code_hash,
                    i.created_at,
                    i.expires_at,
                    i.uses_left,
                    i.revoked_at,
                    i.last_joined_at,
                )
                .where(i.group_id == gid)
                .order_by(i.revoked_at.is_not(None), i.created_at.desc(), i.code_hash)
            ).all()
        now = self.now()

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
            for code_hash, created, expires, uses_left, revoked_at, last_joined_at in rows
            if revoked_at is None or invite_withdrawable(last_joined_at, now)
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
        if len(iid) != INVITE_ID_LEN or any(c not in "0123456789abcdef" for c in iid):
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
