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

A write that depends on what the database holds (answer a prompt only if it is still open, and
then store its items and check-in too) is a *transaction function*
(:meth:`StorageCore._submit_transaction`): the writer runs it on its connection inside a
savepoint of the batch, so its statements are committed together or not at all, and no other
write runs between its check and its changes.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.storage.connection import StorageError, connect, make_private
from api.storage.schema import migrate

__all__ = ["BATCH_MAX", "StorageCore", "Transaction"]

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
        self.schema_version = migrate(conn)
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
        return ids

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (every write raises :class:`StorageError` then)."""
        return self._closed

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
            except Exception as exc:  # the writer must never die: every later write would hang
                log.exception("database writer: unexpected error in a batch of %d", len(batch))
                self._committed(batch[-1].ticket)
                self._fail_waiters(batch, exc)

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

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(ticket)`` (in the writer thread) after each committed batch."""
        self._commit_listeners.append(listener)

    def remove_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Stop calling ``listener`` after commits (nothing when it was not added)."""
        with suppress(ValueError):
            self._commit_listeners.remove(listener)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        results: list[tuple[_Op, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN")
            for op in batch:
                if not isinstance(op.sql, str):
                    results.append((op, *StorageCore._transaction(conn, op.sql)))
                    continue
                if op.many:
                    cur = conn.executemany(op.sql, op.params)
                else:
                    cur = conn.execute(op.sql, op.params)
                results.append((op, cur.lastrowid, None))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.exception("database batch of %d writes failed; retrying one by one", len(batch))
            StorageCore._commit_one_by_one(conn, batch, exc)
            self._committed(batch[-1].ticket)  # written, or failed and logged
            return
        # the commit is known before any waiter wakes up (a waiter may read committed_ticket)
        self._committed(batch[-1].ticket)
        for op, result, error in results:
            if op.future is not None:
                _resolve(op.future, result=result, error=error)

    @staticmethod
    def _transaction(conn: sqlite3.Connection, fn: Transaction) -> tuple[Any, BaseException | None]:
        """Run ``fn`` in a savepoint: all its writes, or none (its error is its waiter's).

        Inside the batch's transaction the savepoint nests; outside one (a batch retried one
        write at a time) it is a transaction of its own, committed on release.
        """
        conn.execute("SAVEPOINT write_fn")
        try:
            result = fn(conn)
        except Exception as exc:  # the batch's other writes go on
            conn.execute("ROLLBACK TO write_fn")
            conn.execute("RELEASE write_fn")
            log.exception("database write failed (a transaction function; rolled back)")
            return None, StorageError(f"database write failed ({type(exc).__name__})")
        conn.execute("RELEASE write_fn")
        return result, None

    @staticmethod
    def _commit_one_by_one(conn: sqlite3.Connection, batch: list[_Op], first: Exception) -> None:
        for op in batch:
            if not isinstance(op.sql, str):
                result, error = StorageCore._transaction(conn, op.sql)
                if op.future is not None:
                    _resolve(op.future, result=result, error=error)
                continue
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
            self._queue.put(_Op(fn, (), False, future, self.last_ticket))
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
