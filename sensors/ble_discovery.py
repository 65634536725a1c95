"""Finding heart-rate devices: a scan for the Heart Rate service, and a probe for RR intervals.

:func:`scan_heart_rate_devices` lists the straps in range (optionally probing each);
:func:`probe_rr_intervals` connects to one and tells from its first packets whether it sends RR
intervals and which Polar Measurement Data streams it offers. bleak is imported lazily.

References
----------
Bluetooth SIG. Heart Rate Service 1.0 (2011), sections 2 (service UUID 0x180D) and 3.1.1.5
(RR-Interval field).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sensors.beat import SourceState, SourceStatus
from sensors.ble_gatt import _bluez_args, _translate, strongest_first
from sensors.ble_strap import BleStrapSource
from sensors.errors import BleError, MalformedPacketError
from sensors.heart_rate_measurement import (
    HEART_RATE_SERVICE_UUID,
    MAX_HEART_RR_MS,
    MIN_HEART_RR_MS,
)

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.device import BLEDevice

__all__ = [
    "HR_ONLY",
    "RR_IMPLAUSIBLE",
    "DiscoveredStrap",
    "RrProbe",
    "probe_rr_intervals",
    "scan_heart_rate_devices",
]

logger = logging.getLogger(__name__)

#: The probe's reason for a device that sends heart rate without RR values (``sends_rr`` False).
HR_ONLY = "sends heart rate only, no RR intervals"
#: The probe's reason for a device whose RR values are all implausible (``sends_rr`` False):
#: each left out as one no heart has, as the live source does (``BleStrapSource.rr_unusable``).
RR_IMPLAUSIBLE = (
    f"sends RR values that are all implausible (0, or outside {MIN_HEART_RR_MS:.0f}.."
    f"{MAX_HEART_RR_MS:.0f} ms): the device or its firmware is faulty"
)


@dataclass(frozen=True, slots=True)
class DiscoveredStrap:
    """A device found by :func:`scan_heart_rate_devices`.

    Attributes
    ----------
    name
        The advertised name, or ``None`` when the device did not send one.
    address
        The Bluetooth address (a UUID on macOS); pass it to :class:`BleStrapSource`.
    rssi
        Received signal strength in dBm of the latest advertisement (closer is higher).
    sends_rr
        Whether the device sends RR (beat-to-beat) intervals: ``True``/``False`` once it was
        probed (:func:`probe_rr_intervals`, ``scan_heart_rate_devices(probe_s=...)``), ``None``
        when unknown. An advertisement cannot say it: the Heart Rate Measurement flags of the
        first packets after connecting do.
    pmd_streams
        The Polar Measurement Data streams the device offers (``"ecg"``, ``"ppg"``, ``"acc"``,
        ``"ppi"``, in Polar's type order), read from its PMD control point while probing;
        ``()`` when it has no PMD service; ``None`` when unknown (not probed, or not
        connected).
    reason
        What the probe said (:attr:`RrProbe.reason`, e.g. ``"sends RR intervals"`` or, when
        ``sends_rr`` is ``None``, why it is unknown: ``"unknown: too few packets in 5 s"``, the
        connection error); ``None`` when not probed.
    """

    name: str | None
    address: str
    rssi: int | None
    sends_rr: bool | None = None
    pmd_streams: tuple[str, ...] | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RrProbe:
    """What :func:`probe_rr_intervals` learned from a device's first packets.

    Attributes
    ----------
    sends_rr
        ``True`` as soon as one packet carried an RR interval; ``False`` when
        ``_HR_ONLY_AFTER_PACKETS`` packets in a row carried heart rate only (``reason``
        :data:`HR_ONLY`) or RR values that were all left out as no heart's (``reason``
        :data:`RR_IMPLAUSIBLE`: a faulty device); ``None`` when the device sent too few packets
        in the time given (or could not be connected).
    heart_rate_bpm
        The last heart rate the device reported, if any.
    reason
        A sentence a UI can show as is.
    pmd_streams
        The Polar Measurement Data streams the device offers (Polar's type order: ecg, ppg,
        acc, ppi), ``()`` without a PMD service, ``None`` when the device could not be
        connected or its features not read.
    """

    sends_rr: bool | None
    heart_rate_bpm: float | None
    reason: str
    pmd_streams: tuple[str, ...] | None = None


async def scan_heart_rate_devices(
    *, timeout_s: float = 5.0, adapter: str | None = None, probe_s: float = 0.0
) -> list[DiscoveredStrap]:
    """Scan for devices that advertise the Heart Rate service (0x180D).

    Parameters
    ----------
    timeout_s
        How long to scan, in seconds.
    adapter
        The Bluetooth adapter to use (e.g. ``"hci1"``); default: the system's default one.
    probe_s
        When > 0, connect to each device found, one after the other, and listen to its first
        packets for at most this many seconds to learn whether it sends RR intervals and which
        PMD streams it offers (:func:`probe_rr_intervals`); ``sends_rr``, ``pmd_streams`` and
        ``reason`` stay ``None`` without a probe.

    Returns
    -------
    list[DiscoveredStrap]
        Heart-rate devices seen, strongest signal first. Devices that do not advertise 0x180D
        are left out even if the platform reported them.

    Raises
    ------
    AdapterOffError
        Bluetooth is off, missing, or its service is not running.
    BleError
        Any other Bluetooth failure.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 2 (service UUID 0x180D).
    """
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
    from bleak import BleakScanner

    try:
        found = await BleakScanner.discover(
            timeout_s,
            return_adv=True,
            service_uuids=[HEART_RATE_SERVICE_UUID],
            **_bluez_args(adapter),
        )
    except Exception as exc:
        raise _translate(exc, "scanning for heart-rate straps") from exc
    straps = [
        DiscoveredStrap(
            name=adv.local_name or device.name,
            address=device.address,
            rssi=adv.rssi,
        )
        for device, adv in found.values()
        if HEART_RATE_SERVICE_UUID in {u.lower() for u in adv.service_uuids}
    ]
    straps = strongest_first(straps, lambda s: s.rssi)
    if probe_s > 0:
        probed = []
        for strap in straps:
            result = await probe_rr_intervals(strap.address, listen_s=probe_s, adapter=adapter)
            probed.append(
                replace(
                    strap,
                    sends_rr=result.sends_rr,
                    pmd_streams=result.pmd_streams,
                    reason=result.reason,
                )
            )
        straps = probed
    return straps


async def probe_rr_intervals(
    address_or_name: str, *, listen_s: float = 5.0, adapter: str | None = None
) -> RrProbe:
    """Connect to a heart-rate device and tell from its first packets whether it sends RR.

    The Heart Rate Measurement characteristic (0x2A37) says per packet, in its flags, whether
    RR intervals are present; nothing in an advertisement says it. A device counts as sending
    RR at the first packet with an RR interval, and as heart-rate only (many watches'
    "broadcast HR" modes) after several packets in a row without one, the rule
    :class:`BleStrapSource` uses live. A strap whose packets say it has no skin contact sends
    no RR because it detects no beats, which says nothing about RR: the answer is then "no skin
    contact" with ``sends_rr`` ``None`` (after 3 s of such packets, or when ``listen_s`` ends
    with them).

    Parameters
    ----------
    address_or_name
        As for :class:`BleStrapSource`.
    listen_s
        The longest time to listen after connecting, in seconds.
    adapter
        The Bluetooth adapter (e.g. ``"hci1"``); default: the system's default one.

    Returns
    -------
    RrProbe
        ``sends_rr`` is ``None`` when the device could not be connected, sent too few
        packets in ``listen_s`` or reports no skin contact; connection failures are in
        ``reason``, never raised, so one unreachable device does not hide the others of a
        scan. ``pmd_streams``: what a read of the Polar Measurement Data control point says
        the device offers (its feature bits), ``()`` when it has no PMD service.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1.1.5 (RR-Interval field, flag
    bit 4).
    """
    if not listen_s > 0:
        raise ValueError(f"listen_s must be > 0, got {listen_s!r}")
    try:
        strap = _ProbeSource(
            address_or_name,
            reconnect=False,
            scan_timeout_s=max(listen_s, 1.0),
            connect_timeout_s=max(listen_s, 5.0),
            adapter=adapter,
        )
    except BleError as exc:  # e.g. a bad HRVPACE_BLE_CLOSE_TIMEOUT_S: a reason, never raised
        return RrProbe(None, None, f"unknown: {exc.reason}")
    hr_only = asyncio.Event()
    no_contact = asyncio.Event()

    def listen(status: SourceStatus) -> None:
        if status.state is SourceState.HR_ONLY:
            hr_only.set()
        elif status.state is SourceState.NO_CONTACT:
            no_contact.set()

    strap.add_status_listener(listen)
    try:
        async with strap:
            beats = aiter(strap)
            first_beat = asyncio.ensure_future(anext(beats))
            waiting_hr_only = asyncio.ensure_future(hr_only.wait())
            waiting_no_contact = asyncio.ensure_future(no_contact.wait())
            waiting = (first_beat, waiting_hr_only, waiting_no_contact)
            try:
                done, _ = await asyncio.wait(
                    waiting, timeout=listen_s, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in waiting:
                    task.cancel()
                await asyncio.gather(*waiting, return_exceptions=True)
                await beats.aclose()  # type: ignore[attr-defined]
            hr = strap.status.heart_rate_bpm
            if first_beat in done and first_beat.exception() is None:
                return RrProbe(True, hr, "sends RR intervals", strap.pmd_streams)
            if waiting_hr_only in done:
                # RR values all left out as no heart's (the live path's rr_unusable) are a
                # faulty device or firmware, not a device in heart-rate-only mode
                reason = RR_IMPLAUSIBLE if strap.rr_unusable else HR_ONLY
                return RrProbe(False, hr, reason, strap.pmd_streams)
            if first_beat in done:
                error = first_beat.exception()
                reason = getattr(error, "reason", str(error))
                return RrProbe(None, hr, f"unknown: {reason}", strap.pmd_streams)
            if waiting_no_contact in done or strap.without_contact:
                return RrProbe(
                    None, hr, "no skin contact: put the strap on (RR unknown)", strap.pmd_streams
                )
            return RrProbe(
                None, hr, f"unknown: too few packets in {listen_s:g} s", strap.pmd_streams
            )
    except BleError as exc:
        return RrProbe(None, None, f"unknown: {exc.reason}")


class _ProbeSource(BleStrapSource):
    """A strap source that also reads which PMD streams the device offers, on connecting."""

    #: The device's PMD streams (Polar's type order); () without a PMD service; None until read.
    pmd_streams: tuple[str, ...] | None = None

    @property
    def without_contact(self) -> bool:
        """Whether the latest packets said "no skin contact" (for 3 s yet or not)."""
        return self._no_contact_since is not None

    async def _after_subscribe(self, client: BleakClient, device: BLEDevice) -> None:
        from bleak.exc import BleakError

        from sensors.pmd import MEASUREMENT_TYPES, PMD_CONTROL_POINT_UUID, decode_features

        cp = client.services.get_characteristic(PMD_CONTROL_POINT_UUID)
        if cp is None:
            self.pmd_streams = ()
            return
        try:
            features = decode_features(bytes(await client.read_gatt_char(cp)))
        except (BleakError, MalformedPacketError, EOFError, OSError) as exc:
            # unknown, not "none": the probe's answer about RR must not depend on this read
            logger.debug("reading the PMD features of %s failed: %s", device.address, exc)
            return
        self.pmd_streams = tuple(sorted(features, key=MEASUREMENT_TYPES.__getitem__))
