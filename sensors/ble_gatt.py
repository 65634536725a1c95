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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sensors.errors import (
    AdapterOffError,
    AmbiguousDeviceError,
    BleError,
    BlePermissionError,
    DeviceNotFoundError,
    NotPairedError,
)

if TYPE_CHECKING:
    from bleak import BleakClient

__all__ = [
    "BATTERY_LEVEL_UUID",
    "DEVICE_INFORMATION_UUIDS",
    "DeviceInformation",
    "choose_by_name",
    "is_name_prefix",
    "name_matches",
    "strongest_first",
]

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


def is_name_prefix(target: str, name: str) -> bool:
    """Whether ``target`` is the start of the advertised ``name`` up to a separator.

    Without regard to case: ``"polar h10"`` is the start of ``"Polar H10 A1B2C3D4"`` and of
    ``"Polar H10:1"``, not of ``"Polar H10X"`` nor of ``"Polar H10"`` itself (that is the name).
    """
    folded, want = name.casefold(), target.strip().casefold()
    return (
        bool(want)
        and len(folded) > len(want)
        and folded.startswith(want)
        and not (folded[len(want)].isalnum())
    )


def name_matches(target: str, name: str) -> bool:
    """Whether the advertised ``name`` is one the name ``target`` may pick.

    The name itself (without case, ``target`` stripped) or one that starts with it and then a
    separator (:func:`is_name_prefix`); :func:`choose_by_name` chooses among such devices. An
    empty (or blank) ``target`` picks none, an unnamed device (``""``) included.
    """
    want = target.strip().casefold()
    return bool(want) and (name.casefold() == want or is_name_prefix(target, name))


_T = TypeVar("_T")


def strongest_first(items: Iterable[_T], rssi: Callable[[_T], int | None]) -> list[_T]:
    """``items`` by signal strength (RSSI, dBm), strongest first; an unknown one last.

    The order of items with the same strength is kept (the sort is stable).
    """
    return sorted(items, key=lambda item: -(_rssi if (_rssi := rssi(item)) is not None else -1000))


def choose_by_name(target: str, seen: Mapping[str, tuple[str, int | None]]) -> str | None:
    """The address of the one device the name ``target`` picks among ``seen``, else ``None``.

    ``seen`` maps each address to its advertised name and RSSI (dBm, ``None`` when unknown).
    The name is compared without case. A device with the name itself is picked; when none has
    it, one whose name starts with it and then a separator (:func:`is_name_prefix`: ``Polar
    H10`` picks ``Polar H10 1A2B3C4D``). ``None`` when no device matches.

    Raises
    ------
    AmbiguousDeviceError
        Several devices have the name (or, none having it, start with it): their addresses
        (and names) listed strongest signal first (:func:`strongest_first`), as ``matches``.
    """
    want = target.strip().casefold()
    matching = [(a, n, r) for a, (n, r) in seen.items() if name_matches(target, n)]
    exact = [m for m in matching if m[1].casefold() == want]
    prefixed = [m for m in matching if m[1].casefold() != want]
    matches = strongest_first(exact or prefixed, lambda m: m[2])
    if len(matches) == 1:
        return matches[0][0]
    if not matches:
        return None
    shown = target.strip()
    if exact:
        listed = ", ".join(
            f"{address} ({rssi} dBm)" if rssi is not None else address
            for address, _, rssi in matches
        )
        reason = (
            f"{len(matches)} devices are named {shown}: {listed}; give the address of the one "
            "to use instead of the name"
        )
    else:
        listed = ", ".join(
            f"{name} ({address}" + (f", {rssi} dBm)" if rssi is not None else ")")
            for address, name, rssi in matches
        )
        reason = (
            f"{len(matches)} devices have names starting with {shown}: {listed}; give the whole "
            "name or the address of the one to use"
        )
    raise AmbiguousDeviceError(reason, matches=tuple((a, r) for a, _, r in matches))


def _is_address(text: str) -> bool:
    return bool(_ADDRESS_RE.match(text))


def _bluez_args(adapter: str | None) -> dict[str, Any]:
    return {} if adapter is None else {"bluez": {"adapter": adapter}}


# BlueZ errors a moment later may not give (another connect under way, an aborted attempt)
_TRANSIENT_BLUEZ_ERRORS = frozenset({"org.bluez.Error.InProgress"})
_TRANSIENT_FAILED_TEXTS = (
    "le-connection-abort-by-local",
    "software caused connection abort",
    "connection attempt failed",
    "br-connection-canceled",
)
# BlueZ errors that say the strap wants pairing (or its pairing is stale)
_PAIRING_BLUEZ_ERRORS = frozenset(
    {
        "org.bluez.Error.AuthenticationFailed",
        "org.bluez.Error.AuthenticationRejected",
        "org.bluez.Error.AuthenticationCanceled",
        "org.bluez.Error.AuthenticationTimeout",
        "org.bluez.Error.NotAuthorized",
    }
)
# ATT error codes (Core Specification, Vol 3, Part F, 3.4.1.1) that ask for pairing/encryption
_ATT_PAIRING_CODES = frozenset({0x05, 0x08, 0x0C, 0x0F})
_ATT_ERROR_RE = re.compile(r"ATT error: 0x([0-9A-Fa-f]{1,2})\b")
_PAIRING_ADVICE = (
    "the strap refused the connection as not paired, or its pairing is stale: remove it in the "
    "system's Bluetooth settings (or `bluetoothctl remove {address}`), wake it (moisten the "
    "electrodes and put it on) and try again; pair it first if it asks for that"
)
# D-Bus errors that say the call got no answer in time (BlueZ busy or hung): worth a retry
_DBUS_TIMEOUTS = frozenset(
    {"org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout"}
)
_NO_SYSTEM_BUS_ADVICE = (
    "is BlueZ installed and running? Start it (`sudo systemctl start bluetooth`, or install the "
    "`bluez` package first); inside a container the host's system bus is not there: give the "
    "container the host's /run/dbus (e.g. `-v /run/dbus:/run/dbus`)"
)
_PERMISSION_ADVICE = (
    "this user may not use Bluetooth (the system D-Bus denied access to bluetoothd): add the "
    "user to the `bluetooth` group (then log in again) or allow it in the polkit rules, or run "
    "from a desktop session"
)


def _safe_str(exc: BaseException) -> str:
    """``str(exc)`` without ever raising (bleak's own ``__str__`` can), one line."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return " ".join(text.split()) or type(exc).__name__


def _dbus_error(exc: BaseException) -> tuple[str, str] | None:
    """``(error name, text)`` of a D-Bus error from bleak or dbus-fast, else ``None``."""
    from bleak.exc import BleakDBusError

    if isinstance(exc, BleakDBusError):
        args = exc.args
        name = str(args[0]) if args else ""
        text = str(args[1]) if len(args) > 1 else ""
        return name, text
    try:
        from dbus_fast.errors import DBusError
    except ImportError:  # pragma: no cover - bleak on Linux brings dbus-fast
        return None
    if isinstance(exc, DBusError):
        return str(exc.type), str(exc.text)
    return None


def _translate(exc: BaseException, doing: str, *, address: str | None = None) -> BleError:
    """Turn a bleak / D-Bus / OS error into the hrvpace error a UI can show as is.

    Never raises: an error it cannot place gives a generic :class:`BleError` naming what was
    being done. D-Bus policy texts (with process ids and command lines) are not passed on.
    ``address``: the strap's, when known, for the advice (``bluetoothctl remove ADDRESS``).
    """
    try:
        return _translate_known(exc, doing, address=address)
    except Exception as failure:  # a translation must not turn an error into a traceback
        logger.debug("could not translate %r: %r", type(exc), failure)
        return BleError(f"{doing}: Bluetooth failed ({type(exc).__name__})")


def _translate_known(exc: BaseException, doing: str, *, address: str | None = None) -> BleError:
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDeviceNotFoundError,
        BleakGATTProtocolError,
    )

    if isinstance(exc, BleakBluetoothNotAvailableError):
        if exc.reason is BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM:
            return BlePermissionError(_PERMISSION_ADVICE)
        reasons = {
            BleakBluetoothNotAvailableReason.POWERED_OFF: (
                "Bluetooth is turned off: turn it on and try again"
            ),
            BleakBluetoothNotAvailableReason.NO_BLUETOOTH: "no Bluetooth adapter was found",
            BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
                "the Bluetooth adapter cannot act as a Bluetooth Low Energy central"
            ),
        }
        return AdapterOffError(
            reasons.get(exc.reason, f"Bluetooth is not available: {_safe_str(exc)}")
        )
    dbus = _dbus_error(exc)
    if dbus is not None:
        name, text = dbus
        if name == "org.bluez.Error.NotReady":
            return AdapterOffError(
                "the Bluetooth adapter is not ready: is it turned off?", transient=True
            )
        if name in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            return AdapterOffError("the Bluetooth service (bluetoothd) is not running")
        if name in (
            "org.freedesktop.DBus.Error.AccessDenied",
            "org.freedesktop.DBus.Error.AuthFailed",
            "org.freedesktop.PolicyKit1.Error.NotAuthorized",
        ):
            return BlePermissionError(_PERMISSION_ADVICE)
        att = _ATT_ERROR_RE.search(text)
        if (
            name in _PAIRING_BLUEZ_ERRORS
            or (name == "org.bluez.Error.NotPermitted" and "pair" in text.casefold())
            or (att is not None and int(att.group(1), 16) in _ATT_PAIRING_CODES)
        ):
            return NotPairedError(f"{doing}: {_pairing_advice(address)}")
        if name in _TRANSIENT_BLUEZ_ERRORS or (
            name == "org.bluez.Error.Failed"
            and any(t in text.casefold() for t in _TRANSIENT_FAILED_TEXTS)
        ):
            return BleError(
                f"{doing}: Bluetooth is busy or the attempt was aborted ({text or name}); "
                "try again in a moment",
                transient=True,
            )
        if name in _DBUS_TIMEOUTS:  # BlueZ did not answer in time (D-Bus's 25 s): not a refusal
            return BleError(
                f"{doing}: Bluetooth did not answer (timed out); try again in a moment",
                transient=True,
            )
        if name.startswith("org.freedesktop.DBus.Error."):
            # the bus's own errors: their texts name processes and rules, not the strap
            return BleError(f"{doing}: the system D-Bus answered {name}")
        if att is not None:
            return BleError(f"{doing}: the strap answered with {_att_words(int(att.group(1), 16))}")
        short = name.removeprefix("org.bluez.Error.")
        return BleError(f"{doing}: Bluetooth said {short}" + (f" ({text})" if text else ""))
    if isinstance(exc, BleakGATTProtocolError):
        code = int(exc.code)
        if code in _ATT_PAIRING_CODES:
            return NotPairedError(f"{doing}: {_pairing_advice(address)}")
        return BleError(f"{doing}: the strap answered with {_att_words(code)}")
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError(f"{doing}: the device is no longer known to Bluetooth")
    if isinstance(exc, PermissionError):
        return BlePermissionError(_PERMISSION_ADVICE)
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        return AdapterOffError(
            f"cannot reach the Bluetooth service on the system D-Bus ({exc.strerror or exc}): "
            + _NO_SYSTEM_BUS_ADVICE
        )
    if isinstance(exc, TimeoutError):
        return BleError(f"{doing}: timed out")
    return BleError(f"{doing}: {_safe_str(exc)}")


def _pairing_advice(address: str | None) -> str:
    """:data:`_PAIRING_ADVICE` naming the strap's address, or ``ADDRESS`` when it is unknown."""
    return _PAIRING_ADVICE.format(address=address or "ADDRESS")


def _att_words(code: int) -> str:
    """``"a GATT error: Unlikely Error (0x0e)"``: the ATT error code in words."""
    from bleak.exc import PROTOCOL_ERROR_CODES

    return f"a GATT error: {PROTOCOL_ERROR_CODES.get(code, 'unknown code')} (0x{code:02x})"


async def _quiet_disconnect(client: BleakClient) -> None:
    """Disconnect and release the client's D-Bus connection; never raises."""
    try:
        await client.disconnect()
    except Exception as exc:  # the link is going away anyway
        logger.debug("disconnect failed: %s", exc)
