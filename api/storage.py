"""SQLite storage: one database file in the data directory, WAL, versioned migrations.

Writes go through one writer thread with its own connection (:class:`Storage` queues them and
returns at once), so the event loop never waits on the disk. The writer commits a batch at most
``flush_s`` after its first item arrived; a committed beat survives ``kill -9`` (WAL with
``synchronous=NORMAL`` is durable against a crash of the process; a power cut may lose the last
batch). Reads use a connection per thread and are meant to be called through
:func:`asyncio.to_thread` from async code.

On open, sessions left ``running`` (the process died) are marked ``interrupted``; their data stays.

Every queued write gets a *ticket* (1, 2, ... in queue order; :attr:`Storage.last_ticket`); the
writer commits in that order and then tells its commit listeners the highest ticket committed
(:meth:`Storage.add_commit_listener`, :attr:`Storage.committed_ticket`). The live pipeline uses
it to publish a beat, a metrics window or a flag only once it is committed (published means
stored: a ``kill -9`` at any moment loses nothing a client was sent).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.errors import ApiError

__all__ = [
    "BEAT_COLUMNS",
    "MIGRATIONS",
    "WAL_SIZE_LIMIT_BYTES",
    "BeatRow",
    "Storage",
    "StorageError",
]

log = logging.getLogger(__name__)


class StorageError(ApiError):
    """The database cannot be opened or written."""


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

_ACTIVE_STATES = ("starting", "running")


@dataclass(frozen=True, slots=True)
class _Op:
    sql: str
    params: Sequence[Any] | Sequence[Sequence[Any]]
    many: bool = False
    future: Future[Any] | None = None
    ticket: int = 0


_STOP = object()
#: A batch is committed once it holds this many writes, even before ``flush_s``: live
#: messages wait for their data's commit, so at replay speeds a commit every few ms keeps
#: their bursts small (a WAL commit without fsync costs tens of microseconds).
BATCH_MAX = 32


def _resolve(
    future: Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    """Complete a waiter's future; one whose waiter gave up (cancelled) is left alone.

    The write itself is committed either way: a cancelled waiter (a stopped session task
    awaiting ``asyncio.wrap_future``) must not take the writer thread down.
    """
    if not future.set_running_or_notify_cancel():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    # The WAL stays bounded over long days: SQLite checkpoints it every 1000 pages (~4 MB,
    # PASSIVE, on commit) and this truncates the file back after a checkpoint that a long read
    # let grow past the limit.
    conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    return conn


#: The WAL file is truncated back to this size after a checkpoint (``journal_size_limit``).
WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

#: RR data is health data: the database and its WAL/shared-memory files are the user's only.
DB_FILE_MODE = 0o600
#: The data folder, when the service creates it.
DATA_DIR_MODE = 0o700


def _make_private(path: Path) -> None:
    """Create the database file (and its folder) readable by the user only.

    The folder is created ``0700`` (an existing one is left as the user set it). The file is
    created ``0600`` before SQLite opens it, so SQLite creates ``-wal`` and ``-shm`` with the
    same mode; a database left group/world-readable by an older version is tightened, with
    its ``-wal``/``-shm``.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=DATA_DIR_MODE)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DB_FILE_MODE))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, DB_FILE_MODE)
        except FileNotFoundError:
            continue


def _migrate(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise StorageError(
            f"database schema version {version} is newer than this hrvpace knows "
            f"({len(MIGRATIONS)}); upgrade hrvpace"
        )
    for number in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


class Storage:
    """The service's database. Thread-safe; writes are queued to one writer thread.

    Parameters
    ----------
    path
        The SQLite file; its folder is created.
    flush_s
        Longest time a queued write waits before its batch is committed.
    """

    def __init__(self, path: Path, *, flush_s: float = 0.1) -> None:
        self.path = path
        self.flush_s = flush_s
        try:
            _make_private(path)
            conn = _connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"{path}: cannot open the database ({exc})") from exc
        self.schema_version = _migrate(conn)
        self.interrupted_on_open = self._mark_interrupted(conn)
        self._writer_conn = conn
        self._queue: queue.SimpleQueue[_Op | object] = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._submit_lock = threading.Lock()
        #: Ticket of the latest queued write (0: none yet).
        self.last_ticket = 0
        #: Highest ticket whose write is committed (every lower one is too: FIFO).
        self.committed_ticket = 0
        self._commit_listeners: list[Callable[[int], None]] = []
        self._thread = threading.Thread(target=self._run, name="hrvpace-db-writer", daemon=True)
        self._thread.start()

    # -- life cycle ----------------------------------------------------------------------------

    @staticmethod
    def _mark_interrupted(conn: sqlite3.Connection) -> list[str]:
        rows = conn.execute(
            "SELECT id FROM sessions WHERE state IN (?, ?)", _ACTIVE_STATES
        ).fetchall()
        ids = [r[0] for r in rows]
        for session_id in ids:
            last = conn.execute(
                "SELECT MAX(arrived_at) FROM beats WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            conn.execute(
                "UPDATE sessions SET state = 'interrupted', ended_at = COALESCE(?, created_at), "
                "message = 'the service stopped while this session was running' WHERE id = ?",
                (last, session_id),
            )
        if ids:
            log.warning("%d session(s) left running by a previous run marked interrupted", len(ids))
        return ids

    def close(self) -> None:
        """Commit what is queued, stop the writer and close every connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        self._writer_conn.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        conn = self._writer_conn
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Op] = [first]  # type: ignore[list-item]
            deadline = time.monotonic() + self.flush_s
            while batch[0].future is None:  # someone waits for the first: commit it now
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                op: _Op = item  # type: ignore[assignment]
                batch.append(op)
                if op.future is not None:  # someone waits: commit now
                    break
                if len(batch) >= BATCH_MAX:  # live messages wait for this commit: keep it short
                    break
            try:
                self._commit(conn, batch)
            except Exception:  # the writer must never die: every later write would hang
                log.exception("database writer: unexpected error in a batch of %d", len(batch))
                self._committed(batch[-1].ticket)

    def _committed(self, ticket: int) -> None:
        """Every write up to ``ticket`` is done (committed, or failed and logged)."""
        self.committed_ticket = ticket
        for listener in list(self._commit_listeners):
            try:
                listener(ticket)
            except Exception:  # a listener's bug must not stop the writer
                log.exception("database writer: a commit listener failed")

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(ticket)`` (in the writer thread) after each committed batch."""
        self._commit_listeners.append(listener)

    def remove_commit_listener(self, listener: Callable[[int], None]) -> None:
        with suppress(ValueError):
            self._commit_listeners.remove(listener)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        results: list[tuple[_Op, Any]] = []
        try:
            conn.execute("BEGIN")
            for op in batch:
                if op.many:
                    cur = conn.executemany(op.sql, op.params)
                else:
                    cur = conn.execute(op.sql, op.params)
                results.append((op, cur.lastrowid))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.exception("database batch of %d writes failed; retrying one by one", len(batch))
            Storage._commit_one_by_one(conn, batch, exc)
            self._committed(batch[-1].ticket)  # written, or failed and logged
            return
        # the commit is known before any waiter wakes up (a waiter may read committed_ticket)
        self._committed(batch[-1].ticket)
        for op, lastrowid in results:
            if op.future is not None:
                _resolve(op.future, result=lastrowid)

    @staticmethod
    def _commit_one_by_one(conn: sqlite3.Connection, batch: list[_Op], first: Exception) -> None:
        for op in batch:
            try:
                if op.many:
                    cur = conn.executemany(op.sql, op.params)
                else:
                    cur = conn.execute(op.sql, op.params)
            except sqlite3.Error as exc:
                log.error("database write failed: %s", exc)
                if op.future is not None:
                    _resolve(op.future, error=StorageError(f"database write failed: {exc}"))
                continue
            if op.future is not None:
                _resolve(op.future, result=cur.lastrowid)

    def _submit(
        self, sql: str, params: Sequence[Any], *, many: bool = False, wait: bool = False
    ) -> Future[Any] | None:
        if self._closed:
            raise StorageError("storage is closed")
        future: Future[Any] | None = Future() if wait else None
        with self._submit_lock:  # tickets follow queue order
            self.last_ticket += 1
            self._queue.put(_Op(sql, params, many, future, self.last_ticket))
        return future

    def flush(self) -> Future[Any]:
        """A future that completes once everything queued before it is committed."""
        future = self._submit("SELECT 1", (), wait=True)
        assert future is not None
        return future

    # -- reads ---------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        yield conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query and return its rows (blocking: call via a thread from async)."""
        with self._read() as conn:
            return conn.execute(sql, params).fetchall()

    # -- sessions ------------------------------------------------------------------------------

    def create_session(
        self,
        session_id: str,
        *,
        created_at: float,
        mode: str,
        source: dict[str, Any],
        options: dict[str, Any],
    ) -> Future[Any]:
        future = self._submit(
            "INSERT INTO sessions (id, created_at, state, mode, source_json, options_json) "
            "VALUES (?, ?, 'running', ?, ?, ?)",
            (session_id, created_at, mode, json.dumps(source), json.dumps(options)),
            wait=True,
        )
        assert future is not None
        return future

    def set_session_state(
        self, session_id: str, state: str, *, message: str = "", ended_at: float | None = None
    ) -> Future[Any]:
        future = self._submit(
            "UPDATE sessions SET state = ?, message = ?, ended_at = COALESCE(?, ended_at) "
            "WHERE id = ?",
            (state, message, ended_at, session_id),
            wait=True,
        )
        assert future is not None
        return future

    def last_beat_t_s(self, session_id: str) -> float | None:
        """Session time of a session's last stored beat (``None`` without beats)."""
        rows = self.query(
            "SELECT t_s FROM beats WHERE session_id = ? ORDER BY idx DESC LIMIT 1", (session_id,)
        )
        return float(rows[0][0]) if rows else None

    def set_session_label(self, session_id: str, label: str) -> Future[Any]:
        """Set the free-text label of a session (kept in its options)."""
        future = self._submit(
            "UPDATE sessions SET options_json = json_set(options_json, '$.label', ?) WHERE id = ?",
            (label, session_id),
            wait=True,
        )
        assert future is not None
        return future

    def get_session(self, session_id: str) -> sqlite3.Row | None:
        rows = self.query(
            "SELECT s.*, (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id) AS n_beats "
            "FROM sessions s WHERE s.id = ?",
            (session_id,),
        )
        return rows[0] if rows else None

    def list_sessions(self, *, limit: int = 100, offset: int = 0) -> list[sqlite3.Row]:
        return self.query(
            "SELECT s.*, (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id) AS n_beats "
            "FROM sessions s ORDER BY s.created_at DESC, s.id LIMIT ? OFFSET ?",
            (limit, offset),
        )

    def session_summaries(self, session_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per session: duration, window count, mean RMSSD and HR, flags and check-ins."""
        out: dict[str, dict[str, Any]] = {
            sid: {
                "duration_s": None,
                "n_windows": 0,
                "mean_rmssd_ms": None,
                "mean_hr_bpm": None,
                "n_micro_breaks": 0,
                "n_checkins": 0,
            }
            for sid in session_ids
        }
        if not out:
            return out
        marks = ",".join("?" * len(out))
        ids = tuple(out)
        for r in self.query(
            "SELECT session_id, COUNT(*), AVG(json_extract(data_json, '$.rmssd_ms')), "
            "AVG(json_extract(data_json, '$.mean_hr_bpm')) FROM metrics "
            f"WHERE session_id IN ({marks}) GROUP BY session_id",
            ids,
        ):
            out[r[0]].update(n_windows=r[1], mean_rmssd_ms=r[2], mean_hr_bpm=r[3])
        for r in self.query(
            "SELECT session_id, COUNT(*) FROM micro_breaks WHERE kind = 'micro_break' "
            f"AND session_id IN ({marks}) GROUP BY session_id",
            ids,
        ):
            out[r[0]]["n_micro_breaks"] = r[1]
        for r in self.query(
            f"SELECT session_id, COUNT(*) FROM checkins WHERE session_id IN ({marks}) "
            "GROUP BY session_id",
            ids,
        ):
            out[r[0]]["n_checkins"] = r[1]
        for sid in ids:
            last = self.query(
                "SELECT t_s FROM beats WHERE session_id = ? ORDER BY idx DESC LIMIT 1", (sid,)
            )
            if last:
                out[sid]["duration_s"] = last[0][0]
        return out

    # -- beats, metrics, guidance ---------------------------------------------------------------

    def add_beats(self, session_id: str, rows: Sequence[BeatRow]) -> None:
        """Queue beats for writing (returns at once)."""
        self._submit(
            "INSERT OR REPLACE INTO beats (session_id, idx, t_s, rr_ms, arrived_at, contact, "
            "gap_before, hr_bpm) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(session_id, *row) for row in rows],
            many=True,
        )

    def beats(self, session_id: str, *, since_t_s: float | None = None) -> list[BeatRow]:
        """A session's stored beats in order; with ``since_t_s`` only those with ``t_s`` >= it."""
        rows = self.query(
            "SELECT idx, t_s, rr_ms, arrived_at, contact, gap_before, hr_bpm FROM beats "
            "WHERE session_id = ? AND (? IS NULL OR t_s >= ?) ORDER BY idx",
            (session_id, since_t_s, since_t_s),
        )
        return [
            (
                r[0],
                r[1],
                r[2],
                r[3],
                None if r[4] is None else bool(r[4]),
                bool(r[5]),
                r[6],
            )
            for r in rows
        ]

    def add_snapshot(
        self, table: str, session_id: str, *, t_s: float, recorded_at: float, data: dict[str, Any]
    ) -> None:
        """Queue a metrics or guidance snapshot (``table`` is ``"metrics"`` or ``"guidance"``)."""
        if table not in ("metrics", "guidance"):
            raise ValueError(f"table: expected 'metrics' or 'guidance', got {table!r}")
        self._submit(
            f"INSERT INTO {table} (session_id, t_s, recorded_at, data_json) VALUES (?, ?, ?, ?)",
            (session_id, t_s, recorded_at, json.dumps(data)),
        )

    def snapshots(self, table: str, session_id: str) -> list[dict[str, Any]]:
        if table not in ("metrics", "guidance"):
            raise ValueError(f"table: expected 'metrics' or 'guidance', got {table!r}")
        rows = self.query(
            f"SELECT t_s, recorded_at, data_json FROM {table} WHERE session_id = ? "
            "ORDER BY t_s, rowid",
            (session_id,),
        )
        out: list[dict[str, Any]] = []
        for r in rows:
            item: dict[str, Any] = {"t_s": r[0], "recorded_at": r[1]}
            item.update(json.loads(r[2]))
            out.append(item)
        return out

    def add_assessment(self, session_id: str, *, recorded_at: float, data: dict[str, Any]) -> None:
        self._submit(
            "INSERT INTO assessments (session_id, recorded_at, data_json) VALUES (?, ?, ?)",
            (session_id, recorded_at, json.dumps(data)),
        )

    def assessments(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT id, recorded_at, data_json FROM assessments WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [{"id": r[0], "recorded_at": r[1], **json.loads(r[2])} for r in rows]

    def latest_resonance_bpm(self) -> float | None:
        """The resonance rate (breaths/min) of the newest finished assessment that found one.

        ``None`` when no stored assessment has a result (none run, or none conclusive).
        """
        rows = self.query(
            "SELECT json_extract(data_json, '$.result.resonance_bpm') FROM assessments "
            "WHERE json_extract(data_json, '$.type') = 'assessment_complete' "
            "AND json_extract(data_json, '$.result.resonance_bpm') IS NOT NULL "
            "ORDER BY recorded_at DESC, id DESC LIMIT 1"
        )
        return float(rows[0][0]) if rows else None

    def add_micro_break(
        self,
        *,
        session_id: str | None,
        t_s: float | None,
        recorded_at: float,
        kind: str,
        data: dict[str, Any],
    ) -> None:
        self._submit(
            "INSERT INTO micro_breaks (session_id, t_s, recorded_at, kind, data_json) "
            "VALUES (?, ?, ?, ?, ?)",
            (session_id, t_s, recorded_at, kind, json.dumps(data)),
        )

    def micro_breaks(self, *, session_id: str | None = None, limit: int = 200) -> list[sqlite3.Row]:
        if session_id is None:
            return self.query(
                "SELECT * FROM micro_breaks ORDER BY recorded_at DESC, id DESC LIMIT ?", (limit,)
            )
        return self.query(
            "SELECT * FROM micro_breaks WHERE session_id = ? ORDER BY recorded_at DESC, id DESC "
            "LIMIT ?",
            (session_id, limit),
        )

    # -- key/value tables: settings and baseline ------------------------------------------------

    def put_value(
        self, table: str, key: str, value: Any, *, updated_at: float, wait: bool = True
    ) -> Future[Any] | None:
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        future = self._submit(
            f"INSERT INTO {table} (key, value_json, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json, "
            "updated_at = excluded.updated_at",
            (key, json.dumps(value), updated_at),
            wait=wait,
        )
        return future

    def add_value_if_absent(self, table: str, key: str, value: Any, *, updated_at: float) -> None:
        """Store ``value`` under ``key`` unless a value is there already (insert-or-ignore: of
        several racing callers exactly one stores; read the value back afterwards)."""
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        future = self._submit(
            f"INSERT INTO {table} (key, value_json, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO NOTHING",
            (key, json.dumps(value), updated_at),
            wait=True,
        )
        assert future is not None
        future.result(timeout=30)

    def delete_value(self, table: str, key: str) -> Future[Any]:
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        future = self._submit(f"DELETE FROM {table} WHERE key = ?", (key,), wait=True)
        assert future is not None
        return future

    def get_value(self, table: str, key: str) -> tuple[Any, float] | None:
        if table not in ("settings", "baseline"):
            raise ValueError(f"table: expected 'settings' or 'baseline', got {table!r}")
        rows = self.query(f"SELECT value_json, updated_at FROM {table} WHERE key = ?", (key,))
        return (json.loads(rows[0][0]), rows[0][1]) if rows else None

    # -- check-ins ------------------------------------------------------------------------------

    def add_checkin(
        self, *, session_id: str | None, at: float, stress: int, energy: int, note: str
    ) -> Future[Any]:
        future = self._submit(
            "INSERT INTO checkins (session_id, at, stress, energy, note) VALUES (?, ?, ?, ?, ?)",
            (session_id, at, stress, energy, note),
            wait=True,
        )
        assert future is not None
        return future

    def checkins(
        self, *, session_id: str | None = None, since: float | None = None, limit: int = 500
    ) -> list[sqlite3.Row]:
        clauses: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self.query(
            f"SELECT * FROM checkins {where} ORDER BY at, id LIMIT ?", (*params, limit)
        )

    # -- the day plan's prompts (issue 16) ------------------------------------------------------

    def add_prompt(
        self,
        *,
        key: str,
        kind: str,
        trigger: str,
        text: str,
        state: str,
        due_at: float,
        expires_at: float,
        at: float,
        reason: str = "",
        items: Sequence[dict[str, Any]] = (),
    ) -> Future[Any]:
        """Record a decided prompt (``state`` sent, skipped or expired at ``at``); a key that
        is already stored is left alone (the future then gives 0)."""
        if state not in ("sent", "skipped", "expired"):
            raise ValueError(f"state: expected sent, skipped or expired, got {state!r}")
        future = self._submit(
            "INSERT INTO prompts (key, kind, trigger, text, state, reason, due_at, expires_at, "
            "sent_at, expired_at, items_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO NOTHING",
            (
                key,
                kind,
                trigger,
                text,
                state,
                reason,
                due_at,
                expires_at,
                at if state == "sent" else None,
                at if state != "sent" else None,
                json.dumps(list(items)),
            ),
            wait=True,
        )
        assert future is not None
        return future

    def prompt_keys(self, *, since_due: float) -> set[str]:
        rows = self.query("SELECT key FROM prompts WHERE due_at >= ?", (since_due,))
        return {str(r[0]) for r in rows}

    def get_prompt(self, prompt_id: int) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM prompts WHERE id = ?", (prompt_id,))
        return rows[0] if rows else None

    def prompts(
        self, *, since: float | None = None, state: str | None = None, limit: int = 500
    ) -> list[sqlite3.Row]:
        """Prompts, oldest due first, due at or after ``since``, in ``state`` when given."""
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("due_at >= ?")
            params.append(since)
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self.query(
            f"SELECT * FROM prompts {where} ORDER BY due_at, id LIMIT ?", (*params, limit)
        )

    def prompt_answers(self, prompt_ids: Sequence[int]) -> dict[int, list[sqlite3.Row]]:
        out: dict[int, list[sqlite3.Row]] = {int(i): [] for i in prompt_ids}
        if not out:
            return out
        marks = ",".join("?" * len(out))
        for r in self.query(
            f"SELECT * FROM prompt_answers WHERE prompt_id IN ({marks}) "
            "ORDER BY prompt_id, position",
            tuple(out),
        ):
            out[int(r["prompt_id"])].append(r)
        return out

    def answer_prompt(
        self,
        prompt_id: int,
        *,
        at: float,
        text: str | None,
        note: str | None,
        items: Sequence[dict[str, Any]],
    ) -> Future[Any]:
        """Store an answer of a sent prompt: its text or its check-in items (with their scale
        and anchor words) and note. Only a prompt still ``sent`` changes."""
        self._submit(
            "UPDATE prompts SET state = 'answered', answered_at = ?, answer_text = ?, note = ? "
            "WHERE id = ? AND state = 'sent'",
            (at, text, note, prompt_id),
        )
        if items:
            self._submit(
                "INSERT OR REPLACE INTO prompt_answers (prompt_id, item_key, position, label, "
                "value, choice, scale_min, scale_max, anchor_low, anchor_high) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        prompt_id,
                        i["key"],
                        n,
                        i["label"],
                        i.get("value"),
                        i.get("choice"),
                        i.get("scale_min"),
                        i.get("scale_max"),
                        i.get("anchor_low", ""),
                        i.get("anchor_high", ""),
                    )
                    for n, i in enumerate(items)
                ],
                many=True,
            )
        return self.flush()

    def close_prompt(self, prompt_id: int, *, state: str, at: float) -> Future[Any]:
        """A sent prompt dismissed or expired at ``at``."""
        if state not in ("dismissed", "expired"):
            raise ValueError(f"state: expected dismissed or expired, got {state!r}")
        column = "dismissed_at" if state == "dismissed" else "expired_at"
        future = self._submit(
            f"UPDATE prompts SET state = ?, {column} = ? WHERE id = ? AND state = 'sent'",
            (state, at, prompt_id),
            wait=True,
        )
        assert future is not None
        return future

    def expire_prompts(self, *, now: float) -> Future[Any]:
        """Every sent prompt past its expiry becomes ``expired`` (a missed prompt)."""
        future = self._submit(
            "UPDATE prompts SET state = 'expired', expired_at = expires_at "
            "WHERE state = 'sent' AND expires_at <= ?",
            (now,),
            wait=True,
        )
        assert future is not None
        return future

    def add_webhook_delivery(
        self,
        *,
        url: str,
        kind: str,
        prompt_id: int | None,
        at: float,
        ok: bool,
        attempts: int,
        status: int | None,
        error: str,
    ) -> Future[Any]:
        future = self._submit(
            "INSERT INTO webhook_deliveries (url, kind, prompt_id, at, ok, attempts, status, "
            "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (url, kind, prompt_id, at, int(ok), attempts, status, error[:500]),
            wait=True,
        )
        assert future is not None
        return future

    def webhook_deliveries(self, *, limit: int = 50) -> list[sqlite3.Row]:
        return self.query(
            "SELECT * FROM webhook_deliveries ORDER BY at DESC, id DESC LIMIT ?", (limit,)
        )
