"""A Bluetooth Low Energy heart-rate strap (Heart Rate service 0x180D) as a source of beats.

:class:`BleStrapSource` turns the Heart Rate Measurement (0x2A37) notifications its connection
(:class:`~sensors.ble_connection.BleConnection`) queues into :class:`~sensors.beat.Beat`
objects: beats of one packet are back-dated from its arrival, a malformed packet is counted and
skipped, HR-only devices are noticed (the module docstring of :mod:`sensors.ble` says how the
live stream behaves).

Gaps (``gap_before``: beats are missing before this one) are marked where beats were lost:

- the first beat of another connection than the previous beat's (the link was down between);
- the first beat after a skipped (malformed) packet, which may have carried beats, here and in
  the PMD sources built on this class (:mod:`sensors.ble_pmd`);
- the beat after an RR value of 0 or one no heart produces (64 s from a corrupt packet), which
  the decoder leaves out while keeping the packet's valid RR values
  (:attr:`~sensors.heart_rate_measurement.HeartRateMeasurement.left_out_rr_at`); such a value
  never moves the beat times;
- any beat whose time, against the running sum of RR intervals, shows beats were lost: lost
  skin contact (the strap sends packets without RR), a notification lost on the link. This is
  :class:`~sensors.formats.gaps.LiveGapRule`, the causal half of the rule a replay of the
  recording applies (:func:`~sensors.formats.gaps.infer_gaps`): the live stream marks every
  gap the replay of its recording finds, so live and replayed HRV skip the same differences.

References
----------
Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1 (Heart Rate Measurement).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from sensors.beat import Beat, SourceState
from sensors.ble_connection import BleConnection, _Dropped, _Packet
from sensors.clock import Clock
from sensors.errors import BleError, MalformedPacketError
from sensors.formats.gaps import LiveGapRule
from sensors.heart_rate_measurement import (
    MAX_HEART_RR_MS,
    MIN_HEART_RR_MS,
    HeartRateMeasurement,
    beats_from_packet,
    dated_span_ms,
    decode_heart_rate_measurement,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["BleStrapSource"]

logger = logging.getLogger(__name__)

# Consecutive packets without RR before the stream is said to be HR-only (a strap sends an
# occasional packet without RR when no beat ended since the last one).
_HR_ONLY_AFTER_PACKETS = 3
# How long packets must say "no skin contact" (with RR or without) before the state is NO_CONTACT
# (a strap put on, or shifting for a moment, reports no contact for a packet or two).
_NO_CONTACT_AFTER_S = 3.0
# How long packets must say "contact" (without RR) before a stretch without contact is over: a
# loose strap touching for a packet now and then is still a strap without contact. A beat whose
# packet does not say "no contact" ends the stretch at once.
_CONTACT_BACK_AFTER_S = 2.0


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
    close_timeout_s
        How long closing the link may take: turning the streams and notifications off may take
        this long, and the ``Disconnect`` this plus bleak's own 10-s wait for the link to go;
        a step that takes longer is given up (``close_cut_short`` says so, as the ended
        status's message), so a BlueZ that never answers cannot hold the close forever.
        Default: the ``HRVPACE_BLE_CLOSE_TIMEOUT_S`` environment variable, else 5 s.

    Raises
    ------
    AdapterOffError
        On entering the context: Bluetooth is off, missing, or its service is not running.
    DeviceNotFoundError
        On entering the context: no device with that address or name was seen.
    AmbiguousDeviceError
        On entering the context: a name that more than one device in range advertises.
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
        close_timeout_s: float | None = None,
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
            close_timeout_s=close_timeout_s,
        )
        self._session_start: float | None = None
        self._last_t_s: float | None = None
        #: The connection the last yielded beat came on.
        self._last_connection: int | None = None
        self._packets_without_rr = 0
        self._rr_received = False
        #: A packet's RR values were all left out (0, or no heart's) at least once.
        self._rr_left_out = False
        #: Beats were lost since the last yielded one (a skipped packet, a trailing zero RR).
        self._gap_pending = False
        self._gap_rule = LiveGapRule()
        #: Arrival of the first packet saying no contact (with RR or without) of the current
        #: stretch without contact, if any (packets with contact but no RR for less than
        #: _CONTACT_BACK_AFTER_S do not end the stretch; a beat with contact does).
        self._no_contact_since: float | None = None
        #: Arrival of the first packet of the current run of packets with contact but no RR.
        self._contact_since: float | None = None

    @property
    def rr_received(self) -> bool:
        """True once any packet of this source carried an RR interval (the device sends RR)."""
        return self._rr_received

    @property
    def rr_unusable(self) -> bool:
        """True when every RR value the device sent so far was left out (0, or no heart's).

        Such a device is not heart-rate only: its RR values are unusable (a faulty device or
        firmware).
        """
        return self._rr_left_out and not self._rr_received

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
                    # it may have carried beats: the next beat follows a gap (when one came
                    # before it)
                    self._gap_pending = self._gap_pending or self._last_t_s is not None
                    self._publish(
                        malformed_packets=self._status.malformed_packets + 1,
                        message=f"skipped a malformed packet: {exc.reason}",
                    )
                    continue
                for beat in beats:
                    # every beat goes through the rule (it keeps the running offsets)
                    if self._gap_rule.follows_gap(beat.t_s, beat.rr_ms) and not beat.gap_before:
                        beat = replace(beat, gap_before=True)
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
            self._session_start = arrived_at - dated_span_ms(m) / 1000.0
        state = self._status.state
        message: str | None = None
        contact_t_s = self._status.contact_t_s
        # RR values all left out (0, or no heart's) are no RR: a device sending only those
        # is heart-rate only for the HR-only state and the bpm-only rule (it recorded forever
        # writing nothing); its left-out values are said and counted below. Such a packet
        # counts toward HR-only only before any usable RR has come: once a device has sent
        # RR, one whose values are all left out (a corrupt value, a run of them) is a gap
        # (marked as one) and no evidence of HR-only mode, so it resets the count as a packet
        # with RR does (a few of them in a row among good ones flipped to HR-only and back)
        carries_rr = bool(m.rr_ms)
        if carries_rr or (m.left_out_rr_at and self._rr_received):
            self._packets_without_rr = 0
        if carries_rr:
            self._rr_received = True
        elif m.left_out_rr_at:
            self._rr_left_out = True
        if carries_rr and m.sensor_contact is not False:
            # a beat with contact (or a device that does not report it): the strap has
            # contact, whatever the packets before it said
            self._no_contact_since = self._contact_since = None
            if state is SourceState.HR_ONLY:
                state, message = SourceState.STREAMING, f"RR intervals from {self._label()} again"
            elif state is SourceState.NO_CONTACT:
                state, message = SourceState.STREAMING, f"skin contact back ({self._label()})"
                contact_t_s = arrived_at - self._session_start
        elif m.sensor_contact is False:
            # a strap that says it has no skin contact detects no beats: no RR is expected
            # then, which is lost contact (after a few seconds of it: NO_CONTACT), not a device
            # in HR-only mode; from HR-only too (a strap that slipped sends contact without RR
            # for a moment before it reports no contact). A beat whose packet says no contact
            # counts the same (it is yielded, with contact False): a loose strap sending one
            # now and then is still without contact, and a stream of them is lost contact.
            self._packets_without_rr = 0
            self._contact_since = None
            if self._no_contact_since is None:
                self._no_contact_since = arrived_at
            lasted_s = arrived_at - self._no_contact_since
            if (
                state in (SourceState.STREAMING, SourceState.HR_ONLY)
                and lasted_s >= _NO_CONTACT_AFTER_S
            ):
                state = SourceState.NO_CONTACT
                message = (
                    f"no skin contact: check the strap ({self._label()} has reported no skin "
                    f"contact for {lasted_s:.0f} s; moisten the electrodes and tighten the strap)"
                )
                contact_t_s = self._no_contact_since - self._session_start
            elif carries_rr and state is SourceState.HR_ONLY:
                state, message = SourceState.STREAMING, f"RR intervals from {self._label()} again"
        else:
            # contact (or a device that does not detect it), no RR
            if self._contact_since is None:
                self._contact_since = arrived_at
            back = arrived_at - self._contact_since >= _CONTACT_BACK_AFTER_S
            if back:
                self._no_contact_since = None  # contact for long enough: the stretch is over
            if state is SourceState.NO_CONTACT:
                # a loose strap touching for a moment is still without contact
                if back:
                    state, message = SourceState.STREAMING, f"skin contact back ({self._label()})"
                    contact_t_s = self._contact_since - self._session_start
            elif not (m.left_out_rr_at and self._rr_received):
                self._packets_without_rr += 1
                if self._packets_without_rr >= _HR_ONLY_AFTER_PACKETS and state is not (
                    SourceState.HR_ONLY
                ):
                    state = SourceState.HR_ONLY
                    message = (
                        f"{self._label()} sends heart rate without RR intervals (HR-only mode): "
                        "its heart rate is all it sends, HRV needs RR intervals"
                        if not m.left_out_rr_at
                        else f"{self._label()} sends heart rate without usable RR intervals "
                        "(every RR value left out as one no heart has): HRV needs RR intervals"
                    )
        hr = float(m.heart_rate_bpm)
        if state is not self._status.state or hr != self._status.heart_rate_bpm:
            self._publish(state, message, heart_rate_bpm=hr, contact_t_s=contact_t_s)
        if m.left_out_rr_at:
            what = []
            if m.zero_rr_at:
                what.append(f"{len(m.zero_rr_at)} of 0")
            if m.implausible_rr_at:
                what.append(
                    f"{len(m.implausible_rr_at)} outside {MIN_HEART_RR_MS:.0f}.."
                    f"{MAX_HEART_RR_MS:.0f} ms (no heart beats so)"
                )
            self._publish(
                malformed_packets=self._status.malformed_packets + 1,
                message=(
                    f"left out RR interval(s) {' and '.join(what)} from {self._label()}: "
                    "the beat is lost, marked as a gap"
                ),
            )
        beats = beats_from_packet(
            m,
            arrived_at=arrived_at,
            session_start=self._session_start,
            # beats of another connection than the previous beat's: the link was down between;
            # or beats lost since the last one (a skipped packet, a trailing RR of 0)
            gap_before=self._gap_pending
            or (self._last_connection is not None and connection != self._last_connection),
            not_before_s=self._last_t_s,
        )
        if beats:
            self._last_connection = connection
            self._last_t_s = beats[-1].t_s
            self._gap_pending = False
        if m.ends_with_zero_rr and (beats or self._last_t_s is not None):
            self._gap_pending = True
        return beats

    def _after_reconnect(self) -> None:
        self._packets_without_rr = 0
        self._no_contact_since = self._contact_since = None
