"""Members: joining with an invite code, their tokens, leaving (and deleting)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub import db
from hub.errors import AlreadyStoppedError, InviteInvalidError, NotFoundError
from hub.periods import Week, closes_at, week_of_ts
from hub.store.base import Member, StoreBase, hash_secret

#: An invite's id: the first hex digits of its code's SHA-256 (the code itself is never kept).
INVITE_ID_LEN = 12


def invite_id(code_hash: str) -> str:
    """The id an admin sees for the invite whose code hashes to ``code_hash``."""
    return code_hash[:INVITE_ID_LEN]


def is_invite_id(s: str) -> bool:
    """Whether ``s`` has an invite id's shape: :data:`INVITE_ID_LEN` lowercase hex digits."""
    return len(s) == INVITE_ID_LEN and all(c in "0123456789abcdef" for c in s)


def first_counted_week(joined_at: int) -> Week:
    """The first week a member who joined at ``joined_at`` counts in.

    The first week that starts after they joined (or at that instant).
    """
    week = week_of_ts(joined_at)
    return week if week.start_ts == joined_at else week.next()


def withdrawable(joined_at: int, now: int) -> bool:
    """Whether a member who joined at ``joined_at`` may still be withdrawn with their invite.

    Until their first counted week has closed, so no cell computed over them was released.
    """
    return now < closes_at(first_counted_week(joined_at))


def counted_by(now: int) -> int:
    """The latest join time whose member has counted in a closed week, as of ``now``.

    The start of the latest week closed by ``now``: a member who joined at or before it has
    a closed first counted week (``not withdrawable(joined_at, now)``), one who joined after
    it has not.
    """
    week = week_of_ts(now)
    while now < closes_at(week):
        week = week.previous()
    return week.start_ts


def invite_withdrawable(last_joined_at: int | None, now: int) -> bool:
    """Whether withdrawing an invite last joined with at ``last_joined_at`` may remove anyone.

    Until the first counted week of its last join has closed (``False`` if no one joined with
    it). It depends on the invite alone: a revoked invite is listed and withdrawable until
    then whatever its members did since (stopped sharing, deleted their days).
    """
    return last_joined_at is not None and withdrawable(int(last_joined_at), now)


__all__ = [
    "INVITE_ID_LEN",
    "MemberStore",
    "counted_by",
    "first_counted_week",
    "invite_id",
    "invite_withdrawable",
    "is_invite_id",
    "withdrawable",
]

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
        code_hash = hash_secret(code)
        with self.engine.begin() as conn:
            spent = conn.execute(
                db.invites.update()
                .where(
                    db.invites.c.code_hash == code_hash,
                    db.invites.c.uses_left > 0,
                    db.invites.c.expires_at > now,
                    db.invites.c.revoked_at.is_(None),
                )
                .values(uses_left=db.invites.c.uses_left - 1, last_joined_at=now)
                .returning(db.invites.c.group_id)
            ).first()
            if spent is None:
                raise InviteInvalidError(
                    "invite code unknown, expired or used up; ask your hub's admin for a new code"
                )
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
            conn.execute(  # kept while the invite's members may be withdrawn (withdraw_invite)
                db.member_invites.insert().values(
                    member_id=member.id,
                    group_id=member.group_id,
                    invite_id=invite_id(code_hash),
                    joined_at=now,
                )
            )
            # also without the background job (SEAL_EVERY_S=0); in this transaction, which
            # holds the write lock already: after it, a failure (SQLite's "database is
            # locked") answered 500 to a join that had spent a use and made the member
            self._forget_invite_links(conn, now)
        return member, token

    def withdraw_invite(self, gid: str, iid: str) -> dict[str, object]:
        """Revoke the invite ``iid`` of group ``gid``, remove its members not yet counted.

        Removed: the members who joined with it and have not yet counted in a closed week (a
        leaked code's members), also those who stopped sharing.

        A member is removed as by their own ``DELETE /me?delete=true``: membership and
        contributions erased, the token unknown from then on. Only members whose first counted
        week has not closed (:func:`withdrawable`) nor been sealed (read under sealing's
        lock, :meth:`~hub.store.base.StoreBase._lock_group`) are removed, so no released
        cell was ever computed over a removed member and a removal is the same as their
        never having joined; members counted in a closed week stay (README, "Invites and members").
        The withdrawn invite is forgotten, as are the invite links no longer needed
        (:meth:`forget_invite_links`).

        The answer depends on the invite alone, never on what its members did: no count of
        those removed (of a one-person invite it would tell whether that person had stopped
        sharing or deleted their days).

        :class:`NotFoundError` ``invite_not_found`` when the group has no such invite: never
        made, withdrawn, or revoked and no longer withdrawable (:func:`invite_withdrawable`;
        ``group_not_found`` without the group).
        """
        if not is_invite_id(iid):
            raise NotFoundError(f"no invite {iid!r}", code="invite_not_found")
        mi = db.member_invites.c
        inv = db.invites.c
        with self.engine.begin() as conn:
            # sealing's lock, and the time read after it: a week sealed meanwhile is seen
            # below, and no week is sealed over members this withdrawal removes (review: the
            # time read before, a cell could be released over members removed just after)
            self._lock_group(conn, gid)
            now = self.now()
            self._group(conn, gid)
            # links no longer withdrawable first, as a join forgets them: both then take old
            # links before this invite's (code review: forgetting after its own deletes, a
            # withdrawal and a join deadlocked on PostgreSQL, each holding a link the other
            # wanted)
            self._forget_invite_links(conn, now)
            sealed = conn.execute(
                sa.select(sa.func.max(db.period_cells.c.week)).where(
                    db.period_cells.c.group_id == gid
                )
            ).scalar_one()
            found = conn.execute(
                sa.select(inv.revoked_at, inv.last_joined_at).where(
                    inv.group_id == gid, inv.code_hash.startswith(iid)
                )
            ).first()
            if found is None or (
                found.revoked_at is not None and not invite_withdrawable(found.last_joined_at, now)
            ):
                raise NotFoundError(f"no invite {iid!r} in this group", code="invite_not_found")
            conn.execute(
                db.invites.delete().where(inv.group_id == gid, inv.code_hash.startswith(iid))
            )
            joined = conn.execute(
                sa.select(mi.member_id, mi.joined_at).where(mi.group_id == gid, mi.invite_id == iid)
            ).all()
            gone = [  # as ingest: nobody in a week already sealed, whatever the time says
                m
                for m, joined_at in joined
                if withdrawable(int(joined_at), now)
                and (sealed is None or first_counted_week(int(joined_at)).start > sealed)
            ]
            # in one id order across the chunks, as ingest locks its batch (code review: each
            # chunk sorted, the chunks not, a batch holding a member of chunk 2 and waiting for
            # one of chunk 1 deadlocked with a withdrawal of over 500 members)
            gone.sort()
            for start in range(0, len(gone), 500):
                self._delete_members(conn, gone[start : start + 500])
            conn.execute(db.member_invites.delete().where(mi.group_id == gid, mi.invite_id == iid))
        return {"invite_id": iid, "revoked": found.revoked_at is None}

    def forget_invite_links(self) -> int:
        """Forget which invite a member joined with once it can no longer be withdrawn.

        Run by the background job (:func:`hub.app.create_app`), and in the transaction of each
        join and each withdrawal; returns how many links were forgotten. A member who
        joined at or before the start of the latest closed week has counted from a closed
        week on. Revoked invites no longer withdrawable (last joined with by then) are
        forgotten too.
        """
        with self.engine.begin() as conn:
            return self._forget_invite_links(conn, self.now())

    @staticmethod
    def _forget_invite_links(conn: Connection, now: int) -> int:
        """:meth:`forget_invite_links` in ``conn``'s transaction, as of ``now``."""
        counted = counted_by(now)
        inv = db.invites.c
        n = conn.execute(
            db.member_invites.delete().where(db.member_invites.c.joined_at <= counted)
        ).rowcount
        conn.execute(
            db.invites.delete().where(
                inv.revoked_at.is_not(None),
                sa.or_(inv.last_joined_at.is_(None), inv.last_joined_at <= counted),
            )
        )
        return int(n or 0)

    @staticmethod
    def _delete_members(conn: Connection, ids: list[str]) -> int:
        """Delete the members ``ids`` (sorted) and then their contributions; how many of those.

        Members first: on PostgreSQL the delete waits for an ingest that checked their tokens
        (it holds their rows ``FOR SHARE``, in id order as here) to commit, and the
        contributions' delete that follows sees what it wrote; contributions first, an upsert
        committed in between stayed, of no member (code review). SQLite: ingest holds the
        write lock from before its check.
        """
        m = db.members.c
        if conn.dialect.name == "postgresql":  # in id order, as ingest locks them
            conn.execute(sa.select(m.id).where(m.id.in_(ids)).order_by(m.id).with_for_update())
        conn.execute(db.members.delete().where(m.id.in_(ids)))
        n = conn.execute(
            db.contributions.delete().where(db.contributions.c.member_id.in_(ids))
        ).rowcount
        return int(n or 0)

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
        return first_counted_week(member.joined_at)

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
            n = self._delete_members(conn, [member.id])
            conn.execute(
                db.member_invites.delete().where(db.member_invites.c.member_id == member.id)
            )
        return int(n or 0)
