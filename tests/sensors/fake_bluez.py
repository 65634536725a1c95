"""An emulated BlueZ (``org.bluez``) on a private D-Bus, for testing the real bleak client.

What is real here: a ``dbus-daemon`` process (:class:`PrivateBus`), bleak 3.1 with its BlueZ
backend, and dbus-fast carrying every message. What is emulated: ``bluetoothd`` itself, i.e. the
adapter and the remote straps, which cannot exist on a CI machine. :class:`FakeBluez` answers the
part of the BlueZ D-Bus API that bleak uses (facts read from bleak's ``backends/bluezdbus``):

- ``org.freedesktop.DBus.ObjectManager.GetManagedObjects`` at ``/``, ``InterfacesAdded`` and
  ``InterfacesRemoved`` signals, ``org.freedesktop.DBus.Properties`` (``Get``, ``GetAll``) and
  ``PropertiesChanged`` signals;
- ``org.bluez.Adapter1`` (``Powered``, ``Roles``, ``Discovering``; ``SetDiscoveryFilter``,
  ``StartDiscovery``, ``StopDiscovery``, ``RemoveDevice``);
- ``org.bluez.Device1`` (``Address``, ``Alias``, ``Name``, ``Adapter``, ``Connected``,
  ``ServicesResolved``, ``Paired``, ``UUIDs``, ``RSSI``; ``Connect``, ``Disconnect``);
- ``org.bluez.GattService1`` / ``GattCharacteristic1`` (``UUID``, ``Service``, ``Flags``,
  ``Value``, ``Notifying``; ``ReadValue``, ``StartNotify``, ``StopNotify``). A notification is a
  ``PropertiesChanged`` of ``Value``, as BlueZ sends it.

Like BlueZ, a device already known is only reported to a new scan when one of its properties
changes, so while discovering the fake sends RSSI updates of every strap in range; a device that
BlueZ has "forgotten" (object removed) is re-created by discovery when it advertises again.
Object paths have BlueZ's shape (``/org/bluez/hci0/dev_XX_.../service000c/char000d``): bleak
cuts them by length.

A strap given ``pmd`` settings also has Polar's Measurement Data service (PMD, UUIDs and bytes
from :mod:`sensors.pmd`): a control point (read: the features; write: ``GattCharacteristic1.
WriteValue``, answered by an indication) that answers settings queries, starts and stops streams
per measurement kind (an unoffered kind is "not supported", a second start "already in that
state"), and a data characteristic that :meth:`FakeBluez.notify_pmd` sends frames on while the
kind is started. A dropped link stops every stream, as on the device.

The tests drive it with :meth:`FakeBluez.notify`, :meth:`FakeBluez.drop`,
:meth:`FakeBluez.set_powered` and friends, all in the test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbus_fast import DBusError, Message, MessageType, RequestNameReply, Variant
from dbus_fast.aio import MessageBus

from sensors import pmd

BLUEZ = "org.bluez"
ADAPTER_PATH = "/org/bluez/hci0"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
SERVICE = "org.bluez.GattService1"
CHARACTERISTIC = "org.bluez.GattCharacteristic1"

HR_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"
HR_MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_SERVICE = "0000180a-0000-1000-8000-00805f9b34fb"

#: Device Information characteristics (0x180A) by short name.
DEVICE_INFO_CHARS = {
    "manufacturer": "00002a29-0000-1000-8000-00805f9b34fb",
    "model": "00002a24-0000-1000-8000-00805f9b34fb",
    "serial": "00002a25-0000-1000-8000-00805f9b34fb",
    "hardware": "00002a27-0000-1000-8000-00805f9b34fb",
    "firmware": "00002a26-0000-1000-8000-00805f9b34fb",
    "software": "00002a28-0000-1000-8000-00805f9b34fb",
}

_ADVERTISE_EVERY_S = 0.02

Props = dict[str, Variant]


class PrivateBus:
    """A ``dbus-daemon`` on a private unix socket, acting as the system bus for the tests.

    Raises :class:`RuntimeError` with an install hint when ``dbus-daemon`` is not on the PATH.
    """

    def __init__(self) -> None:
        exe = shutil.which("dbus-daemon")
        if exe is None:
            raise RuntimeError(
                "dbus-daemon not found: the BLE tests need it to run the emulated BlueZ "
                "(Debian: apt-get install dbus-daemon; scripts/test.sh installs it)"
            )
        self._dir = tempfile.mkdtemp(prefix="hrvpace-dbus-")
        sock = Path(self._dir) / "system_bus_socket"
        conf = Path(self._dir) / "bus.conf"
        conf.write_text(
            f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""
        )
        self._proc = subprocess.Popen(
            [exe, f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line:
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise RuntimeError(f"dbus-daemon did not start: {err.strip()}")
        self.address = line

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        shutil.rmtree(self._dir, ignore_errors=True)


@dataclass
class FakeStrap:
    """A remote BLE device the fake adapter can see.

    ``advertised_uuids`` is what it advertises (scans filter on it); ``hr_service`` gives it the
    Heart Rate service with its measurement characteristic; ``battery_pct`` and ``device_info``
    (short name from :data:`DEVICE_INFO_CHARS` -> text) add those services when set.
    """

    address: str
    name: str | None = None
    advertised_uuids: list[str] = field(default_factory=lambda: [HR_SERVICE])
    hr_service: bool = True
    battery_pct: int | None = None
    device_info: dict[str, str] = field(default_factory=dict)
    rssi: int = -60
    in_range: bool = True
    #: Polar Measurement Data: the settings offered per kind ({} for PPI); None: no PMD service.
    pmd: dict[str, dict[pmd.SettingType, tuple[float, ...]]] | None = None
    # run-time state, owned by FakeBluez
    known: bool = False
    connected: bool = False
    notifying: bool = False
    connect_calls: int = 0
    #: PMD kinds started and not stopped; every control-point write, in order.
    pmd_streaming: set[str] = field(default_factory=set)
    pmd_requests: list[bytes] = field(default_factory=list)
    pmd_notifying: bool = False
    _notifying_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def path(self) -> str:
        return f"{ADAPTER_PATH}/dev_{self.address.upper().replace(':', '_')}"

    @property
    def hr_char_path(self) -> str:
        return f"{self.path}/service000c/char000d"

    @property
    def pmd_cp_path(self) -> str:
        return f"{self.path}/service0030/char0031"

    @property
    def pmd_data_path(self) -> str:
        return f"{self.path}/service0030/char0034"


class FakeBluez:
    """The emulated ``bluetoothd``: one adapter ``hci0`` and the straps added to it."""

    def __init__(self, bus_address: str) -> None:
        self._bus_address = bus_address
        self._bus: MessageBus | None = None
        self._objects: dict[str, dict[str, Props]] = {}
        self._straps: dict[str, FakeStrap] = {}
        self._discovery_uuids: list[str] = []
        self._discovery_task: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self.method_calls: list[tuple[str, str]] = []  # (path, member), for assertions
        #: Method names whose calls wait for :meth:`release` (see :meth:`hold`); the calls held.
        self._hold: set[str] = set()
        self._held: list[Message] = []
        self._held_event = asyncio.Event()
        #: Method names whose calls fail with a BlueZ error (see :meth:`fail`).
        self._fail: dict[str, tuple[str, str, int]] = {}

    # -- life ---------------------------------------------------------------------------------

    async def start(self, *, powered: bool = True) -> None:
        bus = MessageBus(bus_address=self._bus_address)
        await bus.connect()
        self._bus = bus
        bus.add_message_handler(self._handle)
        self._objects["/"] = {}
        self._add_object(
            ADAPTER_PATH,
            {
                ADAPTER: {
                    "Address": Variant("s", "00:1A:7D:DA:71:13"),
                    "Name": Variant("s", "hrvpace-ci"),
                    "Alias": Variant("s", "hrvpace-ci"),
                    "Powered": Variant("b", powered),
                    "Discovering": Variant("b", False),
                    "Roles": Variant("as", ["central", "peripheral"]),
                    "UUIDs": Variant("as", []),
                }
            },
        )
        reply = await bus.request_name(BLUEZ)
        assert reply == RequestNameReply.PRIMARY_OWNER, f"could not own {BLUEZ}: {reply!r}"

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._discovery_task is not None:
            self._discovery_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._discovery_task
        if self._bus is not None:
            self._bus.disconnect()
            with contextlib.suppress(Exception):
                await self._bus.wait_for_disconnect()
            self._bus = None

    # -- what the tests drive -----------------------------------------------------------------

    def add_strap(self, strap: FakeStrap, *, known: bool = False) -> FakeStrap:
        """Put ``strap`` in range; ``known=True`` makes BlueZ already have its object."""
        self._straps[strap.address.upper()] = strap
        if known:
            self._export_device(strap)
        return strap

    def strap(self, address: str) -> FakeStrap:
        return self._straps[address.upper()]

    def notify(self, address: str, payload: bytes) -> None:
        """Send one Heart Rate Measurement notification (``PropertiesChanged`` of ``Value``)."""
        strap = self.strap(address)
        if not (strap.connected and strap.notifying):
            raise AssertionError(f"{address} is not connected with notifications on")
        self._set(strap.hr_char_path, CHARACTERISTIC, Value=Variant("ay", bytes(payload)))

    def notify_pmd(self, address: str, frame: bytes) -> None:
        """Send one PMD data frame; its kind (byte 0) must have been started by the client."""
        strap = self.strap(address)
        kind = (
            {v: k for k, v in pmd.MEASUREMENT_TYPES.items()}.get(frame[0] & 0x3F) if frame else None
        )
        if not (strap.connected and strap.pmd_notifying and kind in strap.pmd_streaming):
            raise AssertionError(f"{address} is not streaming {kind} with notifications on")
        self._set(strap.pmd_data_path, CHARACTERISTIC, Value=Variant("ay", bytes(frame)))

    async def wait_pmd_streaming(self, address: str, kind: str, timeout_s: float = 5.0) -> None:
        strap = self.strap(address)
        async with asyncio.timeout(timeout_s):
            while not (strap.connected and strap.pmd_notifying and kind in strap.pmd_streaming):
                strap._notifying_event.clear()
                await strap._notifying_event.wait()

    async def wait_notifying(self, address: str, timeout_s: float = 5.0) -> None:
        strap = self.strap(address)
        async with asyncio.timeout(timeout_s):
            while not (strap.connected and strap.notifying):
                strap._notifying_event.clear()
                await strap._notifying_event.wait()

    def hold(self, member: str) -> None:
        """Answer no ``member`` call (e.g. ``StopNotify``) until :meth:`release`: the client's
        call stays in flight, as a slow BlueZ round trip, for as long as the test needs."""
        self._hold.add(member)

    async def wait_held(self, member: str, timeout_s: float = 5.0) -> None:
        """Until a ``member`` call is held."""
        async with asyncio.timeout(timeout_s):
            while not any(m.member == member for m in self._held):
                self._held_event.clear()
                await self._held_event.wait()

    def fail(self, member: str, name: str, text: str, *, count: int = -1) -> None:
        """Make the next ``count`` calls of ``member`` (all with -1) fail with D-Bus error
        ``name`` and ``text``, as BlueZ answers them (e.g. ``org.bluez.Error.InProgress``)."""
        self._fail[member] = (name, text, count)

    def unfail(self) -> None:
        """Calls answer normally again (undo :meth:`fail`)."""
        self._fail.clear()

    def release(self) -> None:
        """Stop holding; answer the calls held, in order (to a client gone, the bus drops it)."""
        self._hold.clear()
        held, self._held = self._held, []
        for msg in held:
            try:
                reply = self._handle(msg)
            except DBusError as exc:
                self._send(exc._as_message(msg))
                continue
            if isinstance(reply, Message):
                self._send(reply)

    def drop(self, address: str, *, forget: bool = False, away_s: float = 0.0) -> None:
        """The strap drops the link (out of range, battery pulled).

        ``forget`` also removes its object, as BlueZ does with a temporary device; ``away_s``
        keeps it out of range (not advertising, not connectable) for that long.
        """
        strap = self.strap(address)
        if strap.connected:
            self._disconnect(strap)
        if forget and strap.known:
            self._unexport_device(strap)
        if away_s > 0:
            strap.in_range = False
            loop = asyncio.get_running_loop()
            self._timers.append(loop.call_later(away_s, setattr, strap, "in_range", True))

    def set_battery(self, address: str, pct: int) -> None:
        """The strap's battery level changes (a notification when the client subscribed)."""
        strap = self.strap(address)
        strap.battery_pct = pct
        self._set(
            f"{strap.path}/service0010/char0011", CHARACTERISTIC, Value=Variant("ay", bytes([pct]))
        )

    def set_powered(self, powered: bool) -> None:
        self._set(ADAPTER_PATH, ADAPTER, Powered=Variant("b", powered))
        if not powered:
            for strap in self._straps.values():
                if strap.connected:
                    self._disconnect(strap)

    # -- D-Bus plumbing -----------------------------------------------------------------------

    def _send(self, msg: Message) -> None:
        assert self._bus is not None
        self._bus.send(msg)

    def _add_object(self, path: str, interfaces: dict[str, Props]) -> None:
        self._objects[path] = interfaces
        if self._bus is not None:
            self._send(
                Message.new_signal(
                    path="/",
                    interface=OBJECT_MANAGER,
                    member="InterfacesAdded",
                    signature="oa{sa{sv}}",
                    body=[path, interfaces],
                )
            )

    def _remove_object(self, path: str) -> None:
        interfaces = self._objects.pop(path, None)
        if interfaces is not None and self._bus is not None:
            self._send(
                Message.new_signal(
                    path="/",
                    interface=OBJECT_MANAGER,
                    member="InterfacesRemoved",
                    signature="oas",
                    body=[path, list(interfaces)],
                )
            )

    def _set(self, path: str, interface: str, **changed: Variant) -> None:
        self._objects[path][interface].update(changed)
        self._send(
            Message.new_signal(
                path=path,
                interface=PROPERTIES,
                member="PropertiesChanged",
                signature="sa{sv}as",
                body=[interface, changed, []],
            )
        )

    def _export_device(self, strap: FakeStrap) -> None:
        props: Props = {
            "Address": Variant("s", strap.address.upper()),
            "AddressType": Variant("s", "random"),
            "Alias": Variant("s", strap.name or strap.address.upper().replace(":", "-")),
            "Adapter": Variant("o", ADAPTER_PATH),
            "Connected": Variant("b", False),
            "ServicesResolved": Variant("b", False),
            "Paired": Variant("b", False),
            "Trusted": Variant("b", False),
            "Blocked": Variant("b", False),
            "LegacyPairing": Variant("b", False),
            "UUIDs": Variant("as", list(strap.advertised_uuids)),
            "RSSI": Variant("n", strap.rssi),
        }
        if strap.name is not None:
            props["Name"] = Variant("s", strap.name)
        self._add_object(strap.path, {DEVICE: props})
        strap.known = True
        for path, interfaces in self._gatt_objects(strap):
            self._add_object(path, interfaces)

    def _unexport_device(self, strap: FakeStrap) -> None:
        for path, _ in reversed(self._gatt_objects(strap)):
            self._remove_object(path)
        self._remove_object(strap.path)
        strap.known = False

    def _gatt_objects(self, strap: FakeStrap) -> list[tuple[str, dict[str, Props]]]:
        out: list[tuple[str, dict[str, Props]]] = []

        def service(handle: int, uuid: str) -> str:
            path = f"{strap.path}/service{handle:04x}"
            out.append(
                (
                    path,
                    {
                        SERVICE: {
                            "UUID": Variant("s", uuid),
                            "Device": Variant("o", strap.path),
                            "Primary": Variant("b", True),
                            "Includes": Variant("ao", []),
                        }
                    },
                )
            )
            return path

        def char(service_path: str, handle: int, uuid: str, flags: list[str], value: bytes) -> None:
            out.append(
                (
                    f"{service_path}/char{handle:04x}",
                    {
                        CHARACTERISTIC: {
                            "UUID": Variant("s", uuid),
                            "Service": Variant("o", service_path),
                            "Value": Variant("ay", value),
                            "Flags": Variant("as", flags),
                            "Notifying": Variant("b", False),
                        }
                    },
                )
            )

        if strap.hr_service:
            char(service(0x000C, HR_SERVICE), 0x000D, HR_MEASUREMENT, ["notify"], b"")
        if strap.battery_pct is not None:
            svc = service(0x0010, BATTERY_SERVICE)
            char(svc, 0x0011, BATTERY_LEVEL, ["read", "notify"], bytes([strap.battery_pct]))
        if strap.device_info:
            svc = service(0x0014, DEVICE_INFO_SERVICE)
            for i, (key, text) in enumerate(strap.device_info.items()):
                char(svc, 0x0015 + 2 * i, DEVICE_INFO_CHARS[key], ["read"], text.encode())
        if strap.pmd is not None:
            svc = service(0x0030, pmd.PMD_SERVICE_UUID)
            features = pmd.encode_features(list(strap.pmd))
            char(svc, 0x0031, pmd.PMD_CONTROL_POINT_UUID, ["read", "write", "indicate"], features)
            char(svc, 0x0034, pmd.PMD_DATA_UUID, ["notify"], b"")
        return out

    def _connect(self, strap: FakeStrap) -> None:
        strap.connected = True
        self._set(strap.path, DEVICE, Connected=Variant("b", True))
        self._set(strap.path, DEVICE, ServicesResolved=Variant("b", True))

    def _disconnect(self, strap: FakeStrap) -> None:
        if strap.notifying and strap.known:
            self._set(strap.hr_char_path, CHARACTERISTIC, Notifying=Variant("b", False))
        strap.notifying = False
        strap.pmd_notifying = False
        strap.pmd_streaming.clear()
        strap.connected = False
        if strap.known:
            self._set(strap.path, DEVICE, ServicesResolved=Variant("b", False))
            self._set(strap.path, DEVICE, Connected=Variant("b", False))

    def _strap_at(self, path: str) -> FakeStrap | None:
        for strap in self._straps.values():
            if strap.known and path.startswith(strap.path):
                return strap
        return None

    async def _advertise(self) -> None:
        """While discovering: every strap in range advertises, i.e. BlueZ creates its object or
        updates its RSSI (a scan only reports a known device when a property changes)."""
        tick = 0
        while True:
            tick += 1
            for strap in list(self._straps.values()):
                if not strap.in_range or strap.connected:
                    continue
                if self._discovery_uuids and not (
                    {u.lower() for u in strap.advertised_uuids}
                    & {u.lower() for u in self._discovery_uuids}
                ):
                    continue
                if not strap.known:
                    self._export_device(strap)
                else:
                    self._set(strap.path, DEVICE, RSSI=Variant("n", strap.rssi - tick % 2))
            await asyncio.sleep(_ADVERTISE_EVERY_S)

    def _handle(self, msg: Message) -> Message | bool | None:
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        path, iface, member = msg.path or "", msg.interface, msg.member or ""
        if member in self._hold:
            self._held.append(msg)
            self._held_event.set()
            return True  # answered by release()
        if member in self._fail:
            name, text, count = self._fail[member]
            if count != 0:
                self._fail[member] = (name, text, count - 1)
                self.method_calls.append((path, member + "!failed"))
                raise DBusError(name, text)
        self.method_calls.append((path, member))
        if iface == OBJECT_MANAGER and member == "GetManagedObjects":
            objects = {p: i for p, i in self._objects.items() if p != "/"}
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [objects])
        if path not in self._objects:
            raise DBusError("org.freedesktop.DBus.Error.UnknownObject", f"no object at {path}")
        if iface == PROPERTIES:
            return self._properties_call(msg)
        handler: Callable[[Message], Message] | None = {
            (ADAPTER, "SetDiscoveryFilter"): self._set_discovery_filter,
            (ADAPTER, "StartDiscovery"): self._start_discovery,
            (ADAPTER, "StopDiscovery"): self._stop_discovery,
            (ADAPTER, "RemoveDevice"): self._remove_device,
            (DEVICE, "Connect"): self._device_connect,
            (DEVICE, "Disconnect"): self._device_disconnect,
            (CHARACTERISTIC, "ReadValue"): self._read_value,
            (CHARACTERISTIC, "StartNotify"): self._start_notify,
            (CHARACTERISTIC, "StopNotify"): self._stop_notify,
            (CHARACTERISTIC, "WriteValue"): self._write_value,
        }.get((iface or "", member))
        if handler is None:
            raise DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"{iface}.{member}")
        return handler(msg)

    def _properties_call(self, msg: Message) -> Message:
        path = msg.path or ""
        iface = msg.body[0]
        props = self._objects[path].get(iface)
        if props is None:
            raise DBusError("org.freedesktop.DBus.Error.UnknownInterface", iface)
        if msg.member == "GetAll":
            return Message.new_method_return(msg, "a{sv}", [props])
        if msg.member == "Get":
            return Message.new_method_return(msg, "v", [props[msg.body[1]]])
        raise DBusError("org.bluez.Error.NotSupported", f"Properties.{msg.member}")

    def _powered(self) -> bool:
        return bool(self._objects[ADAPTER_PATH][ADAPTER]["Powered"].value)

    def _set_discovery_filter(self, msg: Message) -> Message:
        filters: dict[str, Any] = msg.body[0]
        uuids = filters.get("UUIDs")
        self._discovery_uuids = list(uuids.value) if uuids is not None else []
        return Message.new_method_return(msg)

    def _start_discovery(self, msg: Message) -> Message:
        if not self._powered():
            raise DBusError("org.bluez.Error.NotReady", "Resource Not Ready")
        if self._discovery_task is None:
            self._set(ADAPTER_PATH, ADAPTER, Discovering=Variant("b", True))
            self._discovery_task = asyncio.get_running_loop().create_task(self._advertise())
        return Message.new_method_return(msg)

    def _stop_discovery(self, msg: Message) -> Message:
        if self._discovery_task is None:
            raise DBusError("org.bluez.Error.Failed", "No discovery started")
        self._discovery_task.cancel()
        self._discovery_task = None
        self._set(ADAPTER_PATH, ADAPTER, Discovering=Variant("b", False))
        return Message.new_method_return(msg)

    def _remove_device(self, msg: Message) -> Message:
        strap = self._strap_at(msg.body[0])
        if strap is None:
            raise DBusError("org.bluez.Error.DoesNotExist", "Does Not Exist")
        if strap.connected:
            self._disconnect(strap)
        self._unexport_device(strap)
        return Message.new_method_return(msg)

    def _device_connect(self, msg: Message) -> Message:
        strap = self._strap_at(msg.path or "")
        assert strap is not None
        strap.connect_calls += 1
        if not self._powered():
            raise DBusError("org.bluez.Error.NotReady", "Resource Not Ready")
        if not strap.in_range:
            raise DBusError("org.bluez.Error.Failed", "Software caused connection abort")
        if not strap.connected:
            self._connect(strap)
        return Message.new_method_return(msg)

    def _device_disconnect(self, msg: Message) -> Message:
        strap = self._strap_at(msg.path or "")
        assert strap is not None
        if not strap.connected:
            raise DBusError("org.bluez.Error.NotConnected", "Not Connected")
        self._disconnect(strap)
        return Message.new_method_return(msg)

    def _read_value(self, msg: Message) -> Message:
        strap = self._strap_at(msg.path or "")
        if strap is None or not strap.connected:
            raise DBusError("org.bluez.Error.Failed", "Not connected")
        if msg.path == strap.pmd_cp_path and strap.pmd is not None:
            # a read of the control point answers its features, as a Polar device's does (its
            # Value holds the latest indication: a recorder reconnecting reads the features again)
            return Message.new_method_return(msg, "ay", [pmd.encode_features(list(strap.pmd))])
        value = self._objects[msg.path or ""][CHARACTERISTIC]["Value"].value
        return Message.new_method_return(msg, "ay", [bytes(value)])

    def _start_notify(self, msg: Message) -> Message:
        strap = self._strap_at(msg.path or "")
        if strap is None or not strap.connected:
            raise DBusError("org.bluez.Error.Failed", "Not connected")
        if msg.path == strap.hr_char_path:
            strap.notifying = True
            strap._notifying_event.set()
        if msg.path == strap.pmd_data_path:
            strap.pmd_notifying = True
            strap._notifying_event.set()
        self._set(msg.path or "", CHARACTERISTIC, Notifying=Variant("b", True))
        return Message.new_method_return(msg)

    def _write_value(self, msg: Message) -> Message:
        """A write to the PMD control point, answered by an indication after the reply."""
        strap = self._strap_at(msg.path or "")
        if strap is None or not strap.connected:
            raise DBusError("org.bluez.Error.Failed", "Not connected")
        if msg.path != strap.pmd_cp_path or strap.pmd is None:
            raise DBusError("org.bluez.Error.NotPermitted", "Write not permitted")
        request = bytes(msg.body[0])
        strap.pmd_requests.append(request)
        if len(request) < 2:
            raise DBusError("org.bluez.Error.InvalidValueLength", "Invalid Length")
        op, number = request[0], request[1]
        kind = {v: k for k, v in pmd.MEASUREMENT_TYPES.items()}.get(number)
        status, settings = 0, None
        if kind is None or kind not in strap.pmd:
            status = 3  # not supported
        elif op == 1:
            settings = strap.pmd[kind]
        elif op == 2:
            if kind in strap.pmd_streaming:
                status = 6  # already in that state
            else:
                strap.pmd_streaming.add(kind)
                strap._notifying_event.set()
        elif op == 3:
            strap.pmd_streaming.discard(kind)
        else:
            status = 1  # invalid op code
        answer = bytes([0xF0, op, number, status]) + (
            pmd.encode_control_point_response(op, kind, settings=settings)[4:]
            if status == 0 and kind is not None
            else b""
        )
        asyncio.get_running_loop().call_soon(
            lambda: (
                strap.connected
                and self._set(strap.pmd_cp_path, CHARACTERISTIC, Value=Variant("ay", answer))
            )
        )
        return Message.new_method_return(msg)

    def _stop_notify(self, msg: Message) -> Message:
        strap = self._strap_at(msg.path or "")
        if strap is not None and msg.path == strap.pmd_data_path:
            strap.pmd_notifying = False
        if strap is not None and msg.path == strap.hr_char_path:
            strap.notifying = False
        self._set(msg.path or "", CHARACTERISTIC, Notifying=Variant("b", False))
        return Message.new_method_return(msg)
