"""Live sessions: start, list, stop; several at once, each its own pipeline task.

A session's row is written before its source starts and its final state (``ended``, ``stopped``,
``failed``) when it ends; a session the process never finished is found ``running`` on the next
start and marked ``interrupted`` by :class:`api.storage.Storage`.

A strap (``ble`` source) serves one session at a time: a second session asking for a strap a
running one holds is refused (:class:`~api.errors.StrapInUseError`, 409 ``strap_in_use``) rather
than left to fail after its scan.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from api.errors import (
    SessionNotFoundError,
    SessionStartFailedError,
    StoreBusyError,
    StrapInUseError,
)
from api.live import LiveHub
from api.pipeline import (
    BASELINE_KEY,
    MICROBREAK_SETTINGS_KEY,
    BleSpec,
    Pipeline,
    PipelineResult,
    PlanDay,
    ReplaySpec,
    SimulatorSpec,
    SourceControl,
    SourceSpec,
    analyser_settings,
    assemble,
    finish_logged,
    follow_pacer,
    make_pacer,
    make_source,
    play,
    session_stages,
)
from api.storage import Behind, Storage, StorageError, retry
from api.storage.queries import PERSON_KIND
from api.storage.retry import retry_delays
from sensors.ble_gatt import is_name_prefix
from sensors.source import BeatSource

__all__ = [
    "STOP_STORE_TIMEOUT_S",
    "LiveSession",
    "SessionCreate",
    "SessionManager",
    "SessionMode",
    "stored_within_cap",
]

log = logging.getLogger(__name__)

#: Seconds a stop waits for the session's final state to be stored, once its pipeline has
#: ended (its source closed), before it raises :class:`~api.errors.StoreBusyError` (503
#: ``store_busy``): the database locked by another program, a stalled disk. Storing it takes
#: a fraction of a second otherwise. As :data:`api.routes.sessions.SETTLE_TIMEOUT_S` bounds
#: an answer's wait for a final state, this bounds a stop's; the final state is still stored
#: once the database takes writes.
STOP_STORE_TIMEOUT_S = 10.0
SessionMode = Literal["monitor", "assessment", "practice"]

_T = TypeVar("_T")


def _unstored_note(pipeline: Pipeline) -> str:
    """What of a session the storage dropped (past its bound), for its stored message."""
    n_items = pipeline.n_unstored
    if not n_items:
        return ""
    n_beats = pipeline.n_unstored_beats
    return (
        f"; {n_beats} beats and {n_items - n_beats} metrics windows and events were not "
        "stored (the database took no writes for so long that the most kept in memory was "
        "reached)"
    )


def _start_busy() -> StoreBusyError:
    return StoreBusyError(
        "no session started: the database takes no writes now (locked by another program, "
        "or the disk stalls); GET /api/v1/health says storage behind until it does",
        session_id=None,
        retry_after_s=math.ceil(retry.RETRY_WAITED_MAX_S),
    )


def _refuse_at_once(behind: Behind | None) -> bool:
    """Whether storage is so far behind that a new session is refused without trying.

    After a failed try (its writes wait out a back-off), or a try held up longer than
    :data:`STOP_STORE_TIMEOUT_S` (the row would wait out the cap: a 503 all the same). A try
    only slow, said behind by the writer's watchdog at
    :data:`~api.storage.writer.BEHIND_AFTER_S` (a slow disk's checkpoint, a lock let go in a
    moment), may still be taken: the row waits under the cap, as any waited write does
    (code review). The stall is measured on the monotonic clock (``held_since``): a step of
    the wall clock (a Pi without a clock syncing NTP after boot) neither refuses a start during
    a slow moment nor lets one wait on a long stall (code review).
    """
    if behind is None:
        return False
    return behind.failed or time.monotonic() - behind.held_since > STOP_STORE_TIMEOUT_S


async def stored_within_cap(
    future: concurrent.futures.Future[_T], *, what: str = "the write"
) -> _T:
    """Wait for a queued write someone waits for, at most :data:`STOP_STORE_TIMEOUT_S`.

    Raises
    ------
    StoreBusyError
        Not stored within the cap (the database locked by another program, a stalled disk:
        :attr:`api.storage.Storage.behind`). The write stays queued and is stored once the
        database takes writes (503 ``store_busy``, ``Retry-After``).
    """
    try:
        async with asyncio.timeout(STOP_STORE_TIMEOUT_S):
            return await asyncio.wrap_future(future)
    except TimeoutError:
        raise StoreBusyError(
            f"{what} was accepted but not stored within {STOP_STORE_TIMEOUT_S:g} s: the "
            "database is busy (locked by another program, or the disk stalls); it is stored "
            "once the database takes writes",
            session_id=None,
            retry_after_s=math.ceil(retry.RETRY_WAITED_MAX_S),
        ) from None


SourceFactory = Callable[[SimulatorSpec | ReplaySpec | BleSpec, SourceControl], BeatSource]


class SessionCreate(BaseModel):
    """Body of ``POST /api/v1/sessions``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    source: SourceSpec
    mode: SessionMode = Field(
        default="monitor",
        description="monitor (free monitoring), assessment (resonance assessment) or practice.",
    )
    practice_rate_bpm: float | None = Field(
        default=None,
        ge=3.0,
        le=12.0,
        description="Practice rate, breaths/min (mode practice): fixed 3-12; with adaptive the "
        "starting rate, within 4.5-7 (outside it a 422 naming practice_rate_bpm).",
    )
    adaptive: StrictBool = Field(
        default=False, description="Practice at an adaptive rate (mode practice)."
    )
    inhale_to_exhale: float | None = Field(
        default=None,
        ge=0.25,
        le=4.0,
        description="Inhale duration / exhale duration of practice (default 4:6 = 0.667, "
        "longer out than in).",
    )
    label: str = Field(default="", max_length=200, description="Free text shown in the history.")

    @model_validator(mode="after")
    def _adaptive_start_in_range(self) -> SessionCreate:
        # as POST .../breathing/practice: adaptive pacing keeps its rate within the adult
        # resonance range, so a start outside it would silently begin at the range's edge.
        # Only where the start is used: a practice session's (make_pacer); monitor and
        # assessment sessions do not pace adaptively from it. The error names the field.
        from breathing.adaptive import AdaptiveConfig

        lo, hi = AdaptiveConfig().min_rate_bpm, AdaptiveConfig().max_rate_bpm
        rate = self.practice_rate_bpm
        used = self.mode == "practice" and self.adaptive
        if used and rate is not None and not lo <= rate <= hi:
            msg = (
                "practice_rate_bpm: adaptive pacing keeps the rate within {lo}-{hi} "
                "breaths/min (the adult resonance range), got {rate}: give a start within "
                "it, or leave out adaptive to pace at any rate in 3-12"
            )
            context = {"lo": f"{lo:g}", "hi": f"{hi:g}", "rate": f"{rate:g}"}
            error = PydanticCustomError("value_error", msg, context)
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [InitErrorDetails(type=error, loc=("practice_rate_bpm",), input=rate)],
            )
        return self


@dataclass
class LiveSession:
    """A running session in this process."""

    id: str
    created_at: float
    request: SessionCreate
    hub: LiveHub
    pipeline: Pipeline
    control: SourceControl
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: The task has begun (a stop asked before it did is taken at its start).
    started: bool = False
    #: A stop was asked for (its task cancelled once; later stops only wait for ``done``).
    stop_requested: bool = False
    #: Its pipeline has returned: the final state is being stored (``pipeline.state`` is it)
    #: and the last messages released. Nothing cancels the task from then on.
    finishing: bool = False
    #: Set with :attr:`finishing` (a stop's wait for the final state is capped from then on).
    played: asyncio.Event = field(default_factory=asyncio.Event)


class SessionManager:
    """Owns the running sessions of one service process.

    Parameters
    ----------
    storage
        The database.
    queue_size
        Per-WebSocket-client queue length.
    source_factory
        Builds a source from its spec; :func:`api.pipeline.make_source` unless a test hands in
        its own.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        queue_size: int = 256,
        source_factory: SourceFactory = make_source,
    ) -> None:
        self.storage = storage
        self.queue_size = queue_size
        self.source_factory = source_factory
        self._live: dict[str, LiveSession] = {}
        #: Strap sessions between their check for a strap in use and their entry in ``_live``
        #: (the awaits in between would let a second request for the same strap through).
        self._starting: dict[str, BleSpec] = {}
        #: The day plan's local time and quiet hours (set by the service once its scheduler
        #: exists: :meth:`api.scheduler.PromptScheduler.plan_day`). A strap session's flags keep
        #: the plan's quiet hours; other sessions' do when :attr:`quiet_for_all` is true.
        self.plan_day: PlanDay | None = None
        #: Every session keeps the plan's quiet hours, a simulated person's too: the service
        #: runs on a demo clock (``hrvpace demo --start``), whose day is the simulated person's.
        self.quiet_for_all = False
        #: Sessions whose row is written (or being written) but that are not yet in ``_live``.
        self._creating: set[str] = set()
        #: A flush queued when a start was refused while storage is behind (:meth:`start`).
        self._prompt_flush: concurrent.futures.Future[Any] | None = None
        #: Set by :meth:`shutdown`: a final state's write is no longer retried.
        self._shutting_down = asyncio.Event()

    @property
    def live_sessions(self) -> list[LiveSession]:
        """The sessions of this process: running, or stopped and storing their final state.

        A stopped one (:attr:`LiveSession.finishing`) stays among them until its final state is
        stored (its live clients get their last messages; ``GET`` and the list answer it):
        :attr:`running_sessions` are those that still run.
        """
        return list(self._live.values())

    def get_live(self, session_id: str) -> LiveSession | None:
        """The session ``session_id`` of :attr:`live_sessions`, or ``None``."""
        return self._live.get(session_id)

    @property
    def running_sessions(self) -> list[LiveSession]:
        """The sessions that run: their source open, no final state yet.

        Not those stopped (or ended, failed) whose final state is still being stored, which
        may take long while the database takes no writes: their strap is free, they take no
        command and get no new message after their final ``status``.
        """
        return [live for live in self._live.values() if not live.finishing]

    def get_running(self, session_id: str) -> LiveSession | None:
        """The session ``session_id`` when it runs (see :attr:`running_sessions`), or ``None``."""
        live = self._live.get(session_id)
        return None if live is None or live.finishing else live

    def entering(self, session_id: str) -> bool:
        """Whether the session is starting, not yet among :attr:`live_sessions`.

        Its ``running`` row may be stored already; it runs in a moment (or its start fails).
        """
        return session_id in self._creating

    async def start(self, request: SessionCreate) -> LiveSession:
        """Create the session's row, then start its pipeline in a task.

        Raises
        ------
        api.pipeline.SourceUnavailableError
            The source cannot be built (kind not available, file missing).
        StrapInUseError
            A running session holds the strap asked for.
        api.errors.SessionStartFailedError
            The start failed after the session's row was stored: the row is stored ``failed``
            (the reason in its ``message``) before this is raised.
        asyncio.CancelledError
            Cancelled as the row is written: its end, ``failed`` (``start cancelled``), is
            queued behind it before the cancel goes on.
        StoreBusyError
            The database takes no writes (:attr:`api.storage.Storage.behind` after a failed
            try, or a try held up longer than :data:`STOP_STORE_TIMEOUT_S`: refused at once),
            or the row was not stored within :data:`STOP_STORE_TIMEOUT_S` (its end,
            ``failed``, is queued behind it, as for a cancel): no session started.
        """
        session_id = uuid.uuid4().hex
        if isinstance(request.source, BleSpec):
            self._refuse_strap_in_use(request.source.address)
        if _refuse_at_once(self.storage.behind):  # its row would wait, and the strap with it
            # after a failed try, a flush someone waits for makes the writer try again within
            # 5 s (not up to 60 s of back-off): the Retry-After: 5 of the refusal holds (code
            # review); while a try is still held up, the next comes once it ends (the flush
            # queues behind it). One at a time
            if self._prompt_flush is None or self._prompt_flush.done():
                self._prompt_flush = self.storage.flush()
            raise _start_busy()
        if isinstance(request.source, BleSpec):
            self._starting[session_id] = request.source
        self._creating.add(session_id)
        try:
            return await self._start(session_id, request)
        finally:
            self._starting.pop(session_id, None)
            self._creating.discard(session_id)

    def _refuse_strap_in_use(self, wanted: str) -> None:
        """Raise :class:`StrapInUseError` when a running (or starting) session holds ``wanted``.

        ``wanted`` (an address or an advertised name, compared without regard to case) is the
        same strap as a running session's when it is that session's requested address or name,
        or the address or name its source connected to, or the start of that name as a strap
        is found by name (``Polar H10`` for ``Polar H10 A1B2C3D4``). A session still looking
        for its strap by name holds only that name: a request by address then gets through, and
        BlueZ decides.
        """
        key = wanted.strip().casefold()
        # (session id, what it holds, the address its source connected to)
        holders: list[tuple[str, set[str], str | None]] = []
        for live in self.running_sessions:  # a stopped one's source is closed: its strap free
            spec = live.request.source
            if not isinstance(spec, BleSpec):
                continue
            status = live.pipeline.source.status
            held = {spec.address.strip().casefold()}
            held.update(v.casefold() for v in (status.device_address, status.device_name) if v)
            address = status.device_address.casefold() if status.device_address else None
            holders.append((live.id, held, address))
        holders.extend(
            (sid, {spec.address.strip().casefold()}, None) for sid, spec in self._starting.items()
        )
        for sid, held, address in holders:
            # by name: the name itself, or its start as finding the strap by name takes it
            if key in held or any(is_name_prefix(key, name) for name in held):
                hint = (
                    ""
                    if key == address
                    else "; for another strap with the same name, give that strap's address"
                )
                raise StrapInUseError(
                    f"the strap {wanted.strip()} is in use by running session {sid}: follow that "
                    f"session (GET /api/v1/sessions/{sid}, its live socket) or stop it first"
                    + hint,
                    session_id=sid,
                )

    async def _start(self, session_id: str, request: SessionCreate) -> LiveSession:
        options: dict[str, Any] = request.model_dump(exclude={"source", "mode"})
        # the person's assessed rate (strap sessions' assessments only): every session's pacer
        # starts there; a session's own assessment then wins within it
        assessed = await asyncio.to_thread(self.storage.latest_resonance_bpm)
        pacer = make_pacer(request.mode, options, assessed_rate_bpm=assessed)
        stored_baseline, stored_settings = await asyncio.to_thread(self._stored_microbreak_state)
        # Only a strap on a real person reads and updates the person's baseline; a simulated
        # person or a replay starts from the population default and is not remembered.
        real_person = request.source.kind == PERSON_KIND  # what the person's queries count
        try:
            stages = session_stages(
                pacer=pacer,
                baseline=stored_baseline if real_person else None,
                microbreak_settings=stored_settings,
                real_person=real_person,
                plan_day=self.plan_day if real_person or self.quiet_for_all else None,
            )
        except Exception as exc:  # stored settings or baseline unusable: run without flags
            log.warning("micro-breaks disabled for this session (%s)", type(exc).__name__)
            stages = session_stages(pacer=pacer, microbreaks=False)
        control = SourceControl()
        follow_pacer(pacer, control)  # a simulated person follows the pacer whenever it paces
        source = self.source_factory(request.source, control)
        created_at = time.time()
        row = self.storage.create_session(
            session_id,
            created_at=created_at,
            mode=request.mode,
            source=request.source.model_dump(),
            options=options,
            live_settings=analyser_settings(),
        )
        try:
            async with asyncio.timeout(STOP_STORE_TIMEOUT_S):
                await asyncio.wrap_future(row)
        except (asyncio.CancelledError, TimeoutError) as exc:
            # cancelled while its row is written (a forced shutdown cancels the request), or
            # the database takes no writes: the writer still stores it 'running' and nothing
            # would end it before the next start-up. Its end is queued behind it (one writer,
            # queue order), not awaited.
            self._end_cancelled_start(session_id)
            if isinstance(exc, TimeoutError):
                raise _start_busy() from None
            raise
        try:
            hub = LiveHub(session_id, queue_size=self.queue_size)
            pipeline = assemble(source, stages, session_id=session_id, store=self.storage, hub=hub)
            live = LiveSession(session_id, created_at, request, hub, pipeline, control)
            self._live[session_id] = live
            live.task = asyncio.create_task(self._run(live), name=f"session-{session_id}")
        except BaseException as exc:
            # its row is stored 'running' and nothing will end it: it ends failed now, not at
            # the next start-up (a KeyboardInterrupt or the like goes on; the write completes
            # in the storage thread). No await above: a cancel cannot land here.
            self._live.pop(session_id, None)
            reason = f"internal error at start ({type(exc).__name__})"
            written = self.storage.set_session_state(
                session_id, "failed", message=reason, ended_at=time.time()
            )
            if not isinstance(exc, Exception):
                raise
            log.exception("session %s: start failed after its row was stored", session_id)
            await asyncio.wrap_future(written)
            raise SessionStartFailedError(reason, session_id=session_id) from exc
        log.info("session %s started (%s, %s)", session_id, request.source.kind, request.mode)
        return live

    def _end_cancelled_start(self, session_id: str) -> None:
        """Queue the end of a session whose start was cancelled as its row was written.

        Stored ``failed`` (``start cancelled``) after its ``running`` row, since the writer
        commits in queue order; a row whose write failed is not there to update. Never raises:
        the cancel goes on (a storage already closed leaves the row to the next start-up).
        """
        try:
            self.storage.set_session_state(
                session_id, "failed", message="start cancelled", ended_at=time.time()
            )
        except Exception:
            log.warning("session %s: its cancelled start could not be stored failed", session_id)

    def _stored_microbreak_state(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        baseline = self.storage.get_value("baseline", BASELINE_KEY)
        settings = self.storage.get_value("settings", MICROBREAK_SETTINGS_KEY)
        return (
            None if baseline is None else baseline[0],
            None if settings is None else settings[0],
        )

    async def _run(self, live: LiveSession) -> None:
        """Play the session, then store its final state and release its last messages.

        Only :func:`~api.pipeline.play` is ever cancelled (a stop, :meth:`_request_stop`): once
        it returns, :attr:`LiveSession.finishing` is set and no stop cancels the task again, so
        the final state is always stored and every message the live clients are owed (the
        last beats, held until their rows commit, and the final ``status``) is queued for them
        before the hub closes.
        """
        live.started = True
        try:
            if live.stop_requested:
                # asked before the task ran: the source is never opened. Not by cancelling
                # this task: a pipeline that never suspends would leave that cancel pending
                # for the bookkeeping below, and the final state would not be stored.
                finish_logged(live.pipeline)
                result = PipelineResult("stopped", "stopped on request")
            else:
                result = await play(live.pipeline)  # finishes the pipeline, even when it raises
        except Exception as exc:
            log.exception("session %s: pipeline failed", live.id)
            result = PipelineResult("failed", f"internal error ({type(exc).__name__})")
        live.finishing = True  # from here on a stop waits for done, it never cancels
        live.played.set()
        try:
            live.pipeline.set_state(result.state, result.message)
            await self._store_final_state(live, result, ended_at=time.time())
            log.info("session %s %s", live.id, result.state)
        except StorageError as exc:
            if not (self.storage.closed or self._shutting_down.is_set()):
                log.exception("session %s: bookkeeping failed", live.id)
            else:  # the documented give-up at shutdown: no traceback
                log.warning(
                    "session %s: its final state (%s) was not stored before the service "
                    "stopped (%s); the next start marks it interrupted",
                    live.id,
                    result.state,
                    exc,
                )
        except Exception:
            log.exception("session %s: bookkeeping failed", live.id)
        finally:
            # everything written before the final state is committed (or failed: what did
            # not commit stays unsent, published means stored): send what still waited, and
            # only then close, so the clients get it before their sockets close
            if self.storage.committed_ticket < self.storage.last_ticket:
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(self.storage.flush())
            live.hub.commit_reached(self.storage.committed_ticket)
            live.hub.close()
            self._live.pop(live.id, None)
            live.done.set()

    async def _store_final_state(
        self, live: LiveSession, result: PipelineResult, *, ended_at: float
    ) -> None:
        """Write the session's final state; a write that fails is retried until it is stored.

        The storage writer keeps a write the database does not take (locked past SQLite's
        busy timeout, a full disk) and tries it again (:mod:`api.storage.retry`), so this
        waits until it is stored. A write the writer fails all the same (its last try at
        close; an unexpected error) is queued again after the same back-off
        (:func:`~api.storage.retry.retry_delays`). Given up (:class:`~api.storage.StorageError`
        raised) only when the storage is closed or the service shuts down: the next start
        marks the session ``interrupted``.
        """
        delays = retry_delays()
        final_seq = live.hub.seq  # the final status's, just published (not a later message's)
        message = result.message + _unstored_note(live.pipeline)
        while True:
            try:
                await asyncio.wrap_future(
                    self.storage.set_session_state(
                        live.id,
                        result.state,
                        message=message,
                        ended_at=ended_at,
                        last_seq=final_seq,
                    )
                )
                return
            except StorageError:
                if self.storage.closed or self._shutting_down.is_set():
                    raise
            delay_s = next(delays)
            log.warning(
                "session %s: its final state (%s) is not stored yet (the database did not take "
                "the write); writing it again in %g s",
                live.id,
                result.state,
                delay_s,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay_s):
                    await self._shutting_down.wait()

    def _request_stop(self, live: LiveSession) -> None:
        """Cancel the session's pipeline, once, and only while it plays (see :meth:`_run`)."""
        if live.stop_requested or live.finishing:
            return
        live.stop_requested = True
        if live.started and live.task is not None:
            live.task.cancel()

    async def stop(self, session_id: str) -> bool:
        """Stop a running session and wait until its final state is stored.

        Idempotent: a stop while another is under way (or while the session ends by itself)
        waits for the same end; the session's task is cancelled once, never while it stores
        its final state. The wait for the final state's write, once the pipeline has ended,
        is capped (:data:`STOP_STORE_TIMEOUT_S`).

        Returns ``False`` when the session exists but was not running.

        Raises
        ------
        SessionNotFoundError
            No session with that id.
        StoreBusyError
            The session is stopped (its source closed) but its final state was not stored
            within :data:`STOP_STORE_TIMEOUT_S`: it is stored once the database takes writes,
            and the session stays among the running ones until then (its row ``running``).
            Or the session is not running and reading its row took longer than that.
        """
        live = self._live.get(session_id)
        if live is None:
            try:
                async with asyncio.timeout(STOP_STORE_TIMEOUT_S):
                    row = await asyncio.to_thread(self.storage.get_session, session_id)
            except TimeoutError:
                raise StoreBusyError(
                    f"session {session_id[:64]}: the database did not answer within "
                    f"{STOP_STORE_TIMEOUT_S:g} s (a stalled disk); it is not running here, "
                    "nothing was stopped",
                    session_id=session_id[:64],
                    retry_after_s=math.ceil(retry.RETRY_WAITED_MAX_S),
                ) from None
            if row is None:
                raise SessionNotFoundError(f"no session with id {session_id[:64]!r}")
            return False
        self._request_stop(live)
        await live.played.wait()  # its source closes (each source bounds its own close)
        try:
            async with asyncio.timeout(STOP_STORE_TIMEOUT_S):
                await live.done.wait()
        except TimeoutError:
            # stopped by this stop or an earlier one; or it ended or failed on its own
            state = live.pipeline.state
            how = {"stopped": "is stopped", "failed": "has failed"}.get(state, "has ended")
            raise StoreBusyError(
                f"session {session_id} {how}, but its final state was not stored within "
                f"{STOP_STORE_TIMEOUT_S:g} s: the database is busy (locked by another program, "
                "or the disk stalls). It is stored once the database takes writes (tried again "
                f"at least every {retry.RETRY_WAITED_MAX_S:g} s); GET "
                f"/api/v1/sessions/{session_id} says running until then",
                session_id=session_id,
                retry_after_s=math.ceil(retry.RETRY_WAITED_MAX_S),
            ) from None
        return True

    async def shutdown(self) -> None:
        """Stop every running session (service shutdown).

        Waits for their sources to close (each bounds its own close), then at most
        :data:`STOP_STORE_TIMEOUT_S` for their final states to be stored: a database that
        takes no writes does not hold the shutdown. What is still unwritten then gets one
        more try as the storage closes (:meth:`api.storage.Storage.close`), which logs what
        could not be stored.
        """
        self._shutting_down.set()
        lives = list(self._live.values())
        for live in lives:
            self._request_stop(live)
        for live in lives:
            await live.played.wait()
        try:
            async with asyncio.timeout(STOP_STORE_TIMEOUT_S):
                for live in lives:
                    await live.done.wait()
        except TimeoutError:
            unfinished = [live.id for live in lives if not live.done.is_set()]
            log.warning(
                "%d session(s) stopped whose final state was not stored within %g s (the "
                "database takes no writes): %s; the storage tries once more as it closes",
                len(unfinished),
                STOP_STORE_TIMEOUT_S,
                ", ".join(unfinished),
            )
