"""A Bluetooth Low Energy heart-rate strap (Heart Rate service 0x180D) as a source of beats.

:class:`BleStrapSource` turns the Heart Rate Measurement (0x2A37) notifications its connection
(:class:`~sensors.ble_connection.BleConnection`) queues into :class:`~sensors.beat.Beat`
objects: beats of one packet are back-dated from its arrival, a malformed packet is counted and
skipped, HR-only devices are noticed, and the first beat of another connection than the
previous beat's is marked ``gap_before`` (the module docstring of :mod:`sensors.ble` says how
the live stream behaves).

References
----------
Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1 (Heart Rate Measurement).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sensors.beat import Beat, SourceState
from sensors.ble_connection import BleConnection, _Dropped, _Packet
from sensors.clock import Clock
from sensors.errors import BleError, MalformedPacketError
from sensors.heart_rate_measurement import (
    HeartRateMeasurement,
    beats_from_packet,
    decode_heart_rate_measurement,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["BleStrapSource"]

logger = logging.getLogger(__name__)

# Consecutive packets without RR before the stream is said to be HR-only (a strap sends an
# occasional packet without RR when no beat ended since the last one).
_HR_ONLY_AFTER_PACKETS = 3


class BleStrapSource(BleConnection):
    """Beats from a Bluetooth heart-rate strap (bleak), reconnecting when it drops.

    Usage::

        async with BleStrapSource("F0:13:C3:AA:BB:CC") as strap:
            async for beat in strap:
                ...

    Parameters
    ----------
    address_or_name
        The strap's Bluetooth address (``AA:BB:CC:DD:EE:FF``, a UUID on macOS) or its advertised
        name (compared without regard to case).
    clock
        Where arrival times and backoff sleeps come from; default :class:`SystemClock`.
    reconnect
        Reconnect when the strap drops; when ``False`` a drop ends the stream with
        :class:`ConnectionLostError`.
    initial_backoff_s, max_backoff_s
        The wait between reconnect attempts starts at ``initial_backoff_s`` and doubles up to
        ``max_backoff_s``.
    give_up_after_s
        Raise :class:`ConnectionLostError` when reconnecting has failed for this long.
    scan_timeout_s
        How long one scan for the strap may take before it counts as not found.
    connect_timeout_s
        How long one connection attempt may take.
    adapter
        The Bluetooth adapter (e.g. ``"hci1"``); default: the system's default one.

    Raises
    ------
    AdapterOffError
        On entering the context: Bluetooth is off, missing, or its service is not running.
    DeviceNotFoundError
        On entering the context: no device with that address or name was seen.
    BleError
        On entering the context: the device has no Heart Rate Measurement characteristic, or
        connecting failed.
    ConnectionLostError
        While iterating: the strap dropped and could not be reconnected.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1 (Heart Rate Measurement).
    """

    def __init__(
        self,
        address_or_name: str,
        *,
        clock: Clock | None = None,
        reconnect: bool = True,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        give_up_after_s: float = 300.0,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        adapter: str | None = None,
    ) -> None:
        super().__init__(
            address_or_name,
            clock=clock,
            reconnect=reconnect,
            initial_backoff_s=initial_backoff_s,
            max_backoff_s=max_backoff_s,
            give_up_after_s=give_up_after_s,
            scan_timeout_s=scan_timeout_s,
            connect_timeout_s=connect_timeout_s,
            adapter=adapter,
        )
        self._session_start: float | None = None
        self._last_t_s: float | None = None
        #: The connection the last yielded beat came on.
        self._last_connection: int | None = None
        self._packets_without_rr = 0
        self._rr_received = False

    @property
    def rr_received(self) -> bool:
        """True once any packet of this source carried an RR interval (the device sends RR)."""
        return self._rr_received

    async def _beats(self) -> AsyncIterator[Beat]:
        if self._client is None and self._status.state is SourceState.IDLE:
            raise BleError("open the strap first: 'async with BleStrapSource(...) as strap'")
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Dropped):
                    await self._handle_drop()
                    continue
                try:
                    beats = self._beats_of_packet(item)
                except MalformedPacketError as exc:
                    logger.debug("skipping a malformed packet: %s", exc.reason)
                    self._publish(
                        malformed_packets=self._status.malformed_packets + 1,
                        message=f"skipped a malformed packet: {exc.reason}",
                    )
                    continue
                for beat in beats:
                    yield beat
        finally:
            await self._teardown()

    def _beats_of_packet(self, item: _Packet) -> tuple[Beat, ...]:
        """The beats of one notification.

        A subclass with more characteristics dispatches on ``item.channel``. Raises
        :class:`MalformedPacketError` for a packet to skip.
        """
        measurement = decode_heart_rate_measurement(item.data)
        return self._beats_of(measurement, item.arrived_at, item.connection)

    # -- packets ---------------------------------------------------------------------------------

    def _beats_of(
        self, m: HeartRateMeasurement, arrived_at: float, connection: int
    ) -> tuple[Beat, ...]:
        if self._session_start is None:
            self._session_start = arrived_at - sum(m.rr_ms) / 1000.0
        state = self._status.state
        message: str | None = None
        if m.rr_ms:
            self._packets_without_rr = 0
            self._rr_received = True
            if state is SourceState.HR_ONLY:
                state, message = SourceState.STREAMING, f"RR intervals from {self._label()} again"
        elif m.sensor_contact is not False:
            # a strap that says it has no skin contact detects no beats: no RR is expected
            # then, which is lost contact, not a device in HR-only mode
            self._packets_without_rr += 1
            if self._packets_without_rr >= _HR_ONLY_AFTER_PACKETS and state is not (
                SourceState.HR_ONLY
            ):
                state = SourceState.HR_ONLY
                message = (
                    f"{self._label()} sends heart rate without RR intervals (HR-only mode): "
                    "heart rate is shown, HRV needs RR intervals"
                )
        hr = float(m.heart_rate_bpm)
        if state is not self._status.state or hr != self._status.heart_rate_bpm:
            self._publish(state, message, heart_rate_bpm=hr)
        beats = beats_from_packet(
            m,
            arrived_at=arrived_at,
            session_start=self._session_start,
            # beats of another connection than the previous beat's: the link was down between
            gap_before=self._last_connection is not None and connection != self._last_connection,
            not_before_s=self._last_t_s,
        )
        if beats:
            self._last_connection = connection
            self._last_t_s = beats[-1].t_s
        return beats

    def _after_reconnect(self) -> None:
        self._packets_without_rr = 0
