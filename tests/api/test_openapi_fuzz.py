"""schemathesis over the OpenAPI document of a real server: no request makes it fail (5xx).

Bounded: a few examples per operation (the whole file runs in seconds). Only the server-error
check runs; 503 from the Bluetooth scan (no Bluetooth service here) is documented and allowed.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.api.conftest import Server

pytestmark = pytest.mark.slow  # ~25 s on a loaded 2-core machine (schemathesis' coverage phase)

_server: dict[str, Server] = {}


@pytest.fixture
def api_schema(module_server: Server) -> schemathesis.BaseSchema:
    _server["current"] = module_server
    return schemathesis.openapi.from_url(f"{module_server.url}/api/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_makes_the_server_fail(case: schemathesis.Case) -> None:
    server = _server["current"]
    response = case.call(base_url=server.url, headers=server.auth, timeout=10)
    # sessions the fuzzer started (some at speed "max", endless) would hog the shared CPU
    for live in server.app.state.sessions.live_sessions:
        httpx.post(f"{server.url}/api/v1/sessions/{live.id}/stop", headers=server.auth)
    if response.status_code in (501, 503) and case.operation.path == "/api/v1/devices":
        return  # documented: no Bluetooth service on this machine (the reason is in the body)
    case.validate_response(response, checks=[not_a_server_error])
