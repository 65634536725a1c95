"""Outgoing webhooks: the day plan's prompts posted where a team already works.

Two payload shapes: Slack-compatible (``{"text": ...}``, what a Slack incoming webhook and the
many tools that copy it accept) and a Teams-compatible message with an Adaptive Card (what a
Teams "Workflows" incoming webhook accepts). A delivery is retried with exponential backoff on a
connection error, a 5xx or a 429 (``attempts`` tries, waits ``backoff_s``, 2x, 4x...); every
delivery's outcome is stored (``webhook_deliveries``) so failures show in
``GET /api/v1/webhooks``. A payload holds the prompt's text only: never RR data or metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.storage import Storage

__all__ = [
    "WEBHOOKS_KEY",
    "Delivery",
    "WebhookIn",
    "WebhookKind",
    "WebhookNotifier",
    "payload",
]

log = logging.getLogger(__name__)

#: Key of the configured webhooks in the ``settings`` table.
WEBHOOKS_KEY = "webhooks"

WebhookKind = Literal["slack", "teams"]


class WebhookIn(BaseModel):
    """One outgoing webhook."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[^\s]+$",
        description="The channel's incoming-webhook URL (http or https).",
    )
    kind: WebhookKind = Field(description='slack: {"text": ...}; teams: an Adaptive Card.')

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        """A URL with a host, printable ASCII only (what an HTTP client can send)."""
        if not v.isascii() or not v.isprintable():
            raise ValueError("must be printable ASCII (percent-encode anything else)")
        parts = urllib.parse.urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError("has a bad port") from None
        return v


def payload(kind: WebhookKind, title: str, text: str) -> dict[str, Any]:
    """The JSON body posted to a webhook of ``kind``.

    Examples
    --------
    >>> payload("slack", "Breathing reset", "Time for a 2-minute breathing reset.")
    {'text': '*Breathing reset*: Time for a 2-minute breathing reset.'}
    """
    if kind == "slack":
        return {"text": f"*{title}*: {text}"}
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium"},
                        {"type": "TextBlock", "text": text, "wrap": True},
                    ],
                },
            }
        ],
    }


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one delivery (after its retries)."""

    url: str
    kind: WebhookKind
    ok: bool
    attempts: int
    status: int | None
    error: str


#: Posts a JSON body to a URL; returns the HTTP status (raises OSError when unreachable).
Poster = Callable[[str, bytes], Awaitable[int]]


def _post_blocking(url: str, body: bytes, timeout_s: float) -> int:
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "hrvpace-webhook"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as res:
            return int(res.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


async def _post(url: str, body: bytes) -> int:
    return await asyncio.to_thread(_post_blocking, url, body, 10.0)


def _retryable(status: int) -> bool:
    return status >= 500 or status == 429


class WebhookNotifier:
    """Delivers messages to the configured webhooks and records each outcome.

    Parameters
    ----------
    storage
        Where the configuration is read and deliveries are recorded.
    attempts
        Tries per delivery (first + retries).
    backoff_s
        Wait before the first retry; doubled before each next one.
    post
        Sends one request (tests may hand in their own; the default uses :mod:`urllib`).
    enabled
        ``False``: :meth:`notify` posts nothing (a demo on a fake clock: its prompts are not
        real and must not reach a team channel).
    """

    def __init__(
        self,
        storage: Storage,
        *,
        attempts: int = 4,
        backoff_s: float = 1.0,
        post: Poster = _post,
        enabled: bool = True,
    ) -> None:
        self.storage = storage
        self.enabled = enabled
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._post = post
        self._tasks: set[asyncio.Task[Any]] = set()

    def configured(self) -> list[WebhookIn]:
        stored = self.storage.get_value("settings", WEBHOOKS_KEY)
        if stored is None or not isinstance(stored[0], list):
            return []
        return [WebhookIn.model_validate(w) for w in stored[0]]

    async def deliver(
        self,
        hook: WebhookIn,
        title: str,
        text: str,
        *,
        prompt_id: int | None,
        attempts: int | None = None,
    ) -> Delivery:
        """Post one message, retrying (``attempts``, default the notifier's) with backoff."""
        tries = attempts or self.attempts
        body = json.dumps(payload(hook.kind, title, text)).encode()
        status: int | None = None
        error = ""
        attempt = 0
        for attempt in range(1, tries + 1):
            try:
                status = await self._post(hook.url, body)
                error = "" if 200 <= status < 300 else f"HTTP {status}"
            except (OSError, ValueError, http.client.HTTPException) as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"[:300]
            if status is not None and (200 <= status < 300 or not _retryable(status)):
                break
            if attempt < tries:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        ok = status is not None and 200 <= status < 300
        if not ok:
            # the URL's path is the channel's secret: log the host only
            host = urllib.parse.urlsplit(hook.url).hostname
            log.warning(
                "webhook to %s (%s) failed after %d tries: %s", host, hook.kind, attempt, error
            )
        await asyncio.wrap_future(
            self.storage.add_webhook_delivery(
                url=hook.url,
                kind=hook.kind,
                prompt_id=prompt_id,
                at=time.time(),
                ok=ok,
                attempts=attempt,
                status=status,
                error=error,
            )
        )
        return Delivery(hook.url, hook.kind, ok, attempt, status, error)

    async def deliver_all(
        self, title: str, text: str, *, prompt_id: int | None = None, attempts: int | None = None
    ) -> list[Delivery]:
        hooks = await asyncio.to_thread(self.configured)
        return list(
            await asyncio.gather(
                *(
                    self.deliver(h, title, text, prompt_id=prompt_id, attempts=attempts)
                    for h in hooks
                )
            )
        )

    def notify(self, title: str, text: str, *, prompt_id: int | None) -> None:
        """Deliver in the background (a slow channel never holds up the scheduler)."""
        if not self.enabled:
            return
        task = asyncio.create_task(self.deliver_all(title, text, prompt_id=prompt_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
