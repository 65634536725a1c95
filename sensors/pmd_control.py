"""PMD control point: the requests a client writes and the device's responses and features.

Part of the pure Polar Measurement Data codec described in :mod:`sensors.pmd`: requests
``01``/``02``/``03 <type> [settings]`` (get settings, start, stop), responses ``f0 <op> <type>
<status> <more> [parameters]`` and the feature bits a read of the control point gives.

References
----------
Polar Electro. Polar BLE SDK, technical documentation "Polar Measurement Data" (online
measurement, version 1.0, August 2024), tables 1-6 (control point).
https://github.com/polarofficial/polar-ble-sdk
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sensors.pmd_settings import (
    MEASUREMENT_TYPES,
    SettingType,
    _bad,
    _type_name,
    _type_of,
    decode_settings,
    encode_settings,
)

__all__ = [
    "ControlPointResponse",
    "decode_control_point_response",
    "decode_features",
    "encode_control_point_response",
    "encode_features",
    "encode_settings_request",
    "encode_start_request",
    "encode_stop_request",
]

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
