"""Real uvicorn on 127.0.0.1 (free port, temp data dir) and real Chromium driven by Playwright.

Chromium is Debian's ``/usr/bin/chromium`` (``HRVPACE_CHROMIUM`` overrides): browsers cannot be
downloaded here, so Playwright is pointed at it with ``executable_path``. Its absence is a
failure with the reason, not a skip: ``scripts/test.sh`` installs it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.settings import load_settings
from tests._http import CLIENT_TLS
from tests._uvicorn import serving

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class WebServer:
    url: str
    token: str
    app: FastAPI

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30.0,
            verify=CLIENT_TLS,
        )


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The real service with a temp data dir, served by uvicorn in a thread."""
    data_dir = tmp_path_factory.mktemp("web-data")
    settings = load_settings(data_dir=data_dir, token="web-test-token")
    app = create_app(settings)
    # uvicorn's default WebSocket implementation ("auto"), unlike the API tests' sans-I/O one
    with serving(app, ws="auto", lifespan="on") as running:
        yield WebServer(running.url, app.state.token, app)


@pytest.fixture(autouse=True)
def _no_session_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Stop what a test left running on the module's shared server (a failed assertion skips
    the test's own stop), so one failure does not turn into the next test's "two sessions"."""
    yield
    if "web_server" not in request.fixturenames:
        return
    server: WebServer = request.getfixturevalue("web_server")
    with server.client() as api:
        for session in api.get("/api/v1/sessions", params={"limit": 500}).json()["sessions"]:
            if session["live"]:
                api.post(f"/api/v1/sessions/{session['id']}/stop")


def _chromium_path() -> str:
    path = os.environ.get("HRVPACE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium not found at {path}: install Debian's chromium package "
            "(scripts/test.sh does) or set HRVPACE_CHROMIUM"
        )
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=_chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    """``test-artifacts/`` (git-ignored): screenshots of the page for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def record_errors(page: Any) -> list[str]:
    """The uncaught script errors and console errors of ``page``, collected as they come."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    return errors


def close_context(ctx: Any) -> None:
    """Close ``ctx`` with its pages' routes taken off first: a route handler still reading a
    fetched response as the context closed raised "Response has been disposed" at the next
    test's first Playwright call (tests/web/test_hub_admin.py, once, 3 workers on 2 cores)."""
    for page in ctx.pages:
        page.unroute_all(behavior="ignoreErrors")
    ctx.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[], tuple[Any, list[str]]]]:
    """Laptop-sized pages that record uncaught script errors and console errors."""
    contexts: list[Any] = []

    def make() -> tuple[Any, list[str]]:
        ctx = browser.new_context(viewport=LAPTOP)
        contexts.append(ctx)
        page = ctx.new_page()
        return page, record_errors(page)

    yield make
    for ctx in contexts:
        close_context(ctx)


def poll(page: Any, predicate: Callable[[], Any], *, timeout_s: float, what: str) -> Any:
    """Wait for ``predicate`` while Playwright runs the route handlers (a sync Playwright
    handles the page's events only inside its own calls, so not in ``time.sleep``)."""
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        page.wait_for_timeout(50)
    return value


def start_replay(api: httpx.Client, rr_ms: Sequence[float], *, speed: float) -> str:
    """Upload ``rr_ms`` as a plain recording and start a replay session of it; its id."""
    body = "\n".join(f"{x:.3f}" for x in rr_ms) + "\n"
    r = api.post("/api/v1/recordings", files={"file": ("rhythm.txt", body.encode())})
    assert r.status_code == 201, r.text
    r = api.post(
        "/api/v1/sessions",
        json={"source": {"kind": "replay", "recording": r.json()["name"], "speed": speed}},
    )
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid
