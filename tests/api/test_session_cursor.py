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
import math
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.routes._cursor import MAX_CURSOR_CHARS, MAX_SKIP, Position, decode_cursor, encode_cursor
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
ID_SHAPE = "its id is not 1 to 64 letters, digits, '_', '.' or '-'"
SKIP_SHAPE = f"its skip is not a whole number from 0 to {MAX_SKIP}"
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
    _cursor({"v": 1, "id": "a", "skip": 1}): "it holds id, skip, v",
    _cursor({**GOOD, "offset": 3}): "it holds created_at, id, offset, v",
    _cursor({**GOOD, "created_at": "1500000000"}): "its created_at is not a number",
    _cursor({**GOOD, "created_at": True}): "its created_at is not a number",
    _cursor(b'{"v":1,"created_at":1e999,"id":"a"}'): "its created_at is not a number",  # inf
    _cursor(b'{"v":1,"created_at":NaN,"id":"a"}'): "its created_at is not a number",
    _cursor({**GOOD, "id": 7}): ID_SHAPE,
    _cursor({**GOOD, "id": ""}): ID_SHAPE,
    _cursor({**GOOD, "id": "a" * 65}): ID_SHAPE,
    _cursor({**GOOD, "id": "a b"}): ID_SHAPE,
    _cursor({**GOOD, "id": "a\n"}): ID_SHAPE,
    _cursor({**GOOD, "id": "\u00e9"}): ID_SHAPE,
    # a lone surrogate, which SQLite cannot take: was a 500 (review of the cursor)
    "eyJ2IjoxLCJjcmVhdGVkX2F0IjoxLCJpZCI6Ilx1ZDgwMCJ9": ID_SHAPE,
    _cursor(b'{"v":1,"created_at":1,"id":"\\ud83d\\ude00"}'): ID_SHAPE,  # a pair: valid, not ASCII
    _cursor({**GOOD, "skip": -1}): SKIP_SHAPE,
    _cursor({**GOOD, "skip": 1.0}): SKIP_SHAPE,
    _cursor({**GOOD, "skip": True}): SKIP_SHAPE,
    _cursor({"v": 1, "skip": MAX_SKIP + 1}): SKIP_SHAPE,  # past SQLite's integers: a 500
    "": "an empty cursor: for the first page, leave cursor out",
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


def test_a_cursor_gives_back_its_place_exactly() -> None:
    # created_at is written with repr's precision and read back as the same float: a place a
    # digit off would repeat the page's last session (rounded up) or skip its ties (down)
    x = 1700000000.123456789
    times = [x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf), time.time()]
    times += [0.1 + 0.2, 0.3, -0.0, 5e-324, 1e308, -1.7976931348623157e308]
    for t in times:
        for sid in ("a", uuid.uuid4().hex, "Az09_.-" * 9 + "z"):
            for skip in (0, 1, MAX_SKIP):
                cursor = encode_cursor(Position((t, sid), skip))
                got = decode_cursor(cursor)
                assert got == Position((t, sid), skip), (t, sid, skip)
                assert got.place is not None and got.place[0].hex() == t.hex()  # -0.0 too
                assert len(cursor) <= MAX_CURSOR_CHARS, cursor
    assert decode_cursor(encode_cursor(Position(None, 7))) == Position(None, 7)


def _insert(server: Server, rows: list[tuple[object, object]]) -> None:
    """Store sessions as another program would, with ids and times of its own."""
    with sqlite3.connect(server.settings.database_path, timeout=10) as conn:
        conn.executemany(
            "INSERT INTO sessions (id, created_at, state, mode, source_json) "
            "VALUES (?, ?, 'ended', 'monitor', '{\"kind\": \"simulator\"}')",
            rows,
        )
    conn.close()


def _walk(c: httpx.Client, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        body = _page(c, limit=limit, **({} if cursor is None else {"cursor": cursor}))
        pages.append([s["id"] for s in body["sessions"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, pages  # a loop, not a list
        decode_cursor(cursor)  # the service never hands out a cursor it refuses


def test_a_page_boundary_between_neighbouring_times_and_ties_loses_no_session(
    serve: Callable[..., Server],
) -> None:
    # the sessions' times are time.time()'s, never whole seconds: pages of 1, 2 and 3 end on
    # every session here, at times one float apart and tied with others
    server = serve()
    x, now = 1700000000.123456789, time.time()
    times = [x, x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf), x + 1e-6]
    times += [now, now, math.nextafter(now, -math.inf), math.nextafter(now, math.inf)]
    ids = [f"s{n}{'kbjdfihcaeg'[n]}" for n in range(len(times))]  # not in created_at's order
    _insert(server, list(zip(ids, times, strict=True)))
    expected = sorted(ids, key=lambda i: (-times[ids.index(i)], i))
    with server.client() as c:
        listed = _page(c, limit=1000)["sessions"]
        assert [s["id"] for s in listed] == expected
        assert [s["created_at"] for s in listed] == sorted(times, reverse=True)  # exact
        for limit in (1, 2, 3):
            pages = _walk(c, limit)
            assert [i for page in pages for i in page] == expected, limit
            assert all(len(p) == limit for p in pages[:-1]), pages


def test_sessions_another_program_stored_with_ids_a_cursor_cannot_hold_come_once(
    serve: Callable[..., Server],
) -> None:
    # another program's database: ids not of the cursor's shape, infinite times. A page
    # ending on them names the place before them and how many to skip (the newest have no
    # place before them: counted from the top); pages keep their length, every session
    # comes once, and each next_cursor is one the service reads (was a 500, or a cursor
    # refused by the next request)
    server = serve()
    odd = [("top one", math.inf), ("top two", math.inf), ("\u00e9t\u00e9", 300.0)]
    odd += [("x" * 65, 200.0), ("a/b", 200.0), ("tab\t", 200.0), ("low", -math.inf)]
    fine = [("s1", 300.0), ("s2", 200.0), ("s3", 100.0), ("s4", 100.0)]
    _insert(server, odd + fine)
    with server.client() as c:
        everything = [s["id"] for s in _page(c, limit=1000)["sessions"]]
        assert sorted(everything) == sorted(i for i, _ in odd + fine)
        for limit in (1, 2, 3, 4):
            pages = _walk(c, limit)
            assert [i for page in pages for i in page] == everything, limit
            assert all(len(p) == limit for p in pages[:-1]), pages
        # the order: top one, top two (inf), s1, été (300), a/b, s2, tab, x*65 (200), s3, s4,
        # low (-inf). On the top, before any place: {"v": 1, "skip": 2}, counted from the top
        first = _page(c, limit=2)
        assert [s["id"] for s in first["sessions"]] == ["top one", "top two"]
        assert decode_cursor(first["next_cursor"]) == Position(None, 2)
        assert [s["id"] for s in _page(c, limit=1, cursor=first["next_cursor"])["sessions"]] == [
            "s1"
        ]
        # a page ending on two it cannot name: the place of the last it can, s2, skip one
        body = _page(c, limit=4, cursor=encode_cursor(Position((300.0, "s1"))))
        assert [s["id"] for s in body["sessions"]] == ["\u00e9t\u00e9", "a/b", "s2", "tab\t"]
        assert decode_cursor(body["next_cursor"]) == Position((200.0, "s2"), 1)
        # a page of none it can name: the same place, past the page too
        body = _page(c, limit=2, cursor=body["next_cursor"])
        assert [s["id"] for s in body["sessions"]] == ["x" * 65, "s3"]
        assert decode_cursor(body["next_cursor"]) == Position((100.0, "s3"), 0)
        body = _page(c, limit=2, cursor=encode_cursor(Position((200.0, "s2"))))
        assert [s["id"] for s in body["sessions"]] == ["tab\t", "x" * 65]
        assert decode_cursor(body["next_cursor"]) == Position((200.0, "s2"), 2)
        assert [s["id"] for s in _page(c, cursor=body["next_cursor"])["sessions"]] == [
            "s3",
            "s4",
            "low",
        ]
