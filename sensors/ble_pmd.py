"""Pulse-to-pulse intervals (PPI) of a Polar optical sensor as a live source of beats.

:class:`BlePpiSource` is a :class:`~sensors.ble.BleStrapSource` (same discovery, reconnects,
gaps, battery and status) that also starts the Polar Measurement Data (PMD) PPI stream on every
connection and takes its beats from it (:mod:`sensors.pmd`), not from the Heart Rate
Measurement characteristic, whose heart rate it still shows. OH1, Verity Sense and Polar
watches in SDK mode send PPI; their standard heart-rate service often sends no RR at all.

Beat quality, as Polar's documentation asks: a pulse flagged by the blocker bit (movement) or
without skin contact (when the sensor detects contact) is not a beat; it is left out and the
next beat is marked ``gap_before`` so no successive difference spans it. So is a pulse whose
error estimate exceeds ``max_error_ms`` when that is set. Every beat carries the sensor's error
estimate in ``Beat.error_ms``. When several pulses in a row are blocked the status message asks
the wearer to hold still.

PPI frames carry no sample times (timestamp 0): like RR of the Heart Rate Measurement, the last
interval of a frame ends at its arrival and earlier ones are back-dated by the later intervals
(:func:`sensors.heart_rate_measurement.beats_from_packet`).

References
----------
Polar Electro. Polar BLE SDK, "Polar Measurement Data" online measurement (2024), table 22 (PPI
frame); "PPI Data in Polar devices" (blocker and skin-contact flags: such samples are to be
discarded; PPI is reliable at rest only). https://github.com/polarofficial/polar-ble-sdk
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from sensors.beat import Beat, SourceState
from sensors.ble import BleStrapSource, _Packet
from sensors.errors import BleError, MalformedPacketError
from sensors.heart_rate_measurement import (
    HeartRateMeasurement,
    beats_from_packet,
    decode_heart_rate_measurement,
)
from sensors.pmd import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    ControlPointResponse,
    decode_control_point_response,
    decode_frame,
    encode_start_request,
    encode_stop_request,
)

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice

__all__ = ["BlePpiSource"]

logger = logging.getLogger(__name__)

_ALREADY_STARTED = 6
#: Blocked pulses in a row before the status asks the wearer to hold still.
_HOLD_STILL_AFTER = 3


class BlePpiSource(BleStrapSource):
    """Beats from a Polar optical sensor's PPI stream (PMD), reconnecting when it drops.

    Usage::

        async with BlePpiSource("Polar Sense B5F1A12C") as sensor:
            async for beat in sensor:
                print(beat.rr_ms, beat.error_ms)

    Parameters
    ----------
    address_or_name
        As for :class:`~sensors.ble.BleStrapSource`.
    max_error_ms
        Leave out pulses whose error estimate exceeds this many milliseconds (with a gap);
        ``None`` (default) keeps them, with ``Beat.error_ms`` telling their error.
    response_timeout_s
        How long the device may take to answer the start request.
    **kwargs
        The other options of :class:`~sensors.ble.BleStrapSource`.

    Raises
    ------
    BleError
        On entering the context, besides the strap's errors: the device has no PMD service, or
        refused to start PPI (its reason quoted).

    Attributes
    ----------
    rejected_pulses
        How many pulses were left out (blocker, no contact, error over ``max_error_ms``).
    """

    def __init__(
        self,
        address_or_name: str,
        *,
        max_error_ms: float | None = None,
        response_timeout_s: float = 5.0,
        **kwargs: object,
    ) -> None:
        super().__init__(address_or_name, **kwargs)  # type: ignore[arg-type]
        if max_error_ms is not None and not max_error_ms > 0:
            raise ValueError(f"max_error_ms must be > 0, got {max_error_ms!r}")
        if not response_timeout_s > 0:
            raise ValueError(f"response_timeout_s must be > 0, got {response_timeout_s!r}")
        self._max_error_ms = max_error_ms
        self._response_timeout_s = response_timeout_s
        self._responses: asyncio.Queue[ControlPointResponse] = asyncio.Queue()
        self._cp_char: BleakGATTCharacteristic | None = None
        self._data_char: BleakGATTCharacteristic | None = None
        self._gap_pending = False
        self._blocked_in_row = 0
        self.rejected_pulses = 0

    # -- connection ------------------------------------------------------------------------------

    async def _after_subscribe(self, client: BleakClient, device: BLEDevice) -> None:
        label = device.name or device.address
        cp = client.services.get_characteristic(PMD_CONTROL_POINT_UUID)
        data = client.services.get_characteristic(PMD_DATA_UUID)
        if cp is None or data is None:
            raise BleError(
                f"{label} has no Polar Measurement Data service: pulse-to-pulse intervals need "
                "a Polar optical sensor (OH1, Verity Sense) or a Polar watch"
            )
        self._responses = asyncio.Queue()
        await client.start_notify(cp, self._on_control_point)
        await client.start_notify(data, functools.partial(self._on_pmd, self._connection))
        self._cp_char, self._data_char = cp, data
        await client.write_gatt_char(cp, encode_start_request("ppi"), response=True)
        try:
            async with asyncio.timeout(self._response_timeout_s):
                while True:
                    response = await self._responses.get()
                    if response.op_code == 2 and response.kind == "ppi":
                        break
        except TimeoutError:
            raise BleError(
                f"{label} did not answer the request to start PPI in {self._response_timeout_s:g} s"
            ) from None
        if not response.ok and response.status != _ALREADY_STARTED:
            raise BleError(f"{label} refused to start PPI: {response.status_text}")
        # a reconnect loses the pulses in between: the first one after it starts a new run
        self._gap_pending = self._last_t_s is not None

    async def _before_disconnect(self, client: BleakClient) -> None:
        from bleak.exc import BleakError

        cp, data = self._cp_char, self._data_char
        self._cp_char = self._data_char = None
        try:
            if cp is not None:
                await client.write_gatt_char(cp, encode_stop_request("ppi"), response=True)
            for char in (data, cp):
                if char is not None:
                    await client.stop_notify(char)
        except (BleakError, EOFError, OSError) as exc:
            logger.debug("stopping PPI failed: %s", exc)

    def _on_control_point(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            response = decode_control_point_response(bytes(data))
        except MalformedPacketError as exc:
            logger.debug("malformed PMD control-point response: %s", exc.reason)
            return
        self._responses.put_nowait(response)

    def _on_pmd(self, connection: int, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._queue.put_nowait(_Packet(bytes(data), self._clock.now(), connection, "pmd"))

    # -- packets ---------------------------------------------------------------------------------

    def _beats_of_packet(self, item: _Packet) -> tuple[Beat, ...]:
        if item.channel == "hr":
            # the heart rate is shown; beats come from PPI only (never counted twice)
            m = decode_heart_rate_measurement(item.data)
            hr = float(m.heart_rate_bpm)
            if hr != self._status.heart_rate_bpm:
                self._publish(heart_rate_bpm=hr)
            return ()
        pulses = decode_frame(item.data).ppi
        if not pulses:
            return ()
        ppi_ms = tuple(float(p.ppi_ms) for p in pulses)
        if any(v <= 0 for v in ppi_ms):
            raise MalformedPacketError("PMD: a PPI frame with a zero interval")
        if self._session_start is None:
            self._session_start = item.arrived_at - sum(ppi_ms) / 1000.0
        hr = float(pulses[-1].hr_bpm)
        timed = beats_from_packet(
            HeartRateMeasurement(int(hr), rr_ms=ppi_ms),
            arrived_at=item.arrived_at,
            session_start=self._session_start,
            not_before_s=self._last_t_s,
        )
        gap = self._gap_pending or (
            self._last_connection is not None and item.connection != self._last_connection
        )
        out: list[Beat] = []
        for beat, pulse in zip(timed, pulses, strict=True):
            error_ms = float(pulse.error_ms)
            too_uncertain = self._max_error_ms is not None and error_ms > self._max_error_ms
            if not pulse.valid or too_uncertain:
                self.rejected_pulses += 1
                gap = True
                if pulse.blocker:
                    self._blocked_in_row += 1
                continue
            self._blocked_in_row = 0
            out.append(
                replace(
                    beat,
                    contact=pulse.skin_contact,
                    heart_rate_bpm=float(pulse.hr_bpm),
                    error_ms=error_ms,
                    gap_before=gap,
                )
            )
            gap = False
        self._gap_pending = gap
        if timed:
            self._last_t_s = timed[-1].t_s
        if out:
            self._last_connection = item.connection
        state, message = self._status.state, None
        if self._blocked_in_row >= _HOLD_STILL_AFTER:
            message = "movement makes the pulse intervals unreliable: hold still"
        elif state is SourceState.STREAMING and self._status.message.endswith("hold still"):
            message = f"pulse intervals from {self._label()} again"
        if message is not None or hr != self._status.heart_rate_bpm:
            self._publish(state, message, heart_rate_bpm=hr)
        return tuple(out)
