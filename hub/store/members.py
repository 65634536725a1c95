"""Members: joining with an invite code, their tokens, leaving (and deleting)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub import db
from hub.errors import AlreadyStoppedError, InviteInvalidError
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

    def leave(self, member: Member, *, delete: bool) -> int:
        """Stop ``member`` sharing (their token stops working).

        ``delete`` also removes their contributions and membership. Returns how many
        contributions were deleted.

        A member who already stopped (``left_at`` set) may only delete
        (:class:`AlreadyStoppedError`, 409, otherwise: not 401, as the token still deletes).
        """
        if member.left_at is not None and not delete:
            raise AlreadyStoppedError(
                "this member stopped sharing; the token still deletes their days: "
                "DELETE /hub/v1/me?delete=true"
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
