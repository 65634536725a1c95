"""``GET /api/v1/devices?scan_s=5``: scan for Bluetooth heart-rate straps (service 0x180D)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from sensors.ble import scan_heart_rate_devices
from sensors.errors import BleError

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


class DeviceOut(BaseModel):
    name: str | None
    address: str = Field(description="Pass it as source.address to start a session")
    rssi: int | None = Field(description="Signal strength, dBm (closer is higher)")


class DevicesOut(BaseModel):
    scan_s: float
    devices: list[DeviceOut]


@router.get(
    "",
    response_model=DevicesOut,
    responses={503: {"description": "Bluetooth is off, missing or failing (reason given)"}},
)
async def scan_devices(
    request: Request,
    scan_s: Annotated[float, Query(gt=0, le=60, description="Scan duration, s")] = 5.0,
) -> DevicesOut:
    """Heart-rate straps in range, strongest signal first (the scan takes ``scan_s``)."""
    limit: float = request.app.state.settings.scan_max_s
    if scan_s > limit:
        raise HTTPException(
            422,
            detail=[
                {"loc": ["query", "scan_s"], "msg": f"at most {limit:g} s", "type": "value_error"}
            ],
        )
    try:
        found = await scan_heart_rate_devices(timeout_s=scan_s)
    except BleError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, exc.reason) from exc
    return DevicesOut(
        scan_s=scan_s,
        devices=[DeviceOut(name=d.name, address=d.address, rssi=d.rssi) for d in found],
    )
