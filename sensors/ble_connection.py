"""The link to one Bluetooth heart-rate device: find, connect, subscribe, reconnect, close.

:class:`BleConnection` is the part of :class:`~sensors.ble_strap.BleStrapSource` (and of the
PMD sources built on it) that owns the bleak client:

- it finds the device by address or name, connects, reads its battery level and Device
  Information, and subscribes to Heart Rate Measurement (0x2A37) notifications; a subclass
  starts its other streams in :meth:`BleConnection._after_subscribe`;
- notifications go from bleak's callback into an :class:`asyncio.Queue` with their arrival
  time (``clock.now()``) and the connection (a number per connection attempt) they came on; a
  disconnect of the current client goes into the same queue;
- after a drop it reconnects with exponential backoff (rescanning when BlueZ has forgotten the
  device) to the device it connected to first, by that device's address even when it was
  found by name (another strap with the same name, a colleague's, is never taken over), and
  raises :class:`~sensors.errors.ConnectionLostError` only after
  ``give_up_after_s``;
- it publishes the source's status (connecting, streaming, reconnecting, failed, ended).

Turning the queued packets into beats is the subclass's job (:mod:`sensors.ble_strap`). bleak
is imported lazily, inside the methods.

References
----------
Bluetooth SIG. Heart Rate Service 1.0 (2011); Battery Service 1.0 (2011); Device Information
Service 1.1 (2011).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sensors.beat import SourceState
from sensors.ble_gatt import (
    BATTERY_LEVEL_UUID,
    DEVICE_INFORMATION_UUIDS,
    DeviceInformation,
    _bluez_args,
    _is_address,
    _quiet_disconnect,
    _translate,
    choose_by_name,
    name_matches,
)
from sensors.clock import Clock, SystemClock
from sensors.errors import (
    AdapterOffError,
    BleError,
    ConnectionLostError,
    DeviceNotFoundError,
)
from sensors.heart_rate_measurement import HEART_RATE_MEASUREMENT_UUID
from sensors.source import BeatSource

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice

__all__ = ["BleConnection"]

logger = logging.getLogger(__name__)

#: After the first device with the requested name is seen, how long the scan goes on to see
#: whether another device has the same name (then the name is refused: the address is needed).
#: A device advertising less often than this can still be missed: an address is never ambiguous.
_SAME_NAME_WAIT_S = 2.0

#: Tries of the first connection when BlueZ answers with a transient error (another connect in
#: progress, an attempt aborted, the adapter not ready yet), ``initial_backoff_s`` apart and
#: doubling: real BlueZ gives these often enough on a first connect that users "just run it
#: again". Not-found, not-permitted and not-paired errors are not retried.
_FIRST_CONNECT_TRIES = 3

#: A battery level (%) at or below which a strap that is lost for good may well be flat: the
#: give-up reason says the last level then.
_LOW_BATTERY_PCT = 10

#: How long closing the link may take, at most, by default: turning the strap's streams and
#: notifications off (PMD stop requests, ``StopNotify``), then again for the ``Disconnect``
#: call on top of bleak's own wait for the link to go (:data:`_BLEAK_DISCONNECT_WAIT_S`).
#: A BlueZ that never answers would otherwise hold the close, and the process, forever.
_CLOSE_TIMEOUT_S = 5.0
#: bleak (BlueZ backend) waits up to 10 s after ``Disconnect``'s answer for the link to go.
_BLEAK_DISCONNECT_WAIT_S = 10.0
#: The environment variable that sets ``close_timeout_s`` when the code does not.
CLOSE_TIMEOUT_ENV = "HRVPACE_BLE_CLOSE_TIMEOUT_S"


def _close_timeout_from_env() -> float:
    text = os.environ.get(CLOSE_TIMEOUT_ENV, "").strip()
    if not text:
        return _CLOSE_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise BleError(f"{CLOSE_TIMEOUT_ENV} must be a number of seconds > 0, got {text!r}")
    return value


@dataclass(frozen=True, slots=True)
class _Packet:
    data: bytes
    arrived_at: float
    #: The connection (attempt) it came on: see ``BleConnection._connection``.
    connection: int
    #: The characteristic it came from: "hr" (0x2A37) or another a subclass subscribes to.
    channel: str = "hr"


@dataclass(frozen=True, slots=True)
class _Dropped:
    at: float


class BleConnection(BeatSource):
    """The bleak side of a Bluetooth heart-rate source (see the module docstring).

    Its options (address or name, clock, reconnect and backoff, timeouts, adapter) are
    documented on :class:`~sensors.ble_strap.BleStrapSource`, the class to use; this base has
    no beats of its own (:meth:`~sensors.source.BeatSource._beats` is the subclass's).
    """

    #: Whether the Heart Rate Measurement notifications carry this source's beats (a PMD
    #: source's come from its own stream, :mod:`sensors.ble_pmd`).
    _BEATS_FROM_HEART_RATE = True
    #: The stream the beats come from when it is not the heart rate's (``"PPI"``, ``"ECG"``),
    #: for the lines that name it; ``None`` for the Heart Rate Measurement.
    beat_stream: str | None = None

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
        close_timeout_s: float | None = None,
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
        if close_timeout_s is None:
            close_timeout_s = _close_timeout_from_env()
        elif not (math.isfinite(close_timeout_s) and close_timeout_s > 0):
            raise ValueError(f"close_timeout_s must be > 0, got {close_timeout_s!r}")
        if not give_up_after_s >= 0:
            raise ValueError(f"give_up_after_s must be >= 0, got {give_up_after_s!r}")
        self._target = target
        self._by_address = _is_address(target)
        #: The address of the device connected to first: every later connection (reconnects,
        #: a reopen) is to this device only, whatever the target was (a name is for the first
        #: find only: two straps may share it).
        self._pinned_address: str | None = None
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._reconnect = reconnect
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max(max_backoff_s, initial_backoff_s)
        self._give_up_after_s = give_up_after_s
        self._scan_timeout_s = scan_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._adapter = adapter
        self._close_timeout_s = close_timeout_s

        self._queue: asyncio.Queue[_Packet | _Dropped] = asyncio.Queue()
        self._client: BleakClient | None = None
        self._device: BLEDevice | None = None
        self._hr_char: BleakGATTCharacteristic | None = None
        self._battery_char: BleakGATTCharacteristic | None = None
        self._closing = False
        #: Why the last close of the link was cut short (None: it ran to its end).
        self.close_cut_short: str | None = None
        #: Number of the latest connection attempt (its notifications carry it).
        self._connection = 0
        self._reconnects = 0
        #: What the strap's Device Information service said (None before connecting / absent).
        self.device_info: DeviceInformation | None = None
        #: When (``clock.now()``) the latest notification with data came (heart rate, or a
        #: subclass's stream), on any connection; None before the first. A strap connected
        #: and sending nothing shows here (``hrvpace record`` says so).
        self.last_data_at: float | None = None
        #: The same on a monotonic clock (``time.monotonic()``): how long a strap has sent
        #: nothing is measured on it, so a step of the wall clock (NTP at boot) is no silence.
        self.last_data_monotonic: float | None = None
        #: The same for the notifications that carry this source's beats only (heart rate
        #: here; a PMD source's own stream, :mod:`sensors.ble_pmd`), since the latest
        #: connection's first (None before it): a session whose beats stop while other data
        #: goes on (heart rate of a PPI sensor) is silent all the same (rev12 review).
        self.beat_data_monotonic: float | None = None
        #: When (``time.monotonic()``) the latest connection subscribed (None before the
        #: first): a stream that sent no frame since is watched from here once its start-up
        #: grace passed (:func:`sensors.silence.latest_beat_data`).
        self.connected_monotonic: float | None = None

    @property
    def closing(self) -> bool:
        """Whether the link's close has begun (the source ended, failed or was stopped).

        From then on the close (notifications off, ``Disconnect``) should run to its end: a
        caller cancelling it would leave the strap connected.
        """
        return self._closing

    # -- BeatSource -----------------------------------------------------------------------------

    async def _open(self) -> None:
        self._closing = False
        what = "address" if self._by_address else "name"
        self._publish(SourceState.CONNECTING, f"looking for the strap with {what} {self._target}")
        delay = self._initial_backoff_s
        attempt = 1
        while True:
            try:
                await self._connect(use_known_device=False)
                break
            except BleError as exc:
                # a busy or aborted BlueZ (exc.transient) is tried again a few times; a
                # definitive error (not found, not permitted, not paired) ends it at once
                if not exc.transient or attempt >= _FIRST_CONNECT_TRIES:
                    self._publish(SourceState.FAILED, exc.reason)
                    raise
                logger.info("connect attempt %d failed (%s); trying again", attempt, exc.reason)
                attempt += 1
                self._publish(
                    SourceState.CONNECTING,
                    f"trying again (attempt {attempt} of {_FIRST_CONNECT_TRIES} in {delay:g} s): "
                    f"{exc.reason}",
                )
                await self._clock.sleep(delay)
                delay = min(delay * 2.0, self._max_backoff_s)
        self._publish(SourceState.STREAMING, self._connected_message())

    async def _close(self) -> None:
        await self._teardown()
        if self._status.state not in (SourceState.FAILED, SourceState.ENDED):
            message = f"disconnected from {self._label()}"
            if self.close_cut_short is not None:
                message = f"closed the link to {self._label()}, cut short: {self.close_cut_short}"
            self._publish(SourceState.ENDED, message)

    def _on_notify(self, connection: int, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.last_data_at = now = self._clock.now()
        self.last_data_monotonic = time.monotonic()
        if self._BEATS_FROM_HEART_RATE:
            self.beat_data_monotonic = self.last_data_monotonic
        self._queue.put_nowait(_Packet(bytes(data), now, connection))

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
        if self._pinned_address is None and not self._by_address:
            return await self._find_by_name()
        from bleak import BleakScanner

        address = self._pinned_address or self._target
        target = address.casefold()

        def match(device: Any, adv: Any) -> bool:
            return bool(device.address.casefold() == target)

        try:
            device = await BleakScanner.find_device_by_filter(
                match, timeout=self._scan_timeout_s, **_bluez_args(self._adapter)
            )
        except Exception as exc:
            raise _translate(exc, f"scanning for {address}", address=address) from exc
        if device is None:
            raise self._not_found("address", address)
        return device

    async def _find_by_name(self) -> BLEDevice:
        """The one device advertising the target name; refused when several do.

        The name is compared without case. When no device has the name itself, one whose name
        starts with it followed by a separator is taken (``Polar H10`` finds ``Polar H10
        1A2B3C4D``): one such device only, several are refused with their names.

        After the first device with the name is seen the scan goes on for
        ``_SAME_NAME_WAIT_S`` (at most the scan timeout), so that of two straps with that
        name neither is chosen by which one advertised first.
        """
        from bleak import BleakScanner

        # every device whose name is the target or starts with it, by address: (the device,
        # its name, its RSSI); choose_by_name picks among them
        seen: dict[str, tuple[BLEDevice, str, int | None]] = {}
        first_seen = asyncio.Event()

        def on_advertisement(device: BLEDevice, adv: Any) -> None:
            name = adv.local_name or device.name or ""
            if name_matches(self._target, name):
                seen[device.address] = (device, name, adv.rssi)
                first_seen.set()

        try:
            async with BleakScanner(on_advertisement, **_bluez_args(self._adapter)):
                try:
                    await asyncio.wait_for(first_seen.wait(), self._scan_timeout_s)
                except TimeoutError:
                    pass
                else:
                    await asyncio.sleep(min(_SAME_NAME_WAIT_S, self._scan_timeout_s))
        except Exception as exc:
            raise _translate(exc, f"scanning for {self._target}") from exc
        address = choose_by_name(self._target, {a: (n, r) for a, (_, n, r) in seen.items()})
        if address is None:
            raise self._not_found("name", self._target)
        return seen[address][0]

    def _not_found(self, what: str, target: str) -> DeviceNotFoundError:
        return DeviceNotFoundError(
            f"no strap with {what} {target} was found in {self._scan_timeout_s:g} s: "
            "is it worn (electrodes moistened), in range, and not connected to another app?"
        )

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
            self.beat_data_monotonic = None  # a stream starting anew (PPI takes a while)
            self.connected_monotonic = time.monotonic()
            await client.start_notify(char, functools.partial(self._on_notify, self._connection))
            await self._after_subscribe(client, device)
            if not client.is_connected:  # dropped while subscribing: its callback was ignored
                raise BleError(f"{device.name or device.address} dropped while connecting")
        except BaseException as exc:
            # bounded as the close is: a BlueZ that never answers cannot hold a failed or
            # cancelled connect (a session stopped while it connects) forever
            limit = self._close_timeout_s + _BLEAK_DISCONNECT_WAIT_S
            if not await self._bounded_disconnect(client, limit):
                logger.warning("the failed connection's disconnect did not finish in %g s", limit)
            if isinstance(exc, BleError) or not isinstance(exc, Exception):
                raise
            doing = f"connecting to {device.name or device.address}"
            raise _translate(exc, doing, address=device.address) from exc
        # Only now does a disconnect of this client mean "the strap dropped" (_on_disconnected).
        self._client = client
        if self._pinned_address is None:
            self._pinned_address = device.address
        logger.info("connected to %s (%s)", device.name, device.address)

    async def _after_subscribe(self, client: BleakClient, device: BLEDevice) -> None:
        """Start a subclass's other streams: called once Heart Rate notifications are on.

        Called on every connection; errors are translated and the link closed.
        """

    async def _before_disconnect(self, client: BleakClient) -> None:
        """Called before the notifications are removed when the source closes."""

    def _after_reconnect(self) -> None:
        """Reset what a subclass keeps per connection: called once a reconnect succeeded."""

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
            limit = self._close_timeout_s + _BLEAK_DISCONNECT_WAIT_S
            if not await self._bounded_disconnect(old, limit):
                logger.warning("the dropped link's disconnect did not finish in %g s", limit)
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
                tries = f"{attempts} attempt" + ("" if attempts == 1 else "s")
                reason = (
                    f"lost {self._label()} and could not reconnect in {tries} over "
                    f"{self._clock.now() - started:.0f} s: {last.reason}"
                )
                battery = self._status.battery_pct
                if battery is not None and battery <= _LOW_BATTERY_PCT:
                    reason += f" (its battery was at {battery}% when last heard: is it flat?)"
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
        self._after_reconnect()
        self._publish(SourceState.STREAMING, f"reconnected: {self._connected_message()}")

    async def _teardown(self) -> None:
        """Turn the strap's streams and notifications off, then disconnect, each bounded.

        Each step has a time limit (``close_timeout_s``; the ``Disconnect`` that plus bleak's
        own wait for the link to go), so that a BlueZ that never answers cannot hold the close,
        and the process, forever: a step cut short is given up (its call cancelled), the next
        one still made, and :attr:`close_cut_short` says why (the strap may then stay
        connected until BlueZ or the strap drops the link). The ``Disconnect`` is made even
        when the close is cancelled during its first step; the cancel then goes on.
        """
        self._closing = True
        client, self._client = self._client, None
        if client is None:  # closed already (the beats' end, then the context's exit)
            return
        self.close_cut_short = None
        from bleak.exc import BleakError

        cut: list[str] = []
        try:
            async with asyncio.timeout(self._close_timeout_s):
                if client.is_connected:
                    await self._before_disconnect(client)
                for char in (self._hr_char, self._battery_char):
                    if char is None or not client.is_connected:
                        continue
                    try:
                        await client.stop_notify(char)
                    except (BleakError, EOFError, OSError) as exc:
                        logger.debug("stop_notify failed: %s", exc)
        except TimeoutError:
            cut.append(
                f"turning its notifications off got no answer in {self._close_timeout_s:g} s"
            )
        except asyncio.CancelledError:
            cut.append("turning its notifications off was cancelled")
            raise  # after the disconnect below (the finally)
        finally:
            # Always disconnect, even when the close is cancelled (a second stop while the
            # first step waits): nothing holds the client any more, so a disconnect skipped
            # here would leave bleak's D-Bus connection and the strap's link open.
            limit = self._close_timeout_s + _BLEAK_DISCONNECT_WAIT_S
            if not await self._bounded_disconnect(client, limit):
                cut.append(f"the disconnect did not finish in {limit:g} s")
            if cut:
                self.close_cut_short = "; ".join(cut)
                logger.warning("closing the link to %s: %s", self._label(), self.close_cut_short)

    async def _bounded_disconnect(self, client: BleakClient, limit_s: float) -> bool:
        """Disconnect (never raises) within ``limit_s``; False if it was cut short.

        bleak releases the client's D-Bus connection even when its disconnect is cancelled.
        """
        try:
            async with asyncio.timeout(limit_s):
                await _quiet_disconnect(client)
        except TimeoutError:
            return False
        return True

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
