"""The Polar Measurement Data codec: requests, responses, raw and delta frames, malformed input.

Byte layouts are from Polar's BLE SDK technical documentation (see :mod:`sensors.pmd`); the
hand-written frames below are built from those tables, not from the encoder under test.
"""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.errors import MalformedPacketError
from sensors.pmd import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    FrameSettings,
    PpiSample,
    SettingType,
    decode_control_point_response,
    decode_features,
    decode_frame,
    decode_settings,
    encode_control_point_response,
    encode_features,
    encode_frame,
    encode_settings,
    encode_settings_request,
    encode_start_request,
    encode_stop_request,
)


def header(mtype: int, timestamp_ns: int, frame_type: int) -> bytes:
    return bytes([mtype]) + struct.pack("<Q", timestamp_ns) + bytes([frame_type])


# -- control point -------------------------------------------------------------------------------


def test_uuids_are_polars() -> None:
    for uuid, n in ((PMD_SERVICE_UUID, 0), (PMD_CONTROL_POINT_UUID, 1), (PMD_DATA_UUID, 2)):
        assert uuid == f"fb005c8{n}-02e7-f387-1cad-8acd2d8df0c8"


@pytest.mark.parametrize(("kind", "number"), [("ecg", 0), ("ppg", 1), ("acc", 2), ("ppi", 3)])
def test_requests_carry_op_code_and_measurement_type(kind: str, number: int) -> None:
    assert encode_settings_request(kind) == bytes([1, number])
    assert encode_stop_request(kind) == bytes([3, number])
    assert encode_start_request(kind) == bytes([2, number])


def test_start_request_serialises_one_value_per_setting_little_endian() -> None:
    request = encode_start_request(
        "acc",
        {
            SettingType.SAMPLE_RATE: 200,
            SettingType.RESOLUTION: 16,
            SettingType.RANGE: 8,
            SettingType.CHANNELS: 3,
            SettingType.FACTOR: 1,  # the device's to say, never sent
        },
    )
    assert request == bytes([2, 2, 0, 1, 200, 0, 1, 1, 16, 0, 2, 1, 8, 0, 4, 1, 3])


def test_unknown_kind_and_out_of_range_setting_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown PMD measurement 'gyro'"):
        encode_settings_request("gyro")
    with pytest.raises(ValueError, match="SAMPLE_RATE: 70000 is not a 2-byte uint"):
        encode_start_request("ecg", {SettingType.SAMPLE_RATE: 70000})


def test_settings_response_of_an_h10_ecg_query() -> None:
    # f0, op 1 (settings), type 0 (ECG), status 0, more 0, then: sample rate 1 value 130,
    # resolution 1 value 14, range... as an H10 answers (values from the SDK's docs: 130 Hz, 14 bit)
    raw = bytes([0xF0, 1, 0, 0, 0, 0, 1, 130, 0, 1, 1, 14, 0])
    response = decode_control_point_response(raw)
    assert response.ok and response.kind == "ecg" and not response.more
    assert response.settings == {SettingType.SAMPLE_RATE: (130,), SettingType.RESOLUTION: (14,)}


def test_settings_with_several_values_and_a_float_factor_round_trip() -> None:
    offered = {
        SettingType.SAMPLE_RATE: (25, 50, 100, 200),
        SettingType.RANGE: (2, 4, 8),
        SettingType.FACTOR: (0.5,),
        SettingType.CHANNELS: (3,),
    }
    assert decode_settings(encode_settings(offered)) == offered
    raw = encode_control_point_response(1, "acc", settings=offered)
    assert decode_control_point_response(raw).settings == offered


def test_error_response_says_why() -> None:
    response = decode_control_point_response(bytes([0xF0, 2, 3, 6]))
    assert not response.ok and response.status_text == "already in that state"
    assert response.kind == "ppi" and response.settings == {}


def test_features_round_trip() -> None:
    assert decode_features(bytes([0x0F, 0b1111, 0])) == {"ecg", "ppg", "acc", "ppi"}
    assert decode_features(encode_features(["ecg", "acc"])) == {"ecg", "acc"}
    # an H10: ECG and ACC (bits 0 and 2) plus an undecoded type (bit 9, SDK mode)
    assert decode_features(bytes([0x0F, 0b101, 0b10])) == {"ecg", "acc"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xf0\x01", "at least 4 bytes"),
        (b"\xf1\x01\x00\x00", "starts with 0xf0"),
        (bytes([0xF0, 1, 0, 0, 0, 9, 1, 0]), "unknown setting type 9 at byte 0"),
        (bytes([0xF0, 1, 0, 0, 0, 0, 2, 130, 0]), "announces 2 values of 2 bytes"),
        (bytes([0xF0, 1, 0, 0, 0, 0]), "cut short|inside the header"),
    ],
)
def test_malformed_responses_are_value_errors_naming_the_problem(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedPacketError, match=message):
        decode_control_point_response(raw)


# -- data frames: raw ------------------------------------------------------------------------------


def test_ecg_frame_of_24_bit_signed_microvolts() -> None:
    ts = 599_616_023_171_427_290  # a timestamp an H10 sends (Polar's "Time system" example)
    samples = [-1, 0, 1, 1234, -8_388_608, 8_388_607]
    body = b"".join(v.to_bytes(3, "little", signed=True) for v in samples)
    frame = decode_frame(header(0, ts, 0) + body)
    assert frame.kind == "ecg" and frame.timestamp_ns == ts and not frame.compressed
    assert frame.samples == tuple(samples)
    assert encode_frame("ecg", samples, timestamp_ns=ts) == header(0, ts, 0) + body


@pytest.mark.parametrize(("frame_type", "size"), [(0, 1), (1, 2), (2, 3)])
def test_acc_raw_frames_of_each_width(frame_type: int, size: int) -> None:
    rows = [(-5, 10, 1000 % (1 << (8 * size - 1))), (7, -8, -9)]
    body = b"".join(v.to_bytes(size, "little", signed=True) for row in rows for v in row)
    frame = decode_frame(header(2, 10**12, frame_type) + body)
    assert frame.kind == "acc" and frame.frame_type == frame_type
    assert frame.samples == tuple(rows)


def test_ppg_raw_frame_has_three_channels_and_ambient() -> None:
    row = (100_000, -200, 3, 4_000_000)
    body = b"".join(v.to_bytes(3, "little", signed=True) for v in row)
    assert decode_frame(header(1, 5, 0) + body * 2).samples == (row, row)


def test_ppi_frame_fields_and_flags() -> None:
    body = (
        bytes([62]) + struct.pack("<HH", 968, 12) + bytes([0b110])  # contact, supported
        + bytes([63]) + struct.pack("<HH", 951, 40) + bytes([0b101])  # blocker, no contact
        + bytes([64]) + struct.pack("<HH", 940, 9) + bytes([0b000])  # contact not supported
    )  # fmt: skip
    frame = decode_frame(header(3, 0, 0) + body)
    assert frame.kind == "ppi" and frame.timestamp_ns == 0
    first, second, third = frame.samples
    assert first == PpiSample(ppi_ms=968, error_ms=12, hr_bpm=62, blocker=False, skin_contact=True)
    assert second == PpiSample(951, 40, 63, blocker=True, skin_contact=False)
    assert third.skin_contact is None and third.valid
    assert first.valid and not second.valid
    assert encode_frame("ppi", frame.samples) == header(3, 0, 0) + body


def test_measurement_type_uses_only_the_low_six_bits() -> None:
    assert decode_frame(bytes([0x40 | 3]) + bytes(9)).kind == "ppi"


# -- data frames: delta-compressed ----------------------------------------------------------------


def test_hand_packed_acc_delta_frame() -> None:
    # reference (x, y, z) = (-1000, 20, 980) mG as 16-bit values, then one block of 2 samples
    # with 4-bit deltas (+1, -1, 0), (+7, -8, +2), packed least significant bit first:
    # deltas as nibbles: 1, f, 0, 7, 8, 2 -> bytes 0xf1, 0x70, 0x28
    ref = b"".join(v.to_bytes(2, "little", signed=True) for v in (-1000, 20, 980))
    frame = decode_frame(header(2, 42, 0x81) + ref + bytes([4, 2, 0xF1, 0x70, 0x28]))
    assert frame.compressed and frame.frame_type == 1
    assert frame.samples == ((-1000, 20, 980), (-999, 19, 980), (-992, 11, 982))


def test_delta_frames_with_several_blocks_and_widths_decode_what_was_encoded() -> None:
    rows = [(i * 3 - 40, -i * i, (-1) ** i * 1000) for i in range(300)]  # 2 blocks (255 + 44)
    raw = encode_frame("acc", rows, compressed=True, frame_type=1, timestamp_ns=7)
    assert decode_frame(raw).samples == tuple(rows)
    ecg = [int(500 * (-1) ** (i // 7)) + i for i in range(73)]
    settings_ecg = FrameSettings(resolution_bits=14, channels=1)
    raw_ecg = encode_frame("ecg", ecg, compressed=True, settings=settings_ecg)
    assert decode_frame(raw_ecg, settings={"ecg": settings_ecg}).samples == tuple(ecg)
    ppg = [(i, 2 * i, -3 * i, 100) for i in range(20)]
    fs = FrameSettings(22, 4)
    assert decode_frame(
        encode_frame("ppg", ppg, compressed=True, settings=fs), settings=fs
    ).samples == (tuple(ppg))


@given(
    rows=st.lists(
        st.tuples(*(st.integers(-(1 << 15), (1 << 15) - 1),) * 3), min_size=1, max_size=600
    ),
    width=st.one_of(st.none(), st.integers(18, 32)),
)
@settings(max_examples=150, deadline=None)
def test_acc_delta_round_trip_property(rows: list[tuple[int, int, int]], width: int | None) -> None:
    raw = encode_frame("acc", rows, compressed=True, frame_type=1, delta_bits=width)
    assert decode_frame(raw).samples == tuple(rows)


# -- malformed frames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "10-byte header, got 0 bytes"),
        (bytes([0]) + bytes(5), "10-byte header, got 6 bytes"),
        (header(5, 0, 0) + bytes(6), "measurement gyroscope"),
        (header(63, 0, 0), "measurement type 63"),
        (header(0, 0, 0) + bytes(4), "ECG frame type 0: 4 sample bytes are not a multiple of 3"),
        (header(0, 0, 9) + bytes(3), "ECG raw frame type 9 is not decoded"),
        (header(3, 0, 0) + bytes(7), "PPI frame: 7 sample bytes are not a multiple of 6"),
        (header(3, 0, 0x80) + bytes(6), "PPI frame type 0 compressed"),
        (header(2, 0, 0x81) + bytes(5), "reference sample needs 6 bytes"),
        (header(2, 0, 0x81) + bytes(6) + bytes([8]), "block header is cut short at byte 16"),
        (header(2, 0, 0x81) + bytes(6) + bytes([8, 2, 1, 2]), "needs 6 bytes .* 2 remain"),
        (header(2, 0, 0x81) + bytes(6) + bytes([33, 1]) + bytes(13), "width 33 bits"),
    ],
)
def test_malformed_frames_are_value_errors_naming_the_problem(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedPacketError, match=message) as caught:
        decode_frame(raw)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith("PMD: ")


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None)
def test_any_bytes_decode_or_raise_a_value_error_never_anything_else(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        decode_frame(data)
    with contextlib.suppress(ValueError):
        decode_control_point_response(data)


@given(
    mtype=st.sampled_from([0, 1, 2, 3]),
    frame_type=st.sampled_from([0, 1, 2, 0x80, 0x81]),
    body=st.binary(max_size=200),
)
@settings(max_examples=500, deadline=None)
def test_frames_with_valid_headers_and_random_bodies_never_raise_anything_but_value_error(
    mtype: int, frame_type: int, body: bytes
) -> None:
    try:
        frame = decode_frame(header(mtype, 1, frame_type) + body)
    except ValueError:
        return
    assert frame.kind in {"ecg", "ppg", "acc", "ppi"}
