"""The Bluetooth Heart Rate Measurement characteristic (0x2A37): a pure codec and beat timing.

Layout of a payload (Bluetooth SIG, Heart Rate Service 1.0 and GATT Specification Supplement,
"Heart Rate Measurement"), all multi-byte fields little endian::

    offset 0   flags  (uint8)
                 bit 0    heart-rate value format: 0 = uint8, 1 = uint16
                 bit 1    sensor contact detected (meaningful only when bit 2 is set)
                 bit 2    sensor contact feature supported
                 bit 3    energy expended field present (uint16, kilojoules)
                 bit 4    RR-interval field present (0..n uint16 values in 1/1024 s)
                 bits 5-7 reserved for future use (ignored)
    offset 1   heart rate (uint8 or uint16, beats/min)
    then       energy expended (uint16 kJ), if bit 3
    then       RR intervals (uint16 each, 1/1024 s), if bit 4, filling the rest of the payload

RR intervals are converted with ``rr_ms = raw * 1000 / 1024``, not rounded. A packet may carry
several RR intervals (a packet is sent about once a second, the heart beats faster than that)
or none (no beat ended since the last packet); RR values can be seconds old when they arrive.

:func:`beats_from_packet` turns one decoded packet into :class:`~sensors.beat.Beat` objects: the
last RR interval of a packet ends at the packet's arrival, earlier ones are back-dated from there
by the running sum of the later intervals, so the beats of one packet never share one timestamp.

References
----------
Bluetooth SIG. Heart Rate Service, Specification 1.0 (2011), section 3.1.
Bluetooth SIG. GATT Specification Supplement, section "Heart Rate Measurement" (0x2A37).
"""

from __future__ import annotations

import math
import statistics
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from sensors.beat import Beat
from sensors.errors import MalformedPacketError

__all__ = [
    "HEART_RATE_MEASUREMENT_UUID",
    "HEART_RATE_SERVICE_UUID",
    "MAX_HEART_RR_MS",
    "MIN_HEART_RR_MS",
    "HeartRateMeasurement",
    "beats_from_packet",
    "dated_span_ms",
    "dating_rr_ms",
    "decode_heart_rate_measurement",
    "encode_heart_rate_measurement",
    "is_heart_rr_ms",
    "rr_ms_from_raw",
    "rr_raw_from_ms",
    "stand_in_rr_ms",
]

#: 128-bit form of the Heart Rate service (0x180D).
HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
#: 128-bit form of the Heart Rate Measurement characteristic (0x2A37).
HEART_RATE_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"

_FLAG_HR_UINT16 = 0x01
_FLAG_CONTACT_DETECTED = 0x02
_FLAG_CONTACT_SUPPORTED = 0x04
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10

_UINT16_MAX = 0xFFFF

#: Shortest RR interval (ms) a live strap's value may have: 200 ms is 300 beats/min, faster than
#: any heart beats (a maximal heart rate is about 220/min, 270 ms). A shorter value is left out
#: as a corrupt one, like 0.
MIN_HEART_RR_MS = 200.0
#: Longest RR interval (ms) a live strap's value may have: 3 s (20 beats/min), the length from
#: which a pause is a clinical finding, not a heartbeat rhythm. A longer value (up to 64 s fits
#: the field) is left out as corrupt: back-dating the packet's beats by it would move the whole
#: beat timeline. The range holds ``hrv.clean``'s default gate (300..2000 ms) with room, so that
#: gate still sees, and corrects, a missed beat's double interval; recording files keep any
#: value up to 64 s (``sensors.formats``), a file is not back-dated from arrival times, except
#: a PPI file (``polar_sensor_logger_ppi``), read with the live PPI source's rule.
MAX_HEART_RR_MS = 3000.0


def is_heart_rr_ms(interval_ms: float) -> bool:
    """Whether an interval (ms) is one a heart beats: in ``MIN_HEART_RR_MS..MAX_HEART_RR_MS``.

    The one bound for live intervals: a strap's RR values (the decoder, in the field's unit)
    and an optical sensor's pulse-to-pulse intervals (:class:`sensors.ble_pmd.BlePpiSource`).
    """
    return MIN_HEART_RR_MS <= interval_ms <= MAX_HEART_RR_MS


# what the encoder writes for an implausible value (a faulty strap's packet, for tests)
_IMPLAUSIBLE_RAW = _UINT16_MAX


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification.

    Attributes
    ----------
    heart_rate_bpm
        The heart rate the device computed, in beats per minute (0..65535).
    rr_ms
        RR intervals in milliseconds, oldest first, exactly ``raw * 1000 / 1024`` (not rounded).
        Empty when the packet carries none (no beat since the last packet, or an HR-only device).
    energy_expended_kj
        Accumulated energy expended in kilojoules, or ``None`` when the field is absent.
    sensor_contact
        ``True``/``False`` when the device supports contact detection (flag bit 2) and reports
        contact (bit 1) or not; ``None`` when it does not support contact detection.
    zero_rr_at
        Where the packet carried an RR value of 0, which no interval can be: positions
        (0-based, ascending) in the packet's RR field as sent, i.e. among ``rr_ms`` and these
        together. Such a value is left out of ``rr_ms``; the beat that ended it is lost, so the
        next beat follows a gap (:func:`beats_from_packet` marks it, and a packet that ends with
        one leaves the mark to the next packet's first beat). Empty for a well-formed packet.
    implausible_rr_at
        Likewise for RR values no heart produces: outside :data:`MIN_HEART_RR_MS` ..
        :data:`MAX_HEART_RR_MS` (e.g. 65535/1024 s, 64 s, from a corrupt packet). Left out of
        ``rr_ms`` and marked as a gap the same way as a 0, so they never move beat times.
    """

    heart_rate_bpm: int
    rr_ms: tuple[float, ...] = ()
    energy_expended_kj: int | None = None
    sensor_contact: bool | None = None
    zero_rr_at: tuple[int, ...] = ()
    implausible_rr_at: tuple[int, ...] = ()

    @property
    def left_out_rr_at(self) -> tuple[int, ...]:
        """Places of every RR value left out (0 or implausible), ascending."""
        return tuple(sorted((*self.zero_rr_at, *self.implausible_rr_at)))

    @property
    def ends_with_zero_rr(self) -> bool:
        """True when the packet's last RR value was left out (0 or implausible).

        Its beat is lost before the next packet's first one.
        """
        left_out = self.left_out_rr_at
        return bool(left_out) and left_out[-1] == len(self.rr_ms) + len(left_out) - 1


def rr_ms_from_raw(raw: int) -> float:
    """Convert an RR interval in 1/1024 s (the GATT unit) to milliseconds, not rounded.

    Parameters
    ----------
    raw
        RR interval as sent by the strap, in units of 1/1024 s.

    Returns
    -------
    float
        ``raw * 1000 / 1024``.

    References
    ----------
    Bluetooth SIG, Heart Rate Service 1.0, section 3.1.1.5 (RR-Interval, resolution 1/1024 s).
    """
    return raw * 1000.0 / 1024.0


def rr_raw_from_ms(rr_ms: float) -> int:
    """Convert milliseconds to the nearest RR value in 1/1024 s (inverse of :func:`rr_ms_from_raw`).

    Parameters
    ----------
    rr_ms
        RR interval in milliseconds.

    Returns
    -------
    int
        ``round(rr_ms * 1024 / 1000)``; exact for every value :func:`rr_ms_from_raw` returns.

    Raises
    ------
    MalformedPacketError
        When the result is not in 1..65535 (an RR of 0 or of 64 s or more cannot be sent).

    References
    ----------
    Bluetooth SIG, Heart Rate Service 1.0, section 3.1.1.5.
    """
    if not math.isfinite(rr_ms):
        raise MalformedPacketError(f"RR interval {rr_ms!r} ms is not a finite number")
    raw = round(rr_ms * 1024.0 / 1000.0)
    if not 1 <= raw <= _UINT16_MAX:
        raise MalformedPacketError(
            f"RR interval {rr_ms!r} ms does not fit the field: "
            f"needs 1..65535 in 1/1024 s, got {raw}"
        )
    return int(raw)


def decode_heart_rate_measurement(data: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) payload.

    Every field is read at the offset the flags give it: the heart rate is 1 or 2 bytes as
    bit 0 says, the energy field (bit 3) comes before the RR values, and the RR values (bit 4)
    fill the rest of the payload two bytes at a time. An RR value of 0 (no interval can be 0) is
    left out and its place kept in ``zero_rr_at``, one outside :data:`MIN_HEART_RR_MS` ..
    :data:`MAX_HEART_RR_MS` (no heart beats so) in ``implausible_rr_at``; the packet's other RR
    values are kept (one
    bad value does not throw away the beats around it, and the lost beat is marked as a gap
    by :func:`beats_from_packet`). Reserved flag bits 5-7 are ignored; bytes
    after the heart rate (or energy) field when bit 4 is clear are ignored too (they are not
    RR intervals; skipping what is not understood keeps future extensions readable).

    Parameters
    ----------
    data
        The raw characteristic value.

    Returns
    -------
    HeartRateMeasurement
        The decoded packet; ``rr_ms`` in milliseconds (``raw * 1000 / 1024``).

    Raises
    ------
    MalformedPacketError
        Empty payload, heart rate or energy field cut short, or an odd number of RR bytes; the
        message names the problem and its byte offset.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1; GATT Specification Supplement,
    "Heart Rate Measurement".
    """
    buf = bytes(data)
    n = len(buf)
    if n == 0:
        raise MalformedPacketError("empty Heart Rate Measurement payload (byte offset 0)")
    flags = buf[0]
    offset = 1

    if flags & _FLAG_HR_UINT16:
        if n < offset + 2:
            raise MalformedPacketError(
                f"heart rate (uint16, flags bit 0 set) truncated at byte offset {offset}: "
                f"needs 2 bytes, {n - offset} left in a {n}-byte payload"
            )
        (heart_rate,) = struct.unpack_from("<H", buf, offset)
        offset += 2
    else:
        if n < offset + 1:
            raise MalformedPacketError(
                f"heart rate (uint8) missing at byte offset {offset} in a {n}-byte payload"
            )
        heart_rate = buf[offset]
        offset += 1

    contact: bool | None = None
    if flags & _FLAG_CONTACT_SUPPORTED:
        contact = bool(flags & _FLAG_CONTACT_DETECTED)

    energy: int | None = None
    if flags & _FLAG_ENERGY:
        if n < offset + 2:
            raise MalformedPacketError(
                f"energy expended (uint16, flags bit 3 set) truncated at byte offset {offset}: "
                f"needs 2 bytes, {n - offset} left in a {n}-byte payload"
            )
        (energy,) = struct.unpack_from("<H", buf, offset)
        offset += 2

    rr: tuple[float, ...] = ()
    zero_at: tuple[int, ...] = ()
    implausible_at: tuple[int, ...] = ()
    if flags & _FLAG_RR:
        rest = n - offset
        if rest % 2:
            raise MalformedPacketError(
                f"RR-interval field at byte offset {offset} has an odd number of bytes ({rest}); "
                "each RR value is 2 bytes"
            )
        raws = struct.unpack_from(f"<{rest // 2}H", buf, offset)
        zero_at = tuple(i for i, raw in enumerate(raws) if raw == 0)
        values_ms = tuple(rr_ms_from_raw(raw) for raw in raws)
        implausible_at = tuple(
            i
            for i, (raw, v) in enumerate(zip(raws, values_ms, strict=True))
            if raw != 0 and not is_heart_rr_ms(v)
        )
        rr = tuple(v for v in values_ms if is_heart_rr_ms(v))

    return HeartRateMeasurement(
        heart_rate_bpm=int(heart_rate),
        rr_ms=rr,
        energy_expended_kj=None if energy is None else int(energy),
        sensor_contact=contact,
        zero_rr_at=zero_at,
        implausible_rr_at=implausible_at,
    )


def encode_heart_rate_measurement(
    measurement: HeartRateMeasurement,
    *,
    uint16_heart_rate: bool = False,
    rr_flag_when_empty: bool = False,
) -> bytes:
    """Encode a :class:`HeartRateMeasurement` as a 0x2A37 payload (inverse of the decoder).

    ``decode_heart_rate_measurement(encode_heart_rate_measurement(m)) == m`` for every valid
    ``m`` whose ``rr_ms`` are multiples of 1000/1024 ms (every value the decoder returns).

    Parameters
    ----------
    measurement
        What to encode. ``sensor_contact=None`` clears flag bits 1-2 (contact detection not
        supported); ``True``/``False`` sets bit 2 and bit 1 accordingly.
    uint16_heart_rate
        Send the heart rate as uint16 (flag bit 0) even when it fits a uint8. A heart rate above
        255 is always sent as uint16.
    rr_flag_when_empty
        Set flag bit 4 even when there are no RR values (the spec allows 0..n values).
        ``measurement.zero_rr_at`` puts RR values of 0 at those places, ``implausible_rr_at``
        the value 65535 (64 s) (a faulty strap's packet, for tests).

    Returns
    -------
    bytes
        The payload, little endian.

    Raises
    ------
    MalformedPacketError
        A field out of its range: heart rate or energy not in 0..65535, an RR interval that
        rounds to 0 or to more than 65535/1024 s.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1.
    """
    hr = measurement.heart_rate_bpm
    if not 0 <= hr <= _UINT16_MAX:
        raise MalformedPacketError(f"heart rate {hr!r} bpm does not fit a uint16 field")
    flags = 0
    body = bytearray()
    if uint16_heart_rate or hr > 0xFF:
        flags |= _FLAG_HR_UINT16
        body += struct.pack("<H", hr)
    else:
        body.append(hr)
    if measurement.sensor_contact is not None:
        flags |= _FLAG_CONTACT_SUPPORTED
        if measurement.sensor_contact:
            flags |= _FLAG_CONTACT_DETECTED
    if measurement.energy_expended_kj is not None:
        energy = measurement.energy_expended_kj
        if not 0 <= energy <= _UINT16_MAX:
            raise MalformedPacketError(f"energy expended {energy!r} kJ does not fit a uint16 field")
        flags |= _FLAG_ENERGY
        body += struct.pack("<H", energy)
    zero_at = set(measurement.zero_rr_at)
    implausible_at = set(measurement.implausible_rr_at)
    left_out = measurement.left_out_rr_at
    n_values = len(measurement.rr_ms) + len(left_out)
    if len(set(left_out)) != len(left_out) or not set(left_out) <= set(range(n_values)):
        raise MalformedPacketError(
            f"zero_rr_at {measurement.zero_rr_at!r} and implausible_rr_at "
            f"{measurement.implausible_rr_at!r} are not distinct places among {n_values} RR values"
        )
    if n_values or rr_flag_when_empty:
        flags |= _FLAG_RR
        valid = iter(measurement.rr_ms)
        for i in range(n_values):
            if i in zero_at:
                raw = 0
            elif i in implausible_at:
                raw = _IMPLAUSIBLE_RAW
            else:
                raw = rr_raw_from_ms(next(valid))
            body += struct.pack("<H", raw)
    return bytes([flags]) + bytes(body)


def beats_from_packet(
    measurement: HeartRateMeasurement,
    *,
    arrived_at: float,
    session_start: float,
    gap_before: bool = False,
    not_before_s: float | None = None,
) -> tuple[Beat, ...]:
    """Turn one decoded packet into beats, back-dated from its arrival.

    The last RR interval of the packet ends at the arrival time; each earlier one ends before
    it by the sum of the intervals that follow it: for RR values ``r_0..r_{k-1}`` (ms), beat
    ``i`` is at ``t_s = (arrived_at - session_start) - sum(r_{i+1..k-1}) / 1000``. A beat that
    follows an RR value the decoder left out (0 or implausible: ``measurement.left_out_rr_at``)
    is marked ``gap_before``: the beat ending that interval is lost, no successive difference may
    span it. A left-out value never dates a beat (a corrupt 64-s value cannot move the
    timeline), but its beat was there: for dating only, its place counts as the median of the
    packet's kept intervals (:func:`stand_in_rr_ms`, :func:`dated_span_ms`), so the kept beats
    before it are not dated one beat too late (which would also look like a lost beat before the
    packet).

    Parameters
    ----------
    measurement
        The decoded packet.
    arrived_at
        Wall-clock time (Unix seconds) when the packet arrived.
    session_start
        Wall-clock time (Unix seconds) that is ``t_s = 0`` on the session's timeline.
    gap_before
        Mark the first beat of this packet with ``gap_before=True`` (e.g. first packet after a
        reconnect).
    not_before_s
        The ``t_s`` of the previous beat of the stream, if any. Arrival times jitter by tens of
        milliseconds; if back-dating would put this packet's first beat at or before
        ``not_before_s``, the whole packet is shifted later (keeping its RR spacing) so that the
        first beat lands 1 ms after it and beat times stay strictly increasing.

    Returns
    -------
    tuple[Beat, ...]
        One beat per RR interval, oldest first; empty for a packet without RR values. Each beat
        carries the packet's arrival, contact and heart rate.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1.1.5 ("RR-Interval").
    """
    rr = measurement.rr_ms
    if not rr:
        return ()
    t_end = arrived_at - session_start
    t_list = _back_dated_times_s(_dating_ms(measurement), t_end)
    if not_before_s is not None and t_list[0] <= not_before_s:
        shift = not_before_s + 0.001 - t_list[0]
        t_list = [t + shift for t in t_list]
    hr = float(measurement.heart_rate_bpm)
    # the original place of each kept value: it follows a left-out value when the one before it
    # in the packet (place - 1) was one
    zero_at = set(measurement.left_out_rr_at)
    places = [i for i in range(len(rr) + len(zero_at)) if i not in zero_at]
    return tuple(
        Beat(
            t_s=t,
            rr_ms=r,
            arrived_at=arrived_at,
            contact=measurement.sensor_contact,
            gap_before=(gap_before and i == 0) or (place - 1) in zero_at,
            heart_rate_bpm=hr,
        )
        for i, (t, r, place) in enumerate(zip(t_list, rr, places, strict=True))
    )


def stand_in_rr_ms(
    measurement: HeartRateMeasurement, *, none_kept_ms: float | None = None
) -> float | None:
    """What a left-out RR value's place counts as for dating: the one rule (ms).

    The median of the packet's kept intervals: the beat that ended the left-out value was
    there, its length unknown, and a corrupt 64-s value must not move the beat timeline. Every
    user dates with it: :func:`beats_from_packet` (a strap's RR, an optical sensor's PPI), the
    PPI stream file (:class:`sensors.formats.pmd_streams.PpiStreamWriter`) and the ECG
    cross-check's strap places (:class:`sensors.ble_pmd.BleEcgSource`).

    Parameters
    ----------
    measurement
        The decoded packet (``rr_ms`` its kept values).
    none_kept_ms
        What to count when the packet kept none (each user's own choice: the previous frame's
        stand-in, the heart rate's interval); ``None`` then by default.
    """
    if measurement.rr_ms:
        return float(statistics.median(measurement.rr_ms))
    return none_kept_ms


def dating_rr_ms(
    measurement: HeartRateMeasurement, *, none_kept_ms: float | None = None
) -> tuple[float, ...]:
    """Every RR place of the packet as sent, in order: a left-out one as :func:`stand_in_rr_ms`.

    Empty for a packet without RR places, and for one that kept none when ``none_kept_ms`` is
    ``None``.
    """
    stand_in = stand_in_rr_ms(measurement, none_kept_ms=none_kept_ms)
    if stand_in is None:
        return ()
    left_out = set(measurement.left_out_rr_at)
    kept = iter(measurement.rr_ms)
    return tuple(
        stand_in if i in left_out else next(kept)
        for i in range(len(measurement.rr_ms) + len(left_out))
    )


def _dating_ms(measurement: HeartRateMeasurement) -> list[tuple[float, bool]]:
    """The packet's intervals as sent, each ``(ms, kept)``: a left-out one as the stand-in."""
    left_out = set(measurement.left_out_rr_at)
    return [(ms, i not in left_out) for i, ms in enumerate(dating_rr_ms(measurement))]


def dated_span_ms(measurement: HeartRateMeasurement) -> float:
    """How long (ms) before its arrival the packet's first kept beat's interval began.

    The kept intervals and, for each value left out after the first kept one, a stand-in: the
    median of the packet's kept intervals (the beat it ended was there; its length unknown).
    A stream's timeline starts this long before its first packet arrived. 0 for a packet
    without kept values.
    """
    dating = _dating_ms(measurement)
    first = next((i for i, (_, kept) in enumerate(dating) if kept), len(dating))
    return float(sum(ms for ms, _ in dating[first:]))


def _back_dated_times_s(dating: Sequence[tuple[float, bool]], t_end_s: float) -> list[float]:
    """Times of the kept beats of ``dating`` (``_dating_ms``), its last place ending at t_end_s."""
    times: list[float] = []
    t = t_end_s
    for ms, kept in reversed(dating):
        if kept:
            times.append(t)
        t -= ms / 1000.0
    return times[::-1]
