"""A hub URL may point at any server: what it answers is checked, never trusted to be a hub's.

A real uvicorn on 127.0.0.1 serves a small app that answers the hub's two paths the way a
server that is not an hrvpace hub might (text, a JSON list, a JSON object without the fields).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from api import hubshare
from tests._uvicorn import serving

#: What the fake server answers, set by each test: (status, body kind).
ANSWER: dict[str, tuple[int, str]] = {}


def _reply(request: Request) -> Response:
    status, kind = ANSWER["now"]
    if kind == "text":
        return PlainTextResponse("hello from a web server", status_code=status)
    if kind == "list":
        return JSONResponse([1, 2, 3], status_code=status)
    return JSONResponse({"welcome": True}, status_code=status)


@pytest.fixture(scope="module")
def not_a_hub() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/hub/v1/join", _reply, methods=["POST"]),
            Route("/hub/v1/me", _reply, methods=["DELETE"]),
        ]
    )
    with serving(app) as running:
        yield running.url


@pytest.mark.parametrize(
    ("status", "kind"), [(201, "text"), (201, "list"), (201, "object"), (400, "list")]
)
def test_joining_something_that_is_not_a_hub_is_refused_plainly(
    not_a_hub: str, status: int, kind: str
) -> None:
    ANSWER["now"] = (status, kind)
    error = hubshare.InviteRefusedError if status == 400 else hubshare.HubRefusedError
    with pytest.raises(error) as caught:
        hubshare.join_hub(not_a_hub, "code")
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("kind", ["text", "list", "object"])
def test_deleting_through_something_that_is_not_a_hub_is_refused_and_keeps_the_token(
    not_a_hub: str, tmp_path: Path, kind: str
) -> None:
    ANSWER["now"] = (200, kind)
    membership = hubshare.Membership(
        hub_url=not_a_hub,
        member_id="m1",
        group_id="g1",
        token="hm_token",
        counts_from=dt.date(2026, 12, 1),
    )
    hubshare.save_membership(tmp_path, membership)
    with pytest.raises(hubshare.HubRefusedError, match=r"deleted days|not an hrvpace hub"):
        hubshare.leave_hub(tmp_path, delete=True)
    assert (tmp_path / hubshare.STATE_FILE).exists()  # the token may still delete later
