"""What a session was started from, as stored with it: its source and its options.

The service stores a started session's request (:class:`api.pipeline.SimulatorSpec`,
``ReplaySpec``, ``BleSpec`` and the :class:`api.sessions.SessionCreate` options); ``hrvpace
replay --store`` stores a replayed local file (``path``, maybe a ``segment``). Every field a
stored row may lack is ``null`` (or its default), so older and hand-made rows still read.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from api.payloads._base import OptFloat, Payload

__all__ = [
    "BATTERY_PCT_DESCRIPTION",
    "BATTERY_WARNING_DESCRIPTION",
    "SILENCE_WARNING_DESCRIPTION",
    "BleSourceOut",
    "ReplaySegment",
    "ReplaySourceOut",
    "SessionOptionsOut",
    "SessionSource",
    "SimulatorSourceOut",
    "StrapStatus",
]


def _absent(value: object) -> bool:
    """Fields only ``hrvpace replay --store`` writes are left out when they are ``None``."""
    return value is None


#: "max" as a one-value enum, not a JSON Schema ``const``: openapi-python-client (0.29) parses a
#: number-or-const union by the const alone and refuses every number.
_Max = Annotated[Literal["max"], WithJsonSchema({"type": "string", "enum": ["max"]})]
Speed = Annotated[
    float | _Max | None,
    Field(description="Time scale: > 1 runs faster than real time, or 'max'."),
]


class SimulatorSourceOut(Payload):
    """A simulated person (``sensors.SimulatorSource``)."""

    kind: Literal["simulator"] = "simulator"
    seed: int | None = Field(default=None, description="Random seed: same seed, same beats.")
    resonance_bpm: OptFloat = Field(
        default=None, description="The person's resonance breathing rate, breaths/min."
    )
    speed: Speed = None
    duration_s: OptFloat = Field(default=None, description="End after this much time, s.")
    stress: OptFloat = Field(default=None, description="Initial stress, 0 (calm) .. 1 (stressed).")
    contact_loss_rate: OptFloat = Field(
        default=None,
        description="Probability per beat that a simulated loss of skin contact starts (null: "
        "stored before it could be set; none).",
    )


class ReplaySegment(Payload):
    """The part of a recording that was replayed (``hrvpace replay --segment``)."""

    start_s: float = Field(description="Start of the segment in the recording, s.")
    end_s: float = Field(description="End of the segment in the recording, s.")


class ReplaySourceOut(Payload):
    """A recording replayed.

    One of the service's recordings (``recording``) or, with ``hrvpace replay --store``, a
    local file (``path``).
    """

    kind: Literal["replay"] = "replay"
    recording: str | None = Field(
        default=None, description="Name in the recordings folder (GET /api/v1/recordings)."
    )
    path: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="The local file hrvpace replay played (absent for the service's sessions).",
    )
    format: str | None = Field(default=None, description="Recording format.")
    units: Literal["ms", "s"] | None = Field(
        default=None, description="Units of a plain one-value-per-line file."
    )
    speed: Speed = None
    segment: ReplaySegment | None = Field(
        default=None,
        exclude_if=_absent,
        description="The replayed segment (absent: the whole recording).",
    )


class BleSourceOut(Payload):
    """A Bluetooth strap, watch or optical sensor (``sensors.make_ble_source``).

    Sessions stored before ``stream`` and ``motion`` existed read as ``hr`` without motion
    (what they were).
    """

    kind: Literal["ble"] = "ble"
    address: str | None = Field(default=None, description="The strap's BLE address.")
    stream: Literal["hr", "ppi", "ecg"] = Field(
        default="hr",
        description="Where the beats came from: 'hr' the RR of the Heart Rate Measurement, "
        "'ppi' the Polar Measurement Data pulse-to-pulse intervals, 'ecg' R peaks detected in "
        "the PMD ECG.",
    )
    motion: bool = Field(
        default=False,
        description="The PMD accelerometer was started for the movement level of each window.",
    )


#: What the strap fields say (the live ``status`` message's and :class:`StrapStatus`'s).
BATTERY_PCT_DESCRIPTION = "The strap's battery level, %, as it last said (null: none)"
BATTERY_WARNING_DESCRIPTION = (
    "Set once the strap's battery fell to 20 % (said again at 10 %, 5 %), "
    "naming the level now, e.g. \"Polar H10's battery is at 9%: replace or charge it soon "
    '(the session ends if the strap goes off)"; null before that, while the level is '
    "unknown, and again once it has risen above 25 % (a new battery; each threshold is "
    "then said again at a later fall, once the level was more than 5 % above it)"
)
SILENCE_WARNING_DESCRIPTION = (
    "Set while the strap is connected but has sent nothing (no heart rate, no stream data) for "
    "10 s or more (its link up, its firmware stuck or a subscription lost: no state says it), "
    'e.g. "no data from Polar H10 for 12 s (still connected); the session goes on and keeps '
    'what comes" (the seconds as of the answer or message); null once data comes again, while '
    "the strap is not connected (its state says that), and for a simulator or a replay. "
    "hrvpace record's rule (timed on a monotonic clock: a step of the wall clock is no silence)"
)


class StrapStatus(Payload):
    """A running strap session's strap: its battery, and whether it sends anything.

    The same values as the live ``status`` message's fields of these names, as of the answer.
    """

    # every field is in every answer: required in the document
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    battery_pct: int | None = Field(default=None, description=BATTERY_PCT_DESCRIPTION)
    battery_warning: str | None = Field(default=None, description=BATTERY_WARNING_DESCRIPTION)
    silence_warning: str | None = Field(default=None, description=SILENCE_WARNING_DESCRIPTION)


#: A session's source, told apart by ``kind``.
SessionSource = Annotated[
    SimulatorSourceOut | ReplaySourceOut | BleSourceOut, Field(discriminator="kind")
]


class SessionOptionsOut(Payload):
    """The options a session was started with, and its label."""

    practice_rate_bpm: OptFloat = Field(
        default=None, description="Fixed practice rate, breaths/min (mode practice)."
    )
    adaptive: bool = Field(default=False, description="Practice at an adaptive rate.")
    inhale_to_exhale: OptFloat = Field(
        default=None, description="Inhale duration / exhale duration of practice."
    )
    label: str = Field(default="", description="Free text shown in the history.")
    command: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="The command that recorded the session ('hrvpace replay'); absent for the "
        "service's sessions.",
    )
