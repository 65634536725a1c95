"""Errors a client can act on (RFC 9457 problem+json), body limits and bounded parameters,
on a real uvicorn."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.types import Message, Receive, Scope, Send

from api.settings import load_settings
from tests.api.conftest import Server
from tests.api.test_security import _all_routes
from webconventions.middleware import MediaTypeMiddleware
from webconventions.problems import MAX_INPUT_CHARS, OLDER_SERVER_ONLY

PROBLEM = "application/problem+json"


def _assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    assert r.headers["content-type"] == PROBLEM, r.headers
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body), body
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["type"] == f"/problems/{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_openapi_declares_the_problem_schema_on_every_error_of_every_operation(
    module_server: Server,
) -> None:
    doc = httpx.get(f"{module_server.url}/api/v1/openapi.json", timeout=10).json()
    schemas = doc["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}
    assert "HTTPValidationError" not in schemas
    n = heads = 0
    for path, method, op in _operations(doc):
        errors = {c: r for c, r in op["responses"].items() if c[0] in "45"}
        # review (app developer): the 405 a server without this operation answers, and the
        # 415 of a body of another type, are problems a generated client should type; review
        # (apicontract 1): so is the 404 of a server without this path, parameters or not
        assert {"400", "404", "405", "500"} <= set(errors), (method, path)
        # review (apicontract 3): RFC 9110 says a 405 MUST carry Allow
        assert set(errors["405"]["headers"]) == {"Allow"}, (method, path)
        assert errors["405"]["headers"]["Allow"]["required"] is True, (method, path)
        if path != "/api/v1/health":
            assert "401" in errors, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in errors, (method, path)
        if op.get("requestBody"):
            assert {"413", "415"} <= set(errors), (method, path)
        if method == "head":
            # review (apicontract 2): a HEAD answer has no body, 200 or error; a generated
            # client read the empty body as JSON, and raised
            assert all("content" not in r for r in op["responses"].values()), op
            heads += 1
            continue
        for code, response in errors.items():
            assert response["content"] == {
                PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (method, path, code)
        n += 1
    assert n >= 30 and heads >= 1
    # review (round 2a, 1): the 404s and 405s only an older server answers are marked (the
    # schemathesis run fails them); the route's own 404 (recording_not_found) is not
    paths = doc["paths"]
    assert paths["/api/v1/sessions"]["get"]["responses"]["404"][OLDER_SERVER_ONLY] is True
    assert paths["/api/v1/sessions"]["get"]["responses"]["405"][OLDER_SERVER_ONLY] is True
    assert OLDER_SERVER_ONLY not in paths["/api/v1/sessions"]["post"]["responses"]["404"]
    by_id = paths["/api/v1/sessions/{session_id}"]["get"]["responses"]
    assert OLDER_SERVER_ONLY not in by_id["404"] and by_id["405"][OLDER_SERVER_ONLY] is True


def test_every_operation_that_takes_a_body_answers_the_declared_415(
    module_server: Server,
) -> None:
    """Review (app developer): 415 was not in the document. Every operation with a body
    declares it (the test above) and answers it, a problem, to its body sent as text."""
    doc = httpx.get(f"{module_server.url}/api/v1/openapi.json", timeout=10).json()
    checked = 0
    with module_server.client() as c:
        for path, method, op in _operations(doc):
            if not op.get("requestBody"):
                continue
            url = path.replace("{", "").replace("}", "")  # any value routes like a real one
            r = c.request(method, url, content=b"{}", headers={"Content-Type": "text/plain"})
            body = _assert_problem(r, 415, "unsupported_media_type")
            assert "text/plain" in body["detail"], (method, path, body)
            assert "415" in op["responses"], (method, path)
            checked += 1
    assert checked >= 10, checked


def test_every_request_media_type_the_document_declares_passes_the_media_type_check(
    module_server: Server,
) -> None:
    """Review (apicontract 4): the media types an operation reads are kept by hand for the
    middleware (``route_types``); a route reading another type than JSON that it does not
    list is answered 415 for the type its document declares. Each declared type, sent to
    the app's own :class:`MediaTypeMiddleware`, reaches the route."""
    app = module_server.app
    [added] = [m for m in app.user_middleware if m.cls is MediaTypeMiddleware]
    passed: list[tuple[str, str]] = []
    sent: list[Message] = []

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append((scope["method"], scope["path"]))

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    check = MediaTypeMiddleware(route, *added.args, **added.kwargs)
    declared = [
        (method.upper(), re.sub(r"\{[^}]*\}", "x", path), media)
        for path, method, op in _operations(app.openapi())
        for media in op.get("requestBody", {}).get("content", {})
    ]

    async def send_each() -> None:
        for method, path, media in declared:
            headers = [(b"content-type", media.encode()), (b"content-length", b"2")]
            scope = {"type": "http", "method": method, "path": path, "headers": headers}
            await check(scope, receive, send)
            assert passed[-1:] == [(method, path)], (method, path, media, sent)

    asyncio.run(send_each())
    assert {media for *_, media in declared} >= {"application/json", "multipart/form-data"}


def _waits_for_a_write(func: Callable[..., Any], seen: set[str] | None = None) -> bool:
    """Whether ``func`` waits for a write that may answer 503 ``store_busy``: it calls
    ``stored_within_cap`` (or raises ``StoreBusyError``), itself, through a function of its own
    module, or through a ``SessionManager`` method that does."""
    import api.sessions

    seen = set() if seen is None else seen
    if func.__qualname__ in seen:
        return False
    seen.add(func.__qualname__)
    source = inspect.getsource(func)
    if "stored_within_cap(" in source or "StoreBusyError(" in source:
        return True
    manager = api.sessions.SessionManager
    for name, member in vars(manager).items():
        if (
            inspect.isfunction(member)
            and f"manager.{name}(" in source
            and _waits_for_a_write(member, seen)
        ):
            return True
    module = sys.modules[func.__module__]
    for name in re.findall(r"\b([a-z_][a-z0-9_]*)\(", source):
        called = getattr(module, name, None)
        if (
            inspect.isfunction(called)
            and called.__module__ == func.__module__
            and _waits_for_a_write(called, seen)
        ):
            return True
    return False


def test_every_route_that_waits_for_a_write_declares_503_store_busy(module_server: Server) -> None:
    """Review (rev12_appdev 2): only the start and stop of a session declared 503, so a
    generated client's answer to a label, a check-in, an answer... during a database lock
    was ``parsed=None`` (or ``UnexpectedStatus``)."""
    doc = httpx.get(f"{module_server.url}/api/v1/openapi.json", timeout=10).json()
    waiting = [
        (route.path, method.lower())
        for route in _all_routes(module_server.app.routes)
        if isinstance(route, APIRoute) and _waits_for_a_write(route.endpoint)
        for method in route.methods
    ]
    for path, method in waiting:
        busy = doc["paths"][path][method]["responses"].get("503")
        assert busy is not None, (method, path)
        assert busy["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        assert busy["headers"]["Retry-After"]["schema"] == {"type": "integer"}, (method, path)
        assert "store_busy" in busy["description"], (method, path)
    # the label, check-ins, prompts (3), the day plan, baseline, webhooks, micro-break
    # settings, a report, a session's start and stop
    assert len(waiting) >= 12, waiting


def test_a_body_that_is_not_json_is_the_validation_error_readme_says(
    module_server: Server,
) -> None:
    """Review (rev12_appdev 3): README's ``bad_request`` row said "a body that is not JSON
    text", which is a 422 ``validation_error`` (``loc`` ["body", <character>]); and a
    ``Content-Length`` that is not a number never reaches the API behind uvicorn."""
    from tests.api.test_problem_codes import readme_rows

    for body in (b"{", b"\xff\xfe"):
        r = httpx.post(
            f"{module_server.url}/api/v1/sessions",
            content=body,
            headers={**module_server.auth, "Content-Type": "application/json"},
            timeout=10,
        )
        problem = _assert_problem(r, 422, "validation_error")
        assert problem["errors"][0]["loc"][0] == "body", problem
    rows = readme_rows()
    assert "not valid JSON" in rows["validation_error"][1]
    assert "JSON text" not in rows["bad_request"][1]
    assert "uvicorn" in rows["bad_request"][1]
    raw = b"POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n"
    port = httpx.URL(module_server.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400") and b"text/plain" in answer, answer


def test_every_integer_query_parameter_is_bounded(module_server: Server) -> None:
    doc = httpx.get(f"{module_server.url}/api/v1/openapi.json", timeout=10).json()
    found = 0
    for path, method, op in _operations(doc):
        for p in op.get("parameters", []):
            schema = p["schema"]
            types = [schema, *schema.get("anyOf", [])]
            for t in types:
                if t.get("type") in ("integer", "number"):
                    found += 1
                    assert "maximum" in t or "exclusiveMaximum" in t, (method, path, p["name"])
    assert found >= 5


@pytest.mark.parametrize("offset", [str(2**63), str(2**64), "-1", "1e3", "x" * 500])
def test_huge_or_bad_offset_is_422_not_500(module_server: Server, offset: str) -> None:
    with module_server.client() as c:
        r = c.get("/api/v1/sessions", params={"offset": offset})
    body = _assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", "offset"]
    assert len(body["errors"][0]["input"]) <= MAX_INPUT_CHARS


def test_validation_errors_echo_at_most_200_characters(module_server: Server) -> None:
    huge = "A" * 200_000
    bodies = [
        {"source": {"kind": "simulator", "seed": huge}},
        {"source": {"kind": huge}},
        {"source": {"kind": "simulator"}, "label": huge},
        {"source": {"kind": "simulator"}, huge[:5000]: 1},
        {"source": {"kind": "simulator", "speed": [huge] * 3}},
        [huge] * 4,
    ]
    with module_server.client() as c:
        for body in bodies:
            r = c.post("/api/v1/sessions", json=body)
            problem = _assert_problem(r, 422, "validation_error")
            assert len(r.content) < 6000, len(r.content)
            for issue in problem["errors"]:
                assert issue.get("input") is None or len(issue["input"]) <= MAX_INPUT_CHARS
            assert "AAAA" * 100 not in r.text


def test_every_kind_of_error_is_a_problem(module_server: Server) -> None:
    s = module_server
    with httpx.Client(base_url=s.url, timeout=10) as anon:
        r = anon.get("/api/v1/sessions")
        _assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
        _assert_problem(anon.get("/api/v1/health", headers={"Host": "evil.example"}), 400)
    with s.client() as c:
        sid = "0123abcd"
        for method, path in [
            ("GET", f"/api/v1/sessions/{sid}"),
            ("POST", f"/api/v1/sessions/{sid}/stop"),
            ("GET", f"/api/v1/sessions/{sid}/beats"),
            ("GET", f"/api/v1/sessions/{sid}/metrics"),
            ("POST", f"/api/v1/sessions/{sid}/breathing/assessment"),
            ("GET", f"/api/v1/sessions/{sid}/breathing/guidance"),
            ("GET", f"/api/v1/sessions/{sid}/report"),
        ]:
            _assert_problem(c.request(method, path, json={}), 404, "session_not_found")
        _assert_problem(c.get("/api/v1/no/such/thing"), 404, "not_found")
        _assert_problem(c.delete("/api/v1/sessions"), 405, "method_not_allowed")
        bad_json = c.post(
            "/api/v1/checkins", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        _assert_problem(bad_json, 422, "validation_error")
        r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": -1}})
        problem = _assert_problem(r, 422, "validation_error")
        assert problem["errors"][0]["loc"] == ["body", "source", "simulator", "speed"]
        assert "speed" in problem["detail"]
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": "missing.txt"}},
        )
        _assert_problem(r, 404, "recording_not_found")


def test_a_method_an_api_path_does_not_take_is_405_naming_every_method_it_takes(
    module_server: Server,
) -> None:
    """Every documented path, every other method: 405 with ``Allow`` = the document's methods.

    The page is mounted at ``/`` and used to catch these: a GET to a POST-only route was its
    404, a DELETE or PUT its 405 with ``Allow: GET, HEAD`` (and a path with several routes, e.g.
    ``GET`` and ``PATCH /sessions/{id}``, named only the first route's method).
    """
    doc = httpx.get(f"{module_server.url}/api/v1/openapi.json").json()
    checked = 0
    with module_server.client() as c:
        for path, ops in doc["paths"].items():
            documented = {m.upper() for m in ops}
            url = path.replace("{", "").replace("}", "")  # any value routes like a real one
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                if method in documented:
                    continue
                r = c.request(method, url)
                body = _assert_problem(r, 405, "method_not_allowed")
                allow = {m.strip() for m in r.headers["allow"].split(",")}
                assert allow == documented, (method, path, r.headers["allow"])
                assert method in body["detail"] and all(m in body["detail"] for m in documented)
                checked += 1
    assert checked > 40, checked  # most paths take one or two of the five methods


def test_unknown_api_paths_are_404_problems_and_the_page_is_still_served(
    module_server: Server,
) -> None:
    with module_server.client() as c:
        for path in ("/api/v1/no/such/thing", "/api/v2/sessions", "/api", "/api/"):
            _assert_problem(c.get(path), 404, "not_found")
            _assert_problem(c.post(path, json={}), 404, "not_found")
        # the live WebSocket's path asked over plain HTTP: says what it is
        r = c.get("/api/v1/sessions/0123abcd/live")
        assert "WebSocket" in _assert_problem(r, 426, "upgrade_required")["detail"]
        assert r.headers["upgrade"] == "websocket"
        page = c.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        script = c.get("/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        _assert_problem(c.get("/no-such-file.js"), 404, "not_found")
        r = c.post("/")  # the page's files are read-only, as before
        _assert_problem(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_nan_or_infinity_is_refused_as_not_finite_wherever_a_number_is_bounded(
    module_server: Server, value: str
) -> None:
    """Not "less than or equal to 1" (the bound a NaN fails by comparison): one message."""
    sid = "0123abcd"
    bodies = [  # JSON numbers the way Python's json writes them (not JSON, but parsed)
        (f"/api/v1/sessions/{sid}/simulator", '{"stress": %s}', ["body", "stress"]),
        ("/api/v1/checkins", '{"stress": 2, "energy": 3, "at": %s}', ["body", "at"]),
        (
            f"/api/v1/sessions/{sid}/breathing/practice",
            '{"rate_bpm": %s}',
            ["body", "rate_bpm"],
        ),
    ]
    with module_server.client() as c:
        for path, template, loc in bodies:
            r = c.post(
                path,
                content=(template % value).encode(),
                headers={"Content-Type": "application/json"},
            )
            problem = _assert_problem(r, 422, "validation_error")
            assert problem["errors"][0]["loc"] == loc, problem
            assert problem["errors"][0]["msg"] == "Input should be a finite number", problem
            assert problem["errors"][0]["type"] == "finite_number"
            assert "finite number" in problem["detail"]
        query = value.lower().replace("infinity", "inf")
        r = c.get("/api/v1/checkins", params={"since": query})
        problem = _assert_problem(r, 422, "validation_error")
        assert problem["errors"][0]["msg"] == "Input should be a finite number", problem
        # a finite number out of bounds still names its bound
        r = c.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 2.0})
        problem = _assert_problem(r, 422, "validation_error")
        assert "less than or equal to 1" in problem["errors"][0]["msg"]


def test_an_unexpected_failure_is_a_500_problem_without_details(
    serve: Callable[..., Server],
) -> None:
    server = serve()

    async def boom() -> None:
        raise RuntimeError("secret internals /home/user/.ssh")

    # ahead of the static mount at "/" (which would otherwise answer the path)
    server.app.router.routes.insert(0, APIRoute("/api/v1/boom", boom, methods=["GET"]))
    with server.client() as c:
        r = c.get("/api/v1/boom")
        body = _assert_problem(r, 500, "internal_error")
        # the server closes the connection after a 500 (Starlette hands the exception on):
        # said, so the client's next request goes on a new connection instead of a reset one
        assert r.headers["connection"] == "close"
        # "every answer" forbids framing and sniffing, a 500 too, though Starlette's error
        # middleware answers it outside the middleware that adds them (review finding)
        assert r.headers.get("x-content-type-options") == "nosniff", r.headers
        assert r.headers.get("x-frame-options") == "DENY", r.headers
        assert r.headers.get("content-security-policy") == "frame-ancestors 'none'", r.headers
        assert c.get("/api/v1/health").status_code == 200
    assert "secret" not in r.text and ".ssh" not in r.text
    assert body["detail"] == "internal error; see the server log"


def _raw_request(server: Server, head: str, body: bytes = b"") -> tuple[bytes, float]:
    """Send ``head`` (and ``body``) on a raw socket; the whole answer and its time, s."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        t0 = time.monotonic()
        sock.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data or not _complete(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data, time.monotonic() - t0


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def test_a_body_declared_too_large_is_413_before_a_byte_of_it_is_read(
    serve: Callable[..., Server],
) -> None:
    """Content-Length of 100 MB and no body sent at all: the answer comes at once."""
    server = serve()
    host = server.url.removeprefix("http://")
    head = (
        f"POST /api/v1/sessions HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {server.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    data, took_s = _raw_request(server, head)
    status_line, _, rest = data.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), data[:300]
    assert b"application/problem+json" in rest
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["code"] == "body_too_large" and "HRVPACE_MAX_BODY_BYTES" in body["detail"]
    assert took_s < 5


def test_a_chunked_body_is_cut_at_the_limit(serve: Callable[..., Server], tmp_path: Any) -> None:
    settings = load_settings(data_dir=tmp_path / "d", token="t", max_body_bytes=64 * 1024)
    server = serve(settings=settings)
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"stress": 2, "energy": 3, "note": "'
        for _ in range(64):  # 4 MiB if it were all read
            sent += 65536
            yield b"x" * 65536
        yield b'"}'

    with server.client() as c:
        try:
            r = c.post(
                "/api/v1/checkins", content=chunks(), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError:
            r = None  # the server may close while the client still sends: also a refusal
        if r is not None:
            _assert_problem(r, 413, "body_too_large")
        assert sent < 64 * 65536  # cut long before the end (about 400 KiB here)
        # the service is fine, and nothing was stored
        assert c.get("/api/v1/checkins").json()["checkins"] == []
        ok = c.post("/api/v1/checkins", json={"stress": 2, "energy": 3})
        assert ok.status_code in (200, 201), ok.text


def test_a_json_body_just_under_the_limit_is_read(
    serve: Callable[..., Server], tmp_path: Any
) -> None:
    settings = load_settings(data_dir=tmp_path / "d", token="t", max_body_bytes=64 * 1024)
    server = serve(settings=settings)
    with server.client() as c:
        padding = " " * (64 * 1024 - 40)
        body = ('{"stress": 2, "energy": 3}' + padding).encode()
        assert len(body) <= 64 * 1024
        r = c.post("/api/v1/checkins", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (200, 201), r.text
        r = c.post(
            "/api/v1/checkins",
            content=body + b" " * 100,
            headers={"Content-Type": "application/json"},
        )
        _assert_problem(r, 413, "body_too_large")


def test_a_422_echoes_at_most_200_characters_of_input_in_all(module_server: Server) -> None:
    """The budget is for the whole answer: many long keys and values (review finding: 30 keys
    of 150 characters echoed ~6,000 characters across 20 issues and the detail)."""
    body: dict[str, object] = {"source": {"kind": "simulator"}}
    for i in range(30):
        body[f"{i:02d}" + "k" * 148] = "V" * 1000
    body["x" * 2000] = 1
    with module_server.client() as c:
        r = c.post("/api/v1/sessions", json=body)
    problem = _assert_problem(r, 422, "validation_error")
    echoed = r.text.count("V") + r.text.count("k" * 10) * 10 + r.text.count("x" * 10) * 10
    assert echoed <= MAX_INPUT_CHARS, echoed
    assert "more)" in problem["detail"]  # what was left out is counted
    assert problem["errors"]  # and the first issue is still named


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/sessions/{sid}", b'{"label":"\\ud800"}'),
        ("PATCH", "/api/v1/sessions/{sid}", b'{"label":"abc\\udfff def"}'),
        ("POST", "/api/v1/checkins", b'{"stress":3,"energy":3,"note":"\\ud83d"}'),
        ("POST", "/api/v1/sessions", b'{"source":{"kind":"replay","recording":"\\ud800.txt"}}'),
        ("POST", "/api/v1/sessions", b'{"source":{"kind":"simulator"},"\\ud800":1}'),
        ("POST", "/api/v1/sessions", b'{"source":{"kind":"\\ud800"}}'),
    ],
)
def test_a_lone_surrogate_in_json_is_a_422_and_the_connection_stays_usable(
    serve: Callable[..., Server],
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: bytes,
) -> None:
    """A JSON string may escape half a UTF-16 pair (``"\\ud800"``), which no UTF-8 can encode:
    the 422 echoing it failed to render (a 500, an ERROR traceback quoting the request, and the
    keep-alive connection reset under the client's next request; review finding)."""
    server = serve()
    uvicorn_log = logging.getLogger("uvicorn")  # does not propagate to caplog's root handler
    uvicorn_log.addHandler(caplog.handler)
    try:
        with server.client() as c:
            sid = c.post(
                "/api/v1/sessions", json={"source": {"kind": "simulator", "speed": "max"}}
            ).json()["id"]
            caplog.clear()
            with caplog.at_level("DEBUG"):
                r = c.request(
                    method,
                    path.format(sid=sid),
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                problem = _assert_problem(r, 422, "validation_error")
                r.content.decode("utf-8")  # strict: nothing unencodable was sent back
                assert problem["errors"], problem
                if b"label" in body:  # the echo shows the surrogate as its escape
                    assert problem["errors"][0]["input"].startswith(("\\ud800", "abc\\udfff"))
                # the next request on the same keep-alive connection is answered
                assert c.get(f"/api/v1/sessions/{sid}").status_code == 200
            c.post(f"/api/v1/sessions/{sid}/stop")
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert not errors, [rec.getMessage() for rec in errors]
    logged = "\n".join(
        rec.getMessage() + (str(rec.exc_info[1]) if rec.exc_info else "") for rec in caplog.records
    )
    assert "\ud800" not in logged and "\\ud800" not in logged and "\udfff" not in logged
