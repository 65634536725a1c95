"""The IANA time zone names the day plan takes (the service's side; the planner is pure).

A plan's zone is one of this system's canonical IANA names: :func:`zoneinfo.available_timezones`
(the zones and the backward-compatible links such as ``US/Pacific``) minus what is not a zone a
person lives in, or what a browser refuses: the leap-second and POSIX copies (``right/...``,
``posix/...``, which ``available_timezones`` already leaves out but ``ZoneInfo`` still opens),
``posixrules``, ``localtime`` (a link to the machine's own zone, whatever that is) and
``Factory`` (the zone of "not set"). Chromium's ``Intl`` refuses ``right/UTC``, ``posixrules``
and ``localtime``: a plan in one of them broke the page (review finding 6). A folder of the
zoneinfo tree (``Etc``, ``Europe``) is no zone either (``ZoneInfo`` raises
``IsADirectoryError``; review finding 5).
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo

__all__ = ["EXCLUDED_ZONES", "canonical_zone", "zone_names", "zone_problem"]

#: Names ``ZoneInfo`` may open that a plan does not take.
EXCLUDED_ZONES = frozenset({"posixrules", "localtime", "Factory"})
_EXCLUDED_FOLDERS = ("right/", "posix/")


@functools.cache
def zone_names() -> frozenset[str]:
    """The canonical IANA names a plan takes (blocking, once: it lists the zoneinfo tree)."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in EXCLUDED_ZONES and not name.startswith(_EXCLUDED_FOLDERS)
    )


def zone_problem(name: str) -> str | None:
    """Why ``name`` is not a zone a plan takes, or ``None`` when it is one.

    The reason names the canonical zone ``name`` stands for (``right/UTC``: ``UTC``), a zone
    in it for a folder (``Europe``), or for a typo the closest name (``Europe/Berln``:
    ``Europe/Berlin``).
    """
    if name in zone_names():
        return None
    same = canonical_zone(name)
    if same is not None:
        return f"unknown time zone {name!r}: use the IANA name {same!r}"
    inside = sorted(z for z in zone_names() if z.startswith(name.rstrip("/") + "/"))
    close = difflib.get_close_matches(name, sorted(zone_names()), n=1)
    if inside:  # a folder of the zoneinfo tree
        hint = f" (a group of zones, not a zone: e.g. {inside[0]!r})"
    else:
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown time zone {name!r}{hint}: an IANA name such as 'Europe/Berlin' or 'UTC'"


def canonical_zone(candidate: str) -> str | None:
    """The canonical name ``candidate`` stands for, or ``None`` when it names no zone a plan takes.

    Takes a bare name (``Europe/Berlin``), POSIX ``TZ``'s ``:Europe/Berlin``, a path into a
    zoneinfo folder (``/usr/share/zoneinfo/Europe/Berlin``, what ``/etc/localtime`` links to)
    and the leap-second or POSIX copy of a zone (``right/Europe/Berlin``,
    ``/usr/share/zoneinfo/posix/Europe/Berlin``): each is the zone ``Europe/Berlin``.

    Examples
    --------
    >>> canonical_zone("/usr/share/zoneinfo/right/Asia/Tokyo")
    'Asia/Tokyo'
    >>> canonical_zone("Etc") is None
    True
    """
    name = candidate.strip().removeprefix(":")
    if "zoneinfo/" in name:
        name = name.rsplit("zoneinfo/", 1)[1]
    for folder in _EXCLUDED_FOLDERS:
        name = name.removeprefix(folder)
    return name if name in zone_names() else None
