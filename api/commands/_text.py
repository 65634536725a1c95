"""How commands write numbers for people.

Shared by ``hrvpace analyze`` and ``hrvpace sessions`` (a neutral module: commands do not
import each other).
"""

from __future__ import annotations

__all__ = ["counted", "human_duration"]


def human_duration(seconds: float | None) -> str:
    """A duration as a person reads it: ``45 s``, ``16.1 min``, ``22.5 h``, ``3.2 d``.

    Examples
    --------
    >>> human_duration(80_970.0)
    '22.5 h'
    """
    if seconds is None or seconds != seconds:
        return "-"
    if seconds < 90:
        return f"{seconds:.3g} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: ``1 beat``, ``0 beats``, ``2 micro-breaks``.

    ``plural``: the noun's plural when it is not ``noun + "s"``.

    Examples
    --------
    >>> counted(1, "beat"), counted(2, "signal"), counted(0, "window")
    ('1 beat', '2 signals', '0 windows')
    """
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
