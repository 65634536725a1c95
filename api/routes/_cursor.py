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
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

__all__ = [
    "CURSOR_VERSION",
    "MAX_CURSOR_CHARS",
    "MAX_ID_CHARS",
    "CursorError",
    "decode_cursor",
    "encode_cursor",
]

#: The version of the format this service writes and reads.
CURSOR_VERSION = 1
#: Longest session id a cursor holds (the service's are 32 hex digits, ``uuid4().hex``).
MAX_ID_CHARS = 64
#: Longest cursor text accepted: one of this version is at most about 160 characters.
MAX_CURSOR_CHARS = 256

_KEYS = frozenset({"v", "created_at", "id"})
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class CursorError(ValueError):
    """A text that is not a cursor of this list, this version; the message says why."""


def encode_cursor(created_at: float, session_id: str) -> str:
    """The cursor naming the place of the session ``(created_at, session_id)`` in the list.

    Parameters
    ----------
    created_at
        The session's ``created_at`` as stored (Unix seconds); written with ``repr``
        precision, so it reads back as the same float.
    session_id
        The session's id.

    Returns
    -------
    str
        URL-safe base64 without padding; :func:`decode_cursor` gives the pair back.
    """
    if not math.isfinite(created_at) or not 0 < len(session_id) <= MAX_ID_CHARS:
        raise CursorError(f"no cursor for a session of created_at {created_at!r}, that id")
    text = json.dumps(
        {"v": CURSOR_VERSION, "created_at": float(created_at), "id": session_id},
        separators=(",", ":"),
        allow_nan=False,
    )
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The ``(created_at, id)`` a cursor of :func:`encode_cursor` names.

    Parameters
    ----------
    cursor
        The text a client sent, as the previous page's ``next_cursor``.

    Returns
    -------
    tuple of (float, str)
        The place in the list; the next page is the sessions after it.

    Raises
    ------
    CursorError
        Too long, not URL-safe base64, not the JSON object of a cursor, of another version,
        or a value of the wrong type (a ``created_at`` not a finite number, an ``id`` not a
        text of 1 to :data:`MAX_ID_CHARS` characters). The message says which, in words a
        client can show.
    """
    again = "pass the previous page's next_cursor as it was, or ask for the first page"
    if len(cursor) > MAX_CURSOR_CHARS:
        raise CursorError(f"a cursor is at most {MAX_CURSOR_CHARS} characters; {again}")
    if not cursor or not set(cursor) <= _ALPHABET or len(cursor) % 4 == 1:
        raise CursorError(f"not a cursor: not URL-safe base64 without padding; {again}")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data: Any = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise CursorError(f"not a cursor of this list: its content is not one; {again}") from None
    if not isinstance(data, dict) or "v" not in data:
        raise CursorError(f"not a cursor of this list: its content is not one; {again}")
    version = data["v"]
    if version != CURSOR_VERSION or isinstance(version, bool) or not isinstance(version, int):
        raise CursorError(
            f"a cursor of version {json.dumps(version)[:20]}: this service reads version "
            f"{CURSOR_VERSION}; ask for the first page again"
        )
    if set(data) != _KEYS:
        raise CursorError(
            "not a cursor of this list: it holds "
            f"{', '.join(sorted(str(k)[:20] for k in data)[:5])}; {again}"
        )
    created_at, session_id = data["created_at"], data["id"]
    try:  # a bool is an int to Python; an int past a float's range overflows
        number = float(created_at) if isinstance(created_at, int | float) else math.nan
    except OverflowError:
        number = math.nan
    if isinstance(created_at, bool) or not math.isfinite(number):
        raise CursorError(f"not a cursor of this list: its created_at is not a number; {again}")
    if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_ID_CHARS:
        raise CursorError(
            f"not a cursor of this list: its id is not a text of 1 to {MAX_ID_CHARS} "
            f"characters; {again}"
        )
    return number, session_id
