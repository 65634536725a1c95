"""What the hub may release, decided in one place.

The rules (README "The hub: what it can and cannot learn about a person" explains them):

1. **Fixed periods.** Only whole ISO weeks are reported (:mod:`hub.periods`); a date range is
   snapped outward to whole weeks, so narrowing it cannot isolate a day or a person.
2. **Frozen membership.** A member counts in a week only if they were a member for the whole
   week: joined by its Monday 00:00 UTC and not left before its end. Joining or leaving within
   a week changes nothing in that week.
3. **Released once.** A week is computed when it closes (:data:`hub.periods.GRACE_DAYS` after
   its end; later contributions to it are refused) and stored; every later answer is that
   stored cell. Deleting one's contributions removes them from the database and from every
   cell not yet computed, but cannot be used to difference a released cell.
4. **k members.** A cell, or a measure in it, over fewer than the group's ``k`` members is
   suppressed: no values, no count.
5. **No near-duplicate sets.** A statistic over a set of members that differs from a released
   statistic over the same data (the same group and weeks) by fewer than ``k`` members is
   suppressed, so the two cannot be subtracted (:func:`differs_safely`). This is what blocks
   an intervention effect over "everyone but one" of a week's cell.
5b. **Medians over at least five.** A median over 3 or 4 values is one member's exact value
   (the middle one), so a measure's median is released only when ``n >=``
   :data:`MEDIAN_MIN_N` (:func:`median_releasable`); below it the mean and n still are.
6. **One group per member.** A member token belongs to one group and a person's service shares
   with one hub membership, so groups never overlap and no cross-group differencing exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

__all__ = ["MEDIAN_MIN_N", "differs_safely", "enough", "median_releasable"]

#: The fewest values whose median is released (a median of 3 or 4 is one member's value).
MEDIAN_MIN_N = 5


def enough(n: int, k: int) -> bool:
    """Whether ``n`` members are enough to release a statistic of a group with minimum ``k``."""
    return n >= k


def median_releasable(n: int) -> bool:
    """Whether a median over ``n`` values may be released (``n >=`` :data:`MEDIAN_MIN_N`)."""
    return n >= MEDIAN_MIN_N


def differs_safely(members: Set[str], released: Iterable[Set[str]], k: int) -> bool:
    """Whether a statistic over ``members`` may be released beside the ``released`` sets.

    ``True`` when, for every released set, the symmetric difference is empty (the same people:
    nothing new is learnt) or holds at least ``k`` members (the difference of the two
    statistics is itself over ``k`` or more people).

    Examples
    --------
    >>> differs_safely({"a", "b", "c"}, [{"a", "b", "c", "d"}], k=3)
    False
    >>> differs_safely({"a", "b", "c"}, [{"a", "b", "c"}], k=3)
    True
    """
    for other in released:
        d = len(members ^ other)
        if 0 < d < k:
            return False
    return True
