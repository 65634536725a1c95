"""Keyset paging of the hub's lists: ``limit``, the cursor ``after`` and the ``Link`` header.

``GET /hub/v1/groups``, ``/groups/{id}/invites`` and ``/interventions`` answer at most
``limit`` items (as ``GET /api/v1/sessions`` of the personal service); when there may be more,
``Link: <...>; rel="next"`` names the next page, whose ``after`` holds only what the page
showed (the last item's id, and an invite's ``created``), base64url JSON. A cursor no page
could have made is 422 ``bad_request`` naming ``after`` before any database sees it (README,
"Lists come in pages").
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from hub.errors import BadRequestError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "After",
    "Limit",
    "bad_cursor",
    "cursor_parts",
    "id_cursor",
    "link_next",
]

#: A list's page: ``limit`` items (as ``GET /api/v1/sessions`` of the personal service).
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Items per page (default {DEFAULT_LIMIT})"),
]
After = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Where the page starts: copy it from the previous page's "
        '`Link: <...>; rel="next"` header (opaque)',
    ),
]


def bad_cursor() -> BadRequestError:
    """The 422 ``bad_request`` of a cursor no page of this list could have made."""
    return BadRequestError(
        "after: not a position in this list; take the next page's address from the previous "
        "page's Link header"
    )


def cursor_parts(after: str, n: int) -> list[object]:
    """The ``n`` values of a cursor made by :func:`link_next`; 422 ``bad_request`` if not."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))
    except (ValueError, TypeError):
        raise bad_cursor() from None
    if not isinstance(parts, list) or len(parts) != n:
        raise bad_cursor()
    return parts


def id_cursor(after: str, is_id: Callable[[str], bool]) -> str:
    """The one id of a cursor of a list ordered by (``created_at``, id): groups, interventions.

    Only an id of the shape the hub makes (``is_id``) reaches the query: NUL, control
    characters and lone surrogates are 422 ``bad_request`` here, not a PostgreSQL 500.
    """
    (key,) = cursor_parts(after, 1)
    if not isinstance(key, str) or not is_id(key):
        raise bad_cursor()
    return key


def link_next(request: Request, response: Response, limit: int, parts: list[object]) -> None:
    """Say the next page's address: the same path with ``limit`` and the cursor ``after``.

    The cursor holds only values the page showed (the last item's id, and an invite's
    ``created``), so paging tells nothing a single answer does not. Relative, so it holds
    behind a TLS proxy.
    """
    cursor = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")
    query = urlencode({"limit": limit, "after": cursor})
    response.headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
