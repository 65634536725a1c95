"""Members: joining with an invite code, their tokens, leaving (and deleting)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub import db
from hub.errors import (
    AlreadyStoppedError,
    InviteInvalidError,
    NotFoundError,
)
from hub.periods import Week, week_of_ts
from hub.store.base import Member, StoreBase, hash_secret

__all__ = ["MemberStore"]

#: The ingest path's statements, built once (building them per request cost ~1 ms).
_MEMBER_BY_TOKEN = sa.select(db.members.c.id, db.members.c.group_id, db.members.c.joined_at).where(
    db.members.c.token_hash == sa.bindparam("token_hash"), db.members.c.left_at.is_(None)
)
#: The same, also for a member who stopped sharing (who may still delete their contributions).
_ANY_MEMBER_BY_TOKEN = sa.select(
    db.members.c.id, db.members.c.group_id, db.members.c.joined_at, db.members.c.left_at
).where(db.members.c.token_hash == sa.bindparam("token_hash"))


class MemberStore(StoreBase):
    """Pseudonymous members: join, token look-up, leave."""

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

    def list_members(self, gid: str) -> list[dict[str, object]]:
        """The current members of group ``gid`` (joined, not stopped), by first counted week.

        Only what the group's member counts already tell, per random id: the Monday each
        counts from. No join time to the second, no data, nothing about who stopped.
        """
        m = db.members.c
        with self.engine.connect() as conn:
            self._group(conn, gid)
            rows = conn.execute(
                sa.select(m.id, m.joined_at)
                .where(m.group_id == gid, m.left_at.is_(None))
                .order_by(m.joined_at, m.id)
            ).all()
        return [
            {
                "id": mid,
                "group_id": gid,
                "counts_from": self.first_counted_week(Member(mid, gid, int(joined))).start,
            }
            for mid, joined in rows
        ]

    def remove_member(self, gid: str, mid: str) -> None:
        """The admin's removal of member ``mid`` of group ``gid``: they stop, as if they had.

        The same as the member's own ``DELETE /me?delete=false``: their token works for
        nothing but deleting their contributions, they count in no week that has not ended by
        now, and the weeks already computed stay as they were. Their days are not deleted by
        the admin: that stays the person's own call. :class:`NotFoundError`
        ``member_not_found`` when the group has no such current member.
        """
        with self.engine.begin() as conn:
            self._group(conn, gid)
            n = conn.execute(
                db.members.update()
                .where(
                    db.members.c.id == mid,
                    db.members.c.group_id == gid,
                    db.members.c.left_at.is_(None),
                )
                .values(left_at=self.now())
            ).rowcount
        if not n:
            raise NotFoundError(f"no current member {mid!r} in this group", code="member_not_found")

    def leave(self, member: Member, *, delete: bool) -> int:
        """Stop ``member`` sharing (their token stops working).

        ``delete`` also removes their contributions and membership. Returns how many
        contributions were deleted.

        A member who already stopped (``left_at`` set) may only delete
        (:class:`AlreadyStoppedError`, 409, otherwise: not 401, as the token still deletes).
        """
        if member.left_at is not None and not delete:
            raise AlreadyStoppedError(
                "this member stopped sharing (or was removed by the hub's admin); the token "
                "still deletes their days: DELETE /hub/v1/me?delete=true"
            )
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
