"""Choosing the live Bluetooth source by the stream its beats come from, and its motion level.

A session's Bluetooth source is one of three (all :class:`~sensors.ble.BleStrapSource`, with
the same discovery, reconnects, gaps and status):

=========  ================================================  =================================
stream     beats from                                         device
=========  ================================================  =================================
``hr``     RR of the Heart Rate Measurement (0x2A37)          any strap or watch sending RR
``ppi``    PMD PPI: optical pulse-to-pulse intervals          Polar OH1, Verity Sense, watches
``ecg``    PMD ECG: R peaks detected live (NeuroKit2)         Polar H10
=========  ================================================  =================================

With ``motion=True`` a PMD source also starts the accelerometer, and :func:`motion_of` gives
the micro-break monitor its movement level per window
(``breathing.MicroBreakMonitor.on_window(..., motion_mg=...)``), so standing up or walking is
not taken for stress. Where no motion is available (``hr``, no accelerometer) the function is
``None`` and the monitor says that HR and RMSSD alone cannot tell movement from stress.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sensors.ble import BleStrapSource
from sensors.ble_pmd import BleEcgSource, BlePpiSource

__all__ = ["BLE_STREAMS", "make_ble_source", "motion_of"]

#: The streams a live Bluetooth source can take its beats from.
BLE_STREAMS: tuple[str, ...] = ("hr", "ppi", "ecg")


def make_ble_source(
    address_or_name: str, *, stream: str = "hr", motion: bool = False, **options: Any
) -> BleStrapSource:
    """The live source for ``stream`` (see the module docstring).

    Parameters
    ----------
    address_or_name
        The device's Bluetooth address or advertised name.
    stream
        ``"hr"`` (default), ``"ppi"`` or ``"ecg"``.
    motion
        PMD streams only: also start the accelerometer for a motion level per window.
    **options
        Passed to the source (``clock``, ``scan_timeout_s``, ``max_error_ms`` for PPI, ...).

    Raises
    ------
    ValueError
        An unknown stream, or ``motion`` with ``stream="hr"`` (the Heart Rate service has no
        accelerometer).
    """
    if stream not in BLE_STREAMS:
        raise ValueError(f"stream must be one of {', '.join(BLE_STREAMS)}, got {stream!r}")
    if stream == "hr":
        if motion:
            raise ValueError(
                "motion needs a Polar Measurement Data stream (ppi or ecg): the Heart Rate "
                "service has no accelerometer"
            )
        return BleStrapSource(address_or_name, **options)
    cls = BlePpiSource if stream == "ppi" else BleEcgSource
    return cls(address_or_name, motion=motion, **options)


def motion_of(source: object) -> Callable[[float], float | None] | None:
    """The movement level (milli-g) of the 60-s window ending at a session time.

    ``None`` when ``source`` cannot give one (not a PMD source, or motion was not requested).

    The function itself returns ``None`` while the level is unknown (accelerometer refused or
    too little signal yet; the source's ``motion_unavailable`` says why).
    """
    if not isinstance(source, (BlePpiSource, BleEcgSource)):
        return None
    if not source.motion_requested:
        return None
    return source.motion_level_mg
