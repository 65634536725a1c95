"""Polar Measurement Data (PMD) live sources: PPI of optical sensors, ECG of chest straps.

:class:`BlePpiSource` and :class:`BleEcgSource` (below) share the PMD handling: start the stream
on every connection, stop it on close, and, with ``motion=True``, also start the accelerometer
(50 Hz) and keep a motion level per window (:meth:`motion_level_mg`, :mod:`sensors.motion`).

:class:`BlePpiSource` is a :class:`~sensors.ble.BleStrapSource` (same discovery, reconnects,
gaps, battery and status) that also starts the Polar Measurement Data (PMD) PPI stream on every
connection and takes its beats from it (:mod:`sensors.pmd`), not from the Heart Rate
Measurement characteristic, whose heart rate it still shows. OH1, Verity Sense and Polar
watches in SDK mode send PPI; their standard heart-rate service often sends no RR at all.

Beat quality, as Polar's documentation asks: a pulse flagged by the blocker bit (movement) or
without skin contact (when the sensor detects contact) is not a beat; it is left out and the
next beat is marked ``gap_before`` so no successive difference spans it. So is a pulse whose
error estimate exceeds ``max_error_ms`` when that is set, and one whose interval no heart beats
(outside 200..3000 ms, :func:`sensors.heart_rate_measurement.is_heart_rr_ms`, the bound of a
strap's RR values), which also takes no part in the back-dating below. Every beat carries the
sensor's error estimate in ``Beat.error_ms``. When several pulses in a row are blocked the status
message asks the wearer to hold still.

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
import math
import time
from collections.abc import Collection
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from sensors.beat import Beat, SourceState
from sensors.ble_connection import _Packet
from sensors.ble_strap import BleStrapSource
from sensors.errors import BleError, MalformedPacketError
from sensors.heart_rate_measurement import (
    MAX_HEART_RR_MS,
    MIN_HEART_RR_MS,
    HeartRateMeasurement,
    beats_from_packet,
    dated_span_ms,
    dating_rr_ms,
    decode_heart_rate_measurement,
    is_heart_rr_ms,
)
from sensors.motion import MotionTracker
from sensors.pmd import (
    MEASUREMENT_TYPES,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    ControlPointResponse,
    PmdFrame,
    SettingType,
    decode_control_point_response,
    decode_features,
    decode_frame,
    encode_start_request,
    encode_stop_request,
)

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice

__all__ = ["BleEcgSource", "BlePpiSource"]

logger = logging.getLogger(__name__)

_ALREADY_STARTED = 6
#: Accelerometer stream for the motion level: 50 Hz, 16 bit, +-8 g (an H10/Verity Sense offer).
_ACC_SETTINGS = {
    SettingType.SAMPLE_RATE: 50,
    SettingType.RESOLUTION: 16,
    SettingType.RANGE: 8,
}


def _not_offered(label: str, missing: list[str], offered: Collection[str]) -> BleError:
    """The one error for PMD streams a device does not offer (live sources and recording)."""
    offers = ", ".join(sorted(offered, key=MEASUREMENT_TYPES.__getitem__)) or "nothing"
    return BleError(f"{label} does not offer {', '.join(missing)} (it offers: {offers})")


#: Blocked pulses in a row before the status asks the wearer to hold still.
_HOLD_STILL_AFTER = 3


class _PmdStreamSource(BleStrapSource):
    """A strap source that also starts one PMD stream (``_KIND``) on every connection."""

    _KIND = "ppi"
    _NEEDS = "a Polar device"
    _BEATS_FROM_HEART_RATE = False  # from the stream (its frames stamp beat_data_monotonic)

    def __init__(
        self,
        address_or_name: str,
        *,
        response_timeout_s: float = 5.0,
        motion: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(address_or_name, **kwargs)  # type: ignore[arg-type]
        if not response_timeout_s > 0:
            raise ValueError(f"response_timeout_s must be > 0, got {response_timeout_s!r}")
        self._response_timeout_s = response_timeout_s
        self._responses: asyncio.Queue[ControlPointResponse] = asyncio.Queue()
        self._cp_char: BleakGATTCharacteristic | None = None
        self._data_char: BleakGATTCharacteristic | None = None
        self._gap_pending = False
        self._motion_wanted = motion
        self._acc_running = False
        self._acc_offset_s: float | None = None
        self._motion = MotionTracker()
        #: Why there is no motion level (None while the accelerometer streams).
        self.motion_unavailable: str | None = None if motion else "motion was not requested"

    def _start_request(self) -> bytes:
        return encode_start_request(self._KIND)

    async def _start(
        self, client: BleakClient, cp: BleakGATTCharacteristic, kind: str, request: bytes
    ) -> ControlPointResponse | None:
        """Write a start request and wait for its answer; ``None`` when none came in time."""
        await client.write_gatt_char(cp, request, response=True)
        try:
            async with asyncio.timeout(self._response_timeout_s):
                while True:
                    response = await self._responses.get()
                    if response.op_code == 2 and response.kind == kind:
                        return response
        except TimeoutError:
            return None

    async def _after_subscribe(self, client: BleakClient, device: BLEDevice) -> None:
        label = device.name or device.address
        what = self._KIND.upper()
        cp = client.services.get_characteristic(PMD_CONTROL_POINT_UUID)
        data = client.services.get_characteristic(PMD_DATA_UUID)
        if cp is None or data is None:
            raise BleError(
                f"{label} has no Polar Measurement Data service: {what} needs {self._NEEDS}"
            )
        await self._refuse_unless_offered(client, cp, label)
        self._responses = asyncio.Queue()
        await client.start_notify(cp, self._on_control_point)
        await client.start_notify(data, functools.partial(self._on_pmd, self._connection))
        self._cp_char, self._data_char = cp, data
        response = await self._start(client, cp, self._KIND, self._start_request())
        if response is None:
            raise BleError(
                f"{label} did not answer the request to start {what} in "
                f"{self._response_timeout_s:g} s"
            )
        if not response.ok and response.status != _ALREADY_STARTED:
            raise BleError(f"{label} refused to start {what}: {response.status_text}")
        # a reconnect loses the data in between: the first beat after it starts a new run
        self._gap_pending = self._last_t_s is not None
        self._stream_started(response)
        if self._motion_wanted:
            acc = await self._start(client, cp, "acc", encode_start_request("acc", _ACC_SETTINGS))
            self._acc_running = acc is not None and (acc.ok or acc.status == _ALREADY_STARTED)
            self._acc_offset_s = None
            self.motion_unavailable = (
                None
                if self._acc_running
                else f"{label} did not start its accelerometer"
                + (f" ({acc.status_text})" if acc is not None else "")
                + ": standing up or walking cannot be told from stress by HR and RMSSD alone"
            )

    async def _refuse_unless_offered(
        self, client: BleakClient, cp: BleakGATTCharacteristic, label: str
    ) -> None:
        """Raise the recorder's "does not offer" error when the features lack the stream.

        The features are the control point's value (what ``hrvpace scan --probe`` reads); when
        they cannot be read the start request's answer decides, as before.
        """
        from bleak.exc import BleakError

        try:
            offered = decode_features(bytes(await client.read_gatt_char(cp)))
        except (BleakError, MalformedPacketError, EOFError, OSError) as exc:
            logger.debug("reading the PMD features of %s failed: %s", label, exc)
            return
        if self._KIND not in offered:
            raise _not_offered(label, [self._KIND], offered)

    @property
    def motion_requested(self) -> bool:
        """Whether the accelerometer is started with the stream (``motion=True``)."""
        return self._motion_wanted

    def motion_level_mg(self, t_end_s: float) -> float | None:
        """Movement level (largest 5-s mean ENMO, milli-g) of the 60 s ending at ``t_end_s``.

        On the session timeline, from the accelerometer; ``None`` when unknown (see
        :attr:`motion_unavailable`, or too little signal yet).
        """
        return self._motion.level_mg(t_end_s) if self._acc_running else None

    def _pmd_frame(self, item: _Packet) -> PmdFrame | None:
        """Decode a PMD notification; the frame of this source's own kind is returned.

        Accelerometer frames feed the motion level.
        """
        frame = decode_frame(item.data)
        if frame.kind == "acc":
            self._on_acc(frame, item.arrived_at)
            return None
        return frame if frame.kind == self._KIND else None

    def _on_acc(self, frame: PmdFrame, arrived_at: float) -> None:
        rows = np.asarray(frame.samples, dtype=np.float64).reshape(-1, 3)
        if rows.size == 0:
            return
        if self._session_start is None:
            self._session_start = arrived_at
        fs = float(_ACC_SETTINGS[SettingType.SAMPLE_RATE])
        if frame.timestamp_ns and self._acc_offset_s is None:
            self._acc_offset_s = (arrived_at - self._session_start) - frame.timestamp_ns / 1e9
        t_end = (
            frame.timestamp_ns / 1e9 + self._acc_offset_s
            if frame.timestamp_ns and self._acc_offset_s is not None
            else arrived_at - self._session_start
        )
        times = t_end - (rows.shape[0] - 1 - np.arange(rows.shape[0])) / fs
        self._motion.push(times, rows)

    def _stream_started(self, response: ControlPointResponse) -> None:
        """Called once the device accepted the start request (its answer given)."""

    async def _before_disconnect(self, client: BleakClient) -> None:
        from bleak.exc import BleakError

        cp, data = self._cp_char, self._data_char
        self._cp_char = self._data_char = None
        try:
            if cp is not None:
                await client.write_gatt_char(cp, encode_stop_request(self._KIND), response=True)
                if self._acc_running:
                    await client.write_gatt_char(cp, encode_stop_request("acc"), response=True)
            for char in (data, cp):
                if char is not None:
                    await client.stop_notify(char)
        except (BleakError, EOFError, OSError) as exc:
            logger.debug("stopping %s failed: %s", self._KIND, exc)

    def _on_control_point(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            response = decode_control_point_response(bytes(data))
        except MalformedPacketError as exc:
            logger.debug("malformed PMD control-point response: %s", exc.reason)
            return
        self._responses.put_nowait(response)

    def _on_pmd(self, connection: int, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.last_data_at = now = self._clock.now()
        self.last_data_monotonic = time.monotonic()
        beats_here = not self._BEATS_FROM_HEART_RATE and data
        if beats_here and data[0] & 0x3F == MEASUREMENT_TYPES.get(self._KIND):  # the beats'
            self.beat_data_monotonic = self.last_data_monotonic
        self._queue.put_nowait(_Packet(bytes(data), now, connection, "pmd"))


class BlePpiSource(_PmdStreamSource):
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
        How many pulses were left out (blocker, no contact, error over ``max_error_ms``, an
        interval outside 200..3000 ms).
    """

    _KIND = "ppi"
    _NEEDS = "a Polar optical sensor (OH1, Verity Sense) or a Polar watch"
    beat_stream = "PPI"

    def __init__(
        self,
        address_or_name: str,
        *,
        max_error_ms: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(address_or_name, **kwargs)  # type: ignore[arg-type]
        if max_error_ms is not None and not max_error_ms > 0:
            raise ValueError(f"max_error_ms must be > 0, got {max_error_ms!r}")
        self._max_error_ms = max_error_ms
        self._blocked_in_row = 0
        self.rejected_pulses = 0

    # -- packets ---------------------------------------------------------------------------------

    def _beats_of_packet(self, item: _Packet) -> tuple[Beat, ...]:
        if item.channel == "hr":
            # the heart rate is shown; beats come from PPI only (never counted twice)
            m = decode_heart_rate_measurement(item.data)
            hr = float(m.heart_rate_bpm)
            if hr != self._status.heart_rate_bpm:
                self._publish(heart_rate_bpm=hr)
            return ()
        frame = self._pmd_frame(item)
        pulses = frame.ppi if frame is not None else ()
        if not pulses:
            return ()
        ppi_ms = tuple(float(p.ppi_ms) for p in pulses)
        # an interval no heart beats (outside the RR bound, 0 too) is left out as the strap's RR
        # values are, one rule: its pulse is lost (a gap), and it never dates a beat (its place
        # counts as the frame's median kept interval, beats_from_packet), so a corrupt 60-s value
        # cannot move the beat timeline
        implausible = tuple(i for i, v in enumerate(ppi_ms) if not is_heart_rr_ms(v))
        kept = [
            (p, v)
            for i, (p, v) in enumerate(zip(pulses, ppi_ms, strict=True))
            if i not in implausible
        ]
        measurement = HeartRateMeasurement(
            int(pulses[-1].hr_bpm), rr_ms=tuple(v for _, v in kept), implausible_rr_at=implausible
        )
        if self._session_start is None:
            self._session_start = item.arrived_at - dated_span_ms(measurement) / 1000.0
        hr = float(pulses[-1].hr_bpm)
        timed = beats_from_packet(
            measurement,
            arrived_at=item.arrived_at,
            session_start=self._session_start,
            not_before_s=self._last_t_s,
        )
        gap = self._gap_pending or (
            self._last_connection is not None and item.connection != self._last_connection
        )
        # a flagged pulse (blocker: movement; no skin contact) is judged as flagged whatever its
        # interval: Polar's rule leaves it out, and blocked ones in a row ask to hold still;
        # only an unflagged pulse with an interval no heart beats is malformed data
        malformed = 0
        out: list[Beat] = []
        dated = iter(timed)
        for i, pulse in enumerate(pulses):
            error_ms = float(pulse.error_ms)
            too_uncertain = self._max_error_ms is not None and error_ms > self._max_error_ms
            beat = None if i in implausible else next(dated)
            if beat is None or not pulse.valid or too_uncertain:
                self.rejected_pulses += 1
                gap = True
                if pulse.blocker:
                    self._blocked_in_row += 1
                elif beat is None and pulse.valid:
                    malformed += 1
                continue
            self._blocked_in_row = 0
            out.append(
                replace(
                    beat,
                    contact=pulse.skin_contact,
                    heart_rate_bpm=float(pulse.hr_bpm),
                    error_ms=error_ms,
                    gap_before=gap or beat.gap_before,
                )
            )
            gap = False
        left_out_message = None
        if malformed:
            left_out_message = (
                f"left out {malformed} pulse interval(s) outside "
                f"{MIN_HEART_RR_MS:.0f}..{MAX_HEART_RR_MS:.0f} ms (no heart beats so) from "
                f"{self._label()}: the beat is lost, marked as a gap"
            )
            self._publish(
                malformed_packets=self._status.malformed_packets + 1, message=left_out_message
            )
        # a last interval left out (or all of them): the next frame's first beat follows a gap
        self._gap_pending = gap or measurement.ends_with_zero_rr
        if timed:
            self._last_t_s = timed[-1].t_s
        if out:
            self._last_connection = item.connection
        state, message = self._status.state, None
        said = self._status.message
        if self._blocked_in_row >= _HOLD_STILL_AFTER:
            message = "movement makes the pulse intervals unreliable: hold still"
        elif (
            state is SourceState.STREAMING
            and out
            and left_out_message is None
            and (said.endswith("hold still") or said.startswith("left out "))
        ):
            # good pulses again: the hold-still or left-out message no longer holds
            message = f"pulse intervals from {self._label()} again"
        if message is not None or hr != self._status.heart_rate_bpm:
            self._publish(state, message, heart_rate_bpm=hr)
        return tuple(out)


#: The status message of an ECG stream found upside down (the session and the command line show
#: it).
ECG_INVERTED_MESSAGE = (
    "ECG signal inverted (strap upside down or leads reversed?): R peaks detected on the "
    "inverted signal"
)


_DISAGREE = "ECG beats disagree with the strap's own RR"


class BleEcgSource(_PmdStreamSource):
    """Beats from a chest strap's raw ECG (Polar H10, PMD ECG at 130 Hz), cross-checked.

    The ECG frames feed a :class:`~sensors.ecg_live.LiveRPeakDetector`; each confirmed R peak
    is a beat (its RR the time since the previous confirmed peak), timed by the strap's own
    sample clock (frame timestamps, ns) mapped onto the session timeline at the first frame.
    The strap's standard Heart Rate Measurement still arrives: its heart rate and contact go
    on the beats, and its RR intervals cross-check the ECG beats (:attr:`cross_check`): each
    ECG RR is paired with the strap's RR of the same beat by aligning the last 5 RR of both
    (the lag where they agree best; the strap's RR arrive about a second late, so time alone
    cannot pair them); when fewer than 90 % of the last 30 agree within 20 ms the status says
    so (electrodes, a noisy ECG), and says so again once 90 % agree. A strap RR value the
    strap left out (0 or no heart's interval) keeps its place in the alignment, dated as
    :func:`~sensors.heart_rate_measurement.beats_from_packet` dates it, and the ECG beat it
    pairs with is not judged (the strap's value is unknown, not different).

    An ECG upside down (strap worn the other way round, leads reversed) is detected by the
    detector on a clear verdict over at least 20 s of signal
    (:attr:`sensors.ecg_live.LiveRPeakDetector.inverted`) and the status says so
    (:data:`ECG_INVERTED_MESSAGE`); the beats are then timed on the inverted signal. The beats
    before the decision were timed on the wrong wave: a new run starts at the turn (no RR spans
    it, ``gap_before`` on the next beat) and the cross-check starts afresh.

    A peak more than ``max_rr_s`` after the previous one (lost frames, a detector restart)
    starts a new run: no RR across it, ``gap_before`` on the next beat.

    Parameters
    ----------
    sampling_rate_hz
        The ECG rate to request (H10: 130).
    max_rr_s
        Longest RR taken as one interval.
    **kwargs
        The options of :class:`~sensors.ble.BleStrapSource` and ``response_timeout_s``.

    References
    ----------
    Polar Electro. Polar BLE SDK, "Polar Measurement Data" (ECG 130 Hz, microvolts, frame
    timestamps in ns); Makowski D. et al. (2021) NeuroKit2.
    """

    _KIND = "ecg"
    _NEEDS = "a Polar chest strap with ECG (H10)"
    beat_stream = "ECG"
    _AGREE_MS = 20.0
    _WINDOW = 30
    _ALIGN = 5
    #: Strap beats this close in time (s) may be an ECG beat's partner: notification latency,
    #: up to a second and a few seconds when notifications bunch up.
    _PAIR_WITHIN_S = 6.0

    def __init__(
        self,
        address_or_name: str,
        *,
        sampling_rate_hz: float = 130.0,
        max_rr_s: float = 3.0,
        **kwargs: object,
    ) -> None:
        super().__init__(address_or_name, **kwargs)  # type: ignore[arg-type]
        from sensors.ecg_live import LiveRPeakDetector

        self._fs = float(sampling_rate_hz)
        self._max_rr_s = max_rr_s
        self._detector = LiveRPeakDetector(self._fs)
        self._device_offset_s: float | None = None
        self._detector_t_end: float | None = None
        self._last_peak: float | None = None
        # (t_s, rr_ms) of the strap's own RR, nan for a value it left out
        self._strap_rr: list[tuple[float, float]] = []
        self._ecg_rr: list[float] = []
        self._decisions: list[float] = []  # |ECG RR - strap RR| of the last beats compared
        self._contact: bool | None = None
        #: Over the last 30 ECG beats compared with the strap's RR of the same beat: (beats
        #: compared, of which within 20 ms, median |difference| ms).
        self.cross_check: tuple[int, int, float | None] = (0, 0, None)

    def _start_request(self) -> bytes:
        return encode_start_request(
            "ecg", {SettingType.SAMPLE_RATE: round(self._fs), SettingType.RESOLUTION: 14}
        )

    def _stream_started(self, response: ControlPointResponse) -> None:
        self._detector.reset()
        self._device_offset_s = None
        self._ecg_rr = []

    def _beats_of_packet(self, item: _Packet) -> tuple[Beat, ...]:
        if item.channel == "hr":
            m = decode_heart_rate_measurement(item.data)
            hr = float(m.heart_rate_bpm)
            self._contact = m.sensor_contact
            if self._session_start is None:
                self._session_start = item.arrived_at - dated_span_ms(m) / 1000.0
            self._strap_rr = sorted([*self._strap_rr, *self._strap_places(m, item)])[-64:]
            if hr != self._status.heart_rate_bpm:
                self._publish(heart_rate_bpm=hr)
            return ()
        frame = self._pmd_frame(item)
        if frame is None or not frame.samples:
            return ()
        samples = np.asarray(frame.samples, dtype=np.float64)
        if self._session_start is None:
            self._session_start = item.arrived_at - samples.size / self._fs
        if self._device_offset_s is None or frame.timestamp_ns == 0:
            if frame.timestamp_ns == 0 and self._detector_t_end is not None:
                t_end = self._detector_t_end + samples.size / self._fs
            else:
                t_end = item.arrived_at - self._session_start
            if frame.timestamp_ns:
                self._device_offset_s = t_end - frame.timestamp_ns / 1e9
        else:
            t_end = frame.timestamp_ns / 1e9 + self._device_offset_s
        self._detector_t_end = t_end
        decided = self._detector.inverted
        peaks = self._detector.push(samples, t_end_s=t_end)
        if self._detector.inverted and not decided:
            # The beats so far were timed on the wrong wave: a new run starts (no RR spans the
            # turn, ``gap_before`` on the next beat) and the cross-check forgets their RR and
            # its decisions on them (else they say "disagree" for the next 30 beats).
            self._last_peak = None
            self._ecg_rr = []
            self._decisions = []
            self.cross_check = (0, 0, None)
            self._publish(message=ECG_INVERTED_MESSAGE)
        return tuple(self._beats_from_peaks(peaks, item))

    def _strap_places(self, m: HeartRateMeasurement, item: _Packet) -> list[tuple[float, float]]:
        """``(t_s, rr_ms)`` of every RR place of a strap packet, ``nan`` for a left-out value.

        Dated as :func:`~sensors.heart_rate_measurement.beats_from_packet` dates the kept ones
        (one rule, :func:`~sensors.heart_rate_measurement.stand_in_rr_ms`): a left-out value's
        place counts as the packet's median kept interval. Its placeholder keeps the strap's
        beats in step with the ECG's for the alignment, and the ECG beat it pairs with gets no
        decision (the strap's value is unknown, not different).
        """
        # all left out: the heart rate's interval dates them
        none_kept_ms = 60000.0 / m.heart_rate_bpm if m.heart_rate_bpm > 0 else 1000.0
        places_ms = dating_rr_ms(m, none_kept_ms=none_kept_ms)
        if not places_ms:
            return []
        assert self._session_start is not None
        left_out = set(m.left_out_rr_at)
        values = [math.nan if i in left_out else v for i, v in enumerate(places_ms)]
        dating = HeartRateMeasurement(m.heart_rate_bpm, rr_ms=places_ms)
        timed = beats_from_packet(
            dating, arrived_at=item.arrived_at, session_start=self._session_start
        )
        return [(b.t_s, v) for b, v in zip(timed, values, strict=True)]

    def _beats_from_peaks(self, peaks: list[float], item: _Packet) -> list[Beat]:
        out: list[Beat] = []
        for p in peaks:
            prev, self._last_peak = self._last_peak, p
            if prev is None or p - prev > self._max_rr_s:
                # a new run: no RR to this peak; a gap unless nothing came before it
                self._gap_pending = prev is not None or self._last_t_s is not None
                continue
            rr = (p - prev) * 1000.0
            gap = self._gap_pending or (
                self._last_connection is not None and item.connection != self._last_connection
            )
            self._gap_pending = False
            self._cross_check(p, rr)
            out.append(
                Beat(
                    t_s=p,
                    rr_ms=rr,
                    arrived_at=item.arrived_at,
                    contact=self._contact,
                    gap_before=gap,
                    heart_rate_bpm=self._status.heart_rate_bpm,
                )
            )
            self._last_connection = item.connection
            self._last_t_s = p
        return out

    def _cross_check(self, t_s: float, rr_ms: float) -> None:
        # The strap's RR are timed by their packet's arrival (about a second of latency), the
        # ECG beats by the strap's sample clock, so time alone cannot pair them: the last few
        # RR of both are aligned instead (one heart: at the right lag they coincide beat for
        # beat), trying every strap beat within 6 s as this beat's partner; a short alignment
        # keeps one missed or extra beat from spoiling the decisions of the beats after it.
        self._ecg_rr = [*self._ecg_rr[-(self._ALIGN - 1) :], rr_ms]
        ecg = np.asarray(self._ecg_rr)
        strap_t = np.array([t for t, _ in self._strap_rr])
        strap = np.array([r for _, r in self._strap_rr])
        # a strap value left out is a placeholder (nan): it counts in no alignment score, and an
        # ECG beat whose best partner it is gets no decision (else each one strap value left
        # out cost 1-2 false "disagree" decisions, blaming the electrodes for the strap's RR)
        best: tuple[float, float] | None = None
        for j in np.flatnonzero(np.abs(strap_t - t_s) <= self._PAIR_WITHIN_S):
            n = min(ecg.size, int(j) + 1)
            d = np.abs(ecg[-n:] - strap[int(j) - n + 1 : int(j) + 1])
            if np.isnan(d).all():
                continue
            score = float(np.nanmedian(d))
            if best is None or score < best[0]:
                best = (score, abs(float(strap[int(j)]) - rr_ms))
        if best is None or math.isnan(best[1]):
            return
        diff = best[1]
        self._decisions = [*self._decisions[-(self._WINDOW - 1) :], diff]
        d = np.asarray(self._decisions)
        n, agreed = d.size, int((d <= self._AGREE_MS).sum())
        self.cross_check = (n, agreed, float(np.median(d)))
        if n >= self._WINDOW and agreed / n < 0.9:
            text = (
                f"{_DISAGREE} ({agreed / n:.0%} of the last "
                f"{n} within {self._AGREE_MS:g} ms): check the electrodes"
            )
            if self._status.message != text:
                self._publish(message=text)
        elif n >= self._WINDOW and self._status.message.startswith(_DISAGREE):
            # agreement is back: the disagreement no longer holds
            self._publish(
                message=ECG_INVERTED_MESSAGE
                if self._detector.inverted
                else f"ECG beats agree with the strap's own RR again ({self._label()})"
            )
