"""Sources of heartbeats: BLE straps, file replay and a simulated person, as one async stream.

``async with source: async for beat in source: ...`` for every source.
"""

import logging

from sensors.beat import Beat, SourceState, SourceStatus
from sensors.clock import Clock, ScaledClock, SystemClock, VirtualClock
from sensors.errors import (
    AdapterOffError,
    BleError,
    ConnectionLostError,
    DeviceNotFoundError,
    MalformedPacketError,
    RecordingFormatError,
    SensorError,
)
from sensors.source import BeatSource

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AdapterOffError",
    "Beat",
    "BeatSource",
    "BleError",
    "Clock",
    "ConnectionLostError",
    "DeviceNotFoundError",
    "MalformedPacketError",
    "RecordingFormatError",
    "ScaledClock",
    "SensorError",
    "SourceState",
    "SourceStatus",
    "SystemClock",
    "VirtualClock",
]
