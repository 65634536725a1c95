"""``GET /api/v1/sessions`` pages with a keyset cursor (an app developer's review).

Paging by ``offset`` counts from the newest session at the time of asking: a session started
between two pages pushes the list down (the next page repeats one), one deleted pulls it up
(the next page skips one). ``next_cursor`` names the place after a page's last session (its
``created_at`` and id, the list's order), so the next page does not move with them, nor
depend on that session still being stored. A real uvicorn, real SQLite; the sessions are
stored through the service's storage (chosen times, ties among them), started through
``POST /sessions``, and deleted through another SQLite connection, as another program would.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.routes._cursor import MAX_CURSOR_CHARS
from api.storage import Storage
from tests.api.conftest import Server

#: created_at of the sessions stored before the walk: ties straddle the pages of 2.
TIMES = (100.0, 200.0, 200.0, 200.0, 300.0, 300.0, 400.0, 500.0, 500.0)


def _store(storage: Storage, created_at: float, n: int) -> str:
    sid = f"{n:02d}{'abcdefghij'[n % 10]}" * 4  # ids not in created_at's order
    storage.create_session(
        sid, created_at=created_at, mode="monitor", source={"kind": "simulator"}, options={}
    ).result(timeout=10)
    storage.set_session_state(sid, "ended", ended_at=created_at + 60).result(timeout=10)
    return sid


def _delete(server: Server, session_id: str) -> None:
    """Delete a session (no beats, no events) as another program would, on its own connection."""
    with sqlite3.connect(server.settings.database_path, timeout=10) as conn:
        assert conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount == 1
    conn.close()


def _page(c: httpx.Client, **params: Any) -> dict[str, Any]:
    r = c.get("/api/v1/sessions", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _start_and_stop(c: httpx.Client) -> str:
    r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 20}})
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    assert c.post(f"/api/v1/sessions/{sid}/stop").status_code == 200
    return sid


def test_a_cursor_walk_gets_every_session_once_while_sessions_start_and_one_is_deleted(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    storage = server.app.state.storage
    ids = [_store(storage, t, n) for n, t in enumerate(TIMES)]
    with server.client() as c:
        at_start = [s["id"] for s in _page(c, limit=1000)["sessions"]]
        # newest first, ties by id: the order the cursor encodes
        assert at_start == sorted(ids, key=lambda i: (-TIMES[ids.index(i)], i))
        pages: list[list[str]] = []
        cursor: str | None = None
        started: list[str] = []
        deleted: str | None = None
        while True:
            body = _page(c, limit=2, **({} if cursor is None else {"cursor": cursor}))
            pages.append([s["id"] for s in body["sessions"]])
            cursor = body["next_cursor"]
            if cursor is None:
                break
            assert len(pages) < 20, pages  # a loop, not a list
            if len(pages) == 1:  # sessions start: newer than every page
                started += [_start_and_stop(c), _store(storage, time.time(), 99)]
            elif len(pages) == 2:  # the cursor's own session is deleted
                deleted = pages[-1][-1]
                _delete(server, deleted)
        assert [i for page in pages for i in page] == at_start
        assert [len(p) for p in pages] == [2, 2, 2, 2, 1]
        assert deleted in at_start and started
        now = _page(c, limit=1000)
        assert now["total"] == len(TIMES) + len(started) - 1 == len(now["sessions"])
        assert [s["id"] for s in now["sessions"]][: len(started)] == started[::-1]
        # a page that ends the list exactly has no next page; one short of it has
        assert _page(c, limit=now["total"])["next_cursor"] is None
        assert _page(c, limit=now["total"] - 1)["next_cursor"] is not None

        # what the cursor mends: with offset, a session started between two pages repeats one
        first = [s["id"] for s in _page(c, limit=2)["sessions"]]
        _start_and_stop(c)
        second = [s["id"] for s in _page(c, limit=2, offset=2)["sessions"]]
        assert second[0] == first[-1]


def _cursor(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GOOD = {"v": 1, "created_at": 1.5e9, "id": "a" * 32}

#: A text that is not a cursor of this list -> a part of the 422's msg.
MALFORMED = {
    "!!!": "not URL-safe base64",
    "abcde": "not URL-safe base64",  # a length base64 cannot have
    _cursor(GOOD) + "==": "not URL-safe base64",  # padded
    _cursor(b"\xff\xfe\xfd"): "its content is not one",  # not UTF-8
    _cursor(b"created_at=1"): "its content is not one",  # not JSON
    _cursor([1, 1.5e9, "a"]): "its content is not one",
    _cursor({**GOOD, "v": 2}): "a cursor of version 2: this service reads version 1",
    _cursor({**GOOD, "v": "1"}): 'a cursor of version "1"',
    _cursor({**GOOD, "v": True}): "a cursor of version true",
    _cursor({"v": 1, "created_at": 1.5e9}): "it holds created_at, v",
    _cursor({**GOOD, "offset": 3}): "it holds created_at, id, offset, v",
    _cursor({**GOOD, "created_at": "1500000000"}): "its created_at is not a number",
    _cursor({**GOOD, "created_at": True}): "its created_at is not a number",
    _cursor(b'{"v":1,"created_at":1e999,"id":"a"}'): "its created_at is not a number",  # inf
    _cursor(b'{"v":1,"created_at":NaN,"id":"a"}'): "its created_at is not a number",
    _cursor({**GOOD, "id": 7}): "its id is not a text of 1 to 64 characters",
    _cursor({**GOOD, "id": ""}): "its id is not a text of 1 to 64 characters",
    _cursor({**GOOD, "id": "a" * 65}): "its id is not a text of 1 to 64 characters",
    "": "not URL-safe base64",
    "A" * (MAX_CURSOR_CHARS + 1): f"at most {MAX_CURSOR_CHARS} characters",
}


def test_a_text_that_is_not_a_cursor_is_a_422_naming_cursor(module_server: Server) -> None:
    with module_server.client() as c:
        for cursor, why in MALFORMED.items():
            r = c.get("/api/v1/sessions", params={"cursor": cursor})
            assert r.status_code == 422, (cursor, r.text)
            problem = r.json()
            assert problem["code"] == "validation_error"
            assert r.headers["content-type"] == "application/problem+json"
            (issue,) = problem["errors"]
            assert issue["loc"] == ["query", "cursor"], problem
            assert why in issue["msg"], (cursor, issue["msg"])
        # a well-formed cursor naming no session is a place in the list, not an error
        assert _page(c, cursor=_cursor(GOOD))["next_cursor"] is None


@pytest.mark.parametrize("offset", [1, 50])
def test_a_cursor_with_an_offset_is_a_422_naming_offset(module_server: Server, offset: int) -> None:
    with module_server.client() as c:
        cursor = _cursor(GOOD)
        r = c.get("/api/v1/sessions", params={"cursor": cursor, "offset": offset})
        assert r.status_code == 422, r.text
        (issue,) = r.json()["errors"]
        assert issue["loc"] == ["query", "offset"]
        assert "offset with a cursor" in issue["msg"] and "leave offset out" in issue["msg"]
        assert _page(c, cursor=cursor, offset=0)["sessions"] == []  # 0 is no offset
