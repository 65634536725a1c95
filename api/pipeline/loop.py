"""The loop of one session: source -> storage + HRV -> pacing -> broadcast and listeners.

:class:`Pipeline` reads beats from its source and, for each usable beat: stores it, publishes
it, pushes it to the analyser (:mod:`api.pipeline.analysis`, the beat's one NN verdict), hands
the analyser's windows to the micro-break stage (:mod:`api.pipeline.microbreaks`) and the beat to
the pacing stage (:mod:`api.pipeline.pacing`) with that verdict; every result is stored (its
:class:`~api.pipeline.sinks.SessionStore`), published (its :class:`~api.live.LiveHub`) and given
to its :class:`~api.pipeline.sinks.Listener` objects. A stage that is ``None`` is left out.

The source's changes of skin contact (:class:`sensors.contact.ContactChanges`: a strap
without contact sends no beats, or beats marked without contact, so the beats cannot say where
the stretch began and ended) are stored as they come.

Every :data:`SIGNAL_EVERY_S` of session time it also publishes the analyser's signal quality
of the last 60 s of beats (a ``signal`` message, :meth:`Pipeline.publish_signal`, also given to
the listeners), which keeps moving while no metrics window ends; it is not stored (it is derived
from the stored beats).

A failing source ends its session as ``failed`` with the source's reason; it never takes the
service down. A beat that cannot be processed (a malformed value) is counted and skipped; it
never ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from api import payloads
from api.live import LiveHub
from api.messages import (
    BeatMessage,
    GuidanceMessage,
    MetricsMessage,
    MicroBreakMessage,
    SessionState,
    SignalMessage,
    StatusMessage,
    StorageMessage,
)
from api.pipeline.analysis import Analyser
from api.pipeline.microbreaks import BASELINE_KEY, MicroBreaks
from api.pipeline.pacing import Pacing
from api.pipeline.sinks import Listener, SessionStore
from api.storage.writer import Queued
from sensors.battery import LowBatteryWatch
from sensors.beat import Beat, SourceStatus
from sensors.clock import SystemClock
from sensors.contact import ContactChanges
from sensors.silence import SilenceWatch, latest_beat_data
from sensors.source import BeatSource

__all__ = [
    "SIGNAL_EVERY_S",
    "SOURCE_FAILURE",
    "STRAP_NOTE",
    "Pipeline",
    "PipelineResult",
    "SessionState",
    "WithoutSourceFailure",
    "WithoutStrapNotes",
]

log = logging.getLogger(__name__)

#: A session's state: ``running``, then how it ended (:class:`PipelineResult`: ``ended``,
#: ``stopped``, ``failed``); ``interrupted`` is stored for a session the service stopped
#: running without ending it (a crash, a kill: :mod:`api.storage.writer` at the next start).

#: Queued storage writes at which the loop waits for a commit (a strap's beat or two a second,
#: committed every 0.1 s, never gets near; a replay at full speed would otherwise queue its
#: whole recording in memory while no client holds it back).
WRITE_BACKLOG_MAX = 2_000
#: Seconds between looks at whether the storage is behind, while waiting for a commit.
BEHIND_POLL_S = 0.25


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a flush's outcome nobody waits for any more (storage closed or failing)."""
    if not future.cancelled():
        future.exception()


#: Attribute set on the log record of a failed source (``logging`` ``extra``): the session's
#: result carries the reason, so a command that reports it (``hrvpace replay``, ``assess``,
#: ``practice``) filters it with :class:`WithoutSourceFailure`; a server's log keeps it.
SOURCE_FAILURE = "hrvpace_source_failure"


class WithoutSourceFailure(logging.Filter):
    """Leaves out the pipeline's log line of a failed source (:data:`SOURCE_FAILURE`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is kept: any but a failed source's line."""
        return not getattr(record, SOURCE_FAILURE, False)


#: Attribute set on the log record of a line about the strap (``logging`` ``extra``: its
#: battery low, no data from it, data again): the listeners are handed the line
#: (:meth:`~api.pipeline.sinks.Listener.on_strap_note`), so a command that prints it
#: (``assess``, ``practice``: ``[battery] ...``, or a JSON event with ``--json``) filters the
#: log line with :class:`WithoutStrapNotes`; a server's log keeps it.
STRAP_NOTE = "hrvpace_strap_note"


class WithoutStrapNotes(logging.Filter):
    """Leaves out the pipeline's log lines about the strap (:data:`STRAP_NOTE`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is kept: any but a line about the strap."""
        return not getattr(record, STRAP_NOTE, False)


#: Session time (s) between two ``signal`` messages: one at the first beat at least this long
#: after the previous one (the metrics windows' step).
SIGNAL_EVERY_S = 5.0


def _warn_without_data(what: str, session_id: str, exc: Exception) -> None:
    """Log a per-beat failure at WARNING without its message (it may quote RR values)."""
    log.warning("session %s: %s (%s)", session_id, what, type(exc).__name__)
    log.debug("session %s: %s: %s", session_id, what, exc)


@dataclasses.dataclass(frozen=True, slots=True)
class PipelineResult:
    """How a session's pipeline ended."""

    state: SessionState  # "ended", "stopped" or "failed"
    message: str


class Pipeline:
    """Runs one session: reads the source, stores, analyses, paces and broadcasts.

    Parameters
    ----------
    session_id
        The session's id.
    source
        An unopened :class:`sensors.BeatSource`.
    storage
        Where beats, metrics and guidance are written (queued, off the event loop): the
        service's :class:`api.storage.Storage`, or :class:`api.pipeline.sinks.NoStore`.
    hub
        Where live messages are published.
    analyser, pacer, microbreaks
        The stages; ``None`` leaves that output out. The analyser makes the one NN verdict
        per beat (:func:`~api.pipeline.analysis.make_analyser`); every beat is still stored
        and sent.
    listeners
        Get every result after it is stored and published (a command's output).
    until_s
        End the session at this session time: the first beat after it is not processed, the
        pacer is advanced to it (``None``: until the source ends).
    """

    def __init__(
        self,
        *,
        session_id: str,
        source: BeatSource,
        storage: SessionStore,
        hub: LiveHub,
        analyser: Analyser | None,
        pacer: Pacing | None,
        microbreaks: MicroBreaks | None = None,
        listeners: Sequence[Listener] = (),
        until_s: float | None = None,
    ) -> None:
        self.session_id = session_id
        self.source = source
        self.storage = storage
        self.hub = hub
        hub.write_failed = storage.write_failed  # a message about a failed write: not sent
        self.analyser = analyser
        self.pacer = pacer
        self.microbreaks = microbreaks
        self.last_micro_break: payloads.MicroBreakDue | None = None
        self._baseline_saved = time.monotonic()
        self.listeners = tuple(listeners)
        self.until_s = until_s
        self._end_requested = False  # a listener asked to end the session after this beat
        self.state: SessionState = "running"
        self.message = ""
        self.n_beats = 0
        self.n_skipped = 0
        self.n_unstored = 0  # items the storage dropped (past its bound): not published
        self.n_unstored_beats = 0  # beats among them
        self.last_metrics: payloads.WindowMetrics | None = None
        self.last_guidance: payloads.Guidance | None = None
        self.last_signal: payloads.WindowSignal | None = None
        self.last_signal_t_s: float | None = None  # session time of last_signal (its beat)
        self._signal_t_s: float | None = None  # session time of the last signal attempted
        self._last_t_s: float | None = None
        self._t0_unix_s: float | None = None
        # a source on a clock of its own (a replay or the simulator faster or slower than real
        # time) stamps beats with that clock's time, ahead of or behind the wall clock: the
        # stored and sent arrived_at is then when the beat reached the pipeline, wall clock
        # (docs/ARCHITECTURE.md, "Sessions": arrivals of a fast replay do not follow t_s)
        clock = getattr(source, "clock", None)
        self._wall_clock_arrivals = clock is not None and not isinstance(clock, SystemClock)
        self._contact_changes = ContactChanges()
        # a strap's battery falling low: said in the status (battery_warning), as record says it
        self._battery = LowBatteryWatch(ending="the session")
        # a connected strap sending nothing: said in the status (silence_warning), as record
        # says it (one rule: sensors.silence); a strap's source only (it has the last data's
        # monotonic time), never a simulator or a replay
        self._silence = (
            SilenceWatch(ending="the session") if hasattr(source, "last_data_monotonic") else None
        )
        # the paced runs last written to the store (None: none written yet)
        self._stored_runs: tuple[tuple[float, float], ...] | None = None
        source.add_status_listener(self._on_source_status)

    # -- status -------------------------------------------------------------------------------

    def status_message(self, *, consume_seq: bool = True) -> StatusMessage:
        """The current status; ``consume_seq=False`` repeats the latest seq (a client's first)."""
        src: SourceStatus = self.source.status
        if consume_seq:
            header = self.hub.next_header()
        else:
            header = {
                "session_id": self.session_id,
                "seq": max(self.hub.seq, 1),
                "timestamp": time.time(),
            }
        return StatusMessage(
            **header,
            state=self.state,
            # null once the session has its final state, as the same seq replayed from storage
            # (a resume, GET) says: "ended" live and null on a reconnect differed (rev12_appdev 4)
            source_state=src.state if self.state == "running" else None,
            message=self.message or src.message,
            device_name=src.device_name,
            battery_pct=src.battery_pct,
            battery_warning=self._battery.warning,
            silence_warning=self.silence_warning(),
            heart_rate_bpm=src.heart_rate_bpm,
            malformed_packets=src.malformed_packets + self.n_skipped,
            n_beats=self.n_beats,
        )

    @property
    def is_strap(self) -> bool:
        """Whether the source is a strap's (Bluetooth): its battery and silence are followed."""
        return self._silence is not None

    @property
    def battery_warning(self) -> str | None:
        """The strap's low-battery line while a threshold is said (:class:`LowBatteryWatch`)."""
        return self._battery.warning

    def silence_warning(self) -> str | None:
        """While the connected strap sends nothing (10 s or more): how long, else ``None``."""
        if self._silence is None:
            return None
        return self._silence.warning(time.monotonic())

    def _check_silence(self) -> None:
        """Publish the status when the strap fell silent or sends again (one rule with record)."""
        if self._silence is None:
            return
        status = self.source.status
        label = status.device_name or status.device_address or "the strap"
        # the beats' own stream once it sent (PPI, ECG: heart rate going on is no beat)
        now = time.monotonic()
        last_data, label = latest_beat_data(self.source, label, now=now)
        line = self._silence.check(now, last_data, label)
        if line is not None:
            log.warning("session %s: %s", self.session_id, line, extra={STRAP_NOTE: True})
            self.hub.publish_status(self.status_message())
            self._tell_listeners("no data" if self._silence.silent else "data", line)

    def _tell_listeners(self, kind: str, line: str) -> None:
        """Hand a line about the strap to the listeners (:meth:`Listener.on_strap_note`).

        Each on its own: one failing is logged and the others still get the line (it is said
        once: the battery's threshold, the silence's state, have moved on already).
        """
        for listener in self.listeners:
            try:
                listener.on_strap_note(kind, line)
            except Exception as exc:
                _warn_without_data("a listener's strap note failed", self.session_id, exc)

    async def _watch_silence(self) -> None:
        """Check the strap's silence while the session runs (cancelled at its end)."""
        assert self._silence is not None
        while True:
            await asyncio.sleep(min(1.0, self._silence.silent_after_s / 4))
            try:
                self._check_silence()
            except Exception as exc:  # the session goes on without the warning
                _warn_without_data("checking the strap's silence failed", self.session_id, exc)

    def _on_source_status(self, status: SourceStatus) -> None:
        if self._silence is not None:
            self._silence.on_status(status.state, time.monotonic())
        # the beats cannot say where a stretch without skin contact began and ended: its
        # changes are stored. Storage failing (closed, full disk) must not keep the status
        # from the clients: they are told the strap has no contact all the same.
        battery = self._battery.on_status(status)
        if battery is not None:
            log.warning("session %s: %s", self.session_id, battery, extra={STRAP_NOTE: True})
        change = self._contact_changes.on_status(status)
        if change is not None:
            t_s, contact = change
            try:
                queued = self.storage.add_contact_change(
                    self.session_id, t_s=t_s, contact=contact, recorded_at=time.time()
                )
                self._dropped(queued)  # counted in the session's message; the status goes on
            except Exception as exc:
                _warn_without_data("storing a change of skin contact failed", self.session_id, exc)
        self.hub.publish_status(self.status_message())
        if battery is not None:  # after the status: a command says it after the state's line
            self._tell_listeners("battery", battery)

    def set_state(self, state: SessionState, message: str = "") -> None:
        """Set the session's state (and its message) and publish the new ``status``."""
        self.state = state
        self.message = message
        self.hub.publish_status(self.status_message())

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> PipelineResult:
        """Run until the source ends, fails, or the task is cancelled (a stop).

        Messages about stored data are published once storage has committed it (see
        :mod:`api.live`): the storage writer's commits are relayed to the hub on this loop.
        """
        loop = asyncio.get_running_loop()
        hub = self.hub

        def on_commit(ticket: int) -> None:  # in the writer thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to send to
                loop.call_soon_threadsafe(hub.commit_reached, ticket)

        def on_behind(state: object | None) -> None:  # in the writer thread or its watchdog
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.publish_storage, state)

        hub.commit_reached(self.storage.committed_ticket)
        self.storage.add_commit_listener(on_commit)
        self.storage.add_behind_listener(on_behind)
        try:
            return await self._run()
        finally:
            self.storage.remove_commit_listener(on_commit)
            self.storage.remove_behind_listener(on_behind)

    async def _run(self) -> PipelineResult:
        self.set_state("running")
        silence = None if self._silence is None else asyncio.ensure_future(self._watch_silence())
        try:
            async with self.source:
                async for beat in self.source:
                    if self.until_s is not None and beat.t_s > self.until_s:
                        self._end_at(self.until_s)
                        return PipelineResult("ended", "the session's time is over")
                    try:
                        self._on_beat(beat)
                    except Exception as exc:  # our bug on one beat must not end the session
                        self.n_skipped += 1
                        log.error(
                            "session %s: processing a beat failed (%s)",
                            self.session_id,
                            type(exc).__name__,
                        )
                        log.debug("beat processing failure", exc_info=True)
                    if self._end_requested:
                        return PipelineResult("ended", "ended by its listener")
                    if self._outran_storage():
                        await self._wait_commit()
        except asyncio.CancelledError:
            return PipelineResult("stopped", "stopped on request")
        except Exception as exc:  # a failing source ends its session, never the service
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            # the reason may quote the data (a recording's line): details at DEBUG only
            # marked, so a command that reports the failure itself can leave this line out
            log.warning(
                "session %s: source failed (%s)",
                self.session_id,
                type(exc).__name__,
                extra={SOURCE_FAILURE: True},
            )
            log.debug("session %s: source failure: %s", self.session_id, reason)
            return PipelineResult("failed", reason)
        finally:
            if silence is not None:
                silence.cancel()
        return PipelineResult("ended", self.source.status.message or "the source ended")

    def _end_at(self, t_s: float) -> None:
        """The session's time is over at ``t_s``: let the pacer reach it.

        What that finishes is not published: the session ends here.
        """
        pacer = self.pacer
        if pacer is not None and pacer.active:
            try:
                pacer.advance(t_s)
            except Exception as exc:
                _warn_without_data("pacer could not reach the end", self.session_id, exc)

    def _outran_storage(self) -> bool:
        """Whether to wait for a commit: too many messages held or writes queued.

        Once a quarter of a client queue is held (:mod:`api.live`), or once
        :data:`WRITE_BACKLOG_MAX` writes wait in the storage queue (with no client there is
        nothing held, and a replay at full speed outran the writer thread all day: a 24-h
        replay queued most of its 106,459 beats, ~25 MB, before the first was committed).
        While the database takes no writes (:attr:`api.storage.Storage.behind`), only a
        source that can wait does (a replay or simulator on a clock of its own, speed other
        than 1: it waits until the database takes writes, nothing dropped); a real-time source
        (a strap) cannot pause, and its writes are kept up to the storage's bound.
        """
        if self.storage.behind is not None and not self._wall_clock_arrivals:
            # the database takes no writes: the writer keeps them (bounded) and tries again;
            # waiting would not stop a strap, whose beats come anyway
            return False
        backlog = self.storage.last_ticket - self.storage.committed_ticket
        return self.hub.n_held >= self.hub.hold_limit or backlog >= WRITE_BACKLOG_MAX

    async def _wait_commit(self) -> None:
        """A faster-than-real-time source outran the commits: commit now, send, go on.

        Only a replay or simulator at speed gets here (a strap's beat or two a second never
        fills a quarter of a client queue within a 0.1 s commit interval), so the wait never
        stalls a real sensor. Nor for a database that stops taking writes meanwhile (its
        writer then keeps the writes, :attr:`api.storage.Storage.behind`): the wait of a
        real-time source ends when the writer says so (looked at every :data:`BEHIND_POLL_S`);
        a source on a clock of its own waits on until the database takes writes (a stop
        cancels the wait).
        """
        try:
            flushed = asyncio.wrap_future(self.storage.flush())
        except Exception:  # storage closed: nothing to wait for
            flushed = None
        if flushed is not None:
            flushed.add_done_callback(_consume)
            while not flushed.done() and (self._wall_clock_arrivals or self.storage.behind is None):
                await asyncio.wait({flushed}, timeout=BEHIND_POLL_S)
        self.hub.commit_reached(self.storage.committed_ticket)

    def storage_message(self, state: object | None, seq: int) -> StorageMessage:
        """The ``storage`` notice of ``state``: the storage's :attr:`behind` (``None``: caught up).

        The value the writer had when it told the change, not the storage's current one (by
        the time the loop runs this, a short episode may be over: behind ``true`` then came
        with ``since`` null, code review).
        """
        since: float | None = getattr(state, "since", None)
        behind = state is not None
        if behind:
            error = getattr(state, "error", "") or "unknown error"
            message = (
                f"storage is behind: the database takes no writes yet ({error}); what this session "
                "receives waits in memory, and its live messages with it, until it does"
            )
        else:
            message = (
                "storage caught up: the database takes writes again; what waited for its "
                "writes has been sent"
            )
        return StorageMessage(
            session_id=self.session_id,
            seq=seq,
            timestamp=time.time(),
            behind=behind,
            since=since,
            message=message,
        )

    def publish_storage(self, state: object | None) -> None:
        """Tell the clients at once that storage fell behind (``state``) or caught up (``None``).

        A ``storage`` notice: the messages held for their writes wait, this one does not.
        """
        self.hub.publish_notice(lambda seq: self.storage_message(state, seq).model_dump_json())

    def _dropped(self, queued: Queued) -> bool:
        """Whether the storage dropped ``queued`` when it was queued (past its bound).

        What it holds is never stored, so it is not published (published means stored). Told
        by the write's own :class:`~api.storage.writer.Queued`, not by the storage's latest
        ticket (another thread may have queued a write since).
        """
        if queued.dropped:
            self.n_unstored += 1
            return True
        return False

    def _valid(self, beat: Beat) -> bool:
        rr = beat.rr_ms
        if not (isinstance(rr, int | float) and math.isfinite(rr) and rr > 0):
            return False
        if not math.isfinite(beat.t_s):
            return False
        return self._last_t_s is None or beat.t_s >= self._last_t_s

    def _on_beat(self, beat: Beat) -> None:
        if not self._valid(beat):
            self.n_skipped += 1
            log.debug("session %s: skipped an unusable beat", self.session_id)
            return
        idx = self.n_beats
        self.n_beats += 1
        self._last_t_s = beat.t_s
        if self._t0_unix_s is None:  # on the source's clock: the pacer's phase at speed 1
            self._t0_unix_s = beat.arrived_at - beat.t_s
        arrived_at = time.time() if self._wall_clock_arrivals else beat.arrived_at
        hub = self.hub
        seq = hub.take_seq()  # stored with the beat: a client resuming by seq gets it back
        queued = self.storage.add_beats(
            self.session_id,
            [
                (
                    idx,
                    beat.t_s,
                    beat.rr_ms,
                    arrived_at,
                    beat.contact,
                    beat.gap_before,
                    beat.heart_rate_bpm,
                )
            ],
            seqs=[seq],
        )
        if self._dropped(queued):
            self.n_unstored_beats += 1
        elif hub.n_subscribers:
            hub.publish_text(
                BeatMessage(
                    **hub.header(seq),
                    idx=idx,
                    t_s=beat.t_s,
                    rr_ms=beat.rr_ms,
                    arrived_at=arrived_at,
                    contact=beat.contact,
                    gap_before=beat.gap_before,
                    hr_bpm=beat.heart_rate_bpm,
                ).model_dump_json(),
                after=queued.ticket,
                stored=True,
            )
        for listener in self.listeners:
            listener.on_beat(beat)
        nn: bool | None = None  # the beat's one NN verdict (None: no analyser to judge it)
        if self.analyser is not None:
            try:
                results = self.analyser.push(
                    beat.t_s, beat.rr_ms, gap_before=beat.gap_before, contact=beat.contact
                )
                nn = self.analyser.last_nn
            except Exception as exc:  # one bad beat must not end the session
                self.n_skipped += 1
                _warn_without_data("analyser rejected a beat", self.session_id, exc)
                results = []
            mb = self.microbreaks
            if mb is not None:
                try:
                    self.publish_micro_break_events(mb.end_if_due(beat.t_s))
                except Exception as exc:
                    _warn_without_data("micro-break end failed", self.session_id, exc)
            for result in results:
                self._publish_metrics(result.metrics, beat)
                if mb is not None:
                    try:
                        events = mb.on_window(result, paced_runs=self.paced_runs())
                    except Exception as exc:
                        _warn_without_data("micro-break monitor failed", self.session_id, exc)
                        events = []
                    self.publish_micro_break_events(events)
                    if mb.baseline_dirty and time.monotonic() - self._baseline_saved >= 60.0:
                        self.save_baseline()
            if self._signal_t_s is None or beat.t_s - self._signal_t_s >= SIGNAL_EVERY_S:
                try:
                    self.publish_signal(beat.t_s)
                except Exception as exc:  # one bad beat must not end the session
                    _warn_without_data("signal quality failed", self.session_id, exc)
        pacer = self.pacer
        if pacer is not None and pacer.active:
            try:
                events = pacer.on_beat(beat, nn=nn)
            except Exception as exc:  # one bad beat must not end the session
                _warn_without_data("pacer rejected a beat", self.session_id, exc)
                events = []
            if events or beat.t_s - pacer.last_sent_t_s >= pacer.REFRESH_S:
                self.publish_guidance(events, t_s=beat.t_s)

    def _publish_metrics(self, result: Any, beat: Beat) -> None:
        metrics = payloads.WindowMetrics.model_validate(result)
        data = metrics.model_dump(mode="json")
        t_s = metrics.t_s
        self.last_metrics = metrics
        seq = self.hub.take_seq()
        queued = self.storage.add_snapshot(
            "metrics", self.session_id, t_s=t_s, recorded_at=time.time(), data=data, seq=seq
        )
        if self._dropped(queued):
            return
        self.hub.publish_text(
            MetricsMessage(**self.hub.header(seq), t_s=t_s, metrics=metrics).model_dump_json(),
            after=queued.ticket,
            stored=True,
        )
        for listener in self.listeners:
            listener.on_metrics(data)

    def publish_signal(self, t_s: float) -> payloads.WindowSignal | None:
        """Publish the signal quality of the last 60 s of beats as a ``signal`` message.

        Kept as :attr:`last_signal` (the session's ``last_signal``) and given to the listeners
        (``hrvpace replay`` prints it). Not stored: it is derived from the stored beats
        (``hrv.SignalQuality`` over them gives it back). Ordered after the beat's storage, like
        the messages about stored data. ``None`` (nothing sent) without an analyser or before
        it has a beat.
        """
        analyser = self.analyser
        if analyser is None or analyser.signal.n_kept == 0:
            return None
        self._signal_t_s = t_s  # first: a failure skips this signal, not retried every beat
        signal = payloads.WindowSignal.model_validate(analyser.signal.recent())
        self.last_signal = signal
        self.last_signal_t_s = t_s
        self.hub.publish_text(
            SignalMessage(**self.hub.next_header(), t_s=t_s, signal=signal).model_dump_json(),
            after=self.storage.last_ticket,
        )
        if self.listeners:
            data = signal.model_dump(mode="json")
            for listener in self.listeners:
                listener.on_signal(t_s, data)
        return signal

    def publish_micro_break_events(self, events: list[Any]) -> None:
        """Store and broadcast micro-break events (flags, acknowledgements, breaks, effects)."""
        now = time.time()
        if self.microbreaks is not None:
            self.microbreaks.note(events)
        for event in events:
            typed = payloads.micro_break_event(event)
            data = typed.model_dump(mode="json")
            kind = typed.type
            t_s: float | None = typed.t_s
            if isinstance(typed, payloads.MicroBreakDue):
                self.last_micro_break = typed
            seq = self.hub.take_seq()
            queued = self.storage.add_micro_break(
                session_id=self.session_id,
                t_s=t_s,
                recorded_at=now,
                kind=kind,
                data=data,
                seq=seq,
            )
            if self._dropped(queued):
                continue
            self.hub.publish_text(
                MicroBreakMessage(
                    **self.hub.header(seq), t_s=t_s, event=kind, micro_break=typed
                ).model_dump_json(),
                after=queued.ticket,
                stored=True,
            )
            for listener in self.listeners:
                listener.on_micro_break(data)

    def save_baseline(self) -> None:
        """Persist the personal baseline the micro-break monitor has learned (queued write)."""
        mb = self.microbreaks
        if mb is None or not mb.baseline_dirty or not mb.persist:
            return
        self.storage.put_value(
            "baseline", BASELINE_KEY, mb.baseline_dict(), updated_at=time.time(), wait=False
        )
        mb.baseline_dirty = False
        self._baseline_saved = time.monotonic()

    def finish(self) -> None:
        """End of the session: the micro-break monitor's last effects; save the baseline.

        Also stores when the session was paced (:meth:`store_paced_runs`; ``[]``: never), so
        that its export can say so.
        """
        if self.microbreaks is not None and self._last_t_s is not None:
            try:
                self.publish_micro_break_events(self.microbreaks.act("finish", self.t_s))
            except Exception as exc:
                _warn_without_data("micro-break finish failed", self.session_id, exc)
        self.store_paced_runs(final=True)
        self.save_baseline()

    def paced_runs(self) -> tuple[tuple[float, float], ...] | None:
        """When the session was paced: ``(start, stop)`` session times (a run going: ``inf``).

        The pacer's runs (:attr:`api.pipeline.pacing.Pacing.paced_runs`) and, for a replay of
        a recording made while pacing, the recording's (:attr:`sensors.BeatSource.paced_runs`:
        an ``hrvpace export`` states them), so that its windows are judged paced as they were
        live. ``None``: no pacer and nothing recorded (the micro-break monitor then knows of
        no pacing).
        """
        recorded = tuple(getattr(self.source, "paced_runs", ()))
        pacer = self.pacer
        if pacer is None and not recorded:
            return None
        return (() if pacer is None else pacer.paced_runs) + recorded

    def store_paced_runs(self, *, final: bool = False) -> None:
        """Write :meth:`paced_runs` to the store when they changed (queued).

        Called as a run starts or ends (after guidance is published) and when the session ends
        (``final``: also a session that never paced, ``[]``, so an export tells it from one
        stored before hrvpace kept them). Overlapping runs are merged; a run going on is
        stored with no stop (``null``): an export ends it at the session's last beat.

        Only what lies on the session's timeline is stored: a run starts at 0 at the earliest
        and one ending there is left out (a replay of a segment of a recording made while
        pacing: the recording's runs are moved with the cut, ``replay --start``). The
        micro-break monitor still gets them whole (:meth:`paced_runs`): the part of a run
        before the cut counts towards a break, as it did live.
        """
        runs = tuple((max(a, 0.0), b) for a, b in _merged_runs(self.paced_runs() or ()) if b > 0)
        if runs == self._stored_runs or (not runs and not final):
            return
        try:
            self.storage.set_paced_runs(
                self.session_id, [(a, None if b == math.inf else b) for a, b in runs]
            )
        except Exception as exc:  # a closed or failing store must not end the session
            _warn_without_data("paced runs not stored", self.session_id, exc)
            return
        self._stored_runs = runs

    def welcome_messages(self) -> list[str]:
        """What a newly connected client gets first: the last state, not new messages.

        The status; the guidance while pacing; the last ``signal`` once there is one (else a
        client waits up to :data:`SIGNAL_EVERY_S` of session time to learn the signal
        quality); a ``storage`` notice while the database takes no writes. Each repeats the
        latest ``seq`` (a summary, not a new message); the signal keeps the ``t_s`` of the beat
        it was made at.
        """
        seq = max(self.hub.seq, 1)
        out = [self.status_message(consume_seq=False).model_dump_json()]
        if self.last_guidance is not None:
            out.append(
                GuidanceMessage(
                    session_id=self.session_id,
                    seq=seq,
                    timestamp=time.time(),
                    t_s=self.t_s,
                    t0_unix_s=self._t0_unix_s,
                    guidance=self.last_guidance,
                ).model_dump_json()
            )
        if self.last_signal is not None and self.last_signal_t_s is not None:
            out.append(
                SignalMessage(
                    session_id=self.session_id,
                    seq=seq,
                    timestamp=time.time(),
                    t_s=self.last_signal_t_s,
                    signal=self.last_signal,
                ).model_dump_json()
            )
        if (behind := self.storage.behind) is not None:
            out.append(self.storage_message(behind, seq).model_dump_json())
        return out

    @property
    def t_s(self) -> float:
        """The session's current time: the last beat's ``t_s`` (0 before the first beat)."""
        return self._last_t_s or 0.0

    def publish_guidance(
        self, events: list[Any], *, t_s: float, recorded_at: float | None = None
    ) -> payloads.Guidance | None:
        """Send (and store) the current guidance with the pacing events that caused it."""
        pacer = self.pacer
        if pacer is None or not pacer.active:
            return None
        recorded_at = time.time() if recorded_at is None else recorded_at
        data = pacer.guidance(t_s)
        typed_events = [payloads.pacing_event(e) for e in events]
        plain_events = [e.model_dump(mode="json") for e in typed_events]
        pacer.last_sent_t_s = t_s
        self.last_guidance = data
        if events:
            self.storage.add_snapshot(
                "guidance",
                self.session_id,
                t_s=t_s,
                recorded_at=recorded_at,
                data={**data.model_dump(mode="json"), "events": plain_events},
            )
        for event in plain_events:
            if event.get("type") in (
                "assessment_step",
                "assessment_complete",
                "assessment_stopped",
            ):
                self.storage.add_assessment(self.session_id, recorded_at=recorded_at, data=event)
        self.hub.publish_text(
            GuidanceMessage(
                **self.hub.next_header(),
                t_s=t_s,
                t0_unix_s=self._t0_unix_s,
                guidance=data,
                events=typed_events,
            ).model_dump_json(),
            after=self.storage.last_ticket,
        )
        for listener in self.listeners:
            if listener.on_pacing(events):
                self._end_requested = True
        if pacer.stopped:  # the stop is published (and stored) once, then pacing is off
            pacer.deactivate(t_s)
            self.last_guidance = None  # nothing paces now: no guidance to show or welcome with
        self.store_paced_runs()  # a run started or ended here
        return data


def _merged_runs(runs: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Overlapping or touching ``(start, stop)`` runs merged, oldest first."""
    out: list[tuple[float, float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in runs):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)
