"""The Heart Rate Measurement (0x2A37) codec and the back-dating of beats in a packet."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensors import (
    HeartRateMeasurement,
    MalformedPacketError,
    beats_from_packet,
    decode_heart_rate_measurement,
    encode_heart_rate_measurement,
)
from sensors.heart_rate_measurement import dated_span_ms, rr_ms_from_raw, rr_raw_from_ms

# -- spec examples ------------------------------------------------------------------------------


def test_polar_style_packet_contact_and_two_rr() -> None:
    # flags 0x16: contact supported (bit 2) + detected (bit 1), RR present (bit 4); HR uint8 75;
    # RR raw 780 and 784 (1/1024 s).
    m = decode_heart_rate_measurement(bytes([0x16, 75, 0x0C, 0x03, 0x10, 0x03]))
    assert m.heart_rate_bpm == 75
    assert m.sensor_contact is True
    assert m.energy_expended_kj is None
    assert m.rr_ms == (780 * 1000 / 1024, 784 * 1000 / 1024)
    assert m.rr_ms == (761.71875, 765.625)  # not rounded to whole ms


def test_hr_only_packet_without_contact_support() -> None:
    m = decode_heart_rate_measurement(bytes([0x00, 62]))
    assert m == HeartRateMeasurement(heart_rate_bpm=62)
    assert m.sensor_contact is None and m.rr_ms == ()


def test_contact_supported_but_not_detected() -> None:
    assert decode_heart_rate_measurement(bytes([0x04, 0])).sensor_contact is False


def test_contact_detected_bit_without_supported_bit_means_unknown() -> None:
    assert decode_heart_rate_measurement(bytes([0x02, 70])).sensor_contact is None


def test_uint16_heart_rate_energy_and_rr() -> None:
    payload = bytes([0x19]) + struct.pack("<HHHH", 300, 1234, 1024, 512)
    m = decode_heart_rate_measurement(payload)
    assert m.heart_rate_bpm == 300
    assert m.energy_expended_kj == 1234
    assert m.rr_ms == (1000.0, 500.0)


def test_rr_flag_with_zero_values_is_valid() -> None:
    m = decode_heart_rate_measurement(bytes([0x10, 80]))
    assert m.rr_ms == () and m.heart_rate_bpm == 80


def test_reserved_bits_are_ignored() -> None:
    base = bytes([0x16, 75, 0x0C, 0x03])
    for reserved in (0x20, 0x40, 0x80, 0xE0):
        other = bytes([base[0] | reserved]) + base[1:]
        assert decode_heart_rate_measurement(other) == decode_heart_rate_measurement(base)


def test_bytearray_and_memoryview_accepted() -> None:
    raw = bytes([0x10, 60, 0x00, 0x04])
    assert decode_heart_rate_measurement(bytearray(raw)).rr_ms == (1000.0,)
    assert decode_heart_rate_measurement(memoryview(raw)).rr_ms == (1000.0,)


# -- every flag combination ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hr16", "contact_bits", "energy", "rr_flag", "reserved"),
    list(itertools.product([0, 1], [0b00, 0b01, 0b10, 0b11], [0, 1], [0, 1], [0x00, 0xA0])),
)
def test_every_flag_combination_reads_each_field_at_its_offset(
    hr16: int, contact_bits: int, energy: int, rr_flag: int, reserved: int
) -> None:
    # Built field by field from the spec's layout, with values that differ from each other so
    # a field read at the wrong offset shows.
    flags = hr16 | (contact_bits << 1) | (energy << 3) | (rr_flag << 4) | reserved
    hr = 0x0155 if hr16 else 0x77
    payload = bytes([flags]) + (struct.pack("<H", hr) if hr16 else bytes([hr]))
    if energy:
        payload += struct.pack("<H", 0x2211)
    raws = (700, 811, 922)
    if rr_flag:
        payload += struct.pack("<3H", *raws)
    m = decode_heart_rate_measurement(payload)
    assert m.heart_rate_bpm == hr
    assert m.energy_expended_kj == (0x2211 if energy else None)
    supported, detected = bool(contact_bits & 0b10), bool(contact_bits & 0b01)
    assert m.sensor_contact == (detected if supported else None)
    assert m.rr_ms == (tuple(r * 1000 / 1024 for r in raws) if rr_flag else ())


rr_raw = st.integers(min_value=1, max_value=0xFFFF)
# raw values a heart produces (200..3000 ms): the decoder keeps exactly these
heart_rr_raw = st.integers(min_value=205, max_value=3072)
measurements = st.builds(
    HeartRateMeasurement,
    heart_rate_bpm=st.integers(min_value=0, max_value=0xFFFF),
    rr_ms=st.lists(heart_rr_raw, max_size=9).map(
        lambda raws: tuple(rr_ms_from_raw(r) for r in raws)
    ),
    energy_expended_kj=st.none() | st.integers(min_value=0, max_value=0xFFFF),
    sensor_contact=st.sampled_from([None, True, False]),
)
# the same with k RR values of 0 or implausible among the valid ones, at k distinct places of
# the field (each place a 0 or an implausible value as the flag list says)
measurements_with_zeros = st.tuples(measurements, st.lists(st.booleans(), max_size=3)).flatmap(
    lambda mk: st.lists(
        st.integers(0, max(0, len(mk[0].rr_ms) + len(mk[1]) - 1)),
        min_size=len(mk[1]),
        max_size=len(mk[1]),
        unique=True,
    ).map(
        lambda places: HeartRateMeasurement(
            mk[0].heart_rate_bpm,
            rr_ms=mk[0].rr_ms,
            energy_expended_kj=mk[0].energy_expended_kj,
            sensor_contact=mk[0].sensor_contact,
            zero_rr_at=tuple(sorted(p for p, zero in zip(places, mk[1], strict=True) if zero)),
            implausible_rr_at=tuple(
                sorted(p for p, zero in zip(places, mk[1], strict=True) if not zero)
            ),
        )
    )
)


@given(m=measurements_with_zeros, uint16=st.booleans(), rr_flag_when_empty=st.booleans())
def test_decode_inverts_encode(
    m: HeartRateMeasurement, uint16: bool, rr_flag_when_empty: bool
) -> None:
    payload = encode_heart_rate_measurement(
        m, uint16_heart_rate=uint16, rr_flag_when_empty=rr_flag_when_empty
    )
    assert decode_heart_rate_measurement(payload) == m
    # the flags say exactly what is there
    flags = payload[0]
    assert bool(flags & 0x01) == (uint16 or m.heart_rate_bpm > 255)
    assert bool(flags & 0x04) == (m.sensor_contact is not None)
    assert bool(flags & 0x08) == (m.energy_expended_kj is not None)
    assert bool(flags & 0x10) == (bool(m.rr_ms or m.left_out_rr_at) or rr_flag_when_empty)
    assert flags & 0xE0 == 0


@given(raw=rr_raw)
def test_rr_conversion_round_trips_exactly(raw: int) -> None:
    assert rr_raw_from_ms(rr_ms_from_raw(raw)) == raw


def test_encode_rejects_out_of_range_fields() -> None:
    with pytest.raises(MalformedPacketError, match="heart rate"):
        encode_heart_rate_measurement(HeartRateMeasurement(heart_rate_bpm=70000))
    with pytest.raises(MalformedPacketError, match="energy"):
        encode_heart_rate_measurement(HeartRateMeasurement(60, energy_expended_kj=-1))
    with pytest.raises(MalformedPacketError, match="RR interval"):
        encode_heart_rate_measurement(HeartRateMeasurement(60, rr_ms=(0.2,)))
    with pytest.raises(MalformedPacketError, match="RR interval"):
        encode_heart_rate_measurement(HeartRateMeasurement(60, rr_ms=(64_000.0,)))
    with pytest.raises(MalformedPacketError, match="finite"):
        encode_heart_rate_measurement(HeartRateMeasurement(60, rr_ms=(float("nan"),)))


# -- malformed payloads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "pattern"),
    [
        (b"", r"empty .*offset 0"),
        (bytes([0x00]), r"heart rate .*offset 1"),
        (bytes([0x01, 0x50]), r"heart rate \(uint16.*offset 1.*1 left"),
        (bytes([0x08, 70, 0x01]), r"energy expended .*offset 2.*1 left"),
        (bytes([0x09, 70, 0, 0x01]), r"energy expended .*offset 3"),
        (
            bytes([0x10, 70, 0x00, 0x04, 0x01]),
            r"RR-interval field at byte offset 2 has an odd number of bytes \(3\)",
        ),
        (bytes([0x18, 70, 1, 0, 0x00]), r"RR-interval field at byte offset 4 .*odd"),
    ],
)
def test_malformed_payload_names_problem_and_offset(payload: bytes, pattern: str) -> None:
    with pytest.raises(MalformedPacketError, match=pattern) as info:
        decode_heart_rate_measurement(payload)
    assert isinstance(info.value, ValueError)
    assert info.value.reason == str(info.value)


# -- regressions: bugs seen in peer parsers -------------------------------------------------------


def test_regression_flags_ignored_uint16_heart_rate() -> None:
    # A parser that ignores bit 0 reads HR as the low byte (0x2C = 44) and the high byte as data.
    m = decode_heart_rate_measurement(bytes([0x01]) + struct.pack("<H", 300))
    assert m.heart_rate_bpm == 300
    assert m.rr_ms == ()


def test_regression_flags_ignored_rr_bytes_without_rr_flag() -> None:
    # Trailing bytes without flag bit 4 are not RR intervals.
    m = decode_heart_rate_measurement(bytes([0x06, 72, 0x00, 0x04]))
    assert m.rr_ms == ()
    assert m.sensor_contact is True


def test_regression_energy_field_not_read_as_rr() -> None:
    # flags 0x18: energy (uint16 = 0x0400 = 1024 -> would look like a 1000 ms RR) then one RR.
    payload = bytes([0x18, 65]) + struct.pack("<HH", 1024, 870)
    m = decode_heart_rate_measurement(payload)
    assert m.energy_expended_kj == 1024
    assert m.rr_ms == (870 * 1000 / 1024,)


def test_regression_each_rr_read_at_its_own_offset() -> None:
    raws = [600, 700, 800, 900]
    m = decode_heart_rate_measurement(bytes([0x10, 80]) + struct.pack("<4H", *raws))
    assert m.rr_ms == tuple(r * 1000 / 1024 for r in raws)
    assert len(set(m.rr_ms)) == 4


def test_regression_beats_of_one_packet_get_their_own_times() -> None:
    m = HeartRateMeasurement(75, rr_ms=(800.0, 750.0, 700.0), sensor_contact=True)
    beats = beats_from_packet(m, arrived_at=1000.0, session_start=990.0)
    assert [b.t_s for b in beats] == pytest.approx([8.55, 9.3, 10.0])
    assert len({b.t_s for b in beats}) == 3


# -- back-dating ---------------------------------------------------------------------------------


def test_last_rr_ends_at_arrival_and_earlier_ones_before_it() -> None:
    m = HeartRateMeasurement(70, rr_ms=(1000.0, 500.0), sensor_contact=False)
    beats = beats_from_packet(m, arrived_at=1_700_000_010.25, session_start=1_700_000_000.0)
    assert beats[-1].t_s == pytest.approx(10.25)
    assert beats[0].t_s == pytest.approx(9.75)
    assert [b.rr_ms for b in beats] == [1000.0, 500.0]
    assert all(b.arrived_at == 1_700_000_010.25 for b in beats)
    assert all(b.contact is False and b.heart_rate_bpm == 70.0 for b in beats)
    assert not any(b.gap_before for b in beats)


def test_gap_marks_only_the_first_beat_of_the_packet() -> None:
    m = HeartRateMeasurement(70, rr_ms=(900.0, 910.0))
    beats = beats_from_packet(m, arrived_at=5.0, session_start=0.0, gap_before=True)
    assert [b.gap_before for b in beats] == [True, False]


def test_packet_without_rr_gives_no_beats() -> None:
    assert beats_from_packet(HeartRateMeasurement(70), arrived_at=5.0, session_start=0.0) == ()


def test_late_previous_packet_never_makes_time_go_backwards() -> None:
    # The previous packet arrived 80 ms late, so its last beat sits at 10.08 s; this packet's
    # back-dated first beat would fall at 10.05 s.
    m = HeartRateMeasurement(70, rr_ms=(950.0, 1000.0))
    beats = beats_from_packet(m, arrived_at=11.05, session_start=0.0, not_before_s=10.08)
    assert beats[0].t_s == pytest.approx(10.081)
    assert beats[1].t_s - beats[0].t_s == pytest.approx(1.0)
    unshifted = beats_from_packet(m, arrived_at=11.05, session_start=0.0, not_before_s=10.0)
    assert unshifted[0].t_s == pytest.approx(10.05)


@given(
    raws=st.lists(st.integers(min_value=200, max_value=3000), min_size=1, max_size=8),
    arrived=st.floats(min_value=1.0, max_value=1e5),
)
def test_back_dated_spacing_equals_rr(raws: list[int], arrived: float) -> None:
    m = HeartRateMeasurement(60, rr_ms=tuple(rr_ms_from_raw(r) for r in raws))
    beats = beats_from_packet(m, arrived_at=arrived, session_start=0.0)
    assert beats[-1].t_s == pytest.approx(arrived)
    for prev, cur in itertools.pairwise(beats):
        assert (cur.t_s - prev.t_s) * 1000.0 == pytest.approx(cur.rr_ms, abs=1e-6)


# -- RR values of 0 ------------------------------------------------------------------------------


def test_zero_rr_is_left_out_and_the_packets_valid_rr_are_kept() -> None:
    # review finding: flag 0x16 with RR raws [0, 1024] was rejected whole, losing a real beat
    m = decode_heart_rate_measurement(bytes([0x16, 60]) + struct.pack("<HH", 0, 1024))
    assert m.rr_ms == (1000.0,) and m.zero_rr_at == (0,) and not m.ends_with_zero_rr
    assert m.sensor_contact is True and m.heart_rate_bpm == 60
    only_zero = decode_heart_rate_measurement(bytes([0x10, 70, 0x00, 0x00]))
    assert only_zero.rr_ms == () and only_zero.zero_rr_at == (0,) and only_zero.ends_with_zero_rr
    tail = decode_heart_rate_measurement(bytes([0x10, 70]) + struct.pack("<HH", 1024, 0))
    assert tail.rr_ms == (1000.0,) and tail.zero_rr_at == (1,) and tail.ends_with_zero_rr


def test_the_beat_after_a_left_out_zero_rr_follows_a_gap() -> None:
    m = decode_heart_rate_measurement(bytes([0x10, 70]) + struct.pack("<HHHH", 800, 0, 1024, 512))
    beats = beats_from_packet(m, arrived_at=10.0, session_start=0.0)
    assert [b.rr_ms for b in beats] == [rr_ms_from_raw(800), 1000.0, 500.0]
    assert [b.gap_before for b in beats] == [False, True, False]
    # the zero never dates a beat, but its beat was there: its place counts as the median of
    # the kept intervals (781.25 ms), so the first beat is dated before the lost one (rev10
    # finding 2: it was dated as if the lost beat had not been, 781 ms too late)
    assert [b.t_s for b in beats] == pytest.approx([8.5 - 0.78125, 9.5, 10.0])
    assert dated_span_ms(m) == pytest.approx(781.25 + 781.25 + 1000 + 500)


def test_a_left_out_value_at_the_end_of_a_packet_dates_the_beats_before_it_a_beat_earlier() -> None:
    # rev10 finding 2: [1000, 1000, 65535] dated the two kept beats as if the last interval
    # ended at the arrival; the lost beat's interval (a stand-in: the median, 1000 ms) is there
    m = decode_heart_rate_measurement(bytes([0x10, 60]) + struct.pack("<3H", 1024, 1024, 0xFFFF))
    beats = beats_from_packet(m, arrived_at=13.0, session_start=0.0, not_before_s=10.0)
    assert [(b.t_s, b.gap_before) for b in beats] == [(11.0, False), (12.0, False)]
    assert m.ends_with_zero_rr
    # a value left out before the first kept one dates nothing
    first = decode_heart_rate_measurement(bytes([0x10, 60]) + struct.pack("<2H", 0, 1024))
    assert dated_span_ms(first) == 1000.0


# -- RR values no heart produces -----------------------------------------------------------------


def test_an_impossible_rr_is_left_out_like_a_zero() -> None:
    # review (BLE, finding 1): a packet [1024, 65535] (1 s and 64 s) kept the 64 s value
    m = decode_heart_rate_measurement(bytes([0x10, 60]) + struct.pack("<HH", 1024, 0xFFFF))
    assert m.rr_ms == (1000.0,) and m.implausible_rr_at == (1,) and m.zero_rr_at == ()
    assert m.ends_with_zero_rr  # its beat is lost: the next packet's first beat follows a gap
    # the bounds: 200 ms and 3000 ms are kept, just outside them is not (raws 204 and 3073)
    raws = (204, 205, 3072, 3073)
    edge = decode_heart_rate_measurement(bytes([0x10, 60]) + struct.pack("<4H", *raws))
    assert edge.rr_ms == (rr_ms_from_raw(205), 3000.0)
    assert edge.implausible_rr_at == (0, 3) and edge.left_out_rr_at == (0, 3)


def test_an_impossible_rr_never_moves_beat_times() -> None:
    # review (BLE, finding 1): one 64-s value back-dated the packet to before the previous beat,
    # and the whole packet, and every later one, was shifted ~64 s into the future
    m = decode_heart_rate_measurement(bytes([0x10, 60]) + struct.pack("<HH", 0xFFFF, 1024))
    beats = beats_from_packet(m, arrived_at=11.0, session_start=0.0, not_before_s=10.0)
    assert [(b.t_s, b.rr_ms, b.gap_before) for b in beats] == [(11.0, 1000.0, True)]


def test_encode_refuses_zero_places_outside_the_rr_field() -> None:
    with pytest.raises(MalformedPacketError, match="zero_rr_at"):
        encode_heart_rate_measurement(HeartRateMeasurement(70, rr_ms=(1000.0,), zero_rr_at=(2,)))
