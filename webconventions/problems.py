r"""Every error a service answers is RFC 9457 ``application/problem+json`` with a stable ``code``.

A problem has ``type`` (a URI naming the kind of problem; ``about:blank``-style relative
``/problems/<code>`` here), ``title`` (short, the same for every problem of that kind),
``status`` (the HTTP status), ``detail`` (this occurrence, in words a UI can show as is) and
the extension ``code``: a stable snake_case string a client can branch on (``session_not_found``,
``validation_error``, ``body_too_large``, ...). A 422 also carries ``errors``: the validation
issues (``loc``, ``msg``, ``type`` and ``input`` cut to :data:`MAX_INPUT_CHARS` characters), at
most :data:`MAX_ERRORS` of them, and no more than :data:`MAX_INPUT_CHARS` characters of what the
client sent in all. A NaN or an infinity (``NaN`` in a JSON body, ``nan`` in a query) is
``Input should be a finite number`` (``finite_number``) wherever a number is bounded, not the
bound it fails by comparison.

Sources of errors and their codes (:func:`install_problem_handlers`):

- :class:`webconventions.errors.ServiceError` and its subclasses (each service's own errors):
  their own ``status``/``code``; a 401 says ``WWW-Authenticate: Bearer``;
- FastAPI's request validation: 422 ``validation_error``, the detail written by the service's
  :data:`Summary` (:func:`first_issue_summary` or :func:`fields_summary`);
- ``HTTPException`` (auth, Starlette's 404/405 of unknown paths): a code from the status
  (:data:`STATUS_CODES`) unless the exception names one;
- anything else: 500 ``internal_error`` with no detail (the traceback goes to the log) and
  ``Connection: close`` (Starlette hands the exception on to the server after the answer, and
  uvicorn then closes the connection: the client is told not to send on it again) and the
  security headers (:mod:`webconventions.securityheaders`: Starlette's error middleware answers
  it outside every user middleware, so the one that adds them to every other answer never
  sees it).

Every text a problem carries is UTF-8 encodable (:func:`encodable`): JSON may escape half a
UTF-16 surrogate pair (``"\ud800"``), which Python keeps as a lone surrogate no UTF-8 encodes;
echoed as is, the answer would fail to render (a 500 instead of the 422).

:func:`install_problem_openapi` declares the :class:`Problem` schema for the error responses of
every operation in the OpenAPI document, so a generated client gets a typed error.

References
----------
Nottingham M, Wilde E, Dalal S (2023) RFC 9457: Problem Details for HTTP APIs. IETF.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from webconventions.errors import ServiceError, status_title
from webconventions.securityheaders import security_headers

__all__ = [
    "MAX_ERRORS",
    "MAX_INPUT_CHARS",
    "OLDER_SERVER_ONLY",
    "PROBLEM_MEDIA_TYPE",
    "STATUS_CODES",
    "Problem",
    "Summary",
    "ValidationIssue",
    "encodable",
    "fields_summary",
    "first_issue_summary",
    "install_problem_handlers",
    "install_problem_openapi",
    "problem_response",
    "status_title",
    "truncate",
    "validation_issues",
]

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: No error echoes more than this many characters of what a client sent.
MAX_INPUT_CHARS = 200
#: A 422 lists at most this many validation issues.
MAX_ERRORS = 20

#: Code of an ``HTTPException`` that does not name one, by status.
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    426: "upgrade_required",
    500: "internal_error",
    501: "not_implemented",
    503: "service_unavailable",
}


class ValidationIssue(BaseModel):
    """One thing wrong with a request (FastAPI/Pydantic validation), input cut short."""

    loc: list[str | int] = Field(description="Where: 'body', 'query', 'path', then field names")
    msg: str = Field(description="What is wrong")
    type: str = Field(description="Pydantic's error type, e.g. 'missing', 'greater_than'")
    input: str | None = Field(
        default=None,
        description=f"What was sent, as JSON text cut to {MAX_INPUT_CHARS} characters",
    )


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details) with a stable ``code``."""

    type: str = Field(description="URI reference naming the kind of problem: /problems/<code>")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong this time, to show as is")
    code: str = Field(description="Stable machine-readable code, e.g. session_not_found")
    errors: list[ValidationIssue] | None = Field(
        default=None, description=f"Validation issues (422 only), at most {MAX_ERRORS}"
    )


def encodable(text: str) -> str:
    r"""``text`` with each lone surrogate written as its escape (``\ud800``), UTF-8 encodable.

    A JSON string may escape half of a UTF-16 surrogate pair (``"\ud800"``); Python decodes it
    to a lone surrogate, which no UTF-8 encodes. Echoed as is, it makes the answer fail to
    render; written as the six characters of its escape, it shows what was sent.

    Parameters
    ----------
    text
        Any text, often what a client sent.

    Returns
    -------
    str
        ``text`` itself when UTF-8 encodes it, else ``text`` with every character UTF-8 cannot
        encode replaced by its backslash escape.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text


def _encodable_value(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every string :func:`encodable`."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        return {encodable(str(k)): _encodable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable_value(v) for v in value]
    return value


def truncate(text: str, limit: int = MAX_INPUT_CHARS) -> str:
    """Cut ``text`` to ``limit`` characters, marked with an ellipsis when cut.

    Parameters
    ----------
    text
        Any text, often what a client sent.
    limit
        The most characters the result has, the ellipsis included.

    Returns
    -------
    str
        ``text`` itself when short enough, else its first ``limit - 1`` characters and ``…``.
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A ``JSONResponse`` with media type ``application/problem+json``.

    Parameters
    ----------
    status
        The HTTP status.
    code
        The stable ``code`` (``type`` becomes ``/problems/<code>``).
    detail
        This occurrence in words, cut to 1,000 characters. Every text of the problem is made
        :func:`encodable` (a detail or an issue may quote what a client sent).
    title
        The kind of problem in short; the status's reason phrase when not given.
    errors
        Validation issues (a 422).
    headers
        Extra response headers (``WWW-Authenticate``, ``Connection: close``).

    Returns
    -------
    JSONResponse
        The problem, ``None`` fields left out.
    """
    problem = Problem(
        type=f"/problems/{code}",
        title=title or status_title(status),
        status=status,
        detail=truncate(detail, 1000),
        code=code,
        errors=errors,
    )
    return JSONResponse(
        _encodable_value(problem.model_dump(exclude_none=True)),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def _input_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return truncate(encodable(value))
    if isinstance(value, bytes):
        return truncate(value[: MAX_INPUT_CHARS * 4].decode("utf-8", errors="replace"))
    try:
        text = json.dumps(value, default=str)  # ASCII: a lone surrogate is written \\udXXX
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return truncate(encodable(text))


def _long_strings(value: object, *, depth: int = 0, found: list[str] | None = None) -> list[str]:
    """Strings over 40 characters in a client's value (keys too), longest first, at most 20."""
    found = [] if found is None else found
    if len(found) >= 20 or depth > 4:
        return found
    if isinstance(value, str):
        if len(value) > 40:
            found.append(value)
    elif isinstance(value, Mapping):
        for k, v in list(value.items())[:50]:
            _long_strings(k, depth=depth + 1, found=found)
            _long_strings(v, depth=depth + 1, found=found)
    elif isinstance(value, list | tuple):
        for v in value[:50]:
            _long_strings(v, depth=depth + 1, found=found)
    return sorted(found, key=len, reverse=True) if depth == 0 else found


#: Pydantic's error types of a number's bounds: a NaN or an infinity fails them too, and the
#: message then names a bound (``Input should be less than or equal to 1``) it does not break.
_BOUND_TYPES = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def _non_finite(value: object) -> bool:
    """Whether a client's value is a NaN or an infinity (a JSON number or query text)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return False
    return isinstance(value, float | int) and not math.isfinite(value)


def _finite_issue(err: Mapping[str, Any]) -> tuple[str, str]:
    """The issue's ``msg`` and ``type``; a bound failed by a NaN or infinity says finite.

    Pydantic with ``allow_inf_nan=False`` says ``Input should be a finite number``
    (``finite_number``); a bounded number without it fails a bound instead. Both answer alike.
    """
    msg, kind = str(err.get("msg", "")), str(err.get("type", ""))
    if kind in _BOUND_TYPES and _non_finite(err.get("input")):
        return "Input should be a finite number", "finite_number"
    return msg, kind


def validation_issues(raw: Iterable[Mapping[str, Any]]) -> list[ValidationIssue]:
    """FastAPI's validation errors as :class:`ValidationIssue`, at most :data:`MAX_ERRORS`.

    What the client sent (its key names in ``loc`` and its values in ``input``) is echoed
    within one budget of :data:`MAX_INPUT_CHARS` characters for the whole answer: issues past
    the budget are left out (the detail counts them), so no 422 repeats more of the input.

    Parameters
    ----------
    raw
        Pydantic's error dictionaries (``loc``, ``msg``, ``type``, ``input``).

    Returns
    -------
    list of ValidationIssue
        The issues in order, cut to the budget.
    """
    out: list[ValidationIssue] = []
    budget = MAX_INPUT_CHARS
    for err in raw:
        if len(out) >= MAX_ERRORS or budget <= 0:
            break
        loc: list[str | int] = []
        for x in err.get("loc", ()):
            if isinstance(x, int):
                loc.append(x)
                continue
            text = truncate(encodable(str(x)), max(budget, 1))
            budget -= len(text)
            loc.append(text)
        msg, kind = _finite_issue(err)
        msg, kind = encodable(msg), encodable(kind)
        raw_input = err.get("input")
        if kind == "json_invalid":  # FastAPI's: "JSON decode error" with an input of {}
            where = loc[1] if len(loc) > 1 else "?"
            why = encodable(str((err.get("ctx") or {}).get("error", "")))
            msg = f"the body is not valid JSON at character {where}" + (f": {why}" if why else "")
            raw_input = None
        # some messages quote what was sent (a union's unknown tag): cut it there too
        for sent in _long_strings(raw_input):
            msg = msg.replace(encodable(sent), truncate(encodable(sent), 40))
        given = _input_text(raw_input)
        if given is not None:
            given = truncate(given, budget) if budget > 0 else None
            budget -= 0 if given is None else len(given)
        out.append(
            ValidationIssue(
                loc=loc,
                msg=truncate(msg, 2 * MAX_INPUT_CHARS),
                type=truncate(kind, 100),
                input=given,
            )
        )
    return out


#: Writes a 422's ``detail`` from its issues and the number of issues there were in all.
Summary = Callable[[list[ValidationIssue], int], str]


def first_issue_summary(issues: list[ValidationIssue], total: int) -> str:
    """The first issue in words; its field is not named (``errors`` has it: not echoed twice).

    ``invalid request (body): Field required (and 2 more)``: the personal service's detail.
    """
    if not issues:
        return "invalid request"
    first = issues[0]
    where = str(first.loc[0]) if first.loc and first.loc[0] in ("body", "query", "path") else ""
    more = f" (and {total - 1} more)" if total > 1 else ""
    return f"invalid request{f' ({where})' if where else ''}: {first.msg}{more}"


def fields_summary(issues: list[ValidationIssue], total: int) -> str:
    """The first three issues, each with the field it is about.

    ``invalid request: k: Input should be greater than or equal to 3``: the hub's detail, whose
    page shows the detail alone.
    """
    parts = []
    for issue in issues[:3]:
        where = (
            "body"
            if issue.type == "json_invalid"
            else ".".join(str(x) for x in issue.loc[1:]) or ".".join(map(str, issue.loc))
        )
        parts.append(f"{where}: {issue.msg}" if where else issue.msg)
    more = f" (and {total - 3} more)" if total > 3 else ""
    return "invalid request: " + "; ".join(parts) + more


#: FastAPI's detail for a JSON body it could not read for another reason than bad JSON.
_FASTAPI_BODY_UNREADABLE = "There was an error parsing the body"
#: What the client is told instead: the reasons there are (json.loads of the body's bytes).
BODY_UNREADABLE = (
    "the body could not be read as JSON: it is not UTF-8 (or UTF-16/32) text, or it is "
    "nested too deeply"
)


def install_problem_handlers(app: FastAPI, *, summary: Summary = first_issue_summary) -> None:
    """Answer every error of ``app`` as ``application/problem+json``.

    Parameters
    ----------
    app
        The service.
    summary
        Writes the ``detail`` of a 422 from its issues (:func:`first_issue_summary`,
        :func:`fields_summary`).
    """

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return problem_response(exc.status, exc.code, str(exc), title=exc.title, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        issues = validation_issues(raw)
        return problem_response(
            422,
            "validation_error",
            summary(issues, len(raw)),
            title="Invalid request",
            errors=issues,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.detail, list) and all(isinstance(e, Mapping) for e in exc.detail):
            issues = validation_issues(exc.detail)  # a route's own validation-style detail
            return problem_response(
                exc.status_code,
                "validation_error" if exc.status_code == 422 else f"http_{exc.status_code}",
                summary(issues, len(exc.detail)),
                title="Invalid request",
                errors=issues,
                headers=exc.headers,
            )
        detail = exc.detail if isinstance(exc.detail, str) else _input_text(exc.detail) or ""
        if exc.status_code == 400 and detail == _FASTAPI_BODY_UNREADABLE:
            detail = BODY_UNREADABLE
        code = STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return problem_response(exc.status_code, code, detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        log.debug("unhandled error", exc_info=exc)
        # Starlette hands ``exc`` on to the server after this answer, and uvicorn then closes
        # the connection: say so, or a keep-alive client's next request meets a reset. The
        # answer leaves through Starlette's error middleware, outside SecurityHeadersMiddleware:
        # it says the security headers itself
        return problem_response(
            500,
            "internal_error",
            "internal error; see the server log",
            headers={"Connection": "close", **security_headers()},
        )


def _problem_content() -> dict[str, object]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


#: Error statuses every operation can answer, with the description the document gives them.
_DESCRIPTIONS: dict[str, str] = {
    "400": "Bad request (e.g. a Host header that is not allowed)",
    "401": "Missing or wrong token",
    "404": (
        "Not found: what the path names is not there, or the server is older than this "
        "document and has no such path yet"
    ),
    "405": (
        "Method not allowed: a server older than this document, without this operation yet, "
        "takes only other methods at this path; 'Allow' names them"
    ),
    "409": "Conflict with the current state",
    "413": "Request body too large",
    "415": (
        "Unsupported media type: the body was sent with another Content-Type than this "
        "operation reads, or with none"
    ),
    "422": "Validation error (the issues are in 'errors')",
    "500": "Internal error",
    "501": "Not available in this build",
    "503": "Service unavailable",
}

#: Headers the document declares on an error status unless the route declared its own (each
#: response gets a copy: a document changed in place changes no other operation's, nor this).
_HEADERS: dict[str, dict[str, Any]] = {
    "405": {
        "Allow": {
            "description": "The methods this path takes, e.g. 'GET, POST'",
            # RFC 9110 section 15.5.6: a 405 MUST say them
            "required": True,
            "schema": {"type": "string"},
        }
    },
}


#: The field (an OpenAPI specification extension, allowed on a Response Object) that marks a
#: response this server never gives for its operation: declared only for a server older than
#: the document (see :func:`install_problem_openapi`). A test can fail any answer it marks.
OLDER_SERVER_ONLY = "x-older-server-only"


def _media_type_prefixes(app: FastAPI) -> list[str]:
    """The ``prefix`` of each :class:`~webconventions.middleware.MediaTypeMiddleware` of ``app``.

    A body under one of them of a type its route does not read is answered 415.
    """
    # imported here: webconventions.middleware imports this module (problem_response)
    from webconventions.middleware import MediaTypeMiddleware

    prefixes = []
    for added in app.user_middleware:
        factory: object = added.cls  # Starlette types it as any middleware factory
        if factory is MediaTypeMiddleware:
            prefixes.append(str(added.kwargs["prefix"]))
    return prefixes


def install_problem_openapi(app: FastAPI, *, public_paths: Iterable[str] = ()) -> None:
    """Declare :class:`Problem` for every error response of every operation.

    Each operation gets 400, 404, 405 (with ``Allow``, required) and 500; 401 unless its path
    is in ``public_paths``; 422 when it takes parameters or a body; 413 when it takes a body,
    and 415 too when its path is under the ``prefix`` of a
    :class:`webconventions.middleware.MediaTypeMiddleware` of ``app`` (looked up when the
    document is first built, so a middleware added after this call counts, and one removed
    takes its 415 along); and whatever error statuses the route declared itself. All of them
    are ``application/problem+json`` with the ``Problem`` schema, but those of a ``HEAD``
    operation, which declare no body at all (a HEAD answer has none, RFC 9110 section 9.3.2,
    and a generated client would read an empty one as JSON).

    404 and 405 are declared on every operation although this server has each path and takes
    each method its document names: a client generated from this document may meet a server
    older than it. Such a server answers an operation on a path added since with 404 (the
    commoner case), and an operation added since at a path it knows with 405 (Starlette's
    router, or :mod:`webconventions.page`); the client then gets a typed problem, not an
    undeclared status. A 415 is where a client sends a body; the middleware answers it on
    any path, but an operation without a body gets none from a client that follows the
    document (as 413).

    Those 404s and 405s that only an older server gives are marked ``"x-older-server-only":
    true`` (:data:`OLDER_SERVER_ONLY`): a 405 the route did not declare itself, and a 404 the
    route did not declare on a path without parameters. This server gives one of those for a
    request to the operation's path only if a route is broken (e.g. a static path shadowed by
    a parameterised one, or a handler's not-found for valid input), so a fuzzer can fail any
    answer whose status maps to a marked response. A path with parameters is left unmarked
    for 404: its parameters name things that may not exist, and one holding a ``/`` makes a
    request to another path, which no route may take.

    Parameters
    ----------
    app
        The service; its ``openapi`` method is replaced by one that post-processes FastAPI's.
    public_paths
        Paths that need no token (no 401).
    """
    public = set(public_paths)

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = original()
        checked = _media_type_prefixes(app)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for model in (ValidationIssue, Problem):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schema.pop("$defs", None)
            schemas[model.__name__] = schema
        for path, ops in doc.get("paths", {}).items():
            for method, op in ops.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses: dict[str, Any] = op["responses"]
                codes = {"400", "404", "405", "500"}
                if path not in public:
                    codes.add("401")
                if op.get("parameters") or op.get("requestBody"):
                    codes.add("422")
                if op.get("requestBody"):
                    codes.add("413")
                    if any(path.startswith(prefix) for prefix in checked):
                        codes.add("415")
                declared = {c for c in responses if c[:1] in ("4", "5")}
                codes |= declared
                older = {"405"} if "{" in path else {"404", "405"}
                older -= declared
                for c in sorted(codes):
                    given = (responses.get(c) or {}).get("description")
                    if not given or given == "Additional Response":
                        given = _DESCRIPTIONS.get(c, status_title(int(c)))
                    headers = (responses.get(c) or {}).get("headers") or copy.deepcopy(
                        _HEADERS.get(c)
                    )
                    responses[c] = {
                        "description": given,
                        **({"headers": headers} if headers else {}),
                        "content": _problem_content(),
                        **({OLDER_SERVER_ONLY: True} if c in older else {}),
                    }
                if method == "head":
                    for response in responses.values():
                        response.pop("content", None)
                op["responses"] = dict(sorted(responses.items()))
        app.openapi_schema = doc
        return doc

    # FastAPI's documented way to change the document is to assign app.openapi; its stubs
    # declare a method, so mypy calls the assignment method-assign
    app.openapi = openapi  # type: ignore[method-assign]
