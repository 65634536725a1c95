"""The API reference page (``/api/v1/docs``) works offline: real uvicorn, real Chromium.

FastAPI's own page loads Swagger UI from cdn.jsdelivr.net, so it was blank without internet
and ran a third party's script where a user pastes the bearer token. Here every request that
is not to the service is refused by the browser context, and the page must still render the
operations of the service's OpenAPI document (webconventions.docs).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.web.conftest import WebServer, record_errors

pytestmark = pytest.mark.e2e


def test_the_docs_page_renders_every_operation_with_no_request_off_the_machine(
    web_server: WebServer, browser: Any
) -> None:
    html = httpx.get(f"{web_server.url}/api/v1/docs", timeout=10).text  # public, like before
    assert "swagger-ui-bundle.js" in html and "https://" not in html
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    own = urlsplit(web_server.url).netloc
    elsewhere: list[str] = []

    def only_the_service(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    ctx.route("**/*", only_the_service)
    try:
        page = ctx.new_page()
        errors = record_errors(page)
        page.goto(f"{web_server.url}/api/v1/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        shown = page.locator(".opblock").count()
        spec = httpx.get(f"{web_server.url}/api/v1/openapi.json", timeout=10).json()
        n_operations = sum(
            1
            for item in spec["paths"].values()
            for method in item
            if method in {"get", "head", "post", "put", "patch", "delete"}
        )
        assert shown == n_operations
        assert elsewhere == [] and errors == []
    finally:
        ctx.close()
