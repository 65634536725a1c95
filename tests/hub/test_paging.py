"""The group, invite and intervention lists come in pages, on both backends, stable while rows
are added.

``limit`` (default 100, at most 1000, as the personal service's session list) and the
cursor ``after``, which the previous page's ``Link: <...>; rel="next"`` header names: keyset
paging on the list's order, so an item added between two pages is never listed twice nor
pushes an item off a page, and the cursor holds only what the page showed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

from tests.hub.conftest import GROUP_DAY, WEEK, Hub
from tests.hub.test_api import _problem


def _next(r: Any) -> str | None:
    """The next page's address of an answer's ``Link`` header (relative), or None."""
    link = r.headers.get("link")
    if link is None:
        return None
    m = re.fullmatch(r'<(/hub/v1/[^>]+)>; rel="next"', link)
    assert m, link
    return m.group(1)


def _cursor(address: str) -> list[object]:
    after = re.search(r"[?&]after=([^&]+)", address)
    assert after, address
    raw = after.group(1)
    parts: list[object] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return parts


def _pages(hub: Hub, first: str, between: Any = None) -> list[tuple[list[Any], str | None]]:
    """Every page from ``first`` on and its next address, following ``Link``;
    ``between(n)`` runs after page n."""
    pages = []
    address: str | None = first
    while address is not None:
        r = hub.admin.get(address)
        assert r.status_code == 200, r.text
        address = _next(r)
        pages.append((r.json(), address))
        if between is not None:
            between(len(pages))
    return pages


def test_the_groups_come_in_pages_and_one_made_meanwhile_is_listed_once(hub: Hub) -> None:
    """Eight groups, five of them in one second (their order is their random ids), pages of
    three; between the pages six groups are made in that same second and later. The pages
    list every group that was there at the start exactly once, in the one order of the
    whole list; what is new is listed at most once (offset paging would list an item twice
    when one made meanwhile sorts before it)."""
    before = []
    for i in range(8):
        hub.clock.at(GROUP_DAY, hour=12 if i < 5 else 12 + i)
        before.append(hub.group(name=f"g{i}", k=3))
    whole = hub.admin.get("/hub/v1/groups")
    assert whole.status_code == 200 and _next(whole) is None  # 8 < the default 100
    order = [g["id"] for g in whole.json()]
    assert sorted(order) == sorted(before)

    added = []

    def make_groups(page: int) -> None:
        if page <= 2:
            for hour in (12, 12, 23):  # in the first second, and the newest
                hub.clock.at(GROUP_DAY, hour=hour)
                added.append(hub.group(name=f"new{len(added)}", k=3))

    pages = [p for p, _ in _pages(hub, "/hub/v1/groups?limit=3", make_groups)]
    listed = [g["id"] for page in pages for g in page]
    assert [len(p) for p in pages[:2]] == [3, 3] and all(0 < len(p) <= 3 for p in pages)
    assert len(listed) == len(set(listed)), "a group listed twice"
    assert set(before) <= set(listed)
    assert [g for g in listed if g in before] == order
    assert set(listed) - set(before) <= set(added)
    # each page's groups are as the whole list shows them (their member counts too)
    now = {g["id"]: g for g in hub.admin.get("/hub/v1/groups?limit=1000").json()}
    assert all(g == now[g["id"]] for page in pages for g in page)
    # the cursor is the last group's id, nothing else
    r = hub.admin.get("/hub/v1/groups?limit=2")
    address = _next(r)
    assert address is not None and "limit=2" in address
    assert _cursor(address) == [r.json()[-1]["id"]]


def test_groups_made_in_one_second_list_in_the_order_made_and_a_name_is_taken_once(
    hub: Hub,
) -> None:
    """A script makes groups within one second: they list in the order made (their ids begin
    with the microsecond), not by random id. A second group of the same name is 409
    ``group_exists`` (a retried script), naming the group that has it."""
    hub.clock.at(GROUP_DAY)
    start = hub.clock.t
    names = [f"team {i:03d}" for i in range(12)]
    made = []
    for i, name in enumerate(reversed(names)):  # names in the other order than made
        hub.clock.t = start + 0.05 * i + 0.000_001
        made.append(hub.group(name=name, k=3))
    assert [g["id"] for g in hub.admin.get("/hub/v1/groups").json()] == made
    r = hub.admin.post("/hub/v1/groups", json={"name": "team 005", "k": 3})
    problem = _problem(r, 409, "group_exists")
    detail = str(problem["detail"])
    assert "team 005" in detail and made[names[::-1].index("team 005")] in detail
    assert len(hub.admin.get("/hub/v1/groups").json()) == 12


def test_the_invites_come_in_pages_newest_first_then_the_revoked_ones(hub: Hub) -> None:
    """Seven invites made at five times, three of them joined with and revoked (listed as
    revoked, without times, while they may be withdrawn), pages of two: the pages are the
    whole list in its order; invites made between pages (newer than any) are not listed on a
    later page, none twice; a cursor holds the last invite's shown ``created`` and id, a
    revoked one's id only (its times are not shown)."""
    gid = hub.group(k=3)
    hours = [9, 10, 10, 10, 11, 12, 13]
    ids = []
    for hour in hours:
        hub.clock.at(GROUP_DAY, hour=hour)
        r = hub.admin.post(f"/hub/v1/groups/{gid}/invites", json={"uses": 5})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        if hour == 10:  # joined with and revoked: listed while it may be withdrawn
            hub.join(r.json()["code"])
            r = hub.admin.delete(f"/hub/v1/groups/{gid}/invites/{ids[-1]}")
            assert r.status_code == 204, r.text
    hub.clock.at(GROUP_DAY, hour=14)
    whole = hub.admin.get(f"/hub/v1/groups/{gid}/invites").json()
    assert [i["status"] for i in whole] == ["active"] * 4 + ["revoked"] * 3
    assert [i["id"] for i in whole[:4]] == [ids[6], ids[5], ids[4], ids[0]]
    assert [i["id"] for i in whole[4:]] == sorted(ids[1:4])  # in id order: no times shown

    def make_invite(page: int) -> None:
        hub.clock.at(GROUP_DAY, hour=14 + page)
        assert hub.admin.post(f"/hub/v1/groups/{gid}/invites").status_code == 201

    walked = _pages(hub, f"/hub/v1/groups/{gid}/invites?limit=2", make_invite)
    pages = [p for p, _ in walked]
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [i for page in pages for i in page] == whole
    # the cursors: what the last invite of each page showed, nothing more
    for page, nxt in walked[:-1]:
        assert nxt is not None and "limit=2" in nxt
        last = page[-1]
        if last["status"] == "revoked":
            assert _cursor(nxt) == [None, last["id"]]
        else:
            created = dt.datetime.fromisoformat(last["created"]).timestamp()
            assert _cursor(nxt) == [int(created), last["id"]]
    assert walked[-1][1] is None
    # the newest invites are on a first page asked for now
    first = hub.admin.get(f"/hub/v1/groups/{gid}/invites?limit=2").json()
    assert not {i["id"] for i in first} & set(ids)


def test_a_page_that_cannot_be_is_a_422_naming_the_parameter(hub: Hub) -> None:
    gid = hub.group(k=3)
    hub.invite(gid)
    _intervention(hub, gid)
    for path in ("/hub/v1/groups", f"/hub/v1/groups/{gid}/invites", "/hub/v1/interventions"):
        for limit in (0, 1001, "x"):
            r = hub.admin.get(path, params={"limit": limit})
            assert "limit" in str(_problem(r, 422, "validation_error")["detail"])
        assert hub.admin.get(path, params={"limit": 1000}).status_code == 200
        for after in ("nope!", "bm9wZQ", base64.urlsafe_b64encode(b'["a", "b", "c"]').decode()):
            r = hub.admin.get(path, params={"after": after})
            assert str(_problem(r, 422, "bad_request")["detail"]).startswith("after: ")
    unknown = base64.urlsafe_b64encode(b'["g0000000000000000"]').decode()  # a group's shape
    r = hub.admin.get("/hub/v1/groups", params={"after": unknown})
    assert "no such group" in str(_problem(r, 422, "bad_request")["detail"])
    unknown = base64.urlsafe_b64encode(b'["i0000000000000000"]').decode()  # an intervention's
    r = hub.admin.get("/hub/v1/interventions", params={"after": unknown})
    assert "no such intervention" in str(_problem(r, 422, "bad_request")["detail"])
    r = hub.admin.get("/hub/v1/groups/gnope/invites", params={"limit": 1})
    _problem(r, 404, "group_not_found")


def _raw_cursor(json_text: bytes) -> str:
    return base64.urlsafe_b64encode(json_text).decode().rstrip("=")


def test_a_cursor_no_page_could_have_made_is_a_422_not_a_500(hub: Hub) -> None:
    """Review: an invite cursor's time beyond 64 bits was a 500 on both backends (Python's
    OverflowError, PostgreSQL's numeric out of range), a NUL in an id a 500 on PostgreSQL and
    a lone surrogate one on both (it cannot be encoded). A cursor holds a time the database
    holds (0 <= created < 2**63) and an id of the shape the hub makes (a group's ``g`` and 16
    hex digits, an intervention's ``i`` and 16, an invite's 12 hex digits): anything else is
    the 422 naming ``after``."""
    gid = hub.group(k=3)
    iid = hub.admin.post(f"/hub/v1/groups/{gid}/invites").json()["id"]
    iv = _intervention(hub, gid)
    invites = f"/hub/v1/groups/{gid}/invites"
    bad = {
        invites: [
            b'[1000000000000000000000000000000000000000000000000000000000000, "%s"]' % iid.encode(),
            b'[9223372036854775808, "%s"]' % iid.encode(),  # 2**63
            b'[-1000000000000000000000000000000000000000000000000000000000000, "%s"]'
            % iid.encode(),
            b'[-1, "%s"]' % iid.encode(),
            b'[null, "\\u0000"]',
            b'[5, "a\\u0000"]',
            b'[null, "\\ud800"]',
            b'[null, "ABCDEF012345"]',  # upper case: never an id
            b'[null, "%s0"]' % iid.encode(),
            b'[true, "%s"]' % iid.encode(),
        ],
        "/hub/v1/groups": [
            b'["\\u0000"]',
            b'["\\ud800"]',
            b'["%s\\u0000"]' % gid.encode(),
            b'["G%s"]' % gid[1:].encode(),
            b"[true]",
        ],
        "/hub/v1/interventions": [
            b'["\\u0000"]',
            b'["\\ud800"]',
            b'["%s\\u0000"]' % iv.encode(),
            b'["%s\\u001f"]' % iv[:-1].encode(),  # a control character in an id's place
            b'["%s\\n"]' % iv.encode(),
            b'["I%s"]' % iv[1:].encode(),
            b'["%s"]' % gid.encode(),  # a group's id is no intervention's
            b'[null, "%s"]' % iv.encode(),  # an invite cursor's shape
            b"[true]",
            b"[]",
        ],
    }
    for path, cursors in bad.items():
        for raw in cursors:
            r = hub.admin.get(path, params={"after": _raw_cursor(raw)})
            detail = str(_problem(r, 422, "bad_request")["detail"])
            assert detail.startswith("after: not a position"), (raw, detail)
    # the edges of the range are positions: before every invite, after every one
    for created, listed in ((2**63 - 1, [iid]), (0, [])):
        cursor = _raw_cursor(b'[%d, "%s"]' % (created, iid.encode()))
        r = hub.admin.get(invites, params={"after": cursor})
        assert r.status_code == 200, r.text
        assert [i["id"] for i in r.json()] == listed


def test_a_well_formed_invite_cursor_is_taken_as_a_position(hub: Hub) -> None:
    """README: an invite cursor is not looked up (the invite it names may have been revoked
    and forgotten between two pages, and a walk goes on): one of the right shape is a
    position, the list goes on after it; a group cursor must name a group (groups are never
    deleted)."""
    gid = hub.group(k=3)
    hub.clock.at(GROUP_DAY, hour=9)
    old = hub.admin.post(f"/hub/v1/groups/{gid}/invites").json()["id"]
    hub.clock.at(GROUP_DAY, hour=10)
    new = hub.admin.post(f"/hub/v1/groups/{gid}/invites").json()["id"]
    invites = f"/hub/v1/groups/{gid}/invites"
    between = int(
        dt.datetime(
            GROUP_DAY.year, GROUP_DAY.month, GROUP_DAY.day, 9, 30, tzinfo=dt.UTC
        ).timestamp()
    )
    r = hub.admin.get(invites, params={"after": _raw_cursor(b'[%d, "ffffffffffff"]' % between)})
    assert [i["id"] for i in r.json()] == [old]
    r = hub.admin.get(invites, params={"after": _raw_cursor(b'[null, "000000000000"]')})
    assert r.json() == []  # after the revoked ones' first: there are none
    assert {new, old} == {i["id"] for i in hub.admin.get(invites).json()}


def _intervention(hub: Hub, gid: str, name: str = "study") -> str:
    r = hub.admin.post(
        f"/hub/v1/groups/{gid}/interventions",
        json={"name": name, "start": WEEK.isoformat(), "end": WEEK.isoformat()},
    )
    assert r.status_code == 201, r.text
    iid: str = r.json()["id"]
    return iid


def test_the_interventions_come_in_pages_and_one_made_meanwhile_is_listed_once(
    hub: Hub,
) -> None:
    """``GET /interventions`` was one answer of every intervention; it pages as the group
    list does (the same cursor: the last one's id). Five interventions, three of them in one
    second (their order is their random ids), pages of two; between the pages three are made
    in that second and later. Every one there at the start is listed once in the one order
    of the whole list, a new one at most once."""
    gid = hub.group(k=3)
    before = []
    for i in range(5):
        hub.clock.at(GROUP_DAY, hour=12 if i < 3 else 12 + i)
        before.append(_intervention(hub, gid, f"s{i}"))
    whole = hub.admin.get("/hub/v1/interventions")
    assert whole.status_code == 200 and _next(whole) is None  # 5 < the default 100
    order = [iv["id"] for iv in whole.json()]
    assert sorted(order) == sorted(before)
    assert order[3:] == before[3:]  # oldest first; the first three in id order
    assert order[:3] == sorted(before[:3])

    added = []

    def make(page: int) -> None:
        if page == 1:
            for hour in (12, 12, 23):
                hub.clock.at(GROUP_DAY, hour=hour)
                added.append(_intervention(hub, gid, "new"))

    walked = _pages(hub, "/hub/v1/interventions?limit=2", make)
    listed = [iv["id"] for page, _ in walked for iv in page]
    assert len(walked[0][0]) == 2 and all(0 < len(p) <= 2 for p, _ in walked)
    assert len(listed) == len(set(listed)), "an intervention listed twice"
    assert [i for i in listed if i in before] == order
    assert set(listed) - set(before) <= set(added) and added[-1] in listed  # the newest
    for page, nxt in walked[:-1]:  # the cursor is the last one's id, nothing else
        assert nxt is not None and "limit=2" in nxt
        assert _cursor(nxt) == [page[-1]["id"]]
    # each page's interventions are as the whole list shows them
    now = {iv["id"]: iv for iv in hub.admin.get("/hub/v1/interventions?limit=1000").json()}
    assert all(iv == now[iv["id"]] for page, _ in walked for iv in page)


def test_interventions_made_in_one_second_list_in_the_order_made_on_every_page(hub: Hub) -> None:
    """Admin review: interventions stored in one second came back in a random order (their
    random ids broke the tie). Their ids begin with the microsecond, as a group's: a script's
    twelve list in the order made, in the whole list and walked in pages of five (the cursor,
    the last one's id, holds the tie-breaker: none skipped, none repeated)."""
    gid = hub.group(k=3)
    hub.clock.at(GROUP_DAY)
    start = hub.clock.t
    made = []
    for i in range(12):
        hub.clock.t = start + 0.05 * i + 0.000_001
        made.append(_intervention(hub, gid, f"s{i}"))
    assert [iv["id"] for iv in hub.admin.get("/hub/v1/interventions").json()] == made
    walked = _pages(hub, "/hub/v1/interventions?limit=5")
    assert [len(page) for page, _ in walked] == [5, 5, 2]
    assert [iv["id"] for page, _ in walked for iv in page] == made
