"""``GET /problems/{code}``: what each problem ``type`` URI names, as a small page.

Every error's ``type`` is ``/problems/<code>`` (:mod:`webconventions.problems`); RFC 9457 says
a type URI, dereferenced, should give documentation for people. Each page says the code's
status and when the service answers it, from ``api/problem_codes.json``: the same list as
README's "Errors" table (``tests/api/test_problem_codes.py`` holds the three together). Public
(no token): it holds no user data; ``HEAD`` too, and caches may keep a page a day. A code not
in the list is 404 ``not_found``.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from webconventions.problems import status_title

__all__ = ["PROBLEM_CODES_FILE", "problem_codes", "router"]

router = APIRouter(tags=["problems"], include_in_schema=False)

#: Every code the service answers: ``{code: {"status": int, "when": str}}``.
PROBLEM_CODES_FILE = Path(__file__).resolve().parents[1] / "problem_codes.json"


@cache
def problem_codes() -> dict[str, dict[str, Any]]:
    """The codes of :data:`PROBLEM_CODES_FILE`, read once."""
    data: dict[str, dict[str, Any]] = json.loads(PROBLEM_CODES_FILE.read_text(encoding="utf-8"))
    return data


def _inline(text: str) -> str:
    """README's `code` spans as <code>, the rest escaped."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(
        f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts)
    )


#: The pages change only with the service's version: caches may keep them for a day.
CACHE_CONTROL = "public, max-age=86400"


@router.api_route("/problems/{code}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def problem_page(code: str) -> HTMLResponse:
    """A page naming the problem ``code``: its HTTP status and when it is answered.

    ``HEAD`` answers as ``GET`` without the body (a link checker's way to ask).
    """
    entry = problem_codes().get(code)
    if entry is None:
        raise HTTPException(404, detail=f"no problem code {code[:64]!r}")
    status = int(entry["status"])
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>hrvpace problem: {html.escape(code)}</title></head><body>"
        f"<h1><code>{html.escape(code)}</code></h1>"
        f"<p>HTTP {status} {html.escape(status_title(status))}: {_inline(entry['when'])}.</p>"
        "<p>Every error of the hrvpace service is <code>application/problem+json</code> "
        "(RFC 9457) with this <code>code</code>; its <code>detail</code> says what went wrong "
        "this time. The full list is in README.md, section API, Errors.</p></body></html>"
    )
    return HTMLResponse(body, headers={"Cache-Control": CACHE_CONTROL})
