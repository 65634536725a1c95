"""The day plan over simulated weeks, across daylight-saving changes (Europe/Berlin, New York)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breathing.dayplan import (
    DayContext,
    DayPlan,
    DayPlanError,
    Intervention,
    InterventionKind,
    PlannedPrompt,
    QuietHours,
    decide,
    is_active_time,
    planned_between,
    planned_prompts,
    signal_checkin,
)

ZONES = ("Europe/Berlin", "America/New_York")
# the weeks around 2026's DST changes: Berlin 29 Mar / 25 Oct, New York 8 Mar / 1 Nov
DST_WEEKS = (date(2026, 3, 5), date(2026, 3, 26), date(2026, 10, 22), date(2026, 10, 29))


@st.composite
def plans(draw: st.DrawFn) -> DayPlan:
    tz = draw(st.sampled_from(ZONES))
    days = draw(st.frozensets(st.integers(1, 7), min_size=1))
    start_h = draw(st.integers(0, 10))
    end_h = draw(st.integers(start_h + 6, 23))
    items: list[Intervention] = []
    n = draw(st.integers(1, 6))
    for i in range(n):
        kind: InterventionKind = draw(
            st.sampled_from(
                [
                    "morning_prompt",
                    "breathing_reset",
                    "detox_reminder",
                    "evening_reflection",
                    "checkin",
                ]
            )
        )
        # the small hours often: the DST changes happen at 01:00-03:00 local time
        h = draw(st.one_of(st.integers(0, 22), st.sampled_from([0, 1, 2])))
        m = draw(st.integers(0, 59))
        window = draw(st.booleans())
        end = time(h + 1, m) if window else None
        items.append(
            Intervention(
                f"i{i}",
                kind,
                time(h, m),
                end,
                randomised=window and draw(st.booleans()),
                enabled=draw(st.booleans()) or i == 0,
            )
        )
    quiet = draw(
        st.lists(
            st.tuples(st.integers(0, 23), st.integers(0, 23)).map(
                lambda hh: QuietHours(time(hh[0]), time(hh[1]))
            ),
            max_size=2,
        )
    )
    return DayPlan(
        timezone=tz,
        working_days=days,
        work_start=time(start_h),
        work_end=time(end_h),
        quiet_hours=tuple(quiet),
        interventions=tuple(items),
        seed=draw(st.integers(0, 2**31)),
    )


def _weeks(first: date, n_days: int = 14) -> list[date]:
    return [first + timedelta(days=i) for i in range(n_days)]


@settings(max_examples=150, deadline=None)
@given(plan=plans(), first=st.sampled_from(DST_WEEKS))
def test_planned_prompts_respect_days_hours_quiet_and_windows(plan: DayPlan, first: date) -> None:
    tz = ZoneInfo(plan.timezone)
    for day in _weeks(first):
        prompts = planned_prompts(plan, day)
        assert prompts == planned_prompts(plan, day)  # deterministic per day
        if day.isoweekday() not in plan.working_days:
            assert prompts == []
        for p in prompts:
            local = datetime.fromtimestamp(p.due_s, tz=tz)
            assert local.date() == day
            # working hours are whole minutes and include their last one (is_active_time)
            minute = local.time().replace(second=0, microsecond=0)
            assert plan.work_start <= local.time() and minute <= plan.work_end
            assert not any(q.contains(local.time()) for q in plan.quiet_hours)
            item = next(i for i in plan.interventions if i.id == p.intervention_id)
            assert item.enabled
            if item.end is None:
                # the wall-clock time is kept across DST (unless it is in a spring-forward gap)
                naive = datetime.combine(day, item.start)
                gap = (
                    naive.replace(tzinfo=tz).utcoffset()
                    != naive.replace(tzinfo=tz, fold=1).utcoffset()
                )
                if not gap:
                    assert local.time() == item.start
            elif item.randomised:
                # within its window on the wall clock, unless the whole window lay in a
                # spring-forward gap that day (then it resolves forward like a fixed time)
                inside = item.start <= local.time() < item.end
                gap_start = datetime.combine(day, item.start, tzinfo=tz).timestamp()
                assert inside or p.due_s == gap_start
            assert p.expires_s - p.due_s == plan.expire_after_s
        keys = [p.key for p in prompts]
        assert len(set(keys)) == len(keys)


@settings(max_examples=40, deadline=None)
@given(
    plan=plans(),
    first=st.sampled_from(DST_WEEKS),
    breaks=st.lists(st.tuples(st.integers(0, 13 * 24 * 60), st.integers(1, 90)), max_size=25),
)
def test_simulated_weeks_send_each_prompt_once_and_never_in_a_break(
    plan: DayPlan, first: date, breaks: list[tuple[int, int]]
) -> None:
    """Simulate two weeks minute by minute with random breaks; check every rule on what fired."""
    tz = ZoneInfo(plan.timezone)
    t0 = datetime.combine(first, time(0), tzinfo=tz).timestamp()
    spans = sorted((t0 + a * 60.0, t0 + (a + d) * 60.0) for a, d in breaks)
    planned = [p for day in _weeks(first) for p in planned_prompts(plan, day)]
    state: dict[str, str] = {}
    step = 60.0
    for p in planned:
        # each prompt is decided independently: walk its life minute by minute
        t = p.due_s - step
        while p.key not in state:
            active = any(a <= t < b for a, b in spans)
            ended = [b for a, b in spans if b <= t]
            ctx = DayContext(break_active=active, last_break_end_s=max(ended) if ended else None)
            d = decide(plan, p, now_s=t, ctx=ctx)
            t += step
            if d.action == "wait":
                assert t - step < p.expires_s
                continue
            state[p.key] = d.action
            now = t - step
            if d.action == "send":
                assert not active
                assert is_active_time(plan, now)
                assert p.due_s <= now < p.expires_s
                if p.kind == "breathing_reset" and ctx.last_break_end_s is not None:
                    assert now - ctx.last_break_end_s >= plan.reset_skip_after_break_s
            elif d.action == "skip":
                assert p.kind == "breathing_reset" and d.reason == "recent_break"
                assert ctx.last_break_end_s is not None
                assert now - ctx.last_break_end_s < plan.reset_skip_after_break_s
            else:
                assert d.reason == "missed" and now >= p.expires_s
                # missed only when a break held it for its whole life (planned times are active)
                assert any(a <= p.due_s < b for a, b in spans)
    # every planned prompt was decided exactly once: sent, skipped or missed
    assert set(state) == {p.key for p in planned}


def test_default_plan_on_a_monday() -> None:
    plan = DayPlan(timezone="Europe/Berlin")
    prompts = planned_prompts(plan, date(2026, 12, 7))
    kinds = [p.kind for p in prompts]
    assert kinds.count("checkin") == 2
    assert {"morning_prompt", "breathing_reset", "detox_reminder", "evening_reflection"} <= set(
        kinds
    )
    tz = ZoneInfo("Europe/Berlin")
    morning = prompts[0]
    assert datetime.fromtimestamp(morning.due_s, tz=tz).time() == time(9, 0)
    assert morning.text == "What are you looking forward to most today?"
    assert planned_prompts(plan, date(2026, 12, 5)) == []  # a Saturday


def test_randomised_checkins_differ_between_days_and_seeds() -> None:
    plan = DayPlan()
    times = {
        next(p.due_s for p in planned_prompts(plan, d) if p.intervention_id == "checkin-am") % 86400
        for d in _weeks(date(2026, 12, 7), 10)
        if d.isoweekday() <= 5
    }
    assert len(times) > 3
    other = DayPlan(seed=7)
    day = date(2026, 12, 7)
    assert planned_prompts(plan, day) != planned_prompts(other, day)


def test_a_random_time_is_never_drawn_in_the_spring_forward_gap() -> None:
    item = Intervention("night", "checkin", time(1, 30), time(2, 45), randomised=True)
    plan = DayPlan(
        timezone="Europe/Berlin",
        working_days=frozenset(range(1, 8)),
        work_start=time(0, 0),
        work_end=time(23, 0),
        quiet_hours=(),
        interventions=(item,),
    )
    tz = ZoneInfo("Europe/Berlin")
    for seed in range(200):  # 02:00-02:45 does not exist on 29 March: 60 % of the window
        p = planned_prompts(DayPlan(**{**_fields(plan), "seed": seed}), date(2026, 3, 29))[0]
        assert time(1, 30) <= datetime.fromtimestamp(p.due_s, tz=tz).time() < time(2, 0)


def _fields(plan: DayPlan) -> dict[str, object]:
    return {
        f: getattr(plan, f)
        for f in (
            "timezone",
            "working_days",
            "work_start",
            "work_end",
            "quiet_hours",
            "interventions",
        )
    }


def test_nine_oclock_across_the_berlin_spring_change() -> None:
    plan = DayPlan(timezone="Europe/Berlin", working_days=frozenset(range(1, 8)))
    friday = planned_prompts(plan, date(2026, 3, 27))[0]
    monday = planned_prompts(plan, date(2026, 3, 30))[0]
    # 09:00 CET = 08:00 UTC, 09:00 CEST = 07:00 UTC
    assert datetime.fromtimestamp(friday.due_s, tz=ZoneInfo("UTC")).hour == 8
    assert datetime.fromtimestamp(monday.due_s, tz=ZoneInfo("UTC")).hour == 7
    # the 23-hour day: 3 days from Friday 09:00 to Monday 09:00 is 3 * 24 h - 1 h
    assert monday.due_s - friday.due_s == 3 * 86400 - 3600


def test_reset_skipped_after_a_recent_break_and_waits_during_one() -> None:
    plan = DayPlan()
    reset = next(p for p in planned_prompts(plan, date(2026, 12, 7)) if p.kind == "breathing_reset")
    t = reset.due_s
    assert decide(plan, reset, now_s=t, ctx=DayContext(last_break_end_s=t - 29 * 60)).action == (
        "skip"
    )
    assert decide(plan, reset, now_s=t, ctx=DayContext(last_break_end_s=t - 31 * 60)).action == (
        "send"
    )
    assert decide(plan, reset, now_s=t, ctx=DayContext(break_active=True)).action == "wait"
    assert decide(plan, reset, now_s=t - 1, ctx=DayContext()).action == "wait"
    assert decide(plan, reset, now_s=reset.expires_s, ctx=DayContext()).action == "expire"


def test_a_prompt_due_at_the_end_of_working_hours_is_sent_on_the_tick_after_it() -> None:
    """9 to 5 with the reflection at 17:00: planned, in the calendar, so it must be sent (the
    scheduler's tick comes a fraction of a second after 17:00:00); a minute later it waits."""
    plan = DayPlan(
        work_start=time(9, 0),
        work_end=time(17, 0),
        interventions=(Intervention("reflection", "evening_reflection", time(17, 0)),),
    )
    (reflection,) = planned_prompts(plan, date(2026, 12, 8))
    due = reflection.due_s
    assert decide(plan, reflection, now_s=due + 0.3, ctx=DayContext()).action == "send"
    assert decide(plan, reflection, now_s=due + 59.9, ctx=DayContext()).action == "send"
    late = decide(plan, reflection, now_s=due + 60.0, ctx=DayContext())
    assert (late.action, late.reason) == ("wait", "inactive")


def test_signal_checkin_after_a_break_and_its_spacing() -> None:
    plan = DayPlan(timezone="Europe/Berlin")
    t = datetime(2026, 12, 7, 11, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    p = signal_checkin(plan, event_s=t, trigger="break", last_checkin_s=None)
    assert isinstance(p, PlannedPrompt)
    assert p.kind == "checkin" and p.trigger == "break" and p.due_s == t + 120
    assert signal_checkin(plan, event_s=t, trigger="flag", last_checkin_s=t - 600) is None
    night = datetime(2026, 12, 7, 23, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    assert signal_checkin(plan, event_s=night, trigger="flag", last_checkin_s=None) is None
    off = DayPlan(signal_checkins=False)
    assert signal_checkin(off, event_s=t, trigger="flag", last_checkin_s=None) is None


def test_planned_between_covers_a_week() -> None:
    plan = DayPlan(timezone="Europe/Berlin")
    start = datetime(2026, 12, 7, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    week = planned_between(plan, start, start + 7 * 86400)
    assert len(week) == 5 * 6
    assert all(start <= p.due_s < start + 7 * 86400 for p in week)


def test_the_pure_default_zone_is_utc_not_a_guess_of_where_the_person_is() -> None:
    """The planner reads no machine state: with no zone passed in, its wall clock is UTC's."""
    (morning, *_) = planned_prompts(DayPlan(), date(2026, 12, 7))
    assert datetime.fromtimestamp(morning.due_s, tz=ZoneInfo("UTC")).time() == time(9, 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        # a folder of the zoneinfo tree: IsADirectoryError, not a DayPlanError (review 5)
        ({"timezone": "Etc"}, "unknown time zone 'Etc'"),
        ({"timezone": "Europe"}, "unknown time zone 'Europe'"),
        ({"working_days": frozenset({0})}, "ISO weekdays"),
        ({"work_start": time(18), "work_end": time(9)}, "not after start"),
        (
            {
                "interventions": (
                    Intervention("a", "checkin", time(9)),
                    Intervention("a", "checkin", time(10)),
                )
            },
            "more than once",
        ),
        ({"expire_after_s": 0}, "expire_after_s"),
        ({"work_start": time(9, tzinfo=ZoneInfo("UTC"))}, "work_start: 09:00:00\\+00:00 carries"),
    ],
)
def test_bad_plans_name_the_problem(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(DayPlanError, match=match):
        DayPlan(**kwargs)  # type: ignore[arg-type]


def test_bad_interventions_name_the_problem() -> None:
    with pytest.raises(DayPlanError, match="window end"):
        Intervention("x", "checkin", time(10), time(9))
    with pytest.raises(DayPlanError, match="randomised needs"):
        Intervention("x", "checkin", time(10), randomised=True)
    with pytest.raises(DayPlanError, match="quiet hours start"):
        QuietHours(time(22, tzinfo=ZoneInfo("UTC")), time(7))
    with pytest.raises(DayPlanError, match="unknown kind"):
        Intervention("x", "nap", time(10))  # type: ignore[arg-type]


def test_a_check_in_due_while_another_is_open_is_skipped_other_prompts_are_not() -> None:
    """Rule 5: one check-in open at a time; an open check-in holds back no other kind, and a
    check-in waiting for a break is decided when the break is over."""
    plan = DayPlan(timezone="Europe/Berlin")
    prompts = planned_prompts(plan, date(2026, 12, 7))
    checkin = next(p for p in prompts if p.kind == "checkin")
    reset = next(p for p in prompts if p.kind == "breathing_reset")
    open_ctx = DayContext(checkin_open=True)
    got = decide(plan, checkin, now_s=checkin.due_s, ctx=open_ctx)
    assert (got.action, got.reason) == ("skip", "checkin_open")
    assert decide(plan, reset, now_s=reset.due_s, ctx=open_ctx).action == "send"
    assert decide(plan, checkin, now_s=checkin.due_s, ctx=DayContext()).action == "send"
    in_break = DayContext(break_active=True, checkin_open=True)
    assert decide(plan, checkin, now_s=checkin.due_s, ctx=in_break).action == "wait"
