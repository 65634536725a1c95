"""The day plan at the service's boundary: its JSON models, the stored plan, the plan clock.

The plan's logic is :mod:`breathing.dayplan` (pure); this module turns the JSON a client sends
(``PUT /api/v1/dayplan``) into a :class:`breathing.dayplan.DayPlan` and back, stores it in the
``settings`` table, and shapes prompt rows for the API, the live WebSocket and the export.

The plan's wall clock is an object (:class:`RealClock` in production; :class:`FastClock` for
``hrvpace demo --start ... --clock-speed N`` and tests): the scheduler, the answers' times and the
calendar feed read it, so a day runs in minutes without a single ``sleep`` in the logic.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import secrets
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from api._files import move_into, real_path, replace_with
from api.problems import ProblemError
from api.research.units import spreadsheet_safe
from api.settings import timezone_setting
from api.storage import ReadOnlyDatabase, Row, Storage, StorageError
from api.timezones import canonical_zone, zone_names, zone_problem
from breathing.dayplan import (
    CheckinItem,
    DayPlan,
    DayPlanError,
    Intervention,
    InterventionKind,
    QuietHours,
)
from hrv.errors import HrvpaceError

__all__ = [
    "MAX_QUIET_HOURS",
    "PLAN_KEY",
    "SEED_KEY",
    "AnswerItemOut",
    "CheckinItemModel",
    "Clock",
    "DayPlanIn",
    "DayPlanOut",
    "FastClock",
    "InterventionModel",
    "PromptExportError",
    "PromptOut",
    "RealClock",
    "adopt_old_quiet_hours",
    "ensure_install_seed",
    "export_prompts",
    "item_model",
    "load_plan",
    "machine_timezone",
    "plan_to_model",
    "plan_with_quiet_hours",
    "prompt_out",
]

log = logging.getLogger(__name__)

#: Key of the stored day plan in the ``settings`` table.
PLAN_KEY = "dayplan"
#: Where this install's seed of randomised prompt times is kept (created at the first start).
SEED_KEY = "dayplan_seed"
#: Key of the calendar feed's own token in the ``settings`` table.
FEED_TOKEN_KEY = "calendar_feed_token"
#: Key of this install's calendar id in the ``settings`` table (the feed's event UIDs).
CALENDAR_ID_KEY = "calendar_install_id"
#: The most quiet hours a plan takes (``PUT /api/v1/dayplan`` and the micro-break settings).
MAX_QUIET_HOURS = 10


# -- the machine's time zone ----------------------------------------------------------------------


def machine_timezone(environ: Mapping[str, str] | None = None, etc: Path = Path("/etc")) -> str:
    """The IANA name of the zone a new day plan takes: this machine's local zone (blocking).

    ``HRVPACE_TIMEZONE`` when set: it must be a zone a plan takes, and a mistyped one is a
    :class:`api.settings.ConfigError` (:func:`api.settings.timezone_setting`; a command ends
    with exit code 2, as for any unusable setting; ``hrvpace serve``, ``demo`` and ``share``
    check it before they start), never the machine's zone in silence. Else the first of ``TZ``,
    ``/etc/timezone`` and the zone ``/etc/localtime`` links to that names a zone
    (:func:`api.timezones.canonical_zone`: a link into ``posix/`` or ``right/`` is the zone it
    copies); ``UTC`` when none does (a ``TZ`` rule such as ``CET-1CEST`` has no IANA name). The
    pure planner reads no machine state; the service resolves the zone here and passes it in.
    A saved plan keeps the zone it was saved with.
    """
    env = os.environ if environ is None else environ
    chosen = timezone_setting(env)
    if chosen is not None:
        return chosen
    candidates = [env.get("TZ", "")]
    with contextlib.suppress(OSError):
        candidates.append((etc / "timezone").read_text(encoding="utf-8").split("\n", 1)[0])
    with contextlib.suppress(OSError):
        candidates.append(os.readlink(etc / "localtime"))
    for candidate in candidates:
        name = canonical_zone(candidate) if candidate else None
        if name is not None:
            return name
    return "UTC"


# -- clocks --------------------------------------------------------------------------------------


#: A local wall-clock time of the plan (its time zone), HH:MM[:SS]. Declared as a pattern, not
#: JSON Schema's ``format: time``, which is RFC 3339's full-time and needs a UTC offset.
LocalTime = Annotated[
    dtime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
            "description": "Local time HH:MM[:SS] in the plan's time zone (no offset).",
        }
    ),
]


class Clock(Protocol):
    """The plan's wall clock (Unix seconds)."""

    def now(self) -> float:
        """The plan time now (Unix s)."""
        ...

    def from_real(self, real_s: float) -> float:
        """The plan time of a real Unix time (break events are stored in real time)."""
        ...


class RealClock:
    """Production: the plan runs on the real time."""

    def now(self) -> float:
        """The real time now (Unix s)."""
        return time.time()

    def from_real(self, real_s: float) -> float:
        """``real_s`` unchanged: plan time is real time."""
        return real_s


@dataclass
class FastClock:
    """A clock that starts at ``start_s`` and runs ``speed`` times faster than ``real``.

    Examples
    --------
    >>> ticks = iter([100.0, 101.0])
    >>> c = FastClock(start_s=1_000.0, speed=120.0, real=lambda: next(ticks))
    >>> c.now()
    1120.0
    """

    start_s: float
    speed: float
    real: Callable[[], float] = time.time
    origin_s: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"clock speed: must be > 0, got {self.speed}")
        self.origin_s = self.real()

    @classmethod
    def starting_at(cls, local: datetime, timezone: str, speed: float) -> FastClock:
        """Start at a naive local date-time in ``timezone`` (``2026-12-07T08:55``)."""
        aware = local.replace(tzinfo=ZoneInfo(timezone)) if local.tzinfo is None else local
        return cls(start_s=aware.timestamp(), speed=speed)

    def now(self) -> float:
        """The plan time now: :meth:`from_real` of the ``real`` clock."""
        return self.from_real(self.real())

    def from_real(self, real_s: float) -> float:
        """Plan time of ``real_s``: ``start_s`` plus ``speed`` times the real time since start."""
        return self.start_s + (real_s - self.origin_s) * self.speed


#: Builds the plan clock from the plan's time zone when the service starts.
ClockFactory = Callable[[str], Clock]


# -- the plan as JSON ----------------------------------------------------------------------------


class InterventionModel(BaseModel):
    """One micro-intervention of the plan."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: InterventionKind
    start: LocalTime = Field(description="Local time it is due (the plan's time zone), HH:MM.")
    end: LocalTime | None = Field(default=None, description="End of its window (exclusive).")
    randomised: StrictBool = Field(
        default=False, description="A random time within [start, end), the same all day."
    )
    text: str = Field(
        default="", max_length=1000, description="What the person reads; empty = default."
    )
    enabled: StrictBool = True


class CheckinItemModel(BaseModel):
    """A check-in item: a scale with anchor words, or a choice (``choices`` non-empty)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    label: str = Field(min_length=1, max_length=200)
    scale_min: StrictInt = Field(default=1, ge=0, le=100)
    scale_max: StrictInt = Field(default=5, ge=1, le=100)
    anchor_low: str = Field(default="", max_length=100)
    anchor_high: str = Field(default="", max_length=100)
    choices: list[str] = Field(default_factory=list, max_length=20)


class QuietHoursModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: LocalTime
    end: LocalTime = Field(description="<= start wraps past midnight (22:00-07:00).")


_DEFAULT = DayPlan()


#: Fields a ``PUT`` without them (or with ``null``) keeps from the current plan; every other
#: field left out takes its default (the ``PUT`` replaces the plan).
KEPT_WHEN_OMITTED = ("timezone", "seed")


def _no_default(schema: dict[str, Any]) -> None:
    """Publish no ``default`` for a field kept when omitted.

    A client generated from the OpenAPI document fills a published default in and sends it
    (``timezone: "UTC"``, ``seed: 0``), which would reset the plan's zone and seed on every
    ``PUT`` (review finding 3); without one, it leaves the field out.
    """
    schema.pop("default", None)


class DayPlanIn(BaseModel):
    """Body of ``PUT /api/v1/dayplan``: the whole plan, replacing the current one.

    A field left out takes its default (the published one), except ``timezone`` and ``seed``:
    left out or ``null``, they keep the current plan's (a new install's: the machine's zone and
    this install's own seed).
    """

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA name (e.g. Europe/Berlin; not right/..., posix/..., localtime, "
        "posixrules or Factory). Omitted or null in a PUT: the current plan's zone is kept (a "
        "new install's plan takes the machine's local zone).",
        json_schema_extra=_no_default,
    )
    working_days: list[int] = Field(
        default_factory=lambda: sorted(_DEFAULT.working_days),
        max_length=7,
        description="ISO weekdays, 1 = Monday ... 7 = Sunday.",
    )
    work_start: LocalTime = _DEFAULT.work_start
    work_end: LocalTime = _DEFAULT.work_end
    quiet_hours: list[QuietHoursModel] = Field(
        default_factory=lambda: [
            QuietHoursModel(start=q.start, end=q.end) for q in _DEFAULT.quiet_hours
        ],
        max_length=MAX_QUIET_HOURS,
    )
    interventions: list[InterventionModel] = Field(
        default_factory=lambda: [_intervention_model(i) for i in _DEFAULT.interventions],
        max_length=50,
    )
    checkin_items: list[CheckinItemModel] = Field(
        default_factory=lambda: [item_model(c) for c in _DEFAULT.checkin_items],
        min_length=1,
        max_length=10,
    )
    signal_checkins: StrictBool = Field(
        default=True, description="Also a check-in after a micro-break flag or a break."
    )
    signal_checkin_delay_s: StrictFloat | StrictInt = Field(default=120.0, ge=0, le=3600)
    signal_checkin_min_gap_s: StrictFloat | StrictInt = Field(default=3600.0, ge=0, le=86400)
    reset_skip_after_break_s: StrictFloat | StrictInt = Field(default=1800.0, ge=0, le=86400)
    expire_after_s: StrictFloat | StrictInt = Field(default=3600.0, gt=0, le=86400)
    seed: StrictInt | None = Field(
        default=None,
        ge=0,
        le=2**31,
        description="Seed of the randomised prompt times. Omitted or null in a PUT: the current "
        "plan's seed is kept (this install's own at first).",
        json_schema_extra=_no_default,
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        """What ``GET`` adds (texts, optional items, the feed URL) may come back in a ``PUT``.

        A client edits the plan it read and sends it whole.
        """
        if isinstance(data, dict) and cls is DayPlanIn:
            return {k: v for k, v in data.items() if k not in _READ_ONLY}
        return data

    def to_plan(self) -> DayPlan:
        """The pure plan; a plan that cannot work is a 422 ``invalid_dayplan`` naming why.

        A ``timezone`` or ``seed`` still unset takes the pure plan's default (UTC, 0): the
        caller fills them from the current plan first (:data:`KEPT_WHEN_OMITTED`).
        """
        timezone = self.timezone if self.timezone is not None else _DEFAULT.timezone
        problem = zone_problem(timezone)
        if problem is not None:
            raise ProblemError(422, "invalid_dayplan", f"day plan: timezone: {problem}")
        try:
            return DayPlan(
                timezone=timezone,
                working_days=frozenset(self.working_days),
                work_start=self.work_start,
                work_end=self.work_end,
                quiet_hours=tuple(QuietHours(q.start, q.end) for q in self.quiet_hours),
                interventions=tuple(
                    Intervention(i.id, i.kind, i.start, i.end, i.randomised, i.text, i.enabled)
                    for i in self.interventions
                ),
                checkin_items=tuple(
                    CheckinItem(
                        c.key,
                        c.label,
                        c.scale_min,
                        c.scale_max,
                        c.anchor_low,
                        c.anchor_high,
                        tuple(c.choices),
                    )
                    for c in self.checkin_items
                ),
                signal_checkins=self.signal_checkins,
                signal_checkin_delay_s=self.signal_checkin_delay_s,
                signal_checkin_min_gap_s=self.signal_checkin_min_gap_s,
                reset_skip_after_break_s=self.reset_skip_after_break_s,
                expire_after_s=self.expire_after_s,
                seed=self.seed if self.seed is not None else _DEFAULT.seed,
            )
        except DayPlanError as exc:
            raise ProblemError(422, "invalid_dayplan", f"day plan: {exc}") from None


_READ_ONLY = frozenset(
    {"default_texts", "optional_checkin_items", "calendar_feed_url", "in_quiet_hours"}
)


class DayPlanOut(DayPlanIn):
    """The day plan, with the default texts and the calendar feed's subscription URL."""

    timezone: str = Field(max_length=64, description="The plan's IANA zone.")
    seed: int = Field(ge=0, le=2**31, description="Seed of the randomised prompt times.")

    default_texts: dict[str, str] = Field(description="Each kind's text when its text is empty.")
    optional_checkin_items: list[CheckinItemModel] = Field(
        description="Items a plan can add to its check-ins (workload, sleep quality, "
        "wellbeing, a context choice)."
    )
    calendar_feed_url: str = Field(
        description="The ICS feed of the next 7 days, with a token that grants only the feed."
    )
    in_quiet_hours: list[str] = Field(
        default_factory=list,
        description="Ids of the interventions due in quiet hours (a randomised one: its whole "
        "window), which are therefore never sent.",
    )


def _intervention_model(i: Intervention) -> InterventionModel:
    return InterventionModel(
        id=i.id,
        kind=i.kind,
        start=i.start,
        end=i.end,
        randomised=i.randomised,
        text=i.text,
        enabled=i.enabled,
    )


def item_model(c: CheckinItem) -> CheckinItemModel:
    """The API model of a check-in item of the plan."""
    return CheckinItemModel(
        key=c.key,
        label=c.label,
        scale_min=c.scale_min,
        scale_max=c.scale_max,
        anchor_low=c.anchor_low,
        anchor_high=c.anchor_high,
        choices=list(c.choices),
    )


def plan_to_model(plan: DayPlan) -> DayPlanIn:
    """The API model of a day plan (what ``PUT /api/v1/dayplan`` takes)."""
    return DayPlanIn(
        timezone=plan.timezone,
        working_days=sorted(plan.working_days),
        work_start=plan.work_start,
        work_end=plan.work_end,
        quiet_hours=[QuietHoursModel(start=q.start, end=q.end) for q in plan.quiet_hours],
        interventions=[_intervention_model(i) for i in plan.interventions],
        checkin_items=[item_model(c) for c in plan.checkin_items],
        signal_checkins=plan.signal_checkins,
        signal_checkin_delay_s=plan.signal_checkin_delay_s,
        signal_checkin_min_gap_s=plan.signal_checkin_min_gap_s,
        reset_skip_after_break_s=plan.reset_skip_after_break_s,
        expire_after_s=plan.expire_after_s,
        seed=plan.seed,
    )


def plan_with_quiet_hours(plan: DayPlan, pairs: Sequence[Sequence[Any]]) -> DayPlan:
    """``plan`` with other quiet hours, validated as ``PUT /api/v1/dayplan`` validates them.

    ``pairs`` are ``[start, end]`` local times of the plan's zone (the micro-break settings'
    form): the same model (:class:`DayPlanIn`: at most :data:`MAX_QUIET_HOURS`, ``HH:MM[:SS]``)
    and the same plan checks, so both routes take the same forms.

    Raises
    ------
    pydantic.ValidationError
        The pairs do not fit the model (``loc`` starting ``quiet_hours``).
    api.problems.ProblemError
        422 ``invalid_dayplan``: a time with a UTC offset, named.
    ValueError
        A pair that is not two values.
    """
    body = plan_to_model(plan).model_dump()
    quiet = []
    for pair in pairs:
        if isinstance(pair, str | bytes) or len(pair) != 2:
            raise ValueError(f"quiet_hours: {pair!r} is not a [start, end] pair")
        quiet.append({"start": pair[0], "end": pair[1]})
    body["quiet_hours"] = quiet
    return DayPlanIn.model_validate(body).to_plan()


def adopt_old_quiet_hours(storage: Storage) -> DayPlan | None:
    """Move quiet hours an older version kept in the micro-break settings into the day plan.

    Older versions held flags by the micro-break settings' ``quiet_hours`` and prompts by the
    day plan's; this one keeps one set, the plan's. Run once at start-up, before the plan is
    read (blocking). When no plan is stored yet, a stored ``quiet_hours`` override (``[]``, no
    quiet hours, too) becomes the plan's quiet hours (the default plan otherwise) and leaves
    the micro-break settings (moved once): the person keeps what they set. When a plan is
    stored, its quiet hours win (a person who saved a plan saw them on the Working day card)
    and the old ones are logged as not used. Either way a WARNING says so (settings only: no
    health data). Quiet hours that ``PUT /dayplan`` would refuse are logged and left where
    they are.

    Returns
    -------
    DayPlan or None
        The plan stored with the old quiet hours; ``None`` when nothing was moved.
    """
    from api.pipeline import MICROBREAK_SETTINGS_KEY  # here: api.pipeline imports this module

    stored = storage.get_value("settings", MICROBREAK_SETTINGS_KEY)
    if stored is None or not isinstance(stored[0], dict) or stored[0].get("quiet_hours") is None:
        return None
    overrides = dict(stored[0])
    old = overrides.pop("quiet_hours")
    if storage.get_value("settings", PLAN_KEY) is not None:
        log.warning(
            "quiet hours %r kept in the micro-break settings by an older version are not used: "
            "flags and prompts keep the day plan's (PUT /api/v1/dayplan)",
            old,
        )
        return None
    try:
        plan = plan_with_quiet_hours(load_plan(storage), old)
    except (ValidationError, ProblemError, ValueError, TypeError) as exc:
        log.warning(
            "quiet hours %r kept in the micro-break settings by an older version cannot be "
            "moved into the day plan (%s); the plan keeps its default quiet hours",
            old,
            exc,
        )
        return None
    now = time.time()
    for key, value in (
        (PLAN_KEY, plan_to_model(plan).model_dump(mode="json")),
        (MICROBREAK_SETTINGS_KEY, overrides),
    ):
        future = storage.put_value("settings", key, value, updated_at=now)
        assert future is not None
        future.result(timeout=30)
    log.warning(
        "quiet hours %r kept in the micro-break settings by an older version are now the day "
        "plan's (one set for flags and prompts; PUT /api/v1/dayplan changes them)",
        old,
    )
    return plan


class ValueStore(Protocol):
    """What :func:`load_plan` reads from.

    :class:`Storage`, or the read-only database of ``hrvpace share``
    (:class:`api.hubshare.ReadOnlyDatabase`).
    """

    def get_value(self, table: str, key: str) -> tuple[Any, float] | None: ...


def load_plan(storage: ValueStore, timezone: str | None = None) -> DayPlan:
    """The stored plan, or the default plan when none is stored (blocking).

    The default plan is in ``timezone``, else in the machine's local zone
    (:func:`machine_timezone`); a stored plan keeps the zone it was saved with. A stored zone
    this version no longer takes keeps the rest of the plan (working hours, breaks,
    check-ins): a copy of a zone (``right/UTC``) is read as the zone it copies, any other
    (``localtime``, ``posixrules``, ``Factory``, which older versions took, or a zone the
    system no longer knows) is replaced by the default plan's zone, logged with both names,
    until the next ``PUT`` (:func:`_usable_stored_zone`). A stored plan this version cannot
    use otherwise (a field renamed) is logged and replaced by the default plan until the next
    ``PUT``: the service starts either way.
    """
    stored = storage.get_value("settings", PLAN_KEY)
    if stored is not None:
        try:
            body = DayPlanIn.model_validate(_usable_stored_zone(stored[0], timezone))
            if body.timezone is None or body.seed is None:
                default = _default_plan(storage, timezone)
                body = body.model_copy(
                    update={k: getattr(default, k) for k in KEPT_WHEN_OMITTED}
                    | body.model_dump(include=set(KEPT_WHEN_OMITTED), exclude_none=True)
                )
            return body.to_plan()
        except (ValidationError, ProblemError) as exc:
            log.warning("the stored day plan cannot be used (%s); using the default plan", exc)
    return _default_plan(storage, timezone)


def _default_plan(storage: ValueStore, timezone: str | None) -> DayPlan:
    return DayPlan(timezone=_default_zone(timezone), seed=_install_seed(storage))


def _default_zone(timezone: str | None) -> str:
    return timezone if timezone is not None else machine_timezone()


def _usable_stored_zone(stored: Any, timezone: str | None) -> Any:
    """A stored plan with a zone this version takes, the rest of it unchanged.

    A plan saved before only canonical names were taken keeps its zone, or the nearest this
    version can tell, rather than being replaced by the default plan (its working hours,
    breaks and check-ins lost, and overwritten for good by the next save of the page, which
    shows the default). A copy of a canonical zone is that zone (``right/UTC``: ``UTC``);
    ``localtime`` named the machine's zone, which is the default plan's zone
    (``timezone``, else :func:`machine_timezone`); ``posixrules``, ``Factory`` and a name the
    system no longer knows name no zone this version can find, so they take the default
    plan's zone too. Each change is logged as a warning naming the old and the new zone.
    """
    if not isinstance(stored, dict) or not isinstance(stored.get("timezone"), str):
        return stored
    old = stored["timezone"]
    if old in zone_names():
        return stored
    new = canonical_zone(old)
    if new is None:
        new = _default_zone(timezone)
        log.warning(
            "the stored day plan's zone %r is not a zone this version takes; the plan is "
            "read in %r (the default plan's zone) until it is saved again",
            old,
            new,
        )
    else:
        log.warning("the stored day plan's zone %r is read as %r", old, new)
    return {**stored, "timezone": new}


def _install_seed(storage: ValueStore) -> int:
    stored = storage.get_value("settings", SEED_KEY)
    value = None if stored is None else stored[0]
    return value if isinstance(value, int) and 0 <= value <= 2**31 else 0


def ensure_install_seed(storage: Storage) -> int:
    """The seed of this install's randomised prompt times, drawn once (blocking).

    With one seed for everyone (the plan's default 0) every install would draw the same
    "random" check-in time on a day: a team sharing a channel would be pinged together and the
    times would be predictable, which defeats the randomisation of interval-contingent
    sampling (Shiffman et al. 2008). The default plan takes this seed; a saved plan keeps the
    seed it was saved with. Created race-free (insert-or-ignore, then read back).
    """
    storage.add_value_if_absent(
        "settings", SEED_KEY, secrets.randbelow(2**31), updated_at=time.time()
    )
    return _install_seed(storage)


def feed_token(storage: Storage) -> str:
    """The calendar feed's own token (created on first use; it grants only the feed).

    Created race-free: insert-or-ignore, then read back, so requests racing on first use all
    get the one token stored.
    """
    stored = storage.get_value("settings", FEED_TOKEN_KEY)
    if stored is not None and isinstance(stored[0], str) and stored[0]:
        return stored[0]
    if stored is not None:  # an unusable stored value: replace it
        return rotate_feed_token(storage)
    storage.add_value_if_absent(
        "settings", FEED_TOKEN_KEY, secrets.token_urlsafe(24), updated_at=time.time()
    )
    stored = storage.get_value("settings", FEED_TOKEN_KEY)
    if stored is None or not isinstance(stored[0], str) or not stored[0]:
        raise RuntimeError("the calendar feed token was not stored")
    return stored[0]


def calendar_install_id(storage: Storage) -> str:
    """The id of this install in the calendar feed's event UIDs (created once; blocking).

    A UID is global (RFC 5545 3.8.4.7): with ``<date>:<intervention>@hrvpace`` alone, every
    install's 12:30 reset of a day had the same UID, and a calendar that subscribes to two
    people's feeds (or one person's two machines) merged them into one event. Random, stored
    with the data dir's database: the same for the life of the data dir, unlike the feed token
    (which rotates; a UID that changed would make subscribers see every slot as new).
    """
    stored = storage.get_value("settings", CALENDAR_ID_KEY)
    if stored is not None and isinstance(stored[0], str) and stored[0]:
        return stored[0]
    if stored is not None:  # an unusable stored value (not a string, empty): replace it
        log.warning("the stored calendar id is not usable; a new one replaces it")
        future = storage.put_value(
            "settings", CALENDAR_ID_KEY, secrets.token_hex(8), updated_at=time.time()
        )
        assert future is not None
        future.result(timeout=30)
    storage.add_value_if_absent(
        "settings", CALENDAR_ID_KEY, secrets.token_hex(8), updated_at=time.time()
    )
    stored = storage.get_value("settings", CALENDAR_ID_KEY)
    if stored is None or not isinstance(stored[0], str) or not stored[0]:
        raise RuntimeError("the calendar install id was not stored")
    return stored[0]


def rotate_feed_token(storage: Storage) -> str:
    """A new calendar feed token replacing the old one (old feed URLs stop working)."""
    token = secrets.token_urlsafe(24)
    future = storage.put_value("settings", FEED_TOKEN_KEY, token, updated_at=time.time())
    assert future is not None
    future.result(timeout=30)
    return token


# -- prompts as data -----------------------------------------------------------------------------

PromptState = Literal["sent", "answered", "done", "dismissed", "expired", "skipped"]
#: Why a prompt was skipped or expired (:func:`breathing.dayplan.decide`): ``recent_break``
#: (skipped), ``checkin_open`` (a check-in skipped: another was still open), ``missed``
#: (expired unsent); ``""`` for every other prompt (a sent prompt that expires unanswered
#: keeps ``""``).
PromptReason = Literal["", "recent_break", "checkin_open", "missed"]


class AnswerItemOut(BaseModel):
    """One answered check-in item, stored with its scale and anchor words."""

    key: str
    label: str
    value: int | None = None
    choice: str | None = None
    scale_min: int | None = None
    scale_max: int | None = None
    anchor_low: str = ""
    anchor_high: str = ""


class PromptOut(BaseModel):
    """A prompt of the day plan and its answer (times in Unix seconds on the plan clock)."""

    id: int
    key: str = Field(description="<local date>:<intervention id>, or flag:/break:<time>.")
    kind: InterventionKind
    trigger: Literal["planned", "flag", "break"]
    text: str
    state: PromptState = Field(
        description="sent (open), answered, done (an action prompt the person did: a breathing "
        "reset or a screen break, POST /api/v1/prompts/{id}/done), dismissed, expired or skipped."
    )
    reason: PromptReason = Field(
        description="Why skipped or expired: recent_break (skipped), checkin_open (a check-in "
        "skipped: another check-in was still open), missed (expired before it was sent); empty "
        "for the others."
    )
    due_at: float
    expires_at: float
    sent_at: float | None
    answered_at: float | None = Field(description="When answered, or done (an action prompt).")
    dismissed_at: float | None
    expired_at: float | None
    response_latency_s: float | None = Field(
        description="answered_at - sent_at (EMA compliance reporting)."
    )
    answer_text: str | None
    note: str | None
    items: list[CheckinItemModel] = Field(description="What a check-in asks.")
    answers: list[AnswerItemOut]


def prompt_out(row: Row, answers: list[Row] | None = None) -> PromptOut:
    """The API model of a stored prompt, with its stored answers when given."""
    sent, answered = row["sent_at"], row["answered_at"]
    return PromptOut(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        trigger=row["trigger"],
        text=row["text"],
        state=row["state"],
        reason=row["reason"],
        due_at=row["due_at"],
        expires_at=row["expires_at"],
        sent_at=sent,
        answered_at=answered,
        dismissed_at=row["dismissed_at"],
        expired_at=row["expired_at"],
        response_latency_s=answered - sent if answered is not None and sent is not None else None,
        answer_text=row["answer_text"],
        note=row["note"],
        items=[CheckinItemModel.model_validate(i) for i in _json_list(row["items_json"])],
        answers=[
            AnswerItemOut(
                key=a["item_key"],
                label=a["label"],
                value=a["value"],
                choice=a["choice"],
                scale_min=a["scale_min"],
                scale_max=a["scale_max"],
                anchor_low=a["anchor_low"],
                anchor_high=a["anchor_high"],
            )
            for a in answers or []
        ],
    )


def _json_list(text: str) -> list[Any]:
    value = json.loads(text or "[]")
    return value if isinstance(value, list) else []


# -- export --------------------------------------------------------------------------------------

#: Columns of ``prompts.csv`` (times in Unix seconds on the plan clock; latency in seconds).
PROMPT_COLUMNS = (
    "id",
    "key",
    "kind",
    "trigger",
    "state",
    "reason",
    "due_at",
    "sent_at",
    "answered_at",
    "dismissed_at",
    "expired_at",
    "response_latency_s",
    "answer_text",
    "note",
)
ANSWER_COLUMNS = (
    "prompt_id",
    "item_key",
    "label",
    "value",
    "choice",
    "scale_min",
    "scale_max",
    "anchor_low",
    "anchor_high",
)


def _export_cell(value: Any) -> Any:
    """A cell of the prompt CSVs: missing empty, text :func:`spreadsheet_safe`, numbers as is.

    The text cells (``answer_text``, ``note``, ``label``, ``choice``, the anchors) hold what a
    person typed, and the files go to a researcher's spreadsheet (attacker review 2026-12-06).
    """
    if value is None:
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def export_prompts(database: Path, out: Path) -> list[Path]:
    """Write the day plan's prompts, their check-in answers and a compliance summary.

    The files are ``prompts.csv``, ``prompt_answers.csv`` (the check-in items) and
    ``prompts.json``, each written whole or not at all (:mod:`api._files`: all three under
    temporary names first, then moved in; a link at a name stays a link, a replaced file
    keeps its mode). An :class:`OSError` names the file that could not be written.

    Compliance and response latency are reported as EMA studies do (Stone & Shiffman 2002;
    Wrzus & Neubauer 2023): prompts sent, answered, dismissed and expired unanswered, the
    share answered, and the median latency from sent to answered. An action prompt (a
    breathing reset, a screen break) the person did (``done``) is complied with as an
    answered one is: compliance is (answered + done) / sent, the latency counts both.

    References
    ----------
    Stone AA, Shiffman S. Capturing momentary, self-report data: a proposal for reporting
    guidelines. Ann Behav Med. 2002;24(3):236-243.
    Wrzus C, Neubauer AB. Ecological momentary assessment: a meta-analysis on designs, samples,
    and compliance across research fields. Assessment. 2023;30(3):825-846.
    """
    if not database.is_file():
        raise PromptExportError(f"{database}: no database (has the service run here?)")
    try:
        with ReadOnlyDatabase(database) as db:
            prompts = db.all_prompts()
            answers = db.all_prompt_answers()
    except StorageError as exc:
        raise PromptExportError(f"{database}: cannot read the prompts ({exc})") from None
    out.mkdir(parents=True, exist_ok=True)
    rows = [prompt_out(r) for r in prompts]

    def write_prompts(f: Any) -> None:
        w = csv.writer(f)
        w.writerow(PROMPT_COLUMNS)
        for p in rows:
            d = p.model_dump()
            w.writerow([_export_cell(d[c]) for c in PROMPT_COLUMNS])

    def write_answers(f: Any) -> None:
        w = csv.writer(f)
        w.writerow(ANSWER_COLUMNS)
        for a in answers:
            w.writerow([_export_cell(a[c]) for c in ANSWER_COLUMNS])

    sent = [p for p in rows if p.sent_at is not None]
    # complied with: answered, or (an action prompt: a breathing reset, a screen break) done
    responded = [p for p in sent if p.response_latency_s is not None]
    latencies = sorted(p.response_latency_s for p in responded if p.response_latency_s is not None)
    summary = {
        "n_planned": len(rows),
        "n_sent": len(sent),
        "n_answered": sum(p.state == "answered" for p in responded),
        "n_done": sum(p.state == "done" for p in responded),
        "n_dismissed": sum(p.state == "dismissed" for p in rows),
        "n_expired_unanswered": sum(p.state == "expired" and p.sent_at is not None for p in rows),
        "n_missed_unsent": sum(p.state == "expired" and p.sent_at is None for p in rows),
        "n_skipped": sum(p.state == "skipped" for p in rows),
        "compliance": len(responded) / len(sent) if sent else None,
        "median_response_latency_s": statistics.median(latencies) if latencies else None,
        "columns": {c: _PROMPT_UNITS.get(c, "") for c in PROMPT_COLUMNS},
    }
    text = json.dumps(summary, indent=2) + "\n"
    files = [out / "prompts.csv", out / "prompt_answers.csv", out / "prompts.json"]
    # all three written under temporary names first, then moved in: a failure (a full disk)
    # leaves an earlier export as it was, never a half-written file (api._files)
    staged: list[tuple[Path, Path]] = []
    try:
        for path, write in zip(
            files, (write_prompts, write_answers, lambda f: f.write(text)), strict=True
        ):
            real = real_path(path)
            staged.append((replace_with(real, write), real))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, real in staged:
        move_into(tmp, real)
    return files


_PROMPT_UNITS = {
    "due_at": "Unix s",
    "sent_at": "Unix s",
    "answered_at": "Unix s",
    "dismissed_at": "Unix s",
    "expired_at": "Unix s",
    "response_latency_s": "s",
}


class PromptExportError(HrvpaceError):
    """The prompts cannot be exported (no database, unreadable)."""
