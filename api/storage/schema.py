"""The database schema: versioned migrations (``PRAGMA user_version``) and the beat columns."""

from __future__ import annotations

import sqlite3

from api.storage.connection import StorageError

__all__ = ["BEAT_COLUMNS", "MIGRATIONS", "BeatRow", "migrate"]

#: Schema migrations; ``PRAGMA user_version`` is the number applied. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        created_at  REAL NOT NULL,
        ended_at    REAL,
        state       TEXT NOT NULL,
        message     TEXT NOT NULL DEFAULT '',
        mode        TEXT NOT NULL,
        source_json TEXT NOT NULL,
        options_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE beats (
        session_id  TEXT NOT NULL REFERENCES sessions(id),
        idx         INTEGER NOT NULL,
        t_s         REAL NOT NULL,
        rr_ms       REAL NOT NULL,
        arrived_at  REAL NOT NULL,
        contact     INTEGER,
        gap_before  INTEGER NOT NULL,
        hr_bpm      REAL,
        PRIMARY KEY (session_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE metrics (
        session_id  TEXT NOT NULL REFERENCES sessions(id),
        t_s         REAL NOT NULL,
        recorded_at REAL NOT NULL,
        data_json   TEXT NOT NULL
    );
    CREATE INDEX metrics_session ON metrics(session_id, t_s);
    CREATE TABLE guidance (
        session_id  TEXT NOT NULL REFERENCES sessions(id),
        t_s         REAL NOT NULL,
        recorded_at REAL NOT NULL,
        data_json   TEXT NOT NULL
    );
    CREATE INDEX guidance_session ON guidance(session_id, t_s);
    CREATE TABLE assessments (
        id          INTEGER PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES sessions(id),
        recorded_at REAL NOT NULL,
        data_json   TEXT NOT NULL
    );
    CREATE TABLE micro_breaks (
        id          INTEGER PRIMARY KEY,
        session_id  TEXT REFERENCES sessions(id),
        t_s         REAL,
        recorded_at REAL NOT NULL,
        kind        TEXT NOT NULL,
        data_json   TEXT NOT NULL
    );
    CREATE TABLE baseline (
        key         TEXT PRIMARY KEY,
        value_json  TEXT NOT NULL,
        updated_at  REAL NOT NULL
    );
    CREATE TABLE settings (
        key         TEXT PRIMARY KEY,
        value_json  TEXT NOT NULL,
        updated_at  REAL NOT NULL
    );
    CREATE TABLE checkins (
        id          INTEGER PRIMARY KEY,
        session_id  TEXT REFERENCES sessions(id),
        at          REAL NOT NULL,
        stress      INTEGER NOT NULL CHECK (stress BETWEEN 1 AND 5),
        energy      INTEGER NOT NULL CHECK (energy BETWEEN 1 AND 5),
        note        TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX checkins_at ON checkins(at);
    """,
    # 2: the day plan's prompts and their answers; outgoing webhook deliveries (issue 16)
    """
    CREATE TABLE prompts (
        id           INTEGER PRIMARY KEY,
        key          TEXT NOT NULL UNIQUE,
        kind         TEXT NOT NULL,
        trigger      TEXT NOT NULL,
        text         TEXT NOT NULL,
        state        TEXT NOT NULL,
        reason       TEXT NOT NULL DEFAULT '',
        due_at       REAL NOT NULL,
        expires_at   REAL NOT NULL,
        sent_at      REAL,
        answered_at  REAL,
        dismissed_at REAL,
        expired_at   REAL,
        answer_text  TEXT,
        note         TEXT,
        items_json   TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX prompts_due ON prompts(due_at);
    CREATE TABLE prompt_answers (
        prompt_id   INTEGER NOT NULL REFERENCES prompts(id),
        item_key    TEXT NOT NULL,
        position    INTEGER NOT NULL,
        label       TEXT NOT NULL,
        value       INTEGER,
        choice      TEXT,
        scale_min   INTEGER,
        scale_max   INTEGER,
        anchor_low  TEXT NOT NULL DEFAULT '',
        anchor_high TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (prompt_id, item_key)
    ) WITHOUT ROWID;
    CREATE TABLE webhook_deliveries (
        id          INTEGER PRIMARY KEY,
        url         TEXT NOT NULL,
        kind        TEXT NOT NULL,
        prompt_id   INTEGER,
        at          REAL NOT NULL,
        ok          INTEGER NOT NULL,
        attempts    INTEGER NOT NULL,
        status      INTEGER,
        error       TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX webhook_deliveries_at ON webhook_deliveries(at);
    """,
    # 3: the live message number (``seq``) of a stored beat, metrics window and micro-break
    # event, so a WebSocket client that reconnects with its last seq gets what it missed
    # (NULL for rows stored before, or written without a live session)
    """
    ALTER TABLE beats ADD COLUMN seq INTEGER;
    ALTER TABLE metrics ADD COLUMN seq INTEGER;
    ALTER TABLE micro_breaks ADD COLUMN seq INTEGER;
    CREATE INDEX beats_seq ON beats(session_id, seq) WHERE seq IS NOT NULL;
    CREATE INDEX metrics_seq ON metrics(session_id, seq) WHERE seq IS NOT NULL;
    CREATE INDEX micro_breaks_seq ON micro_breaks(session_id, seq) WHERE seq IS NOT NULL;
    """,
    # 4: the seq of a session's final ``status`` (never stored as a message), so a client that
    # connects after the end is answered with the last number the live clients got
    """
    ALTER TABLE sessions ADD COLUMN last_seq INTEGER;
    """,
    # 5: the changes of skin contact a live source reported (sensors.contact: where a stretch
    # without contact began, contact 0, and where the strap said it came back, contact 1), on
    # the beats' timeline: a stretch without contact has no beats to carry it (a session stored
    # before keeps none)
    """
    CREATE TABLE contact_changes (
        session_id  TEXT NOT NULL REFERENCES sessions(id),
        t_s         REAL NOT NULL,
        contact     INTEGER NOT NULL CHECK (contact IN (0, 1)),
        recorded_at REAL NOT NULL
    );
    CREATE INDEX contact_changes_session ON contact_changes(session_id, t_s);
    """,
    # 6: how the session's live metric windows were made (hrv.live_settings as the analyser
    # ran: window, step, NN filter, spectrum), stored when it starts, so an export states the
    # settings in force then rather than the exporting version's (NULL: a session stored
    # before; its export says the current settings are assumed)
    """
    ALTER TABLE sessions ADD COLUMN live_settings_json TEXT;
    """,
    # 7: when the session's pacer ran (practice, assessment, breathing break): its runs as
    # [[start_t_s, stop_t_s], ...] on the beats' timeline, stop null while a run goes on,
    # written as each run starts and ends and when the session ends, so an export states them
    # and a replay of it judges those windows as paced, as the live session did (NULL: a
    # session stored before, or one that never paced)
    """
    ALTER TABLE sessions ADD COLUMN paced_runs_json TEXT;
    """,
    # 8: the owner that runs the session (api.storage.owners: the id of the opened database
    # whose process runs it), so that opening the database marks interrupted only the
    # sessions of a process that is gone, never another live process's (NULL: a session
    # stored before; left running, it counts as a gone process's)
    """
    ALTER TABLE sessions ADD COLUMN owner TEXT;
    """,
    # 9: the session list's order (newest first, then id: GET /api/v1/sessions and its
    # keyset cursor), so a page reads its rows from the index and counts the beats of those
    # rows only; without it every list (the page's reachability probe's limit=1 too) sorted
    # the whole table and counted every session's beats first (about 190 ms for 2,000
    # sessions of 1,000 beats, against 11 ms)
    """
    CREATE INDEX sessions_newest ON sessions(created_at DESC, id);
    """,
)

#: Columns of a stored beat, in export order (units in the names; times in Unix seconds).
BEAT_COLUMNS: tuple[str, ...] = (
    "idx",
    "t_s",
    "rr_ms",
    "arrived_at",
    "contact",
    "gap_before",
    "hr_bpm",
)

BeatRow = tuple[int, float, float, float, bool | None, bool, float | None]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the database lacks; the schema version now applied.

    Raises
    ------
    StorageError
        The database is newer than this hrvpace (also when a newer hrvpace migrated it past
        this one's steps while this one waited for the write lock).
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    _refuse_newer(version)
    for number in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another opening (serve and replay --store started together) may have applied it
            # while this one waited for the write lock: read again under the lock (code review);
            # a newer hrvpace may have gone past this one's last step (rev13 review)
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            _refuse_newer(version)  # rolled back below
            if version > number:
                conn.execute("COMMIT")
                continue
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
            version = number + 1
        except Exception:
            conn.execute("ROLLBACK")
            raise
    return version


def _refuse_newer(version: int) -> None:
    if version > len(MIGRATIONS):
        raise StorageError(
            f"database schema version {version} is newer than this hrvpace knows "
            f"({len(MIGRATIONS)}); upgrade hrvpace"
        )
