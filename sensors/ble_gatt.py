"""Bluetooth plumbing shared by the BLE sources: GATT identifiers, addresses, bleak errors.

The Battery Level and Device Information characteristics a strap is asked for at connect
time (:class:`DeviceInformation`), how a target is told apart as an address or a name, the
BlueZ adapter option, and the translation of bleak / D-Bus / OS errors into the hrvpace errors a
UI can show as is (:mod:`sensors.errors`). bleak is imported lazily, inside the functions.

References
----------
Bluetooth SIG. Battery Service 1.0 (2011); Device Information Service 1.1 (2011).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sensors.errors import AdapterOffError, BleError, DeviceNotFoundError

if TYPE_CHECKING:
    from bleak import BleakClient

__all__ = ["BATTERY_LEVEL_UUID", "DEVICE_INFORMATION_UUIDS", "DeviceInformation"]

logger = logging.getLogger(__name__)

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: Device Information (0x180A) characteristics read at connect time, by DeviceInformation field.
DEVICE_INFORMATION_UUIDS = {
    "manufacturer_name": "00002a29-0000-1000-8000-00805f9b34fb",
    "model_number": "00002a24-0000-1000-8000-00805f9b34fb",
    "serial_number": "00002a25-0000-1000-8000-00805f9b34fb",
    "hardware_revision": "00002a27-0000-1000-8000-00805f9b34fb",
    "firmware_revision": "00002a26-0000-1000-8000-00805f9b34fb",
    "software_revision": "00002a28-0000-1000-8000-00805f9b34fb",
}

# Bluetooth address (Linux, Windows) or CoreBluetooth UUID (macOS).
_ADDRESS_RE = re.compile(
    r"^(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)


@dataclass(frozen=True, slots=True)
class DeviceInformation:
    """What a strap's Device Information service (0x180A) says about it; absent fields are None."""

    manufacturer_name: str | None = None
    model_number: str | None = None
    serial_number: str | None = None
    hardware_revision: str | None = None
    firmware_revision: str | None = None
    software_revision: str | None = None

    def summary(self) -> str:
        """A short human-readable line, e.g. ``"Polar Electro Oy H10, firmware 3.1.1"``."""
        parts = [p for p in (self.manufacturer_name, self.model_number) if p]
        text = " ".join(parts)
        if self.firmware_revision:
            text = (
                f"{text}, firmware {self.firmware_revision}"
                if text
                else (f"firmware {self.firmware_revision}")
            )
        return text


def _is_address(text: str) -> bool:
    return bool(_ADDRESS_RE.match(text))


def _bluez_args(adapter: str | None) -> dict[str, Any]:
    return {} if adapter is None else {"bluez": {"adapter": adapter}}


def _translate(exc: BaseException, doing: str) -> BleError:
    """Turn a bleak / D-Bus / OS error into the hrvpace error a UI can show as is."""
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDBusError,
        BleakDeviceNotFoundError,
    )

    if isinstance(exc, BleakBluetoothNotAvailableError):
        reasons = {
            BleakBluetoothNotAvailableReason.POWERED_OFF: (
                "Bluetooth is turned off: turn it on and try again"
            ),
            BleakBluetoothNotAvailableReason.NO_BLUETOOTH: "no Bluetooth adapter was found",
            BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
                "the Bluetooth adapter cannot act as a Bluetooth Low Energy central"
            ),
            BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: (
                "access to Bluetooth was denied by the system"
            ),
        }
        return AdapterOffError(reasons.get(exc.reason, f"Bluetooth is not available: {exc}"))
    if isinstance(exc, BleakDBusError):
        if exc.dbus_error == "org.bluez.Error.NotReady":
            return AdapterOffError("the Bluetooth adapter is not ready: is it turned off?")
        if exc.dbus_error in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            return AdapterOffError("the Bluetooth service (bluetoothd) is not running")
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError(f"{doing}: the device is no longer known to Bluetooth")
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        return AdapterOffError(
            f"cannot reach the Bluetooth service on the system D-Bus ({exc.strerror or exc})"
        )
    if isinstance(exc, TimeoutError):
        return BleError(f"{doing}: timed out")
    return BleError(f"{doing}: {exc}")


async def _quiet_disconnect(client: BleakClient) -> None:
    """Disconnect and release the client's D-Bus connection; never raises."""
    try:
        await client.disconnect()
    except Exception as exc:  # the link is going away anyway
        logger.debug("disconnect failed: %s", exc)
