"""The keyset cursor of ``GET /api/v1/sessions``: an opaque text naming a place in the list.

The list is newest first, then by id (``ORDER BY created_at DESC, id``). A cursor holds the
sort key of the last session of a page, ``created_at`` and ``id``, so the next page is the
sessions strictly after that place, whether that session is still stored or not (an
``offset`` counts from the newest at the time of asking: a session started or deleted
between two pages shifts it, and an item comes twice or is skipped).

The text is URL-safe base64 without padding of a small JSON object,
``{"v": 1, "created_at": <float>, "id": <text>}``. ``v`` is the version of the format: a
later one can write another key (another order, a filter) and refuse, by name, a cursor of a
version it does not read. Clients pass it back as they got it and never build one.

A cursor holds only ids of :data:`ID_PATTERN` and finite times: every session this service
and ``hrvpace replay --store`` store (``uuid4().hex``, ``time.time()``). A session another
program stored with an id or a ``created_at`` a cursor cannot hold is never a cursor's
place: a page ending on such sessions names the place of the last one before them that it
can, with ``"skip": <n>``, the sessions after that place the page showed (``{"v": 1,
"skip": <n>}`` when there is none: counted from the newest). Those few are counted as an
offset is (:func:`following`): the page's own length is kept, and a cursor is always one
:func:`decode_cursor` reads.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CURSOR_VERSION",
    "ID_PATTERN",
    "MAX_CURSOR_CHARS",
    "MAX_SKIP",
    "CursorError",
    "Position",
    "decode_cursor",
    "encode_cursor",
    "following",
    "place_of",
]

#: The version of the format this service writes and reads.
CURSOR_VERSION = 1
#: The ids a cursor holds: the service's own (32 hex digits, ``uuid4().hex``) and any of 1 to
#: 64 letters, digits, ``_``, ``.`` and ``-`` (the shape of the service's other ids, e.g. a
#: day plan's). ASCII that JSON writes as it is, so a cursor's length has a bound, and never
#: a text SQLite cannot take (a lone surrogate).
ID_PATTERN = re.compile(r"[0-9A-Za-z_.-]{1,64}")
#: Largest ``skip`` (SQLite integers end at 2**63 - 1; no database holds this many sessions).
MAX_SKIP = 2**62
#: Longest cursor text accepted; the longest this version writes is 192 characters
#: (``created_at`` ``-1.7976931348623157e+308``, a 64-character id and ``skip`` 2**62).
MAX_CURSOR_CHARS = 256

_PLACE = frozenset({"v", "created_at", "id"})
_SHAPES = (_PLACE, _PLACE | {"skip"}, frozenset({"v", "skip"}))
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_AGAIN = "pass the previous page's next_cursor as it was, or ask for the first page"


class CursorError(ValueError):
    """A text that is not a cursor of this list, this version; the message says why."""


@dataclass(frozen=True)
class Position:
    """Where a page begins: after ``place``, past ``skip`` sessions.

    ``place`` is ``(created_at, id)`` of a place in the list's order (``None``: before the
    newest session); ``skip`` counts the sessions after it to pass first (0 but after the
    sessions a cursor cannot name, :func:`following`).
    """

    place: tuple[float, str] | None = None
    skip: int = 0


def place_of(created_at: object, session_id: object) -> tuple[float, str] | None:
    """A stored session's place as a cursor holds it; ``None`` if a cursor cannot hold it.

    A cursor holds a finite ``created_at`` and an id of :data:`ID_PATTERN`: every session
    this service stores; not always one another program stored.
    """
    if isinstance(created_at, bool) or not isinstance(created_at, int | float):
        return None
    try:
        number = float(created_at)
    except OverflowError:
        return None
    if not math.isfinite(number) or not isinstance(session_id, str):
        return None
    return (number, session_id) if ID_PATTERN.fullmatch(session_id) else None


def following(position: Position, page: Sequence[tuple[object, object]]) -> Position:
    """Where the page after ``page`` begins, ``page`` being the sessions read from ``position``.

    Parameters
    ----------
    position
        Where ``page`` began.
    page
        ``(created_at, id)`` of each session on the page, in the list's order; not empty.

    Returns
    -------
    Position
        After the page's last session; after the last one a cursor can hold
        (:func:`place_of`) past the ones that follow it on the page, when the page ends on
        sessions another program stored with an id or a time it cannot; ``position`` past
        the whole page when it holds none it can.
    """
    for k in range(len(page) - 1, -1, -1):
        place = place_of(*page[k])
        if place is not None:
            return Position(place, len(page) - 1 - k)
    return Position(position.place, position.skip + len(page))


def encode_cursor(position: Position) -> str:
    """The cursor of ``position`` (from :func:`following`).

    Parameters
    ----------
    position
        Its place's ``created_at`` (Unix seconds) is written with ``repr`` precision, so it
        reads back as the same float.

    Returns
    -------
    str
        URL-safe base64 without padding; :func:`decode_cursor` gives ``position`` back.

    Raises
    ------
    CursorError
        A place a cursor cannot hold (:func:`place_of`) or a ``skip`` out of 0 to
        :data:`MAX_SKIP`: :func:`following` never makes one.
    """
    data: dict[str, Any] = {"v": CURSOR_VERSION}
    if position.place is not None:
        place = place_of(*position.place)
        if place is None:
            raise CursorError(f"no cursor for the place {position.place!r}")
        data.update(created_at=place[0], id=place[1])
    if not 0 <= position.skip <= MAX_SKIP:
        raise CursorError(f"no cursor skipping {position.skip} sessions")
    if position.skip or position.place is None:
        data["skip"] = position.skip
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The :class:`Position` a cursor of :func:`encode_cursor` names.

    Parameters
    ----------
    cursor
        The text a client sent, as the previous page's ``next_cursor``.

    Returns
    -------
    Position
        The place in the list; the next page is the sessions after it.

    Raises
    ------
    CursorError
        Empty, too long, not URL-safe base64, not the JSON object of a cursor, of another
        version, or a value of the wrong type (a ``created_at`` not a finite number, an
        ``id`` not of :data:`ID_PATTERN`, a ``skip`` not a whole number from 0 to
        :data:`MAX_SKIP`). The message says which, in words a client can show.
    """
    if not cursor:
        raise CursorError("an empty cursor: for the first page, leave cursor out")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise CursorError(f"a cursor is at most {MAX_CURSOR_CHARS} characters; {_AGAIN}")
    if not set(cursor) <= _ALPHABET or len(cursor) % 4 == 1:
        raise CursorError(f"not a cursor: not URL-safe base64 without padding; {_AGAIN}")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data: Any = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise CursorError(f"not a cursor of this list: its content is not one; {_AGAIN}") from None
    if not isinstance(data, dict) or "v" not in data:
        raise CursorError(f"not a cursor of this list: its content is not one; {_AGAIN}")
    version = data["v"]
    if version != CURSOR_VERSION or isinstance(version, bool) or not isinstance(version, int):
        raise CursorError(
            f"a cursor of version {json.dumps(version)[:20]}: this service reads version "
            f"{CURSOR_VERSION}; ask for the first page again"
        )
    if set(data) not in _SHAPES:
        raise CursorError(
            "not a cursor of this list: it holds "
            f"{', '.join(sorted(str(k)[:20] for k in data)[:5])}; {_AGAIN}"
        )
    skip = data.get("skip", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or not 0 <= skip <= MAX_SKIP:
        raise CursorError(
            f"not a cursor of this list: its skip is not a whole number from 0 to {MAX_SKIP}; "
            f"{_AGAIN}"
        )
    if "id" not in data:
        return Position(None, skip)
    created_at, session_id = data["created_at"], data["id"]
    try:  # a bool is an int to Python; an int past a float's range overflows
        number = float(created_at) if isinstance(created_at, int | float) else math.nan
    except OverflowError:
        number = math.nan
    if isinstance(created_at, bool) or not math.isfinite(number):
        raise CursorError(f"not a cursor of this list: its created_at is not a number; {_AGAIN}")
    if not isinstance(session_id, str) or ID_PATTERN.fullmatch(session_id) is None:
        raise CursorError(
            "not a cursor of this list: its id is not 1 to 64 letters, digits, '_', '.' or "
            f"'-'; {_AGAIN}"
        )
    return Position((number, session_id), skip)
