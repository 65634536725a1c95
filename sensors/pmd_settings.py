"""PMD identifiers and measurement settings: UUIDs, measurement types, the settings codec.

Part of the pure Polar Measurement Data codec described in :mod:`sensors.pmd` (service and
characteristic UUIDs, measurement type numbers, setting types and their byte sizes); the
control-point requests are in :mod:`sensors.pmd_control`, the data frames in
:mod:`sensors.pmd_frames`.

References
----------
Polar Electro. Polar BLE SDK, technical documentation "Polar Measurement Data" (online
measurement, version 1.0, August 2024), tables 1-5 (UUIDs, measurement types, settings);
documentation "Time system in Polar devices" (epoch 2000-01-01).
https://github.com/polarofficial/polar-ble-sdk
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Literal

from sensors.errors import MalformedPacketError

__all__ = [
    "MEASUREMENT_TYPES",
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "POLAR_EPOCH_UNIX_S",
    "Kind",
    "SettingType",
    "decode_settings",
    "encode_settings",
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
