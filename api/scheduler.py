"""The day plan's scheduler: a task of the service that fires prompts on the plan clock.

Every ``interval_s`` (real seconds) it reads the plan clock (:class:`api.dayplan.Clock`),
plans today's and yesterday's prompts (:func:`breathing.dayplan.planned_prompts`) plus the
signal-contingent check-ins raised by new micro-break flags and ended breaks, and asks
:func:`breathing.dayplan.decide` about each prompt not yet stored (a prompt that had already
expired when the service started was never offered and is not recorded). A prompt sent is stored
first, then published as a ``prompt`` message on every live WebSocket and, when planned
(time-based, not a flag's or a break's check-in), posted to the webhooks; a skipped or missed
prompt is stored with its reason; a sent prompt past its expiry becomes ``expired``. Break
times are stored in real time and mapped onto the plan clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import time as dtime
from datetime import timedelta
from typing import Literal

from api.dayplan import Clock, PromptOut, load_plan, prompt_out
from api.messages import PromptMessage
from api.sessions import SessionManager
from api.storage import Row, Storage
from api.webhooks import WebhookNotifier
from breathing.dayplan import (
    DayContext,
    DayPlan,
    PlannedPrompt,
    decide,
    local_datetime,
    planned_prompts,
    signal_checkin,
)

__all__ = ["KIND_TITLES", "PromptScheduler"]

log = logging.getLogger(__name__)

#: A prompt's title on the page, in a notification and in a webhook message.
KIND_TITLES = {
    "morning_prompt": "Good morning",
    "breathing_reset": "Breathing reset",
    "detox_reminder": "Screen break",
    "evening_reflection": "End of the day",
    "checkin": "Check-in",
}

_STATE = {"send": "sent", "skip": "skipped", "expire": "expired"}


class PromptScheduler:
    """Evaluates the day plan against ``clock`` and delivers what is due.

    Parameters
    ----------
    storage, manager
        The database and the live sessions (whose sockets get the ``prompt`` messages).
    clock
        The plan's wall clock (real in production).
    webhooks
        Posts sent prompts to the configured webhooks.
    plan
        The day plan (read from storage when omitted: blocking).
    interval_s
        Real seconds between evaluations.
    """

    def __init__(
        self,
        storage: Storage,
        manager: SessionManager,
        clock: Clock,
        *,
        webhooks: WebhookNotifier,
        plan: DayPlan | None = None,
        interval_s: float = 1.0,
    ) -> None:
        self.storage = storage
        self.manager = manager
        self.clock = clock
        self.webhooks = webhooks
        self.interval_s = interval_s
        self.plan: DayPlan = plan if plan is not None else load_plan(storage)
        self._signal: dict[str, PlannedPrompt] = {}
        self._last_event_id: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        #: Held from a read of :attr:`plan` to the save of a plan made from it (``PUT
        #: /dayplan``, the micro-break settings' quiet hours): no change saved in between is lost.
        self.plan_lock = asyncio.Lock()
        #: Prompts that expired before the service ran were never offered: not recorded as
        #: missed (compliance counts what a person was asked, not the service's downtime).
        self.started_s = clock.now()

    def set_plan(self, plan: DayPlan) -> None:
        """Use ``plan`` from the next evaluation on."""
        self.plan = plan

    def plan_day(self) -> tuple[dtime, tuple[tuple[dtime, dtime], ...]]:
        """The plan's local time now (its zone, on the plan clock) and its quiet hours.

        What a session's micro-break flags are quiet by (:class:`api.pipeline.MicroBreaks`):
        the same quiet hours, zone and clock as the prompts, so a demo clock
        (``hrvpace demo --start``) and a plan in another zone than the machine's hold flags
        back exactly when they hold prompts back.
        """
        plan = self.plan
        local = local_datetime(plan, self.clock.now()).time()
        return local, tuple((q.start, q.end) for q in plan.quiet_hours)

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start evaluating the plan in a background task."""
        self._task = asyncio.create_task(self._run(), name="dayplan-scheduler")

    async def stop(self) -> None:
        """Cancel the background task and close the webhook notifier."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.webhooks.close()

    async def _run(self) -> None:
        await asyncio.sleep(self.interval_s)  # let the service's own startup go first
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad tick never ends the scheduler (nor the service)
                log.exception("day plan scheduler: evaluation failed")
            await asyncio.sleep(self.interval_s)

    # -- one evaluation -----------------------------------------------------------------------

    def _breaks(self, plan: DayPlan) -> DayContext:
        """Break state from the stored micro-break events.

        New flags and ended breaks become signal-contingent check-ins.
        """
        rows = self.storage.recent_break_events(limit=200)
        active = False
        last_end: float | None = None
        for r in rows:  # newest first
            if r["kind"] == "break_started":
                # a break left open by a session that died does not hold prompts forever
                active = self.clock.now() - self.clock.from_real(float(r["recorded_at"])) < (
                    3 * 3600
                )
                break
            if r["kind"] == "break_ended":
                last_end = self.clock.from_real(float(r["recorded_at"]))
                break
        newest = max((int(r["id"]) for r in rows), default=0)
        if self._last_event_id is None:
            self._last_event_id = newest  # events before the service started are history
        for r in sorted(rows, key=lambda r: int(r["id"])):
            if int(r["id"]) <= self._last_event_id or r["kind"] == "break_started":
                continue
            trigger: Literal["flag", "break"] = "flag" if r["kind"] == "micro_break" else "break"
            p = signal_checkin(
                plan,
                event_s=self.clock.from_real(float(r["recorded_at"])),
                trigger=trigger,
                last_checkin_s=self._last_checkin_s(),
            )
            if p is not None:
                self._signal[p.key] = p
        self._last_event_id = max(self._last_event_id, newest)
        return DayContext(break_active=active, last_break_end_s=last_end)

    def _last_checkin_s(self) -> float | None:
        stored = self.storage.last_checkin_due()
        pending = [p.due_s for p in self._signal.values()]
        times = [t for t in [stored, *pending] if t is not None]
        return max(times) if times else None

    async def tick(self) -> list[PromptOut]:
        """Evaluate the plan once; returns the prompts sent."""
        async with self._lock:
            return await self._tick()

    async def _tick(self) -> list[PromptOut]:
        now = self.clock.now()
        plan = self.plan
        # one thread hop for the tick's reads: the scheduler stays a light neighbour of the
        # sessions' pipelines on the shared executor
        ctx, known, open_rows = await asyncio.to_thread(self._read_state, plan, now)
        today = local_datetime(plan, now).date()
        candidates = [
            *planned_prompts(plan, today - timedelta(days=1)),
            *planned_prompts(plan, today),
            *self._signal.values(),
        ]
        sent: list[PromptOut] = []
        items = [
            {
                "key": c.key,
                "label": c.label,
                "scale_min": c.scale_min,
                "scale_max": c.scale_max,
                "anchor_low": c.anchor_low,
                "anchor_high": c.anchor_high,
                "choices": list(c.choices),
            }
            for c in plan.checkin_items
        ]
        # a check-in still open (not yet expired at this tick) holds back another (rule 5)
        ctx = dataclasses.replace(
            ctx,
            checkin_open=any(
                r["kind"] == "checkin" and float(r["expires_at"]) > now for r in open_rows
            ),
        )
        for p in sorted(candidates, key=lambda p: p.due_s):
            if p.expires_s <= self.started_s:
                continue
            if p.key in known:
                self._signal.pop(p.key, None)
                continue
            d = decide(plan, p, now_s=now, ctx=ctx)
            if d.action == "wait":
                continue
            self._signal.pop(p.key, None)
            new_id = await asyncio.wrap_future(
                self.storage.add_prompt(
                    key=p.key,
                    kind=p.kind,
                    trigger=p.trigger,
                    text=p.text,
                    state=_STATE[d.action],
                    due_at=p.due_s,
                    expires_at=p.expires_s,
                    at=now,
                    reason=d.reason,
                    items=items if p.kind == "checkin" else (),
                )
            )
            if d.action != "send" or not new_id:
                continue
            row = await asyncio.to_thread(self.storage.get_prompt, int(new_id))
            if row is None:
                continue
            out = prompt_out(row)
            if out.kind == "checkin":
                ctx = dataclasses.replace(ctx, checkin_open=True)
            sent.append(out)
            self.publish("sent", out)
            if out.trigger == "planned":
                # a check-in raised by a stress flag or a break stays on the page and in
                # notifications: on a team channel it would tell colleagues this person's
                # physiology was just flagged
                self.webhooks.notify(KIND_TITLES[out.kind], out.text, prompt_id=out.id)
        await self._expire(now, open_rows)
        return sent

    def _read_state(self, plan: DayPlan, now: float) -> tuple[DayContext, set[str], list[Row]]:
        ctx = self._breaks(plan)
        known = self.storage.prompt_keys(since_due=now - 3 * 86400)
        open_rows = self.storage.prompts(state="sent", since=now - 3 * 86400)
        return ctx, known, open_rows

    async def _expire(self, now: float, open_rows: list[Row]) -> None:
        due = [r for r in open_rows if r["expires_at"] <= now]
        if not due:
            return
        await asyncio.wrap_future(self.storage.expire_prompts(now=now))
        for r in due:
            row = await asyncio.to_thread(self.storage.get_prompt, int(r["id"]))
            # answered (or done, dismissed) between the read and the update: it did not expire
            if row is not None and row["state"] == "expired":
                self.publish("expired", prompt_out(row))

    def publish(
        self, event: Literal["sent", "answered", "done", "dismissed", "expired"], prompt: PromptOut
    ) -> None:
        """A ``prompt`` message on every running session's live socket (already stored).

        Not on a stopped one's still storing its final state: nothing after its final status.
        """
        for live in self.manager.running_sessions:
            hub = live.hub
            hub.publish_text(
                PromptMessage(**hub.next_header(), event=event, prompt=prompt).model_dump_json()
            )
