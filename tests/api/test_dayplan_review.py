"""Review findings on the working day (issue 16): a fake-clock demo stays out of the person's
data and channels, only planned prompts reach webhooks, webhook URLs and errors are safe, and
the calendar feed's token can be rotated."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
from collections.abc import Callable
from datetime import datetime
from datetime import time as dt_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from typer.testing import CliRunner

import api.commands.demo as demo_cmd
from api.cli import app as cli_app
from api.dayplan import FEED_TOKEN_KEY, feed_token
from api.scheduler import PromptScheduler
from api.storage import Storage
from api.webhooks import Delivery, WebhookIn, WebhookNotifier, error_category, payload
from breathing.dayplan import DayPlan, Intervention, signal_checkin
from tests.api.conftest import Server


def _capture_demo(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``hrvpace demo`` up to its server: record the app and whether its data dir exists."""
    seen: dict[str, Any] = {}

    def fake_run_server(app: FastAPI, sock: Any, on_started: Callable[[], None]) -> None:
        sock.close()
        data_dir = Path(app.state.settings.data_dir)
        seen["data_dir"] = data_dir
        seen["existed"] = data_dir.is_dir()

        async def lifespan() -> None:  # what the server starts: scheduler, notifier, hub push
            async with app.router.lifespan_context(app):
                seen["webhooks_enabled"] = app.state.prompts.webhooks.enabled
                seen["hub_push"] = app.state.hub_push
                on_started()  # what the command prints once serving

        asyncio.run(lifespan())

    monkeypatch.setattr(demo_cmd, "run_server", fake_run_server)
    return seen


def test_fake_clock_demo_runs_on_a_temporary_data_dir_without_webhooks_or_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = tmp_path / "own"
    monkeypatch.setenv("HRVPACE_DATA_DIR", str(own))
    seen = _capture_demo(monkeypatch)
    args = ["demo", "--no-open", "--port", "0", "--start", "2026-12-07T08:55"]
    result = CliRunner().invoke(cli_app, [*args, "--clock-speed", "120"])
    assert result.exit_code == 0, result.output
    assert seen["existed"] and seen["data_dir"] != own and not own.exists()
    assert str(seen["data_dir"]) in result.output  # printed
    assert not seen["data_dir"].exists()  # removed at exit
    assert seen["webhooks_enabled"] is False and seen["hub_push"] is None

    # an explicit --data-dir is used (and kept); still no webhooks or hub push on a fake clock
    explicit = tmp_path / "explicit"
    result = CliRunner().invoke(cli_app, [*args, "--data-dir", str(explicit)])
    assert result.exit_code == 0, result.output
    assert seen["data_dir"] == explicit and explicit.is_dir()
    assert seen["webhooks_enabled"] is False and seen["hub_push"] is None

    # a demo on the real clock runs the service as serve does, in the data dir's demo folder
    # (first-day review F3: its simulated sessions stay out of the person's own database),
    # printed as serve prints its data dir
    result = CliRunner().invoke(cli_app, ["demo", "--no-open", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen["data_dir"] == own / "demo" and (own / "demo" / "hrvpace.sqlite3").is_file()
    assert not (own / "hrvpace.sqlite3").exists() and not (own / "token").exists()
    assert f"data:  {own / 'demo'}\n" in result.output
    assert seen["webhooks_enabled"] is True and seen["hub_push"] is not None


class _RecordingNotifier(WebhookNotifier):
    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self.sent: list[tuple[str, str]] = []

    def notify(self, title: str, text: str, *, prompt_id: int | None) -> None:
        self.sent.append((title, text))


class _FixedClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def from_real(self, real_s: float) -> float:
        return real_s


def test_only_planned_prompts_go_to_webhooks(tmp_path: Path) -> None:
    """A flag's or a break's check-in stays off the team channel; a planned prompt is posted."""
    storage = Storage(tmp_path / "db.sqlite")
    plan = DayPlan()
    monday_9 = datetime(2026, 12, 7, 9, 0, 30, tzinfo=ZoneInfo(plan.timezone)).timestamp()
    flag = signal_checkin(plan, event_s=monday_9 + 3600, trigger="flag", last_checkin_s=None)
    assert flag is not None and flag.trigger == "flag"

    async def run() -> list[str]:
        clock = _FixedClock(monday_9)
        notifier = _RecordingNotifier(storage)
        manager = SimpleNamespace(live_sessions=[], running_sessions=[])
        sched = PromptScheduler(
            storage,
            manager,  # type: ignore[arg-type]
            clock,
            webhooks=notifier,
            plan=plan,
        )
        sched._signal[flag.key] = flag
        sent = [p.trigger for p in await sched.tick()]  # the morning prompt
        clock.t = flag.due_s + 1
        sent += [p.trigger for p in await sched.tick()]  # the flag's check-in
        assert sent == ["planned", "flag"]
        return [title for title, _ in notifier.sent]

    try:
        assert asyncio.run(run()) == ["Good morning"]
    finally:
        storage.close()


def test_a_prompt_answered_while_the_tick_expires_it_is_not_announced_as_expired(
    tmp_path: Path,
) -> None:
    """The tick reads the open prompts, then expires them: one answered in between stays
    answered in the database, and no live 'expired' message says otherwise."""
    storage = Storage(tmp_path / "db.sqlite")
    try:
        ids = [
            storage.add_prompt(
                key=f"2026-12-07:{k}", kind="detox_reminder", trigger="planned", text="t",
                state="sent", due_at=0.0, expires_at=10.0, at=0.0,
            ).result(timeout=10)
            for k in ("a", "b")
        ]  # fmt: skip
        sched = PromptScheduler(
            storage,
            SimpleNamespace(live_sessions=[], running_sessions=[]),  # type: ignore[arg-type]
            _FixedClock(20.0),
            webhooks=_RecordingNotifier(storage),
            plan=DayPlan(),
        )
        published: list[tuple[str, int]] = []
        sched.publish = lambda event, prompt: published.append((event, prompt.id))  # type: ignore[method-assign]
        open_rows = storage.prompts(state="sent", since=-1.0)  # what the tick read
        assert storage.mark_prompt_done(ids[0], at=15.0).result(timeout=10)  # then a click
        asyncio.run(sched._expire(20.0, open_rows))
        assert published == [("expired", ids[1])]
        assert storage.get_prompt(ids[0])["state"] == "done"  # type: ignore[index]
    finally:
        storage.close()


# -- webhook URLs and deliveries (SSRF) -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/x",  # plain http off this machine
        "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "https://[fe80::1]/x",
        "https://10.0.0.7/x",
        "https://192.168.1.1/x",
        "https://172.16.0.1/x",
        "https://[fd00::1]/x",
        "https://0.0.0.0/x",
        "https://[::]/x",
        "https://[::ffff:169.254.169.254]/x",  # IPv4-mapped
        "https://2852039166/x",  # 169.254.169.254 as one number
        "https://0x0a.0.0.7/x",  # 10.0.0.7 in hex
    ],
)
def test_webhook_url_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        WebhookIn(url=url, kind="slack")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T0/B0/xyz",
        "https://example.webhook.office.com/webhookb2/x",
        "http://127.0.0.1:8123/slack",  # the tests' local receiver
        "http://localhost:8123/slack",
        "http://[::1]:8123/slack",
        "https://93.184.216.34/x",  # a public literal address
    ],
)
def test_webhook_url_accepted(url: str) -> None:
    assert WebhookIn(url=url, kind="slack").url == url


class _Receiver:
    """A local HTTP server answering each POST from a script of (status, headers); keeps the
    paths and the times the requests came."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script = script
        self.hits: list[tuple[str, float]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.hits.append((self.path, time.monotonic()))
                i = min(len(receiver.hits), len(receiver.script)) - 1
                status, headers = receiver.script[i] if receiver.script else (200, {})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _deliver(tmp_path: Path, url: str, *, attempts: int = 2) -> Delivery:
    storage = Storage(tmp_path / "db.sqlite")
    try:
        notifier = WebhookNotifier(storage, backoff_s=0.01)
        hook = WebhookIn(url=url, kind="slack")
        return asyncio.run(notifier.deliver(hook, "t", "x", prompt_id=None, attempts=attempts))
    finally:
        storage.close()


def test_slack_text_is_escaped_so_it_arrives_as_written() -> None:
    """A plan text "R&D <3" or one with <!channel> must not become an entity or a mention."""
    sent = payload("slack", "A & B", "Breathe <!channel> & relax <3")["text"]
    assert sent == "*A &amp; B*: Breathe &lt;!channel&gt; &amp; relax &lt;3"
    teams = payload("teams", "A & B", "R&D <3")  # Teams cards take plain text as it is
    assert teams["attachments"][0]["content"]["body"][1]["text"] == "R&D <3"


def test_webhook_redirect_is_a_failure_not_followed(tmp_path: Path) -> None:
    r = _Receiver([(302, {"Location": "/elsewhere"})])
    try:
        d = _deliver(tmp_path, f"{r.url}/hook")
    finally:
        r.close()
    assert (d.ok, d.status, d.error, d.attempts) == (False, 302, "redirect refused", 1)
    assert [path for path, _ in r.hits] == ["/hook"]  # never went to /elsewhere


def test_webhook_errors_are_coarse_categories(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:9/nobody"  # the discard port: nobody listens
    d = _deliver(tmp_path, closed)
    assert (d.ok, d.status, d.error, d.attempts) == (False, None, "connection refused", 2)
    r = _Receiver([(500, {})])
    try:
        d = _deliver(tmp_path, f"{r.url}/hook")
    finally:
        r.close()
    assert (d.ok, d.status, d.error) == (False, 500, "HTTP 500")
    assert error_category(TimeoutError("timed out after 10.0 s to 10.1.2.3:22")) == "timeout"
    refused = ConnectionRefusedError(111, "Connection refused to 10.1.2.3:22")
    assert error_category(urllib.error.URLError(refused)) == "connection refused"


def test_webhook_host_resolving_to_link_local_is_refused_at_send_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _Receiver([(200, {})])
    port = r.httpd.server_address[1]
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "localhost":  # as if DNS pointed it at the metadata service
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    try:
        d = _deliver(tmp_path, f"http://localhost:{port}/hook")
        ok = _deliver(tmp_path, f"{r.url}/hook")  # the literal loopback address still works
    finally:
        r.close()
    assert (d.ok, d.error, d.attempts) == (False, "address refused", 1)
    assert ok.ok and [path for path, _ in r.hits] == ["/hook"]


def test_webhook_https_still_verifies_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checked connection keeps TLS verification (host name included): a self-signed
    receiver is a TLS error; trusted, it gets the post."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    req = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*req, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    r = _Receiver([(200, {})])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    r.httpd.socket = ctx.wrap_socket(r.httpd.socket, server_side=True)
    url = f"https://localhost:{r.httpd.server_address[1]}/hook"
    try:
        d = _deliver(tmp_path, url)
        assert (d.ok, d.status, d.error) == (False, None, "TLS error")
        assert r.hits == []
        trusting = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setattr(ssl, "_create_default_https_context", lambda: trusting)
        assert _deliver(tmp_path, url).ok
        assert [path for path, _ in r.hits] == ["/hook"]
        # the name is checked against the certificate: 127.0.0.1 is not "localhost"
        wrong_name = _deliver(tmp_path, url.replace("localhost", "127.0.0.1"))
        assert (wrong_name.ok, wrong_name.error) == (False, "TLS error")
    finally:
        r.close()


def test_webhook_429_honours_retry_after_within_a_bound(tmp_path: Path) -> None:
    r = _Receiver([(429, {"Retry-After": "1"}), (200, {})])
    try:
        d = _deliver(tmp_path, f"{r.url}/hook")
    finally:
        r.close()
    assert (d.ok, d.attempts) == (True, 2)
    assert r.hits[1][1] - r.hits[0][1] >= 0.95  # waited the asked second, not backoff_s
    # a Retry-After beyond the bound: no retry hammering early, the delivery fails now
    r = _Receiver([(429, {"Retry-After": "3600"}), (200, {})])
    try:
        d = _deliver(tmp_path, f"{r.url}/hook", attempts=4)
    finally:
        r.close()
    assert (d.ok, d.status, d.error, d.attempts) == (False, 429, "HTTP 429", 1)


# -- the calendar feed's token -------------------------------------------------------------------


class _StaleFirstRead:
    """A storage whose first read of a value in each thread finds nothing: as when several
    requests ask for the feed token before any has stored one."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._seen: set[int] = set()
        self._lock = threading.Lock()

    def get_value(self, table: str, key: str) -> Any:
        with self._lock:
            first = threading.get_ident() not in self._seen
            self._seen.add(threading.get_ident())
        return None if first else self._storage.get_value(table, key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def test_feed_token_created_once_when_requests_race(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db.sqlite")
    racing = _StaleFirstRead(storage)
    tokens: list[str] = []
    barrier = threading.Barrier(4)

    def ask() -> None:
        barrier.wait()
        tokens.append(feed_token(racing))  # type: ignore[arg-type]

    threads = [threading.Thread(target=ask) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        stored = storage.get_value("settings", FEED_TOKEN_KEY)
    finally:
        storage.close()
    assert stored is not None and len(tokens) == 4
    assert set(tokens) == {stored[0]}  # every caller got the one stored token


def test_calendar_feed_token_rotates_with_the_api_token_only(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        old_url = c.get("/api/v1/dayplan").json()["calendar_feed_url"]
    old_token = old_url.split("token=", 1)[1]
    assert httpx.get(old_url).status_code == 200
    rotate = f"{server.url}/api/v1/calendar/rotate"
    # the feed token grants the feed and nothing else: it cannot rotate itself
    assert httpx.post(rotate, headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert httpx.post(f"{rotate}?token={old_token}").status_code == 401
    assert httpx.post(rotate).status_code == 401
    r = httpx.post(rotate, headers=server.auth)
    assert r.status_code == 200, r.text
    new_url = r.json()["calendar_feed_url"]
    assert new_url.startswith(f"{server.url}/api/v1/calendar.ics?token=") and new_url != old_url
    assert httpx.get(old_url).status_code == 401  # revoked
    assert httpx.get(new_url).status_code == 200
    with server.client() as c:
        assert c.get("/api/v1/dayplan").json()["calendar_feed_url"] == new_url


DEMO = [sys.executable, "-m", "api", "demo", "--no-open", "--port", "0"]


def test_fake_clock_demo_removes_its_temporary_data_dir_when_terminated() -> None:
    """A real ``hrvpace demo --start`` process: its printed temporary dir is gone after SIGTERM
    (how a service manager or ``kill`` stops it), as after Ctrl+C."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [*DEMO, "--start", "2026-12-07T08:55", "--clock-speed", "120"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert "temporary data dir" in first, first
            data_dir = Path(first.rsplit(" ", 1)[1].strip())
            assert data_dir.is_dir()
            while "Ctrl+C" not in proc.stdout.readline():
                pass
            proc.send_signal(sig)
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        assert not data_dir.exists(), sig


def test_webhook_tries_each_checked_address_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _Receiver([(200, {})])  # listens on 127.0.0.1 only
    port = r.httpd.server_address[1]
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        if host != "localhost":
            return real(host, *args, **kwargs)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),  # nobody there
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    try:
        d = _deliver(tmp_path, f"http://localhost:{port}/hook")
    finally:
        r.close()
    assert d.ok and [path for path, _ in r.hits] == ["/hook"]
    assert looked_up.count("localhost") == 1  # one look-up: connected to what was checked


def test_a_demo_started_on_a_day_off_says_when_prompts_come() -> None:
    """`hrvpace demo --start` on a Saturday ran silently with nothing ever firing."""
    from datetime import datetime, time

    from api.commands.demo import _not_a_working_day
    from breathing.dayplan import DayPlan

    note = _not_a_working_day(DayPlan(), datetime(2026, 12, 5, 8, 55))  # a Saturday
    assert note is not None and "Saturday 2026-12-05 is not a working day" in note
    assert "Monday 2026-12-07" in note
    assert _not_a_working_day(DayPlan(), datetime(2026, 12, 7, 8, 55)) is None
    weekend_only = DayPlan(working_days=frozenset({6, 7}), work_start=time(9), work_end=time(17))
    assert "Saturday 2026-12-12" in str(_not_a_working_day(weekend_only, datetime(2026, 12, 7)))


def test_a_check_in_due_while_another_is_open_is_skipped(tmp_path: Path) -> None:
    """The review's case: a stress flag's check-in at 14:21 and the planned one at 14:37, each
    open an hour, were two identical "Quick check-in" cards (dismissing one showed the other).
    The second is stored skipped (checkin_open); once the first is closed, the next is sent."""
    storage = Storage(tmp_path / "db.sqlite")
    tz = ZoneInfo("Europe/Berlin")
    plan = DayPlan(
        timezone="Europe/Berlin",
        interventions=(
            Intervention(id="pm", kind="checkin", start=dt_time(14, 37)),
            Intervention(id="late", kind="checkin", start=dt_time(16, 0)),
        ),
    )
    at = lambda h, m: datetime(2026, 12, 7, h, m, 30, tzinfo=tz).timestamp()  # noqa: E731
    flag = signal_checkin(plan, event_s=at(14, 19), trigger="flag", last_checkin_s=None)
    assert flag is not None

    async def run() -> list[tuple[str, str]]:
        clock = _FixedClock(at(14, 22))
        sched = PromptScheduler(
            storage,
            SimpleNamespace(live_sessions=[], running_sessions=[]),  # type: ignore[arg-type]
            clock,
            webhooks=_RecordingNotifier(storage),
            plan=plan,
        )
        sched.started_s = at(8, 0)
        sched._signal[flag.key] = flag
        sent = [p.key for p in await sched.tick()]
        assert sent == [flag.key]
        clock.t = at(14, 38)
        assert await sched.tick() == []  # the planned one: the flag's is still open
        # the flag's check-in dismissed (closed): the 16:00 one is sent
        first = next(r for r in storage.prompts() if r["key"] == flag.key)
        assert storage.close_prompt(int(first["id"]), state="dismissed", at=at(14, 40)).result(
            timeout=10
        )
        clock.t = at(16, 1)
        assert [p.key for p in await sched.tick()] == ["2026-12-07:late"]
        return [(str(r["key"]), str(r["state"]), str(r["reason"])) for r in storage.prompts()]

    try:
        rows = asyncio.run(run())
    finally:
        storage.close()
    assert rows == [
        (flag.key, "dismissed", ""),
        ("2026-12-07:pm", "skipped", "checkin_open"),
        ("2026-12-07:late", "sent", ""),
    ]
