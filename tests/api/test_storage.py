"""The SQLite store on a real file: migrations, WAL, batching writer, interrupted sessions."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.live import LiveHub
from api.storage import MIGRATIONS, ReadOnlyDatabase, Storage, StorageError, _Op


def _open(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "db.sqlite3", flush_s=0.02)


def test_fresh_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    st = _open(tmp_path)
    st.close()
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "sessions",
        "beats",
        "metrics",
        "guidance",
        "assessments",
        "micro_breaks",
        "baseline",
        "settings",
        "checkins",
    } <= tables


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        _open(tmp_path)


def test_queued_beats_are_committed_and_visible_to_another_connection(tmp_path: Path) -> None:
    st = _open(tmp_path)
    st.create_session("s1", created_at=1.0, mode="monitor", source={"kind": "x"}, options={})
    rows = [(i, i * 0.8, 800.0, 100.0 + i, True, i == 3, None) for i in range(50)]
    for row in rows:
        st.add_beats("s1", [row])
    st.flush().result(timeout=10)
    other = sqlite3.connect(tmp_path / "db.sqlite3")
    assert other.execute("SELECT COUNT(*) FROM beats").fetchone()[0] == 50
    assert st.beats("s1") == rows
    st.close()


def test_sessions_left_running_become_interrupted_with_their_data(tmp_path: Path) -> None:
    st = _open(tmp_path)
    st.create_session("s1", created_at=10.0, mode="monitor", source={"kind": "x"}, options={})
    st.create_session("s2", created_at=11.0, mode="monitor", source={"kind": "x"}, options={})
    st.add_beats("s1", [(0, 0.9, 900.0, 20.0, None, False, 66.0)])
    st.add_beats("s1", [(1, 1.8, 900.0, 21.0, None, False, 66.0)])
    st.set_session_state("s2", "ended", ended_at=30.0).result(timeout=10)
    st.close()  # as if the process had died: s1 is still "running"
    st = _open(tmp_path)
    assert st.interrupted_on_open == ["s1"]
    s1 = st.get_session("s1")
    assert s1 is not None
    assert s1["state"] == "interrupted"
    assert s1["ended_at"] == 21.0  # the last beat's arrival
    assert s1["n_beats"] == 2
    s2 = st.get_session("s2")
    assert s2 is not None and s2["state"] == "ended"
    st.close()


def test_an_opening_beside_a_live_one_leaves_its_running_sessions_alone(tmp_path: Path) -> None:
    """Opening the database while another opening has it (``replay --store`` beside ``serve``)
    marked the other's live sessions interrupted; only a gone owner's are (code review)."""
    service = _open(tmp_path)
    service.create_session("live", created_at=1.0, mode="monitor", source={}, options={}).result()
    other = _open(tmp_path)  # its own owner lock, as another process's
    try:
        assert other.interrupted_on_open == []
        assert (service.get_session("live") or {})["state"] == "running"
        other.create_session("mine", created_at=2.0, mode="monitor", source={}, options={})
        other.flush().result(timeout=10)
    finally:
        other.close()  # gone with "mine" running: its owner is gone
    third = _open(tmp_path)
    try:
        assert third.interrupted_on_open == ["mine"]
        assert (third.get_session("live") or {})["state"] == "running"
    finally:
        third.close()
    service.close()
    last = _open(tmp_path)
    try:
        assert last.interrupted_on_open == ["live"]
        assert sorted(p.name for p in (tmp_path / "db.sqlite3-owners").iterdir()) == [
            f"{last.owner.id}.lock"
        ]  # the gone owners' lock files are removed
    finally:
        last.close()


def test_an_interrupted_session_never_ends_in_the_future(tmp_path: Path) -> None:
    """A simulator at 20x stamps its beats on its own clock, ahead of the wall clock."""
    st = _open(tmp_path)
    now = time.time()
    st.create_session("sim", created_at=now - 10, mode="monitor", source={"kind": "x"}, options={})
    st.add_beats("sim", [(0, 200.0, 900.0, now - 10 + 200.0, None, False, 66.0)])
    st.close()
    st = _open(tmp_path)
    sim = st.get_session("sim")
    assert sim is not None and sim["state"] == "interrupted"
    assert now - 10 < sim["ended_at"] <= time.time()
    st.close()


def test_checkin_scale_is_enforced_by_the_database_too(tmp_path: Path) -> None:
    st = _open(tmp_path)
    ok = st.add_checkin(session_id=None, at=1.0, stress=1, energy=5, note="")
    assert ok.result(timeout=10) == 1
    bad = st.add_checkin(session_id=None, at=1.0, stress=6, energy=5, note="")
    with pytest.raises(StorageError, match="CHECK"):
        bad.result(timeout=10)
    # a failed write does not take the batch's other writes down with it
    assert [r["stress"] for r in st.checkins()] == [1]
    st.close()


def test_snapshots_round_trip(tmp_path: Path) -> None:
    st = _open(tmp_path)
    st.create_session("s", created_at=1.0, mode="monitor", source={}, options={})
    st.add_snapshot("metrics", "s", t_s=60.0, recorded_at=5.0, data={"rmssd_ms": 42.5, "n": 3})
    st.add_snapshot("metrics", "s", t_s=65.0, recorded_at=6.0, data={"rmssd_ms": None, "n": 1})
    st.flush().result(timeout=10)
    assert st.snapshots("metrics", "s") == [
        {"t_s": 60.0, "recorded_at": 5.0, "rmssd_ms": 42.5, "n": 3},
        {"t_s": 65.0, "recorded_at": 6.0, "rmssd_ms": None, "n": 1},
    ]
    with pytest.raises(ValueError, match="table"):
        st.snapshots("beats; DROP TABLE sessions", "s")
    st.close()


def test_a_waiter_that_gives_up_does_not_stop_the_writer(tmp_path: Path) -> None:
    # found by schemathesis: a session stopped while awaiting its final state cancelled the
    # future, the writer thread died on set_result, and every later write hung
    st = _open(tmp_path)
    st.create_session("s", created_at=1.0, mode="monitor", source={}, options={}).result(10)
    given_up: Future[Any] = Future()
    given_up.cancel()  # deterministic: the waiter is gone before the writer gets to the write
    st._queue.put(
        _Op("UPDATE sessions SET state = 'stopped' WHERE id = ?", ("s",), False, given_up)
    )
    later = st.add_checkin(session_id="s", at=3.0, stress=2, energy=3, note="")
    assert later.result(timeout=10) == 1
    row = st.get_session("s")
    assert row is not None and row["state"] == "stopped"  # the write itself was committed
    st.close()


def test_live_messages_wait_for_their_commit_and_keep_their_order(tmp_path: Path) -> None:
    # published means stored (issue 13 item 6): tickets follow the queue, listeners hear each
    # commit, and the hub holds a message until its data's ticket is committed
    st = Storage(tmp_path / "db.sqlite3", flush_s=30.0)  # nothing commits unless asked
    heard: list[int] = []
    st.add_commit_listener(heard.append)
    hub = LiveHub("s1", queue_size=8)
    sub = hub.subscribe()
    try:
        st.create_session("s1", created_at=1.0, mode="monitor", source={}, options={}).result()
        first = st.committed_ticket
        assert first == st.last_ticket and heard[-1] == first
        hub.commit_reached(first)
        st.add_beats("s1", [(0, 0.8, 800.0, 1.8, True, False, None)])
        hub.publish_text("beat 0", after=st.last_ticket)
        hub.publish_text("status")  # made after the beat: leaves after it
        assert hub.n_held == 2 and list(sub._queue) == []
        st.flush().result()
        assert st.committed_ticket > first and st.beats("s1")[0][0] == 0
        hub.commit_reached(st.committed_ticket)
        assert list(sub._queue) == ["beat 0", "status"] and hub.n_held == 0
        hub.publish_text("status 2")  # nothing held: out at once
        assert list(sub._queue)[-1] == "status 2"
    finally:
        st.close()


def test_a_page_never_splits_beats_or_windows_that_share_a_t_s(tmp_path: Path) -> None:
    st = _open(tmp_path)
    st.create_session("s", created_at=1.0, mode="monitor", source={"kind": "x"}, options={})
    # beats 2, 3, 4 share t_s 2.0 (a source may repeat a time; the pipeline keeps it)
    times = [0.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0]
    rows = [(i, t, 800.0, 10.0 + i, None, False, None) for i, t in enumerate(times)]
    st.add_beats("s", rows)
    for n, t in enumerate([60.0, 65.0, 65.0, 70.0]):
        st.add_snapshot("metrics", "s", t_s=t, recorded_at=5.0, data={"n": n})
    st.flush().result(timeout=10)
    page = st.beats("s", limit=3)  # cut inside the tie at 2.0: the page holds the whole tie
    assert [r[0] for r in page] == [0, 1, 2, 3, 4]
    assert [r[0] for r in st.beats("s", since=page[-1][1], limit=3)] == [5, 6]
    assert st.count_beats("s", since=2.0) == 2 and st.count_beats("s") == len(times)
    assert st.beats("s", since_t_s=2.0, since=None) == rows[2:]
    windows = st.snapshots("metrics", "s", limit=2)
    assert [w["n"] for w in windows] == [0, 1, 2]
    assert [w["n"] for w in st.snapshots("metrics", "s", since=65.0, limit=2)] == [3]
    assert st.count_snapshots("metrics", "s", since=60.0) == 3
    st.close()


def test_a_version_2_database_gains_the_seq_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    for number in range(2):
        conn.executescript(MIGRATIONS[number])
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO sessions (id, created_at, state, mode, source_json) "
        "VALUES ('old', 1.0, 'ended', 'monitor', '{}')"
    )
    conn.execute("INSERT INTO beats VALUES ('old', 0, 0.8, 800.0, 1.8, NULL, 0, NULL)")
    conn.commit()
    conn.close()
    st = Storage(path, flush_s=0.02)
    assert st.schema_version == len(MIGRATIONS) == 9
    assert st.beats("old") == [(0, 0.8, 800.0, 1.8, None, False, None)]
    old = st.get_session("old")
    assert old is not None and old["last_seq"] is None  # migration 4: ended before it
    assert st.missed_since_seq("old", 0, limit=10) == []  # stored before seq: nothing to resend
    st.add_beats("old", [(1, 1.6, 800.0, 2.6, None, False, None)], seqs=[7])
    st.flush().result(timeout=10)
    assert [(s, k, f["idx"]) for s, k, f in st.missed_since_seq("old", 0, limit=10)] == [
        (7, "beat", 1)
    ]
    st.close()


def test_an_unexpected_error_in_a_batch_fails_its_waiters_instead_of_hanging_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-sqlite error inside a commit (a bug) used to leave the batch's futures pending
    for ever; a replay at full speed waits on such a future (the loop's write backlog)."""
    from api.storage import writer

    storage = Storage(tmp_path / "db.sqlite3")
    try:
        commit = writer.StorageCore._commit
        calls = {"n": 0}

        def broken_once(self: Any, conn: Any, batch: list[Any]) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("a bug in a batch")
            commit(self, conn, batch)

        monkeypatch.setattr(writer.StorageCore, "_commit", broken_once)
        with pytest.raises(StorageError, match="RuntimeError"):
            storage.flush().result(timeout=10)
        storage.flush().result(timeout=10)  # the writer lives on
        assert storage.committed_ticket == storage.last_ticket
    finally:
        storage.close()


def test_missed_items_are_read_in_one_snapshot(tmp_path: Path) -> None:
    """A resuming client's missed items come from one committed state: a commit landing
    between the beats' and the metrics' reads must not yield metrics N+2 without beat N+1
    (the client then skips both live copies: a beat lost). The commit is made to land as a
    statement naming the metrics table starts (from the reader's trace callback): the page
    is one statement over the three tables, so it lands before the whole read."""
    storage = Storage(tmp_path / "db.sqlite3")
    try:
        storage.create_session(
            "s", created_at=1.0, mode="monitor", source={"kind": "simulator"}, options={}
        )
        storage.add_beats("s", [(0, 1.0, 1000.0, 1.0, None, False, None)], seqs=[1])
        storage.add_snapshot("metrics", "s", t_s=1.0, recorded_at=1.0, data={}, seq=2)
        storage.flush().result(timeout=10)
        landed: list[bool] = []

        def on_statement(sql: str) -> None:  # in the reading thread, before the statement runs
            if "FROM metrics" in sql and not landed:
                landed.append(True)
                storage.add_beats("s", [(1, 2.0, 1000.0, 2.0, None, False, None)], seqs=[3])
                storage.add_snapshot("metrics", "s", t_s=2.0, recorded_at=2.0, data={}, seq=4)
                storage.flush().result(timeout=10)

        with storage._read() as conn:
            conn.set_trace_callback(on_statement)
        try:
            seqs = [m[0] for m in storage.missed_since_seq("s", 0, limit=10)]
        finally:
            with storage._read() as conn:
                conn.set_trace_callback(None)
        assert landed
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # no gap (was [1, 2, 4])
        assert [m[0] for m in storage.missed_since_seq("s", 0, limit=10)] == [1, 2, 3, 4]
    finally:
        storage.close()


def test_missed_items_come_a_page_at_a_time_in_seq_order_across_the_tables(
    tmp_path: Path,
) -> None:
    """``limit`` bounds the rows read; pages chained by their last ``seq`` give every stored
    item of the session once, in ``seq`` order, whatever table it is in; rows without a seq
    and other sessions' rows are not resent."""
    st = _open(tmp_path)
    for sid in ("s", "other"):
        st.create_session(sid, created_at=1.0, mode="monitor", source={"kind": "x"}, options={})
    st.add_beats("s", [(0, 0.5, 800.0, 1.0, None, False, None)])  # stored without a seq
    expected: list[tuple[int, str]] = []
    seq = 0
    for i in range(1, 60):
        seq += 1
        st.add_beats("s", [(i, i * 0.8, 800.0, 1.0 + i, True, False, 70.0)], seqs=[seq])
        st.add_beats("other", [(i, i * 0.8, 800.0, 1.0 + i, None, False, None)], seqs=[seq])
        expected.append((seq, "beat"))
        if i % 7 == 0:
            seq += 1
            st.add_snapshot(
                "metrics", "s", t_s=i * 0.8, recorded_at=2.0 + i, data={"i": i}, seq=seq
            )
            expected.append((seq, "metrics"))
        if i % 11 == 0:
            seq += 2  # a status between: a seq no table holds
            st.add_micro_break(
                session_id="s",
                t_s=i * 0.8,
                recorded_at=3.0 + i,
                kind="flag",
                data={"i": i},
                seq=seq,
            )
            expected.append((seq, "micro_break"))
    st.flush().result(timeout=10)
    got: list[tuple[int, str, dict[str, Any]]] = []
    sizes: list[int] = []
    after = 0
    while True:
        page = st.missed_since_seq("s", after, limit=8)
        sizes.append(len(page))
        got += page
        if len(page) < 8:
            break
        after = page[-1][0]
    assert [(s, k) for s, k, _ in got] == expected
    assert sizes[:-1] == [8] * (len(sizes) - 1) and sizes[-1] == len(expected) % 8
    beat = next(f for _, k, f in got if k == "beat")
    assert beat == {
        "idx": 1,
        "t_s": 0.8,
        "rr_ms": 800.0,
        "arrived_at": 2.0,
        "contact": True,
        "gap_before": False,
        "hr_bpm": 70.0,
    }
    assert next(f for _, k, f in got if k == "metrics") == {
        "t_s": 7 * 0.8,
        "recorded_at": 9.0,
        "data": {"i": 7},
    }
    assert next(f for _, k, f in got if k == "micro_break") == {
        "t_s": 11 * 0.8,
        "recorded_at": 14.0,
        "kind": "flag",
        "data": {"i": 11},
    }
    assert st.missed_since_seq("s", expected[-1][0], limit=8) == []
    with pytest.raises(ValueError, match="limit"):
        st.missed_since_seq("s", 0, limit=0)
    st.close()


def test_a_version_4_database_gains_contact_changes_and_keeps_its_rows(tmp_path: Path) -> None:
    # migration 5: the stretches without skin contact of sessions stored from now on; a
    # database from before keeps its sessions (with none), and the read-only view of one not
    # yet migrated (an export while an older server runs) reads none rather than failing
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    for number in range(4):
        conn.executescript(MIGRATIONS[number])
    conn.execute("PRAGMA user_version = 4")
    conn.execute(
        "INSERT INTO sessions (id, created_at, state, mode, source_json) "
        "VALUES ('old', 1.0, 'ended', 'monitor', '{}')"
    )
    conn.execute("INSERT INTO beats VALUES ('old', 0, 0.8, 800.0, 1.8, 0, 0, NULL, NULL)")
    conn.commit()
    conn.close()
    with ReadOnlyDatabase(path) as db:
        assert db.contact_changes("old") == []
    st = Storage(path, flush_s=0.02)
    try:
        assert st.schema_version == len(MIGRATIONS)
        assert st.beats("old") == [(0, 0.8, 800.0, 1.8, False, False, None)]
        assert st.contact_changes("old") == []
        st.add_contact_change("old", t_s=2.5, contact=False, recorded_at=3.0)
        st.add_contact_change("old", t_s=9.0, contact=True, recorded_at=10.0)
        st.add_beats("old", [(1, 9.0, 800.0, 10.0, True, False, None)])
        st.flush().result(timeout=10)
        assert st.contact_changes("old") == [(2.5, False), (9.0, True)]
        assert st.next_contact_beat_times("old", [0.0, 2.5, 8.9, 9.0]) == [9.0]
    finally:
        st.close()
    with ReadOnlyDatabase(path) as db:
        assert db.contact_changes("old") == [(2.5, False), (9.0, True)]


def test_the_next_beat_with_contact_is_found_without_walking_the_beats(tmp_path: Path) -> None:
    # GET /sessions/{id}/contact looks up, for a stretch that no 'contact back' ended, the
    # first beat with contact after its start. There is no index on t_s: the lookup must not
    # walk the session's beats up to that time (it did: a request on a 100k-beat session with
    # thousands of stretches took tens of seconds and held a worker thread). Its work is
    # bounded by SQLite's own count of VM instructions, not by a clock.
    rng = np.random.default_rng(5)
    st = _open(tmp_path)
    n = 20_000
    contact = rng.random(n) > 0.3  # runs of beats marked without contact (0) among them
    contact[-50:] = False  # none with contact at the end
    unknown = rng.random(n) < 0.05  # some say nothing: they have contact as far as we know
    t_s = np.cumsum(rng.uniform(0.4, 1.2, n))
    rows = [
        (
            3 * i,
            float(t_s[i]),
            800.0,
            float(t_s[i]),
            None if unknown[i] else bool(contact[i]),
            False,
            None,
        )
        for i in range(n)
    ]  # idx skips numbers: the lookup must not assume 0, 1, 2, ...
    for sid in ("s", "other"):
        st.create_session(sid, created_at=0.0, mode="monitor", source={}, options={})
    st.add_beats("s", rows)
    st.add_beats("other", [(0, 1.0, 800.0, 1.0, True, False, None)])
    st.flush().result(timeout=30)
    with_contact = t_s[contact | unknown]
    after = [-1.0, float(t_s[0]), *rng.uniform(0.0, float(t_s[-1]) + 5.0, 200).tolist()]
    expected = sorted(
        {
            float(with_contact[np.searchsorted(with_contact, t, side="right")])
            for t in after
            if t < with_contact[-1]
        }
    )
    assert st.next_contact_beat_times("s", after) == expected
    assert st.next_contact_beat_times("none", after) == []

    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with st._read() as conn:  # this thread's reading connection, which the lookup uses
        conn.set_progress_handler(count, 100)
    try:
        for t in (float(t_s[n // 2]), float(t_s[n - 100])):
            steps[0] = 0
            st.next_contact_beat_times("s", [t])
            # a bisection is ~15 lookups of a few dozen instructions each; walking half the
            # beats is ~10,000 rows of several instructions each (~1,000 hundreds)
            assert steps[0] < 60, steps[0]
    finally:
        with st._read() as conn:
            conn.set_progress_handler(None, 0)
        st.close()


def test_a_page_of_the_session_list_reads_its_own_rows_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GET /api/v1/sessions (the page's reachability probe asks it for one session) sorted
    # the whole table and counted every session's beats before it kept a page: its work grew
    # with all beats stored. On the index of its order (schema 9, created_at DESC, id) a
    # page, the first or one after a cursor's place, reads its own rows: the plan seeks to
    # the place (not a scan of the index from the top, which grows with the place's
    # position, nor a sort), and SQLite's count of VM instructions, not a clock, stays that
    # of a few rows with the place near the end.
    st = _open(tmp_path)
    n_sessions, n_beats = 300, 40
    for k in range(n_sessions):
        sid = f"s{(k * 7919) % 1000:03d}"  # ids not in created_at's order
        st.create_session(sid, created_at=float(k // 3), mode="monitor", source={}, options={})
        st.add_beats(sid, [(i, i + 1.0, 800.0, i + 1.0, True, False, None) for i in range(n_beats)])
    st.flush().result(timeout=30)
    listed = st.list_sessions(limit=n_sessions)
    everything = [r["id"] for r in listed]
    assert everything == [
        r["id"] for r in sorted(listed, key=lambda r: (-r["created_at"], r["id"]))
    ]
    # among ties (3 sessions a time): in the middle, and near the end, where a scan of the
    # index from the top would read ~290 entries before the page
    middle, near_end = ((listed[k]["created_at"], listed[k]["id"]) for k in (150, 290))
    asked: list[tuple[str, tuple[Any, ...]]] = []
    query = st.query

    def spy(sql: str, params: Any = ()) -> Any:
        asked.append((sql, tuple(params)))
        return query(sql, params)

    monkeypatch.setattr(st, "query", spy)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with st._read() as conn:  # this thread's reading connection, which the list uses
        conn.set_progress_handler(count, 100)
    try:
        for after, place in ((None, -1), ((50.0, "s000"), None), (middle, 150), (near_end, 290)):
            steps[0] = 0
            rows = st.list_sessions(limit=3, after=after)
            # three rows and their 40 beats each: ~5 hundreds of instructions; the index
            # scanned from the top to the place near the end: ~28; the whole table sorted
            # with every session's beats counted: ~12,000 beats, ~1,000 hundreds
            assert steps[0] < 12, (after, steps[0])
            if place is not None:
                assert [r["id"] for r in rows] == everything[place + 1 : place + 4]
            assert all(r["n_beats"] == n_beats for r in rows)
            with st._read() as conn:
                conn.set_progress_handler(None, 0)
                sql, params = asked[-1]
                plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
                conn.set_progress_handler(count, 100)
            # the first page reads the index from the top; a cursor's page seeks to its place
            expected = "SCAN s USING INDEX" if after is None else "SEARCH s USING INDEX"
            assert any(
                line.startswith(expected)
                and "sessions_newest" in line
                and (after is None or line.endswith("(created_at<?)"))
                for line in plan
            ), plan
            assert not any("TEMP B-TREE" in line for line in plan), plan
    finally:
        with st._read() as conn:
            conn.set_progress_handler(None, 0)
        st.close()


def test_the_contact_route_looks_up_beats_only_for_stretches_no_contact_back_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 300 stretches that the strap said ended ('contact back') need no beat; the last one,
    # dropped in (no True change), and one lost again before any beat, do
    from api.routes.sessions import _stretches

    st = _open(tmp_path)
    st.create_session("s", created_at=0.0, mode="monitor", source={}, options={})
    st.add_beats(
        "s", [(i, i + 1.0, 1000.0, i + 1.0, i < 700 or i >= 900, False, None) for i in range(1000)]
    )
    for k in range(300):
        st.add_contact_change("s", t_s=k + 0.5, contact=False, recorded_at=0.0)
        st.add_contact_change("s", t_s=k + 0.9, contact=True, recorded_at=0.0)
    for t in (700.5, 750.0):  # dropped, lost again while the beats say no contact
        st.add_contact_change("s", t_s=t, contact=False, recorded_at=0.0)
    st.flush().result(timeout=10)
    asked: list[list[float]] = []
    lookup = st.next_contact_beat_times

    def spy(session_id: str, after: list[float]) -> list[float]:
        asked.append(list(after))
        return lookup(session_id, after)

    monkeypatch.setattr(st, "next_contact_beat_times", spy)
    try:
        got = _stretches(st, "s")
    finally:
        st.close()
    assert asked == [[700.5, 750.0]]
    assert len(got) == 301 and {x.ended_by for x in got[:300]} == {"contact"}
    assert (got[-1].start_t_s, got[-1].end_t_s, got[-1].ended_by) == (700.5, 901.0, "beat")


def test_an_opening_never_probes_its_own_lock_where_flock_is_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On NFS flock is emulated by POSIX locks, which belong to the process: probing its own
    lock file took the lock again, removed the file and dropped the lock (code review)."""
    import fcntl

    from api.storage import owners

    monkeypatch.setattr(owners.fcntl, "flock", fcntl.lockf)  # POSIX semantics
    service = _open(tmp_path)
    try:
        service.create_session("live", created_at=1.0, mode="monitor", source={}, options={})
        service.flush().result(timeout=10)
        assert service.owner.path.exists()
        other = _open(tmp_path)
        other.close()
        assert other.interrupted_on_open == []
        assert service.owner.path.exists()
    finally:
        service.close()


def test_a_forked_child_probes_its_parents_owners_as_another_process(tmp_path: Path) -> None:
    """rev13 review: a forked child inherited the parent's own-owner ids (``_OWN``) and counted
    the parent's owner alive for good, after the parent released it too. The child says by
    its exit status: 0 right, 1 the live parent's owner not alive, 2 the released one alive."""
    from api.storage import owners

    database = tmp_path / "db.sqlite3"
    owner = owners.Owner(database)
    checked_r, checked_w = os.pipe()
    released_r, released_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        status = 3
        try:
            if not owners.owner_alive(database, owner.id):  # the parent holds it
                status = 1
            else:
                os.write(checked_w, b"x")
                os.read(released_r, 1)  # the parent released it
                status = 2 if owners.owner_alive(database, owner.id) else 0
        finally:
            os._exit(status)
    os.close(checked_w)  # the child's copy only: EOF when it ended at its first check
    os.close(released_r)
    try:
        os.read(checked_r, 1)
        owner.release()
    finally:
        with contextlib.suppress(BrokenPipeError):  # a child ended at its first check
            os.write(released_w, b"x")
        os.close(checked_r)
        os.close(released_w)
        _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0


@pytest.mark.parametrize("failing", ["open", "flock"])
def test_a_lock_file_that_cannot_be_tested_counts_as_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, failing: str
) -> None:
    """Another user's lock file (a killed ``sudo replay --store``) or ENOLCK raised raw out of
    every later opening; its owner counts as alive, logged once per opening, naming the file
    and what to do (code review)."""
    import errno
    import fcntl
    import os

    from api.storage import owners

    st = _open(tmp_path)
    st.create_session("s", created_at=1.0, mode="monitor", source={}, options={})
    st.create_session("t", created_at=2.0, mode="monitor", source={}, options={})
    st.close()
    stale = tmp_path / "db.sqlite3-owners" / f"{'a' * 32}.lock"
    stale.write_text("")
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        conn.execute("UPDATE sessions SET owner = ?", ("a" * 32,))
    conn.close()
    real_open, real_flock = os.open, fcntl.flock

    def fake_open(path: Any, flags: int, *args: Any) -> int:
        if failing == "open" and Path(path) == stale:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    def fake_flock(fd: int, op: int) -> None:
        if failing == "flock" and os.readlink(f"/proc/self/fd/{fd}") == str(stale):
            raise OSError(errno.ENOLCK, "No locks available")
        real_flock(fd, op)

    monkeypatch.setattr(owners.os, "open", fake_open)
    monkeypatch.setattr(owners.fcntl, "flock", fake_flock)
    with caplog.at_level("WARNING", logger="api.storage.writer"):
        st = _open(tmp_path)
    try:
        assert st.interrupted_on_open == []
        assert [(st.get_session(s) or {})["state"] for s in "st"] == ["running", "running"]
        assert stale.exists()
        [warning] = [r for r in caplog.records if str(stale) in r.getMessage()]
        reason = (
            "opened (Permission denied)" if failing == "open" else "locked (No locks available)"
        )
        assert f"owner lock {stale} cannot be {reason}" in warning.getMessage()
        assert "the 2 session(s) it started stay 'running'" in warning.getMessage()
        assert "delete the file" in warning.getMessage()
        assert st.owner_warnings == (
            warning.getMessage()
            .replace(str(stale), f"db.sqlite3-owners/{stale.name}")
            .replace("the 2 session(s)", "any sessions"),
        )
    finally:
        st.close()


def test_an_error_while_opening_is_a_storage_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A raw sqlite3/OS error out of the migration or the interrupted marking crashed ``serve``
    and escaped ``replay --store``'s handling (code review)."""
    from api.storage import writer

    def broken(conn: sqlite3.Connection) -> int:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(writer, "migrate", broken)
    with pytest.raises(StorageError, match=r"db\.sqlite3.*malformed"):
        _open(tmp_path)
    monkeypatch.undo()
    _open(tmp_path).close()  # the failed opening released its owner


def _late_opening(db: Path, meanwhile: Callable[[], None]) -> Any:
    """A connection to ``db`` (left at schema 7) whose migration reads version 7, then, when it
    asks for the write lock (``BEGIN IMMEDIATE``), finds ``meanwhile()`` done: another
    opening's work while it waited. Its ``conn`` is the real connection."""
    from api.storage.connection import connect

    conn = connect(db)
    for number in range(7):
        conn.executescript(MIGRATIONS[number])
    conn.execute("PRAGMA user_version = 7")
    conn.close()

    class Late:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn, self.waited = conn, False

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "BEGIN IMMEDIATE" and not self.waited:
                self.waited = True
                meanwhile()
            return self.conn.execute(sql, *args)

    return Late(connect(db))


def test_two_openings_migrating_at_once_apply_each_step_once(tmp_path: Path) -> None:
    """The second of two openings (``serve`` started with ``replay --store`` after an upgrade)
    read the version before waiting for the write lock, and ran migration 8 again: "duplicate
    column name: owner" (code review)."""
    from api.storage.connection import connect
    from api.storage.schema import migrate

    db = tmp_path / "db.sqlite3"

    def other_opening() -> None:
        other = connect(db)
        migrate(other)
        other.close()

    late = _late_opening(db, other_opening)
    try:
        assert migrate(late) == len(MIGRATIONS)
        assert late.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        late.conn.close()


def test_a_newer_hrvpace_migrating_while_this_one_waits_is_refused(tmp_path: Path) -> None:
    """rev13 review: the re-read under the write lock skipped every step a newer hrvpace had
    applied meanwhile, past this one's last too, and said the schema was this one's: it ran
    on a schema it does not know. Now it is the same refusal as at the first read."""
    from api.storage.connection import connect
    from api.storage.schema import migrate

    db = tmp_path / "db.sqlite3"

    def newer_opening() -> None:
        newer = connect(db)
        newer.executescript(MIGRATIONS[7])
        newer.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
        newer.close()

    late = _late_opening(db, newer_opening)
    try:
        known = len(MIGRATIONS)
        with pytest.raises(StorageError, match=rf"version {known + 1} is newer .* \({known}\)"):
            migrate(late)
        assert not late.conn.in_transaction  # rolled back: the write lock is not kept
    finally:
        late.conn.close()


def test_writes_lost_to_an_unexpected_error_are_told_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch lost to an unexpected error (a bug) counted as done once a later write
    committed, and a live message held for it was sent: published but never stored (code
    review). Its tickets are told failed, as a write that failed alone."""
    from api.storage import writer

    st = _open(tmp_path)
    try:
        st.create_session("s1", created_at=1.0, mode="monitor", source={}, options={}).result()
        commit = writer.StorageCore._commit
        calls = {"n": 0}

        def broken_once(self: Any, conn: Any, batch: list[Any]) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("a bug in a batch")
            commit(self, conn, batch)

        monkeypatch.setattr(writer.StorageCore, "_commit", broken_once)
        lost = st.add_beats("s1", [(0, 0.8, 800.0, 1.0, None, False, None)])
        with contextlib.suppress(StorageError):  # the flush may be in the lost batch
            st.flush().result(timeout=10)
        assert calls["n"] >= 1
        st.put_value("settings", "x", 1, updated_at=1.0)
        st.flush().result(timeout=10)  # a later write is committed
        assert st.beats("s1") == []
        assert st.committed_ticket > lost.ticket
        assert st.write_failed(lost.ticket)
    finally:
        st.close()
