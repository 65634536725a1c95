"""Sources of heartbeats: BLE straps, file replay and a simulated person, as one async stream.

``async with source: async for beat in source: ...`` for every source.
"""

import logging

from sensors.beat import Beat, SourceState, SourceStatus
from sensors.ble import (
    BleStrapSource,
    DeviceInformation,
    DiscoveredStrap,
    RrProbe,
    probe_rr_intervals,
    scan_heart_rate_devices,
)
from sensors.ble_pmd import BleEcgSource, BlePpiSource
from sensors.ble_sources import BLE_STREAMS, make_ble_source, motion_of
from sensors.clock import Clock, ScaledClock, SystemClock, VirtualClock
from sensors.errors import (
    AdapterOffError,
    AmbiguousDeviceError,
    BleError,
    BlePermissionError,
    ConnectionLostError,
    DeviceNotFoundError,
    MalformedPacketError,
    NotPairedError,
    RecordingFormatError,
    SensorError,
)
from sensors.heart_rate_measurement import (
    HeartRateMeasurement,
    beats_from_packet,
    decode_heart_rate_measurement,
    encode_heart_rate_measurement,
)
from sensors.recording import (
    RECORDING_FORMATS,
    SIGNAL_FORMATS,
    Recording,
    RecordingWriter,
    detect_recording_format,
    read_recording,
)
from sensors.replay import ReplaySource
from sensors.simulator import BeatKind, SimulatedBeat, SimulatedPerson, SimulatorSource
from sensors.source import BeatSource

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "BLE_STREAMS",
    "RECORDING_FORMATS",
    "SIGNAL_FORMATS",
    "AdapterOffError",
    "AmbiguousDeviceError",
    "Beat",
    "BeatKind",
    "BeatSource",
    "BleEcgSource",
    "BleError",
    "BlePermissionError",
    "BlePpiSource",
    "BleStrapSource",
    "Clock",
    "ConnectionLostError",
    "DeviceInformation",
    "DeviceNotFoundError",
    "DiscoveredStrap",
    "HeartRateMeasurement",
    "MalformedPacketError",
    "NotPairedError",
    "Recording",
    "RecordingFormatError",
    "RecordingWriter",
    "ReplaySource",
    "RrProbe",
    "ScaledClock",
    "SensorError",
    "SimulatedBeat",
    "SimulatedPerson",
    "SimulatorSource",
    "SourceState",
    "SourceStatus",
    "SystemClock",
    "VirtualClock",
    "beats_from_packet",
    "decode_heart_rate_measurement",
    "detect_recording_format",
    "encode_heart_rate_measurement",
    "make_ble_source",
    "motion_of",
    "probe_rr_intervals",
    "read_recording",
    "scan_heart_rate_devices",
]
