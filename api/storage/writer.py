"""SQLite storage: one database file in the data directory, WAL, versioned migrations.

Writes go through one writer thread with its own connection (:class:`Storage` queues them and
returns at once), so the event loop never waits on the disk. The writer commits a batch at most
``flush_s`` after its first item arrived; a committed beat survives ``kill -9`` (WAL with
``synchronous=NORMAL`` is durable against a crash of the process; a power cut may lose the last
batch). Reads use a connection per thread and are meant to be called through
:func:`asyncio.to_thread` from async code.

On open, sessions left ``running`` by a process that is gone (it died, or closed the database
with them unfinished) are marked ``interrupted``; their data stays. Those of another process
that has the database open (``hrvpace serve`` while ``hrvpace replay --store`` opens it, or the
other way round) are left alone: each opening holds an owner lock, recorded in the sessions it
makes (:mod:`api.storage.owners`). A lock file the opening cannot test (another user's) keeps
its sessions ``running``: logged at WARNING, and said by :attr:`StorageCore.owner_warnings` for
``GET /health``.

Every queued write gets a *ticket* (1, 2, ... in queue order; :attr:`Storage.last_ticket`); the
writer commits in that order and then tells its commit listeners the highest ticket committed
(:meth:`Storage.add_commit_listener`, :attr:`Storage.committed_ticket`). The live pipeline uses
it to publish a beat, a metrics window or a flag only once it is committed (published means
stored: a ``kill -9`` at any moment loses nothing a client was sent).

A write that depends on what the database holds (answer a prompt only if it is still open, and
then store its items and check-in too) is a *transaction function*
(:meth:`StorageCore._submit_transaction`): the writer runs it on its connection inside a
savepoint of the batch, so its statements are committed together or not at all, and no other
write runs between its check and its changes.

A batch the database does not take (locked by another program past SQLite's busy timeout, a
full disk, an I/O error, read-only, ...: :data:`_UNAVAILABLE_CODES`) is not dropped: the writer
keeps it and writes it again, with the back-off of :mod:`api.storage.retry`; later writes wait
behind it, in order, and are written with it. Meanwhile the writer is *behind*
(:attr:`StorageCore.behind`: what waits, what was dropped), and its tickets are not committed
(nothing is published as stored). It is behind as well while a try has lasted
:data:`BEHIND_AFTER_S` (a watchdog thread says so: the writer itself waits in SQLite, up to
its 30-s busy timeout for another program's write lock, or for ever on a stalled disk), and
catches up when that try is taken. What is queued is bounded when it is queued: past
:data:`BACKLOG_MAX_ROWS` rows not yet written, a new write nobody waits for is dropped
(its :class:`Queued` says so at once, to its producer only: the live pipeline publishes nothing
about it). A few writes nobody waits for are never dropped (:meth:`StorageCore._queue_write`
``kept``: guidance with the pacer's events, assessments, paced runs, values). At
:meth:`StorageCore.close` it tries once more, then logs how many rows and beats could not be
stored (counts only). A write that fails on its own (bad data, or any other error of that one
write) fails alone, logged, and its batch's other writes are stored; its ticket is kept for
:meth:`StorageCore.write_failed` before the commit is told, so a live message about it is not
sent (:mod:`api.live`). So are the tickets of a batch lost to an unexpected error (a bug).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from api.storage import retry
from api.storage.connection import StorageError, connect, make_private
from api.storage.owners import Owner, OwnerProbe, Unprobed, folder_problem
from api.storage.retry import retry_delays
from api.storage.schema import migrate

__all__ = [
    "BACKLOG_MAX_ROWS",
    "BATCH_MAX",
    "BEHIND_AFTER_S",
    "Behind",
    "Queued",
    "StorageCore",
    "Transaction",
]

log = logging.getLogger(__name__)

_ACTIVE_STATES = ("starting", "running")


#: A transaction function: runs on the writer's connection; its result is the waiter's.
Transaction = Callable[[sqlite3.Connection], Any]


@dataclass(frozen=True, slots=True)
class _Op:
    sql: str | Transaction
    params: Sequence[Any] | Sequence[Sequence[Any]]
    many: bool = False
    future: Future[Any] | None = None
    ticket: int = 0
    #: Never dropped past :data:`BACKLOG_MAX_ROWS`, though nobody waits for it
    #: (:meth:`StorageCore._queue_write`).
    kept: bool = False


@dataclass(frozen=True, slots=True)
class Queued:
    """A write queued with nobody waiting for it: what its producer may publish about it.

    Attributes
    ----------
    ticket
        Its ticket (:attr:`StorageCore.last_ticket` as it was queued, read under the same lock:
        another thread's write queued meanwhile does not change it). A live message about it
        is published once this ticket is committed.
    dropped
        Dropped when queued (past :data:`BACKLOG_MAX_ROWS`): never stored, so nothing about
        it is published.
    """

    ticket: int
    dropped: bool = False


_STOP = object()

#: Rows (beats, metrics windows, events) the writer keeps in memory, in order, while the
#: database takes no writes, to write once it takes them again: about 20 hours of one strap
#: session (a beat a second at 70/min and its windows and events: 1.2 rows a beat), some
#: 55 MB (measured: 540 bytes a row, 2026-12-06, a simulated session at full speed, the
#: database locked). Past it newer rows are dropped, counted in :attr:`StorageCore.behind`
#: (a live session's ``storage_behind``) and logged. Writes someone waits for (a session's
#: row or final state, an answer) are always kept.
BACKLOG_MAX_ROWS = 100_000
#: A try of the writer that has lasted this long (s) counts as the database taking no writes
#: for :data:`BACKLOG_MAX_ROWS` before it fails (SQLite's busy wait is 30 s).
STUCK_S = 1.0
#: A try of the writer that has lasted this long (s) makes it *behind* (:attr:`StorageCore.behind`:
#: ``GET /health``, a session's ``storage_behind``, the live ``storage`` notice) while it still
#: waits: users learn within seconds that what they record is not stored yet, not after SQLite's
#: 30-s busy wait for another program's write lock (a stalled disk has no timeout at all).
#: Chosen over a shorter busy timeout: the try goes on waiting, so a lock let go is taken at once
#: (a try that had failed would wait out the back-off, up to a minute), and it covers a stalled
#: disk too. Over a healthy commit (a checkpoint on a slow SD card: about 1 s, not enforced),
#: so a slow moment rarely says "behind"; one that does refuses no new session at once for
#: its first 10 s (:attr:`Behind.failed` false: its row waits under the cap,
#: :data:`api.sessions.STOP_STORE_TIMEOUT_S`).
BEHIND_AFTER_S = 3.0

#: Tickets of writes that failed alone kept for :meth:`StorageCore.write_failed` (a failure
#: is rare: one bad write; one never asked about is forgotten after this many more).
FAILED_KEPT = 1000

#: SQLite's busy timeout of the last try at a shutdown while the database takes no writes
#: (milliseconds; the service's is 30 s): a shutdown waits at most this after the try under way.
LAST_TRY_BUSY_MS = 2000

_BEATS_SQL = "INSERT OR REPLACE INTO beats "
_FLUSH_SQL = "SELECT 1"


def _describe(exc: BaseException) -> str:
    """An error's type and SQLite's text; never a parameter's value (health data)."""
    if isinstance(exc, sqlite3.Error):
        return str(exc)
    return type(exc).__name__


#: SQLite's primary result codes of a database that takes no writes for now (locked past the
#: busy timeout, a full disk, an I/O error, a disk remounted read-only or ``-wal`` files left
#: owned by another user, a damaged file, no memory, an interrupt): the write is kept and tried
#: again. Whether it is the database or this one write is told by the writes around it
#: (:meth:`StorageCore._write_all`): a write failing so while others of its pass are stored
#: fails alone.
_UNAVAILABLE_CODES = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_PROTOCOL",
    "SQLITE_READONLY",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_NOMEM",
    "SQLITE_INTERRUPT",
)


def _unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` may say the database takes no writes for now (not: this write is bad)."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return isinstance(exc, sqlite3.Error) and name.startswith(_UNAVAILABLE_CODES)


class _UnavailableError(Exception):
    """The database took no writes: the batch is rolled back and kept.

    ``whole``: the database took nothing at all (its write lock not had, the transaction gone,
    or every write of a one-by-one pass failed so); else a write failed so among others, and
    the batch is written one by one to tell.
    """

    def __init__(self, message: str, *, whole: bool) -> None:
        super().__init__(message)
        self.whole = whole


def _rows(op: _Op) -> int:
    """Rows a queued write counts against :data:`BACKLOG_MAX_ROWS` (0: waited for, or kept)."""
    if op.future is not None or op.kept:
        return 0
    return _all_rows(op)


def _all_rows(op: _Op) -> int:
    """Rows a queued write holds (1 for a transaction function)."""
    return len(op.params) if op.many else 1


@dataclass(frozen=True, slots=True)
class Behind:
    """The writes the database has not taken, while it takes none.

    Attributes
    ----------
    since
        When the first try held up began (it failed, or has lasted :data:`BEHIND_AFTER_S`:
        it may yet be taken), Unix seconds: for display.
    held_since
        The same moment on :func:`time.monotonic` (a step of the wall clock does not move
        it): what a stall is measured from (:mod:`api.sessions`).
    rows_waiting, beats_waiting
        Rows queued or kept in memory, not written yet (beats among them).
    rows_dropped, beats_dropped
        Rows dropped past :data:`BACKLOG_MAX_ROWS` (beats among them): lost.
    error
        SQLite's last error, or that a try has waited over :data:`BEHIND_AFTER_S` (the
        watchdog's: :attr:`failed` false).
    failed
        A try has failed (the database took no writes: it is kept and tried again after a
        back-off). False while the only sign is a try that has lasted :data:`BEHIND_AFTER_S`
        and still waits: it may yet be taken (a slow disk, a lock let go) or fail.
    """

    since: float
    held_since: float
    rows_waiting: int
    beats_waiting: int
    rows_dropped: int
    beats_dropped: int
    error: str
    failed: bool


def _beats(op: _Op, rows: int) -> int:
    return rows if isinstance(op.sql, str) and op.sql.startswith(_BEATS_SQL) else 0


class _Backlog:
    """Writes kept, in queue order, while the database takes none.

    Bounded when queued (:meth:`StorageCore._submit` drops a write past
    :data:`BACKLOG_MAX_ROWS`), so nothing here is dropped.
    """

    def __init__(self) -> None:
        self.ops: list[_Op] = []
        self.rows = self.beats = 0
        #: Writes someone waits for among :attr:`ops` (then the back-off is capped lower).
        self.waited = 0

    def keep(self, op: _Op) -> None:
        self.waited += op.future is not None
        rows = _all_rows(op)
        self.ops.append(op)
        self.rows += rows
        self.beats += _beats(op, rows)


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


class StorageCore:
    """The database's life cycle, its writer thread and reads. Thread-safe.

    :class:`api.storage.Storage` adds the tables' methods (one module per group of tables).

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
            make_private(path)
            conn = connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"{path}: cannot open the database ({exc})") from exc
        try:
            #: This opening's owner: the sessions it makes are its own (:mod:`.owners`).
            self.owner = Owner(path)
        except OSError as exc:
            conn.close()
            problem = folder_problem(path)  # a root-made owners folder: which, and the fix
            if problem is not None:
                raise StorageError(f"{path}: cannot open the database: {problem}") from exc
            raise StorageError(f"{path}: cannot open the database ({exc})") from exc
        try:
            self.schema_version = migrate(conn)
            self.interrupted_on_open, self._unprobed = self._mark_interrupted(conn)
        except BaseException as exc:
            conn.close()
            self.owner.release()
            if isinstance(exc, (OSError, sqlite3.Error)):  # one error hierarchy (code review)
                raise StorageError(
                    f"{path}: cannot open the database ({type(exc).__name__}: {exc})"
                ) from exc
            raise
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
        self._behind_listeners: list[Callable[[Behind | None], None]] = []
        self._pending_rows = 0  # rows queued and not yet written or failed (not waited ones)
        #: Rows (beats among them) of every write queued and not yet written or failed,
        #: waited or kept ones too: what :attr:`behind` says waits, also those still queued
        #: behind a try that waits in SQLite.
        self._unwritten_rows = self._unwritten_beats = 0
        self._dropped_rows = self._dropped_beats = 0  # since the last log of drops
        #: Tickets of writes nobody waited for that failed alone (:meth:`write_failed`),
        #: oldest first, the latest :data:`FAILED_KEPT` of them.
        self._failed: dict[int, None] = {}
        #: Guards what the writer and its watchdog (:meth:`_watch`) both set: :attr:`_behind`
        #: and the try under way; the behind listeners are called holding it, so they are
        #: told in order (reentrant: a listener may read :attr:`behind`).
        self._behind_cond = threading.Condition(threading.RLock())
        self._behind: Behind | None = None
        #: When the writer began the try it is in (monotonic), ``None`` between tries: the
        #: bound applies only while a try has been stuck for STUCK_S or the writer is behind,
        #: and the watchdog says behind once it has lasted BEHIND_AFTER_S.
        self._trying_since: float | None = None
        self._trying_wall = 0.0  # the same, Unix seconds (Behind.since)
        self._trying_began = 0.0  # the last try's start, kept after it (Behind.held_since)
        self._watch_idle = False  # the watchdog waits for a try to begin (told by _trying)
        self._watch_stop = False
        self._backlog: _Backlog | None = None  # what the last try at close did not store
        self._thread = threading.Thread(target=self._run, name="hrvpace-db-writer", daemon=True)
        self._thread.start()
        self._watchdog = threading.Thread(
            target=self._watch, name="hrvpace-db-watchdog", daemon=True
        )
        self._watchdog.start()

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def owner_warnings(self) -> tuple[str, ...]:
        """What this opening found wrong with the owner locks (:mod:`.owners`), for ``GET /health``.

        Each names its file within the data dir and what to do; re-checked at each read (a
        file gone since says so: :meth:`~api.storage.owners.Unprobed.public_warning`).
        """
        return tuple(unprobed.public_warning() for unprobed in self._unprobed)

    def _mark_interrupted(self, conn: sqlite3.Connection) -> tuple[list[str], tuple[Unprobed, ...]]:
        """Mark ``interrupted`` the sessions left running by a gone owner.

        Returns their ids, and the lock files that could not be probed (logged, with their
        full paths and how many sessions each keeps running).
        """
        rows = conn.execute(
            "SELECT id, owner FROM sessions WHERE state IN (?, ?)", _ACTIVE_STATES
        ).fetchall()
        probe = OwnerProbe(self.path)
        ids = [r[0] for r in rows if not probe.alive(r[1])]
        probe.sweep()
        for unprobed in probe.unprobed:
            running = sum(r[1] == unprobed.owner_id for r in rows)
            log.warning("%s", unprobed.warning(running=running))
        now = time.time()
        for session_id in ids:
            last = conn.execute(
                "SELECT MAX(arrived_at) FROM beats WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            # A sped-up simulated person's beats arrive on its own clock, ahead of the wall
            # clock; the session cannot have ended after this restart.
            if last is not None:
                last = min(last, now)
            conn.execute(
                "UPDATE sessions SET state = 'interrupted', ended_at = COALESCE(?, created_at), "
                "message = 'the service stopped while this session was running' WHERE id = ?",
                (last, session_id),
            )
        if ids:
            log.warning("%d session(s) left running by a previous run marked interrupted", len(ids))
        return ids, tuple(probe.unprobed)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (every write raises :class:`StorageError` then)."""
        return self._closed

    def close(self) -> None:
        """Commit what is queued, stop the writer and close every connection.

        While the database takes no writes: the try under way ends (SQLite's busy timeout,
        30 s, at most), then one more try at once (its busy timeout
        :data:`LAST_TRY_BUSY_MS`), then what it could not store is logged as counts and its
        waiters get :class:`StorageError`.
        """
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        with self._behind_cond:
            self._watch_stop = True
            self._behind_cond.notify_all()
        self._watchdog.join()
        self._writer_conn.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self.owner.release()  # a session it left running is now a gone owner's

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            try:
                batch, stop = self._gather()
                if batch:
                    stop = self._write(batch, stop=stop)
            except Exception:  # the writer must never die: every later write would hang
                log.exception("database writer: unexpected error")
        if self._behind is not None:  # the last try failed: what was received is lost
            self._give_up()

    def _gather(self) -> tuple[list[_Op], bool]:
        """The next batch from the queue (empty at a stop), and whether a stop came."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
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
                return batch, True
            op: _Op = item  # type: ignore[assignment]
            batch.append(op)
            if op.future is not None:  # someone waits: commit now
                break
            if len(batch) >= BATCH_MAX:  # live messages wait for this commit: keep it short
                break
        return batch, False

    def _write(self, batch: list[_Op], *, stop: bool) -> bool:
        """:meth:`_write_batch`, then what was dropped meanwhile is logged."""
        try:
            return self._write_batch(batch, stop=stop)
        finally:
            # a slow try that was taken (never behind): its drops are said all the same; while
            # behind (a close whose last try failed) _give_up says them
            dropped_rows, dropped_beats = (0, 0) if self._behind else self._take_dropped()
            if dropped_rows:
                log.error(
                    "%d rows (%d beats) were dropped while the database was slow to take "
                    "writes (more than %d waited)",
                    dropped_rows,
                    dropped_beats,
                    BACKLOG_MAX_ROWS,
                )

    def _stuck(self) -> bool:
        """The writer is behind, or its try has lasted :data:`STUCK_S`: the bound applies."""
        since = self._trying_since
        return self._behind is not None or (
            since is not None and time.monotonic() - since > STUCK_S
        )

    @contextmanager
    def _trying(self) -> Iterator[None]:
        """A try (one :meth:`_commit`), timed for :meth:`_stuck` and :meth:`_watch`.

        The time after COMMIT counts too: the commit listeners and the waiters' done-callbacks
        run in this thread before the try ends. They only hand over to an event loop
        (``call_soon_threadsafe``) and are fast; a slow one would make a spurious behind and
        caught-up pair, nothing lost (code review: timing to COMMIT alone was not worth a
        second path).
        """
        with self._behind_cond:
            self._trying_since = self._trying_began = time.monotonic()
            self._trying_wall = time.time()
            if self._watch_idle:
                self._behind_cond.notify_all()
        try:
            yield
        finally:
            with self._behind_cond:
                self._trying_since = None

    def _watch(self) -> None:
        """The watchdog thread: a try lasting :data:`BEHIND_AFTER_S` makes the writer behind.

        The writer itself cannot say so: it waits in SQLite (its busy timeout for another
        program's write lock, 30 s; a stalled disk's I/O, with no timeout). The try goes on;
        once it is taken, the writer catches up (:meth:`_caught_up`), and once it fails, the
        writer keeps what it holds (:meth:`_write_batch`), behind since the try began.
        Wakes once a try begins after an idle spell, then at most every BEHIND_AFTER_S.
        Never dies (as the writer): an unexpected error is logged, and the next round comes
        BEHIND_AFTER_S later (no spin on an error that repeats). Its traceback is logged once
        per try: the same error again in the same try (a stalled disk's has no end) only at
        DEBUG (code review).
        """
        cond = self._behind_cond
        logged_try: float | None = None  # the try whose error was logged (its _trying_since)
        with cond:
            while not self._watch_stop:
                try:
                    self._watch_round()
                except Exception:
                    if logged_try is None or logged_try != self._trying_since:
                        log.exception("database watchdog: unexpected error")
                        logged_try = self._trying_since
                    else:
                        log.debug("database watchdog: unexpected error again", exc_info=True)
                    self._watch_idle = False
                    cond.wait(BEHIND_AFTER_S)

    def _watch_round(self) -> None:
        """One round of :meth:`_watch`, holding :attr:`_behind_cond`: wait, or say behind."""
        cond = self._behind_cond
        since = self._trying_since
        if since is None or self._behind is not None:  # nothing to time
            self._watch_idle = True
            cond.wait()
            self._watch_idle = False
            return
        after_s = BEHIND_AFTER_S  # read at each try (tests lower it)
        left_s = since + after_s - time.monotonic()
        if left_s > 0:
            cond.wait(left_s)
            return
        self._behind = Behind(
            since=self._trying_wall,
            held_since=since,
            rows_waiting=0,  # counted when queued: see behind
            beats_waiting=0,
            rows_dropped=0,
            beats_dropped=0,
            error=f"a write has waited over {after_s:g} s: the database is locked by "
            "another program, or the disk is slow or stalled",
            failed=False,  # it may still be taken
        )
        self._tell_behind()  # first: an error after it leaves nobody untold
        behind = self.behind
        assert behind is not None
        log.warning(
            "a database write has waited over %g s (the database is locked by another "
            "program, or the disk is slow or stalled): storage is behind, %d rows "
            "(%d beats) wait",
            after_s,
            behind.rows_waiting,
            behind.beats_waiting,
        )

    def _write_batch(self, batch: list[_Op], *, stop: bool) -> bool:
        """Commit ``batch``; one the database does not take is kept and tried again.

        While the database takes no writes (:class:`_UnavailableError`) the writer is *behind*
        (:attr:`behind`): later writes queue behind the failed batch, in order, and every
        try writes them all in one transaction, after :func:`~api.storage.retry.retry_delays`
        (at most :data:`~api.storage.retry.RETRY_WAITED_MAX_S` while a write someone waits
        for is among them). What is queued is bounded when queued (:meth:`_submit`: past
        :data:`BACKLOG_MAX_ROWS` rows newer ones are dropped, counted and logged). Once a
        stop came (``stop``, or meanwhile) one more try is made at once (:meth:`close`).
        Returns whether a stop came.
        """
        try:
            with self._trying():
                self._commit(self._writer_conn, batch)
        except _UnavailableError as exc:
            failure = exc
        except Exception as exc:  # the writer must never die: every later write would hang
            self._lost(batch, exc)
            self._caught_up(stored=False)
            return stop
        else:
            self._caught_up(stored=True)  # a try the watchdog said behind was taken at last
            return stop
        backlog = _Backlog()
        for op in batch:
            backlog.keep(op)
        with self._behind_cond:  # behind since the try began (the watchdog may have said so)
            told = self._behind is not None
            self._set_behind(failure, since=(self._trying_wall, self._trying_began))
            if not told:
                self._tell_behind()
        stored = False
        for backoff_s in retry_delays():
            # a write someone waits for (a stopped session's final state): tried at least
            # every RETRY_WAITED_MAX_S, taken within that of the database taking writes
            delay_s = min(backoff_s, retry.RETRY_WAITED_MAX_S) if backlog.waited else backoff_s
            self._log_behind(backlog, failure, delay_s)
            if not stop:
                stop = self._wait_gathering(backlog, delay_s)
            if stop:  # the last try: a shutdown waits for it
                with suppress(sqlite3.Error):
                    self._writer_conn.execute(f"PRAGMA busy_timeout = {LAST_TRY_BUSY_MS:d}")
            try:
                with self._trying():
                    self._commit(self._writer_conn, backlog.ops)
            except _UnavailableError as exc:
                failure = exc
                self._set_behind(failure)
                if stop:  # shutting down: that was the last try
                    self._backlog = backlog
                    return True
                continue
            except Exception as exc:
                self._lost(backlog.ops, exc)
            else:
                stored = True
            break
        with self._behind_cond:
            behind = self._behind
            self._behind = None
            self._tell_behind()
        dropped_rows, dropped_beats = self._take_dropped()
        if behind is not None and stored:
            log.warning(
                "the database takes writes again: %d rows (%d beats) kept since %.0f s stored; "
                "%d rows (%d beats) were dropped",
                backlog.rows,
                backlog.beats,
                time.time() - behind.since,
                dropped_rows,
                dropped_beats,
            )
        return stop

    def _lost(self, ops: list[_Op], exc: Exception) -> None:
        """An unexpected error: ``ops`` are not stored; logged, their waiters told.

        Their tickets count as done once a later write is committed (the writer goes on in
        order); those nobody waited for are kept for :meth:`write_failed`, as a write that
        failed alone, so a live message about one is never sent (code review).
        """
        log.error(
            "database writer: unexpected error (%s) in a batch of %d writes: not stored",
            type(exc).__name__,
            len(ops),
            exc_info=exc,
        )
        if not ops:
            return
        self._written(ops)
        self._record_failed([op.ticket for op in ops if op.future is None])
        self._fail_waiters(ops, exc)

    def _wait_gathering(self, backlog: _Backlog, delay_s: float) -> bool:
        """Wait ``delay_s``, queueing what arrives behind ``backlog``; whether a stop came."""
        deadline = time.monotonic() + delay_s
        while (timeout := deadline - time.monotonic()) > 0:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                break
            if item is _STOP:
                return True
            backlog.keep(item)  # type: ignore[arg-type]
            if item.future is not None:  # type: ignore[attr-defined]
                # someone waits for it (a final state): tried within RETRY_WAITED_MAX_S
                deadline = min(deadline, time.monotonic() + retry.RETRY_WAITED_MAX_S)
        return False

    def _set_behind(self, failure: Exception, *, since: tuple[float, float] | None = None) -> None:
        """Behind since ``since``, ``failure`` its last error.

        ``since`` is the held-up try's start (Unix seconds, monotonic), kept if behind already;
        ``None``: now.
        """
        with self._behind_cond:
            old = self._behind
            wall, held = since or (time.time(), time.monotonic())
            self._behind = Behind(
                since=old.since if old else wall,
                held_since=old.held_since if old else held,
                rows_waiting=0,  # counted when queued and written: see behind
                beats_waiting=0,
                rows_dropped=0,  # counted when queued: see behind
                beats_dropped=0,
                error=str(failure),
                failed=True,
            )

    def _caught_up(self, *, stored: bool) -> None:
        """A try the watchdog said behind (:meth:`_watch`) is over: no longer behind.

        ``stored``: it was taken (else lost to an unexpected error, logged by :meth:`_lost`:
        the database took its lock all the same). Nothing when it was not said behind.
        """
        with self._behind_cond:
            behind = self._behind
            if behind is None:
                return
            self._behind = None
            self._tell_behind()
        if stored:
            log.warning(
                "the database takes writes again: a write that waited %.0f s is stored",
                time.time() - behind.since,
            )

    def _log_behind(self, backlog: _Backlog, failure: Exception, delay_s: float) -> None:
        log.warning(
            "the database takes no writes (%s): %d writes, %d rows (%d beats) kept in memory, "
            "%d rows (%d beats) dropped; trying again in %g s",
            failure,
            len(backlog.ops),
            backlog.rows,
            backlog.beats,
            self._dropped_rows,
            self._dropped_beats,
            delay_s,
        )

    def _give_up(self) -> None:
        """At close, the last try failed: count what is lost, tell its waiters, log it."""
        backlog = self._backlog
        self._backlog = None
        if backlog is None:
            return
        dropped_rows, dropped_beats = self._take_dropped()
        log.error(
            "the database took no writes before the service stopped: %d rows (%d beats) "
            "received could not be stored (%d rows, %d beats, dropped before)",
            backlog.rows,
            backlog.beats,
            dropped_rows,
            dropped_beats,
        )
        self._fail_waiters(backlog.ops, StorageError("the database took no writes"))

    @property
    def behind(self) -> Behind | None:
        """The writes the database has not taken yet, while it takes none (``None``: none).

        Also while a try of the writer has lasted :data:`BEHIND_AFTER_S` (:meth:`_watch`).
        """
        behind = self._behind
        if behind is None:
            return None
        with self._submit_lock:
            return replace(
                behind,
                rows_waiting=self._unwritten_rows,
                beats_waiting=self._unwritten_beats,
                rows_dropped=self._dropped_rows,
                beats_dropped=self._dropped_beats,
            )

    @staticmethod
    def _fail_waiters(batch: list[_Op], exc: Exception) -> None:
        """Tell every waiter of ``batch`` still waiting that its write failed (none hangs)."""
        error = StorageError(f"database write failed ({type(exc).__name__})")
        for op in batch:
            if op.future is not None and not op.future.done():
                with suppress(RuntimeError):  # already running: being resolved
                    _resolve(op.future, error=error)

    def _committed(self, ticket: int) -> None:
        """Every write up to ``ticket`` is done (committed, or failed and logged)."""
        self.committed_ticket = ticket
        for listener in list(self._commit_listeners):
            try:
                listener(ticket)
            except Exception:  # a listener's bug must not stop the writer
                log.exception("database writer: a commit listener failed")

    def _record_failed(self, tickets: list[int]) -> None:
        """Keep ``tickets`` (writes nobody waited for, not stored) for :meth:`write_failed`."""
        if not tickets:
            return
        with self._submit_lock:
            self._failed.update(dict.fromkeys(tickets))
            while len(self._failed) > FAILED_KEPT:
                del self._failed[next(iter(self._failed))]

    def write_failed(self, ticket: int) -> bool:
        """Whether the write of ``ticket`` (nobody waited for it) failed: not stored.

        It failed alone, or its batch was lost to an unexpected error.

        Told once (then forgotten), for writes committed by now: a live message about it is
        not sent (published means stored). Only the latest :data:`FAILED_KEPT` are known.
        """
        with self._submit_lock:
            if ticket in self._failed:
                del self._failed[ticket]
                return True
            return False

    def _tell_behind(self) -> None:
        """Tell the behind listeners :attr:`behind` as it is now; holding :attr:`_behind_cond`."""
        state = self.behind  # as it is now: the listener may read it later, on another thread
        for listener in list(self._behind_listeners):
            try:
                listener(state)
            except Exception:  # a listener's bug must not stop the writer
                log.exception("database writer: a behind listener failed")

    def add_behind_listener(self, listener: Callable[[Behind | None], None]) -> None:
        """Call ``listener(behind)`` as the database stops taking writes.

        That is, as :attr:`behind` is set, with its value then (``since``, ``error``: a
        listener that reads :attr:`behind` later may find it caught up already);
        ``listener(None)`` as it takes them again. Called in the writer thread, or in its
        watchdog's (a try that has lasted :data:`BEHIND_AFTER_S`), one call at a time and in
        order (behind, caught up, behind, ...): keep it short, and never wait in it for
        another thread that writes.
        """
        self._behind_listeners.append(listener)

    def remove_behind_listener(self, listener: Callable[[Behind | None], None]) -> None:
        """Stop calling ``listener`` (nothing when it was not added)."""
        with suppress(ValueError):
            self._behind_listeners.remove(listener)

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(ticket)`` (in the writer thread) after each committed batch."""
        self._commit_listeners.append(listener)

    def remove_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Stop calling ``listener`` after commits (nothing when it was not added)."""
        with suppress(ValueError):
            self._commit_listeners.remove(listener)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        """Write ``batch`` in one transaction, then tell its waiters.

        A write that fails on its own (bad data, or any other error of that write) fails
        alone: the batch is written again one write at a time, each in a savepoint, in one
        transaction still. Raises :class:`_UnavailableError`, nothing written, when the
        database takes no writes.
        """
        if not batch:
            return
        try:
            results = StorageCore._write_all(conn, batch, each=False)
        except _UnavailableError as exc:
            if exc.whole:
                raise
            log.warning("a database write failed (%s); writing its batch one by one", exc)
            results = StorageCore._write_all(conn, batch, each=True)
        except Exception as exc:
            log.error(
                "database batch of %d writes failed (%s); retrying one by one",
                len(batch),
                type(exc).__name__,
            )
            results = StorageCore._write_all(conn, batch, each=True)
        self._written(batch)
        # known before the commit is told: a message about one is never sent
        self._record_failed(
            [op.ticket for op, _, error in results if error is not None and op.future is None]
        )
        # the commit is known before any waiter wakes up (a waiter may read committed_ticket)
        self._committed(batch[-1].ticket)
        for op, result, error in results:
            if op.future is not None:
                _resolve(op.future, result=result, error=error)

    @staticmethod
    def _write_all(
        conn: sqlite3.Connection, batch: list[_Op], *, each: bool
    ) -> list[tuple[_Op, Any, BaseException | None]]:
        """Run ``batch`` in one transaction; ``each``: every write in its own savepoint.

        The transaction takes the write lock first (``BEGIN IMMEDIATE``): when it cannot, the
        database takes no writes and nothing is tried. A write that fails, the transaction
        still open, fails alone in ``each`` mode; one whose error may say the database takes
        no writes (:func:`_unavailable`: a full disk, read-only, ...) fails alone only when
        another write of the pass is stored (else the database took none: all is kept).
        """
        results: list[tuple[_Op, Any, BaseException | None]] = []
        if conn.in_transaction:  # never left open, but never write into an unknown one
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _UnavailableError(str(exc), whole=True) from exc
        doubtful: Exception | None = None  # a write failed as if the database took none
        stored = False
        try:
            for op in batch:
                fn = None if isinstance(op.sql, str) else op.sql
                if each or fn is not None:
                    conn.execute("SAVEPOINT one_write")
                try:
                    if fn is not None:
                        result: Any = fn(conn)
                    elif op.many:
                        result = conn.executemany(op.sql, op.params).lastrowid  # type: ignore[arg-type]
                    else:
                        result = conn.execute(op.sql, op.params).lastrowid  # type: ignore[arg-type]
                except Exception as exc:
                    if not conn.in_transaction:  # SQLite rolled it all back (a full disk)
                        raise _UnavailableError(str(exc), whole=True) from exc
                    if not (each or fn is not None) or (not each and _unavailable(exc)):
                        raise  # the one-by-one pass tells
                    conn.execute("ROLLBACK TO one_write")
                    conn.execute("RELEASE one_write")
                    if _unavailable(exc):
                        doubtful = exc
                    if fn is not None and not _unavailable(exc):
                        log.exception("database write failed (a transaction function; rolled back)")
                    else:
                        log.error("database write failed: %s", _describe(exc))
                    results.append(
                        (op, None, StorageError(f"database write failed: {_describe(exc)}"))
                    )
                    continue
                if each or fn is not None:
                    conn.execute("RELEASE one_write")
                results.append((op, result, None))
                stored = stored or op.sql != _FLUSH_SQL
            if doubtful is not None and not stored:  # none taken: the database, not a write
                raise _UnavailableError(str(doubtful), whole=True) from doubtful
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if _unavailable(exc):
                raise _UnavailableError(str(exc), whole=each) from exc
            raise
        return results

    def _submit(
        self, sql: str, params: Sequence[Any], *, many: bool = False, wait: bool = False
    ) -> Future[Any] | None:
        """Queue a write; past :data:`BACKLOG_MAX_ROWS` rows not yet written it is dropped.

        Only while the database takes no writes (:meth:`_stuck`: behind, or a try has lasted
        :data:`STUCK_S`): a healthy database that is merely slower than a bulk producer (a
        benchmark's fill) keeps every row (code review).

        A dropped write still takes its ticket; its :class:`Queued` (:meth:`_queue_write`)
        tells whoever queued it (the live pipeline), which does not publish what it holds.
        Only writes nobody waits for are dropped: a write queued here and waited for never is.
        """
        future: Future[Any] | None = Future() if wait else None
        self._enqueue(_Op(sql, params, many, future))
        return future

    def _queue_write(
        self, sql: str, params: Sequence[Any], *, many: bool = False, kept: bool = False
    ) -> Queued:
        """Queue a write nobody waits for; its ticket and whether it was dropped, at once.

        ``kept``: never dropped (nor counted against :data:`BACKLOG_MAX_ROWS`): a write of a
        state few writes change, which no later write brings back (an assessment's verdict,
        the pacer's events, a session's paced runs, the learned baseline).
        """
        return self._enqueue(_Op(sql, params, many, kept=kept))

    def _enqueue(self, op: _Op) -> Queued:
        """Number ``op`` and queue it, or drop it past the bound (:meth:`_submit`)."""
        if self._closed:
            raise StorageError("storage is closed")
        rows = _rows(op)
        with self._submit_lock:  # tickets follow queue order
            self.last_ticket += 1
            ticket = self.last_ticket
            if rows and self._pending_rows + rows > BACKLOG_MAX_ROWS and self._stuck():
                first = self._dropped_rows == 0
                self._dropped_rows += rows
                self._dropped_beats += _beats(op, rows)
            else:
                self._pending_rows += rows
                all_rows = _all_rows(op)
                self._unwritten_rows += all_rows
                self._unwritten_beats += _beats(op, all_rows)
                self._queue.put(replace(op, ticket=ticket))
                return Queued(ticket)
        if first:
            behind = self._behind
            log.error(
                "%d rows wait to be written (the most kept, BACKLOG_MAX_ROWS)%s: newer beats, "
                "metrics and events are dropped until the database takes writes",
                self._pending_rows,
                f"; the database has taken no writes for {time.time() - behind.since:.0f} s"
                if behind is not None
                else "",
            )
        return Queued(ticket, dropped=True)

    def _written(self, ops: Sequence[_Op]) -> None:
        """``ops`` left the queue (written, or failed): their rows no longer count."""
        rows = sum(_rows(op) for op in ops)
        all_rows = [_all_rows(op) for op in ops]
        beats = sum(_beats(op, n) for op, n in zip(ops, all_rows, strict=True))
        with self._submit_lock:
            self._pending_rows -= rows
            self._unwritten_rows -= sum(all_rows)
            self._unwritten_beats -= beats

    def _take_dropped(self) -> tuple[int, int]:
        """Rows and beats dropped since the last call, and the count starts again."""
        with self._submit_lock:
            dropped = (self._dropped_rows, self._dropped_beats)
            self._dropped_rows = self._dropped_beats = 0
        return dropped

    def _submit_transaction(self, fn: Transaction) -> Future[Any]:
        """Queue ``fn`` to run on the writer's connection, all its writes or none.

        The future gives what ``fn`` returns once committed (a :class:`StorageError` when it
        raised: its writes are rolled back, the batch's other writes are not). ``fn`` runs in
        queue order with every other write, so what it reads is not changed under it.
        """
        if self._closed:
            raise StorageError("storage is closed")
        future: Future[Any] = Future()
        with self._submit_lock:
            self.last_ticket += 1
            self._unwritten_rows += 1
            self._queue.put(_Op(fn, (), False, future, self.last_ticket))
        return future

    def flush(self) -> Future[Any]:
        """A future that completes once everything queued before it is committed."""
        future = self._submit(_FLUSH_SQL, (), wait=True)
        assert future is not None
        return future

    # -- reads ---------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        yield conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query and return its rows (blocking: call via a thread from async)."""
        with self._read() as conn:
            return conn.execute(sql, params).fetchall()

    def query_together(
        self, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[sqlite3.Row]]:
        """Run read-only queries in one read transaction: all see the same committed state.

        Separate :meth:`query` calls each see the database as it is then: a write committed
        between two of them shows in the second only (blocking: call via a thread).
        """
        with self._read() as conn:
            conn.execute("BEGIN")
            try:
                return [conn.execute(sql, params).fetchall() for sql, params in queries]
            finally:
                conn.execute("COMMIT")
