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
from hub.store.members import INVITE_ID_LEN, invite_id, withdrawable

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
        revoked one after them (``revoked``, no times) while members who joined with it may
        still be withdrawn.
        """
        i = db.invites.c
        mi = db.member_invites.c
        with self.engine.connect() as conn:
            self._group(conn, gid)
            rows = conn.execute(
                sa.select(i.code_hash, i.created_at, i.expires_at, i.uses_left)
                .where(i.group_id == gid)
                .order_by(i.created_at.desc(), i.code_hash)
            ).all()
            linked = conn.execute(
                sa.select(mi.invite_id, mi.joined_at).where(mi.group_id == gid)
            ).all()
        now = self.now()
        listed = {invite_id(code_hash) for code_hash, *_ in rows}
        # a revoked invite whose members may still be withdrawn: listed, so it can be
        revoked = sorted(
            {iid for iid, joined_at in linked if withdrawable(int(joined_at), now)} - listed
        )

        def utc(ts: int) -> dt.datetime:
            return dt.datetime.fromtimestamp(ts, tz=dt.UTC)

        return [
            {
                "id": invite_id(code_hash),
                "group_id": gid,
                "created": utc(created),
                "expires": utc(expires),
                "uses_left": int(uses_left),
                "status": "expired"
                if expires <= now
                else "used_up"
                if uses_left <= 0
                else "active",
            }
            for code_hash, created, expires, uses_left in rows
        ] + [
            {
                "id": iid,
                "group_id": gid,
                "created": None,
                "expires": None,
                "uses_left": 0,
                "status": "revoked",
            }
            for iid in revoked
        ]

    def revoke_invite(self, gid: str, iid: str) -> None:
        """Forget the invite ``iid`` of group ``gid``: its code lets no one join any more.

        Members who joined with it stay members: an admin can neither list members nor remove
        one (a roster an admin could shrink or watch would single people out); withdrawing
        the invite (:meth:`hub.store.members.MemberStore.withdraw_invite`) also removes those
        of its members who have not yet counted.
        :class:`NotFoundError` ``invite_not_found`` when the group has no such invite.
        """
        if len(iid) != INVITE_ID_LEN or any(c not in "0123456789abcdef" for c in iid):
            raise NotFoundError(f"no invite {iid!r}", code="invite_not_found")
        with self.engine.begin() as conn:
            self._group(conn, gid)
            n = conn.execute(
                db.invites.delete().where(
                    db.invites.c.group_id == gid, db.invites.c.code_hash.startswith(iid)
                )
            ).rowcount
        if not n:
            raise NotFoundError(f"no invite {iid!r} in this group", code="invite_not_found")
