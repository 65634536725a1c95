"""Choosing a device by name: one rule (sensors.ble_gatt.choose_by_name), no Bluetooth needed.

The strap's connection (``BleConnection._find_by_name``) and the scan's order
(``scan_heart_rate_devices``) use it; tests/sensors/test_ble.py runs them against the emulated
BlueZ.
"""

from __future__ import annotations

import pytest

from sensors.ble_gatt import choose_by_name, name_matches, strongest_first
from sensors.errors import AmbiguousDeviceError

A, B, C = "A0:00:00:00:00:01", "A0:00:00:00:00:02", "A0:00:00:00:00:03"


def test_strongest_first_puts_an_unknown_strength_last_and_keeps_ties_in_order() -> None:
    items = [("x", None), ("y", -70), ("z", -50), ("w", -70)]
    assert [n for n, _ in strongest_first(items, lambda i: i[1])] == ["z", "y", "w", "x"]


def test_the_name_itself_wins_over_names_starting_with_it() -> None:
    # Code review (strap review, item 6): the ranking was written twice in _find_by_name
    seen = {A: ("Polar H10 1A2B", -40), B: ("polar h10", -80), C: ("Polar H10X", -30)}
    assert choose_by_name("Polar H10", seen) == B
    assert choose_by_name("Polar H10", {A: ("Polar H10 1A2B", -40), C: ("Polar H10X", -30)}) == A
    assert choose_by_name("Polar H10", {C: ("Polar H10X", -30)}) is None
    assert choose_by_name("Polar H10", {}) is None


def test_several_with_the_name_are_refused_strongest_first() -> None:
    seen = {A: ("Polar H10", -71), B: ("Polar H10", None), C: ("POLAR H10", -51)}
    with pytest.raises(AmbiguousDeviceError) as info:
        choose_by_name("polar h10", seen)
    assert info.value.matches == ((C, -51), (A, -71), (B, None))
    assert info.value.reason == (
        f"3 devices are named polar h10: {C} (-51 dBm), {A} (-71 dBm), {B}; give the address "
        "of the one to use instead of the name"
    )


def test_several_starting_with_the_name_are_refused_with_their_names() -> None:
    seen = {A: ("Polar H10 1A2B", None), B: ("Polar H10 9988", -50), C: ("Polar H10X", -10)}
    with pytest.raises(AmbiguousDeviceError) as info:
        choose_by_name("Polar H10", seen)
    assert info.value.matches == ((B, -50), (A, None))
    assert info.value.reason == (
        f"2 devices have names starting with Polar H10: Polar H10 9988 ({B}, -50 dBm), "
        f"Polar H10 1A2B ({A}); give the whole name or the address of the one to use"
    )


def test_a_blank_name_picks_no_device_not_even_an_unnamed_one() -> None:
    # Code review (review_straplive, 6): name_matches("", "") was True (an empty name matched
    # unnamed devices); BleConnection refuses an empty target, but the function is public
    assert not name_matches("", "") and not name_matches("  ", "")
    assert not name_matches("", "Polar H10 A1B2C3D4")
    assert name_matches(" polar h10 ", "Polar H10 A1B2C3D4") and name_matches(
        "Polar H10", "polar h10"
    )
