"""Messages of the live WebSocket: a discriminated union on ``type``.

Every message carries the session id, a sequence number ``seq`` (per session, starting at 1,
increasing by one per message published, whatever its type, so a client can see what it missed)
and ``timestamp`` (Unix seconds when the server published it). OpenAPI cannot describe
WebSockets, so :func:`live_schema` is served as JSON Schema at ``GET /api/v1/schema/live``.

The types: ``beat`` (every beat, as the source gave it), ``metrics`` (a 60 s window of NN
intervals, every 5 s of NN time), ``signal`` (signal quality and rhythm of the last 60 s of
beats, about every 5 s of session time, also while no window comes), ``guidance`` (the pacer),
``micro_break`` (flags, breaks and their effects), ``prompt`` (the day plan), ``status`` and
``storage`` (the database stopped taking writes, or takes them again: sent at once, ahead of
the messages held for their writes, repeating the last ``seq`` the client got).
``beat``, ``metrics`` and ``micro_break`` are stored and resent to a client that resumes with
``since_seq``; the others are not (``signal`` is derived from the stored beats).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from api.dayplan import PromptOut
from api.payloads import Guidance, MicroBreakEvent, PacingEvent, WindowMetrics, WindowSignal
from api.payloads.sources import (
    BATTERY_PCT_DESCRIPTION,
    BATTERY_WARNING_DESCRIPTION,
    SILENCE_WARNING_DESCRIPTION,
)
from sensors.beat import SourceState

__all__ = [
    "SESSION_STATE_DESCRIPTION",
    "BeatMessage",
    "GuidanceMessage",
    "LiveMessage",
    "MetricsMessage",
    "MicroBreakMessage",
    "PromptMessage",
    "SessionState",
    "SignalMessage",
    "StatusMessage",
    "StorageMessage",
    "live_schema",
]


class _Message(BaseModel):
    # every field is always sent: required in the schema (``type``, the discriminator, too)
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )

    session_id: str
    seq: int = Field(ge=1, description="Per-session sequence number; a gap means dropped messages.")
    timestamp: float = Field(description="Unix seconds when the server published the message.")


class BeatMessage(_Message):
    """One heartbeat, as the source produced it."""

    type: Literal["beat"] = "beat"
    idx: int = Field(ge=0, description="Index of the beat in the session (0-based).")
    t_s: float = Field(description="Beat time on the session's timeline, seconds.")
    rr_ms: float = Field(description="RR interval ending at this beat, milliseconds.")
    arrived_at: float = Field(
        description="When the beat reached the service, Unix seconds (wall clock): a strap's "
        "packet arrival; for a replay or the simulator at a speed other than 1, when the "
        "pipeline got it (never the source's faster clock)."
    )
    contact: bool | None = None
    gap_before: bool = False
    hr_bpm: float | None = Field(
        default=None, description="Heart rate the device reported, beats/min."
    )


class MetricsMessage(_Message):
    """HRV metrics of one completed window (keys carry units: ``rmssd_ms``, ``mean_hr_bpm``)."""

    type: Literal["metrics"] = "metrics"
    t_s: float = Field(description="End of the window on the session's timeline, seconds.")
    metrics: WindowMetrics


class SignalMessage(_Message):
    """Signal quality and rhythm of the last 60 s of beats (``hrv.SignalQuality.recent``).

    Sent at the session's first beat, then at the first beat at least 5 s of session time
    after the previous one. Unlike ``metrics`` it keeps coming while the NN filter accepts no
    beat (frequent early beats, a loose strap), so it says why no window comes:
    ``irregular_rhythm`` (frequent early beats, not the strap) or ``contact`` false. Not
    stored (derived from the stored beats), so not resent on resume; the last one comes again
    when a client connects (with the current ``status``, repeating the latest ``seq`` and
    keeping its ``t_s``), so a client does not wait for the next.
    """

    type: Literal["signal"] = "signal"
    t_s: float = Field(
        description="Session time of the beat it was made at (the newest of the 60 s), s."
    )
    signal: WindowSignal


class GuidanceMessage(_Message):
    """Breathing guidance from the pacing engine (rate, pattern, phase reference)."""

    type: Literal["guidance"] = "guidance"
    t_s: float = Field(description="Session time of this guidance, s (the beats' timeline).")
    t0_unix_s: float | None = Field(
        default=None,
        description="Unix time of session t_s = 0 on the source's clock: the first beat's "
        "time on that clock minus its t_s. At speed 1 (a strap, or a simulator or replay in "
        "real time) it is the wall-clock time of t_s = 0, to place the pacer's phase reference "
        "on the client's clock; at any other speed it says only about when the session began "
        "(beats' arrived_at are wall clock, their t_s run at the speed). Null before a beat.",
    )
    guidance: Guidance = Field(
        description="breathing.PacingEngine guidance: mode, rate_bpm, pattern, reference "
        "(phase_cycles at t_s, advancing at rate_bpm/60 per s), phase, assessment progress."
    )
    events: list[PacingEvent] = Field(
        default_factory=list,
        description="Pacing events since the last guidance (rate_change, mode_change, "
        "assessment_step, assessment_complete, assessment_stopped, adaptive_update).",
    )


class MicroBreakMessage(_Message):
    """A micro-break flag raised, acknowledged, snoozed or its effect measured."""

    type: Literal["micro_break"] = "micro_break"
    t_s: float | None = None
    event: Literal[
        "micro_break",
        "micro_break_acknowledged",
        "micro_break_snoozed",
        "break_started",
        "break_ended",
        "break_effect",
    ] = Field(description="The event's type (micro_break.type).")
    micro_break: MicroBreakEvent


class PromptMessage(_Message):
    """A prompt of the day plan sent (or answered, done, dismissed, expired).

    The same on every live socket, whatever its session (the ``session_id`` is the socket's).
    """

    type: Literal["prompt"] = "prompt"
    event: Literal["sent", "answered", "done", "dismissed", "expired"]
    prompt: PromptOut


#: Where a session is in its life: the one definition, of the live ``status`` message and of
#: the REST ``SessionOut.state`` (``running`` until its final state; ``interrupted``: the
#: service stopped while it ran, found at the next start).
SessionState = Literal["running", "ended", "stopped", "failed", "interrupted"]
#: What the ``state`` fields say (the live schema's and the OpenAPI document's description).
SESSION_STATE_DESCRIPTION = (
    "running; then its final state: ended (the source ended), stopped (on request), failed "
    "(the source failed) or interrupted (the service stopped while it ran)"
)


class StatusMessage(_Message):
    """The session's and its source's state (sent on connect and on every change)."""

    type: Literal["status"] = "status"
    state: SessionState = Field(description=SESSION_STATE_DESCRIPTION)
    source_state: SourceState | None = Field(
        default=None,
        description="Where the source is in its life, as GET /api/v1/sessions/{id} gives it "
        "(null for a session that is not running)",
    )
    message: str = ""
    device_name: str | None = None
    battery_pct: int | None = Field(default=None, description=BATTERY_PCT_DESCRIPTION)
    battery_warning: str | None = Field(default=None, description=BATTERY_WARNING_DESCRIPTION)
    silence_warning: str | None = Field(default=None, description=SILENCE_WARNING_DESCRIPTION)
    heart_rate_bpm: float | None = None
    malformed_packets: int = 0
    n_beats: int = 0


class StorageMessage(_Message):
    """Storage is behind (the database takes no writes), or has caught up.

    Sent when the database stops taking writes and when it takes them again, and on connect
    while it takes none. Published means stored: meanwhile every live message waits for its
    write (a page shows nothing new, its pacer included), so this one is sent at once, ahead
    of them; it is a notice, not a new message: its ``seq`` repeats the last one the client
    got (never resent on a resume).
    """

    type: Literal["storage"] = "storage"
    behind: bool = Field(
        description="true: the database takes no writes (locked by another program, a full "
        "or stalled disk); what the session receives waits in memory, and its live messages "
        "with it, until it does; false: it takes writes again, and what waited for its writes "
        "has been sent before this notice"
    )
    since: float | None = Field(
        default=None,
        description="Unix seconds when the first write try held up began (it failed, or waited "
        "3 s; null: caught up; never null while behind)",
    )
    message: str = Field(description="What it means, in words")


LiveMessage = Annotated[
    BeatMessage
    | MetricsMessage
    | GuidanceMessage
    | SignalMessage
    | MicroBreakMessage
    | PromptMessage
    | StatusMessage
    | StorageMessage,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(LiveMessage)

#: How a client resumes after a disconnect (the live schema's ``description``).
RESUME_DESCRIPTION = (
    "One message of WS /api/v1/sessions/{id}/live. seq rises by one per message published "
    "(a storage notice is no new message: it repeats the last seq sent). "
    "A client that reconnects with ?since_seq=N (the last seq it received) first gets, from "
    "storage and in seq order, every beat, metrics and micro_break message numbered above N "
    "(timestamp: when the item was recorded), then the current status (and guidance while "
    "pacing, and the last signal) repeating the last resent seq, then the live messages after "
    "it: no item twice, none missing. A client connecting without since_seq gets the same "
    "status, guidance and last signal first, repeating the latest seq. Either welcome ends "
    "with a storage notice while storage is behind; then it comes at once, its seq the last "
    "item the client has (without since_seq: the last one stored), and every item stored "
    "after that follows it once the database takes writes. There is no maximum: "
    "since_seq=0 resends the whole session, read and sent 500 items at a time before the "
    "live stream starts; a client that wants only recent data "
    "connects without since_seq and pages GET /api/v1/sessions/{id}/beats and .../metrics with "
    "since and limit. status, guidance, signal and prompt messages are not resent (the latest "
    "status, guidance and signal come on connect; prompts: GET /api/v1/prompts): one sent "
    "meanwhile, or before the resend caught up, stays a seq gap. Nor are storage notices, "
    "which take no seq of their own and leave no gap. since_seq must be a whole "
    "number from 0 to 2**62 without leading zeros, given once, else the socket closes with "
    "1008 and a reason naming since_seq. "
    "The first status's seq is never above the session's own (an ended session's: its last "
    "stored item's): a since_seq above it is not echoed back, and a client whose since_seq is "
    "higher has nothing more to get; if that number was not from this session, it drops what "
    "it holds and reconnects with since_seq=0."
)


def live_schema() -> dict[str, Any]:
    """JSON Schema of every message the live WebSocket sends.

    As sent (serialization mode), so a field with a default is still always present. A copy
    of the one built at the first call (the caller may change it): building it from the
    models took ~12 ms of CPU, a copy ~1 ms, and ``GET /api/v1/schema/live`` serves it.
    """
    return copy.deepcopy(_built_live_schema())


@cache
def _built_live_schema() -> dict[str, Any]:
    schema = _ADAPTER.json_schema(mode="serialization")
    schema["title"] = "hrvpace live message"
    schema["description"] = RESUME_DESCRIPTION
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def parse_live_message(text: str | bytes) -> Any:
    """Validate one message received from the live WebSocket (for clients and tests)."""
    return _ADAPTER.validate_json(text)
