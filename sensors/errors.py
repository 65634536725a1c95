"""Errors raised by sources of beats.

Every class carries a ``reason`` a UI can show as is::

    HrvpaceError (hrv.errors)
    └── SensorError                     a source of beats failed
        ├── MalformedPacketError(ValueError)  a Heart Rate Measurement or PMD payload is malformed
        ├── RecordingFormatError(ValueError)  a recording file is unreadable (names path and line)
        └── BleError                    Bluetooth problems
            ├── AdapterOffError         the Bluetooth adapter is missing or powered off
            ├── DeviceNotFoundError     no strap with that address or name was found
            ├── AmbiguousDeviceError    more than one strap has that name: the address is needed
            └── ConnectionLostError     the strap dropped and could not be reconnected
"""

from __future__ import annotations

from hrv.errors import HrvpaceError

__all__ = [
    "AdapterOffError",
    "AmbiguousDeviceError",
    "BleError",
    "BlePermissionError",
    "ConnectionLostError",
    "DeviceNotFoundError",
    "MalformedPacketError",
    "NotPairedError",
    "RecordingFormatError",
    "SensorError",
]


class SensorError(HrvpaceError):
    """A source of beats failed. ``reason`` is a short sentence fit for a UI."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedPacketError(SensorError, ValueError):
    """A device payload breaks its spec: Heart Rate Measurement (0x2A37) or a PMD frame."""


class RecordingFormatError(SensorError, ValueError):
    """A recording file cannot be read; ``path`` and ``line`` (1-based, or None) say where.

    ``summary`` is the problem in words that quote nothing of the file (``"an RR interval is
    not a finite number"``), or ``None`` when the reader gave none: a file's content is health
    data and may not be echoed where the reason is logged or sent (an upload's answer), the
    summary may.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        line: int | None = None,
        summary: str | None = None,
    ) -> None:
        where = path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {reason}")
        #: The problem alone, without path and line (``reason`` is the sources' attribute
        #: for the whole message, so this one is named apart).
        self.problem = reason
        self.path = path
        self.line = line
        self.summary = summary


class BleError(SensorError):
    """A Bluetooth Low Energy problem; ``transient`` when another try a moment later may work."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


class AdapterOffError(BleError):
    """The Bluetooth adapter is missing or powered off."""


class DeviceNotFoundError(BleError):
    """No heart-rate strap with the requested address or name was found."""


class AmbiguousDeviceError(BleError):
    """More than one device advertises the requested name: which one is meant is not known.

    ``matches`` holds each one's ``(address, rssi)`` (RSSI in dBm, ``None`` when unknown),
    strongest signal first.
    """

    def __init__(self, reason: str, *, matches: tuple[tuple[str, int | None], ...]) -> None:
        super().__init__(reason)
        self.matches = matches


class BlePermissionError(BleError):
    """The system refused this user access to Bluetooth (D-Bus policy, polkit, a sandbox)."""


class NotPairedError(BleError):
    """The strap refused the connection or its heart-rate data: not paired, or a stale pairing."""


class ConnectionLostError(BleError):
    """The strap dropped and reconnecting failed."""
