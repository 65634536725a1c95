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

The codec is three modules, all re-exported here: :mod:`sensors.pmd_settings` (UUIDs,
measurement types, settings), :mod:`sensors.pmd_control` (control-point requests and
responses) and :mod:`sensors.pmd_frames` (data frames).

References
----------
Polar Electro. Polar BLE SDK, technical documentation "Polar Measurement Data" (online
measurement, version 1.0, August 2024), tables 1-6 (control point, UUIDs, settings, frame
layout), 7-22 (frame types) and section 4.3 (delta compression); documentation "PPI Data in
Polar devices" (blocker and skin-contact flags) and "Time system in Polar devices" (epoch
2000-01-01, nanoseconds). https://github.com/polarofficial/polar-ble-sdk
"""

from sensors.pmd_control import (
    ControlPointResponse,
    decode_control_point_response,
    decode_features,
    encode_control_point_response,
    encode_features,
    encode_settings_request,
    encode_start_request,
    encode_stop_request,
)
from sensors.pmd_frames import (
    DEFAULT_COMPRESSED,
    FrameSettings,
    PmdFrame,
    PpiSample,
    decode_frame,
    encode_frame,
)
from sensors.pmd_settings import (
    MEASUREMENT_TYPES,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    POLAR_EPOCH_UNIX_S,
    Kind,
    SettingType,
    decode_settings,
    encode_settings,
)

__all__ = [
    "DEFAULT_COMPRESSED",
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
