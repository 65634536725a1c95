"""Messages held for their write are not sent to a client that subscribes after every client
left: it starts from the welcome (the state now), and a held message is older than that.

Before, :meth:`api.live.LiveHub.publish_text` dropped a message published while nobody was
subscribed but kept the older ones held for their commit, and a client subscribing later got
those after its welcome: a practice's guidance after the welcome of a session whose pacing had
stopped meanwhile (its stop dropped), so the page showed pacing until the next breathing command
(the page orders only micro-break and signal messages by ``seq``; metrics, guidance and status
it takes as they come). Real SQLite that commits only when asked; real message payloads.
"""

from __future__ import annotations

import json
from pathlib import Path

from api import payloads
from api.live import LiveHub
from api.messages import GuidanceMessage, MetricsMessage, parse_live_message
from api.pipeline.pacing import make_pacer
from api.storage import Storage


def _guidance(hub: LiveHub, pacer_guidance: payloads.Guidance, t_s: float) -> str:
    return GuidanceMessage(**hub.next_header(), t_s=t_s, guidance=pacer_guidance).model_dump_json()


def test_a_later_client_gets_no_message_held_from_before_it_subscribed(tmp_path: Path) -> None:
    st = Storage(tmp_path / "db.sqlite3", flush_s=30.0)  # nothing commits unless asked
    hub = LiveHub("s1", queue_size=64)
    pacer = make_pacer("practice", {})
    try:
        st.create_session("s1", created_at=1.0, mode="practice", source={}, options={}).result()
        hub.commit_reached(st.committed_ticket)
        first = hub.subscribe()  # a page follows the session
        # a metrics window (stored: held until committed), then the practice's guidance
        seq = hub.take_seq()
        metrics = {"t_s": 60.0, "n_beats": 70, "rmssd_ms": 40.0}
        st.add_snapshot("metrics", "s1", t_s=60.0, recorded_at=1.0, data=metrics, seq=seq)
        hub.publish_text(
            MetricsMessage(**hub.header(seq), t_s=60.0, metrics=metrics).model_dump_json(),
            after=st.last_ticket,
        )
        hub.publish_text(_guidance(hub, pacer.guidance(60.0), 60.0))  # behind the window
        assert hub.n_held == 2
        hub.unsubscribe(first)  # the page is closed before the write commits
        pacer.stop(t_s=61.0)
        hub.publish_text(_guidance(hub, pacer.guidance(61.0), 61.0))  # the stop: nobody there
        later = hub.subscribe()  # the page opens again (its welcome: no guidance, not pacing)
        st.flush().result()
        hub.commit_reached(st.committed_ticket)
        stale = [parse_live_message(text) for text in later._queue]
        assert stale == [], [(m.type, m.seq) for m in stale]
        assert hub.n_held == 0
        # what is published from now on reaches it
        hub.publish_text(_guidance(hub, pacer.guidance(62.0), 62.0))
        (m,) = [parse_live_message(text) for text in later._queue]
        assert m.type == "guidance" and m.guidance.mode == "stopped"
    finally:
        st.close()


def test_with_a_client_there_throughout_nothing_held_is_lost(tmp_path: Path) -> None:
    """A second client leaving does not drop what the first still waits for."""
    st = Storage(tmp_path / "db.sqlite3", flush_s=30.0)
    hub = LiveHub("s1", queue_size=64)
    try:
        st.create_session("s1", created_at=1.0, mode="monitor", source={}, options={}).result()
        hub.commit_reached(st.committed_ticket)
        stays, leaves = hub.subscribe(), hub.subscribe()
        st.add_beats("s1", [(0, 0.8, 800.0, 1.8, True, False, None)])
        hub.publish_text("beat 0", after=st.last_ticket)
        hub.unsubscribe(leaves)
        hub.publish_text("status")
        st.flush().result()
        hub.commit_reached(st.committed_ticket)
        assert list(stays._queue) == ["beat 0", "status"]
    finally:
        st.close()


def test_a_client_joining_others_gets_no_held_message_older_than_its_welcome(
    tmp_path: Path,
) -> None:
    """A second page opens while the first is there and messages are held: the held ones,
    numbered before it subscribed, go to the first page only; the second starts from its
    welcome (before, it got a practice's guidance older than its welcome after it), and gets
    what is numbered after it subscribed, held or not."""
    st = Storage(tmp_path / "db.sqlite3", flush_s=30.0)  # nothing commits unless asked
    hub = LiveHub("s1", queue_size=64)
    pacer = make_pacer("practice", {})
    try:
        st.create_session("s1", created_at=1.0, mode="practice", source={}, options={}).result()
        hub.commit_reached(st.committed_ticket)
        first = hub.subscribe()
        seq = hub.take_seq()
        metrics = {"t_s": 60.0, "n_beats": 70, "rmssd_ms": 40.0}
        st.add_snapshot("metrics", "s1", t_s=60.0, recorded_at=1.0, data=metrics, seq=seq)
        hub.publish_text(
            MetricsMessage(**hub.header(seq), t_s=60.0, metrics=metrics).model_dump_json(),
            after=st.last_ticket,
        )
        hub.publish_text(_guidance(hub, pacer.guidance(60.0), 60.0))  # held behind the window
        assert hub.n_held == 2
        second = hub.subscribe()  # the route queues its welcome first
        second.put('{"welcome": true}')
        # numbered after it subscribed: held behind the older ones, then sent to both
        seq = hub.take_seq()
        st.add_snapshot("metrics", "s1", t_s=65.0, recorded_at=1.0, data=metrics, seq=seq)
        hub.publish_text(
            MetricsMessage(**hub.header(seq), t_s=65.0, metrics=metrics).model_dump_json(),
            after=st.last_ticket,
        )
        st.flush().result()
        hub.commit_reached(st.committed_ticket)
        got = [(m.type, m.seq) for m in map(parse_live_message, first._queue)]
        assert got == [("metrics", 1), ("guidance", 2), ("metrics", 3)]
        assert second._queue[0] == '{"welcome": true}'
        got = [(m.type, m.seq) for m in map(parse_live_message, list(second._queue)[1:])]
        assert got == [("metrics", 3)]
        # and what is published from now on reaches both
        hub.publish_text(_guidance(hub, pacer.guidance(66.0), 66.0))
        assert parse_live_message(second._queue[-1]).seq == 4
        assert parse_live_message(first._queue[-1]).seq == 4
    finally:
        st.close()


def test_after_an_early_welcome_a_state_held_behind_items_read_from_storage_is_still_sent() -> None:
    """Review (rev14 1): a client welcomed before the items it reads from storage (the
    database took no writes) lost every status, guidance and signal message numbered up to the
    last item it read: the cutoff applied to all messages, not only to the stored items, so a
    pacing stop during an outage never reached it. It gets them, numbered the last seq it has.
    """
    hub = LiveHub("s1", queue_size=64)
    sub = hub.subscribe(after_seq=0)
    sub.welcomed_early(hub.seq)  # its welcome went out first, the state at seq 0

    def beat(ticket: int) -> None:
        hub.publish_text(
            json.dumps({"type": "beat", "seq": hub.take_seq()}), after=ticket, stored=True
        )

    beat(1)
    hub.publish_text(json.dumps({"type": "guidance", "seq": hub.take_seq()}))  # a pacing stop
    beat(2)
    hub.publish_text(json.dumps({"type": "status", "seq": hub.take_seq()}))  # held behind 3
    beat(3)
    hub.commit_reached(1)  # beat 1, then the stop, reach its queue
    sub.skip_through(5)  # it read beats 1, 3 and 5 from storage
    hub.commit_reached(3)  # beat 3, the status and beat 5 are released only after that
    got = [(m["type"], m["seq"]) for m in map(json.loads, sub._queue)]
    assert got == [("guidance", 5), ("status", 5)], got
    hub.publish_text(json.dumps({"type": "status", "seq": hub.take_seq()}))
    assert json.loads(sub._queue[-1])["seq"] == 6
