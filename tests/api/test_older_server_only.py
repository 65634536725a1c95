"""The check the schemathesis run makes of answers only an older server gives
(:mod:`tests.api.older_server_only`, review round 2a, finding 1), on a small app with a broken
route planted, in-process."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import status_code_conformance
from schemathesis.core.failures import FailureGroup

from tests.api.older_server_only import (
    addresses,
    assert_not_older_server_only,
    older_server_only,
)
from webconventions.errors import ServiceError
from webconventions.problems import install_problem_handlers, install_problem_openapi


class _ThingNotFoundError(ServiceError):
    status = 404
    code = "thing_not_found"
    title = "Thing not found"


def _shadowed_export() -> FastAPI:
    """``GET /api/things/export`` registered after ``/api/things/{thing_id}``, which takes it."""
    app = FastAPI()

    @app.get("/api/things/{thing_id}", responses={404: {"description": "no such thing"}})
    async def thing(thing_id: str) -> dict[str, str]:
        raise _ThingNotFoundError(f"no thing {thing_id}")

    @app.get("/api/things/export")
    async def export() -> dict[str, str]:
        return {"things": ""}

    @app.post("/api/things/{thing_id}/stop", responses={404: {"description": "no such thing"}})
    async def stop(thing_id: str) -> None:
        raise _ThingNotFoundError(f"no thing {thing_id}")

    install_problem_handlers(app)
    install_problem_openapi(app)
    return app


async def _get(app: FastAPI, method: str, url: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, url)


async def test_a_wrong_404_on_a_path_without_parameters_fails_naming_operation_and_body() -> None:
    app = _shadowed_export()
    doc = app.openapi()
    r = await _get(app, "GET", "/api/things/export")
    assert r.status_code == 404  # the planted bug: schemathesis' status check passes it
    with pytest.raises(AssertionError) as failed:
        assert_not_older_server_only(
            doc, ("get", "/api/things/export"), ("GET", str(r.request.url)), r.status_code, r.text
        )
    message = str(failed.value)
    assert message.startswith("GET /api/things/export: answered 404"), message
    assert "no thing export" in message and "thing_not_found" in message, message


async def test_a_routes_own_404_and_a_request_to_another_path_pass() -> None:
    app = _shadowed_export()
    doc = app.openapi()
    r = await _get(app, "GET", "/api/things/7")
    assert r.status_code == 404
    # declared by the route (and a path with parameters): a real answer of this server
    assert_not_older_server_only(
        doc, ("get", "/api/things/{thing_id}"), ("GET", str(r.request.url)), 404, r.text
    )
    # a fuzzed thing_id "a/stop" makes GET /api/things/a/stop, which only POST takes: its 405
    # is another path's, not GET /api/things/{thing_id}'s
    r = await _get(app, "GET", "/api/things/a%2Fstop")
    assert r.status_code == 405, r.text
    assert not addresses("/api/things/{thing_id}", "/api/things/a/stop")
    assert_not_older_server_only(
        doc, ("get", "/api/things/{thing_id}"), ("GET", str(r.request.url)), 405, r.text
    )
    # nor is the 405 to a method the operation does not take (the fuzzer sends TRACE)
    r = await _get(app, "TRACE", "/api/things/export")
    assert r.status_code == 405, r.text
    assert_not_older_server_only(
        doc, ("get", "/api/things/export"), ("TRACE", str(r.request.url)), 405, r.text
    )
    # a 405 to a request that did address the operation fails
    stop = "http://test/api/things/a/stop"
    with pytest.raises(AssertionError, match=r"^POST /api/things/\{thing_id\}/stop: answered 405"):
        assert_not_older_server_only(
            doc, ("post", "/api/things/{thing_id}/stop"), ("POST", stop), 405, ""
        )


def test_the_schemathesis_check_fails_the_planted_404_that_the_status_check_passes() -> None:
    """The check the schemathesis run adds (its ``CHECKS``), on a case schemathesis makes for
    the shadowed ``GET /api/things/export``, sent in-process."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", _shadowed_export())
    case = schema["/api/things/export"]["GET"].Case()
    response = case.call()
    assert response.status_code == 404
    case.validate_response(response, checks=[status_code_conformance])  # the hole: declared
    with pytest.raises(FailureGroup) as failed:
        case.validate_response(response, checks=[status_code_conformance, older_server_only])
    assert "GET /api/things/export: answered 404" in str(failed.value), failed.value
    assert "no thing export" in str(failed.value), failed.value
