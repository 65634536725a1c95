"""Polar Measurement Data (PMD): a pure codec for the control point and the data frames.

Polar's H10, H9, OH1, Verity Sense and watches stream raw and computed data (ECG, PPG,
accelerometer, pulse-to-pulse intervals) through a vendor GATT service next to the standard
Heart Rate service. Nothing here does I/O: the functions turn requests into bytes and bytes into
frames; a BLE source writes and subscribes.

Service and characteristics (UUIDs)::

    PMD service        fb005c80-02e7-f387-1cad-8acd2d8df0c8
    PMD control point  fb005c81-02e7-f387-1cad-8acd2d8df0c8  (read, write, indicate)
    PMD data           fb005c82-02e7-f387-1cad-8acd2d8df0c8  (notify)

Control point, client to device (multi-byte values little endian)::

    01 <type>                        get the measurement settings of <type>
    02 <type> [settings...]          start an online measurement of <type>
    03 <type>                        stop it
    settings: repeated  <setting type> <count=1> <value (2 bytes; channels 1; factor 4)>
    setting types: 0 sample rate (Hz), 1 resolution (bits), 2 range (+/- unit),
                   4 channels, 5 conversion factor (float32, sent by the device only)

Device to client: a read of the control point gives ``0f <feature bits>`` (bit n set: measurement
type n is supported); a response to a request is ``f0 <op code> <type> <status> <more>
[parameters...]`` with status 0 for success; the parameters of a settings response are settings
as above with ``count`` values each (every value the device offers).

Measurement types: 0 ECG, 1 PPG, 2 ACC, 3 PPI (others, such as gyroscope and magnetometer, are
not decoded here).

Data frame (one notification of the data characteristic)::

    byte 0      measurement type (low 6 bits)
    bytes 1-8   timestamp, uint64, ns since 2000-01-01T00:00:00 UTC on the device's clock,
                of the frame's last sample (0 when the stream has no sample times: PPI)
    byte 9      frame type (low 7 bits); bit 7 set: delta-compressed
    bytes 10-   samples

Raw (uncompressed) samples, by measurement and frame type:

- ECG type 0: 3-byte signed values, microvolts (H10: 130 Hz);
- ACC types 0, 1, 2: x, y, z as 1-, 2- or 3-byte signed values, milli-g;
- PPG type 0: PPG0, PPG1, PPG2 and ambient, 3-byte signed values each;
- PPI type 0: 6 bytes per pulse: heart rate (uint8, bpm), pulse-to-pulse interval (uint16, ms),
  its error estimate (uint16, ms) and flags (bit 0 blocker: movement made the interval
  unreliable; bit 1 skin contact; bit 2 skin contact supported).

Delta-compressed frames: a reference sample (``channels`` signed values of ``ceil(resolution /
8)`` bytes each), then blocks of ``<delta bit width> <sample count>`` followed by ``count *
channels`` signed deltas of that many bits, packed least significant bit first; each sample is
the previous one plus its deltas. The resolution and channel count are the measurement's
settings (a frame does not carry them): H10 accelerometer 16 bits, 3 channels; Verity Sense and
OH1 PPG 22 bits, 4 channels; ECG 14 bits, 1 channel by default here.

Every malformed frame, settings list or response raises :class:`sensors.errors.MalformedPacketError`
(a :class:`ValueError`) naming the problem and the byte offset; nothing else is raised for any
input bytes (a property the tests fuzz).

References
----------
Polar Electro. Polar BLE SDK, technical documentation "Polar Measurement Data" (online
measurement, version 1.0, August 2024), tables 1-6 (control point, UUIDs, settings, frame
layout), 7-22 (frame types) and section 4.3 (delta compression); documentation "PPI Data in
Polar devices" (blocker and skin-contact flags) and "Time system in Polar devices" (epoch
2000-01-01, nanoseconds). https://github.com/polarofficial/polar-ble-sdk
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from sensors.errors import MalformedPacketError

__all__ = [
    "MEASUREMENT_TYPES",
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "POLAR_EPOCH_UNIX_S",
    "ControlPointResponse",
    "FrameSettings",
    "Kind",
    "PmdFrame",
    "PpiSample",
    "SettingType",
    "decode_control_point_response",
    "decode_features",
    "decode_frame",
    "decode_settings",
    "encode_control_point_response",
    "encode_features",
    "encode_frame",
    "encode_settings",
    "encode_settings_request",
    "encode_start_request",
    "encode_stop_request",
]

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Unix time (s) of the Polar epoch 2000-01-01T00:00:00Z: add it (x 1e9) to a frame timestamp.
POLAR_EPOCH_UNIX_S = 946_684_800

Kind = Literal["ecg", "ppg", "acc", "ppi"]

#: Measurement type numbers by kind (Polar's table 2).
MEASUREMENT_TYPES: dict[str, int] = {"ecg": 0, "ppg": 1, "acc": 2, "ppi": 3}
_KIND_OF_TYPE = {v: k for k, v in MEASUREMENT_TYPES.items()}
_OTHER_TYPES = {5: "gyroscope", 6: "magnetometer", 9: "SDK mode", 10: "location",
                11: "pressure", 12: "temperature"}  # fmt: skip

_OP_SETTINGS, _OP_START, _OP_STOP = 1, 2, 3
_OP_NAMES = {1: "get settings", 2: "start", 3: "stop", 4: "get SDK mode settings",
             5: "get measurement status"}  # fmt: skip
_RESPONSE_CODE = 0xF0
_FEATURES_CODE = 0x0F
_STATUS_TEXT = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in that state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}
_HEADER = 10
_COMPRESSED = 0x80
_MAX_DELTA_BITS = 32


class SettingType(IntEnum):
    """PMD measurement setting types (Polar's table 5)."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


_SETTING_SIZE = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
}

#: Raw frame layouts: (kind, frame type) -> (bytes per value, values per sample).
_RAW_LAYOUT: dict[tuple[str, int], tuple[int, int]] = {
    ("ecg", 0): (3, 1),
    ("acc", 0): (1, 3),
    ("acc", 1): (2, 3),
    ("acc", 2): (3, 3),
    ("ppg", 0): (3, 4),
}
_PPI_SAMPLE_BYTES = 6


@dataclass(frozen=True, slots=True)
class FrameSettings:
    """What a delta-compressed frame needs to be decoded (the stream's settings).

    Attributes
    ----------
    resolution_bits
        Bits per value of the reference sample (its bytes are ``ceil(resolution_bits / 8)``).
    channels
        Values per sample (ECG 1, ACC 3, PPG 4).
    """

    resolution_bits: int
    channels: int

    def __post_init__(self) -> None:
        if not 1 <= self.resolution_bits <= 32:
            raise ValueError(f"resolution_bits must be 1..32, got {self.resolution_bits!r}")
        if not 1 <= self.channels <= 32:
            raise ValueError(f"channels must be 1..32, got {self.channels!r}")


#: Settings of delta-compressed frames when the caller gives none (the devices' usual ones).
DEFAULT_COMPRESSED: dict[str, FrameSettings] = {
    "ecg": FrameSettings(14, 1),
    "acc": FrameSettings(16, 3),
    "ppg": FrameSettings(22, 4),
}


@dataclass(frozen=True, slots=True)
class PpiSample:
    """One pulse-to-pulse interval from an optical sensor (PMD measurement type 3).

    Attributes
    ----------
    ppi_ms
        The interval between two pulses of the PPG signal, in milliseconds.
    error_ms
        The sensor's estimate of the interval's error, in milliseconds.
    hr_bpm
        The heart rate the sensor reported with it, beats per minute.
    blocker
        ``True`` when movement made the interval unreliable (the sample should be discarded).
    skin_contact
        ``True``/``False`` when the sensor supports contact detection, ``None`` when it does not.
    """

    ppi_ms: int
    error_ms: int
    hr_bpm: int
    blocker: bool
    skin_contact: bool | None

    @property
    def valid(self) -> bool:
        """Usable as a beat: no blocker and no reported loss of skin contact (Polar's rule)."""
        return not self.blocker and self.skin_contact is not False


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One decoded PMD data frame.

    Attributes
    ----------
    kind
        ``"ecg"``, ``"ppi"``, ``"acc"`` or ``"ppg"``.
    timestamp_ns
        Device time of the frame's last sample, ns since 2000-01-01T00:00:00Z (0 when the stream
        has no sample times, as PPI on most devices).
    frame_type
        The frame type (low 7 bits of byte 9).
    compressed
        Whether the samples came delta-compressed.
    samples
        ECG: microvolt values (int). ACC: ``(x, y, z)`` in milli-g. PPG: a tuple per sample
        (PPG channels and ambient). PPI: :class:`PpiSample` objects, oldest first.
    """

    kind: Kind
    timestamp_ns: int
    frame_type: int
    compressed: bool
    samples: tuple[object, ...] = field(default=())

    @property
    def ppi(self) -> tuple[PpiSample, ...]:
        """The PPI samples of a ``"ppi"`` frame (empty for other kinds)."""
        return tuple(s for s in self.samples if isinstance(s, PpiSample))


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """A device's answer to a control-point request (``f0 <op> <type> <status> <more> ...``).

    ``settings`` holds the parameters decoded as settings for a successful settings query or
    start (empty otherwise); ``status_text`` says the status in words.
    """

    op_code: int
    measurement_type: int
    status: int
    more: bool
    parameters: bytes
    settings: dict[SettingType, tuple[float, ...]]

    @property
    def ok(self) -> bool:
        """Whether the device accepted the request (status 0)."""
        return self.status == 0

    @property
    def status_text(self) -> str:
        """The status in words (``success``, ``not supported``, ...)."""
        return _STATUS_TEXT.get(self.status, f"unknown status {self.status}")

    @property
    def kind(self) -> str:
        """The measurement type's name (``ecg``, ``ppi``, ``acc``, ...)."""
        return _type_name(self.measurement_type)


def _bad(reason: str) -> MalformedPacketError:
    return MalformedPacketError(f"PMD: {reason}")


def _type_name(number: int) -> str:
    return _KIND_OF_TYPE.get(number) or _OTHER_TYPES.get(number) or f"type {number}"


def _type_of(kind: str) -> int:
    try:
        return MEASUREMENT_TYPES[kind]
    except KeyError:
        raise ValueError(
            f"unknown PMD measurement {kind!r}; expected one of {sorted(MEASUREMENT_TYPES)}"
        ) from None


# -- control point ---------------------------------------------------------------------------------


def encode_settings_request(kind: str) -> bytes:
    """The control-point request for the settings a device offers for ``kind``.

    Examples
    --------
    >>> encode_settings_request("acc").hex()
    '0102'
    """
    return bytes([_OP_SETTINGS, _type_of(kind)])


def encode_start_request(kind: str, settings: Mapping[SettingType, int] | None = None) -> bytes:
    """The control-point request that starts an online ``kind`` stream with ``settings``.

    PPI takes no settings; ECG, ACC and PPG take one value per setting type, chosen among those
    the settings query offered (the factor is the device's, never sent).

    Examples
    --------
    >>> ecg = {SettingType.SAMPLE_RATE: 130, SettingType.RESOLUTION: 14}
    >>> encode_start_request("ecg", ecg).hex()
    '02000001820001010e00'
    """
    chosen: dict[SettingType, Sequence[float]] = {
        k: (v,) for k, v in (settings or {}).items() if k is not SettingType.FACTOR
    }
    return bytes([_OP_START, _type_of(kind)]) + encode_settings(chosen)


def encode_stop_request(kind: str) -> bytes:
    """The control-point request that stops the ``kind`` stream.

    Examples
    --------
    >>> encode_stop_request("ppi").hex()
    '0303'
    """
    return bytes([_OP_STOP, _type_of(kind)])


def encode_settings(settings: Mapping[SettingType, Sequence[float]]) -> bytes:
    """Settings as the control point carries them: ``<type> <count> <values...>`` each."""
    out = bytearray()
    for setting, values in settings.items():
        setting = SettingType(setting)
        if not 1 <= len(values) <= 255:
            raise ValueError(f"setting {setting.name}: 1..255 values, got {len(values)}")
        out += bytes([setting, len(values)])
        for value in values:
            if setting is SettingType.FACTOR:
                out += struct.pack("<f", value)
            else:
                size = _SETTING_SIZE[setting]
                if value != int(value) or not 0 <= value < 1 << (8 * size):
                    raise ValueError(f"setting {setting.name}: {value!r} is not a {size}-byte uint")
                out += int(value).to_bytes(size, "little")
    return bytes(out)


def decode_settings(data: bytes) -> dict[SettingType, tuple[float, ...]]:
    """Parse a settings list (the parameters of a settings response).

    Raises
    ------
    MalformedPacketError
        Unknown setting type, or the list ends inside a setting.
    """
    out: dict[SettingType, tuple[float, ...]] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise _bad(f"settings end inside the header of a setting at byte {i}")
        try:
            setting = SettingType(data[i])
        except ValueError:
            raise _bad(f"unknown setting type {data[i]} at byte {i}") from None
        count = data[i + 1]
        size = _SETTING_SIZE[setting]
        end = i + 2 + count * size
        if end > len(data):
            raise _bad(
                f"setting {setting.name} at byte {i} announces {count} values of {size} bytes "
                f"but only {len(data) - i - 2} bytes follow"
            )
        values: list[float] = []
        for j in range(i + 2, end, size):
            chunk = data[j : j + size]
            if setting is SettingType.FACTOR:
                values.append(struct.unpack("<f", chunk)[0])
            else:
                values.append(int.from_bytes(chunk, "little"))
        out[setting] = tuple(values)
        i = end
    return out


def decode_control_point_response(data: bytes) -> ControlPointResponse:
    """Parse an indication of the control point (``f0 <op> <type> <status> <more> ...``)."""
    data = bytes(data)
    if len(data) < 4:
        raise _bad(f"a control-point response has at least 4 bytes, got {len(data)}")
    if data[0] != _RESPONSE_CODE:
        raise _bad(f"a control-point response starts with 0xf0, got 0x{data[0]:02x}")
    op, mtype, status = data[1], data[2], data[3]
    more = len(data) > 4 and data[4] != 0
    params = data[5:] if status == 0 else b""
    settings: dict[SettingType, tuple[float, ...]] = {}
    if status == 0 and op in (_OP_SETTINGS, _OP_START) and params:
        settings = decode_settings(params)
    return ControlPointResponse(op, mtype, status, more, params, settings)


def encode_control_point_response(
    op_code: int,
    kind: str,
    *,
    status: int = 0,
    settings: Mapping[SettingType, Sequence[float]] | None = None,
) -> bytes:
    """The inverse of :func:`decode_control_point_response` (what an emulated device sends)."""
    out = bytes([_RESPONSE_CODE, op_code, _type_of(kind), status])
    if status == 0:
        out += b"\x00" + encode_settings(settings or {})
    return out


def decode_features(data: bytes) -> frozenset[str]:
    """The measurement kinds a device supports, from a read of its control point."""
    data = bytes(data)
    if len(data) < 2 or data[0] != _FEATURES_CODE:
        raise _bad("a control-point read starts with 0x0f and a feature byte")
    bits = int.from_bytes(data[1:], "little")
    return frozenset(k for k, n in MEASUREMENT_TYPES.items() if bits >> n & 1)


def encode_features(kinds: Sequence[str]) -> bytes:
    """The inverse of :func:`decode_features`: ``0f`` and the feature bits (2 bytes)."""
    bits = 0
    for kind in kinds:
        bits |= 1 << _type_of(kind)
    return bytes([_FEATURES_CODE]) + bits.to_bytes(2, "little")


# -- data frames -----------------------------------------------------------------------------------


def _signed(chunk: bytes) -> int:
    return int.from_bytes(chunk, "little", signed=True)


def decode_frame(
    data: bytes, *, settings: FrameSettings | Mapping[str, FrameSettings] | None = None
) -> PmdFrame:
    """Decode one notification of the PMD data characteristic.

    Parameters
    ----------
    data
        The notification's bytes.
    settings
        For delta-compressed frames: the stream's resolution and channels, either one
        :class:`FrameSettings` or a mapping by kind; missing: :data:`DEFAULT_COMPRESSED`.

    Returns
    -------
    PmdFrame
        The frame with its samples (see :class:`PmdFrame` for their units).

    Raises
    ------
    MalformedPacketError
        A :class:`ValueError` naming the problem: too short, a measurement or frame type not
        decoded here, samples cut short, a delta block running past the end.

    Examples
    --------
    >>> f = decode_frame(bytes.fromhex("03" + "00" * 8 + "00" + "3c" "e803" "0a00" "06"))
    >>> f.kind, f.samples[0].ppi_ms, f.samples[0].skin_contact
    ('ppi', 1000, True)
    """
    data = bytes(data)
    if len(data) < _HEADER:
        raise _bad(f"a data frame has a 10-byte header, got {len(data)} bytes")
    mtype = data[0] & 0x3F
    kind = _KIND_OF_TYPE.get(mtype)
    if kind is None:
        raise _bad(f"measurement {_type_name(mtype)} (byte 0 = 0x{data[0]:02x}) is not decoded")
    timestamp_ns = int.from_bytes(data[1:9], "little")
    frame_type = data[9] & 0x7F
    compressed = bool(data[9] & _COMPRESSED)
    body = data[_HEADER:]
    samples: tuple[object, ...]
    if kind == "ppi":
        if compressed or frame_type != 0:
            raise _bad(
                f"PPI frame type {frame_type}{' compressed' if compressed else ''} is unknown"
            )
        samples = _decode_ppi(body)
    elif compressed:
        if isinstance(settings, FrameSettings):
            fs = settings
        else:
            fs = (settings or {}).get(kind) or DEFAULT_COMPRESSED[kind]
        values = _decode_delta(body, fs)
        samples = tuple(v[0] for v in values) if kind == "ecg" else tuple(values)
    else:
        layout = _RAW_LAYOUT.get((kind, frame_type))
        if layout is None:
            raise _bad(f"{kind.upper()} raw frame type {frame_type} is not decoded")
        size, per = layout
        step = size * per
        if len(body) % step:
            raise _bad(
                f"{kind.upper()} frame type {frame_type}: {len(body)} sample bytes are not a "
                f"multiple of {step} (cut short at byte {_HEADER + len(body) - len(body) % step})"
            )
        rows = tuple(
            tuple(_signed(body[i + j * size : i + (j + 1) * size]) for j in range(per))
            for i in range(0, len(body), step)
        )
        samples = tuple(r[0] for r in rows) if kind == "ecg" else rows
    return PmdFrame(kind, timestamp_ns, frame_type, compressed, samples)  # type: ignore[arg-type]


def _decode_ppi(body: bytes) -> tuple[PpiSample, ...]:
    if len(body) % _PPI_SAMPLE_BYTES:
        raise _bad(
            f"PPI frame: {len(body)} sample bytes are not a multiple of 6 "
            f"(cut short at byte {_HEADER + len(body) - len(body) % _PPI_SAMPLE_BYTES})"
        )
    out = []
    for i in range(0, len(body), _PPI_SAMPLE_BYTES):
        hr, ppi, err, flags = struct.unpack_from("<BHHB", body, i)
        supported = bool(flags & 0x04)
        out.append(
            PpiSample(
                ppi_ms=ppi,
                error_ms=err,
                hr_bpm=hr,
                blocker=bool(flags & 0x01),
                skin_contact=bool(flags & 0x02) if supported else None,
            )
        )
    return tuple(out)


def _decode_delta(body: bytes, fs: FrameSettings) -> list[tuple[int, ...]]:
    size = math.ceil(fs.resolution_bits / 8)
    ref_len = size * fs.channels
    if len(body) < ref_len:
        raise _bad(
            f"delta frame: the reference sample needs {ref_len} bytes "
            f"({fs.channels} channels x {size}), got {len(body)}"
        )
    current = [_signed(body[c * size : (c + 1) * size]) for c in range(fs.channels)]
    out = [tuple(current)]
    i = ref_len
    while i < len(body):
        at = _HEADER + i
        if i + 2 > len(body):
            raise _bad(f"delta frame: a block header is cut short at byte {at}")
        width, count = body[i], body[i + 1]
        if width > _MAX_DELTA_BITS:
            raise _bad(f"delta frame: delta width {width} bits at byte {at} exceeds 32")
        n_bits = width * count * fs.channels
        n_bytes = (n_bits + 7) // 8
        start = i + 2
        if start + n_bytes > len(body):
            raise _bad(
                f"delta frame: the block at byte {at} needs {n_bytes} bytes "
                f"({count} samples x {fs.channels} channels x {width} bits), "
                f"{len(body) - start} remain"
            )
        bits = int.from_bytes(body[start : start + n_bytes], "little")
        mask = (1 << width) - 1
        sign = 1 << (width - 1) if width else 0
        pos = 0
        for _ in range(count):
            for c in range(fs.channels):
                delta = (bits >> pos) & mask
                if width and delta & sign:
                    delta -= 1 << width
                current[c] += delta
                pos += width
            out.append(tuple(current))
        i = start + n_bytes
    return out


def encode_frame(
    kind: str,
    samples: Sequence[object],
    *,
    timestamp_ns: int = 0,
    frame_type: int = 0,
    compressed: bool = False,
    settings: FrameSettings | None = None,
    delta_bits: int | None = None,
) -> bytes:
    """The inverse of :func:`decode_frame` (what an emulated device sends).

    Raw frames use the layout of ``(kind, frame_type)``; compressed ones a reference sample of
    ``settings`` and one delta block per 255 samples, ``delta_bits`` wide (default: the
    narrowest width that holds every delta).
    """
    mtype = _type_of(kind)
    if not 0 <= timestamp_ns < 1 << 64:
        raise ValueError(f"timestamp_ns must fit in 64 bits, got {timestamp_ns!r}")
    head = bytes([mtype]) + timestamp_ns.to_bytes(8, "little")
    if kind == "ppi":
        body = bytearray()
        for s in samples:
            if not isinstance(s, PpiSample):
                raise TypeError("PPI samples must be PpiSample objects")
            flags = (
                int(s.blocker)
                | (int(bool(s.skin_contact)) << 1)
                | (int(s.skin_contact is not None) << 2)
            )
            body += struct.pack("<BHHB", s.hr_bpm, s.ppi_ms, s.error_ms, flags)
        return head + b"\x00" + bytes(body)
    rows = [(s,) if isinstance(s, int) else tuple(s) for s in samples]  # type: ignore[arg-type]
    if not compressed:
        size, per = _RAW_LAYOUT[(kind, frame_type)]
        body = bytearray()
        for row in rows:
            if len(row) != per:
                raise ValueError(f"{kind} frame type {frame_type}: {per} values per sample")
            for v in row:
                body += int(v).to_bytes(size, "little", signed=True)
        return head + bytes([frame_type]) + bytes(body)
    fs = settings or DEFAULT_COMPRESSED[kind]
    if not rows:
        raise ValueError("a compressed frame needs at least the reference sample")
    size = math.ceil(fs.resolution_bits / 8)
    body = bytearray()
    for v in rows[0]:
        body += int(v).to_bytes(size, "little", signed=True)
    deltas = [
        tuple(b - a for a, b in zip(prev, cur, strict=True))
        for prev, cur in itertools.pairwise(rows)
    ]
    for start in range(0, len(deltas), 255):
        block = deltas[start : start + 255]
        width = delta_bits
        if width is None:
            width = max(max(abs(d).bit_length() + 1 for row in block for d in row), 1)
        bits = 0
        pos = 0
        for row in block:
            for d in row:
                bits |= (d & ((1 << width) - 1)) << pos
                pos += width
        body += bytes([width, len(block)]) + bits.to_bytes((pos + 7) // 8, "little")
    return head + bytes([frame_type | _COMPRESSED]) + bytes(body)
