"""The storage writer while the database takes no writes: nothing received is lost.

Review: past SQLite's busy timeout (30 s in the service) the writer failed the batch and the
beats it held were lost (logged). Now it keeps a failed batch, tries it again with the
back-off of :mod:`api.storage.retry`, later writes waiting behind it in order, in memory up to
:data:`api.storage.writer.BACKLOG_MAX_ROWS` rows, and says so (:attr:`Storage.behind`).

A real SQLite file, its write lock held by a second connection (another program); the busy
timeout lowered to 50 ms and the back-off to a few ms so that nothing waits long. The last
tests keep the service's 30-s busy timeout and lower the watchdog's
:data:`api.storage.writer.BEHIND_AFTER_S` instead: behind is said while a try still waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect as ws_connect

import api.pipeline.loop
import api.sessions
import api.storage.retry
import api.storage.writer
from api.live import LiveHub
from api.messages import parse_live_message
from api.pipeline.loop import Pipeline
from api.storage import BeatRow, Behind, Storage, StorageError
from api.storage.connection import connect
from sensors import Beat, SourceState, SourceStatus, SystemClock, VirtualClock
from tests.api.conftest import ScriptedSource, Server, asgi_service, scripted_factory


@pytest.fixture
def impatient(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 50-ms busy timeout and a 10-50-ms back-off (the service's: 30 s, 1-60 s)."""

    def connect_impatient(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.execute("PRAGMA busy_timeout = 50")
        return conn

    monkeypatch.setattr(api.storage.writer, "connect", connect_impatient)
    monkeypatch.setattr(api.storage.retry, "RETRY_FIRST_S", 0.01)
    monkeypatch.setattr(api.storage.retry, "RETRY_MAX_S", 0.05)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another program holds the database's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _beat(i: int, rr_ms: float = 800.0) -> BeatRow:
    return (i, i * 0.8, rr_ms, 100.0 + i, True, False, None)


def _until(cond: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def _open(tmp_path: Path) -> Storage:
    st = Storage(tmp_path / "db.sqlite3", flush_s=0.005)
    st.create_session("s1", created_at=1.0, mode="monitor", source={"kind": "x"}, options={})
    st.flush().result(timeout=10)
    return st


def test_beats_received_while_the_database_is_locked_are_all_stored_in_order(
    tmp_path: Path, impatient: None
) -> None:
    st = _open(tmp_path)
    tickets: list[int] = []
    st.add_commit_listener(tickets.append)
    try:
        with locked(st.path):
            for i in range(40):
                st.add_beats("s1", [_beat(i)])
                if i == 5:  # the first batches failed: the writer is behind
                    _until(lambda: st.behind is not None, "the writer never said it is behind")
            # a later write of beat 3 (INSERT OR REPLACE): written after the first, it wins
            st.add_beats("s1", [_beat(3, rr_ms=999.0)])
            _until(
                lambda: st.behind is not None and st.behind.beats_waiting == 41,
                f"not every beat kept: {st.behind}",
            )
            time.sleep(0.2)  # several tries fail meanwhile (4 or more at 50 ms each)
            behind = st.behind
            assert behind is not None and "locked" in behind.error, behind
            assert (behind.beats_dropped, behind.rows_dropped) == (0, 0)
            assert st.committed_ticket < st.last_ticket  # nothing published as stored
            assert st.beats("s1") == []
        st.flush().result(timeout=10)
        assert st.behind is None
        want = [_beat(i, rr_ms=999.0 if i == 3 else 800.0) for i in range(40)]
        assert st.beats("s1") == want
        assert tickets == sorted(tickets) and tickets[-1] == st.last_ticket
    finally:
        st.close()


def test_past_the_memory_bound_newer_rows_are_dropped_counted_and_logged(
    tmp_path: Path,
    impatient: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(api.storage.writer, "BACKLOG_MAX_ROWS", 10)
    st = _open(tmp_path)
    try:
        with locked(st.path), caplog.at_level(logging.INFO, logger="api.storage.writer"):
            st.add_beats("s1", [_beat(i) for i in range(4)])  # one write of 4 rows
            _until(lambda: st.behind is not None, "the writer never said it is behind")
            for i in range(4, 15):
                st.add_beats("s1", [_beat(i, rr_ms=812.5)])
            _until(
                lambda: (
                    st.behind is not None
                    and (st.behind.rows_dropped, st.behind.rows_waiting) == (5, 10)
                ),
                f"not 10 rows kept and 5 dropped: {st.behind}",
            )
            behind = st.behind
            assert behind is not None
            assert (behind.beats_waiting, behind.beats_dropped) == (10, 5), behind
        st.flush().result(timeout=10)
        assert [b[0] for b in st.beats("s1")] == list(range(10))  # the oldest kept, in order
        said = [r.getMessage() for r in caplog.records]
        assert any("dropped" in m and "BACKLOG_MAX_ROWS" in m for m in said), said
        assert any("5 rows (5 beats) were dropped" in m for m in said), said
        assert not any("812.5" in m for m in said), said  # counts only, never RR values
    finally:
        st.close()


def test_a_database_slower_than_a_bulk_producer_for_a_moment_drops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Code review: the bound applied whenever more rows waited, so a healthy database merely
    # slower than a producer (a benchmark's fill: 82,624 of 100,000 beats stored) lost rows
    # and the counts stayed for the next outage. Now it applies only while the writer is
    # stuck: behind, or one try longer than STUCK_S. A lock of 0.3 s (under SQLite's busy wait
    # here, so the try succeeds) with 3x the bound queued meanwhile: every row stored.
    monkeypatch.setattr(api.storage.writer, "BACKLOG_MAX_ROWS", 10)
    st = _open(tmp_path)
    try:
        with caplog.at_level(logging.INFO, logger="api.storage.writer"):
            with locked(st.path):
                for i in range(30):
                    st.add_beats("s1", [_beat(i)])
                time.sleep(0.3)  # the writer's try waits on the lock meanwhile
            st.flush().result(timeout=10)
        assert [b[0] for b in st.beats("s1")] == list(range(30))
        assert st.behind is None
        assert not any("dropped" in r.getMessage() for r in caplog.records), caplog.text
    finally:
        st.close()


def test_a_close_while_the_database_is_locked_tries_once_more_then_counts_what_is_lost(
    tmp_path: Path, impatient: None, caplog: pytest.LogCaptureFixture
) -> None:
    st = _open(tmp_path)
    with locked(st.path), caplog.at_level(logging.INFO, logger="api.storage.writer"):
        st.add_beats("s1", [_beat(i, rr_ms=812.5) for i in range(7)])
        waiter = st.set_session_state("s1", "ended", ended_at=2.0)  # someone waits for it
        _until(
            lambda: st.behind is not None and st.behind.beats_waiting == 7,
            f"not 7 beats kept: {st.behind}",
        )
        closing = threading.Thread(target=st.close)
        closing.start()
        closing.join(timeout=10)
        assert not closing.is_alive()  # one more try (50 ms here), not a wait for the lock
    with pytest.raises(StorageError):  # told, not left hanging
        waiter.result(timeout=0)
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("7 beats" in m and "could not be stored" in m for m in said), said
    assert not any("812.5" in m for m in [r.getMessage() for r in caplog.records])


def test_a_write_someone_waits_for_is_tried_within_the_lower_cap(
    tmp_path: Path, impatient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (rev10 item 2): the back-off doubled up to 60 s whatever waited, so a stopped
    session's final state (its stop answered 503 ``store_busy``, its strap held) was stored up
    to a minute after the database took writes again. A write someone waits for is tried at
    least every ``RETRY_WAITED_MAX_S`` (5 s in the service): when it fails first, and when
    it comes while the writer waits out a longer back-off. Here the back-off starts at 30 s
    and the lower cap is 20 ms: each waited write is stored long before the 30 s."""
    assert api.storage.retry.RETRY_WAITED_MAX_S == 5.0  # what README and the 503 say
    monkeypatch.setattr(api.storage.retry, "RETRY_FIRST_S", 30.0)
    monkeypatch.setattr(api.storage.retry, "RETRY_MAX_S", 60.0)
    monkeypatch.setattr(api.storage.retry, "RETRY_WAITED_MAX_S", 0.02)
    st = _open(tmp_path)
    try:
        # a waited write fails first: the next try within the lower cap, not 30 s later
        with locked(st.path):
            first = st.put_value("settings", "a", 1, updated_at=1.0)
            assert first is not None
            _until(lambda: st.behind is not None, "the writer never said it is behind")
        first.result(timeout=5)
        # a beat fails first (a 30-s back-off), then a waited write comes: tried within the cap
        with locked(st.path):
            st.add_beats("s1", [_beat(0)])
            _until(lambda: st.behind is not None, "the writer never said it is behind")
            second = st.put_value("settings", "b", 2, updated_at=2.0)
            assert second is not None
            _until(lambda: st.behind is not None and st.behind.rows_waiting == 2, "not kept")
        second.result(timeout=5)
        assert st.beats("s1") == [_beat(0)]
    finally:
        st.close()


def test_a_live_client_gets_no_beat_the_storage_dropped_past_its_bound(
    tmp_path: Path, impatient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (rev10_api2b 1): a beat dropped past the bound was published once a later write
    committed (its ticket is lower): the client got beats that were never stored. Now the
    drop is decided when the write is queued, and the pipeline does not publish that beat."""
    monkeypatch.setattr(api.storage.writer, "BACKLOG_MAX_ROWS", 10)
    st = _open(tmp_path)
    hub = LiveHub("s1", queue_size=1000)
    source = ScriptedSource([], clock=SystemClock())
    pipeline = Pipeline(
        session_id="s1", source=source, storage=st, hub=hub, analyser=None, pacer=None
    )
    hub.commit_reached(st.committed_ticket)
    client = hub.subscribe()

    def beat(i: int) -> None:
        pipeline._on_beat(Beat(t_s=i * 0.8, rr_ms=800.0, arrived_at=100.0 + i, contact=True))

    try:
        with locked(st.path):
            beat(0)
            _until(lambda: st.behind is not None, "the writer never said it is behind")
            for i in range(1, 15):
                beat(i)
            _until(
                lambda: st.behind is not None and st.behind.beats_dropped == 5,
                f"not 5 beats dropped: {st.behind}",
            )
        _until(lambda: st.behind is None, "the writer never caught up")
        beat(15)  # the database takes writes again: its commit passes the dropped tickets
        st.flush().result(timeout=10)
        hub.commit_reached(st.committed_ticket)
        got = [m.idx for m in map(parse_live_message, client._queue) if m.type == "beat"]
        stored = [b[0] for b in st.beats("s1")]
        assert stored == [*range(10), 15]
        assert got == stored, f"sent but never stored: {sorted(set(got) - set(stored))}"
        assert (pipeline.n_unstored, pipeline.n_unstored_beats) == (5, 5)
    finally:
        st.close()


def _on_writer(st: Storage, sql: str) -> Any:
    """Run ``sql`` on the writer's connection, in the writer thread (a transaction function)."""
    return st._submit_transaction(lambda c: c.execute(sql).fetchone()).result(timeout=10)


def test_a_full_disk_in_a_transaction_function_keeps_the_batch_not_fails_it(
    tmp_path: Path, impatient: None
) -> None:
    """Review (rev10_api2b 2): SQLite rolled the whole transaction back on SQLITE_FULL, the
    writer's ``ROLLBACK TO`` then failed ("no such savepoint"), which counted as bad data:
    the batch was lost and published. Now a transaction gone is "takes no writes": kept."""
    st = _open(tmp_path)
    try:
        (pages,) = _on_writer(st, "PRAGMA page_count")
        _on_writer(st, f"PRAGMA max_page_count = {pages}")  # a full disk

        def big(conn: sqlite3.Connection) -> str:
            conn.execute("UPDATE sessions SET message = ? WHERE id = 's1'", ("x" * 200_000,))
            return "stored"

        st.add_beats("s1", [_beat(0)])
        answer = st._submit_transaction(big)
        _until(lambda: st.behind is not None, f"not kept: {answer}")
        assert not answer.done() and st.committed_ticket < st.last_ticket
        st._writer_conn.execute("PRAGMA max_page_count = 1000000")  # room again
        assert answer.result(timeout=10) == "stored"
        assert [b[0] for b in st.beats("s1")] == [0]
    finally:
        st.close()


def test_a_write_failing_with_a_python_error_fails_alone_and_releases_the_lock(
    tmp_path: Path, impatient: None
) -> None:
    """Review (rev10_api2b 3): an OverflowError (not a sqlite3.Error) failed the whole kept
    backlog, counted it stored, and left the writer's transaction open (the lock held)."""
    st = _open(tmp_path)
    try:
        with locked(st.path):
            for i in range(20):
                row = _beat(i)
                st.add_beats("s1", [(*row[:6], 2**70 if i == 7 else None)])
            _until(
                lambda: st.behind is not None and st.behind.beats_waiting == 20,
                f"not 20 kept: {st.behind}",
            )
        st.flush().result(timeout=10)
        assert [b[0] for b in st.beats("s1")] == [i for i in range(20) if i != 7]
        assert not st._writer_conn.in_transaction
        other = sqlite3.connect(st.path, timeout=0.5)
        other.execute("BEGIN IMMEDIATE")  # nobody holds the write lock
        other.rollback()
        other.close()
    finally:
        st.close()


def test_a_read_only_database_keeps_the_writes_and_says_it_is_behind(
    tmp_path: Path, impatient: None
) -> None:
    """Review (rev10_api2b 4): SQLITE_READONLY (a disk remounted read-only, -wal files of
    another user) counted as bad data: every beat lost, published, and /health said ok."""
    st = _open(tmp_path)
    try:
        _on_writer(st, "PRAGMA query_only = 1")  # stands in for a read-only remount
        for i in range(5):
            st.add_beats("s1", [_beat(i)])
        final = st.set_session_state("s1", "ended", ended_at=2.0)
        _until(
            lambda: st.behind is not None and st.behind.beats_waiting == 5,
            f"not kept: {st.behind}",
        )
        assert not final.done()
        st._writer_conn.execute("PRAGMA query_only = 0")  # writable again
        final.result(timeout=10)
        assert [b[0] for b in st.beats("s1")] == list(range(5))
    finally:
        st.close()


def test_a_replay_at_full_speed_waits_for_a_locked_database_and_drops_nothing(
    tmp_path: Path, impatient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (rev10_api2b 5): while behind, every source ran on, a replay at full speed too:
    past the bound almost all of it was dropped. A source on a clock of its own can pause: it
    waits until the database takes writes; only a real-time one (a strap) runs on."""
    monkeypatch.setattr(api.storage.writer, "BACKLOG_MAX_ROWS", 50)
    monkeypatch.setattr(api.pipeline.loop, "WRITE_BACKLOG_MAX", 10)  # well below, as in use
    st = _open(tmp_path)
    source = ScriptedSource([800.0] * 300, clock=VirtualClock(start=1000.0))
    hub = LiveHub("s1", queue_size=64)
    pipeline = Pipeline(
        session_id="s1", source=source, storage=st, hub=hub, analyser=None, pacer=None
    )

    async def run() -> None:
        other = sqlite3.connect(st.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program's write lock
        try:
            task = asyncio.create_task(pipeline.run())
            await asyncio.to_thread(_until, lambda: st.behind is not None, "never behind")
            await asyncio.sleep(0.3)  # a replay running on would be far past the bound now
            assert st.behind is not None and st.behind.beats_dropped == 0, st.behind
            assert not task.done()
        finally:
            other.execute("ROLLBACK")
            other.close()
        result = await asyncio.wait_for(task, 10)
        assert result.state == "ended", result

    try:
        asyncio.run(run())
        st.flush().result(timeout=10)
        assert [b[0] for b in st.beats("s1")] == list(range(300))
    finally:
        st.close()


def test_the_last_try_at_a_close_waits_a_short_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (rev10_api2b 9): the last try at close waited SQLite's whole busy timeout (30 s
    in the service) again, after the try under way: a shutdown took up to 70 s. Now the last
    try waits :data:`LAST_TRY_BUSY_MS` (here a 1-s busy timeout, the last try's 50 ms)."""

    def connect_1s(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.execute("PRAGMA busy_timeout = 1000")
        return conn

    monkeypatch.setattr(api.storage.writer, "connect", connect_1s)
    monkeypatch.setattr(api.storage.writer, "LAST_TRY_BUSY_MS", 50)
    monkeypatch.setattr(api.storage.retry, "RETRY_FIRST_S", 60.0)  # no try under way at close
    st = _open(tmp_path)
    with locked(st.path):
        st.add_beats("s1", [_beat(0)])
        _until(lambda: st.behind is not None, "the writer never said it is behind")
        t0 = time.monotonic()
        st.close()
        took_s = time.monotonic() - t0
    assert took_s < 0.6, f"close took {took_s:.2f} s"


def _live(st: Storage) -> tuple[Pipeline, LiveHub, Any]:
    """A pipeline on ``st`` whose hub has one client (its queue: ``client._queue``)."""
    hub = LiveHub("s1", queue_size=1000)
    source = ScriptedSource([], clock=SystemClock())
    pipeline = Pipeline(
        session_id="s1", source=source, storage=st, hub=hub, analyser=None, pacer=None
    )
    hub.commit_reached(st.committed_ticket)
    return pipeline, hub, hub.subscribe()


def test_a_live_client_gets_no_beat_whose_write_failed_alone(
    tmp_path: Path, impatient: None
) -> None:
    """Code review: a write that fails alone (one bad value: logged, its batch's others
    stored) was still published once its batch committed: the client got a beat never
    stored. Now the writer tells which tickets failed, and the hub does not send it."""
    st = _open(tmp_path)
    pipeline, hub, client = _live(st)
    try:
        for i in range(5):  # heart rate 2**70: an OverflowError of that write alone
            hr = 2**70 if i == 2 else None
            beat = Beat(t_s=i * 0.8, rr_ms=800.0, arrived_at=100.0 + i, heart_rate_bpm=hr)
            pipeline._on_beat(beat)
        st.flush().result(timeout=10)
        hub.commit_reached(st.committed_ticket)
        got = [m.idx for m in map(parse_live_message, client._queue) if m.type == "beat"]
        stored = [b[0] for b in st.beats("s1")]
        assert stored == [0, 1, 3, 4]
        assert got == stored, f"sent but never stored: {sorted(set(got) - set(stored))}"
        assert hub.unstored_total == 1
    finally:
        st.close()


def test_a_dropped_beat_is_told_by_its_own_write_not_the_latest_ticket(
    tmp_path: Path, impatient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code review: the pipeline asked whether the *latest* ticket was dropped, after the
    submit: a write of another thread queued in between (an answer, a setting: never
    dropped) made a dropped beat look stored, and it was published. Now the write's own
    :class:`api.storage.Queued` says it."""
    monkeypatch.setattr(api.storage.writer, "BACKLOG_MAX_ROWS", 3)
    st = _open(tmp_path)
    pipeline, hub, client = _live(st)
    add_beats = st.add_beats

    def another_thread_writes_meanwhile(*args: Any, **kwargs: Any) -> Any:
        queued = add_beats(*args, **kwargs)
        other = threading.Thread(
            target=st.put_value, args=("settings", "x", 1), kwargs={"updated_at": 1.0}
        )
        other.start()
        other.join()
        return queued

    monkeypatch.setattr(st, "add_beats", another_thread_writes_meanwhile)
    try:
        with locked(st.path):
            for i in range(6):
                pipeline._on_beat(Beat(t_s=i * 0.8, rr_ms=800.0, arrived_at=100.0 + i))
                if i == 0:
                    _until(lambda: st.behind is not None, "the writer never said it is behind")
            _until(
                lambda: st.behind is not None and st.behind.beats_dropped == 3,
                f"not 3 beats dropped: {st.behind}",
            )
        st.flush().result(timeout=10)
        hub.commit_reached(st.committed_ticket)
        got = [m.idx for m in map(parse_live_message, client._queue) if m.type == "beat"]
        stored = [b[0] for b in st.beats("s1")]
        assert stored == [0, 1, 2]
        assert got == stored, f"sent but never stored: {sorted(set(got) - set(stored))}"
        assert pipeline.n_unstored_beats == 3
    finally:
        st.close()


def test_past_the_bound_pacing_runs_and_baseline_writes_are_kept_contact_changes_dropped(
    tmp_path: Path, impatient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code review: guidance, assessment, paced-run and baseline writes were dropped past the
    bound like beats, but published (guidance) or relied on (an export's paced runs) all the
    same. They are few and no later write brings them back: never dropped. A contact change
    follows the beats' rule (its ``status`` is sent whether stored or not)."""
    monkeypatch.setattr(api.storage.writer, "BACKLOG_MAX_ROWS", 2)
    st = _open(tmp_path)
    try:
        with locked(st.path):
            st.add_beats("s1", [_beat(0), _beat(1)])
            _until(lambda: st.behind is not None, "the writer never said it is behind")
            st.add_beats("s1", [_beat(2)])
            st.add_contact_change("s1", t_s=2.0, contact=False, recorded_at=1.0)
            st.add_snapshot("guidance", "s1", t_s=2.0, recorded_at=1.0, data={"x": 1})
            st.add_assessment("s1", recorded_at=1.0, data={"type": "assessment_step"})
            st.set_paced_runs("s1", [(1.0, None)])
            st.put_value("baseline", "personal", {"rmssd": 40.0}, updated_at=1.0, wait=False)
        st.flush().result(timeout=10)
        assert [b[0] for b in st.beats("s1")] == [0, 1]
        assert st.contact_changes("s1") == []  # dropped: as a beat
        assert st.behind is None
        assert len(st.snapshots("guidance", "s1")) == 1
        assert len(st.assessments("s1")) == 1
        assert (st.get_value("baseline", "personal") or ({},))[0] == {"rmssd": 40.0}
        (paced,) = st.query("SELECT paced_runs_json FROM sessions WHERE id = 's1'")
        assert paced[0] == "[[1.0, null]]"
    finally:
        st.close()


def test_a_dropped_contact_change_is_counted_and_its_status_still_sent(
    tmp_path: Path, impatient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change of skin contact dropped past the bound is counted with the session's unstored
    events (its stored message says so); the ``status`` telling it is sent all the same."""
    monkeypatch.setattr(api.storage.writer, "BACKLOG_MAX_ROWS", 1)
    st = _open(tmp_path)
    pipeline, _, client = _live(st)
    try:
        with locked(st.path):
            st.add_beats("s1", [_beat(0)])
            _until(lambda: st.behind is not None, "the writer never said it is behind")
            lost = SourceStatus(SourceState.NO_CONTACT, contact_t_s=5.0)
            pipeline._on_source_status(lost)
            assert pipeline.n_unstored == 1
            sent = [m.type for m in map(parse_live_message, client._queue)]
            assert sent == ["status"]  # published whether stored or not
        st.flush().result(timeout=10)
        assert st.contact_changes("s1") == []
    finally:
        st.close()


def test_live_clients_are_told_at_once_when_storage_falls_behind_and_catches_up(
    tmp_path: Path, impatient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code review: no live message said storage is behind (only GET session and /health
    did), and every live message waits for its write meanwhile: a page just went quiet. A
    ``storage`` notice now goes out at once, ahead of the held messages, when the database
    stops taking writes and when it takes them again, repeating the last seq sent."""
    monkeypatch.setattr(api.pipeline.loop, "WRITE_BACKLOG_MAX", 10)  # the replay waits
    st = _open(tmp_path)
    source = ScriptedSource([800.0] * 40, clock=VirtualClock(start=1000.0))
    hub = LiveHub("s1", queue_size=1000)
    pipeline = Pipeline(
        session_id="s1", source=source, storage=st, hub=hub, analyser=None, pacer=None
    )
    hub.commit_reached(st.committed_ticket)
    client = hub.subscribe()

    def got() -> list[Any]:
        return [parse_live_message(text) for text in client._queue]

    async def until(cond: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 10
        while not cond():
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.005)

    async def run() -> None:
        other = sqlite3.connect(st.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program's write lock
        try:
            task = asyncio.create_task(pipeline.run())
            await until(lambda: any(m.type == "storage" for m in got()), "no storage notice")
            (notice,) = [m for m in got() if m.type == "storage"]
            assert notice.behind and "database is locked" in notice.message, notice
            assert notice.since is not None
            assert pipeline.n_beats > 0 and hub.n_held > 0  # sent ahead of the held beats
            assert notice.seq == max(m.seq for m in got() if m.type != "storage")
            welcome = parse_live_message(pipeline.welcome_messages()[-1])  # a client now
            assert (welcome.type, welcome.behind, welcome.seq) == ("storage", True, hub.seq)
        finally:
            other.execute("ROLLBACK")
            other.close()
        await until(lambda: [m.behind for m in got() if m.type == "storage"] == [True, False], "")
        result = await asyncio.wait_for(task, 10)
        assert result.state == "ended", result

    try:
        asyncio.run(run())
        beats = [m.idx for m in got() if m.type == "beat"]
        assert beats == list(range(40))  # what waited followed
    finally:
        st.close()


def test_a_storage_notice_carries_what_the_writer_had_when_it_told(
    tmp_path: Path, impatient: None
) -> None:
    """Code review: the notice read the storage's ``behind`` when the loop ran it, not when
    the writer told it: after a short episode a ``behind`` true notice came with ``since``
    null and "(unknown error)". The writer now passes its values along."""
    st = _open(tmp_path)
    told: list[Any] = []
    st.add_behind_listener(told.append)
    try:
        with locked(st.path):
            st.add_beats("s1", [_beat(0)])
            _until(lambda: len(told) >= 1, "never told behind")
        st.flush().result(timeout=10)
        _until(lambda: len(told) >= 2, "never told caught up")
        assert st.behind is None  # the episode is over when the loop gets to the notice
        pipeline = Pipeline(
            session_id="s1", source=ScriptedSource([], clock=VirtualClock()), storage=st,
            hub=LiveHub("s1"),
            analyser=None, pacer=None,
        )  # fmt: skip
        fell, caught = (pipeline.storage_message(state, 7) for state in told[:2])
        assert fell.behind and fell.since is not None and "database is locked" in fell.message
        assert not caught.behind and caught.since is None
    finally:
        st.close()


#: How soon the writer says behind in the tests below (the service's: BEHIND_AFTER_S, 3 s).
BEHIND_AFTER_S = 0.2


def test_a_try_waiting_on_a_lock_says_behind_before_sqlite_gives_up_and_stores_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (apicontract 3): the writer said behind only once a try had failed, after
    SQLite's 30-s busy wait: meanwhile nothing told anyone that nothing was stored. A try that
    has lasted BEHIND_AFTER_S now makes it behind (its watchdog says so) while the try goes
    on waiting; the lock let go, the same try is taken at once and it catches up. SQLite's
    busy timeout is the service's (30 s) here: the lock is held 1 s, no try fails."""
    assert api.storage.writer.BEHIND_AFTER_S == 3.0  # what README says
    monkeypatch.setattr(api.storage.writer, "BEHIND_AFTER_S", BEHIND_AFTER_S)
    st = _open(tmp_path)
    told: list[tuple[float, Any]] = []
    st.add_behind_listener(lambda state: told.append((time.monotonic(), state)))
    try:
        with locked(st.path):
            st.add_beats("s1", [_beat(0)])
            queued = time.monotonic()
            _until(lambda: bool(told), "never told behind")
            # within the bound, not after SQLite's busy wait (flush_s 5 ms, a loaded machine)
            assert told[0][0] - queued < BEHIND_AFTER_S + 1.0, told[0][0] - queued
            behind = told[0][1]
            assert behind is not None and "waited over 0.2 s" in behind.error, behind
            assert behind.since <= time.time() - BEHIND_AFTER_S and behind.beats_waiting == 1
            for i in range(1, 5):  # queued behind the try that waits: counted as waiting
                st.add_beats("s1", [_beat(i)])
            assert st.behind is not None and st.behind.beats_waiting == 5, st.behind
            assert st.committed_ticket < st.last_ticket and st.beats("s1") == []
            # a lock of 1 s; a notice late on a loaded machine (within the bound) may come after it
            time.sleep(max(0.0, 1.0 - (time.monotonic() - queued)))
            released = time.monotonic()
        _until(lambda: len(told) >= 2, "never told caught up")
        assert told[1][1] is None and told[1][0] - released < 1.0  # no back-off: at once
        st.flush().result(timeout=10)
        assert len(told) == 2 and st.behind is None
        assert [b[0] for b in st.beats("s1")] == list(range(5))
    finally:
        st.close()


def test_a_try_said_behind_that_then_fails_is_told_once_and_keeps_its_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watchdog says behind, then the try fails (a busy timeout of 0.5 s here): the writer
    keeps the writes as ever, without a second ``behind`` notice, ``since`` still when the
    first try began, the error now SQLite's; then one caught-up notice, every beat stored."""
    monkeypatch.setattr(api.storage.writer, "BEHIND_AFTER_S", BEHIND_AFTER_S)
    monkeypatch.setattr(api.storage.retry, "RETRY_FIRST_S", 0.05)
    monkeypatch.setattr(api.storage.retry, "RETRY_MAX_S", 0.05)

    def connect_half_second(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.execute("PRAGMA busy_timeout = 500")
        return conn

    monkeypatch.setattr(api.storage.writer, "connect", connect_half_second)
    st = _open(tmp_path)
    told: list[Any] = []
    st.add_behind_listener(told.append)
    try:
        with locked(st.path):
            st.add_beats("s1", [_beat(0)])
            _until(lambda: bool(told), "never told behind")
            said = told[0]
            assert said is not None and "waited over" in said.error, said
            _until(
                lambda: st.behind is not None and "locked" in st.behind.error,
                f"the try never failed: {st.behind}",
            )
            st.add_beats("s1", [_beat(1)])
            time.sleep(0.2)  # tries fail meanwhile
            behind = st.behind
            assert behind is not None and behind.since == said.since, (behind, said)
            assert behind.held_since == said.held_since, (behind, said)
            assert behind.beats_waiting == 2 and len(told) == 1, told
        st.flush().result(timeout=10)
        assert len(told) == 2 and told[1] is None, told
        assert [b[0] for b in st.beats("s1")] == [0, 1]
    finally:
        st.close()


def test_health_the_session_and_live_clients_learn_within_seconds_of_a_lock(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (apicontract 3): while another program held the write lock, ``GET /health``
    said ``storage: ok``, the session's ``storage_behind`` was null and live clients got no
    ``storage`` notice for SQLite's 30-s busy wait. Real uvicorn, a real WebSocket, a session
    whose beats keep coming (speed 1, a strap's pace), a second connection holding the write
    lock 1.5 s (the busy timeout is the service's 30 s): all three say behind within the
    bound, then caught up once the lock goes, and every beat taken meanwhile is stored."""
    monkeypatch.setattr(api.storage.writer, "BEHIND_AFTER_S", BEHIND_AFTER_S)
    server = serve(source_factory=scripted_factory([500.0], repeat=True))
    with server.client() as c:
        posted = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 1}})
        assert posted.status_code == 201, posted.text
        sid = posted.json()["id"]
        live = server.app.state.sessions.get_live(sid)
        assert live is not None
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"
        got: list[Any] = []

        def receive_until(cond: Callable[[Any], bool], timeout_s: float) -> Any:
            deadline = time.monotonic() + timeout_s
            while True:
                left_s = deadline - time.monotonic()
                assert left_s > 0, [m.type for m in got[-5:]]
                got.append(message := parse_live_message(ws.recv(timeout=left_s)))
                if cond(message):
                    return message

        with ws_connect(url, open_timeout=10) as ws:
            receive_until(lambda m: m.type == "beat", 10)
            with locked(server.app.state.storage.path):
                locked_wall = time.time()  # once the lock is held
                locked_at = time.monotonic()
                taken_before = live.pipeline.n_beats
                # the next beat's try waits on the lock: within a beat, a flush and the bound
                bound_s = 0.5 + 0.1 + BEHIND_AFTER_S + 1.0  # + a loaded machine's slack
                # the lock's notice, not an earlier pair of a commit slower than the 0.2 s on
                # a loaded machine, done before the lock was held (its since 0.2 s or more
                # before it); the lock's try may have begun a moment before it was held
                notice = receive_until(
                    lambda m: m.type == "storage" and m.behind and m.since >= locked_wall - 0.1,
                    bound_s,
                )
                assert "waited over" in notice.message, notice
                assert time.monotonic() - locked_at < bound_s
                assert c.get("/api/v1/health").json()["storage"] == "behind"
                behind = c.get(f"/api/v1/sessions/{sid}").json()["storage_behind"]
                assert behind is not None and "storage is behind" in behind["message"], behind
                # a lock of 1.5 s; a notice late on a loaded machine may come after it
                time.sleep(max(0.0, 1.5 - (time.monotonic() - locked_at)))
                taken_during = live.pipeline.n_beats - taken_before
                assert taken_during >= 2  # a strap's beats come anyway: kept, not stored yet
            caught_up = receive_until(lambda m: m.type == "storage", 2.0)  # no back-off
            assert not caught_up.behind and caught_up.since is None, caught_up
            assert c.get("/api/v1/health").json()["storage"] == "ok"
            assert c.get(f"/api/v1/sessions/{sid}").json()["storage_behind"] is None
            stopped = c.post(f"/api/v1/sessions/{sid}/stop")
            assert stopped.status_code == 200, stopped.text
            with contextlib.suppress(ConnectionClosedOK):
                receive_until(lambda m: False, 10)
        n_beats = live.pipeline.n_beats
        assert n_beats >= taken_before + taken_during
        assert stopped.json()["n_beats"] == n_beats
        stored = c.get(f"/api/v1/sessions/{sid}/beats").json()
        assert stored["total"] == len(stored["beats"]) == n_beats
        sent = [m.idx for m in got if m.type == "beat"]
        assert sent == list(range(n_beats)), sent  # every beat, stored, then sent, in order


async def test_a_slow_write_delays_a_new_session_a_long_stall_refuses_it_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (storebehind 1): once the watchdog said behind at BEHIND_AFTER_S, a new session
    was refused at once (503 ``store_busy``) while a write was merely slow (a slow disk's
    checkpoint, a lock let go a moment later), though its row would have been stored within
    the cap. Now a start is refused at once only after a failed try (``test_session_end``) or
    a try held up past the cap; else its row waits under the cap as any waited write. The
    service's 30-s busy timeout: no try fails here, behind is the watchdog's only."""
    monkeypatch.setattr(api.storage.writer, "BEHIND_AFTER_S", BEHIND_AFTER_S)
    body = {"source": {"kind": "simulator"}}
    async with asgi_service(tmp_path / "data", source_factory=scripted_factory([800.0])) as (
        app,
        c,
    ):
        storage: Storage = app.state.storage

        async def until_behind(held_s: float) -> Behind:
            deadline = time.monotonic() + 10
            while (b := storage.behind) is None or time.time() - b.since <= held_s:
                assert time.monotonic() < deadline, "never told behind"
                await asyncio.sleep(0.005)
            return b

        # a slow write (the cap 5 s here): the start waits for its row, then 201
        monkeypatch.setattr(api.sessions, "STOP_STORE_TIMEOUT_S", 5.0)
        with locked(storage.path):
            storage.flush()  # a try that waits on the lock
            behind = await until_behind(0.0)
            assert not behind.failed and "disk is slow or stalled" in behind.error, behind
            before = storage.last_ticket
            post = asyncio.create_task(c.post("/api/v1/sessions", json=body))
            deadline = time.monotonic() + 10
            while storage.last_ticket == before:  # until its row is queued: not refused
                assert not post.done(), post.result().text  # not refused at once
                assert time.monotonic() < deadline, "its row was never queued"
                await asyncio.sleep(0.005)
            assert not post.done(), post.result().text  # its row waits on the lock
            now = storage.behind
            assert now is not None and not now.failed, now
        started = await asyncio.wait_for(post, 10)
        assert started.status_code == 201, started.text
        stopped = await c.post(f"/api/v1/sessions/{started.json()['id']}/stop")
        assert stopped.status_code == 200, stopped.text
        # a try held up past the cap (0.3 s here): refused at once, no row queued
        monkeypatch.setattr(api.sessions, "STOP_STORE_TIMEOUT_S", 0.3)
        with locked(storage.path):
            storage.flush()
            behind = await until_behind(0.3)
            assert not behind.failed, behind
            refused = await c.post("/api/v1/sessions", json=body)
            assert (refused.status_code, refused.json()["code"]) == (503, "store_busy")
        await asyncio.wrap_future(storage.flush())
        # refused at once: no row (one that waited out the cap is stored 'failed')
        assert len(storage.query("SELECT id FROM sessions")) == 1


def test_the_watchdog_survives_an_unexpected_error_and_says_behind_a_round_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review (storebehind 4): the watchdog thread had no ``try``: one unexpected error ended
    it, and behind was then said only once a try failed (30 s) for the rest of the process.
    Now it is logged and the watchdog tries again BEHIND_AFTER_S later. Its first ``Behind``
    raises here; it says behind the round after, and again in a later episode."""
    monkeypatch.setattr(api.storage.writer, "BEHIND_AFTER_S", BEHIND_AFTER_S)
    calls: list[float] = []

    def behind_failing_first(**kwargs: Any) -> Behind:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return Behind(**kwargs)

    monkeypatch.setattr(api.storage.writer, "Behind", behind_failing_first)
    st = _open(tmp_path)
    told: list[Any] = []
    st.add_behind_listener(told.append)

    def told_n(n: int) -> Callable[[], bool]:
        return lambda: len(told) == n

    try:
        with caplog.at_level(logging.ERROR, logger="api.storage.writer"):
            for n_told in (1, 3):
                with locked(st.path):
                    st.add_beats("s1", [_beat(n_told)])
                    _until(told_n(n_told), "never told behind")
                assert told[-1] is not None and not told[-1].failed, told
                _until(told_n(n_told + 1), "never told caught up")
        assert calls[1] - calls[0] >= BEHIND_AFTER_S - 0.01  # no spin after the error
        said = [r.getMessage() for r in caplog.records]
        assert said == ["database watchdog: unexpected error"], said
        assert told[1] is None and told[3] is None, told
    finally:
        st.close()
    assert not st._watchdog.is_alive()


def test_a_stalled_disk_says_behind_then_caught_up_and_a_close_waits_for_the_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (storebehind 7): a try held up with no other program's lock (a stalled or slow
    disk: a transaction function that sleeps past BEHIND_AFTER_S here) says behind, not
    failed, no sooner than BEHIND_AFTER_S into the try; a close meanwhile waits for the try,
    which is stored: its commit is told before caught up, then exactly ``[behind, None]``,
    and the watchdog is stopped."""
    monkeypatch.setattr(api.storage.writer, "BEHIND_AFTER_S", BEHIND_AFTER_S)
    st = _open(tmp_path)
    events: list[tuple[str, Any]] = []
    st.add_commit_listener(lambda ticket: events.append(("commit", ticket)))
    st.add_behind_listener(lambda state: events.append(("behind", (time.monotonic(), state))))

    def stalled(conn: sqlite3.Connection) -> str:
        time.sleep(BEHIND_AFTER_S + 0.3)
        return "stored"

    submitted = time.monotonic()  # the try begins after: the watchdog times it from then
    answer = st._submit_transaction(stalled)
    ticket = st.last_ticket
    try:
        _until(lambda: any(kind == "behind" for kind, _ in events), "never told behind")
        ((told_at, behind),) = [v for kind, v in events if kind == "behind"]
        assert behind is not None and not behind.failed, behind
        assert "disk is slow or stalled" in behind.error, behind
        assert told_at - submitted >= BEHIND_AFTER_S  # not at once
        assert submitted <= behind.held_since <= told_at - BEHIND_AFTER_S, behind
        closing_at = time.monotonic()
    finally:
        st.close()
    assert time.monotonic() - closing_at < 2.0  # the try's 0.3 s left, not a busy wait
    assert answer.result(timeout=0) == "stored"
    assert [kind for kind, _ in events] == ["behind", "commit", "behind"], events
    assert events[1][1] == ticket and events[2][1][1] is None, events
    assert st.behind is None
    assert not st._watchdog.is_alive() and not st._thread.is_alive()


def test_a_stall_is_measured_on_the_monotonic_clock_not_the_wall_clock(
    tmp_path: Path, impatient: None
) -> None:
    """Review (storebehind2 2): a new session's refusal measured the stall on the wall clock
    (``since``): a step forward (a Pi without a clock syncing NTP after boot) during a slow
    moment refused a start at once, one backward let a long stall through. Now it reads
    ``held_since``, the held-up try's start on the monotonic clock (for a failed try too),
    and ``since`` is for display."""
    st = _open(tmp_path)
    told: list[tuple[float, Any]] = []
    st.add_behind_listener(lambda state: told.append((time.monotonic(), state)))
    try:
        with locked(st.path):
            queued = time.monotonic()
            st.add_beats("s1", [_beat(0)])
            _until(lambda: bool(told), "never told behind")
        told_at, behind = told[0]
        assert behind is not None and behind.failed, behind
        assert queued <= behind.held_since <= told_at, (queued, behind, told_at)
    finally:
        st.close()
    wall, now = time.time(), time.monotonic()
    cap_s = api.sessions.STOP_STORE_TIMEOUT_S
    slow = replace(behind, since=wall - 3600, held_since=now - 1, failed=False)  # stepped on
    assert not api.sessions._refuse_at_once(slow)
    stalled = replace(slow, since=wall + 3600, held_since=now - cap_s - 1)  # stepped back
    assert api.sessions._refuse_at_once(stalled)


def test_a_watchdog_error_repeating_through_one_try_is_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review (storebehind2 6): a watchdog error that repeats (a bug) logged its traceback
    every BEHIND_AFTER_S for as long as a try was held up (a stalled disk: without end). Now
    once per try, the repeats at DEBUG: a try held up through three rounds, then another
    through one, log two errors."""
    monkeypatch.setattr(api.storage.writer, "BEHIND_AFTER_S", BEHIND_AFTER_S)
    calls: list[float] = []

    def behind_failing(**kwargs: Any) -> Behind:
        calls.append(time.monotonic())
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.storage.writer, "Behind", behind_failing)
    st = _open(tmp_path)

    def held_until(n_calls: int) -> Callable[[sqlite3.Connection], None]:
        def held(conn: sqlite3.Connection) -> None:  # a stalled disk: until the watchdog erred
            _until(lambda: len(calls) >= n_calls, f"the watchdog never erred {n_calls} times")

        return held

    try:
        with caplog.at_level(logging.DEBUG, logger="api.storage.writer"):
            st._submit_transaction(held_until(3)).result(timeout=10)
            st._submit_transaction(held_until(4)).result(timeout=10)
        said = [
            (r.levelno, r.getMessage())
            for r in caplog.records
            if r.getMessage().startswith("database watchdog")
        ]
        errors = [m for level, m in said if level == logging.ERROR]
        assert errors == ["database watchdog: unexpected error"] * 2, said
        assert len(said) == len(calls) == 4, said  # the repeats at DEBUG
        assert all(r.exc_info for r in caplog.records if r.getMessage() in errors)
    finally:
        st.close()
    assert not st._watchdog.is_alive()
