"""A Bluetooth Low Energy heart-rate strap (Heart Rate service 0x180D) as a source of beats.

:func:`scan_heart_rate_devices` lists the straps in range; :class:`BleStrapSource` connects to
one by address or name, subscribes to Heart Rate Measurement (0x2A37) notifications and yields
:class:`~sensors.beat.Beat` objects. bleak is imported lazily, inside the functions, so that
``import sensors`` stays light and works where bleak's platform backend cannot load.

How the live stream behaves:

- Notifications go from bleak's callback into an :class:`asyncio.Queue` with their arrival time
  (``clock.now()``) and come out of the async iterator; the subscription is removed and the link
  closed in the iterator's ``finally`` (and again, harmlessly, when the context exits).
- Beats of one packet are back-dated from its arrival by the running sum of their RR intervals
  (:func:`sensors.heart_rate_measurement.beats_from_packet`). The session timeline starts at the
  R peak before the first RR interval of the first packet (docs/ARCHITECTURE.md, "Timeline").
- A malformed packet is counted in ``status.malformed_packets`` and skipped, never fatal.
- A device that sends heart rate without RR intervals (many watches) puts the status in
  ``SourceState.HR_ONLY`` with ``status.heart_rate_bpm`` kept current; it yields no beats then
  (an RR interval cannot be made up from a rounded heart rate) and goes back to ``STREAMING`` as
  soon as RR intervals arrive.
- When the strap drops, every packet already received is still yielded; then the source
  reconnects with exponential backoff (rescanning when BlueZ has forgotten the device), marks
  ``gap_before`` on the first beat after the reconnect, and raises
  :class:`~sensors.errors.ConnectionLostError` only after ``give_up_after_s``. Every packet
  carries the connection it came on (a number per connection attempt), and the first beat of
  a connection other than the previous beat's is marked, so a gap is marked however the drops
  interleave with the reconnects (a strap dropping again while a reconnect completes, packets
  of an attempt that then failed, a drop noticed late).

References
----------
Bluetooth SIG. Heart Rate Service 1.0 (2011); Battery Service 1.0 (2011); Device Information
Service 1.1 (2011).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sensors.beat import Beat, SourceState, SourceStatus
from sensors.clock import Clock, SystemClock
from sensors.errors import (
    AdapterOffError,
    BleError,
    ConnectionLostError,
    DeviceNotFoundError,
    MalformedPacketError,
)
from sensors.heart_rate_measurement import (
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    HeartRateMeasurement,
    beats_from_packet,
    decode_heart_rate_measurement,
)
from sensors.source import BeatSource

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice

__all__ = [
    "BleStrapSource",
    "DeviceInformation",
    "DiscoveredStrap",
    "RrProbe",
    "probe_rr_intervals",
    "scan_heart_rate_devices",
]

logger = logging.getLogger(__name__)

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: Device Information (0x180A) characteristics read at connect time, by DeviceInformation field.
DEVICE_INFORMATION_UUIDS = {
    "manufacturer_name": "00002a29-0000-1000-8000-00805f9b34fb",
    "model_number": "00002a24-0000-1000-8000-00805f9b34fb",
    "serial_number": "00002a25-0000-1000-8000-00805f9b34fb",
    "hardware_revision": "00002a27-0000-1000-8000-00805f9b34fb",
    "firmware_revision": "00002a26-0000-1000-8000-00805f9b34fb",
    "software_revision": "00002a28-0000-1000-8000-00805f9b34fb",
}

# Bluetooth address (Linux, Windows) or CoreBluetooth UUID (macOS).
_ADDRESS_RE = re.compile(
    r"^(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)
# Consecutive packets without RR before the stream is said to be HR-only (a strap sends an
# occasional packet without RR when no beat ended since the last one).
_HR_ONLY_AFTER_PACKETS = 3


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
    """

    name: str | None
    address: str
    rssi: int | None
    sends_rr: bool | None = None
    pmd_streams: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RrProbe:
    """What :func:`probe_rr_intervals` learned from a device's first packets.

    Attributes
    ----------
    sends_rr
        ``True`` as soon as one packet carried an RR interval; ``False`` when
        ``_HR_ONLY_AFTER_PACKETS`` packets in a row carried heart rate only; ``None`` when the
        device sent too few packets in the time given (or could not be connected).
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


@dataclass(frozen=True, slots=True)
class DeviceInformation:
    """What a strap's Device Information service (0x180A) says about it; absent fields are None."""

    manufacturer_name: str | None = None
    model_number: str | None = None
    serial_number: str | None = None
    hardware_revision: str | None = None
    firmware_revision: str | None = None
    software_revision: str | None = None

    def summary(self) -> str:
        """A short human-readable line, e.g. ``"Polar Electro Oy H10, firmware 3.1.1"``."""
        parts = [p for p in (self.manufacturer_name, self.model_number) if p]
        text = " ".join(parts)
        if self.firmware_revision:
            text = (
                f"{text}, firmware {self.firmware_revision}"
                if text
                else (f"firmware {self.firmware_revision}")
            )
        return text


@dataclass(frozen=True, slots=True)
class _Packet:
    data: bytes
    arrived_at: float
    #: The connection (attempt) it came on: see ``BleStrapSource._connection``.
    connection: int
    #: The characteristic it came from: "hr" (0x2A37) or another a subclass subscribes to.
    channel: str = "hr"


@dataclass(frozen=True, slots=True)
class _Dropped:
    at: float


def _is_address(text: str) -> bool:
    return bool(_ADDRESS_RE.match(text))


def _bluez_args(adapter: str | None) -> dict[str, Any]:
    return {} if adapter is None else {"bluez": {"adapter": adapter}}


def _translate(exc: BaseException, doing: str) -> BleError:
    """Turn a bleak / D-Bus / OS error into the hrvpace error a UI can show as is."""
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDBusError,
        BleakDeviceNotFoundError,
    )

    if isinstance(exc, BleakBluetoothNotAvailableError):
        reasons = {
            BleakBluetoothNotAvailableReason.POWERED_OFF: (
                "Bluetooth is turned off: turn it on and try again"
            ),
            BleakBluetoothNotAvailableReason.NO_BLUETOOTH: "no Bluetooth adapter was found",
            BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
                "the Bluetooth adapter cannot act as a Bluetooth Low Energy central"
            ),
            BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: (
                "access to Bluetooth was denied by the system"
            ),
        }
        return AdapterOffError(reasons.get(exc.reason, f"Bluetooth is not available: {exc}"))
    if isinstance(exc, BleakDBusError):
        if exc.dbus_error == "org.bluez.Error.NotReady":
            return AdapterOffError("the Bluetooth adapter is not ready: is it turned off?")
        if exc.dbus_error in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            return AdapterOffError("the Bluetooth service (bluetoothd) is not running")
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError(f"{doing}: the device is no longer known to Bluetooth")
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        return AdapterOffError(
            f"cannot reach the Bluetooth service on the system D-Bus ({exc.strerror or exc})"
        )
    if isinstance(exc, TimeoutError):
        return BleError(f"{doing}: timed out")
    return BleError(f"{doing}: {exc}")


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
        PMD streams it offers (:func:`probe_rr_intervals`); ``sends_rr`` and ``pmd_streams``
        stay ``None`` without a probe.

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
    straps.sort(key=lambda s: -(s.rssi if s.rssi is not None else -1000))
    if probe_s > 0:
        probed = []
        for strap in straps:
            result = await probe_rr_intervals(strap.address, listen_s=probe_s, adapter=adapter)
            probed.append(replace(strap, sends_rr=result.sends_rr, pmd_streams=result.pmd_streams))
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
    :class:`BleStrapSource` uses live.

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
        ``sends_rr`` is ``None`` when the device could not be connected or sent too few
        packets in ``listen_s``; connection failures are in ``reason``, never raised, so one
        unreachable device does not hide the others of a scan. ``pmd_streams``: what a read
        of the Polar Measurement Data control point says the device offers (its feature
        bits), ``()`` when it has no PMD service.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1.1.5 (RR-Interval field, flag
    bit 4).
    """
    if not listen_s > 0:
        raise ValueError(f"listen_s must be > 0, got {listen_s!r}")
    strap = _ProbeSource(
        address_or_name,
        reconnect=False,
        scan_timeout_s=max(listen_s, 1.0),
        connect_timeout_s=max(listen_s, 5.0),
        adapter=adapter,
    )
    hr_only = asyncio.Event()

    def listen(status: SourceStatus) -> None:
        if status.state is SourceState.HR_ONLY:
            hr_only.set()

    strap.add_status_listener(listen)
    try:
        async with strap:
            beats = aiter(strap)
            first_beat = asyncio.ensure_future(anext(beats))
            waiting_hr_only = asyncio.ensure_future(hr_only.wait())
            try:
                done, _ = await asyncio.wait(
                    {first_beat, waiting_hr_only},
                    timeout=listen_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for task in (first_beat, waiting_hr_only):
                    task.cancel()
                await asyncio.gather(first_beat, waiting_hr_only, return_exceptions=True)
                await beats.aclose()  # type: ignore[attr-defined]
            hr = strap.status.heart_rate_bpm
            if first_beat in done and first_beat.exception() is None:
                return RrProbe(True, hr, "sends RR intervals", strap.pmd_streams)
            if waiting_hr_only in done:
                return RrProbe(
                    False, hr, "sends heart rate only, no RR intervals", strap.pmd_streams
                )
            if first_beat in done:
                error = first_beat.exception()
                reason = getattr(error, "reason", str(error))
                return RrProbe(None, hr, f"unknown: {reason}", strap.pmd_streams)
            return RrProbe(
                None, hr, f"unknown: too few packets in {listen_s:g} s", strap.pmd_streams
            )
    except BleError as exc:
        return RrProbe(None, None, f"unknown: {exc.reason}")


class BleStrapSource(BeatSource):
    """Beats from a Bluetooth heart-rate strap (bleak), reconnecting when it drops.

    Usage::

        async with BleStrapSource("F0:13:C3:AA:BB:CC") as strap:
            async for beat in strap:
                ...

    Parameters
    ----------
    address_or_name
        The strap's Bluetooth address (``AA:BB:CC:DD:EE:FF``, a UUID on macOS) or its advertised
        name (compared without regard to case).
    clock
        Where arrival times and backoff sleeps come from; default :class:`SystemClock`.
    reconnect
        Reconnect when the strap drops; when ``False`` a drop ends the stream with
        :class:`ConnectionLostError`.
    initial_backoff_s, max_backoff_s
        The wait between reconnect attempts starts at ``initial_backoff_s`` and doubles up to
        ``max_backoff_s``.
    give_up_after_s
        Raise :class:`ConnectionLostError` when reconnecting has failed for this long.
    scan_timeout_s
        How long one scan for the strap may take before it counts as not found.
    connect_timeout_s
        How long one connection attempt may take.
    adapter
        The Bluetooth adapter (e.g. ``"hci1"``); default: the system's default one.

    Raises
    ------
    AdapterOffError
        On entering the context: Bluetooth is off, missing, or its service is not running.
    DeviceNotFoundError
        On entering the context: no device with that address or name was seen.
    BleError
        On entering the context: the device has no Heart Rate Measurement characteristic, or
        connecting failed.
    ConnectionLostError
        While iterating: the strap dropped and could not be reconnected.

    References
    ----------
    Bluetooth SIG. Heart Rate Service 1.0 (2011), section 3.1 (Heart Rate Measurement).
    """

    def __init__(
        self,
        address_or_name: str,
        *,
        clock: Clock | None = None,
        reconnect: bool = True,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        give_up_after_s: float = 300.0,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        adapter: str | None = None,
    ) -> None:
        super().__init__()
        target = address_or_name.strip()
        if not target:
            raise ValueError("address_or_name must not be empty")
        for name, value in (
            ("initial_backoff_s", initial_backoff_s),
            ("max_backoff_s", max_backoff_s),
            ("scan_timeout_s", scan_timeout_s),
            ("connect_timeout_s", connect_timeout_s),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not give_up_after_s >= 0:
            raise ValueError(f"give_up_after_s must be >= 0, got {give_up_after_s!r}")
        self._target = target
        self._by_address = _is_address(target)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._reconnect = reconnect
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max(max_backoff_s, initial_backoff_s)
        self._give_up_after_s = give_up_after_s
        self._scan_timeout_s = scan_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._adapter = adapter

        self._queue: asyncio.Queue[_Packet | _Dropped] = asyncio.Queue()
        self._client: BleakClient | None = None
        self._device: BLEDevice | None = None
        self._hr_char: BleakGATTCharacteristic | None = None
        self._battery_char: BleakGATTCharacteristic | None = None
        self._closing = False
        self._session_start: float | None = None
        self._last_t_s: float | None = None
        #: Number of the latest connection attempt (its notifications carry it), and of the
        #: connection the last yielded beat came on.
        self._connection = 0
        self._last_connection: int | None = None
        self._packets_without_rr = 0
        self._reconnects = 0
        #: What the strap's Device Information service said (None before connecting / absent).
        self.device_info: DeviceInformation | None = None

    # -- BeatSource -----------------------------------------------------------------------------

    async def _open(self) -> None:
        self._closing = False
        what = "address" if self._by_address else "name"
        self._publish(SourceState.CONNECTING, f"looking for the strap with {what} {self._target}")
        try:
            await self._connect(use_known_device=False)
        except BleError as exc:
            self._publish(SourceState.FAILED, exc.reason)
            raise
        self._publish(SourceState.STREAMING, self._connected_message())

    async def _close(self) -> None:
        await self._teardown()
        if self._status.state not in (SourceState.FAILED, SourceState.ENDED):
            self._publish(SourceState.ENDED, f"disconnected from {self._label()}")

    async def _beats(self) -> AsyncIterator[Beat]:
        if self._client is None and self._status.state is SourceState.IDLE:
            raise BleError("open the strap first: 'async with BleStrapSource(...) as strap'")
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Dropped):
                    await self._handle_drop()
                    continue
                try:
                    beats = self._beats_of_packet(item)
                except MalformedPacketError as exc:
                    logger.debug("skipping a malformed packet: %s", exc.reason)
                    self._publish(
                        malformed_packets=self._status.malformed_packets + 1,
                        message=f"skipped a malformed packet: {exc.reason}",
                    )
                    continue
                for beat in beats:
                    yield beat
        finally:
            await self._teardown()

    def _beats_of_packet(self, item: _Packet) -> tuple[Beat, ...]:
        """The beats of one notification.

        A subclass with more characteristics dispatches on ``item.channel``. Raises
        :class:`MalformedPacketError` for a packet to skip.
        """
        measurement = decode_heart_rate_measurement(item.data)
        return self._beats_of(measurement, item.arrived_at, item.connection)

    # -- packets ---------------------------------------------------------------------------------

    def _beats_of(
        self, m: HeartRateMeasurement, arrived_at: float, connection: int
    ) -> tuple[Beat, ...]:
        if self._session_start is None:
            self._session_start = arrived_at - sum(m.rr_ms) / 1000.0
        state = self._status.state
        message: str | None = None
        if m.rr_ms:
            self._packets_without_rr = 0
            if state is SourceState.HR_ONLY:
                state, message = SourceState.STREAMING, f"RR intervals from {self._label()} again"
        else:
            self._packets_without_rr += 1
            if self._packets_without_rr >= _HR_ONLY_AFTER_PACKETS and state is not (
                SourceState.HR_ONLY
            ):
                state = SourceState.HR_ONLY
                message = (
                    f"{self._label()} sends heart rate without RR intervals (HR-only mode): "
                    "heart rate is shown, HRV needs RR intervals"
                )
        hr = float(m.heart_rate_bpm)
        if state is not self._status.state or hr != self._status.heart_rate_bpm:
            self._publish(state, message, heart_rate_bpm=hr)
        beats = beats_from_packet(
            m,
            arrived_at=arrived_at,
            session_start=self._session_start,
            # beats of another connection than the previous beat's: the link was down between
            gap_before=self._last_connection is not None and connection != self._last_connection,
            not_before_s=self._last_t_s,
        )
        if beats:
            self._last_connection = connection
            self._last_t_s = beats[-1].t_s
        return beats

    def _on_notify(self, connection: int, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._queue.put_nowait(_Packet(bytes(data), self._clock.now(), connection))

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        if self._closing or not data:
            return
        pct = min(int(data[0]), 100)
        if pct != self._status.battery_pct:
            self._publish(battery_pct=pct)

    def _on_disconnected(self, client: BleakClient) -> None:
        if self._closing or client is not self._client:
            return
        self._queue.put_nowait(_Dropped(self._clock.now()))

    # -- connection ------------------------------------------------------------------------------

    async def _find(self) -> BLEDevice:
        from bleak import BleakScanner

        target = self._target.casefold()
        if self._by_address:

            def match(device: Any, adv: Any) -> bool:
                return bool(device.address.casefold() == target)
        else:

            def match(device: Any, adv: Any) -> bool:
                name = adv.local_name or device.name or ""
                return bool(name.casefold() == target)

        try:
            device = await BleakScanner.find_device_by_filter(
                match, timeout=self._scan_timeout_s, **_bluez_args(self._adapter)
            )
        except Exception as exc:
            raise _translate(exc, f"scanning for {self._target}") from exc
        if device is None:
            what = "address" if self._by_address else "name"
            raise DeviceNotFoundError(
                f"no strap with {what} {self._target} was found in {self._scan_timeout_s:g} s: "
                "is it worn (electrodes moistened), in range, and not connected to another app?"
            )
        return device

    async def _connect(self, *, use_known_device: bool) -> None:
        """Find (unless a known device is to be tried first), connect, read info, subscribe."""
        from bleak.exc import BleakError

        device = self._device if use_known_device else None
        if device is not None:
            try:
                await self._connect_to(device)
                return
            except AdapterOffError:
                raise
            except (BleError, BleakError) as exc:
                # BlueZ may have forgotten the device (its object is gone) or it moved: rescan.
                logger.debug("reconnecting to the known device failed (%s); rescanning", exc)
        device = await self._find()
        await self._connect_to(device)

    async def _connect_to(self, device: BLEDevice) -> None:
        from bleak import BleakClient

        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnected,
            timeout=self._connect_timeout_s,
            **_bluez_args(self._adapter),
        )
        try:
            await client.connect()
            char = client.services.get_characteristic(HEART_RATE_MEASUREMENT_UUID)
            if char is None:
                raise BleError(
                    f"{device.name or device.address} has no Heart Rate Measurement "
                    "characteristic (0x2A37): it is not a heart-rate strap"
                )
            self._device = device
            self._hr_char = char
            await self._read_battery_and_info(client)
            self._connection += 1
            await client.start_notify(char, functools.partial(self._on_notify, self._connection))
            await self._after_subscribe(client, device)
            if not client.is_connected:  # dropped while subscribing: its callback was ignored
                raise BleError(f"{device.name or device.address} dropped while connecting")
        except BaseException as exc:
            await _quiet_disconnect(client)
            if isinstance(exc, BleError) or not isinstance(exc, Exception):
                raise
            raise _translate(exc, f"connecting to {device.name or device.address}") from exc
        # Only now does a disconnect of this client mean "the strap dropped" (_on_disconnected).
        self._client = client
        logger.info("connected to %s (%s)", device.name, device.address)

    async def _after_subscribe(self, client: BleakClient, device: BLEDevice) -> None:
        """Start a subclass's other streams: called once Heart Rate notifications are on.

        Called on every connection; errors are translated and the link closed.
        """

    async def _before_disconnect(self, client: BleakClient) -> None:
        """Called before the notifications are removed when the source closes."""

    async def _read_battery_and_info(self, client: BleakClient) -> None:
        from bleak.exc import BleakError

        battery: int | None = self._status.battery_pct
        self._battery_char = None
        char = client.services.get_characteristic(BATTERY_LEVEL_UUID)
        if char is not None:
            try:
                value = await client.read_gatt_char(char)
                if value:
                    battery = min(int(value[0]), 100)
            except BleakError as exc:
                logger.debug("battery level unreadable: %s", exc)
            if "notify" in char.properties:
                try:
                    await client.start_notify(char, self._on_battery)
                    self._battery_char = char
                except BleakError as exc:
                    logger.debug("battery level notifications unavailable: %s", exc)
        info: dict[str, str] = {}
        for field_name, uuid in DEVICE_INFORMATION_UUIDS.items():
            char = client.services.get_characteristic(uuid)
            if char is None:
                continue
            try:
                raw = await client.read_gatt_char(char)
            except BleakError as exc:
                logger.debug("device information %s unreadable: %s", field_name, exc)
                continue
            text = bytes(raw).split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
            if text:
                info[field_name] = text
        if info:
            self.device_info = DeviceInformation(**info)
        device = self._device
        self._status = replace(
            self._status,
            battery_pct=battery,
            device_name=(device.name if device is not None else None) or self._status.device_name,
            device_address=device.address if device is not None else None,
        )

    async def _handle_drop(self) -> None:
        old, self._client = self._client, None
        if old is not None:
            await _quiet_disconnect(old)
        if not self._reconnect:
            reason = f"the connection to {self._label()} was lost"
            self._publish(SourceState.FAILED, reason)
            raise ConnectionLostError(reason)
        self._publish(
            SourceState.RECONNECTING, f"the connection to {self._label()} was lost; reconnecting"
        )
        started = self._clock.now()
        delay = self._initial_backoff_s
        attempts = 0
        while True:
            attempts += 1
            try:
                await self._connect(use_known_device=True)
                break
            except BleError as exc:
                last = exc
                logger.info("reconnect attempt %d to %s failed: %s", attempts, self._label(), exc)
            if self._clock.now() - started + delay > self._give_up_after_s:
                reason = (
                    f"lost {self._label()} and could not reconnect in {attempts} attempts over "
                    f"{self._clock.now() - started:.0f} s: {last.reason}"
                )
                self._publish(SourceState.FAILED, reason)
                raise ConnectionLostError(reason) from last
            self._publish(
                SourceState.RECONNECTING,
                f"reconnecting to {self._label()} (attempt {attempts + 1} in {delay:g} s): "
                f"{last.reason}",
            )
            await self._clock.sleep(delay)
            delay = min(delay * 2.0, self._max_backoff_s)
        self._reconnects += 1
        self._packets_without_rr = 0
        self._publish(SourceState.STREAMING, f"reconnected: {self._connected_message()}")

    async def _teardown(self) -> None:
        self._closing = True
        client, self._client = self._client, None
        if client is None:
            return
        from bleak.exc import BleakError

        if client.is_connected:
            await self._before_disconnect(client)
        for char in (self._hr_char, self._battery_char):
            if char is None or not client.is_connected:
                continue
            try:
                await client.stop_notify(char)
            except (BleakError, EOFError, OSError) as exc:
                logger.debug("stop_notify failed: %s", exc)
        await _quiet_disconnect(client)

    # -- status ----------------------------------------------------------------------------------

    def _label(self) -> str:
        return self._status.device_name or self._target

    def _connected_message(self) -> str:
        text = f"connected to {self._label()}"
        if self._status.device_address and self._status.device_address != self._label():
            text += f" ({self._status.device_address})"
        if self.device_info is not None and self.device_info.summary():
            text += f", {self.device_info.summary()}"
        if self._status.battery_pct is not None:
            text += f", battery {self._status.battery_pct}%"
        return text

    def _publish(
        self,
        state: SourceState | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> None:
        changes: dict[str, Any] = dict(fields)
        if state is not None:
            changes["state"] = state
        if message is not None:
            changes["message"] = message
        self._set_status(replace(self._status, **changes))


async def _quiet_disconnect(client: BleakClient) -> None:
    """Disconnect and release the client's D-Bus connection; never raises."""
    try:
        await client.disconnect()
    except Exception as exc:  # the link is going away anyway
        logger.debug("disconnect failed: %s", exc)


class _ProbeSource(BleStrapSource):
    """A strap source that also reads which PMD streams the device offers, on connecting."""

    #: The device's PMD streams (Polar's type order); () without a PMD service; None until read.
    pmd_streams: tuple[str, ...] | None = None

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
