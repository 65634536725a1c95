"""Outgoing webhooks (Slack- or Teams-compatible).

``GET``/``PUT /api/v1/webhooks`` and ``POST /api/v1/webhooks/test``. See :mod:`api.webhooks`
for payloads and retries.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.errors import STORE_BUSY_RESPONSE
from api.routes._deps import StorageDep
from api.sessions import stored_within_cap
from api.webhooks import WEBHOOKS_KEY, WebhookIn, WebhookKind, WebhookNotifier

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

#: Tries of a test message (a first try and one retry).
TEST_ATTEMPTS = 2


def get_notifier(request: Request) -> WebhookNotifier:
    """The service's webhook notifier (a route dependency)."""
    notifier: WebhookNotifier = request.app.state.prompts.webhooks
    return notifier


NotifierDep = Annotated[WebhookNotifier, Depends(get_notifier)]


class DeliveryOut(BaseModel):
    """One delivery to a webhook and its outcome."""

    url: str
    kind: WebhookKind
    at: float | None = Field(default=None, description="Unix seconds (real time).")
    ok: bool
    attempts: int
    status: int | None = Field(description="The last HTTP status; null when unreachable.")
    error: str
    prompt_id: int | None = None


class WebhookOut(BaseModel):
    """A configured webhook with its last delivery and recent failures."""

    url: str
    kind: WebhookKind
    last_delivery: DeliveryOut | None = None
    failures: int = Field(description="Failed deliveries among the recent ones.")


class WebhooksOut(BaseModel):
    """The configured webhooks and the latest deliveries."""

    webhooks: list[WebhookOut]
    deliveries: list[DeliveryOut] = Field(description="The 50 latest deliveries, newest first.")


class WebhooksIn(BaseModel):
    """The webhooks to post sent prompts to (replaces the stored list)."""

    webhooks: list[WebhookIn] = Field(max_length=20)


class TestOut(BaseModel):
    """The outcome of a test message to each webhook."""

    deliveries: list[DeliveryOut]


async def _state(storage: StorageDep, notifier: WebhookNotifier) -> WebhooksOut:
    hooks = await asyncio.to_thread(notifier.configured)
    rows = await asyncio.to_thread(storage.webhook_deliveries, limit=50)
    deliveries = [
        DeliveryOut(
            url=r["url"],
            kind=r["kind"],
            at=r["at"],
            ok=bool(r["ok"]),
            attempts=r["attempts"],
            status=r["status"],
            error=r["error"],
            prompt_id=r["prompt_id"],
        )
        for r in rows
    ]
    out: list[WebhookOut] = []
    for h in hooks:
        mine = [d for d in deliveries if d.url == h.url and d.kind == h.kind]
        out.append(
            WebhookOut(
                url=h.url,
                kind=h.kind,
                last_delivery=mine[0] if mine else None,
                failures=sum(not d.ok for d in mine),
            )
        )
    return WebhooksOut(webhooks=out, deliveries=deliveries)


@router.get("", response_model=WebhooksOut)
async def get_webhooks(storage: StorageDep, notifier: NotifierDep) -> WebhooksOut:
    """The configured webhooks and their recent deliveries (failures included)."""
    return await _state(storage, notifier)


@router.put("", response_model=WebhooksOut, responses=STORE_BUSY_RESPONSE)
async def put_webhooks(body: WebhooksIn, storage: StorageDep, notifier: NotifierDep) -> WebhooksOut:
    """Replace the list of webhooks a sent prompt is posted to."""
    future = storage.put_value(
        "settings",
        WEBHOOKS_KEY,
        [w.model_dump() for w in body.webhooks],
        updated_at=time.time(),
    )
    assert future is not None
    await stored_within_cap(future)
    return await _state(storage, notifier)


@router.post("/test", response_model=TestOut)
async def test_webhooks(notifier: NotifierDep) -> TestOut:
    """Send a test message to each webhook now and report each outcome.

    One retry after a failure, so the answer comes within seconds; prompts get the full
    retries.
    """
    done = await notifier.deliver_all(
        "hrvpace",
        "Test message: prompts of your day plan will arrive here.",
        prompt_id=None,
        attempts=TEST_ATTEMPTS,
    )
    return TestOut(
        deliveries=[
            DeliveryOut(
                url=d.url,
                kind=d.kind,
                at=d.at,
                ok=d.ok,
                attempts=d.attempts,
                status=d.status,
                error=d.error,
            )
            for d in done
        ]
    )
