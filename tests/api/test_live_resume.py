"""Following a session incrementally: ``since``/``limit``/``total`` on beats and metrics, and a
WebSocket client that reconnects with its last ``seq`` (real uvicorn, real SQLite).

The resumed client must get, before any live message, what it missed from storage, and then
the live stream: its beats and metrics across both connections equal the stored ones from its
first beat on, each once, in order. The resend is paged (``RESUME_PAGE_SIZE`` items per
storage read): the page tests count the rows of every read, and make items arrive while the
pages are read and between the last page and the subscription to the live stream.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.messages import parse_live_message
from api.routes import live as live_routes
from api.storage import Storage
from tests.api.conftest import Server, scripted_factory, wait_for

RR = [800.0 + 50.0 * ((i * 7) % 5) for i in range(420)]


def _start(server: Server, speed: float | str) -> str:
    with server.client() as c:
        r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": speed}})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def _wait_done(server: Server, session_id: str) -> None:
    with server.client() as c:
        wait_for(
            lambda: not c.get(f"/api/v1/sessions/{session_id}").json()["live"],
            timeout_s=60,
            what="session end",
        )


def _url(server: Server, session_id: str, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"token": server.token, **params}.items())
    return f"{server.ws_url}/api/v1/sessions/{session_id}/live?{query}"


@pytest.mark.parametrize(
    ("speed", "away_s", "read_delay_s"),
    [
        (30, 2.0, 0.0),  # ~0.03 s per beat: ~65 beats and a few windows missed
        # ~9 ms per beat and a storage read that takes 0.5 s: the beats published and
        # committed meanwhile are both in the read and queued live (each must be sent once)
        (100, 0.5, 0.5),
    ],
)
def test_a_client_that_reconnects_with_its_last_seq_misses_nothing_and_gets_nothing_twice(
    serve: Callable[..., Server], speed: float, away_s: float, read_delay_s: float
) -> None:
    server = serve(source_factory=scripted_factory(RR))
    storage = server.app.state.storage
    read = storage.missed_since_seq

    def slow_read(session_id: str, seq: int, *, limit: int) -> Any:
        time.sleep(read_delay_s)  # in the server's worker thread, as a slow disk would
        return read(session_id, seq, limit=limit)

    storage.missed_since_seq = slow_read
    session_id = _start(server, speed)
    first: list[Any] = []
    with connect(_url(server, session_id), open_timeout=10) as ws:
        for text in ws:
            first.append(parse_live_message(text))
            if sum(m.type == "beat" for m in first) >= 60:
                break
    last_seq = first[-1].seq
    time.sleep(away_s)  # beats and windows flow while nobody listens
    second: list[Any] = []
    with connect(_url(server, session_id, since_seq=last_seq), open_timeout=10) as ws:
        for text in ws:  # until the session ends and the server closes
            second.append(parse_live_message(text))
    _wait_done(server, session_id)

    # what was missed comes first, from storage: the first stored item after the client's
    # last seq (a signal message, not stored, may sit between; none is resent)
    stored_after = [seq for seq, _ in _stored_items(server, session_id) if seq > last_seq]
    assert second[0].type == "beat" and second[0].seq == stored_after[0], second[0]
    assert second[0].seq <= last_seq + 2, (last_seq, second[0])  # at most that one signal
    resent = []
    for m in second:
        if m.type == "status":
            break
        resent.append(m)
    assert {m.type for m in resent} <= {"beat", "metrics", "micro_break"}
    assert len([m for m in resent if m.type == "beat"]) >= 3, "nothing was missed?"
    data = [m for m in first + second if m.type in ("beat", "metrics", "micro_break")]
    seqs = [m.seq for m in data]
    assert seqs == sorted(set(seqs)), "a data message twice or out of order"

    with server.client() as c:
        stored_beats = c.get(f"/api/v1/sessions/{session_id}/beats").json()["beats"]
        stored_metrics = c.get(f"/api/v1/sessions/{session_id}/metrics").json()["metrics"]
    beats = [m for m in data if m.type == "beat"]
    from_idx = beats[0].idx
    assert [b.idx for b in beats] == [b["idx"] for b in stored_beats[from_idx:]]
    assert [(b.t_s, b.rr_ms) for b in beats] == [
        (b["t_s"], b["rr_ms"]) for b in stored_beats[from_idx:]
    ]
    assert beats[-1].idx == len(RR) - 1
    metrics = [m for m in data if m.type == "metrics"]
    assert metrics, "no metrics window arrived"
    first_t = metrics[0].t_s
    assert [m.t_s for m in metrics] == [w["t_s"] for w in stored_metrics if w["t_s"] >= first_t]
    assert [m.metrics.rmssd_ms for m in metrics] == [
        w["rmssd_ms"] for w in stored_metrics if w["t_s"] >= first_t
    ]
    assert second[-1].type == "status" and second[-1].state == "ended"
    # after the end, a new client gets the final status with the number the live ones got
    with connect(_url(server, session_id), open_timeout=10) as ws:
        after_end = [parse_live_message(text) for text in ws]
    assert [(m.type, m.seq) for m in after_end] == [("status", second[-1].seq)]


def _final_seq(server: Server, session_id: str) -> int:
    storage = Storage(server.settings.database_path)
    try:
        row = storage.get_session(session_id)
    finally:
        storage.close()
    assert row is not None and row["last_seq"] is not None
    return int(row["last_seq"])


def test_reconnecting_after_the_session_ended_gets_the_rest_then_the_final_status(
    serve: Callable[..., Server],
) -> None:
    server = serve(source_factory=scripted_factory(RR[:120]))
    session_id = _start(server, "max")
    _wait_done(server, session_id)
    with connect(_url(server, session_id, since_seq=50), open_timeout=10) as ws:
        messages = [parse_live_message(text) for text in ws]
    storage = Storage(server.settings.database_path)
    try:
        stored = storage.missed_since_seq(session_id, 50, limit=10_000)
    finally:
        storage.close()
    assert stored, "the stored beats carry no seq"
    assert [(m.seq, m.type) for m in messages[:-1]] == [(s, t) for s, t, _ in stored]
    assert messages[-1].type == "status" and messages[-1].state == "ended"
    final_seq = _final_seq(server, session_id)  # the final status's, above every stored one
    assert messages[-1].seq == final_seq > stored[-1][0]
    with server.client() as c:  # the live schema tells a client how to resume
        assert "?since_seq=N" in c.get("/api/v1/schema/live").json()["description"]
    # without since_seq: only the final status, numbered with the session's last seq (not 1)
    with connect(_url(server, session_id), open_timeout=10) as ws:
        plain = [parse_live_message(text) for text in ws]
    assert [m.type for m in plain] == ["status"] and plain[0].seq == final_seq
    # a since_seq beyond the session is not echoed: the session's last seq, nothing resent
    with connect(_url(server, session_id, since_seq=99_999_999), open_timeout=10) as ws:
        beyond = [parse_live_message(text) for text in ws]
    assert [(m.type, m.seq) for m in beyond] == [("status", final_seq)]


def test_a_since_seq_beyond_a_running_session_is_answered_with_its_current_seq(
    serve: Callable[..., Server],
) -> None:
    server = serve(source_factory=scripted_factory(RR))
    session_id = _start(server, 5)
    with server.client() as c:
        wait_for(
            lambda: c.get(f"/api/v1/sessions/{session_id}").json()["n_beats"] >= 3,
            what="beats",
        )
    with connect(_url(server, session_id, since_seq=99_999_999), open_timeout=10) as ws:
        first = parse_live_message(ws.recv(timeout=10))
        reached = server.app.state.sessions.get_live(session_id).hub.seq
    assert first.type == "status"
    assert 1 <= first.seq <= reached < 99_999_999


@pytest.mark.parametrize("since_seq", ["abc", "-5", "1e23", "5.0", str(2**62 + 1), ""])
def test_a_malformed_since_seq_is_closed_with_1008_naming_it(
    serve: Callable[..., Server], since_seq: str
) -> None:
    """Not a bare HTTP 403 at the handshake (what a refused origin gets): accepted, then closed
    with 1008 (policy violation) and a reason naming ``since_seq``, as a bad token is."""
    server = serve(source_factory=scripted_factory(RR[:120]))
    session_id = _start(server, "max")
    url = _url(server, session_id, since_seq=since_seq)
    with connect(url, open_timeout=10) as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    assert "since_seq" in info.value.rcvd.reason
    # a token refused the same way, with its own reason
    url = url.replace(server.token, "wrong")
    with connect(url, open_timeout=10) as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    assert info.value.rcvd.reason == "missing or bad token"


def test_beats_and_metrics_page_by_t_s_with_total(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR))
    session_id = _start(server, "max")
    _wait_done(server, session_id)
    base = f"/api/v1/sessions/{session_id}"
    with server.client() as c:
        every = c.get(f"{base}/beats").json()
        assert every["total"] == len(every["beats"]) == len(RR)
        got: list[dict[str, Any]] = []
        since: float | None = None
        while True:
            params: dict[str, Any] = {"limit": 64}
            if since is not None:
                params["since"] = since
            page = c.get(f"{base}/beats", params=params).json()
            assert page["total"] == len(RR) - len(got)  # what the filter selects: the rest
            if not page["beats"]:
                break
            got += page["beats"]
            since = page["beats"][-1]["t_s"]
        assert got == every["beats"]
        csv = c.get(f"{base}/beats", params={"format": "csv", "since": 10.0, "limit": 5})
        assert int(csv.headers["x-total-count"]) == sum(b["t_s"] > 10.0 for b in every["beats"])
        assert len(csv.text.splitlines()) == 1 + 5

        windows = c.get(f"{base}/metrics").json()
        assert windows["total"] == len(windows["metrics"]) > 3
        cut = windows["metrics"][2]["t_s"]
        after = c.get(f"{base}/metrics", params={"since": cut, "limit": 1}).json()
        assert after["metrics"] == [w for w in windows["metrics"] if w["t_s"] > cut][:1]
        assert after["total"] == sum(w["t_s"] > cut for w in windows["metrics"])
        assert c.get(f"{base}/metrics", params={"limit": 0}).status_code == 422


@dataclass(frozen=True)
class _Read:
    """One storage read of a resume: what it asked for and what it got."""

    after: int
    limit: int
    seqs: list[int]  # of the rows returned
    hub_seq: int  # the session's last seq when the read was called


def _count_reads(
    server: Server,
    *,
    session_id: str | None = None,
    delay_s: float = 0.0,
    pause_after_first_short_s: float = 0.0,
) -> list[_Read]:
    """Wrap the storage's page read: record every call; ``delay_s`` before each read (a slow
    disk: the session goes on meanwhile); ``pause_after_first_short_s`` once the first page
    shorter than its limit is read (the bulk is done: items are stored before the client
    subscribes, while nobody is subscribed, so they are never published to it)."""
    storage = server.app.state.storage
    read = storage.missed_since_seq
    reads: list[_Read] = []
    lock = threading.Lock()

    def counted(sid: str, seq: int, *, limit: int) -> Any:
        live = server.app.state.sessions.get_live(sid)
        hub_seq = live.hub.seq if live is not None else -1
        time.sleep(delay_s)
        rows = read(sid, seq, limit=limit)
        with lock:
            first_short = len(rows) < limit and all(len(r.seqs) == r.limit for r in reads)
            reads.append(_Read(seq, limit, [r[0] for r in rows], hub_seq))
        if first_short:
            time.sleep(pause_after_first_short_s)
        return rows

    storage.missed_since_seq = counted
    return reads


def _stored_items(server: Server, session_id: str) -> list[tuple[int, str]]:
    """Every stored item of the session that has a seq, as ``(seq, type)``, read directly."""
    conn = sqlite3.connect(server.settings.database_path)
    try:
        rows = conn.execute(
            "SELECT seq, 'beat' FROM beats WHERE session_id = ? AND seq IS NOT NULL "
            "UNION ALL SELECT seq, 'metrics' FROM metrics WHERE session_id = ? AND seq IS NOT NULL "
            "UNION ALL SELECT seq, 'micro_break' FROM micro_breaks WHERE session_id = ? "
            "AND seq IS NOT NULL ORDER BY 1",
            (session_id,) * 3,
        ).fetchall()
    finally:
        conn.close()
    return [(int(seq), str(kind)) for seq, kind in rows]


def _n_stored_beats(server: Server, session_id: str) -> int:
    with server.client() as c:
        return int(
            c.get(f"/api/v1/sessions/{session_id}/beats", params={"limit": 1}).json()["total"]
        )


PAGE = 40
QUEUE = 32
LONG_RR = [800.0 + 50.0 * ((i * 7) % 5) for i in range(400)]


@pytest.mark.parametrize(
    ("delay_s", "pause_s"),
    [
        # every page read is slow: the session stores ~7 beats per read, so the resend chases
        # the live session through storage, and the hand-over read overlaps the live queue
        (0.04, 0.0),
        # after the bulk's last page, 0.3 s before the client subscribes: ~50 beats stored
        # and published to nobody; only the hand-over read can give them
        (0.0, 0.3),
    ],
)
def test_resume_from_0_pages_through_storage_and_hands_over_to_the_live_stream(
    serve: Callable[..., Server],
    monkeypatch: pytest.MonkeyPatch,
    delay_s: float,
    pause_s: float,
) -> None:
    monkeypatch.setattr(live_routes, "RESUME_PAGE_SIZE", PAGE)
    server = serve(source_factory=scripted_factory(LONG_RR))
    server.app.state.sessions.queue_size = QUEUE  # a live queue far shorter than the resend
    reads = _count_reads(server, delay_s=delay_s, pause_after_first_short_s=pause_s)
    session_id = _start(server, 150)  # ~6 ms per beat
    hub = server.app.state.sessions.get_live(session_id).hub
    wait_for(lambda: _n_stored_beats(server, session_id) >= 200, timeout_s=30, what="a backlog")
    got: list[Any] = []
    with connect(_url(server, session_id, since_seq=0), open_timeout=10) as ws:
        for text in ws:  # until the session ends and the server closes
            got.append(parse_live_message(text))
    _wait_done(server, session_id)

    # the client: every stored item exactly once, in seq order, then live after the status
    data = [m for m in got if m.type in ("beat", "metrics", "micro_break")]
    assert [(m.seq, m.type) for m in data] == _stored_items(server, session_id)
    assert [m.idx for m in data if m.type == "beat"] == list(range(len(LONG_RR)))
    welcome = next(i for i, m in enumerate(got) if m.type == "status")
    resent = got[:welcome]
    assert all(m.type in ("beat", "metrics", "micro_break") for m in resent)
    assert [m.seq for m in resent] == [s for r in reads for s in r.seqs]
    assert got[welcome].seq == resent[-1].seq  # the welcome repeats the last resent seq
    live_beats = [m for m in got[welcome + 1 :] if m.type == "beat"]
    assert len(live_beats) >= 50, "the session ended before the hand-over"
    assert got[-1].type == "status" and got[-1].state == "ended"

    # memory: no read returned more rows than a page; the backlog took several pages
    assert reads and all(r.limit == PAGE and len(r.seqs) <= PAGE for r in reads), reads
    assert sum(len(r.seqs) == PAGE for r in reads) >= 200 // PAGE
    # pages chain: each read starts after the last item of the one before
    assert reads[0].after == 0
    for before, now in itertools.pairwise(reads):
        assert now.after == (before.seqs[-1] if before.seqs else before.after)
    n_bulk = next(i for i, r in enumerate(reads) if len(r.seqs) < PAGE) + 1
    bulk, handover = reads[:n_bulk], reads[n_bulk:]
    assert handover, "no read after subscribing"
    if delay_s:  # items stored while the bulk was read came from the bulk's later pages
        assert max(s for r in bulk for s in r.seqs) > bulk[0].hub_seq, bulk
    if pause_s:  # stored during the pause, published to nobody: the hand-over read has them
        assert sum(len(r.seqs) for r in handover) >= 10, handover
    # the live queue never overflowed: the resend did not go through it
    assert hub.queue_size == QUEUE and hub.dropped_total == 0


def test_resuming_an_ended_session_reads_full_pages_then_an_empty_one(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog of exactly three pages: three full reads, one empty read, nothing more."""
    monkeypatch.setattr(live_routes, "RESUME_PAGE_SIZE", PAGE)
    server = serve(source_factory=scripted_factory(RR[:200]))
    session_id = _start(server, "max")
    _wait_done(server, session_id)
    stored = _stored_items(server, session_id)
    since = stored[-3 * PAGE - 1][0]  # the last 3 * PAGE items are missed
    reads = _count_reads(server)
    with connect(_url(server, session_id, since_seq=since), open_timeout=10) as ws:
        messages = [parse_live_message(text) for text in ws]
    assert [len(r.seqs) for r in reads] == [PAGE, PAGE, PAGE, 0]
    assert [(m.seq, m.type) for m in messages[:-1]] == stored[-3 * PAGE :]
    assert messages[-1].type == "status" and messages[-1].state == "ended"
    assert messages[-1].seq == _final_seq(server, session_id) > stored[-1][0]


def test_the_page_size_is_the_documented_one() -> None:
    """README, the architecture notes and the live schema's description name the page size."""
    from api.messages import RESUME_DESCRIPTION
    from tests.api.conftest import REPO_ROOT

    size = f"{live_routes.RESUME_PAGE_SIZE:,}"
    assert f"{size} items" in RESUME_DESCRIPTION
    assert f"{size} items" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_the_final_status_is_the_same_live_and_replayed() -> None:
    """Review (rev12_appdev 4): live clients got the final status with ``source_state``
    "ended", a reconnect the same seq with null (the schema: null for a session that is not
    running). Both are null now."""
    from api.live import LiveHub
    from api.pipeline.loop import Pipeline
    from api.pipeline.sinks import NoStore
    from sensors import SourceState, VirtualClock
    from tests.api.conftest import ScriptedSource

    source = ScriptedSource([], clock=VirtualClock())
    pipeline = Pipeline(
        session_id="s1", source=source, storage=NoStore(), hub=LiveHub("s1"), analyser=None,
        pacer=None,
    )  # fmt: skip
    source._set_status(type(source.status)(SourceState.STREAMING))
    assert pipeline.status_message().source_state == SourceState.STREAMING
    source._set_status(type(source.status)(SourceState.ENDED))
    pipeline.set_state("stopped", "stopped on request")
    final = pipeline.hub.last_status
    assert final is not None and final.state == "stopped"
    assert final.source_state is None
