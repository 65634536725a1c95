"""A companion app served from another origin reads the API from real Chromium (CORS).

The app is a page on a second real uvicorn (another port of 127.0.0.1, so another origin,
listed in ``HRVPACE_ALLOWED_ORIGINS``; loopback both, as Chromium lets only a loopback page
fetch from loopback). The browser enforces CORS as for any app: a cross-origin script reads
only the response headers ``Access-Control-Expose-Headers`` names (review finding:
``X-Total-Count``, which the README's CSV paging needs, and ``Content-Disposition`` read as
null).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from api.app import create_app
from api.settings import load_settings
from tests._uvicorn import serving

pytestmark = pytest.mark.e2e


async def _app_page(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>app</title><p>another app</p>")


def test_an_app_of_an_allowed_origin_reads_the_csv_total_and_file_name(
    browser: Any, tmp_path: Path
) -> None:
    app_site = Starlette(routes=[Route("/", _app_page)])
    with serving(app_site, lifespan="off") as site:
        settings = load_settings(data_dir=tmp_path / "d", token="tok", allowed_origins=[site.url])
        with (
            serving(create_app(settings), lifespan="on") as running,
            httpx.Client(
                base_url=running.url, headers={"Authorization": "Bearer tok"}, timeout=30
            ) as api,
        ):
            r = api.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": "max"}})
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            ctx = browser.new_context()
            try:
                page = ctx.new_page()
                page.goto(f"{site.url}/")
                seen = page.evaluate(
                    """async ([url, token]) => {
                        const r = await fetch(url, {headers: {Authorization: `Bearer ${token}`}});
                        await r.text();
                        return {
                            status: r.status,
                            total: r.headers.get("X-Total-Count"),
                            disposition: r.headers.get("Content-Disposition"),
                        };
                    }""",
                    [f"{running.url}/api/v1/sessions/{sid}/beats?format=csv&limit=5", "tok"],
                )
            finally:
                ctx.close()
            api.post(f"/api/v1/sessions/{sid}/stop")
    assert seen["status"] == 200, seen
    assert seen["total"] is not None and int(seen["total"]) >= 0, seen
    assert seen["disposition"] == f'attachment; filename="{sid}-beats.csv"', seen
