"""An admin's hold over a group's access on both backends: list and revoke invites, list and
remove members (review: a leaked code let anyone join for two weeks and could not be undone)."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.hub.conftest import CLOSES, WEEK, WEEK_DAYS, Hub

W03 = WEEK + dt.timedelta(weeks=1)


def _problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.text


def test_invites_are_listed_without_their_code_and_revoked(hub: Hub) -> None:
    gid = hub.group(k=3)
    other = hub.group("other", k=3)
    made = hub.admin.post(f"/hub/v1/groups/{gid}/invites", json={"days": 3, "uses": 5}).json()
    code, iid = made["code"], made["id"]
    assert len(iid) == 12 and iid not in code
    hub.clock.t += 60
    second = hub.admin.post(f"/hub/v1/groups/{gid}/invites", json={"days": 1, "uses": 1}).json()
    hub.invite(other)
    for _ in range(2):
        hub.join(code)
    r = hub.admin.get(f"/hub/v1/groups/{gid}/invites")
    assert r.status_code == 200 and code not in r.text and second["code"] not in r.text
    listed = r.json()
    assert [i["id"] for i in listed] == [second["id"], iid]  # newest first, this group only
    first = listed[1]
    assert first["uses_left"] == 3 and first["status"] == "active"
    assert first["expires"] == made["expires"]
    assert set(first) == {"id", "group_id", "created", "expires", "uses_left", "status"}
    hub.join(second["code"])
    assert hub.admin.get(f"/hub/v1/groups/{gid}/invites").json()[0]["status"] == "used_up"

    _problem(hub.client().get(f"/hub/v1/groups/{gid}/invites"), 401, "unauthorized")
    _problem(hub.client().delete(f"/hub/v1/groups/{gid}/invites/{iid}"), 401, "unauthorized")
    _problem(hub.admin.delete(f"/hub/v1/groups/{other}/invites/{iid}"), 404, "invite_not_found")
    r = hub.admin.delete(f"/hub/v1/groups/{gid}/invites/{iid}")
    assert r.status_code == 204, r.text
    _problem(hub.client().post("/hub/v1/join", json={"code": code}), 403, "invite_invalid")
    assert [i["id"] for i in hub.admin.get(f"/hub/v1/groups/{gid}/invites").json()] == [
        second["id"]
    ]
    _problem(hub.admin.delete(f"/hub/v1/groups/{gid}/invites/{iid}"), 404, "invite_not_found")
    _problem(hub.admin.delete(f"/hub/v1/groups/{gid}/invites/zz"), 404, "invite_not_found")
    # the members who joined with it stay
    assert hub.admin.get(f"/hub/v1/groups/{gid}").json()["members"] == 3
    hub.clock.t += 2 * 86_400
    assert hub.admin.get(f"/hub/v1/groups/{gid}/invites").json()[0]["status"] == "expired"


def test_a_removed_member_stops_as_if_they_had_and_released_weeks_stay(hub: Hub) -> None:
    gid = hub.group(k=3)
    code = hub.invite(gid)
    joined = [hub.client().post("/hub/v1/join", json={"code": code}).json() for _ in range(4)]
    tokens = [j["token"] for j in joined]
    listed = hub.admin.get(f"/hub/v1/groups/{gid}/members").json()
    # random ids and the Monday each counts from: no token, no join time, nothing else
    assert sorted(m["id"] for m in listed) == sorted(j["member_id"] for j in joined)
    assert all(
        set(m) == {"id", "group_id", "counts_from"} and m["counts_from"] == WEEK.isoformat()
        for m in listed
    )
    hub.clock.at(WEEK_DAYS[6])
    for i, tok in enumerate(tokens):
        assert hub.send(tok, WEEK, stress=1.0 + i).status_code == 201
    hub.clock.at(CLOSES)  # W02 closes; a day of W03 from everyone, then one is removed
    before = hub.summary(gid, WEEK, WEEK)["periods"][0]
    assert before["members"] == 4 and before["measures"]["stress"]["mean"] == 2.5
    for i, tok in enumerate(tokens):
        assert hub.send(tok, W03, stress=1.0 + i).status_code == 201
    gone = joined[3]["member_id"]
    _problem(hub.client().delete(f"/hub/v1/groups/{gid}/members/{gone}"), 401, "unauthorized")
    other = hub.group("other", k=3)
    _problem(hub.admin.delete(f"/hub/v1/groups/{other}/members/{gone}"), 404, "member_not_found")
    r = hub.admin.delete(f"/hub/v1/groups/{gid}/members/{gone}")
    assert r.status_code == 204, r.text
    _problem(hub.admin.delete(f"/hub/v1/groups/{gid}/members/{gone}"), 404, "member_not_found")
    assert gone not in {m["id"] for m in hub.admin.get(f"/hub/v1/groups/{gid}/members").json()}
    assert hub.admin.get(f"/hub/v1/groups/{gid}").json()["members"] == 3
    # their token sends nothing more, but still deletes their own days (their call, not ours)
    _problem(hub.send(tokens[3], W03 + dt.timedelta(days=1), stress=5.0), 401, "unauthorized")
    # stopping again is 409, not the 401 of an unknown token, after which the person's hrvpace
    # would drop the token, the only key to their days
    r = hub.client(tokens[3]).delete("/hub/v1/me", params={"delete": "false"})
    _problem(r, 409, "already_stopped")
    # the week released before stays as it was; the week they were removed in leaves them out
    assert hub.summary(gid, WEEK, WEEK)["periods"][0] == before
    hub.clock.at(CLOSES + dt.timedelta(weeks=1))
    w03 = hub.summary(gid, W03, W03)["periods"][0]
    assert w03["members"] == 3 and w03["contributors"] == 3
    assert w03["measures"]["stress"]["mean"] == 2.0  # 1, 2, 3: not the removed member's 4
    r = hub.client(tokens[3]).delete("/hub/v1/me", params={"delete": "true"})
    assert r.status_code == 200 and r.json()["deleted_contributions"] == 2
    assert hub.summary(gid, WEEK, WEEK)["periods"][0] == before
