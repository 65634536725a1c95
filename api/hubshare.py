"""Sharing daily aggregates with an organisation's hub: opt-in, shown first, revocable.

``hrvpace share --hub URL --invite CODE`` shows exactly what will be sent, joins the hub and
keeps the membership (hub URL, pseudonymous member id, member token) in ``hub-share.json`` of
the data dir, mode 0600. Then, once a day, the days not yet sent are pushed (``hrvpace serve``
does it in the background and retries hourly; ``hrvpace share --push`` does it at once).
``hrvpace share --stop`` ends the sharing: the hub keeps the days already sent, and the
membership file (with its token, 0600) is kept, marked stopped, so that a later
``hrvpace share --stop --delete`` can still erase those days on the hub (the hub accepts
nothing but that deletion from a stopped member's token). The file is removed only once the
hub confirms a deletion. The personal service talks to the hub over HTTP
only (httpx) and never imports the hub's package.

What a day's contribution holds (:func:`daily_aggregates`), for a calendar day of the day
plan's time zone (:func:`api.dayplan.load_plan`, the same days as the person's dashboard). The
counts (prompts, breaks, practice minutes) are 0 on a day without them; the levels (resting
measure, check-ins, break effect) ``None`` when not measured that day:

- ``resting_rmssd_ms``, ``resting_hr_bpm``: the dashboard's resting measure
  (:func:`api.resting.resting_of_day`): medians of the 60-s windows of session time
  60-360 s of the day's first strap session (simulations and replays do not count);
- ``stress``, ``energy``: means of the day's check-ins (1-5; notes are never sent);
- ``prompts_sent``: the day plan's prompts sent that day (the ``prompts`` table; skipped ones
  were never sent); ``prompts_answered``: those of them answered (or, a breathing reset or a
  screen break, done); ``breaks``: breaks ended;
  ``break_effect_rmssd_ms``: mean RMSSD change (after - before, ms) of the day's breaks with
  both figures;
- ``practice_min``: minutes of strap practice sessions begun that day.

A value outside the hub's range (e.g. an implausible RMSSD over 300 ms) is sent as ``None``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import ssl
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from api.dayplan import load_plan
from api.errors import ApiError
from api.resting import resting_of_day
from api.storage import StorageError
from api.storage.queries import Queries
from api.storage.readonly import ReadOnlyDatabase as StoredReadOnly
from breathing.dayplan import DayPlan

__all__ = [
    "DEFINITIONS",
    "FIELDS",
    "STATE_FILE",
    "AlreadyStoppedError",
    "ClocksDisagreeError",
    "HubRefusedError",
    "HubShareError",
    "HubUnreachableError",
    "InviteRefusedError",
    "Left",
    "MemberUnknownError",
    "Membership",
    "NotSharingError",
    "PushStoppedError",
    "ReadOnlyDatabase",
    "daily_aggregates",
    "day_without_data",
    "join_hub",
    "leave_hub",
    "load_membership",
    "plan_today",
    "push_pending",
    "save_membership",
]

log = logging.getLogger(__name__)

STATE_FILE = "hub-share.json"
#: The hub's measures and the ranges it accepts (a value outside is sent as None).
FIELDS: dict[str, tuple[float, float]] = {
    "resting_rmssd_ms": (1, 300),
    "resting_hr_bpm": (25, 220),
    "stress": (1, 5),
    "energy": (1, 5),
    "prompts_sent": (0, 500),
    "prompts_answered": (0, 500),
    "breaks": (0, 500),
    "break_effect_rmssd_ms": (-200, 200),
    "practice_min": (0, 1440),
}
_INTS = {"prompts_sent", "prompts_answered", "breaks"}
#: The counts among :data:`FIELDS`: 0 on a day without them (the others are levels: None).
_COUNTS = ("prompts_sent", "prompts_answered", "breaks", "practice_min")
#: What each number means, as ``hrvpace share`` prints it under the preview.
DEFINITIONS = """\
Days are those of your day plan's time zone. resting_rmssd_ms / resting_hr_bpm: your
dashboard's resting measure (medians of the 60-s windows 60-360 s into the day's first strap
session); stress / energy: means of the day's check-ins; prompts_sent / prompts_answered: the
day plan's prompts sent that day and those you answered (or did: a breathing reset, a
screen break); breaks: breaks ended;
break_effect_rmssd_ms: their mean RMSSD change (after - before); practice_min: minutes of
strap practice. Counts are 0 on a day without them; null means not measured that day."""
#: The oldest day a first push goes back to (the hub refuses days of closed weeks anyway).
MAX_BACKFILL_DAYS = 9
TIMEOUT_S = 20.0
#: How many days refused for good a membership keeps (for ``hrvpace share`` to list).
REFUSED_KEPT = 60


class HubShareError(ApiError):
    """Sharing with a hub failed; the message says why (unreachable, invite refused, ...).

    The subclasses carry the HTTP status and ``code`` the page's routes answer with
    (:mod:`api.routes.share`); ``hrvpace share`` prints the message whichever it is.
    """

    code = "hub_share"
    title = "Hub sharing"


class NotSharingError(HubShareError):
    """Stop or delete asked while no hub membership is kept."""

    status = 409
    code = "not_sharing"
    title = "Not sharing"


class AlreadyStoppedError(HubShareError):
    """``--stop`` without ``--delete`` when sharing was stopped already (nothing to do)."""

    status = 409
    code = "already_stopped"
    title = "Sharing already stopped"


class HubUnreachableError(HubShareError):
    """The hub could not be reached (network, DNS, TLS, timeout)."""

    status = 502
    code = "hub_unreachable"
    title = "Hub unreachable"


class PushStoppedError(HubShareError):
    """A push stopped at a day the hub did not take for now; that day and later stay pending.

    ``done`` holds the ``(day, outcome)`` of the days handled before it.
    """

    status = 502
    code = "push_stopped"
    title = "Push stopped"

    def __init__(self, message: str, *, done: list[tuple[dt.date, str]]) -> None:
        super().__init__(message)
        self.done = list(done)


class ClocksDisagreeError(PushStoppedError):
    """The hub refused a day as in the future (``date_in_future``): the clocks disagree."""

    code = "clocks_disagree"
    title = "The hub's clock and this machine's disagree"


class HubRefusedError(HubShareError):
    """The hub answered with an error; the message carries its ``code``."""

    status = 502
    code = "hub_refused"
    title = "Hub refused"


class InviteRefusedError(HubRefusedError):
    """The hub URL is not http(s) or the hub refused the invite code."""

    status = 422
    code = "invite_refused"
    title = "Invite refused"


class MemberUnknownError(HubRefusedError):
    """The hub does not know the member token (the local membership is removed)."""

    status = 409
    code = "member_unknown"
    title = "Member unknown to the hub"


@dataclass
class Membership:
    """The person's membership of a hub, as kept in ``hub-share.json`` (0600)."""

    hub_url: str
    member_id: str
    group_id: str
    token: str
    counts_from: dt.date
    #: The last day done: sent, or refused for good (the next push starts after it).
    last_pushed: dt.date | None = None
    #: The day sharing was stopped (without deleting): nothing is pushed any more, the token
    #: is kept only to delete the days already on the hub.
    stopped_on: dt.date | None = None
    #: Days the hub refused for good (ISO day -> the hub's code, e.g. ``period_closed``),
    #: the latest :data:`REFUSED_KEPT`; never retried.
    refused: dict[str, str] = field(default_factory=dict)
    #: The last day the hub took (201): what "the days sent" means; ``None``: none yet.
    #: ``last_pushed`` also moves over days refused for good, which were never sent.
    last_sent: dt.date | None = None

    def to_json(self) -> str:
        """The membership as the JSON text of ``hub-share.json`` (dates in ISO format)."""
        d = asdict(self)
        d["counts_from"] = self.counts_from.isoformat()
        d["last_pushed"] = self.last_pushed.isoformat() if self.last_pushed else None
        d["last_sent"] = self.last_sent.isoformat() if self.last_sent else None
        d["stopped_on"] = self.stopped_on.isoformat() if self.stopped_on else None
        d["refused"] = dict(sorted(self.refused.items())[-REFUSED_KEPT:])
        return json.dumps(d, indent=2)


def load_membership(data_dir: Path) -> Membership | None:
    """The membership kept in ``data_dir``, or ``None`` when this service joined no hub."""
    path = data_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text())
        membership = Membership(
            hub_url=str(d["hub_url"]),
            member_id=str(d["member_id"]),
            group_id=str(d["group_id"]),
            token=str(d["token"]),
            counts_from=dt.date.fromisoformat(d["counts_from"]),
            last_pushed=dt.date.fromisoformat(d["last_pushed"]) if d.get("last_pushed") else None,
            stopped_on=dt.date.fromisoformat(d["stopped_on"]) if d.get("stopped_on") else None,
            refused={str(k): str(v) for k, v in (d.get("refused") or {}).items()},
            last_sent=dt.date.fromisoformat(d["last_sent"]) if d.get("last_sent") else None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise HubShareError(f"{path} is unreadable ({type(exc).__name__}); delete it") from None
    if "last_sent" not in d:  # written before it was kept
        membership.last_sent = _last_sent_of_old(membership)
    return membership


def _last_sent_of_old(membership: Membership) -> dt.date | None:
    """The last day sent, for a ``hub-share.json`` written before ``last_sent`` was kept.

    ``last_pushed`` less the days refused for good just before it, back to ``counts_from``.
    An estimate: the file keeps the latest :data:`REFUSED_KEPT` refusals only, and a day
    before the first push's backfill (:data:`MAX_BACKFILL_DAYS`) was never tried.
    """
    day = membership.last_pushed
    while day is not None and day.isoformat() in membership.refused:
        day -= dt.timedelta(days=1)
    return day if day is not None and day >= membership.counts_from else None


def save_membership(data_dir: Path, membership: Membership) -> Path:
    """Write the membership atomically, readable by the user only."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(membership.to_json() + "\n")
    os.replace(tmp, path)
    return path


class ReadOnlyDatabase(StoredReadOnly):
    """The service's SQLite database opened read-only (the server may be running meanwhile).

    Raises
    ------
    HubShareError
        There is no database at ``path`` or it cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise HubShareError(
                f"no hrvpace database at {path} yet: start `hrvpace serve` once with this data "
                "dir (it creates the database, then sends each finished day by itself)"
            )
        try:
            super().__init__(path)
        except StorageError as exc:
            raise HubShareError(str(exc)) from None


def _day_bounds(plan: DayPlan, day: dt.date) -> tuple[float, float]:
    """Unix seconds of ``day``'s midnight and the next, in the day plan's time zone."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=plan.tz)
    nxt = day + dt.timedelta(days=1)
    end = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=plan.tz)
    return start.timestamp(), end.timestamp()


def plan_today(db: Any, *, now: float | None = None) -> dt.date:
    """Today in the day plan's time zone (the days :func:`daily_aggregates` counts)."""
    now = time.time() if now is None else now
    return dt.datetime.fromtimestamp(now, tz=load_plan(db).tz).date()


def _in_range(name: str, value: float | None) -> float | int | None:
    if value is None:
        return None
    low, high = FIELDS[name]
    if not low <= value <= high:
        return None
    return int(value) if name in _INTS else round(float(value), 2)


def day_without_data(day: dt.date) -> dict[str, Any]:
    """What is sent for ``day`` when nothing was recorded: counts 0, levels None.

    As :func:`daily_aggregates` gives for such a day; the preview of a data dir without a
    database yet shows it (it showed every count as null, while the text says they are 0).
    """
    return {
        "date": day.isoformat(),
        **{k: _in_range(k, 0) if k in _COUNTS else None for k in FIELDS},
    }


def daily_aggregates(db: Queries, day: dt.date, *, now: float | None = None) -> dict[str, Any]:
    """What is sent for ``day``: ``{"date": ..., <each field of FIELDS>: value or None}``.

    ``db`` is the service's :class:`api.storage.Storage` or a :class:`ReadOnlyDatabase` (both
    answer the reads of :class:`api.storage.queries.Queries`). See the module docstring for
    each field's definition.
    """
    now = time.time() if now is None else now
    start, end = _day_bounds(load_plan(db), day)
    resting = resting_of_day(db, start, end)
    checkins = db.checkin_scores(start, end)
    events = db.person_break_events(start, end)
    sent, answered = db.prompt_counts(start, end)
    practice = db.strap_practice_spans(start, end, now=now)
    kinds = [kind for kind, _ in events]
    effects = []
    for kind, data in events:
        if kind == "break_effect":
            before, after = data.get("rmssd_before_ms"), data.get("rmssd_after_ms")
            if isinstance(before, int | float) and isinstance(after, int | float):
                effects.append(float(after) - float(before))
    raw: dict[str, float | None] = {
        "resting_rmssd_ms": resting.rmssd_ms,
        "resting_hr_bpm": resting.hr_bpm,
        "stress": statistics.fmean(r[0] for r in checkins) if checkins else None,
        "energy": statistics.fmean(r[1] for r in checkins) if checkins else None,
        "prompts_sent": sent,
        "prompts_answered": min(sent, answered),
        "breaks": kinds.count("break_ended"),
        "break_effect_rmssd_ms": statistics.fmean(effects) if effects else None,
        # a count: 0 on a day without practice, like prompts and breaks (the hub's per-day rule)
        "practice_min": sum(max(0.0, e - s) for s, e in practice) / 60.0,
    }
    return {"date": day.isoformat(), **{k: _in_range(k, v) for k, v in raw.items()}}


def _client(hub_url: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=hub_url.rstrip("/"), headers=headers, timeout=TIMEOUT_S, verify=_tls()
    )


@cache
def _tls() -> ssl.SSLContext:
    """The TLS context of every hub request, httpx's default built once.

    A client given none builds its own, loading the CA bundle (~20 ms of CPU) even for a
    request that never connects. Like httpx's, it honours ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR``, as set when the first hub request is made.
    """
    return httpx.create_ssl_context()


def _why(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return f"HTTP {r.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {r.status_code}"
    detail, code = body.get("detail", ""), body.get("code", r.status_code)
    return f"{_shown(str(detail), 200)} ({_shown(str(code), 60)})"


def _answer(r: httpx.Response, *keys: str) -> dict[str, Any]:
    """The hub's JSON answer with ``keys``; anything else is not an hrvpace hub's answer."""
    try:
        body = r.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(k not in body for k in keys):
        raise HubRefusedError(
            f"the answer from {_shown(str(r.url))} is not an hrvpace hub's (HTTP {r.status_code})"
        )
    return body


def _shown(text: str, limit: int = 100) -> str:
    """``text`` cut to ``limit`` characters for a message (no error echoes a long input)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _not_answering(hub_url: str, exc: Exception) -> str:
    """A plain sentence for a hub that could not be reached (the OS error goes to DEBUG)."""
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "refused" in text:
            why = "connection refused"
        elif "name" in text or "getaddrinfo" in text:
            why = "its host name was not found"
        else:
            why = "cannot connect"
    elif isinstance(exc, httpx.TimeoutException):
        why = f"no answer within {TIMEOUT_S:.0f} s"
    elif isinstance(exc, UnicodeError):
        why = "the host name is not valid"
    else:
        why = "the connection failed"
    return f"the hub at {_shown(hub_url)} is not answering ({why})"


def join_hub(hub_url: str, code: str) -> Membership:
    """Join with the invite ``code``; the membership (not saved yet).

    Raises
    ------
    HubShareError
        The hub cannot be reached or refuses the code.
    """
    if not hub_url.startswith(("https://", "http://")):
        raise InviteRefusedError(
            f"hub URL must start with https:// (or http:// on a LAN): {_shown(hub_url)}"
        )
    try:
        with _client(hub_url) as c:
            r = c.post("/hub/v1/join", json={"code": code})
    except (httpx.HTTPError, UnicodeError) as exc:  # UnicodeError: a host IDNA cannot encode
        log.debug("joining %s: %r", hub_url, exc)
        raise HubUnreachableError(
            f"{_not_answering(hub_url, exc)}; you did not join, try again later"
        ) from None
    if r.status_code != 201:
        refused = InviteRefusedError if 400 <= r.status_code < 500 else HubRefusedError
        raise refused(f"the hub refused to join: {_why(r)}")
    d = _answer(r, "member_id", "group_id", "token", "counts_from")
    try:
        return Membership(
            hub_url=hub_url.rstrip("/"),
            member_id=str(d["member_id"]),
            group_id=str(d["group_id"]),
            token=str(d["token"]),
            counts_from=dt.date.fromisoformat(str(d["counts_from"])),
        )
    except ValueError:
        raise HubRefusedError("the hub's answer to joining has no valid counts_from date") from None


@dataclass(frozen=True)
class Left:
    """What :func:`leave_hub` did."""

    #: Contributions the hub deleted (0 without ``delete``).
    deleted: int = 0
    #: The hub had ended the membership already (its token had stopped there, e.g. from
    #: another copy of ``hub-share.json``): what was asked is done, and it is marked stopped
    #: here too.
    hub_had_stopped: bool = False


def leave_hub(data_dir: Path, *, delete: bool) -> Left:
    """Stop sharing, and with ``delete`` erase the contributions on the hub.

    Without ``delete`` the membership file is kept (0600), marked stopped: its token is what
    lets a later ``delete`` erase the days the hub keeps. With ``delete`` the file is removed
    once the hub confirms. Returns how many contributions the hub deleted (0 without
    ``delete``) and whether the hub had ended the membership already (its 409
    ``already_stopped`` to a stop: done all the same).

    Raises
    ------
    HubShareError
        Not sharing; already stopped (without ``delete``); the hub cannot be reached, refuses,
        or does not know the token (then nothing could be deleted through it: the file is
        removed, as the token is of no more use, and the message says so).
    """
    membership = load_membership(data_dir)
    if membership is None:
        raise NotSharingError("not sharing with any hub")
    if membership.stopped_on is not None and not delete:
        kept = (
            f"the days sent before (up to {membership.last_sent}) stay there: `hrvpace share "
            "--stop --delete` erases them"
            if membership.last_sent is not None
            else "no day was sent; sharing again needs `hrvpace share --stop --delete` first"
        )
        raise AlreadyStoppedError(
            f"already stopped sharing with {membership.hub_url} on {membership.stopped_on}; " + kept
        )
    try:
        with _client(membership.hub_url, membership.token) as c:
            r = c.delete("/hub/v1/me", params={"delete": "true" if delete else "false"})
    except httpx.HTTPError as exc:
        log.debug("leaving %s: %r", membership.hub_url, exc)
        raise HubUnreachableError(
            f"{_not_answering(membership.hub_url, exc)}; nothing was changed, try again later"
        ) from None
    if r.status_code == 401:
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        raise MemberUnknownError(
            f"the hub at {membership.hub_url} does not know this member "
            f"({membership.member_id}) any more, so nothing could be deleted through it now "
            "(deleted earlier, or the hub's data was reset); ask the hub's operator if in "
            "doubt. The local membership is removed."
        )
    stopped_there = r.status_code == 409 and _code(r) == "already_stopped"
    if stopped_there and not delete:
        # The hub had ended the membership first (the token stopped there, e.g. from another
        # copy of hub-share.json): what was asked is done. The token is kept, it is still what
        # erases the days (`--stop --delete`).
        membership.stopped_on = dt.date.today()
        save_membership(data_dir, membership)
        return Left(hub_had_stopped=True)
    if r.status_code != 200:
        raise HubRefusedError(f"the hub refused: {_why(r)}")
    if not delete:
        membership.stopped_on = dt.date.today()
        save_membership(data_dir, membership)
        return Left()
    try:
        n = int(_answer(r, "deleted_contributions")["deleted_contributions"])
    except (TypeError, ValueError):
        raise HubRefusedError("the hub's answer has no count of deleted days") from None
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    return Left(deleted=n)


def _code(r: httpx.Response) -> str:
    """The ``code`` of the hub's problem answer, else the HTTP status."""
    try:
        body = r.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return _shown(str(code), 60) if code else str(r.status_code)


def _final(r: httpx.Response) -> bool:
    """Whether the hub refused a day for good: asking again later would be refused again.

    409 (its week closed, before the membership) and 422 for a value the hub refuses; not
    ``date_in_future`` (a 422 too), which only says that the two clocks disagree now.
    """
    return r.status_code == 409 or (r.status_code == 422 and _code(r) != "date_in_future")


def push_pending(
    data_dir: Path, db: Any, *, today: dt.date | None = None, now: float | None = None
) -> list[tuple[dt.date, str]]:
    """Send every finished day not sent yet (up to yesterday); returns ``(day, outcome)``.

    Days go in order, and ``last_pushed`` only moves over a day the hub has taken or refused
    for good. Outcomes: ``sent``; ``refused: <code>`` when the hub will never take that day
    (its week closed, before membership, a value it refuses): it is not retried, so one bad
    day never blocks the next ones, and it is kept in the membership's ``refused`` (shown by
    ``hrvpace share``). Any other answer stops the push at that day, which stays pending and
    is sent at the next push (``hrvpace serve`` retries hourly): the hub unreachable or
    failing, and ``date_in_future`` (the hub's clock is behind this machine's:
    :class:`ClocksDisagreeError`). The error raised then carries the days done before
    (``done``). Stops sharing locally when the hub no longer takes days from the token (401):
    the file is kept, marked stopped, so that ``--stop --delete`` can still erase the days
    sent. Nothing is sent once stopped.
    """
    membership = load_membership(data_dir)
    if membership is None or membership.stopped_on is not None:
        return []
    today = today or plan_today(db, now=now)
    first = max(membership.counts_from, today - dt.timedelta(days=MAX_BACKFILL_DAYS))
    if membership.last_pushed is not None:
        first = max(first, membership.last_pushed + dt.timedelta(days=1))
    out: list[tuple[dt.date, str]] = []
    day = first
    with _client(membership.hub_url, membership.token) as c:
        while day < today:
            payload = daily_aggregates(db, day, now=now)
            try:
                r = c.post("/hub/v1/contributions", json=payload)
            except httpx.HTTPError as exc:
                log.debug("hub push of %s: %r", day, exc)
                raise PushStoppedError(
                    f"{_not_answering(membership.hub_url, exc)}; {day} and later days were "
                    "not sent and will be at the next push",
                    done=out,
                ) from None
            if r.status_code == 201:
                out.append((day, "sent"))
                membership.last_sent = day
            elif _final(r):  # never taken (closed week, before membership, a refused value)
                code = _code(r)
                out.append((day, f"refused: {code}"))
                membership.refused = {**membership.refused, day.isoformat(): code}
            elif r.status_code == 401:
                membership.stopped_on = dt.date.today()
                save_membership(data_dir, membership)
                raise PushStoppedError(
                    "the hub no longer takes days from this member: sharing stopped "
                    "(`hrvpace share --stop --delete` still tries to erase the days sent)",
                    done=out,
                )
            elif _code(r) == "date_in_future":
                raise ClocksDisagreeError(
                    f"the hub at {_shown(membership.hub_url)} says {day} is still in the "
                    "future: by its clock no time zone has finished that day yet, so the "
                    "clocks disagree (the hub's is behind this machine's). "
                    f"Nothing from {day} on was sent; those days stay pending and are sent "
                    "at the next push once the clocks agree (check the date and time of "
                    "this machine, or tell the hub's operator)",
                    done=out,
                )
            else:  # the hub failing or busy (5xx, 429, ...): try again later
                raise PushStoppedError(
                    f"the hub did not take {day}: {_why(r)}; it and later days stay pending "
                    "and are sent at the next push",
                    done=out,
                )
            membership.last_pushed = day
            save_membership(data_dir, membership)
            day += dt.timedelta(days=1)
    return out


#: Seconds between two pushes, and between retries after a failure.
PUSH_EVERY_S = 6 * 3600.0
RETRY_S = 3600.0


async def push_loop(
    data_dir: Path, db: Any, *, sleep: Callable[[float], Any] = asyncio.sleep
) -> None:
    """``hrvpace serve``'s background push: pending days every 6 h, retried hourly on error.

    Does nothing while the person does not share; never raises (a live session is never
    disturbed by the hub).
    """
    while True:
        wait = PUSH_EVERY_S
        if (data_dir / STATE_FILE).exists():
            try:
                done = await asyncio.to_thread(push_pending, data_dir, db)
                if done:
                    log.info("hub: %d day(s) pushed or skipped", len(done))
            except HubShareError as exc:
                log.warning("hub push: %s", exc)
                wait = RETRY_S
            except Exception:
                log.exception("hub push failed")
                wait = RETRY_S
        await sleep(wait)
