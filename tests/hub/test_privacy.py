"""The attacks of issue 17 against the hub, each on both backends.

No endpoint returns one member's data; these tests try to get it anyway by combining allowed
queries: narrowing the date range, a member joining or leaving within a period, deleting
after a release, and subtracting two statistics over sets that differ by one member (an
intervention effect against a week's cell; groups of the same people).
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from tests.hub.conftest import CLOSES, WEEK, WEEK_DAYS, Hub

WED = WEEK_DAYS[2]


def _week_of_five(hub: Hub, gid: str, tokens: list[str], value: float = 40.0) -> None:
    for i, token in enumerate(tokens):
        for day in WEEK_DAYS:
            r = hub.send(token, day, resting_rmssd_ms=value + i)
            assert r.status_code == 201, r.text


def _cell(hub: Hub, gid: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    (cell,) = hub.summary(gid, first, last)["periods"]
    return cell


def test_narrowing_the_date_range_cannot_isolate_a_day(hub: Hub) -> None:
    gid = hub.group(k=5)
    *five, target = hub.members(gid, 6)
    hub.clock.at(WEEK_DAYS[6])
    _week_of_five(hub, gid, five)
    assert hub.send(target, WED, resting_rmssd_ms=250.0).status_code == 201  # one day only
    hub.clock.at(CLOSES)
    whole = _cell(hub, gid, WEEK, WEEK_DAYS[6])
    for first, last in [(WED, WED), (WEEK_DAYS[1], WED), (WED, WEEK_DAYS[4])]:
        body = hub.summary(gid, first, last)
        assert body["from"] == WEEK.isoformat() and body["to"] == WEEK_DAYS[6].isoformat()
        assert body["periods"] == [whole]  # the same whole-week cell, whatever the range
    # the target's day is one of six members' weekly means, never alone
    assert whole["contributors"] == 6
    means = [statistics.fmean([40.0 + i] * 7) for i in range(5)] + [250.0]
    assert whole["measures"]["resting_rmssd_ms"]["mean"] == round(statistics.fmean(means), 2)
    r = hub.admin.get(f"/hub/v1/groups/{gid}/summary", params={"by": "day"})
    assert r.status_code == 422  # weeks are the only period


def test_joining_within_a_week_does_not_count_in_it(hub: Hub) -> None:
    gid = hub.group(k=5)
    five = hub.members(gid, 5)
    hub.clock.at(WEEK_DAYS[1])  # Tuesday: a sixth person joins within the week
    late = hub.join(hub.invite(gid))
    r = hub.send(late, WED, resting_rmssd_ms=250.0)
    assert r.status_code == 409 and r.json()["code"] == "before_membership"
    hub.clock.at(WEEK_DAYS[6])
    _week_of_five(hub, gid, five)
    hub.clock.at(CLOSES)
    cell = _cell(hub, gid, WEEK, WEEK)
    assert cell["members"] == 5 and cell["contributors"] == 5
    assert cell["measures"]["resting_rmssd_ms"]["mean"] == 42.0  # 40..44: the five only


def test_leaving_within_a_week_takes_the_member_out_of_the_whole_week(hub: Hub) -> None:
    gid = hub.group(k=5)
    *five, leaver = hub.members(gid, 6)
    hub.clock.at(WEEK_DAYS[1])
    for day in WEEK_DAYS[:2]:
        assert hub.send(leaver, day, resting_rmssd_ms=250.0).status_code == 201
    # stops sharing on Wednesday, keeping what was sent: still not in this week
    assert hub.client(leaver).delete("/hub/v1/me", params={"delete": "false"}).status_code == 200
    hub.clock.at(WEEK_DAYS[6])
    _week_of_five(hub, gid, five)
    hub.clock.at(CLOSES)
    cell = _cell(hub, gid, WEEK, WEEK)
    assert cell["members"] == 5 and cell["contributors"] == 5
    assert cell["measures"]["resting_rmssd_ms"]["mean"] == 42.0


def test_a_released_week_never_changes_so_deleting_reveals_nothing(hub: Hub) -> None:
    gid = hub.group(k=5)
    tokens = hub.members(gid, 6)
    hub.clock.at(WEEK_DAYS[6])
    _week_of_five(hub, gid, tokens)
    hub.clock.at(CLOSES)
    before = hub.summary(gid, WEEK, WEEK)
    assert not before["periods"][0]["suppressed"]
    r = hub.client(tokens[5]).delete("/hub/v1/me")
    assert r.status_code == 200 and r.json()["deleted_contributions"] == 7
    hub.clock.t += 30 * 86_400
    assert hub.summary(gid, WEEK, WEEK) == before  # released once, as it was


def test_deleting_before_the_week_closes_removes_the_member_from_it(hub: Hub) -> None:
    gid = hub.group(k=5)
    tokens = hub.members(gid, 5)
    hub.clock.at(WEEK_DAYS[6])
    _week_of_five(hub, gid, tokens)
    assert hub.client(tokens[0]).delete("/hub/v1/me").status_code == 200
    hub.clock.at(CLOSES)
    cell = _cell(hub, gid, WEEK, WEEK)
    assert cell["suppressed"] and cell["reason"] == "fewer_than_k"  # four left: below k


def test_groups_are_disjoint_so_one_group_cannot_be_subtracted_from_another(hub: Hub) -> None:
    a, b = hub.group("A", k=5), hub.group("B", k=5)
    in_a, in_b = hub.members(a, 5), hub.members(b, 6)
    hub.clock.at(WEEK_DAYS[6])
    _week_of_five(hub, a, in_a, value=30.0)
    _week_of_five(hub, b, in_b, value=90.0)
    hub.clock.at(CLOSES)
    ca, cb = _cell(hub, a, WEEK, WEEK), _cell(hub, b, WEEK, WEEK)
    assert ca["contributors"] == 5 and ca["measures"]["resting_rmssd_ms"]["mean"] == 32.0
    assert cb["contributors"] == 6 and cb["measures"]["resting_rmssd_ms"]["mean"] == 92.5
    # a member's token sends for its own group only; there is no way to add it to another
    r = hub.client(in_a[0]).post("/hub/v1/join", json={"code": hub.invite(b)})
    assert r.status_code == 201 and r.json()["group_id"] == b  # a new, separate pseudonym
    assert r.json()["member_id"] not in {m for m in _member_ids(hub, a)}


def _member_ids(hub: Hub, gid: str) -> list[str]:
    import sqlalchemy as sa

    from hub import db

    with hub.engine.connect() as conn:
        return list(
            conn.execute(sa.select(db.members.c.id).where(db.members.c.group_id == gid)).scalars()
        )


def test_an_effect_over_all_but_one_of_a_weeks_members_is_suppressed(hub: Hub) -> None:
    """Differencing: T1's cell over six members minus an effect's T1 mean over five of them
    would give the sixth member's value; the effect is suppressed instead."""
    gid = hub.group(k=5)
    tokens = hub.members(gid, 6)
    t1 = WEEK + dt.timedelta(days=7)
    hub.clock.at(WEEK_DAYS[6])
    for i, token in enumerate(tokens[:5]):  # T0: the sixth member sends nothing
        assert hub.send(token, WEEK, resting_rmssd_ms=40.0 + i, stress=2).status_code == 201
    assert hub.send(tokens[5], WEEK, stress=3).status_code == 201
    hub.clock.at(t1 + dt.timedelta(days=6))
    for i, token in enumerate(tokens):  # T1: all six
        assert hub.send(token, t1, resting_rmssd_ms=45.0 + i, stress=2).status_code == 201
    r = hub.admin.post(
        f"/hub/v1/groups/{gid}/interventions",
        json={"name": "walking meetings", "start": t1.isoformat(), "end": t1.isoformat()},
    )
    assert r.status_code == 201, r.text
    hub.clock.at(t1 + dt.timedelta(days=9))
    effect = hub.admin.get(f"/hub/v1/interventions/{r.json()['id']}/effect").json()
    rmssd = effect["measures"]["resting_rmssd_ms"]["group"]
    assert rmssd["suppressed"] and rmssd["reason"] == "differencing"
    assert rmssd["mean_t1"] is None and rmssd["n"] is None
    # stress: all six in both weeks, the same set as the cells: released
    stress = effect["measures"]["stress"]["group"]
    assert not stress["suppressed"] and stress["n"] == 6
    cell = _cell(hub, gid, t1, t1)
    assert cell["measures"]["resting_rmssd_ms"]["n"] == 6
