"""The working day's micro-interventions: a day plan and the rules that decide when a prompt fires.

Pure: every time is passed in (Unix seconds, ``now_s``), nothing reads a clock; local times are
resolved with :mod:`zoneinfo` in the plan's time zone, so a plan follows daylight-saving changes
(09:00 stays 09:00 on the wall clock).

The interventions follow the StressOut approach of digital micro-interventions of 30 seconds to
5 minutes embedded in the working day (a morning mindset prompt, a 2-minute breathing reset
around lunch, a digital-detox reminder, an end-of-day reflection) and ecological momentary
assessment (EMA) check-ins, interval-contingent (fixed or randomised within windows) and
signal-contingent (after a micro-break flag or a break) as in Shiffman, Stone & Hufford 2008.

Rules (:func:`decide`)
----------------------
1. Nothing fires outside working days, outside working hours or in quiet hours: such planned
   prompts are never planned (:func:`planned_prompts`).
2. Nothing fires during a break: the prompt waits until the break ends (and expires if the
   break outlasts its expiry).
3. A ``breathing_reset`` is skipped when a break ended less than ``reset_skip_after_break_s``
   (30 minutes) ago: the person just had one.
4. A prompt not sent within ``expire_after_s`` of its due time is missed (expired); a sent
   prompt nobody answered expires at the same time.
5. A check-in due while another check-in is still open (sent, neither answered nor expired) is
   skipped (``checkin_open``): two identical cards asking the same questions minutes apart
   (a flag's check-in, then the planned one) would be answered once at best.

References
----------
Shiffman S, Stone AA, Hufford MR. Ecological momentary assessment. Annu Rev Clin Psychol.
2008;4:1-32. doi:10.1146/annurev.clinpsy.3.022806.091415

Examples
--------
>>> from datetime import date
>>> plan = DayPlan()
>>> [p.kind for p in planned_prompts(plan, date(2026, 12, 7))][:2]
['morning_prompt', 'checkin']
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from breathing.errors import BreathingError

__all__ = [
    "DEFAULT_CHECKIN_ITEMS",
    "DEFAULT_INTERVENTIONS",
    "DEFAULT_TEXTS",
    "OPTIONAL_CHECKIN_ITEMS",
    "CheckinItem",
    "DayContext",
    "DayPlan",
    "DayPlanError",
    "Decision",
    "Intervention",
    "InterventionKind",
    "PlannedPrompt",
    "QuietHours",
    "decide",
    "is_active_time",
    "local_datetime",
    "planned_between",
    "planned_prompts",
    "signal_checkin",
]

InterventionKind = Literal[
    "morning_prompt", "breathing_reset", "detox_reminder", "evening_reflection", "checkin"
]

#: Default texts (StressOut's micro-interventions); every text is editable, in any language.
DEFAULT_TEXTS: dict[str, str] = {
    "morning_prompt": "What are you looking forward to most today?",
    "breathing_reset": "Time for a 2-minute breathing reset.",
    "detox_reminder": "Step away from screens for 10 minutes: stretch, walk, or just breathe.",
    "evening_reflection": "Which challenge did you complete today?",
    "checkin": "Quick check-in: how are you right now?",
}


class DayPlanError(BreathingError):
    """A day plan that cannot work (unknown time zone, a window that ends before it starts...)."""


def _check_local(where: str, t: time | None) -> None:
    """A plan's times are wall-clock times in its time zone: no UTC offset of their own."""
    if t is not None and t.tzinfo is not None:
        raise DayPlanError(
            f"{where}: {t.isoformat()} carries a UTC offset; give a local time (HH:MM) in the "
            "plan's time zone"
        )


@dataclass(frozen=True, slots=True)
class CheckinItem:
    """One item of a check-in: an ordinal scale with anchor words, or a choice.

    ``choices`` non-empty makes it a context choice (``"what are you doing?"``); the scale is
    then unused.
    """

    key: str
    label: str
    scale_min: int = 1
    scale_max: int = 5
    anchor_low: str = ""
    anchor_high: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise DayPlanError("check-in item: key is empty")
        if not self.choices and self.scale_max <= self.scale_min:
            raise DayPlanError(
                f"check-in item {self.key!r}: scale_max ({self.scale_max}) must be above "
                f"scale_min ({self.scale_min})"
            )


#: Stress and energy 1-5 (the existing check-in's scale): what a check-in asks by default.
DEFAULT_CHECKIN_ITEMS: tuple[CheckinItem, ...] = (
    CheckinItem("stress", "Stress", 1, 5, "very relaxed", "very stressed"),
    CheckinItem("energy", "Energy", 1, 5, "exhausted", "full of energy"),
)

#: Items a plan can add to its check-ins: workload, last night's sleep quality and wellbeing on
#: 1-5 scales with anchor words, and a context choice (what the person is doing), as EMA
#: studies of work stress pair momentary ratings with the situation.
OPTIONAL_CHECKIN_ITEMS: tuple[CheckinItem, ...] = (
    CheckinItem("workload", "Workload", 1, 5, "very light", "overwhelming"),
    CheckinItem("sleep_quality", "Sleep quality last night", 1, 5, "very poor", "very good"),
    CheckinItem("wellbeing", "Wellbeing", 1, 5, "very bad", "very good"),
    CheckinItem(
        "context",
        "What are you doing?",
        choices=("focused work", "meeting", "email and chat", "break", "commuting", "other"),
    ),
)


@dataclass(frozen=True, slots=True)
class Intervention:
    """One planned micro-intervention.

    Parameters
    ----------
    id
        Unique in its plan (a prompt of a day is keyed by day and id).
    kind
        ``morning_prompt``, ``breathing_reset``, ``detox_reminder``, ``evening_reflection``,
        ``checkin``.
    start
        Local time (the plan's time zone) it is due; with ``end``, the window's start.
    end
        End of its window (exclusive); ``None`` for a fixed time.
    randomised
        Due at a random time within ``[start, end)``, drawn from a generator seeded by the
        plan's seed, the day and the id: the same plan gives the same time for a day, every
        time (interval-contingent EMA with random times, Shiffman et al. 2008).
    text
        What the person reads; ``""`` takes the kind's default.
    enabled
        Off keeps it in the plan but never plans it.
    """

    id: str
    kind: InterventionKind
    start: time
    end: time | None = None
    randomised: bool = False
    text: str = ""
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.id:
            raise DayPlanError("intervention: id is empty")
        _check_local(f"intervention {self.id!r} start", self.start)
        _check_local(f"intervention {self.id!r} end", self.end)
        if self.kind not in DEFAULT_TEXTS:
            raise DayPlanError(f"intervention {self.id!r}: unknown kind {self.kind!r}")
        if self.end is not None and self.end <= self.start:
            raise DayPlanError(
                f"intervention {self.id!r}: window end {self.end} is not after its start "
                f"{self.start}"
            )
        if self.randomised and self.end is None:
            raise DayPlanError(f"intervention {self.id!r}: randomised needs a window end")

    @property
    def display_text(self) -> str:
        """The text shown with the prompt: ``text``, or the default text of its kind."""
        return self.text or DEFAULT_TEXTS[self.kind]


DEFAULT_INTERVENTIONS: tuple[Intervention, ...] = (
    Intervention("morning", "morning_prompt", time(9, 0)),
    Intervention("checkin-am", "checkin", time(10, 0), time(12, 0), randomised=True),
    Intervention("reset-lunch", "breathing_reset", time(12, 30)),
    Intervention("checkin-pm", "checkin", time(13, 30), time(15, 30), randomised=True),
    Intervention("detox", "detox_reminder", time(15, 30)),
    Intervention("reflection", "evening_reflection", time(17, 0)),
)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span with no prompts; ``end <= start`` wraps past midnight (22:00-07:00)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        _check_local("quiet hours start", self.start)
        _check_local("quiet hours end", self.end)

    def contains(self, t: time) -> bool:
        """Whether local time ``t`` is quiet (start inclusive, end exclusive; never if equal)."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A person's working day and its micro-interventions.

    Parameters
    ----------
    timezone
        IANA name (``Europe/Berlin``); every local time of the plan is in it. ``UTC`` when not
        given: this module reads no clock and no zone of the machine, so the caller passes the
        person's zone (the service gives a new plan its machine's local zone,
        :func:`api.dayplan.machine_timezone`).
    working_days
        ISO weekdays that are working days (1 = Monday ... 7 = Sunday).
    work_start, work_end
        Working hours; nothing is planned outside ``[work_start, work_end]``.
    quiet_hours
        Spans with no prompts even inside working hours.
    interventions
        The planned micro-interventions.
    checkin_items
        What a check-in asks.
    signal_checkins
        Also a check-in ``signal_checkin_delay_s`` after a micro-break flag or a break ended
        (signal-contingent EMA), at most one per ``signal_checkin_min_gap_s``.
    reset_skip_after_break_s
        A breathing reset is skipped when a break ended less than this ago (30 min).
    expire_after_s
        A prompt not sent, or not answered, this long after its due time is missed (1 h).
    seed
        Seed of the randomised check-in times.
    """

    timezone: str = "UTC"
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    work_start: time = time(8, 30)
    work_end: time = time(17, 30)
    quiet_hours: tuple[QuietHours, ...] = (QuietHours(time(22, 0), time(7, 0)),)
    interventions: tuple[Intervention, ...] = DEFAULT_INTERVENTIONS
    checkin_items: tuple[CheckinItem, ...] = DEFAULT_CHECKIN_ITEMS
    signal_checkins: bool = True
    signal_checkin_delay_s: float = 120.0
    signal_checkin_min_gap_s: float = 3600.0
    reset_skip_after_break_s: float = 1800.0
    expire_after_s: float = 3600.0
    seed: int = 0
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a folder of the zoneinfo tree ("Etc", "Europe") is IsADirectoryError
            raise DayPlanError(f"timezone: unknown time zone {self.timezone!r}") from None
        object.__setattr__(self, "_tz", tz)
        _check_local("work_start", self.work_start)
        _check_local("work_end", self.work_end)
        bad_days = sorted(d for d in self.working_days if not 1 <= d <= 7)
        if bad_days:
            raise DayPlanError(f"working_days: {bad_days} are not ISO weekdays 1-7")
        if self.work_end <= self.work_start:
            raise DayPlanError(
                f"working hours: end {self.work_end} is not after start {self.work_start}"
            )
        ids = [i.id for i in self.interventions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise DayPlanError(f"interventions: ids {dupes} are used more than once")
        keys = [c.key for c in self.checkin_items]
        if len(set(keys)) != len(keys):
            raise DayPlanError("checkin_items: keys are used more than once")
        for name in (
            "signal_checkin_delay_s",
            "signal_checkin_min_gap_s",
            "reset_skip_after_break_s",
        ):
            if getattr(self, name) < 0:
                raise DayPlanError(f"{name}: must be >= 0")
        if self.expire_after_s <= 0:
            raise DayPlanError("expire_after_s: must be > 0")

    @property
    def tz(self) -> ZoneInfo:
        """The plan's time zone, resolved from ``timezone``."""
        return self._tz


@dataclass(frozen=True, slots=True)
class PlannedPrompt:
    """A prompt planned for one day: ``key`` (``"2026-12-07:morning"``) is unique across days."""

    key: str
    intervention_id: str
    kind: InterventionKind
    text: str
    due_s: float
    expires_s: float
    trigger: Literal["planned", "flag", "break"] = "planned"


@dataclass(frozen=True, slots=True)
class DayContext:
    """What the service knows of the person's breaks when it decides (times in Unix seconds)."""

    break_active: bool = False
    last_break_end_s: float | None = None
    #: A check-in prompt is open (sent, not answered, dismissed or expired): a new one is skipped.
    checkin_open: bool = False


Action = Literal["wait", "send", "skip", "expire"]


@dataclass(frozen=True, slots=True)
class Decision:
    """:func:`decide`'s answer: ``send`` now, ``wait``, ``skip`` (with a reason) or ``expire``."""

    action: Action
    reason: str = ""


def local_datetime(plan: DayPlan, t_s: float) -> datetime:
    """The aware local date and time of Unix time ``t_s`` in the plan's time zone."""
    return datetime.fromtimestamp(t_s, tz=plan.tz)


def _unix(plan: DayPlan, day: date, t: time) -> float:
    # a local time in a spring-forward gap (02:30) resolves forward (03:30), an ambiguous one
    # (fall back) to its first occurrence: PEP 495 fold=0
    return datetime.combine(day, t, tzinfo=plan.tz).timestamp()


def _seconds(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def _exists(plan: DayPlan, day: date, t: time) -> bool:
    """Whether wall-clock time ``t`` happens on ``day`` (not in a spring-forward gap)."""
    back = local_datetime(plan, _unix(plan, day, t))
    return back.date() == day and back.time().replace(microsecond=0) == t.replace(microsecond=0)


#: Draws tried for a randomised time before its window is taken to lie in a DST gap.
_MAX_DRAWS = 64


def _draw(plan: DayPlan, day: date, item: Intervention) -> time:
    """A random wall-clock time in the item's window that exists that day.

    A time drawn in a spring-forward gap is drawn again (from the same seeded generator, so the
    answer stays deterministic); a window lying wholly in the gap gives its start, which
    resolves forward like a fixed time.
    """
    assert item.end is not None
    digest = hashlib.sha256(f"{plan.seed}:{day.isoformat()}:{item.id}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    lo, hi = int(_seconds(item.start)), int(_seconds(item.end))
    for _ in range(_MAX_DRAWS):
        s = rng.randrange(lo, hi)
        t = time(s // 3600, s % 3600 // 60, s % 60)
        if _exists(plan, day, t):
            return t
    return item.start


def is_active_time(plan: DayPlan, t_s: float) -> bool:
    """Whether a prompt may fire at ``t_s``: a working day, in working hours, not quiet hours.

    Working hours are whole minutes and include their last one: with ``work_end`` 17:00 a
    prompt due at 17:00 fires on a tick at 17:00:00.3 (a scheduler's tick always comes a little
    after the due second), not at 17:01.
    """
    local = local_datetime(plan, t_s)
    t = local.time()
    minute = t.replace(second=0, microsecond=0)
    return (
        local.isoweekday() in plan.working_days
        and plan.work_start <= t
        and minute <= plan.work_end
        and not any(q.contains(t) for q in plan.quiet_hours)
    )


def planned_prompts(plan: DayPlan, day: date) -> list[PlannedPrompt]:
    """The prompts planned for local date ``day``, in due order.

    Nothing on a day that is not a working day; an intervention whose (drawn) time falls outside
    working hours or in quiet hours is not planned that day; disabled interventions never are.
    Deterministic: the same plan and day give the same list.
    """
    if day.isoweekday() not in plan.working_days:
        return []
    out: list[PlannedPrompt] = []
    for item in plan.interventions:
        if not item.enabled:
            continue
        t = _draw(plan, day, item) if item.randomised else item.start
        due = _unix(plan, day, t)
        if not is_active_time(plan, due) or local_datetime(plan, due).date() != day:
            continue
        out.append(
            PlannedPrompt(
                key=f"{day.isoformat()}:{item.id}",
                intervention_id=item.id,
                kind=item.kind,
                text=item.display_text,
                due_s=due,
                expires_s=due + plan.expire_after_s,
            )
        )
    out.sort(key=lambda p: (p.due_s, p.key))
    return out


def _days(plan: DayPlan, start_s: float, end_s: float) -> Iterator[date]:
    day = local_datetime(plan, start_s).date() - timedelta(days=1)
    last = local_datetime(plan, end_s).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def planned_between(plan: DayPlan, start_s: float, end_s: float) -> list[PlannedPrompt]:
    """Every planned prompt with ``start_s <= due_s < end_s`` (the calendar feed's slots)."""
    return [
        p
        for day in _days(plan, start_s, end_s)
        for p in planned_prompts(plan, day)
        if start_s <= p.due_s < end_s
    ]


def decide(plan: DayPlan, prompt: PlannedPrompt, *, now_s: float, ctx: DayContext) -> Decision:
    """Whether a prompt not yet sent fires at ``now_s`` (see the module's rules).

    Examples
    --------
    >>> from datetime import date
    >>> plan = DayPlan()
    >>> reset = [p for p in planned_prompts(plan, date(2026, 12, 7))
    ...          if p.kind == "breathing_reset"][0]
    >>> decide(plan, reset, now_s=reset.due_s, ctx=DayContext()).action
    'send'
    >>> decide(plan, reset, now_s=reset.due_s,
    ...        ctx=DayContext(last_break_end_s=reset.due_s - 600)).reason
    'recent_break'
    """
    if now_s < prompt.due_s:
        return Decision("wait")
    if now_s >= prompt.expires_s:
        return Decision("expire", "missed")
    if (
        prompt.kind == "breathing_reset"
        and ctx.last_break_end_s is not None
        and 0 <= now_s - ctx.last_break_end_s < plan.reset_skip_after_break_s
    ):
        return Decision("skip", "recent_break")
    if ctx.break_active:
        return Decision("wait", "break")
    if not is_active_time(plan, now_s):
        return Decision("wait", "inactive")
    if prompt.kind == "checkin" and ctx.checkin_open:
        return Decision("skip", "checkin_open")
    return Decision("send")


def signal_checkin(
    plan: DayPlan,
    *,
    event_s: float,
    trigger: Literal["flag", "break"],
    last_checkin_s: float | None,
) -> PlannedPrompt | None:
    """A signal-contingent check-in after a flag or a break that ended at ``event_s``.

    ``None`` when signal check-ins are off, a check-in was planned or sent less than
    ``signal_checkin_min_gap_s`` before, no check-in intervention is enabled, or the due time
    is not an active time (working day and hours, not quiet hours).
    """
    if not plan.signal_checkins:
        return None
    if not any(i.kind == "checkin" and i.enabled for i in plan.interventions):
        return None
    due = event_s + plan.signal_checkin_delay_s
    if last_checkin_s is not None and due - last_checkin_s < plan.signal_checkin_min_gap_s:
        return None
    if not is_active_time(plan, due):
        return None
    text = next(i.display_text for i in plan.interventions if i.kind == "checkin" and i.enabled)
    return PlannedPrompt(
        key=f"{trigger}:{int(event_s)}",
        intervention_id=f"signal-{trigger}",
        kind="checkin",
        text=text,
        due_s=due,
        expires_s=due + plan.expire_after_s,
        trigger=trigger,
    )
