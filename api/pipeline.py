"""The live pipeline of one session: source -> storage + HRV -> pacing -> broadcast.

Each part of the science is plugged in at one place in this module:

- :func:`make_source`       the sources of beats (``sensors`` simulator, replay, BLE strap);
- :func:`make_analyser`     the streaming HRV analyser (``hrv.StreamingAnalyser``, 60 s / 5 s);
- :func:`make_microbreaks`  micro-break flags (``breathing.MicroBreakMonitor``), every session;
- :func:`make_pacer`        the pacing facade (``breathing.PacingEngine``).

A part that is not available in this build is left out (``None``): the session then streams and
stores beats without that output. A failing source ends its session as ``failed`` with the
source's reason; it never takes the service down. A beat that cannot be processed (a malformed
value) is counted and skipped; it never ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.errors import ApiError
from api.live import LiveHub
from api.messages import (
    BeatMessage,
    GuidanceMessage,
    MetricsMessage,
    MicroBreakMessage,
    StatusMessage,
)
from api.recordings import NAME_PATTERN, RecordingSource, RecordingStore
from api.storage import Storage
from sensors.beat import Beat, SourceStatus
from sensors.clock import Clock, ScaledClock, SystemClock, VirtualClock
from sensors.source import BeatSource

__all__ = [
    "Analyser",
    "BeatFilter",
    "BleSpec",
    "MicroBreaks",
    "Pacing",
    "Pipeline",
    "PipelineResult",
    "ReplaySpec",
    "SimulatorSpec",
    "SourceControl",
    "SourceSpec",
    "SourceUnavailableError",
    "make_analyser",
    "make_clock",
    "make_microbreaks",
    "make_nn_filter",
    "make_pacer",
    "make_source",
    "to_plain",
]

log = logging.getLogger(__name__)


class SourceUnavailableError(ApiError):
    """The requested kind of source is not available in this build or on this machine."""

    status = 501
    code = "source_unavailable"
    title = "Source not available"


Speed = float | Literal["max"]


class _SpecBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SimulatorSpec(_SpecBase):
    """A simulated person (``sensors.SimulatorSource``)."""

    kind: Literal["simulator"]
    seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="Random seed: same seed, same beats."
    )
    resonance_bpm: float = Field(
        default=6.0,
        ge=3.0,
        le=10.0,
        description="The person's resonance breathing rate, breaths/min.",
    )
    speed: Speed = Field(
        default=1.0, description="Time scale: > 1 runs faster than real time, or 'max'."
    )
    duration_s: float | None = Field(
        default=None, gt=0, le=7 * 86400, description="End after this much simulated time, s."
    )
    stress: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Initial stress, 0 (calm) .. 1 (stressed)."
    )

    @field_validator("speed")
    @classmethod
    def _speed(cls, v: Speed) -> Speed:
        return _check_speed(v)


class ReplaySpec(_SpecBase):
    """Replay of a recording in the service's recordings folder (``sensors.ReplaySource``).

    The recording is named, never a path: it is uploaded first (``POST /api/v1/recordings``)
    or copied into the folder (``HRVPACE_RECORDINGS_DIR``). ``hrvpace replay FILE`` still
    replays a local file: that is the person's own shell, not the service.
    """

    kind: Literal["replay"]
    recording: str = Field(
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="Name of a recording in the recordings folder (GET /api/v1/recordings).",
    )
    format: str | None = Field(
        default=None,
        max_length=32,
        description="Recording format (sensors.RECORDING_FORMATS); null: as uploaded, or detected.",
    )
    units: Literal["ms", "s"] | None = Field(
        default=None, description="Units of a plain one-value-per-line file (default ms)."
    )
    speed: Speed = Field(
        default=1.0, description="Time scale: > 1 runs faster than real time, or 'max'."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_path(cls, data: Any) -> Any:
        if isinstance(data, dict) and "path" in data:
            raise ValueError(
                "'path' is not accepted: the service replays only its recordings folder; "
                "upload the file with POST /api/v1/recordings and give its name as 'recording'"
            )
        return data

    @field_validator("speed")
    @classmethod
    def _speed(cls, v: Speed) -> Speed:
        return _check_speed(v)

    @field_validator("format")
    @classmethod
    def _format(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            from sensors.recording import RECORDING_FORMATS
        except ImportError:  # pragma: no cover - replay not built
            return v
        if v not in RECORDING_FORMATS:
            raise ValueError(f"unknown format {v!r}; one of {', '.join(RECORDING_FORMATS)}")
        return v


class BleSpec(_SpecBase):
    """A Bluetooth heart-rate strap (``sensors.BleStrapSource``)."""

    kind: Literal["ble"]
    address: str = Field(min_length=1, max_length=64, description="The strap's BLE address.")


SourceSpec = Annotated[SimulatorSpec | ReplaySpec | BleSpec, Field(discriminator="kind")]


def _check_speed(v: Speed) -> Speed:
    if isinstance(v, str):
        return v
    if not (math.isfinite(v) and 0 < v <= 10_000):
        raise ValueError("speed must be a number in (0, 10000] or 'max'")
    return v


def make_clock(speed: Speed) -> Clock:
    """Real time at speed 1, :class:`ScaledClock` above, :class:`VirtualClock` for ``"max"``."""
    if speed == "max":
        return VirtualClock(start=time.time())
    if speed == 1:
        return SystemClock()
    return ScaledClock(float(speed))


@dataclasses.dataclass
class SourceControl:
    """Live knobs of a session's source.

    ``stress`` is the simulated person's stress (set through the API); ``breathing`` (session
    time -> phase in cycles) makes a simulated person follow the session's pacer: set it before
    the source is built, or later with :meth:`follow` (when pacing starts mid-session).
    """

    stress: float = 0.0
    breathing: Callable[[float], float] | None = None
    #: Set by :func:`make_source` for a source that can follow a pacer once running.
    on_breathing: Callable[[Callable[[float], float] | None], None] | None = None

    def follow(self, breathing: Callable[[float], float] | None) -> None:
        """From now on the simulated person breathes with ``breathing`` (``None``: on its own)."""
        self.breathing = breathing
        if self.on_breathing is not None:
            self.on_breathing(breathing)


def make_source(
    spec: SimulatorSpec | ReplaySpec | BleSpec,
    control: SourceControl,
    *,
    recordings_dir: Path | None = None,
) -> BeatSource:
    """Build the (unopened) source a session asked for: the one place sources plug in.

    ``recordings_dir`` is the folder a replay's ``recording`` is looked up in (the service
    passes ``Settings.recordings_path``); without it a replay is unavailable.

    Raises
    ------
    SourceUnavailableError
        That kind of source is not built yet, or no recordings folder was given.
    api.errors.RecordingNotFoundError
        No recording of that name in the folder.
    """
    if isinstance(spec, SimulatorSpec):
        try:
            from sensors.simulator import SimulatedPerson, SimulatorSource
        except ImportError as exc:
            raise SourceUnavailableError("the simulated person is not available") from exc
        control.stress = spec.stress
        person = SimulatedPerson(
            seed=spec.seed,
            resonance_bpm=spec.resonance_bpm,
            stress=lambda _t_s: control.stress,
            breathing=control.breathing,
        )

        # pacing started mid-session (monitor mode) is followed from then on
        control.on_breathing = person.follow
        return SimulatorSource(person, clock=make_clock(spec.speed), duration_s=spec.duration_s)
    if isinstance(spec, ReplaySpec):
        if recordings_dir is None:
            raise SourceUnavailableError("replay needs the service's recordings folder")
        store = RecordingStore(recordings_dir)
        path = store.path_of(spec.recording)
        stored = store.info(spec.recording)
        fmt = spec.format or stored.format
        units = spec.units or (stored.units if fmt == "plain" else None)
        # read when the source opens; a file that became unreadable fails the session with a
        # reason that names the recording and line, never the file's content
        return RecordingSource(path, name=spec.recording, speed=spec.speed, format=fmt, units=units)
    try:
        from sensors.ble import BleStrapSource
    except ImportError as exc:
        raise SourceUnavailableError("Bluetooth straps are not available in this build") from exc
    return BleStrapSource(spec.address)


#: Live metrics: a 60 s window (RMSSD "over the last 60 s") every 5 s.
LIVE_WINDOW_S = 60.0
LIVE_STEP_S = 5.0


class Analyser(Protocol):
    """What the pipeline needs from a streaming HRV analyser."""

    def push(self, rr_ms: float, *, gap_before: bool = False) -> list[Any]: ...


def make_analyser() -> Analyser | None:
    """The streaming HRV analyser, or ``None`` while ``hrv.StreamingAnalyser`` is not built."""
    try:
        from hrv import StreamingAnalyser
    except ImportError:
        return None
    analyser: Analyser = StreamingAnalyser(window_s=LIVE_WINDOW_S, step_s=LIVE_STEP_S)
    return analyser


class BeatFilter(Protocol):
    """Decides, beat by beat, whether a beat is a normal-to-normal interval."""

    def accept(
        self, rr_ms: float, *, contact: bool | None = None, gap_before: bool = False
    ) -> bool: ...


def make_nn_filter() -> BeatFilter | None:
    """The causal artefact filter that gates the live analyser (``breathing.ArtefactFilter``,
    the micro-break tracker's and pacing engine's rule), or ``None`` when it is not built.

    Live metrics are computed on NN intervals: a beat it rejects (ectopic, missed or extra
    detection, lost contact, RR outside 300-2000 ms) is stored and broadcast but not analysed,
    and the next accepted beat enters the analyser with ``gap_before=True`` (no successive
    difference across the artefact). One ectopic beat can otherwise multiply a 60 s RMSSD.
    """
    try:
        from breathing.engine import ArtefactFilter
    except ImportError:
        return None
    nn: BeatFilter = ArtefactFilter()
    return nn


class Pacing:
    """The pacing facade of one session, over ``breathing.PacingEngine``.

    Inactive in ``monitor`` mode until a breathing command arrives (start an assessment, set a
    practice rate, go adaptive); then every beat goes to the engine. Times are on the session's
    beat timeline (``t_s``).
    """

    #: Guidance is re-sent at least this often (s of session time) while pacing is active.
    REFRESH_S = 10.0

    def __init__(
        self, engine: Any, mode_enum: Any, *, active: bool, default_rate_bpm: float = 6.0
    ) -> None:
        self.engine = engine
        self._modes = mode_enum
        self.active = active
        #: Called when a breathing command starts pacing (the session wires its source to it).
        self.on_start: Callable[[], None] | None = None
        self.default_rate_bpm = default_rate_bpm
        self.last_sent_t_s = -math.inf
        #: Called when pacing stops (by a command or at the end of a practice's duration).
        self.on_stop: Callable[[], None] | None = None

    def default_rate(self, t_s: float) -> float:
        """The rate to pace at when none is asked for: this session's assessed resonance rate,
        else the person's latest stored one (``default_rate_bpm``), else 6/min."""
        assessed = self.guidance(t_s).get("resonance_bpm")
        return float(assessed) if isinstance(assessed, int | float) else self.default_rate_bpm

    def breathing_phase_cycles(self, t_s: float) -> float:
        phase: float = self.engine.breathing_phase_cycles(t_s)
        return phase

    def on_beat(self, beat: Beat) -> list[Any]:
        events: list[Any] = self.engine.on_beat(
            beat.t_s, beat.rr_ms, gap_before=beat.gap_before, contact=beat.contact
        )
        return events

    def _activate(self) -> None:
        self.active = True
        if self.on_start is not None:
            self.on_start()

    @property
    def stopped(self) -> bool:
        """The engine stopped pacing (after ``stop`` or at the end of a practice's duration)."""
        return bool(self.engine.mode is self._modes.STOPPED)

    def deactivate(self) -> None:
        """Back to plain monitoring once the stop has been published."""
        self.active = False
        if self.on_stop is not None:
            self.on_stop()

    def stop(self, *, t_s: float) -> list[Any]:
        events: list[Any] = self.engine.stop(t_s=t_s)
        return events

    def start_fixed(
        self,
        rate_bpm: float,
        *,
        t_s: float,
        inhale_to_exhale: float | None = None,
        duration_s: float | None = None,
    ) -> list[Any]:
        self._activate()
        events: list[Any] = self.engine.start_fixed(
            rate_bpm, t_s=t_s, inhale_to_exhale=inhale_to_exhale, duration_s=duration_s
        )
        return events

    def start_assessment(self, *, t_s: float) -> list[Any]:
        self._activate()
        events: list[Any] = self.engine.start_assessment(t_s=t_s)
        return events

    def start_adaptive(
        self,
        *,
        t_s: float,
        start_rate_bpm: float | None,
        inhale_to_exhale: float | None = None,
        duration_s: float | None = None,
    ) -> list[Any]:
        self._activate()
        if start_rate_bpm is None:
            start_rate_bpm = self.default_rate(t_s)
        events: list[Any] = self.engine.start_adaptive(
            t_s=t_s,
            start_rate_bpm=start_rate_bpm,
            inhale_to_exhale=inhale_to_exhale,
            duration_s=duration_s,
        )
        return events

    def guidance(self, t_s: float) -> dict[str, Any]:
        data: dict[str, Any] = to_plain(self.engine.guidance(t_s))
        return data


def make_pacer(
    mode: str, options: dict[str, Any], *, assessed_rate_bpm: float | None = None
) -> Pacing | None:
    """The pacing facade for a session, or ``None`` while ``breathing.PacingEngine`` is absent.

    ``mode``: ``monitor`` (inactive until a breathing command), ``assessment`` (the stepped
    resonance assessment, then fixed pacing at the assessed rate) or ``practice`` (fixed at
    ``options["practice_rate_bpm"]``, or adaptive from it when ``options["adaptive"]``).
    Without an explicit rate, practice starts at ``assessed_rate_bpm`` (the person's latest
    stored assessment result, :meth:`api.storage.Storage.latest_resonance_bpm`), else 6/min.
    """
    try:
        from breathing.engine import PRACTICE_INHALE_TO_EXHALE, PacingEngine, PacingMode
    except ImportError:
        return None
    default_rate = assessed_rate_bpm or 6.0
    rate = options.get("practice_rate_bpm") or default_rate
    if mode == "assessment":
        engine = PacingEngine(mode=PacingMode.ASSESSMENT)
    else:  # practice, or monitor (whose first breathing command sets what it needs)
        engine = PacingEngine(mode=PacingMode.FIXED, rate_bpm=rate)
        ratio = options.get("inhale_to_exhale") or PRACTICE_INHALE_TO_EXHALE
        if mode == "practice" and options.get("adaptive"):
            engine.start_adaptive(t_s=0.0, start_rate_bpm=rate, inhale_to_exhale=ratio)
        elif mode == "practice":
            engine.start_fixed(rate, t_s=0.0, inhale_to_exhale=ratio)
    return Pacing(engine, PacingMode, active=mode != "monitor", default_rate_bpm=default_rate)


def _warn_without_data(what: str, session_id: str, exc: Exception) -> None:
    """Log a per-beat failure at WARNING without its message (it may quote RR values)."""
    log.warning("session %s: %s (%s)", session_id, what, type(exc).__name__)
    log.debug("session %s: %s: %s", session_id, what, exc)


#: Key of the micro-break monitor's personal baseline in the ``baseline`` table.
BASELINE_KEY = "personal"
#: Key of the micro-break settings overrides in the ``settings`` table.
MICROBREAK_SETTINGS_KEY = "microbreak"


class MicroBreaks:
    """The micro-break flags of one session, over ``breathing.MicroBreakMonitor``.

    Every beat goes to a ``SignalTracker``; every finished 60 s window goes to the monitor as
    the tracker's clean-beat metrics with its quality and contact. User actions (acknowledge,
    snooze, start/end a break) act at the session's current time.
    """

    def __init__(self, monitor: Any, tracker: Any, *, local_time: Callable[[], Any] | None):
        self.monitor = monitor
        self.tracker = tracker
        self._local_time = local_time
        self.baseline_dirty = False
        self.persist = True  # False after a baseline reset: this session's learning is not kept
        #: Session time at which the running break ends by itself (a break with a duration).
        self.break_ends_at_s: float | None = None
        #: The running break started the pacer (a timed breathing break): ending it stops that.
        self.break_paces = False

    def on_beat(self, beat: Beat) -> None:
        self.tracker.on_beat(beat.t_s, beat.rr_ms, gap_before=beat.gap_before, contact=beat.contact)

    def on_window(self, window: Any) -> list[Any]:
        before = self.monitor.baseline
        sig = self.tracker.window(window.t_s)
        events: list[Any] = self.monitor.on_window(
            sig.clean,
            t_s=sig.t_s,
            contact=sig.contact,
            quality=sig.quality,
            local_time=None if self._local_time is None else self._local_time(),
        )
        if self.monitor.baseline != before:
            self.baseline_dirty = True
        return events

    def act(self, action: str, t_s: float, **kwargs: Any) -> list[Any]:
        """Run a user action: acknowledge, snooze (minutes=), start_break (kind=), end_break,
        finish."""
        if action not in ("acknowledge", "snooze", "start_break", "end_break", "finish"):
            raise ValueError(f"unknown micro-break action {action!r}")
        duration_s = kwargs.pop("duration_s", None)
        events: list[Any] = getattr(self.monitor, action)(t_s, **kwargs)
        if action == "start_break":
            self.break_ends_at_s = None if duration_s is None else t_s + duration_s
        elif action in ("end_break", "finish"):
            self.break_ends_at_s = None
        return events

    def end_if_due(self, t_s: float) -> list[Any]:
        """End a break with a duration once session time reaches its end (else nothing)."""
        if self.break_ends_at_s is None or t_s < self.break_ends_at_s:
            return []
        self.break_ends_at_s = None
        self.break_paces = False  # its pacer ends at the same time, by its own duration
        if not self.monitor.in_break:
            return []
        events: list[Any] = self.monitor.end_break(t_s)
        return events

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = to_plain(self.monitor.status)
        return data

    def baseline_dict(self) -> dict[str, float]:
        data: dict[str, float] = self.monitor.baseline.to_dict()
        return data


def make_microbreaks(
    *,
    baseline: dict[str, Any] | None,
    settings: dict[str, Any] | None,
    wall_clock_local_time: bool,
) -> MicroBreaks | None:
    """Micro-break flags for a session, or ``None`` while ``breathing.microbreak`` is absent.

    ``baseline`` is the stored personal baseline (``Baseline.to_dict``), ``settings`` stored
    overrides of ``MicroBreakSettings``. Quiet hours use the local wall-clock time only for
    sessions in real time on a real person (``wall_clock_local_time``); simulations and
    replays are never quiet.
    """
    try:
        from breathing.baseline import Baseline
        from breathing.microbreak import MicroBreakMonitor, MicroBreakSettings, SignalTracker
    except ImportError:
        return None
    ms = microbreak_settings(settings, MicroBreakSettings)
    monitor = MicroBreakMonitor(
        settings=ms, baseline=None if baseline is None else Baseline.from_dict(baseline)
    )
    local = (lambda: datetime.datetime.now().time()) if wall_clock_local_time else None
    tracker = SignalTracker(window_s=LIVE_WINDOW_S, nn_timeline=True)  # the analyser sees NN
    return MicroBreaks(monitor, tracker, local_time=local)


def microbreak_settings(stored: dict[str, Any] | None, settings_cls: Any) -> Any:
    """``MicroBreakSettings`` from stored JSON overrides (quiet hours as "HH:MM" pairs)."""
    if not stored:
        return settings_cls()
    kwargs = dict(stored)
    if "quiet_hours" in kwargs:
        kwargs["quiet_hours"] = tuple(
            (datetime.time.fromisoformat(a), datetime.time.fromisoformat(b))
            for a, b in kwargs["quiet_hours"]
        )
    return settings_cls(**kwargs)


def to_plain(obj: Any) -> Any:
    """A JSON-friendly copy of a result: dataclasses to dicts, NaN/inf to ``None``, enums to str."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):  # numpy scalar
        return to_plain(obj.item())
    if hasattr(obj, "tolist"):  # numpy array
        return to_plain(obj.tolist())
    if hasattr(obj, "value"):  # enum
        return to_plain(obj.value)
    if isinstance(obj, datetime.time):
        return obj.isoformat(timespec="minutes")
    return str(obj)


@dataclasses.dataclass(frozen=True, slots=True)
class PipelineResult:
    """How a session's pipeline ended."""

    state: str  # "ended", "stopped" or "failed"
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
        Where beats, metrics and guidance are written (queued, off the event loop).
    hub
        Where live messages are published.
    analyser, pacer
        The science; ``None`` leaves that output out.
    nn_filter
        Gates the analyser to NN intervals (:func:`make_nn_filter` by default; ``None`` when
        it is not built: then every beat is analysed). Every beat is still stored and sent.
    """

    def __init__(
        self,
        *,
        session_id: str,
        source: BeatSource,
        storage: Storage,
        hub: LiveHub,
        analyser: Analyser | None,
        pacer: Pacing | None,
        microbreaks: MicroBreaks | None = None,
        on_metrics: Callable[[dict[str, Any]], None] | None = None,
        nn_filter: BeatFilter | Literal["default"] | None = "default",
    ) -> None:
        self.session_id = session_id
        self.nn_filter = make_nn_filter() if nn_filter == "default" else nn_filter
        self._dropped_before = False  # an artefact was left out since the last analysed beat
        self.n_artefacts = 0
        self.source = source
        self.storage = storage
        self.hub = hub
        self.analyser = analyser
        self.pacer = pacer
        self.microbreaks = microbreaks
        self.last_micro_break: dict[str, Any] | None = None
        self._baseline_saved = time.monotonic()
        self.on_metrics = on_metrics
        self.state = "running"
        self.message = ""
        self.n_beats = 0
        self.n_skipped = 0
        self.last_metrics: dict[str, Any] | None = None
        self.last_guidance: dict[str, Any] | None = None
        self._last_t_s: float | None = None
        self._t0_unix_s: float | None = None
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
            source_state=str(src.state),
            message=self.message or src.message,
            device_name=src.device_name,
            battery_pct=src.battery_pct,
            heart_rate_bpm=src.heart_rate_bpm,
            malformed_packets=src.malformed_packets + self.n_skipped,
            n_beats=self.n_beats,
        )

    def _on_source_status(self, status: SourceStatus) -> None:
        self.hub.publish_status(self.status_message())

    def set_state(self, state: str, message: str = "") -> None:
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

        hub.commit_reached(self.storage.committed_ticket)
        self.storage.add_commit_listener(on_commit)
        try:
            return await self._run()
        finally:
            self.storage.remove_commit_listener(on_commit)

    async def _run(self) -> PipelineResult:
        self.set_state("running")
        try:
            async with self.source:
                async for beat in self.source:
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
                    if self.hub.n_held >= self.hub.hold_limit:
                        await self._wait_commit()
        except asyncio.CancelledError:
            return PipelineResult("stopped", "stopped on request")
        except Exception as exc:  # a failing source ends its session, never the service
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            # the reason may quote the data (a recording's line): details at DEBUG only
            log.warning("session %s: source failed (%s)", self.session_id, type(exc).__name__)
            log.debug("session %s: source failure: %s", self.session_id, reason)
            return PipelineResult("failed", reason)
        return PipelineResult("ended", self.source.status.message or "the source ended")

    async def _wait_commit(self) -> None:
        """A faster-than-real-time source outran the commits: commit now, send, go on.

        Only a replay or simulator at speed gets here (a strap's beat or two a second never
        fills a quarter of a client queue within a 0.1 s commit interval), so the wait never
        stalls a real sensor.
        """
        with contextlib.suppress(Exception):  # storage closed or failing: nothing to wait for
            await asyncio.wrap_future(self.storage.flush())
        self.hub.commit_reached(self.storage.committed_ticket)

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
        if self._t0_unix_s is None:
            self._t0_unix_s = beat.arrived_at - beat.t_s
        hub = self.hub
        seq = hub.take_seq()  # stored with the beat: a client resuming by seq gets it back
        self.storage.add_beats(
            self.session_id,
            [
                (
                    idx,
                    beat.t_s,
                    beat.rr_ms,
                    beat.arrived_at,
                    beat.contact,
                    beat.gap_before,
                    beat.heart_rate_bpm,
                )
            ],
            seqs=[seq],
        )
        if hub.n_subscribers:
            hub.publish_text(
                BeatMessage(
                    **hub.header(seq),
                    idx=idx,
                    t_s=beat.t_s,
                    rr_ms=beat.rr_ms,
                    arrived_at=beat.arrived_at,
                    contact=beat.contact,
                    gap_before=beat.gap_before,
                    hr_bpm=beat.heart_rate_bpm,
                ).model_dump_json(),
                after=self.storage.last_ticket,
            )
        if self.analyser is not None:
            try:
                results = self._push_nn(self.analyser, beat)
            except Exception as exc:  # one bad beat must not end the session
                self.n_skipped += 1
                _warn_without_data("analyser rejected a beat", self.session_id, exc)
                results = []
            mb = self.microbreaks
            if mb is not None:
                try:
                    mb.on_beat(beat)
                    self.publish_micro_break_events(mb.end_if_due(beat.t_s))
                except Exception as exc:
                    _warn_without_data("signal tracker rejected a beat", self.session_id, exc)
            for result in results:
                self._publish_metrics(result, beat)
                if mb is not None:
                    try:
                        events = mb.on_window(result)
                    except Exception as exc:
                        _warn_without_data("micro-break monitor failed", self.session_id, exc)
                        events = []
                    self.publish_micro_break_events(events)
                    if mb.baseline_dirty and time.monotonic() - self._baseline_saved >= 60.0:
                        self.save_baseline()
        pacer = self.pacer
        if pacer is not None and pacer.active:
            try:
                events = pacer.on_beat(beat)
            except Exception as exc:  # one bad beat must not end the session
                _warn_without_data("pacer rejected a beat", self.session_id, exc)
                events = []
            if events or beat.t_s - pacer.last_sent_t_s >= pacer.REFRESH_S:
                self.publish_guidance(events, t_s=beat.t_s)

    def _push_nn(self, analyser: Analyser, beat: Beat) -> list[Any]:
        """Push the beat to the analyser if it is an NN interval; after a left-out artefact the
        next accepted beat goes in with ``gap_before=True``."""
        nn = self.nn_filter
        if nn is not None and not nn.accept(
            beat.rr_ms, contact=beat.contact, gap_before=beat.gap_before
        ):
            self._dropped_before = True
            self.n_artefacts += 1
            return []
        gap = beat.gap_before or self._dropped_before
        self._dropped_before = False
        return analyser.push(beat.rr_ms, gap_before=gap)

    def _publish_metrics(self, result: Any, beat: Beat) -> None:
        data: dict[str, Any] = to_plain(result)
        if not isinstance(data, dict):
            data = {"value": data}
        t_s = data.get("t_end_s", data.get("t_s", beat.t_s))
        t_s = float(t_s) if isinstance(t_s, int | float) else beat.t_s
        self.last_metrics = {"t_s": t_s, **data}
        seq = self.hub.take_seq()
        self.storage.add_snapshot(
            "metrics", self.session_id, t_s=t_s, recorded_at=time.time(), data=data, seq=seq
        )
        self.hub.publish_text(
            MetricsMessage(**self.hub.header(seq), t_s=t_s, metrics=data).model_dump_json(),
            after=self.storage.last_ticket,
        )
        if self.on_metrics is not None:
            self.on_metrics(data)

    def publish_micro_break_events(self, events: list[Any]) -> None:
        """Store and broadcast micro-break events (flags, acknowledgements, breaks, effects)."""
        now = time.time()
        for event in events:
            data: dict[str, Any] = to_plain(event)
            kind = str(data.get("type", "micro_break"))
            t_s = data.get("t_s")
            t_s = float(t_s) if isinstance(t_s, int | float) else None
            if kind == "micro_break":
                self.last_micro_break = data
            seq = self.hub.take_seq()
            self.storage.add_micro_break(
                session_id=self.session_id,
                t_s=t_s,
                recorded_at=now,
                kind=kind,
                data=data,
                seq=seq,
            )
            self.hub.publish_text(
                MicroBreakMessage(
                    **self.hub.header(seq), t_s=t_s, event=kind, micro_break=data
                ).model_dump_json(),
                after=self.storage.last_ticket,
            )

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
        """End of the session: the micro-break monitor's last effects; save the baseline."""
        if self.microbreaks is not None and self._last_t_s is not None:
            try:
                self.publish_micro_break_events(self.microbreaks.act("finish", self.t_s))
            except Exception as exc:
                _warn_without_data("micro-break finish failed", self.session_id, exc)
        self.save_baseline()

    def welcome_messages(self) -> list[str]:
        """What a newly connected client gets first: the status, and the guidance if pacing.

        They repeat the latest ``seq`` (they are a summary, not new messages).
        """
        out = [self.status_message(consume_seq=False).model_dump_json()]
        if self.last_guidance is not None:
            out.append(
                GuidanceMessage(
                    session_id=self.session_id,
                    seq=max(self.hub.seq, 1),
                    timestamp=time.time(),
                    t_s=self.t_s,
                    t0_unix_s=self._t0_unix_s,
                    guidance=self.last_guidance,
                ).model_dump_json()
            )
        return out

    @property
    def t_s(self) -> float:
        """The session's current time: the last beat's ``t_s`` (0 before the first beat)."""
        return self._last_t_s or 0.0

    def publish_guidance(
        self, events: list[Any], *, t_s: float, recorded_at: float | None = None
    ) -> dict[str, Any] | None:
        """Send (and store) the current guidance with the pacing events that caused it."""
        pacer = self.pacer
        if pacer is None or not pacer.active:
            return None
        recorded_at = time.time() if recorded_at is None else recorded_at
        data = pacer.guidance(t_s)
        plain_events: list[dict[str, Any]] = [to_plain(e) for e in events]
        pacer.last_sent_t_s = t_s
        self.last_guidance = data
        if events:
            self.storage.add_snapshot(
                "guidance",
                self.session_id,
                t_s=t_s,
                recorded_at=recorded_at,
                data={**data, "events": plain_events},
            )
        for event in plain_events:
            if event.get("type") in ("assessment_step", "assessment_complete"):
                self.storage.add_assessment(self.session_id, recorded_at=recorded_at, data=event)
        self.hub.publish_text(
            GuidanceMessage(
                **self.hub.next_header(),
                t_s=t_s,
                t0_unix_s=self._t0_unix_s,
                guidance=data,
                events=plain_events,
            ).model_dump_json(),
            after=self.storage.last_ticket,
        )
        if pacer.stopped:  # the stop is published (and stored) once, then pacing is off
            pacer.deactivate()
        return data
