"""PMD data frames: decoding and encoding ECG, PPG, accelerometer and PPI notifications.

Part of the pure Polar Measurement Data codec described in :mod:`sensors.pmd` (frame header,
raw sample layouts per measurement and frame type, delta compression, PPI samples).

References
----------
Polar Electro. Polar BLE SDK, technical documentation "Polar Measurement Data" (online
measurement, version 1.0, August 2024), tables 6-22 (frame layout and types) and section 4.3
(delta compression); documentation "PPI Data in Polar devices" (blocker and skin-contact
flags). https://github.com/polarofficial/polar-ble-sdk
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sensors.pmd_settings import _KIND_OF_TYPE, Kind, _bad, _type_name, _type_of

__all__ = [
    "DEFAULT_COMPRESSED",
    "FrameSettings",
    "PmdFrame",
    "PpiSample",
    "decode_frame",
    "encode_frame",
]

_HEADER = 10
_COMPRESSED = 0x80
_MAX_DELTA_BITS = 32

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
