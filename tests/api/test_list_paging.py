"""Check-ins, prompts and the micro-break history page through everything (review item 2).

``since`` on check-ins and prompts is inclusive (at or after), so with more items at one time
than ``limit``, asking again with ``since`` = the last time gave the same page forever; and
the micro-break history (newest first) had no way past its first 10,000 events. Each list now
names its next page: ``next_after_id``, passed back as ``after_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.api.conftest import Server


def _pages(client: httpx.Client, path: str, key: str, **params: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    after: int | None = None
    while True:
        query = dict(params) | ({} if after is None else {"after_id": after})
        r = client.get(path, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append([item["id"] for item in body[key]])
        after = body["next_after_id"]
        if after is None:
            return pages
        assert len(pages) < 50, pages  # a loop, not a list


def test_checkins_at_one_time_page_through_all_of_them(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        ids = [
            c.post("/api/v1/checkins", json={"stress": 2, "energy": 3, "at": at}).json()["id"]
            for at in (500.0, 1000.0, 1000.0, 1000.0, 1000.0, 1500.0)
        ]
        first = c.get("/api/v1/checkins", params={"limit": 2, "since": 1000.0}).json()
        assert [x["id"] for x in first["checkins"]] == ids[1:3]  # old clients' first page
        assert first["total"] == 5
        pages = _pages(c, "/api/v1/checkins", "checkins", limit=2, since=1000.0)
        assert pages == [ids[1:3], ids[3:5], ids[5:6]]
        assert _pages(c, "/api/v1/checkins", "checkins", limit=6) == [ids]
        bad = c.get("/api/v1/checkins", params={"after_id": 999})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["query", "after_id"]


def test_prompts_due_at_one_time_page_through_all_of_them(serve: Callable[..., Server]) -> None:
    server = serve()
    storage = server.app.state.storage
    for n, due in enumerate((900.0, 1000.0, 1000.0, 1000.0, 1000.0, 1100.0)):
        storage.add_prompt(
            key=f"1970-01-01:test-{n}",
            kind="morning_prompt",
            trigger="planned",
            text="?",
            state="expired",
            due_at=due,
            expires_at=due + 60,
            at=due + 60,
        ).result(timeout=10)
    with server.client() as c:
        ours = [
            p["id"]
            for p in c.get("/api/v1/prompts", params={"state": "expired"}).json()["prompts"]
            if p["key"].startswith("1970-01-01:test-")
        ]
        assert len(ours) == 6
        pages = _pages(c, "/api/v1/prompts", "prompts", limit=2, since=1000.0, state="expired")
        assert pages[:3] == [ours[1:3], ours[3:5], ours[5:6]]  # the plan's own come later
        seen = [i for page in pages for i in page]
        total = c.get("/api/v1/prompts", params={"since": 1000.0, "state": "expired"}).json()
        assert len(seen) == len(set(seen)) == total["total"]
        bad = c.get("/api/v1/prompts", params={"after_id": 10**6})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["query", "after_id"]


def test_micro_break_history_pages_back_to_the_oldest_event(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    storage = server.app.state.storage
    for at in (100.0, 200.0, 200.0, 200.0, 300.0):
        storage.add_micro_break(
            session_id=None,
            t_s=None,
            recorded_at=at,
            kind="break_started",
            data={"type": "break_started", "t_s": 1.0, "kind": "screen", "reason": None},
        )
    storage.flush().result(timeout=10)
    with server.client() as c:
        newest = c.get("/api/v1/microbreaks/history").json()
        ids = [e["id"] for e in newest["events"]]  # newest first
        assert len(ids) == 5 == newest["total"] and newest["next_after_id"] is None
        pages = _pages(c, "/api/v1/microbreaks/history", "events", limit=2)
        assert pages == [ids[0:2], ids[2:4], ids[4:5]]
        bad = c.get("/api/v1/microbreaks/history", params={"after_id": 999})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["query", "after_id"]
