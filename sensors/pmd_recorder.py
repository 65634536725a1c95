"""A strap's beats and, beside them, its raw Polar Measurement Data streams (for recording).

:class:`BlePmdStreams` is a :class:`~sensors.ble.BleStrapSource` (same discovery, reconnects,
gaps, battery, status; beats from the standard Heart Rate Measurement) that also starts the
PMD streams asked for (``"ppi"``, ``"ecg"``, ``"acc"``) on every connection and hands each
decoded frame to ``on_frame`` as it is taken from the queue, in arrival order with the beats.
It decides nothing about the frames: ``hrvpace record --stream`` writes them to files
(:mod:`sensors.formats.pmd_streams`); the live beat sources are
:class:`~sensors.ble_pmd.BlePpiSource` and :class:`~sensors.ble_pmd.BleEcgSource`.

Before starting, the device's control point is read for the kinds it offers: a kind it does
not offer is a :class:`~sensors.errors.BleError` naming what it offers, not a silent empty
file.

Settings requested (each a value Polar's devices offer): ECG 130 Hz, 14 bit (H10); ACC 50 Hz,
16 bit, +-8 g; PPI none.

References
----------
Polar Electro. Polar BLE SDK, "Polar Measurement Data" online measurement (control point:
features read, start/stop requests and responses; data frames).
https://github.com/polarofficial/polar-ble-sdk
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sensors.beat import Beat
from sensors.ble_connection import _Packet
from sensors.ble_pmd import _ALREADY_STARTED, _not_offered, _PmdStreamSource
from sensors.errors import BleError
from sensors.pmd import (
    MEASUREMENT_TYPES,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    ControlPointResponse,
    PmdFrame,
    SettingType,
    decode_features,
    decode_frame,
    encode_start_request,
    encode_stop_request,
)

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice

__all__ = ["RECORDABLE_STREAMS", "STREAM_SETTINGS", "BlePmdStreams", "FrameSink"]

logger = logging.getLogger(__name__)

#: The streams that can be recorded and the settings requested for each.
STREAM_SETTINGS: dict[str, dict[SettingType, int]] = {
    "ppi": {},
    "ecg": {SettingType.SAMPLE_RATE: 130, SettingType.RESOLUTION: 14},
    "acc": {SettingType.SAMPLE_RATE: 50, SettingType.RESOLUTION: 16, SettingType.RANGE: 8},
}
RECORDABLE_STREAMS: tuple[str, ...] = tuple(STREAM_SETTINGS)

#: The kind of each PMD measurement type code (a data frame's first byte, low 6 bits).
_KIND_OF_CODE = {code: kind for kind, code in MEASUREMENT_TYPES.items()}

#: ``on_frame(frame, arrived_at_unix_s, connection)``.
FrameSink = Callable[[PmdFrame, float, int], None]


class BlePmdStreams(_PmdStreamSource):
    """Heart Rate Measurement beats, and PMD stream frames to ``on_frame``.

    Usage::

        async with BlePmdStreams("Polar H10", streams=("ecg", "acc"), on_frame=sink) as strap:
            async for beat in strap:  # the frames reach ``sink`` as the beats are taken
                ...

    Parameters
    ----------
    address_or_name
        As for :class:`~sensors.ble.BleStrapSource`.
    streams
        The PMD kinds to start, from :data:`RECORDABLE_STREAMS` (at least one).
    on_frame
        Called with each decoded frame of those kinds, its arrival time (Unix s, the source's
        clock) and the connection it came on (a new number after each reconnect).
    **kwargs
        The options of :class:`~sensors.ble.BleStrapSource` and ``response_timeout_s``.

    Raises
    ------
    ValueError
        An unknown or repeated stream, or none.
    BleError
        On entering the context, besides the strap's errors: the device has no PMD service,
        does not offer a stream asked for (what it offers is named), or refused to start one.
    """

    _KIND = "pmd"
    _NEEDS = "a Polar device (H10: ecg, acc; OH1, Verity Sense: ppi, acc)"
    _BEATS_FROM_HEART_RATE = True  # its beats are the strap's; the streams go to files

    def __init__(
        self,
        address_or_name: str,
        *,
        streams: Sequence[str],
        on_frame: FrameSink,
        **kwargs: object,
    ) -> None:
        super().__init__(address_or_name, **kwargs)  # type: ignore[arg-type]
        wanted = tuple(streams)
        unknown = [k for k in wanted if k not in STREAM_SETTINGS]
        if unknown or not wanted or len(set(wanted)) != len(wanted):
            raise ValueError(
                f"streams must be distinct kinds of {', '.join(RECORDABLE_STREAMS)}, got "
                f"{', '.join(wanted) or 'none'}"
            )
        self.streams = wanted
        self._on_frame = on_frame
        self._started: list[str] = []
        #: Frames handed on, per kind.
        self.frames: dict[str, int] = dict.fromkeys(wanted, 0)
        #: When (``time.monotonic()``) the latest notification of each stream came, since the
        #: latest connection's first (a kind absent before it): a stream stopping while the
        #: heart rate goes on is said (``hrvpace record``, :func:`sensors.silence.stream_data`).
        self.stream_data_monotonic: dict[str, float] = {}

    async def _after_subscribe(self, client: BleakClient, device: BLEDevice) -> None:
        label = device.name or device.address
        cp = client.services.get_characteristic(PMD_CONTROL_POINT_UUID)
        data = client.services.get_characteristic(PMD_DATA_UUID)
        if cp is None or data is None:
            raise BleError(
                f"{label} has no Polar Measurement Data service: recording "
                f"{', '.join(self.streams)} needs {self._NEEDS}"
            )
        offered = decode_features(bytes(await client.read_gatt_char(cp)))
        missing = [k for k in self.streams if k not in offered]
        if missing:
            raise _not_offered(label, missing, offered)
        self._responses = asyncio.Queue()
        # the streams start anew (PPI takes a while): cleared in place, as a watcher
        # (hrvpace record) holds the dict from the first connection on
        self.stream_data_monotonic.clear()
        await client.start_notify(cp, self._on_control_point)
        await client.start_notify(data, functools.partial(self._on_pmd, self._connection))
        self._cp_char, self._data_char = cp, data
        self._started = []
        for kind in self.streams:
            request = encode_start_request(kind, STREAM_SETTINGS[kind] or None)
            response: ControlPointResponse | None = await self._start(client, cp, kind, request)
            if response is None:
                raise BleError(
                    f"{label} did not answer the request to start {kind.upper()} in "
                    f"{self._response_timeout_s:g} s"
                )
            if not response.ok and response.status != _ALREADY_STARTED:
                raise BleError(f"{label} refused to start {kind.upper()}: {response.status_text}")
            self._started.append(kind)

    def _on_pmd(self, connection: int, char: BleakGATTCharacteristic, data: bytearray) -> None:
        super()._on_pmd(connection, char, data)
        kind = _KIND_OF_CODE.get(data[0] & 0x3F) if data else None
        if kind in self.frames and self.last_data_monotonic is not None:
            self.stream_data_monotonic[kind] = self.last_data_monotonic

    async def _before_disconnect(self, client: BleakClient) -> None:
        from bleak.exc import BleakError

        cp, data = self._cp_char, self._data_char
        self._cp_char = self._data_char = None
        try:
            if cp is not None:
                for kind in self._started:
                    await client.write_gatt_char(cp, encode_stop_request(kind), response=True)
            for char in (data, cp):
                if char is not None:
                    await client.stop_notify(char)
        except (BleakError, EOFError, OSError) as exc:
            logger.debug("stopping the PMD streams failed: %s", exc)

    def _beats_of_packet(self, item: _Packet) -> tuple[Beat, ...]:
        if item.channel == "hr":
            return super(_PmdStreamSource, self)._beats_of_packet(item)
        frame = decode_frame(item.data)  # a malformed frame raises: counted and skipped
        if frame.kind in self.frames:
            self.frames[frame.kind] += 1
            self._on_frame(frame, item.arrived_at, item.connection)
        return ()
