"""ASGI middleware at a service's edge: Host check, token gate, body limits, security headers.

The first three answer with ``application/problem+json`` (:mod:`webconventions.problems`) and
run before any route reads the request.

- :class:`HostCheckMiddleware`: the ``Host`` header must be one of ``allowed_hosts`` (DNS
  rebinding protection); 400 ``invalid_host`` otherwise (a WebSocket is refused at handshake).
- :class:`TokenGateMiddleware`: a request to a protected API path without the right bearer
  token gets 401 ``unauthorized`` before its body is read (the routes' own token dependency
  still checks too): nobody without the token can make the service read a 32 MiB upload.
- :class:`OriginsMiddleware`: CORS for the browser origins a service lists (Starlette's
  ``CORSMiddleware``), but a preflight it refuses is a problem too: a wrong origin the 403
  ``origin_not_allowed`` the token gate gives when no origin is listed
  (:func:`origin_refusal`, one answer for both), a method or header the API does not take
  a 400 ``bad_request`` naming it; Starlette answers both with a plain-text 400.
- :class:`BodyLimitMiddleware`: a request whose ``Content-Length`` is over its limit gets 413
  ``body_too_large`` without a byte of the body being read; a body without a length (chunked)
  is counted as it arrives and answered 413 as soon as it passes the limit, the route then sees
  the client as gone. So no route ever holds more than the limit of one request in memory.
- :class:`MediaTypeMiddleware`: a request body under the API whose ``Content-Type`` is not one
  its route reads (JSON: ``application/json`` or ``application/*+json``; multipart only on the
  upload routes), or that has none, gets 415 ``unsupported_media_type`` naming the type it has
  and the one to use, before it is read (FastAPI would read a JSON body sent as ``text/plain``
  or without a type as bytes and answer 422 "Input should be a valid dictionary").
- :class:`SecurityHeadersMiddleware`: every HTTP answer says ``X-Content-Type-Options:
  nosniff`` (a browser takes the declared type: a JSON or CSV answer is never run as a script
  or a page), ``X-Frame-Options: DENY`` and ``Content-Security-Policy: frame-ancestors 'none'``
  (no other site shows the page or the docs in a frame to trick clicks on them). Only
  ``frame-ancestors``: a script policy is left to each page. A 500, answered by Starlette's
  error middleware outside this one, gets them from the problem handler
  (:mod:`webconventions.securityheaders`). Answers under a prefix it is given (an API's)
  also say ``Cache-Control: no-store``: a browser keeps no copy of what a token opened.
"""

from __future__ import annotations

import email.message
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webconventions.hosts import host_of, host_pattern, is_wildcard_address
from webconventions.problems import problem_response
from webconventions.securityheaders import SECURITY_HEADERS
from webconventions.tokens import token_matches

__all__ = [
    "SECURITY_HEADERS",
    "BodyLimitMiddleware",
    "HostCheckMiddleware",
    "MediaTypeMiddleware",
    "OriginsMiddleware",
    "SecurityHeadersMiddleware",
    "TokenGateMiddleware",
    "host_of",
    "host_pattern",
    "is_json_media_type",
    "is_preflight",
    "is_wildcard_address",
    "origin_refusal",
    "route_path",
]

log = logging.getLogger(__name__)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def is_preflight(scope: Scope) -> bool:
    """Whether an HTTP request is a browser's CORS preflight (as Starlette's CORS tells one).

    ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``.
    """
    return (
        scope.get("method") == "OPTIONS"
        and _header(scope, b"origin") is not None
        and _header(scope, b"access-control-request-method") is not None
    )


def origin_refusal(
    origin: str, fix: str, *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The 403 ``origin_not_allowed`` for a browser origin a service does not let in.

    One answer wherever an origin is refused (the token gate with no origin listed,
    :class:`OriginsMiddleware` with others listed, a WebSocket handshake's denial); the caller
    logs it (at INFO, the origin and the path only: no health data).

    Parameters
    ----------
    origin
        The ``Origin`` the request sent (cut to 200 characters in the detail).
    fix
        What lets an origin in (the setting); empty: the service takes no cross-origin calls.
    headers
        Extra response headers (``Vary``).
    """
    return problem_response(403, "origin_not_allowed", _origin_detail(origin, fix), headers=headers)


def _origin_detail(origin: str, fix: str) -> str:
    why = fix or "this service takes no calls from other origins"
    return f"origin {origin[:200]!r} is not allowed to call this API from a browser: {why}"


def _refuse_preflight(origin: str, fix: str, headers: Mapping[str, str] | None = None) -> Response:
    """:func:`origin_refusal`, logged at INFO: an origin and the setting, no health data."""
    log.info("CORS preflight refused: %s", _origin_detail(origin, fix))
    return origin_refusal(origin, fix, headers=headers)


#: The CORS-safelisted request headers (Fetch standard), which Starlette's CORS always allows.
_SAFELISTED = ("accept", "accept-language", "content-language", "content-type")


def _content_length(value: str) -> int | None:
    """A ``Content-Length`` value as a number, ``None`` unless it is ASCII digits (RFC 9110)."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


class HostCheckMiddleware:
    """Refuse requests whose ``Host`` is not allowed (``*`` allows any, ``*.x`` subdomains).

    Parameters
    ----------
    app
        The application inside.
    allowed_hosts
        Host names (no port), ``*`` or ``*.example.org`` patterns.
    fix
        What lets another host in, said in the 400's detail after the refused name (the
        setting to add it to: ``"add it to HRVPACE_ALLOWED_HOSTS (...)"``).
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str], fix: str = "") -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed_hosts]
        self.fix = fix

    def allows(self, host: str) -> bool:
        """Whether ``host`` (no port, lower case) matches an allowed pattern.

        ``""`` (no ``Host``, or a malformed one: :func:`host_of`) only by ``*``, any request:
        never by an empty entry or the ``.`` of ``*.``, which :func:`host_pattern` refuses
        and this does not rely on (review of hostsdoc: a soft hyphen was listed as ``""``).
        """
        if not host:
            return "*" in self.allowed
        for pattern in self.allowed:
            if pattern == "*" or host == pattern:
                return True
            suffix = pattern[1:]  # ".example.org" of "*.example.org"
            if pattern[:2] == "*." and len(host) > len(suffix) > 1 and host.endswith(suffix):
                return True  # a subdomain: a label before the suffix (".example.org" is none)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an allowed request on; answer any other 400 (close a WebSocket 1008)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"host")
        host = host_of(header or "")
        if self.allows(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "invalid host"})
            return
        await problem_response(400, "invalid_host", self._refusal(header, host))(
            scope, receive, send
        )

    def _refusal(self, header: str | None, host: str) -> str:
        """The 400's detail: a Host missing, empty or malformed, or a name not allowed.

        Only a well-formed name not listed gets ``fix`` (how to allow it; code review rev7,
        finding 6: an empty or malformed Host was called missing, with "add it to ...").
        Well-formed: a name the setting would list as it is (:func:`host_pattern`), so not
        a pattern, and not a spelling the setting refuses or rewrites (``127.1``, raw
        non-ASCII bytes): listing those would not let the header in.
        """
        send_one = "send 'Host: <name>[:port]'"
        if header is None:
            return f"Host header missing: {send_one}"
        if not header.strip(" \t"):  # as host_of strips it
            return f"Host header empty: {send_one}"
        try:
            well_formed = "*" not in host and host_pattern(host) == host
        except ValueError:
            well_formed = False
        if not well_formed:
            return f"Host header {header[:100]!r} malformed: {send_one}"
        detail = f"Host {host[:100]!r} not allowed"
        return f"{detail}: {self.fix}" if self.fix else detail


def _media_type(content_type: str) -> str:
    """The ``type/subtype`` of a ``Content-Type`` value, parsed as FastAPI parses it."""
    message = email.message.Message()
    message["content-type"] = content_type
    return message.get_content_type()


def is_json_media_type(content_type: str) -> bool:
    """Whether FastAPI reads a body of this ``Content-Type`` as JSON.

    ``application/json`` and ``application/<anything>+json`` (``application/merge-patch+json``),
    parameters allowed; not ``text/x+json``: FastAPI passes that on as bytes.
    """
    media = _media_type(content_type)
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class MediaTypeMiddleware:
    """415 for a request under ``prefix`` that has a body of a media type its route cannot read.

    A request with a body (``Content-Length`` above 0, or chunked) is answered 415
    ``unsupported_media_type`` before its body is read unless its ``Content-Type`` is JSON
    (:func:`is_json_media_type`) or, on a route listed in ``route_types``, one of that route's
    types. A body without a ``Content-Type`` (or an empty one) is 415 too: FastAPI reads it as
    bytes, not JSON, and answers 422 "Input should be a valid dictionary". A request without a
    body is passed on.

    Parameters
    ----------
    app
        The application inside.
    prefix
        Only paths under it are checked (the API; the page's files take no bodies).
    route_types
        ``{(method, path): media types}`` for routes that read another type instead of JSON
        (``multipart/form-data`` for an upload).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        route_types: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.route_types = {
            (method.upper(), path.rstrip("/")): tuple(m.lower() for m in types)
            for (method, path), types in (route_types or {}).items()
        }

    def types_for(self, scope: Scope) -> tuple[str, ...] | None:
        """The media types the request's route reads instead of JSON (``None``: JSON)."""
        key = (str(scope.get("method", "")).upper(), route_path(scope).rstrip("/"))
        return self.route_types.get(key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 415 for a body of another media type or of none; pass everything else on."""
        if scope["type"] != "http" or not route_path(scope).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        content_type = (_header(scope, b"content-type") or "").strip()
        length = _header(scope, b"content-length")
        chunked = "chunked" in (_header(scope, b"transfer-encoding") or "").lower()
        has_body = chunked or (length is not None and _content_length(length) != 0)
        types = self.types_for(scope)
        if not has_body or (
            content_type
            and (
                _media_type(content_type) in types
                if types is not None
                else is_json_media_type(content_type)
            )
        ):
            await self.app(scope, receive, send)
            return
        media = content_type.split(";", 1)[0].strip()[:100]
        use = "JSON with 'Content-Type: application/json'" if types is None else " or ".join(types)
        response = problem_response(
            415,
            "unsupported_media_type",
            f"the body is {media or 'of no media type (no Content-Type)'}; send {use}",
            title="Unsupported media type",
        )
        await response(scope, receive, send)


class TokenGateMiddleware:
    """401 for HTTP requests under ``prefix`` (but ``public``) without ``Bearer <token>``.

    Answers before the route (and so before its body) is reached. WebSockets check their own
    token (query or subprotocol) in the route. A CORS preflight under ``prefix`` that reaches
    this (public paths included; no :class:`OriginsMiddleware` outside it answers it: no
    browser origin is allowed) is a 403 ``origin_not_allowed`` naming the origin and
    ``origins_fix`` (:func:`origin_refusal`), not a 401 about the token a preflight never
    carries nor a 405 from the route.

    Parameters
    ----------
    app
        The application inside.
    token
        The bearer token every protected request must carry.
    prefix
        Paths under this prefix are protected.
    public
        Paths under ``prefix`` that are not (and the paths below them).
    token_hint
        Where the token is found, said in the 401's detail after the missing-token sentence.
    origins_fix
        What lets a browser origin in (``"list it in HRVPACE_ALLOWED_ORIGINS"``), said in a
        refused preflight's detail; empty: the service takes no cross-origin calls.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        prefix: str,
        public: Sequence[str] = (),
        token_hint: str = "",
        origins_fix: str = "",
    ) -> None:
        self.app = app
        self.token = token
        self.prefix = prefix
        self.public = {p.rstrip("/") for p in public}
        self.token_hint = token_hint
        self.origins_fix = origins_fix

    def _protected(self, path: str) -> bool:
        path = path.rstrip("/")
        if not path.startswith(self.prefix) or path in self.public:
            return False
        return not any(path.startswith(p + "/") for p in self.public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request on if it is public or carries the token; answer any other 401."""
        path = route_path(scope)
        if scope["type"] == "http" and path.startswith(self.prefix) and is_preflight(scope):
            # public paths too: a preflight here is from an origin nothing let in (a 405
            # from the route would not say so)
            refusal = _refuse_preflight(_header(scope, b"origin") or "", self.origins_fix)
            await refusal(scope, receive, send)
            return
        if scope["type"] != "http" or not self._protected(path):
            await self.app(scope, receive, send)
            return
        auth = _header(scope, b"authorization") or ""
        scheme, _, given = auth.partition(" ")
        if scheme.lower() == "bearer" and token_matches(given.strip(), self.token):
            await self.app(scope, receive, send)
            return
        detail = "missing or wrong token: send 'Authorization: Bearer <token>'"
        response = problem_response(
            401,
            "unauthorized",
            f"{detail}; {self.token_hint}" if self.token_hint else detail,
            headers={"WWW-Authenticate": "Bearer", "Connection": "close"},
        )
        await response(scope, receive, send)


class OriginsMiddleware:
    """Starlette's CORS for ``allow_origins``, with refused preflights answered as problems.

    A plain Starlette ``CORSMiddleware`` (built with its documented constructor only) answers
    every request; when it refuses a preflight (its plain-text 400, "Disallowed CORS origin")
    the answer is replaced: a wrong origin gets the 403 ``origin_not_allowed`` of
    :func:`origin_refusal` (the answer the token gate gives when no origin is listed: one
    status and shape for every refused origin), and an allowed origin asking for a method, a
    header or a private-network request the API does not take a 400 ``bad_request`` naming
    it and those it takes (Starlette's own text when neither is the cause). Both keep
    Starlette's ``Vary``. Simple (non-preflight) requests are Starlette's: a wrong origin's
    answer lacks ``Access-Control-Allow-Origin``, so the browser keeps it from the page.

    Parameters
    ----------
    app
        The application inside.
    allow_origins, allow_methods, allow_headers, expose_headers
        As for Starlette's ``CORSMiddleware`` (no credentials: the token is a header). The
        origins are compared as given: pass them normalised
        (:func:`webconventions.hosts.origin_pattern`), as a browser sends its ``Origin``.
    origins_fix
        What lets an origin in (the setting), said in the 403's detail.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str],
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        expose_headers: Sequence[str] = (),
        origins_fix: str = "",
    ) -> None:
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
        )
        self.allow_origins = frozenset(allow_origins)
        self.allow_methods = tuple(allow_methods)
        # the headers a preflight may ask for: those given and the CORS-safelisted ones
        self.allow_headers = tuple(sorted({h.lower() for h in (*allow_headers, *_SAFELISTED)}))
        self.origins_fix = origins_fix

    def origin_allowed(self, origin: str) -> bool:
        """Whether a preflight's ``Origin`` is one of ``allow_origins`` (or they hold ``*``)."""
        return "*" in self.allow_origins or origin in self.allow_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's CORS; a preflight it refuses answered with a problem instead."""
        if scope["type"] != "http" or not is_preflight(scope):
            await self.cors(scope, receive, send)
            return
        refused: dict[str, Any] = {}

        async def catch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                refused["headers"] = Headers(raw=list(message.get("headers", [])))
            elif "headers" in refused and message["type"] == "http.response.body":
                refused["body"] = refused.get("body", b"") + message.get("body", b"")
            else:
                await send(message)

        await self.cors(scope, receive, catch)
        if "headers" not in refused:
            return
        vary = {"Vary": refused["headers"].get("vary", "Origin")}
        origin = _header(scope, b"origin") or ""
        if not self.origin_allowed(origin):
            response = _refuse_preflight(origin, self.origins_fix, headers=vary)
        else:
            said = bytes(refused.get("body", b"")).decode("utf-8", "replace")
            detail = f"CORS preflight from {origin[:200]!r} refused: " + self._why(scope, said)
            log.info("CORS preflight refused: %s", detail)
            response = problem_response(400, "bad_request", detail, headers=vary)
        await response(scope, receive, send)

    def _why(self, scope: Scope, said: str) -> str:
        """What of an allowed origin's preflight the API does not take, else Starlette's text."""
        why = []
        method = _header(scope, b"access-control-request-method") or ""
        if method not in self.allow_methods:
            why.append(f"method {method[:20]!r} (takes {', '.join(self.allow_methods)})")
        asked = _header(scope, b"access-control-request-headers")
        if asked is not None:
            # as Starlette splits them: an empty item (a trailing comma) is refused too
            others = [h.strip() for h in asked.lower().split(",")]
            others = [h for h in others if h not in self.allow_headers]
            if others and "*" not in self.allow_headers:
                shown = ", ".join(repr(h) for h in others)[:200]
                why.append(f"header(s) {shown} (takes {', '.join(self.allow_headers)})")
        if _header(scope, b"access-control-request-private-network") is not None:
            why.append("a private-network request (the service allows none)")
        return "; ".join(why) or (said.strip()[:200] or "Disallowed CORS preflight")


class BodyLimitMiddleware:
    """413 for request bodies over their limit, before they are read whole.

    Parameters
    ----------
    app
        The application inside.
    max_body_bytes
        Limit of every request body (the JSON bodies).
    setting
        The name of the setting that holds ``max_body_bytes``, said in the 413's detail.
    route_limits
        ``{(method, path): (limit, setting name)}`` for routes with their own limit (the
        recording upload).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        setting: str,
        route_limits: Mapping[tuple[str, str], tuple[int, str]] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.setting = setting
        self.route_limits = dict(route_limits or {})

    def limit_for(self, scope: Scope) -> tuple[int, str]:
        """The body limit of a request and the name of its setting."""
        key = (str(scope.get("method", "")).upper(), route_path(scope).rstrip("/"))
        return self.route_limits.get(key, (self.max_body_bytes, self.setting))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request on with its body counted; answer 413 once it is over its limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit_for(scope)
        too_large = problem_response(
            413,
            "body_too_large",
            f"request body over the limit of {limit} bytes ({setting})",
            title="Request body too large",
            headers={"Connection": "close"},
        )
        length = _header(scope, b"content-length")
        if length is not None:
            declared = _content_length(length)
            if declared is None:
                bad = problem_response(400, "bad_request", "Content-Length is not a number")
                await bad(scope, receive, send)
                return
            if declared > limit:
                await too_large(scope, receive, send)
                return

        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    if not started:
                        await too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # answered 413 already; what the route says now goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
            log.debug("request cut at the body limit", exc_info=True)
        if over:
            log.info("413: request body over %d bytes on %s", limit, scope.get("path"))


def route_path(scope: Scope) -> str:
    """The request's path below the app's mount point: ``scope["path"]`` without ``root_path``.

    Behind a proxy's prefix (``uvicorn --root-path /x``) uvicorn gives ``path`` as
    ``/x/api/v1/...``; the routes, and every rule here that matches a path, see
    ``/api/v1/...``. The prefix counts only as whole segments (``/x`` is not stripped from
    ``/xyz/...``), as Starlette's routing takes it.
    """
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


class SecurityHeadersMiddleware:
    """Add :data:`SECURITY_HEADERS` to every HTTP answer (pages, documents, errors alike).

    Parameters
    ----------
    app
        The application inside.
    no_store_under
        A path prefix (``"/hub/v1/"``, below any root path) whose answers also say
        ``Cache-Control: no-store`` (unless a route set its own): the browser's cache keeps no
        copy of the data a token opened, for a later user of the browser to find after the
        token is forgotten. Empty: none is added.
    """

    def __init__(self, app: ASGIApp, *, no_store_under: str = "") -> None:
        self.app = app
        self.no_store_under = no_store_under

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers the answer's start does not have."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        add = SECURITY_HEADERS
        if self.no_store_under and route_path(scope).startswith(self.no_store_under):
            add = (*add, (b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(k).lower() for k, _ in headers}
                headers += [(k, v) for k, v in add if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
