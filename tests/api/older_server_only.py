"""Fail an answer the OpenAPI document declares only for a server older than it (review round
2a, finding 1).

:func:`webconventions.problems.install_problem_openapi` declares 404 and 405 on every operation,
for a server that lacks the operation's path or method, so schemathesis' status check passes
them; those this server itself never gives are marked
:data:`~webconventions.problems.OLDER_SERVER_ONLY`. :func:`assert_not_older_server_only` fails
such an answer, so a broken route (a static path shadowed by a parameterised one, a not-found
for valid input) still fails the fuzzing; :func:`older_server_only` is it as a schemathesis
check.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from webconventions.problems import OLDER_SERVER_ONLY

if TYPE_CHECKING:
    import schemathesis


def addresses(path: str, request_path: str) -> bool:
    """Whether ``request_path`` (as the router sees it: percent-decoded) is one of ``path``'s,
    each parameter one non-empty segment.

    A fuzzed parameter holding ``/`` (sent as ``%2F``) makes a request to another path, which
    another route or none takes: its 404 or 405 is not this operation's.
    """
    parts = re.split(r"\{[^}]*\}", path)
    return re.fullmatch("[^/]+".join(map(re.escape, parts)), request_path) is not None


def request_path(url: str) -> str:
    """The path of ``url`` (a full URL or a path and query) as the router matches it."""
    return unquote(urlsplit(url).path)


def assert_not_older_server_only(
    document: dict[str, Any],
    operation: tuple[str, str],
    request: tuple[str, str],
    status: int,
    body: str,
) -> None:
    """Fail an answer of ``status`` to ``request`` (method, URL) made for ``operation``
    (method, path) of ``document``, when that status maps to a response marked
    older-server-only.

    The status maps to the response of its code, else of its range (``4XX``), else
    ``default``, as OpenAPI says. A request with another method than the operation's (the
    fuzzer sends some, e.g. ``TRACE``, expecting a 405) or to another path is not the
    operation's, so its answer is not checked.
    """
    method, path = operation
    request_method, url = request
    if request_method.upper() != method.upper() or not addresses(path, request_path(url)):
        return
    responses: dict[str, Any] = document["paths"][path][method.lower()]["responses"]
    response = next(
        (
            responses[key]
            for key in (str(status), f"{status // 100}XX", "default")
            if key in responses
        ),
        {},
    )
    if response.get(OLDER_SERVER_ONLY):
        raise AssertionError(
            f"{method.upper()} {path}: answered {status} to {request_method} {url}, a status "
            f"the document declares only for a server older than it ({OLDER_SERVER_ONLY}): "
            f"{body[:300]}"
        )


def older_server_only(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """The schemathesis check: :func:`assert_not_older_server_only` of the answer, by the
    document the case was generated from (``status_code_conformance`` passes such a 404 or
    405, as the document declares it)."""
    del ctx
    assert_not_older_server_only(
        case.operation.schema.raw_schema,
        (case.operation.method, case.operation.path),
        (str(response.request.method), str(response.request.url)),
        response.status_code,
        response.text,
    )
