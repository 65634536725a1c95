"""Prompts of the day plan and their answers.

``GET /api/v1/prompts``, ``POST /api/v1/prompts/{id}/answer``, ``/done`` and ``/dismiss``.

An answer is stored with the prompt (text for prompts and reflections; for a check-in, each
configured item with its scale and anchor words, plus an optional note; each item at most
once); a check-in answer with stress and energy on the 1-5 scale is also a row of
``/api/v1/checkins``, so history and trends see it. The answer's response says which:
``checkin_id`` (``null`` when no row was made) and ``checkin_missing`` (what the row lacked).
An action prompt (a breathing reset, a screen break) is something to do rather than to answer:
``/done`` records that the person did it (state ``done``, its time in ``answered_at``), and an
answer to one is a 422 ``invalid_answer`` (a text stored as its answer would count it
``answered`` rather than ``done``).
A prompt is answered, done or dismissed once: the first request wins, a later or concurrent one
is a 409 ``prompt_closed`` and changes nothing.
Times are on the plan clock (the real time, unless ``hrvpace demo --clock-speed``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.dayplan import PromptOut, prompt_out
from api.errors import STORE_BUSY_RESPONSE
from api.problems import ProblemError
from api.routes._deps import AfterId, StorageDep, after_id_not_found
from api.routes.dayplan import SchedulerDep
from api.sessions import stored_within_cap
from api.storage import Row
from api.storage.queries import PERSON_KIND

router = APIRouter(prefix="/api/v1/prompts", tags=["prompts"])

#: The states a prompt is in (an enum in the schema).
PromptState = Literal["sent", "answered", "done", "dismissed", "expired", "skipped"]

PromptId = Annotated[int, Path(ge=1, le=2**62, description="The prompt's id.")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No prompt with that id (code prompt_not_found)"}
}
_CLOSED: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The prompt is no longer open: answered, done, dismissed or expired, "
        "possibly by a request a moment earlier (code prompt_closed)"
    }
}

#: Kinds of prompt that ask the person to do something (``/done``) rather than answer.
ACTION_KINDS = ("breathing_reset", "detox_reminder")


class PromptList(BaseModel):
    """A page of prompts, with how many the filters select in all."""

    prompts: list[PromptOut]
    total: int = Field(description="Prompts since and state select (whatever limit and after_id)")
    next_after_id: int | None = Field(
        default=None,
        description="More prompts follow this page: pass this as after_id for the next one; "
        "null on the last page",
    )


class ItemAnswer(BaseModel):
    """The answer to one check-in item: a scale value or a choice."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=40)
    value: int | None = Field(default=None, description="A scale item's value.")
    choice: str | None = Field(default=None, max_length=200, description="A choice item's pick.")


#: The items a ``/api/v1/checkins`` row is made of (each on the 1-5 scale).
CHECKIN_ITEMS = ("stress", "energy")


class AnswerOut(PromptOut):
    """The answered prompt, and whether the answer is also a row of ``/api/v1/checkins``."""

    checkin_id: int | None = Field(
        description="The /api/v1/checkins row this answer also made; null when it made none "
        "(not a check-in, or stress or energy not answered on the 1-5 scale: see "
        "checkin_missing). The answer is stored with the prompt either way."
    )
    checkin_missing: list[str] = Field(
        description="Of a check-in prompt's answer, what a check-in row needs that it lacks "
        "(stress, energy on the 1-5 scale); empty when checkin_id is set, and for other prompts."
    )


class AnswerIn(BaseModel):
    """Body of ``POST /api/v1/prompts/{id}/answer``; which fields depends on the prompt's kind.

    ``morning_prompt``, ``evening_reflection``: ``text``. ``checkin``: ``items`` (each asked item
    once) and an optional ``note``. ``breathing_reset``, ``detox_reminder``: no answer, they are
    done (``POST /api/v1/prompts/{id}/done``) or dismissed. Any other answer is a 422
    ``invalid_answer`` naming the field.
    """

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        default=None,
        max_length=4000,
        description="The answer of a morning_prompt or an evening_reflection (required there); "
        "a breathing_reset or a detox_reminder takes none (422 invalid_answer).",
    )
    items: list[ItemAnswer] = Field(
        default_factory=list,
        max_length=20,
        description="A checkin's answer: each item it asks, at most once (required there).",
    )
    note: str | None = Field(default=None, max_length=1000, description="A checkin's note.")


@router.get("", response_model=PromptList)
async def list_prompts(
    storage: StorageDep,
    since: Annotated[
        float | None, Query(ge=0, le=1e11, description="Due at or after (Unix s).")
    ] = None,
    state: Annotated[PromptState | None, Query(description="Only prompts in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    after_id: AfterId = None,
) -> PromptList:
    """Prompts, oldest due first (then by id), with their answers and response latency.

    ``since`` is inclusive (due at or after); follow ``next_after_id`` (as ``after_id``) to
    the next page: it reaches every prompt once, however many are due at one time.
    """
    if after_id is not None and await asyncio.to_thread(storage.get_prompt, after_id) is None:
        raise after_id_not_found("prompt", after_id)
    rows = await asyncio.to_thread(
        storage.prompts, since=since, state=state, limit=limit + 1, after_id=after_id
    )
    more = len(rows) > limit
    rows = rows[:limit]
    answers = await asyncio.to_thread(storage.prompt_answers, [r["id"] for r in rows])
    total = await asyncio.to_thread(storage.count_prompts, since=since, state=state)
    return PromptList(
        prompts=[prompt_out(r, answers[r["id"]]) for r in rows],
        total=total,
        next_after_id=int(rows[-1]["id"]) if more else None,
    )


async def _stored(storage: StorageDep, prompt_id: int) -> Row:
    row = await asyncio.to_thread(storage.get_prompt, prompt_id)
    if row is None:
        raise ProblemError(404, "prompt_not_found", f"no prompt with id {prompt_id}")
    return row


def _closed(row: Row) -> ProblemError:
    return ProblemError(
        409, "prompt_closed", f"prompt {row['id']} is {row['state']}, no longer open"
    )


async def _open_prompt(storage: StorageDep, prompt_id: int) -> Row:
    row = await _stored(storage, prompt_id)
    if row["state"] != "sent":
        raise _closed(row)
    return row


async def _closed_meanwhile(storage: StorageDep, prompt_id: int) -> ProblemError:
    """The 409 for a prompt that a concurrent request answered, did or closed first."""
    return _closed(await _stored(storage, prompt_id))


def _validate_items(row: Any, body: AnswerIn) -> list[dict[str, Any]]:
    if row["kind"] in ACTION_KINDS:  # done or dismissed, not answered
        sent = [f for f in ("text", "items", "note") if getattr(body, f)]
        where = sent[0] if sent else "body"
        raise ProblemError(
            422,
            "invalid_answer",
            f"{where}: a {row['kind']} prompt takes no answer; it is done "
            f"(POST /api/v1/prompts/{row['id']}/done) or dismissed",
        )
    asked = {i["key"]: i for i in json.loads(row["items_json"] or "[]")}
    out: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    for n, given in enumerate(body.items):
        where = f"items[{n}]"
        if given.key in first:  # the later value would silently replace the earlier one
            raise ProblemError(
                422,
                "invalid_answer",
                f"{where}: {given.key!r} is answered twice (items[{first[given.key]}] too); "
                "answer each item once",
            )
        first[given.key] = n
        item = asked.get(given.key)
        if item is None:
            raise ProblemError(
                422, "invalid_answer", f"{where}: this prompt does not ask {given.key!r}"
            )
        if item.get("choices"):
            if given.choice not in item["choices"]:
                raise ProblemError(
                    422,
                    "invalid_answer",
                    f"{where}: choice must be one of {item['choices']}",
                )
        elif given.value is None or not item["scale_min"] <= given.value <= item["scale_max"]:
            raise ProblemError(
                422,
                "invalid_answer",
                f"{where} ({given.key}): value must be {item['scale_min']}-{item['scale_max']}",
            )
        out.append({**item, "value": given.value, "choice": given.choice})
    if row["kind"] == "checkin" and not out:
        raise ProblemError(422, "invalid_answer", "items: a check-in answer needs its items")
    if row["kind"] != "checkin" and not (body.text or "").strip():
        raise ProblemError(422, "invalid_answer", "text: this prompt's answer is a text")
    return out


_INVALID_ANSWER: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A body that is not valid (the issues are in 'errors'), or an answer "
        "that does not fit the prompt's kind (code invalid_answer, the detail names the field): "
        "a text for a morning_prompt or an evening_reflection, items for a checkin, none for a "
        "breathing_reset or a detox_reminder (done or dismissed)"
    }
}


@router.post(
    "/{prompt_id}/answer",
    response_model=AnswerOut,
    responses={**_NOT_FOUND, **_CLOSED, **_INVALID_ANSWER, **STORE_BUSY_RESPONSE},
)
async def answer_prompt(
    prompt_id: PromptId, body: AnswerIn, storage: StorageDep, scheduler: SchedulerDep
) -> AnswerOut:
    """Answer an open prompt: a check-in its items (each once), anything else but an action a text.

    An action prompt (a breathing reset, a screen break) is not answered but done (``/done``)
    or dismissed: an answer to one is a 422 ``invalid_answer``.

    A check-in answer with stress and energy on the 1-5 scale is also a ``/api/v1/checkins``
    row (``checkin_id``), attached to the strap session running when it is answered (on a demo
    clock, any session: a strap's first, else the newest; none: no session); one without them
    is stored with the prompt only (``checkin_id`` null, ``checkin_missing`` says what it lacked).
    """
    row = await _open_prompt(storage, prompt_id)
    items = _validate_items(row, body)
    at = scheduler.clock.now()
    # on the check-ins' own 1-5 scale, the answer is also a check-in (history, trends)
    values = {
        i["key"]: i["value"]
        for i in items
        if (i.get("scale_min"), i.get("scale_max")) == (1, 5) and isinstance(i["value"], int)
    }
    is_checkin = row["kind"] == "checkin"
    missing = [key for key in CHECKIN_ITEMS if key not in values] if is_checkin else []
    checkin = (values["stress"], values["energy"]) if is_checkin and not missing else None
    # one transaction: answered, its items and its check-in row, or nothing when another
    # answer (or a dismiss, the expiry) got there first
    stored = await stored_within_cap(
        storage.answer_prompt(
            prompt_id,
            at=at,
            text=body.text,
            note=body.note,
            items=items,
            checkin=checkin,
            session_id=_running_session_id(scheduler),
        )
    )
    if not stored.stored:
        raise await _closed_meanwhile(storage, prompt_id)
    checkin_id = stored.checkin_id
    updated = await _stored(storage, prompt_id)
    answers = await asyncio.to_thread(storage.prompt_answers, [prompt_id])
    out = prompt_out(updated, answers[prompt_id])
    scheduler.publish("answered", out)
    return AnswerOut(**out.model_dump(), checkin_id=checkin_id, checkin_missing=missing)


def _running_session_id(scheduler: SchedulerDep) -> str | None:
    """The session a check-in answered now belongs to (``None`` when none fits).

    The person's: the newest running strap session. A simulated person's or a replay's only
    when the service runs on a demo clock (``manager.quiet_for_all``: the simulated day is the
    demo's, as for the quiet hours); on the real clock such a session is a demonstration, and
    the person's answer is not its.
    """
    manager = scheduler.manager
    running = sorted(
        (
            s
            for s in manager.running_sessions  # not one stopped, storing its final state
            if s.request.source.kind == PERSON_KIND or manager.quiet_for_all
        ),
        key=lambda s: (s.request.source.kind == PERSON_KIND, s.created_at),
    )
    return running[-1].id if running else None


@router.post(
    "/{prompt_id}/done",
    response_model=PromptOut,
    responses={**_NOT_FOUND, **_CLOSED, **STORE_BUSY_RESPONSE},
)
async def prompt_done(
    prompt_id: PromptId, storage: StorageDep, scheduler: SchedulerDep
) -> PromptOut:
    """Record that the person did what an action prompt asked (state ``done``).

    For a ``breathing_reset`` or a ``detox_reminder`` (a 422 ``invalid_answer`` for prompts that
    ask a question: answer those). Its time is ``answered_at`` (``response_latency_s`` counts it),
    and it is complied with, as an answered prompt is. The page's *Start* of a breathing reset
    also starts the 2-minute breathing break on the running session
    (``POST /api/v1/sessions/{id}/microbreaks/start``); this records the prompt only.
    """
    row = await _open_prompt(storage, prompt_id)
    if row["kind"] not in ACTION_KINDS:
        raise ProblemError(
            422,
            "invalid_answer",
            f"a {row['kind']} prompt is answered (POST /api/v1/prompts/{prompt_id}/answer); "
            f"done is for {' and '.join(ACTION_KINDS)}",
        )
    done = await stored_within_cap(storage.mark_prompt_done(prompt_id, at=scheduler.clock.now()))
    if not done:
        raise await _closed_meanwhile(storage, prompt_id)
    out = prompt_out(await _stored(storage, prompt_id))
    scheduler.publish("done", out)
    return out


@router.post(
    "/{prompt_id}/dismiss",
    response_model=PromptOut,
    responses={**_NOT_FOUND, **_CLOSED, **STORE_BUSY_RESPONSE},
)
async def dismiss_prompt(
    prompt_id: PromptId, storage: StorageDep, scheduler: SchedulerDep
) -> PromptOut:
    """Dismiss an open prompt without answering (counted as not answered)."""
    await _open_prompt(storage, prompt_id)
    dismissed = await stored_within_cap(
        storage.close_prompt(prompt_id, state="dismissed", at=scheduler.clock.now())
    )
    if not dismissed:
        raise await _closed_meanwhile(storage, prompt_id)
    out = prompt_out(await _stored(storage, prompt_id))
    scheduler.publish("dismissed", out)
    return out
