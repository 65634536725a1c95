"""Intervention studies through the API on both backends: T0/T1 effect, control, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pytest
import sqlalchemy as sa
from scipy import stats

from hub import db
from hub.periods import closes_at, week_of
from tests.hub.conftest import WEEK, Hub

T0 = WEEK  # 2026-W02
T1 = WEEK + dt.timedelta(days=7)  # 2026-W03: the intervention week
DONE = T1 + dt.timedelta(days=9)  # T1 closed


def _send_week(hub: Hub, token: str, monday: dt.date, **values: float) -> None:
    for i in (0, 3):  # two days of the week: the member's weekly mean is theirs
        r = hub.send(token, monday + dt.timedelta(days=i), **values)
        assert r.status_code == 201, r.text


def _study(hub: Hub) -> tuple[str, str, dict[str, np.ndarray]]:
    gid, cid = hub.group("treated", k=5), hub.group("control", k=5)
    treated, control = hub.members(gid, 7), hub.members(cid, 6)
    hr = {
        "g0": np.array([70.0, 66, 62, 75, 68, 64, 71]),
        "g1": np.array([66.0, 64, 57, 70, 66, 59, 67]),
        "c0": np.array([69.0, 65, 72, 63, 67, 70]),
        "c1": np.array([68.0, 66, 70, 63, 66, 70]),
    }
    for monday, key in ((T0, "0"), (T1, "1")):
        hub.clock.at(monday + dt.timedelta(days=6))
        for tok, v in zip(treated, hr["g" + key], strict=True):
            _send_week(hub, tok, monday, resting_hr_bpm=float(v), stress=3.0)
        for tok, v in zip(control, hr["c" + key], strict=True):
            _send_week(hub, tok, monday, resting_hr_bpm=float(v))
    return gid, cid, hr


def test_effect_with_control_group_against_scipy(hub: Hub) -> None:
    gid, cid, hr = _study(hub)
    r = hub.admin.post(
        f"/hub/v1/groups/{gid}/interventions",
        json={
            "name": "no-meeting mornings",
            "start": "2026-01-14",
            "end": "2026-01-16",
            "control_group": cid,
        },
    )
    assert r.status_code == 201, r.text
    iv = r.json()
    assert iv["t1"] == {"from": "2026-01-12", "to": "2026-01-18"}  # snapped to the week
    assert iv["t0"] == {"from": "2026-01-05", "to": "2026-01-11"} and not iv["ready"]
    early = hub.admin.get(f"/hub/v1/interventions/{iv['id']}/effect")
    assert early.status_code == 409 and early.json()["code"] == "period_open"
    hub.clock.at(DONE)
    effect = hub.admin.get(f"/hub/v1/interventions/{iv['id']}/effect").json()
    m = effect["measures"]["resting_hr_bpm"]
    g, c = m["group"], m["control"]
    d_g, d_c = hr["g1"] - hr["g0"], hr["c1"] - hr["c0"]
    ci = stats.ttest_rel(hr["g1"], hr["g0"]).confidence_interval()
    assert g["n"] == 7 and g["mean_change"] == pytest.approx(d_g.mean())
    assert (g["ci_low"], g["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert g["d_z"] == pytest.approx(d_g.mean() / d_g.std(ddof=1))
    assert g["mean_t0"] == pytest.approx(hr["g0"].mean())
    assert c["n"] == 6 and c["mean_change"] == pytest.approx(d_c.mean())
    welch = stats.ttest_ind(d_g, d_c, equal_var=False).confidence_interval()
    did = m["diff_in_diff"]
    assert did["estimate"] == pytest.approx(d_g.mean() - d_c.mean())
    assert (did["ci_low"], did["ci_high"]) == pytest.approx((welch.low, welch.high))
    # stress: treated only (control sent none): no control arm, so no DiD
    assert effect["measures"]["stress"]["control"]["reason"] == "fewer_than_k"
    assert effect["measures"]["stress"]["diff_in_diff"] is None
    # a level nobody measured is withheld; a count nobody did is 0 on every day sent (README)
    assert effect["measures"]["break_effect_rmssd_ms"]["group"]["suppressed"]
    practice = effect["measures"]["practice_min"]["group"]
    assert (practice["n"], practice["mean_t0"], practice["mean_change"]) == (7, 0.0, 0.0)

    rows = list(
        csv.DictReader(
            io.StringIO(hub.admin.get(f"/hub/v1/interventions/{iv['id']}/effect.csv").text)
        )
    )
    hr_rows = {row["arm"]: row for row in rows if row["measure"] == "resting_hr_bpm"}
    assert set(hr_rows) == {"group", "control", "diff_in_diff"}
    assert float(hr_rows["group"]["mean_change"]) == pytest.approx(d_g.mean(), rel=1e-5)
    assert int(hr_rows["group"]["n"]) == 7
    assert float(hr_rows["diff_in_diff"]["mean_change"]) == pytest.approx(did["estimate"], rel=1e-5)
    # why a row is withheld is in the CSV as in the JSON (review: it had no reason column)
    assert all(None not in row for row in rows)  # every row as wide as the header
    assert hr_rows["group"]["reason"] == hr_rows["diff_in_diff"]["reason"] == ""
    stress_rows = {row["arm"]: row for row in rows if row["measure"] == "stress"}
    assert stress_rows["control"]["suppressed"] == "true"  # as the JSON, not Python's True
    assert {row["suppressed"] for row in rows} == {"true", "false"}
    assert stress_rows["control"]["reason"] == "fewer_than_k"
    assert stress_rows["diff_in_diff"]["reason"] == "arm_suppressed"
    # computed once: a member deleting their data afterwards changes nothing
    hub.clock.at(DONE + dt.timedelta(days=1))
    listed = hub.admin.get("/hub/v1/interventions").json()
    assert [i["id"] for i in listed] == [iv["id"]] and listed[0]["ready"]
    assert hub.admin.get(f"/hub/v1/interventions/{iv['id']}/effect").json() == effect


def test_effect_needs_k_pairs_and_valid_requests(hub: Hub) -> None:
    gid = hub.group(k=5)
    tokens = hub.members(gid, 5)
    for monday in (T0, T1):
        hub.clock.at(monday + dt.timedelta(days=6))
        for i, tok in enumerate(tokens[: 4 if monday == T0 else 5]):
            assert hub.send(tok, monday, stress=2.0 + i / 4).status_code == 201
    post = hub.admin.post
    r = post(
        f"/hub/v1/groups/{gid}/interventions",
        json={"name": "x", "start": "2026-01-12", "end": "2026-01-18"},
    )
    assert r.status_code == 201
    hub.clock.at(DONE)
    effect = hub.admin.get(f"/hub/v1/interventions/{r.json()['id']}/effect").json()
    assert effect["measures"]["stress"]["group"] == {
        **dict.fromkeys(
            ("n", "mean_t0", "mean_t1", "mean_change", "sd_change", "ci_low", "ci_high", "d_z")
        ),
        "suppressed": True,
        "reason": "fewer_than_k",
    }
    bad = [
        ({"name": "x", "start": "2026-01-12", "end": "2026-01-05"}, 422, "bad_range"),
        (
            {"name": "x", "start": "2026-01-12", "end": "2026-01-18", "control_group": gid},
            422,
            "bad_control",
        ),
        (
            {"name": "x", "start": "2026-01-12", "end": "2026-01-18", "control_group": "gno"},
            404,
            "group_not_found",
        ),
        ({"name": "x", "start": "2026-01-12", "end": "2027-01-18"}, 422, "range_too_long"),
        ({"name": "x", "start": "2026-01-12"}, 422, "validation_error"),
    ]
    for body, status, code in bad:
        r = post(f"/hub/v1/groups/{gid}/interventions", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), body
    assert hub.admin.get("/hub/v1/interventions/inope/effect").json()["code"] == (
        "intervention_not_found"
    )


def test_the_effect_counts_only_what_was_received_before_the_week_closed(hub: Hub) -> None:
    """Review finding: a contribution that passed the close-time check but committed after the
    week was sealed (here: stored with its received_at at the close) must not enter the effect."""
    gid, _, hr = _study(hub)
    r = hub.admin.post(
        f"/hub/v1/groups/{gid}/interventions",
        json={"name": "late", "start": "2026-01-12", "end": "2026-01-18"},
    )
    assert r.status_code == 201, r.text
    hub.clock.at(DONE)
    late_day = T1 + dt.timedelta(days=5)
    with hub.engine.begin() as conn:
        member = conn.execute(
            sa.select(db.members.c.id).where(db.members.c.group_id == gid).limit(1)
        ).scalar_one()
        conn.execute(
            db.contributions.insert().values(
                member_id=member,
                group_id=gid,
                day=late_day,
                resting_hr_bpm=200.0,
                received_at=closes_at(week_of(late_day)),
            )
        )
    effect = hub.admin.get(f"/hub/v1/interventions/{r.json()['id']}/effect").json()
    g = effect["measures"]["resting_hr_bpm"]["group"]
    assert g["n"] == 7
    assert g["mean_t1"] == pytest.approx(hr["g1"].mean())
    assert g["mean_change"] == pytest.approx((hr["g1"] - hr["g0"]).mean())


def test_a_multi_week_effect_is_the_mean_of_its_weeks_cells(hub: Hub) -> None:
    """T0 and T1 of two weeks: each member's value is the mean of their weekly means, so the
    effect's mean_t0 is the mean of the T0 cells' means. A mean over each member's days
    (weighted by how many days they sent in each week) is not: minus the cells' mean it left
    3/8 of one member's change between the weeks (they sent 7 days, then 1)."""
    gid = hub.group(k=3)
    tokens = hub.members(gid, 5)
    weeks = [WEEK + dt.timedelta(days=7 * i) for i in range(4)]  # T0 W02-W03, T1 W04-W05
    for w, monday in enumerate(weeks):
        hub.clock.at(monday + dt.timedelta(days=6))
        for j, tok in enumerate(tokens):
            days = 1 if (j == 0 and w == 1) else 7
            value = 90.0 if (j == 0 and w == 0) else 40.0 + j + w
            for i in range(days):
                r = hub.send(tok, monday + dt.timedelta(days=i), resting_rmssd_ms=value)
                assert r.status_code == 201, r.text
    hub.clock.at(weeks[-1] + dt.timedelta(days=10))
    r = hub.admin.post(
        f"/hub/v1/groups/{gid}/interventions",
        json={"name": "two weeks", "start": weeks[2].isoformat(), "end": weeks[3].isoformat()},
    )
    assert r.status_code == 201, r.text
    g = hub.admin.get(f"/hub/v1/interventions/{r.json()['id']}/effect").json()
    g = g["measures"]["resting_rmssd_ms"]["group"]
    cells = [hub.summary(gid, w, w)["periods"][0]["measures"]["resting_rmssd_ms"] for w in weeks]
    assert not g["suppressed"] and g["n"] == 5 and all(c["n"] == 5 for c in cells)
    n = g["n"]
    # sums over the same five: what is left after subtracting the cells is their rounding only
    assert abs(n * g["mean_t0"] - n * (cells[0]["mean"] + cells[1]["mean"]) / 2) < n * 0.005
    assert abs(n * g["mean_t1"] - n * (cells[2]["mean"] + cells[3]["mean"]) / 2) < n * 0.005
    x0 = np.array([(90.0 + 41.0) / 2] + [(40.0 + j + 40.0 + j + 1) / 2 for j in range(1, 5)])
    x1 = np.array([(40.0 + j + 2 + 40.0 + j + 3) / 2 for j in range(5)])
    assert g["mean_change"] == pytest.approx((x1 - x0).mean())
    assert g["sd_change"] == pytest.approx((x1 - x0).std(ddof=1))
