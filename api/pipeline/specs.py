"""What a session's source is, as a client asks for it: the request schemas of the sources.

``POST /api/v1/sessions`` names its source with one of these (a discriminated union on
``kind``); :func:`api.pipeline.sources.make_source` builds the source from it. Speeds are read
by the one speed parser, :func:`api.pipeline.speed.parse_speed`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from api.pipeline.speed import MAX_SPEED, Speed, parse_speed
from api.recordings import NAME_PATTERN
from sensors.recording import RECORDING_FORMATS
from sensors.simulator import SIMULATED_RESONANCE_BPM

__all__ = ["BleSpec", "ReplaySpec", "SimulatorSpec", "SourceSpec"]

_SPEED_HELP = "Time scale: > 1 runs faster than real time (at most 10000), or 'max'."


#: A speed as the API documents it: the bounds :func:`parse_speed` holds, (0, 10000], in the
#: schema (the value is read by :func:`parse_speed` all the same; review rev12_appdev 5).
ApiSpeed = (
    Annotated[
        float,
        WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SPEED}),
    ]
    | Literal["max"]
)


class _SpecBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SimulatorSpec(_SpecBase):
    """A simulated person (``sensors.SimulatorSource``)."""

    kind: Literal["simulator"]
    seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="Random seed: same seed, same beats."
    )
    resonance_bpm: float = Field(
        default=SIMULATED_RESONANCE_BPM,
        ge=3.0,
        le=10.0,
        description="The person's resonance breathing rate, breaths/min.",
    )
    speed: ApiSpeed = Field(default=1.0, description=_SPEED_HELP)
    duration_s: float | None = Field(
        default=None, gt=0, le=7 * 86400, description="End after this much simulated time, s."
    )
    stress: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Initial stress, 0 (calm) .. 1 (stressed)."
    )
    contact_loss_rate: float = Field(
        default=0.0,
        ge=0.0,
        lt=0.5,
        description="Probability per beat that a loss of skin contact (5-20 s) starts: its "
        "beats come marked without contact and the session keeps the stretch "
        "(GET /sessions/{id}/contact). 0: none.",
    )

    @field_validator("speed")
    @classmethod
    def _speed(cls, v: Speed) -> Speed:
        parse_speed(v)  # the one rule; the value is kept as given
        return v


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
    speed: ApiSpeed = Field(default=1.0, description=_SPEED_HELP)

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
        parse_speed(v)  # the one rule; the value is kept as given
        return v

    @field_validator("format")
    @classmethod
    def _format(cls, v: str | None) -> str | None:
        if v is not None and v not in RECORDING_FORMATS:
            raise ValueError(f"unknown format {v!r}; one of {', '.join(RECORDING_FORMATS)}")
        return v


class BleSpec(_SpecBase):
    """A Bluetooth strap, watch or optical sensor (``sensors.make_ble_source``).

    ``stream`` says where the beats come from: the RR of the standard Heart Rate Measurement
    (``hr``, any strap or watch sending RR), the Polar Measurement Data pulse-to-pulse
    intervals (``ppi``: OH1, Verity Sense, Polar watches) or R peaks detected live in the PMD
    ECG (``ecg``: H10). ``motion`` also starts a PMD device's accelerometer, so the micro-break
    flags can tell standing up or walking from stress; the Heart Rate service has no
    accelerometer, so ``motion`` with ``hr`` is refused.
    """

    kind: Literal["ble"]
    address: str = Field(min_length=1, max_length=64, description="The strap's BLE address.")
    stream: Literal["hr", "ppi", "ecg"] = Field(
        default="hr",
        description="Where the beats come from: 'hr' the RR of the Heart Rate Measurement "
        "(any strap or watch sending RR), 'ppi' the Polar Measurement Data (PMD) pulse-to-pulse "
        "intervals of an optical sensor (OH1, Verity Sense, Polar watches), 'ecg' R peaks "
        "detected live in the PMD ECG of a chest strap (H10).",
    )
    motion: bool = Field(
        default=False,
        description="Also start the PMD accelerometer ('ppi' or 'ecg' only): the movement "
        "level of each window lets the micro-break flags tell standing up or walking from "
        "stress.",
    )

    @model_validator(mode="after")
    def _motion_needs_pmd(self) -> BleSpec:
        if self.motion and self.stream == "hr":
            raise ValueError(
                "'motion' needs a Polar Measurement Data stream ('stream': 'ppi' or 'ecg'): "
                "the Heart Rate service (stream 'hr') has no accelerometer"
            )
        return self


SourceSpec = Annotated[SimulatorSpec | ReplaySpec | BleSpec, Field(discriminator="kind")]
