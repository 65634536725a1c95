"""Every error the hub answers is RFC 9457 ``application/problem+json`` with a stable ``code``.

The same shape as the personal service's (``type`` ``/problems/<code>``, ``title``, ``status``,
``detail``, ``code``, and for a 422 the validation issues in ``errors``); the hub has its own
copy because it never imports the personal service (import-linter holds that).

References
----------
Nottingham M, Wilde E, Dalal S (2023) RFC 9457: Problem Details for HTTP APIs. IETF.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.errors import HubError

__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "install_problem_handlers", "problem_response"]

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_INPUT_CHARS = 200
MAX_ERRORS = 20

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    422: "validation_error",
    500: "internal_error",
}


class ValidationIssue(BaseModel):
    """One thing wrong with a request, what was sent cut short."""

    loc: list[str | int]
    msg: str
    type: str
    input: str | None = None


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details) with a stable ``code``."""

    type: str = Field(description="/problems/<code>")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code, e.g. group_not_found")
    errors: list[ValidationIssue] | None = None


def _cut(text: str, limit: int = MAX_INPUT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A ``JSONResponse`` with media type ``application/problem+json``."""
    problem = Problem(
        type=f"/problems/{code}",
        title=title or _title(status),
        status=status,
        detail=_cut(detail, 1000),
        code=code,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def _input_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return _cut(text)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as ``application/problem+json``."""

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.code, str(exc), title=exc.title, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        issues = [
            ValidationIssue(
                loc=[x if isinstance(x, int) else _cut(str(x), 100) for x in e.get("loc", ())],
                msg=_cut(str(e.get("msg", "")), 400),
                type=_cut(str(e.get("type", "")), 100),
                input=_input_text(e.get("input")),
            )
            for e in raw[:MAX_ERRORS]
        ]
        parts = []
        for issue in issues[:3]:
            where = ".".join(str(x) for x in issue.loc[1:]) or ".".join(map(str, issue.loc))
            parts.append(f"{where}: {issue.msg}" if where else issue.msg)
        more = f" (and {len(raw) - 3} more)" if len(raw) > 3 else ""
        return problem_response(
            422,
            "validation_error",
            "invalid request: " + "; ".join(parts) + more,
            title="Invalid request",
            errors=issues,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _input_text(exc.detail) or ""
        code = STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return problem_response(exc.status_code, code, detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        log.debug("unhandled error", exc_info=exc)
        return problem_response(500, "internal_error", "internal error; see the server log")
