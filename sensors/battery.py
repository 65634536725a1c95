"""A strap's battery falling low: said once at each threshold, by every user of a live source.

:class:`LowBatteryWatch` follows a source's statuses (:class:`~sensors.beat.SourceStatus`
``battery_pct``, which a Bluetooth strap reads at connect and updates from its Battery Level
notifications) and gives a line to show when the level reaches a threshold of
:data:`BATTERY_WARN_AT_PCT` not said yet (forgotten again once the level rises back well above
it: a new battery). ``hrvpace record`` prints it (``[battery] ...``); a
service session sends it in its live ``status`` messages (``battery_warning``).

References
----------
Bluetooth SIG. Battery Service 1.0 (2011), Battery Level characteristic (0x2A19, percent).
"""

from __future__ import annotations

from sensors.beat import SourceState, SourceStatus

__all__ = ["BATTERY_REARM_ABOVE_PCT", "BATTERY_WARN_AT_PCT", "LowBatteryWatch"]

#: Battery levels (%) at which a source's user is told, once each, that the battery is low.
BATTERY_WARN_AT_PCT = (20, 10, 5)
#: How far (percentage points) the level must rise above a threshold said before it is
#: forgotten (said again at the next fall): a level wavering by a point or two under load is
#: not said again and again.
BATTERY_REARM_ABOVE_PCT = 5


class LowBatteryWatch:
    """Says once each threshold the battery level reaches (:data:`BATTERY_WARN_AT_PCT`).

    The rule: a threshold is said once when the level falls to it or below (several at once:
    the line once). A threshold said is forgotten once the level is more than
    :data:`BATTERY_REARM_ABOVE_PCT` above it (a coin cell replaced, a sensor recharged: the
    watch lives across reconnects, and a strap reconnects with the level read afresh), so a
    later fall to it is said again. :attr:`warning` stays set while any threshold is said, and
    clears when none is (above 25 % after a warning at 20 %).

    Parameters
    ----------
    ending
        What ends when the strap goes off, for the line: ``"the recording"``, ``"the
        session"``.

    Attributes
    ----------
    warning
        While a threshold is said, the line for the level now (the latest level the source
        gave); ``None`` before the first and once the level has risen back (see above).
    """

    def __init__(self, *, ending: str) -> None:
        self._ending = ending
        self._said: set[int] = set()
        self.warning: str | None = None

    def on_status(self, status: SourceStatus) -> str | None:
        """The line to show for this status, else ``None``.

        A level at or below several thresholds not said yet says the lowest once. The level at
        connect counts too (a strap connected at 8 % is said to be low), once connected: not
        while connecting (its battery is read, and may notify, then), so the line comes after
        the one saying it connected. A rise forgets the thresholds it passes (with the margin
        above) whatever the state.
        """
        pct = status.battery_pct
        if pct is None:
            return None
        self._said = {t for t in self._said if pct <= t + BATTERY_REARM_ABOVE_PCT}
        if not self._said:
            self.warning = None
        if status.state == SourceState.CONNECTING:
            return None
        crossed = [t for t in BATTERY_WARN_AT_PCT if pct <= t and t not in self._said]
        if self._said or crossed:
            name = status.device_name or status.device_address or "the strap"
            self.warning = (
                f"{name}'s battery is at {pct}%: replace or charge it soon ({self._ending} ends "
                "if the strap goes off)"
            )
        if not crossed:
            return None
        self._said.update(crossed)
        return self.warning
