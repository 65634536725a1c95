"""``GET /api/v1/devices?scan_s=5&probe_s=0``: scan for Bluetooth heart-rate devices (0x180D).

Whether a device sends RR intervals, and which Polar Measurement Data (PMD) streams it offers,
is only known after connecting: with ``probe_s`` > 0 each device found is connected in turn
and listened to for at most that long (:func:`sensors.scan_heart_rate_devices`); without it
both are ``null`` (unknown).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from sensors.ble import scan_heart_rate_devices
from sensors.errors import BleError

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

#: The PMD measurement kinds (sensors.pmd.MEASUREMENT_TYPES) a device may offer.
PmdStream = Literal["ecg", "ppg", "acc", "ppi"]
_STREAMS: tuple[PmdStream, ...] = ("ecg", "ppg", "acc", "ppi")


class DeviceOut(BaseModel):
    """A heart-rate device found in range."""

    name: str | None
    address: str = Field(description="Pass it as source.address to start a session")
    rssi: int | None = Field(description="Signal strength, dBm (closer is higher)")
    sends_rr: bool | None = Field(
        description="Whether the device sends RR (beat-to-beat) intervals in its Heart Rate "
        "Measurement: true; false when no usable RR came, no HRV can be derived: heart rate "
        "only, or a faulty device whose RR values were all implausible (reason says which); "
        "or null when unknown (not probed: use probe_s; or too few packets while probing)"
    )
    pmd_streams: list[PmdStream] | None = Field(
        description="Polar Measurement Data streams the device offers (ecg: raw ECG, ppi: "
        "optical pulse-to-pulse intervals, acc: accelerometer, ppg: optical signal), read from "
        "its PMD control point while probing; [] when it has no PMD service; null when unknown"
    )
    reason: str | None = Field(
        default=None,
        description="What the probe said, a sentence to show as is: why sends_rr is null "
        "('unknown: too few packets in 3 s', the connection error), or e.g. 'sends RR "
        "intervals'; null when not probed",
    )


class DevicesOut(BaseModel):
    """The devices a scan found, strongest signal first."""

    scan_s: float
    probe_s: float = Field(description="Seconds each device was listened to (0: not probed)")
    devices: list[DeviceOut]
    total: int = Field(default=0, description="Devices found (all are listed)")

    def model_post_init(self, context: object, /) -> None:
        """Count the devices listed."""
        self.total = len(self.devices)


@router.get(
    "",
    response_model=DevicesOut,
    responses={503: {"description": "Bluetooth is off, missing or failing (reason given)"}},
)
async def scan_devices(
    request: Request,
    scan_s: Annotated[float, Query(gt=0, le=60, description="Scan duration, s")] = 5.0,
    probe_s: Annotated[
        float,
        Query(
            ge=0,
            le=10,
            description="Connect to each device found and listen up to this many seconds to "
            "learn sends_rr and pmd_streams (0: do not connect; they stay null)",
        ),
    ] = 0.0,
) -> DevicesOut:
    """Heart-rate devices in range, strongest signal first.

    The scan takes ``scan_s``, each probe up to ``probe_s`` more.
    """
    limit: float = request.app.state.settings.scan_max_s
    if scan_s > limit:
        raise HTTPException(
            422,
            detail=[
                {"loc": ["query", "scan_s"], "msg": f"at most {limit:g} s", "type": "value_error"}
            ],
        )
    try:
        found = await scan_heart_rate_devices(timeout_s=scan_s, probe_s=probe_s)
    except BleError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, exc.reason) from exc
    return DevicesOut(
        scan_s=scan_s,
        probe_s=probe_s,
        devices=[
            DeviceOut(
                name=d.name,
                address=d.address,
                rssi=d.rssi,
                sends_rr=d.sends_rr,
                pmd_streams=None
                if d.pmd_streams is None
                else [k for k in _STREAMS if k in d.pmd_streams],
                reason=d.reason,
            )
            for d in found
        ],
    )
