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
    assert isinstance(cell, dict)
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
    r = hub.send(late, WEEK_DAYS[1], resting_rmssd_ms=250.0)  # (Wednesday: not yet finished)
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


def test_three_answers_about_one_week_cannot_be_summed_to_one_member(hub: Hub) -> None:
    """The review's attack (k=3, members A-F and X): week 1 only D, E, F send, week 2 all seven,
    week 3 only A, B, C. Cell W2 (n=7), an intervention in W3 (T0 = W2: pairs A, B, C) and one
    in W2 (T1 = W2: pairs D, E, F) would give 7*cell - 3*mean_t0 - 3*mean_t1 = X's week-2
    value, though every two of the three sets differ by 3 or more members. Every answer about
    week 2's RMSSD is now over the cell's seven, or withheld."""
    gid = hub.group(k=3)
    tokens = dict(zip("ABCDEFX", hub.members(gid, 7), strict=True))
    value = {"A": 30.0, "B": 35.0, "C": 40.0, "D": 45.0, "E": 50.0, "F": 55.0, "X": 97.3}
    w1, w2, w3 = (WEEK + dt.timedelta(days=7 * i) for i in range(3))
    for monday, who in ((w1, "DEF"), (w2, "ABCDEFX"), (w3, "ABC")):
        hub.clock.at(monday + dt.timedelta(days=6))
        for name in who:
            for i in range(7):
                r = hub.send(
                    tokens[name], monday + dt.timedelta(days=i), resting_rmssd_ms=value[name]
                )
                assert r.status_code == 201, r.text
    hub.clock.at(w3 + dt.timedelta(days=10))  # all three weeks closed
    cell = _cell(hub, gid, w2, w2)["measures"]["resting_rmssd_ms"]
    assert cell["n"] == 7 and cell["mean"] == round(sum(value.values()) / 7, 2)
    effects = []
    for monday in (w3, w2):  # made after the fact, for past weeks
        r = hub.admin.post(
            f"/hub/v1/groups/{gid}/interventions",
            json={
                "name": "after the fact",
                "start": monday.isoformat(),
                "end": (monday + dt.timedelta(days=6)).isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        effect = hub.admin.get(f"/hub/v1/interventions/{r.json()['id']}/effect").json()
        effects.append(effect["measures"]["resting_rmssd_ms"]["group"])
    i1, i2 = effects
    # T0 = W2 has seven, T1 = W3 three; T0 = W1 three, T1 = W2 seven: not one set, withheld
    for e in (i1, i2):
        assert e["suppressed"] and e["reason"] == "differencing"
        assert e["n"] is None and e["mean_t0"] is None and e["mean_t1"] is None
    # the sum the attack needs cannot be formed (and no released n about W2 is other than 7)
    released_n_about_w2 = [cell["n"]] + [e["n"] for e in (i1, i2) if not e["suppressed"]]
    assert released_n_about_w2 == [7]
