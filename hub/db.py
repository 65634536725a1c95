"""The hub's database: one SQLAlchemy Core schema, ordered migrations, SQLite or PostgreSQL.

``sqlite:///path`` (the default, a file in the data dir) or ``postgresql://...`` (psycopg 3;
several hub processes may share one database). Times are Unix seconds (``BigInteger``) and days
are ``Date``, so both backends compare them the same way.

Tables
------
``schema_version``   the one row naming the schema's version (:data:`MIGRATIONS`).
``groups``           a team, department or study arm, with its minimum size ``k``.
``invites``          invite codes (only their SHA-256 is stored), expiry and uses left; when
                     it was last joined with and revoked (migration 4, :func:`_v4`): a
                     revoked invite is kept while its members may still be withdrawn.
``members``          pseudonymous members: a random id, one group, the SHA-256 of their token,
                     when they joined and left.
``member_invites``   which invite a member joined with (its 12-digit id), kept only while the
                     admin may still withdraw that invite's members: until the member's first
                     counted week has closed (migration 3, :func:`_v3`).
``contributions``    one row per member and day: the daily aggregates, nothing else; indexed
                     by (group, day) covering what the summaries read (migration 2).
``period_cells``     every reported (group, week) cell, computed once when the week closed.
``period_members``   the frozen set of members a released cell was computed over (ids only,
                     a bit per measure): S(week, measure), the one set every released answer
                     about that week and measure is over (:mod:`hub.privacy`, rule 5).
``interventions``    T0/T1 studies of a group (optional control group) and their effect,
                     computed once when T1 has closed.
``intervention_members``  the frozen pair sets of a released effect (ids only): by rule 5
                     the member sets of its T0 and T1 cells.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from hrv.errors import install_hint
from hub.errors import HubConfigError

__all__ = [
    "COUNT_MEASURES",
    "MEASURES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SUMMARY_COLUMNS",
    "backup_sqlite",
    "connect",
    "database_shown",
    "metadata",
    "migrate",
    "sqlite_file",
]

log = logging.getLogger(__name__)

metadata = sa.MetaData()

#: The daily measures a member may send, in the order the hub reports them.
MEASURES: tuple[str, ...] = (
    "resting_rmssd_ms",
    "resting_hr_bpm",
    "stress",
    "energy",
    "prompts_sent",
    "prompts_answered",
    "breaks",
    "break_effect_rmssd_ms",
    "practice_min",
)

#: The measures that count something in a day (prompts, breaks, minutes of practice): on a
#: day a member's service sent, none is 0 (an absent one counts as 0, :mod:`hub.store.sealing`).
#: The others are levels (resting RMSSD and HR, stress, energy, a break's effect): absent on a
#: day without that measurement, and a member's weekly value is over the days that have one.
COUNT_MEASURES: tuple[str, ...] = ("prompts_sent", "prompts_answered", "breaks", "practice_min")

schema_version = sa.Table(
    "schema_version", metadata, sa.Column("version", sa.Integer, nullable=False)
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

invites = sa.Table(
    "invites",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("group_id", sa.String(32), sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("uses_left", sa.Integer, nullable=False),
    # migration 4: when someone last joined with it (its members may be withdrawn until that
    # join's first counted week closed) and when it was revoked (None: it is not)
    sa.Column("last_joined_at", sa.BigInteger, nullable=True),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("group_id", sa.String(32), sa.ForeignKey("groups.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("joined_at", sa.BigInteger, nullable=False),
    sa.Column("left_at", sa.BigInteger, nullable=True),
)

member_invites = sa.Table(
    "member_invites",
    metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("group_id", sa.String(32), nullable=False),
    sa.Column("invite_id", sa.String(12), nullable=False),
    sa.Column("joined_at", sa.BigInteger, nullable=False),
    sa.Index("ix_member_invites_invite", "group_id", "invite_id"),
)

_INT_MEASURES = {"prompts_sent", "prompts_answered", "breaks"}

contributions = sa.Table(
    "contributions",
    metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("group_id", sa.String(32), nullable=False),
    *(
        sa.Column(name, sa.Integer if name in _INT_MEASURES else sa.Float, nullable=True)
        for name in MEASURES
    ),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    # indexed by (group, day) covering the columns a group's weeks are computed from: the
    # index of migration 2 (``ix_contributions_summary``, :func:`_v2`)
)

period_cells = sa.Table(
    "period_cells",
    metadata,
    sa.Column("group_id", sa.String(32), primary_key=True),
    sa.Column("week", sa.Date, primary_key=True),
    sa.Column("closed_at", sa.BigInteger, nullable=False),
    sa.Column("suppressed", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(40), nullable=True),
    sa.Column("body", sa.Text, nullable=True),  # JSON: counts and per-measure statistics
)

period_members = sa.Table(
    "period_members",
    metadata,
    sa.Column("group_id", sa.String(32), primary_key=True),
    sa.Column("week", sa.Date, primary_key=True),
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("mask", sa.Integer, nullable=False),  # bit i: had a value of MEASURES[i]
)

interventions = sa.Table(
    "interventions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("group_id", sa.String(32), sa.ForeignKey("groups.id"), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("end", sa.Date, nullable=False),
    sa.Column("control_group_id", sa.String(32), sa.ForeignKey("groups.id"), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("effect", sa.Text, nullable=True),  # JSON, set once when T1 has closed
)

intervention_members = sa.Table(
    "intervention_members",
    metadata,
    sa.Column("intervention_id", sa.String(32), primary_key=True),
    sa.Column("group_id", sa.String(32), primary_key=True),
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("mask", sa.Integer, nullable=False),  # bit i: in the pairs of MEASURES[i]
)


#: Tables a later migration creates (not the first schema's).
_LATER_TABLES = ("member_invites",)


def _v1(conn: Connection) -> None:
    """The first schema: the tables above but the later ones, contributions by (group, day)."""
    metadata.create_all(
        conn,
        tables=[
            t
            for t in metadata.sorted_tables
            if t is not schema_version and t.name not in _LATER_TABLES
        ],
    )
    conn.execute(
        sa.text("CREATE INDEX ix_contributions_group_day ON contributions (group_id, day)")
    )


#: The columns of contributions that a group's weeks and effects are computed from
#: (:mod:`hub.store.sealing`, :mod:`hub.store.interventions`), besides group and day.
SUMMARY_COLUMNS: tuple[str, ...] = ("member_id", "received_at", *MEASURES)


def _v2(conn: Connection) -> None:
    """A covering index for the summaries: (group, day) holding every column they read.

    A group's year is ~15,000 rows spread over as many table pages (a day's rows of all groups
    are written together); read through (group, day) alone, PostgreSQL visits each of those
    pages. From an index holding the columns it scans a few hundred pages of the index
    instead (an index-only scan, on pages the vacuum has marked all-visible: the table is
    vacuumed after 2 % new rows rather than PostgreSQL's default 20 %). SQLite reads such an
    index as a covering index. It replaces the (group, day) index it extends. PostgreSQL
    builds it inside the migration's transaction: writes wait for the build (seconds for a
    year of 10,000 members). PostgreSQL 13 or newer (``INCLUDE``: 11; the insert-triggered
    vacuum: 13).
    """
    cols = ", ".join(SUMMARY_COLUMNS)
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "CREATE INDEX ix_contributions_summary ON contributions (group_id, day) "
                f"INCLUDE ({cols})"
            )
        )
        conn.execute(
            sa.text("ALTER TABLE contributions SET (autovacuum_vacuum_insert_scale_factor = 0.02)")
        )
    else:
        conn.execute(
            sa.text(
                f"CREATE INDEX ix_contributions_summary ON contributions (group_id, day, {cols})"
            )
        )
    conn.execute(sa.text("DROP INDEX ix_contributions_group_day"))


def _v3(conn: Connection) -> None:
    """``member_invites``: the invite each member joined with, while it may be withdrawn.

    Members who joined before this migration have no row: withdrawing their invite removes
    none of them (README, "Invites and members").
    """
    member_invites.create(conn)


def _v4(conn: Connection) -> None:
    """``invites.last_joined_at`` and ``invites.revoked_at``: a revoked invite is kept.

    Whether an invite may still be withdrawn depends on the invite alone (when it was last
    joined with), not on its members' links, which a member's own deletion removes (review: the
    listing and the withdrawal's 404 told an admin which invitee had deleted their days).

    Schema 3 kept no invite's last join, and the links it kept are not enough: a member's
    ``DELETE /me?delete=true`` removed theirs, so an invite whose only joiner had deleted would
    get no last join and, once revoked, vanish (404) while one whose joiner had only stopped
    stayed listed (code review). So every invite (schema 3 kept only those not revoked) gets
    the latest moment anyone could have joined with it: the migration's time, or its expiry
    if earlier, or its newest link if later (a test's clock); what its members did plays no
    part. It stays listed once revoked, and withdrawable, until that moment's first counted
    week has closed (an invite never joined with too; withdrawing it then removes no one).

    An invite revoked under schema 3 (its row deleted) whose links are kept gets a revoked row
    whose ``code_hash`` is its 12-digit id (no code hashes to that), so it stays withdrawable
    as before. One whose links are all gone is not known: schema 3 had already stopped listing
    it, so the migration tells an admin nothing they could not see before it.
    """
    have = {c["name"] for c in sa.inspect(conn).get_columns("invites")}
    for name in ("last_joined_at", "revoked_at"):
        if name not in have:  # a database made at version 1 by this hub has them already
            conn.execute(sa.text(f"ALTER TABLE invites ADD COLUMN {name} BIGINT"))
    now = int(time.time())
    inv = invites.c
    conn.execute(
        invites.update()
        .where(inv.revoked_at.is_(None))
        .values(last_joined_at=sa.case((inv.expires_at < now, inv.expires_at), else_=now))
    )
    mi = member_invites.c
    linked = conn.execute(
        sa.select(
            mi.group_id, mi.invite_id, sa.func.min(mi.joined_at), sa.func.max(mi.joined_at)
        ).group_by(mi.group_id, mi.invite_id)
    ).all()
    for gid, iid, first, last in linked:
        n = conn.execute(
            invites.update()
            .where(
                inv.group_id == gid,
                inv.code_hash.startswith(iid),
                sa.or_(inv.last_joined_at.is_(None), inv.last_joined_at < last),
            )
            .values(last_joined_at=last)
        ).rowcount
        known = (
            n
            or conn.execute(
                sa.select(sa.func.count())
                .select_from(invites)
                .where(inv.group_id == gid, inv.code_hash.startswith(iid))
            ).scalar_one()
        )
        if not known:
            conn.execute(
                invites.insert().values(
                    code_hash=iid,
                    group_id=gid,
                    created_at=first,
                    expires_at=first,
                    uses_left=0,
                    last_joined_at=last,
                    revoked_at=last,
                )
            )


#: Ordered migrations; migration ``i`` brings the schema from version ``i`` to ``i + 1``.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2, _v3, _v4)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(engine: Engine) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; returns the version it had before.

    Runs in one transaction; on PostgreSQL an advisory lock makes hub processes that start
    together migrate one after the other. A database newer than this hub is refused.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(8173017)"))
        schema_version.create(conn, checkfirst=True)
        row = conn.execute(sa.select(schema_version.c.version)).first()
        before = int(row[0]) if row else 0
        if before > SCHEMA_VERSION:
            raise HubConfigError(
                f"the database has schema version {before}, newer than this hub's "
                f"{SCHEMA_VERSION}: upgrade hrvpace"
            )
        for step in MIGRATIONS[before:]:
            step(conn)
        if row is None:
            conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
        elif before != SCHEMA_VERSION:
            conn.execute(schema_version.update().values(version=SCHEMA_VERSION))
    if before != SCHEMA_VERSION:
        log.info("hub database migrated from version %d to %d", before, SCHEMA_VERSION)
    return before


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


#: Where a SQLite URL comes from, for its error messages: the setting and its two spellings.
_URL_SETTING = "database_url (--database-url, HRVPACE_HUB_DATABASE_URL)"


def _sqlite_url(url: str | URL) -> URL | None:
    """``url`` parsed by SQLAlchemy if it names a SQLite database (``sqlite:///path``), else None.

    A :class:`~sqlalchemy.engine.URL` is the default one (:attr:`HubSettings.db_url
    <hub.settings.HubSettings.db_url>`), made from the data dir's path, never from text.
    """
    if isinstance(url, str):
        return sa.engine.make_url(url) if url.startswith("sqlite:///") else None
    return url if url.drivername == "sqlite" else None


def sqlite_file(url: str | URL) -> str:
    """The file of a ``sqlite:///path`` URL as SQLAlchemy reads it (``""``, ``:memory:``: none).

    One reading everywhere: the file made 0600 at start, the one the engine opens and the one
    ``hrvpace hub backup`` copies are SQLAlchemy's own parse (``make_url(url).database``). It
    percent-decodes the path (``%3F`` is ``?``, ``%25`` is ``%``) and takes ``#`` as part of
    the name; the hub read the URL's text as it was, so for ``a%62`` it made and protected
    ``a%62/hub.sqlite3`` while SQLAlchemy opened ``ab/hub.sqlite3`` (mode 0644), and backed up
    the empty stub (review). The default URL is made from the data dir's path
    (:class:`~sqlalchemy.engine.URL`), so a data dir with ``#``, ``?`` or ``%`` works.

    The hub takes no options in a SQLite URL: a ``?query`` as SQLAlchemy sees it
    (``sqlite:///hub.db?mode=ro``) is refused naming the setting. The hub sets the
    connection's options itself (WAL, a busy timeout, foreign keys) and must write its schema,
    so ``mode=ro`` or ``cache=shared`` would not work.

    Raises
    ------
    HubConfigError
        ``url`` has a query; the message names the setting and the part.
    """
    parsed = _sqlite_url(url)
    if parsed is None:
        raise HubConfigError(f"not a SQLite URL (sqlite:///path): {url!r}")
    if parsed.query:
        text = url if isinstance(url, str) else parsed.render_as_string()
        raise HubConfigError(
            f"{_URL_SETTING}: {text!r} has {text[text.find('?') :]!r} after the file name; a "
            "SQLite URL takes no options here: give sqlite:///path only (the hub sets WAL, "
            "the busy timeout and foreign keys itself; write a ? in the file's name as %3F "
            "and a % as %25)"
        )
    return parsed.database or ""


def connect(url: str | URL) -> Engine:
    """An engine for ``url`` (``sqlite:///file`` or ``postgresql://...``), schema migrated.

    PostgreSQL connections are READ COMMITTED whatever the server's, database's or role's
    default: the name lock (:meth:`hub.store.groups.GroupStore._lock_names`) and the
    per-group lock of sealing and withdrawals (:meth:`hub.store.base.StoreBase._lock_group`)
    read after waiting for their lock, and see what the previous holder committed only at
    that level; under REPEATABLE READ the snapshot is taken before the wait, and two
    creators racing both made the name (review).

    Raises
    ------
    HubConfigError
        The URL is neither SQLite nor PostgreSQL, a SQLite URL has a ``?query``
        (:func:`sqlite_file`), the PostgreSQL driver (psycopg 3) is not installed, or the
        database cannot be reached; the message says which.
    """
    sqlite = _sqlite_url(url)
    if sqlite is not None:
        path = sqlite_file(sqlite)
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # members' data: the file (and the -wal/-shm files SQLite gives its mode) 0600
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        engine = sa.create_engine(sqlite, connect_args={"check_same_thread": False, "timeout": 10})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    elif isinstance(url, str) and url.startswith(
        ("postgresql://", "postgres://", "postgresql+psycopg://")
    ):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise HubConfigError(
                f"PostgreSQL needs the psycopg 3 driver: {install_hint('hub')}"
            ) from None
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            isolation_level="READ COMMITTED",
        )
    else:
        text = url if isinstance(url, str) else url.drivername
        scheme = text.split(":", 1)[0] if ":" in text else text[:20]
        raise HubConfigError(
            f"unsupported database URL scheme {scheme!r}: use sqlite:///path or postgresql://..."
        )
    try:
        migrate(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise HubConfigError(f"cannot open the hub database: {reason}") from None
    return engine


def database_shown(url: str | URL) -> str:
    """What ``hrvpace hub serve`` prints for the database: the file, or the URL's host part.

    A PostgreSQL URL's user and password are not printed.
    """
    if _sqlite_url(url) is not None:
        with contextlib.suppress(HubConfigError):
            return sqlite_file(url)
    text = str(url)
    return text.split("@")[-1]


#: ``renameat2``'s flag (linux/fs.h) and "the current directory" for its directory fds.
_RENAME_NOREPLACE, _AT_FDCWD = 1, -100


def _rename_no_replace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, never replacing a file there (:class:`FileExistsError`).

    Linux: ``renameat2(..., RENAME_NOREPLACE)`` (glibc 2.28), whose check and rename are one
    step in the kernel. Where that is missing (another system, an old libc) or the file
    system does not take the flag (``EINVAL``: some network file systems), a rename once
    ``dst`` is seen to be absent: best-effort, a file made at ``dst`` between the look and
    the rename is replaced (README, "Backups"). ``os.replace`` alone replaced silently after
    a stale look (review).
    """
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        renameat2.argtypes = (
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_uint,
        )
        renameat2.restype = ctypes.c_int
        if (
            renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
            == 0
        ):
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(err, os.strerror(err), str(dst))
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.replace(src, dst)


def backup_sqlite(url: str | URL, out: Path) -> None:
    """Copy the SQLite hub database of ``url`` to the new file ``out`` (0600), hub running.

    SQLite's online backup API copies one consistent snapshot, including what is still in
    the ``-wal`` file; a plain file copy of a running hub misses it (README, "Backups").
    PostgreSQL is backed up with ``pg_dump``, which reads one snapshot too.

    The copy is written to a hidden temporary file beside ``out`` (``.NAME.*.partial``, 0600,
    NAME the start of ``out``'s name that fits in 100 bytes; SQLite's
    ``.NAME.*.partial-journal`` beside it while copying)
    and put in place as ``out`` only once complete (a hard link, which never replaces a file:
    one made at ``out`` meanwhile is kept and the backup refused; where the file system has no
    hard links, a rename that never replaces one either where Linux's ``RENAME_NOREPLACE``
    works, else best-effort: :func:`_rename_no_replace`). A copy that fails or is
    interrupted (Ctrl-C) removes its temporary file, so ``out`` is either a whole backup or
    absent (it was left half-written: review); a killed process (``kill -9``, a power cut)
    may leave the temporary file (and SQLite's ``-journal`` of it), never a partial ``out``.
    The folder is synced once ``out`` has its name (:func:`_sync_folder`), so a backup
    reported done survives a power cut (review: it could lose its name; a folder that cannot
    be opened to sync, on Windows or write-only, is left as it is). A name longer than the
    file system allows (``PC_NAME_MAX`` bytes, 255 on most) is refused before copying,
    saying so in bytes; where ``PC_NAME_MAX`` is not the real limit (vfat reports 1530 bytes
    and takes 255 UTF-16 units) a longer name is refused only once copied, when it is given
    its name, the temporary file removed (review rev12).

    Raises
    ------
    HubConfigError
        ``url`` is not SQLite or names no database file, ``out`` exists already (also when
        made while copying), its name is too long, the copy failed, or its folder could not
        be synced.
    """
    import sqlite3
    import tempfile

    if _sqlite_url(url) is None:
        raise HubConfigError(
            "hrvpace hub backup copies a SQLite hub; for PostgreSQL use pg_dump "
            "(pg_dump -Fc -f hub.dump <url>: one consistent snapshot while the hub runs; "
            "pg_restore it into an empty database)"
        )
    path = Path(sqlite_file(url))
    if not path.is_file():
        raise HubConfigError(f"{path}: no hub database there (--data-dir or --database-url)")
    exists = HubConfigError(f"{out}: exists already; name a new file")
    if os.path.lexists(out):
        raise exists
    name_bytes, name_max = len(os.fsencode(out.name)), _name_max(out.parent)
    if name_bytes > name_max:  # refused before copying, not an Errno 36 after
        raise HubConfigError(
            f"{out}: its name is {name_bytes} bytes (as the file system stores it, UTF-8: "
            f"a non-ASCII character takes 2-4), more than the {name_max} a name may have "
            "there; name a shorter file"
        )
    # mkstemp: 0600, a new name in out's folder (so a link, not a copy, puts it in place);
    # out's name cut to 100 bytes (not characters: 100 CJK ones are 300 bytes, review), so a
    # legal long name stays one with the 18 added (26 in SQLite's -journal of it)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{_cut_to_bytes(out.name, 100)}.", suffix=".partial", dir=out.parent
        )
    except OSError as exc:
        raise HubConfigError(f"{out}: cannot create the backup ({exc})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        src = sqlite3.connect(path, timeout=10)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # on disk before it has the backup's name
        finally:
            os.close(fd)
        try:
            os.link(tmp, out)
        except FileExistsError:
            raise exists from None
        except OSError as exc:  # no hard links there (FAT, some network shares): rename
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            try:
                _rename_no_replace(tmp, out)
            except FileExistsError:
                raise exists from None
    except sqlite3.Error as exc:
        raise HubConfigError(f"backup of {path} failed: {exc}") from None
    except OSError as exc:
        raise HubConfigError(f"{out}: cannot create the backup ({exc})") from None
    finally:  # done, failed or interrupted: the temporary file goes
        tmp.unlink(missing_ok=True)
    _sync_folder(out.parent)  # the name out (and the temporary one gone) on disk too


def _name_max(folder: Path) -> int:
    """The most bytes a file name may have in ``folder`` (255 where the system cannot say)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _cut_to_bytes(name: str, limit: int) -> str:
    """The longest start of ``name`` whose file-system encoding has at most ``limit`` bytes.

    Cut between characters, never inside one's UTF-8 bytes.
    """
    cut = name[:limit]  # a character is one byte or more
    while len(os.fsencode(cut)) > limit:
        cut = cut[:-1]
    return cut


def _sync_folder(folder: Path) -> None:
    """``fsync`` a folder, so the names just made or removed in it survive a power cut.

    A file's own ``fsync`` keeps its data, not its name: that is in the folder (fsync(2),
    "Calling fsync() does not necessarily ensure that the entry in the directory containing
    the file has also reached disk"). A file system that cannot sync a folder (``EINVAL``:
    some network and FUSE ones) is left as it is; another error of ``fsync`` is raised.

    A folder that cannot be opened to sync is left as it is (review rev12): on Windows a
    folder cannot be opened so at all (``os.open`` gives ``EACCES``; NTFS journals the names
    itself), and a write-only drop folder (mode ``0333``) gives ``EACCES`` too. Either made a
    finished backup a reported failure, every time.

    Raises
    ------
    HubConfigError
        ``fsync`` of the folder failed: the backup is there, but a power cut now may lose
        its name.
    """
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, *_CANNOT_SYNC):
            return
        raise HubConfigError(
            f"{folder}: the backup is there but its folder could not be opened to sync "
            f"({exc}); run sync before relying on it surviving a power cut"
        ) from None
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno in _CANNOT_SYNC:
            return
        raise HubConfigError(
            f"{folder}: the backup is there but its folder could not be synced ({exc}); "
            "run sync before relying on it surviving a power cut"
        ) from None
    finally:
        os.close(fd)


#: ``fsync`` errors of a file system that cannot sync a folder (some network and FUSE ones).
_CANNOT_SYNC = (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF)
