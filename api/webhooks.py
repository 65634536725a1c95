"""Outgoing webhooks: the day plan's prompts posted where a team already works.

Two payload shapes: Slack-compatible (``{"text": ...}``, what a Slack incoming webhook and the
many tools that copy it accept) and a Teams-compatible message with an Adaptive Card (what a
Teams "Workflows" incoming webhook accepts). A delivery is retried with exponential backoff on a
connection error, a 5xx or a 429 (``attempts`` tries, waits ``backoff_s``, 2x, 4x...; a 429's
``Retry-After`` is honoured up to :data:`MAX_RETRY_AFTER_S`, beyond it the delivery fails); every
delivery's outcome is stored (``webhook_deliveries``) so failures show in
``GET /api/v1/webhooks``. A payload holds the prompt's text only: never RR data or metrics.

The service must not become a way into the network it runs in (SSRF): a webhook URL is https
(plain http only to this machine's loopback), never a literal link-local, private or
unspecified address; at send time a host that resolves to such an address (link-local,
unspecified, multicast) is refused and the connection goes to the address checked; redirects
are not followed (a 3xx is a failure); an error is reported as a coarse category ("connection
refused", "timeout", "HTTP 500", "redirect refused"...), never the exception's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http.client
import ipaddress
import json
import logging
import socket
import ssl
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
    "MAX_RETRY_AFTER_S",
    "WEBHOOKS_KEY",
    "AddressRefusedError",
    "Delivery",
    "Reply",
    "WebhookIn",
    "WebhookKind",
    "WebhookNotifier",
    "error_category",
    "payload",
]

log = logging.getLogger(__name__)

#: Key of the configured webhooks in the ``settings`` table.
WEBHOOKS_KEY = "webhooks"

WebhookKind = Literal["slack", "teams"]

#: The longest ``Retry-After`` of a 429 that is waited for (longer: the delivery fails).
MAX_RETRY_AFTER_S = 30.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _literal_ip(host: str) -> IPAddress | None:
    """``host`` as an address if it is one.

    Including the legacy IPv4 forms a resolver accepts (``2852039166``, ``0xa9.254.169.254``,
    ``10.1``).
    """
    ip: IPAddress
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_loopback_host(host: str) -> bool:
    """``localhost`` (and its subdomains) or a literal loopback address."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = _literal_ip(name)
    return ip is not None and ip.is_loopback


def _refused_literal(ip: IPAddress) -> str | None:
    """Why a literal address in a webhook URL is refused (``None``: allowed)."""
    if ip.is_loopback:
        return None
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private or ip.is_reserved:
        return "private"
    return None


def _refused_resolved(ip: IPAddress) -> bool:
    """An address a host resolved to that a delivery never connects to."""
    return ip.is_link_local or ip.is_unspecified or ip.is_multicast


class WebhookIn(BaseModel):
    """One outgoing webhook."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[^\s]+$",
        description="The channel's incoming-webhook URL: https (http only to this machine's "
        "loopback); no link-local, private or unspecified address.",
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
        host = parts.hostname
        if parts.scheme != "https" and not _is_loopback_host(host):
            raise ValueError("must be https:// (http:// only to localhost)")
        ip = _literal_ip(host)
        if ip is not None and (why := _refused_literal(ip)) is not None:
            raise ValueError(f"must not be a {why} address")
        return v


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(kind: WebhookKind, title: str, text: str) -> dict[str, Any]:
    """The JSON body posted to a webhook of ``kind``.

    Examples
    --------
    >>> payload("slack", "Breathing reset", "Time for a 2-minute breathing reset.")
    {'text': '*Breathing reset*: Time for a 2-minute breathing reset.'}

    Slack reads ``<...>`` as links and mentions (``<!channel>`` notifies a whole channel) and
    ``&`` as the start of an entity: the text is escaped as Slack's formatting reference asks
    (``&`` ``&amp;``, ``<`` ``&lt;``, ``>`` ``&gt;``), so "R&D <3" arrives as written:

    >>> payload("slack", "Check-in", "R&D <3 <!channel>")["text"]
    '*Check-in*: R&amp;D &lt;3 &lt;!channel&gt;'

    References
    ----------
    Slack API documentation, "Formatting text for app surfaces: escaping text",
    https://api.slack.com/reference/surfaces/formatting#escaping
    """
    if kind == "slack":
        return {"text": f"*{_slack_escape(title)}*: {_slack_escape(text)}"}
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
    #: When it was stored (Unix s, real time): the ``at`` of ``GET /api/v1/webhooks``.
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer to one request: its status and a 429's ``Retry-After`` in seconds."""

    status: int
    retry_after_s: float | None = None


#: Posts a JSON body to a URL; returns the reply (raises OSError when unreachable).
Poster = Callable[[str, bytes], Awaitable[Reply]]


class AddressRefusedError(OSError):
    """The webhook's host resolved to an address a delivery never connects to."""


def _checked_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, if none of them is refused."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addrs = [str(info[4][0]) for info in infos]
    for a in addrs:
        ip = _literal_ip(a.split("%", 1)[0])
        if ip is None or _refused_resolved(ip):
            raise AddressRefusedError("address refused")
    if not addrs:
        raise socket.gaierror("no address")
    return addrs


def _connect_checked(host: str, port: int, timeout: Any) -> socket.socket:
    """A connection to the first of ``host``'s checked addresses that answers.

    Never a second look-up that could answer differently.
    """
    last: OSError | None = None
    for addr in _checked_addresses(host, port):
        try:
            return socket.create_connection((addr, port), timeout)
        except OSError as exc:
            last = exc
    assert last is not None
    raise last


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = _connect_checked(self.host, self.port, self.timeout)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = _connect_checked(self.host, self.port, self.timeout)
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]
        self.sock = context.wrap_socket(sock, server_hostname=self.host)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_CheckedHTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_CheckedHTTPSConnection, req)


def _opener() -> urllib.request.OpenerDirector:
    """An opener with no redirects, no error processing and no proxies, to checked addresses.

    No redirect handler (a 3xx comes back as it is), no error processor (every status comes
    back as a response), no proxies; connections only to checked addresses.
    """
    opener = urllib.request.OpenerDirector()
    opener.add_handler(_HTTPHandler())
    opener.add_handler(_HTTPSHandler())
    return opener


def _retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _post_blocking(url: str, body: bytes, timeout_s: float) -> Reply:
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "hrvpace-webhook"},
    )
    with _opener().open(req, timeout=timeout_s) as res:
        status = int(res.status)
        retry = _retry_after_s(res.headers.get("Retry-After")) if status == 429 else None
        return Reply(status, retry)


async def _post(url: str, body: bytes) -> Reply:
    return await asyncio.to_thread(_post_blocking, url, body, 10.0)


def error_category(exc: BaseException) -> str:
    """A coarse, stable description of a failed request, never the exception's text.

    The exception's text would tell a caller about hosts and ports of the network the service
    runs in.

    Examples
    --------
    >>> error_category(ConnectionRefusedError(111, "Connection refused"))
    'connection refused'
    """
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return error_category(exc.reason)
    if isinstance(exc, AddressRefusedError):
        return "address refused"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "TLS error"
    if isinstance(exc, http.client.HTTPException):
        return "bad response"
    if isinstance(exc, urllib.error.URLError) and "timed out" in str(exc.reason):
        return "timeout"
    return "connection failed"


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return "redirect refused"
    return f"HTTP {status}"


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
        """The stored webhooks that are valid now.

        One stored before a rule tightened (e.g. a plain-http URL off this machine) is left out
        and logged, never posted to.
        """
        stored = self.storage.get_value("settings", WEBHOOKS_KEY)
        if stored is None or not isinstance(stored[0], list):
            return []
        hooks: list[WebhookIn] = []
        for w in stored[0]:
            try:
                hooks.append(WebhookIn.model_validate(w))
            except ValueError:
                log.warning("a stored webhook is no longer accepted (see PUT /webhooks): skipped")
        return hooks

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
            wait = self.backoff_s * 2 ** (attempt - 1)
            try:
                reply = await self._post(hook.url, body)
                status = reply.status
                error = "" if 200 <= status < 300 else _status_error(status)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                status, error = None, error_category(exc)
                if error == "address refused":
                    break  # a refused address stays refused
            else:
                if 200 <= status < 300 or not _retryable(status):
                    break
                if reply.retry_after_s is not None:
                    if reply.retry_after_s > MAX_RETRY_AFTER_S:
                        break  # not retried before the receiver asked: failed for now
                    wait = max(wait, reply.retry_after_s)
            if attempt < tries:
                await asyncio.sleep(wait)
        ok = status is not None and 200 <= status < 300
        if not ok:
            # the URL's path is the channel's secret: log the host only
            host = urllib.parse.urlsplit(hook.url).hostname
            log.warning(
                "webhook to %s (%s) failed after %d tries: %s", host, hook.kind, attempt, error
            )
        at = time.time()
        await asyncio.wrap_future(
            self.storage.add_webhook_delivery(
                url=hook.url,
                kind=hook.kind,
                prompt_id=prompt_id,
                at=at,
                ok=ok,
                attempts=attempt,
                status=status,
                error=error,
            )
        )
        return Delivery(hook.url, hook.kind, ok, attempt, status, error, at)

    async def deliver_all(
        self, title: str, text: str, *, prompt_id: int | None = None, attempts: int | None = None
    ) -> list[Delivery]:
        """Deliver a message to every configured webhook at once; the outcome of each."""
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
        """Cancel the deliveries still running in the background and wait for them."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
