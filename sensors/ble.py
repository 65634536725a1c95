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
- A malformed packet is counted in ``status.malformed_packets`` and skipped, never fatal; the
  next beat is marked ``gap_before`` (the packet may have carried beats). An RR value of 0 is
  left out (counted too) and the packet's valid RR values kept; the beat after it is marked.
- A beat whose time, against the running sum of RR intervals, shows beats were lost (lost skin
  contact: packets without RR; a notification lost on the link) is marked ``gap_before`` by the
  causal half of the rule a replay applies (:class:`sensors.formats.gaps.LiveGapRule`), so the
  live stream and the replay of its recording mark the same gaps (:mod:`sensors.ble_strap`).
- A device that sends heart rate without RR intervals (many watches) puts the status in
  ``SourceState.HR_ONLY`` with ``status.heart_rate_bpm`` kept current; it yields no beats then
  (an RR interval cannot be made up from a rounded heart rate) and goes back to ``STREAMING`` as
  soon as RR intervals arrive.
- A strap whose packets say "no skin contact" for 3 s puts the status in
  ``SourceState.NO_CONTACT``, from ``STREAMING`` or ``HR_ONLY`` alike (packets without contact
  are never counted as an HR-only device's); ``status.contact_t_s`` is where contact was lost.
  A packet with RR that says "no skin contact" counts the same (its beats are yielded, with
  ``contact`` False). It leaves it on the next beat with contact (its packet says contact, or
  does not report it), or after 2 s of packets with contact (a loose strap touching for a
  packet now and then stays without contact); ``contact_t_s`` then says where contact came
  back.
- When the strap drops, every packet already received is still yielded; then the source
  reconnects with exponential backoff (rescanning when BlueZ has forgotten the device), marks
  ``gap_before`` on the first beat after the reconnect, and raises
  :class:`~sensors.errors.ConnectionLostError` only after ``give_up_after_s``. Every packet
  carries the connection it came on (a number per connection attempt), and the first beat of
  a connection other than the previous beat's is marked, so a gap is marked however the drops
  interleave with the reconnects (a strap dropping again while a reconnect completes, packets
  of an attempt that then failed, a drop noticed late).

The code is four modules, one job each, re-exported here: :mod:`sensors.ble_discovery`
(scanning, probing for RR intervals), :mod:`sensors.ble_connection` (finding, connecting,
reconnecting with backoff, closing, status), :mod:`sensors.ble_strap` (notifications to beats)
and :mod:`sensors.ble_gatt` (GATT identifiers, Device Information, bleak errors).

References
----------
Bluetooth SIG. Heart Rate Service 1.0 (2011); Battery Service 1.0 (2011); Device Information
Service 1.1 (2011).
"""

from sensors.ble_discovery import (
    DiscoveredStrap,
    RrProbe,
    probe_rr_intervals,
    scan_heart_rate_devices,
)
from sensors.ble_gatt import BATTERY_LEVEL_UUID, DEVICE_INFORMATION_UUIDS, DeviceInformation
from sensors.ble_strap import BleStrapSource

__all__ = [
    "BATTERY_LEVEL_UUID",
    "DEVICE_INFORMATION_UUIDS",
    "BleStrapSource",
    "DeviceInformation",
    "DiscoveredStrap",
    "RrProbe",
    "probe_rr_intervals",
    "scan_heart_rate_devices",
]
