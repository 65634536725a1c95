"""bench.faults part ``http``: hostile requests against a real ``hrvpace serve`` on 127.0.0.1.

Check ids (a failure names one):

- ``http_5xx``: any probe answered with a server error or a dropped connection.
- ``auth``: a route (every operation of the OpenAPI document, path parameters filled in) that
  does not answer 401 without a token or with a wrong one; ``ws_auth``: the live WebSocket
  accepting a wrong token.
- ``huge_query``: ``offset``/``limit`` of ``2**63`` or negative on a list not answered 422.
- ``oversize_413``: a JSON body over ``HRVPACE_MAX_BODY_BYTES`` (default 1 MiB) not answered
  413 (or refused by closing the connection) on every JSON route; ``oversize_chunked_413`` the
  same sent chunked, without a length; ``oversize_memory``: four oversized bodies at once grow
  the server's resident memory by more than 64 MiB.
- ``echo``: an error response quoting more than 200 characters of the request.
- ``malformed_4xx``: a malformed body (bad JSON, deep nesting, huge numbers, NaN, bad UTF-8,
  wrong content type, wrong shapes) not answered with a 4xx.
- ``problem_json``: an error response that is not ``application/problem+json`` with ``type``,
  ``title``, ``status``, ``detail`` and ``code`` (RFC 9457, issue 13 item 4).
- ``replay_path_read``: a replay session started from a server path outside the recordings
  folder (``{"kind": "replay", "path": ...}`` answered 2xx); ``replay_path_oracle``: a replay
  of an existing and of a missing path answered differently; ``leak``: any response (also the
  session's later ``message``) containing a line of a file outside the recordings folder (a
  secret file, the token file, ``/etc/passwd``, ``/proc/self/environ``) or the token.
- ``recording_name``: a replay by a ``recording`` name that climbs out of the folder
  (``../``, absolute, NUL) answered 2xx.
- ``url_traversal``: a raw request target (``..``, ``%2e%2e``, ``%2f``, ``//``) that returns a
  file outside the page's static folder.
- ``upload``: ``POST /api/v1/recordings`` (multipart, field ``file``) missing, storing a file
  outside the recordings folder for a ``../`` file name, not answering the stored name, or
  accepting an oversized upload; ``replay_by_name``: a replay of the uploaded name not
  starting.
- ``ws_origin``: the live WebSocket accepting a valid token from a foreign ``Origin``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench._faults_serve import ServeProcess
from bench.faults import ECHO_LIMIT, PartResult

__all__ = ["run_http"]

MAX_BODY_BYTES = 1 << 20
MEMORY_GROWTH_LIMIT = 64 << 20
FILLER = "Z"  # oversized bodies are made of it; a response with > 200 of them echoes


def _raw_request(url: str, target: str, headers: dict[str, str], timeout_s: float = 10.0) -> bytes:
    """Send ``GET target`` exactly as given (no client-side normalisation of ``..``)."""
    host_port = url.split("//", 1)[1]
    host, port = host_port.rsplit(":", 1)
    lines = [f"GET {target} HTTP/1.1", f"Host: {host_port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


class _Probe:
    """Shared state of one run: the server, the result, what must never come back."""

    def __init__(self, server: ServeProcess, result: PartResult, secrets_: list[str]) -> None:
        self.server = server
        self.result = result
        self.secrets = [s for s in secrets_ if s]
        self.client = _client(server)

    def check_leak(self, what: str, text: str) -> None:
        for s in self.secrets:
            if s in text:
                self.result.fail("leak", f"{what}: the response contains {s[:40]!r}")
                return

    def check_error_body(self, what: str, r: httpx.Response, sent: str | bytes = "") -> None:
        """Every answered probe: no 5xx, no leak, no long echo, problem+json on errors."""
        self.result.tried += 1
        text = r.text
        self.check_leak(what, text)
        if r.status_code >= 500 and not (
            r.status_code in (501, 503) and "/devices" in str(r.request.url)
        ):
            self.result.fail("http_5xx", f"{what}: {r.status_code} {text[:200]!r}")
        if FILLER * (ECHO_LIMIT + 1) in text or _echoes(sent, text):
            self.result.fail("echo", f"{what}: {r.status_code}, {len(text)} characters echoed")
        if r.status_code >= 400:
            self.check_problem(what, r)

    def check_problem(self, what: str, r: httpx.Response) -> None:
        ctype = r.headers.get("content-type", "")
        missing: list[str] = []
        if ctype.split(";")[0].strip() != "application/problem+json":
            missing.append(f"content-type {ctype!r}")
        try:
            body = r.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            missing.append("a JSON object body")
        else:
            missing += [k for k in ("type", "title", "status", "detail", "code") if k not in body]
            if body.get("status") not in (None, r.status_code):
                missing.append(f"status {r.status_code} in the body")
        if missing:
            self.result.fail("problem_json", f"{what}: {r.status_code} lacks {', '.join(missing)}")

    def request(
        self, what: str, method: str, path: str, sent: str | bytes = "", **kwargs: Any
    ) -> httpx.Response | None:
        try:
            try:
                r = self.client.request(method, path, **kwargs)
            except httpx.TransportError:
                # a connection the server closed after its previous answer (e.g. a 500) is
                # not this probe's fault: once more on a fresh connection
                self.client.close()
                self.client = _client(self.server)
                r = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.result.tried += 1
            if not self.server.alive():
                self.result.fail("http_5xx", f"{what}: the server died ({type(exc).__name__})")
            else:
                self.result.fail("http_5xx", f"{what}: no answer ({type(exc).__name__}: {exc})")
            return None
        self.check_error_body(what, r, sent)
        return r


def _client(server: ServeProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth, timeout=30.0)


def _echoes(sent: str | bytes, text: str) -> bool:
    """Whether ``text`` holds a run of more than 200 characters of ``sent`` (sampled)."""
    if isinstance(sent, bytes):
        sent = sent.decode("utf-8", "replace")
    if len(sent) <= ECHO_LIMIT or len(text) <= ECHO_LIMIT:
        return False
    step = max(1, (len(sent) - ECHO_LIMIT) // 50)
    return any(sent[i : i + ECHO_LIMIT + 1] in text for i in range(0, len(sent) - ECHO_LIMIT, step))


# ------------------------------------------------------------------------------------ probes


def _auth(p: _Probe) -> None:
    doc = p.client.get("/api/v1/openapi.json").json()
    # one client without the token for every probe (a client per request built a TLS context
    # each time: ~30 ms of CPU, several seconds over the probes); as before, a new connection
    # for each probe (none kept alive, so a 500 that closes one cannot fail the next probe)
    # and httpx's default timeout
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as bare:
        _auth_probes(p, bare, doc)


def _auth_probes(p: _Probe, bare: httpx.Client, doc: dict[str, Any]) -> None:
    for path, ops in doc["paths"].items():
        if path == "/api/v1/health":
            continue
        concrete = path.replace("{session_id}", "0" * 32)
        for method in ops:
            for label, headers in (
                ("no token", {}),
                ("wrong token", {"Authorization": "Bearer " + "x" * 43}),
                ("not bearer", {"Authorization": "Basic " + p.server.token}),
            ):
                p.result.tried += 1
                r = bare.request(method.upper(), p.server.url + concrete, headers=headers)
                p.check_leak(f"{method.upper()} {path} ({label})", r.text)
                if r.status_code != 401:
                    p.result.fail(
                        "auth", f"{method.upper()} {path} with {label}: {r.status_code}, not 401"
                    )


async def _ws_try(url: str, headers: dict[str, str] | None = None) -> str:
    """Connect and wait briefly: 'refused' (handshake or close 1008) or 'accepted'."""
    import websockets

    try:
        async with websockets.connect(url, additional_headers=headers or {}, open_timeout=10) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 2.0)
            except TimeoutError:
                return "accepted"
            except websockets.ConnectionClosed as exc:
                return "refused" if exc.rcvd is not None and exc.rcvd.code == 1008 else "closed"
            return "accepted"
    except websockets.InvalidStatus:
        return "refused"
    except websockets.ConnectionClosed as exc:
        return "refused" if exc.rcvd is not None and exc.rcvd.code == 1008 else "closed"


def _start_sim(p: _Probe) -> str | None:
    r = p.client.post(
        "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 1, "speed": 1}}
    )
    return str(r.json()["id"]) if r.status_code == 201 else None


def _websocket(p: _Probe) -> None:
    sid = _start_sim(p)
    if sid is None:
        p.result.fail("http_5xx", "could not start a simulator session for the WebSocket probes")
        return
    base = f"{p.server.ws_url}/api/v1/sessions/{sid}/live"
    p.result.tried += 3
    good = asyncio.run(_ws_try(f"{base}?token={p.server.token}", {"Origin": p.server.url}))
    if good != "accepted":
        p.result.fail("ws_auth", f"the right token from the service's own origin: {good}")
    wrong = asyncio.run(_ws_try(f"{base}?token={'x' * 43}"))
    if wrong == "accepted":
        p.result.fail("ws_auth", "the live WebSocket streams with a wrong token")
    foreign = asyncio.run(
        _ws_try(f"{base}?token={p.server.token}", {"Origin": "http://evil.example"})
    )
    if foreign == "accepted":
        p.result.fail("ws_origin", "a valid token from Origin http://evil.example streams")
    p.client.post(f"/api/v1/sessions/{sid}/stop")


def _huge_query(p: _Probe) -> None:
    for query in ("offset=9223372036854775808", "limit=9223372036854775808", "offset=-1"):
        for path in ("/api/v1/sessions", "/api/v1/checkins", "/api/v1/microbreaks/history"):
            r = p.request(f"GET {path}?{query}", "GET", f"{path}?{query}")
            if (
                r is not None
                and r.status_code != 422
                and not (r.status_code == 200 and "offset" not in query and "limit" not in query)
            ):
                if r.status_code == 200 and path != "/api/v1/sessions":
                    continue  # that list has no such parameter: ignored, fine
                p.result.fail("huge_query", f"GET {path}?{query}: {r.status_code}, not 422")


#: JSON routes and a valid body for each (``{sid}``: a live simulator session).
JSON_ROUTES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("POST", "/api/v1/sessions", {"source": {"kind": "simulator", "seed": 1}}),
    ("POST", "/api/v1/checkins", {"stress": 3, "energy": 3}),
    ("PUT", "/api/v1/microbreaks/settings", {}),
    ("POST", "/api/v1/sessions/{sid}/simulator", {"stress": 0.5}),
)


def _oversize(p: _Probe, size_mb: int, sid: str) -> None:
    size = max(size_mb << 20, 2 * MAX_BODY_BYTES)
    for method, route, _ in JSON_ROUTES:
        path = route.replace("{sid}", sid)
        body = b'{"source": {"kind": "simulator", "seed": 1}, "mode": "'
        body += FILLER.encode() * (size - len(body) - 2) + b'"}'
        what = f"{method} {route} with a {len(body) >> 20} MiB JSON body"
        try:
            r = p.client.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            p.result.tried += 1  # refused by closing the connection: fine if still alive
            if not p.server.alive():
                p.result.fail("http_5xx", f"{what}: the server died")
            continue
        p.check_error_body(what, r)
        if r.status_code != 413:
            p.result.fail("oversize_413", f"{what}: {r.status_code}, not 413")

    def chunks() -> Any:
        yield b'{"source": {"kind": "simulator", "seed": 1}, "mode": "'
        piece = FILLER.encode() * (1 << 16)
        for _ in range(size // len(piece)):
            yield piece
        yield b'"}'

    what = f"POST /api/v1/sessions with a chunked {size >> 20} MiB body"
    try:
        r = p.client.post(
            "/api/v1/sessions", content=chunks(), headers={"Content-Type": "application/json"}
        )
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        p.result.tried += 1
    else:
        p.check_error_body(what, r)
        if r.status_code != 413:
            p.result.fail("oversize_chunked_413", f"{what}: {r.status_code}, not 413")

    # four at once: the server's memory must not follow the bodies
    before = p.server.rss_bytes()
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], p.server.rss_bytes())
            time.sleep(0.02)

    def send() -> None:
        body = b'{"mode": "' + FILLER.encode() * size + b'"}'
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                p.server.url + "/api/v1/sessions",
                content=body,
                headers={**p.server.auth, "Content-Type": "application/json"},
                timeout=120,
            )

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    senders = [threading.Thread(target=send) for _ in range(4)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    stop.set()
    sampler.join()
    p.result.tried += 1
    growth = peak[0] - before
    p.result.notes.append(
        f"4 x {size >> 20} MiB bodies at once: server RSS {before >> 20} -> peak "
        f"{peak[0] >> 20} MiB"
    )
    if growth > MEMORY_GROWTH_LIMIT:
        p.result.fail(
            "oversize_memory",
            f"4 x {size >> 20} MiB bodies at once grew the server by {growth >> 20} MiB "
            f"(limit {MEMORY_GROWTH_LIMIT >> 20} MiB)",
        )


#: Malformed bodies: (label, bytes, content type).
JSON = "application/json"
MALFORMED: tuple[tuple[str, bytes, str], ...] = (
    ("empty", b"", JSON),
    ("truncated", b'{"source": {"kind": ', JSON),
    ("null", b"null", JSON),
    ("array", b"[]", JSON),
    ("string", b'"x"', JSON),
    ("1e999", b'{"source": {"kind": "simulator", "speed": 1e999}, "stress": 1e999}', JSON),
    ("NaN", b'{"source": {"kind": "simulator", "speed": NaN}, "stress": NaN}', JSON),
    ("5000-digit int", b'{"source": {"kind": "simulator", "seed": 1' + b"0" * 5000 + b"}}", JSON),
    ("2**70 seed", b'{"source": {"kind": "simulator", "seed": 1180591620717411303424}}', JSON),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, JSON),
    ("deep objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
    ("bad UTF-8", b'{"source": {"kind": "\xff\xfe\xfd"}}', JSON),
    ("NUL", b'{"source": {"kind": "simulator\x00"}}', JSON),
    ("unknown kind", b'{"source": {"kind": "' + b"k" * 5000 + b'"}}', JSON),
    ("long key", b'{"' + b"k" * 300_000 + b'": 1}', JSON),
    ("duplicate keys", b'{"stress": 1, "stress": 2, "energy": 3, "energy": "x"}', JSON),
    ("text/plain", b'{"source": {"kind": "simulator"}}', "text/plain"),
    ("form", b"source=simulator", "application/x-www-form-urlencoded"),
    ("wrong types", b'{"source": [1, 2], "stress": "high", "energy": {}}', JSON),
)


def _malformed(p: _Probe, sid: str) -> None:
    for method, route, _ in JSON_ROUTES:
        path = route.replace("{sid}", sid)
        for label, body, ctype in MALFORMED:
            what = f"{method} {route} with {label}"
            headers = {"Content-Type": ctype}
            r = p.request(what, method, path, sent=body, content=body, headers=headers)
            if r is not None and not 400 <= r.status_code < 500:
                if r.status_code < 300 and label in ("duplicate keys", "2**70 seed"):
                    continue  # last key wins / a big seed may be valid: accepted is fine
                p.result.fail("malformed_4xx", f"{what}: {r.status_code}, not 4xx")


def _stop_all(p: _Probe) -> None:
    r = p.client.get("/api/v1/sessions", params={"limit": 1000})
    if r.status_code == 200:
        for s in r.json().get("sessions", r.json().get("items", [])):
            if isinstance(s, dict) and s.get("state") not in ("ended", "failed", "stopped"):
                p.client.post(f"/api/v1/sessions/{s.get('id')}/stop")


def _replay_paths(p: _Probe, targets: dict[str, Path]) -> None:
    """Replays of server paths: never started, never quoted, no existence oracle."""
    missing = Path(tempfile.gettempdir()) / f"hrvpace-faults-missing-{secrets.token_hex(6)}.txt"
    statuses: dict[str, int] = {}
    for label, path in {**targets, "missing file": missing}.items():
        body = {"source": {"kind": "replay", "path": str(path), "speed": "max"}}
        r = p.request(f"replay of {label}", "POST", "/api/v1/sessions", json=body)
        if r is None:
            continue
        statuses[label] = r.status_code
        if r.status_code < 300:
            p.result.fail("replay_path_read", f"replay of {label} ({path}): {r.status_code}")
            sid = r.json().get("id")
            n_failures = len(p.result.failures)
            for _ in range(20):  # the session's message is where the first line came out
                time.sleep(0.05)
                got = p.client.get(f"/api/v1/sessions/{sid}")
                p.check_leak(f"GET the session replaying {label}", got.text)
                if len(p.result.failures) > n_failures:
                    break
            listed = p.client.get("/api/v1/sessions")
            p.check_leak(f"GET /api/v1/sessions after a replay of {label}", listed.text)
    existing = {k: v for k, v in statuses.items() if k != "missing file"}
    if "missing file" in statuses and any(v != statuses["missing file"] for v in existing.values()):
        p.result.fail(
            "replay_path_oracle",
            f"existing paths answered {sorted(set(existing.values()))}, a missing one "
            f"{statuses['missing file']}: the answer tells whether a path exists",
        )
    for name in ("../../../../etc/passwd", "/etc/passwd", "..", "a/../../token", "x\x00y", "."):
        body = {"source": {"kind": "replay", "recording": name, "speed": "max"}}
        r = p.request(f"replay of recording {name!r}", "POST", "/api/v1/sessions", json=body)
        if r is not None and r.status_code < 300:
            p.result.fail("recording_name", f"replay of recording {name!r}: {r.status_code}")
    _stop_all(p)


#: Raw request targets that try to climb out of the static folder or the API.
TRAVERSALS = (
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/js/../../app.py",
    "/js/%2e%2e/%2e%2e/app.py",
    "/js/..%2f..%2fapp.py",
    "/%2e%2e%2fapp.py",
    "/static/../../api/app.py",
    "//etc/passwd",
    "/./../settings.py",
    "/js/%252e%252e/%252e%252e/app.py",
    "/index.html%00.py",
    "/api/v1/sessions/..%2f..%2f..%2fhealth",
    "/api/v1/sessions/%2e%2e/%2e%2e/openapi.json/beats",
    "/api/v1/sessions/' OR '1'='1/beats",
    "/api/v1/sessions/" + "a" * 20_000 + "/beats",
)
#: Text of files outside the static folder that must never come back.
FOREIGN_TEXT = ("root:x:0:0", "def create_app", "class Settings(BaseSettings)")


def _url_traversal(p: _Probe) -> None:
    for target in TRAVERSALS:
        for headers in ({}, p.server.auth):
            p.result.tried += 1
            what = f"GET {target[:80]}" + (" (with token)" if headers else "")
            try:
                raw = _raw_request(p.server.url, target, headers)
            except OSError as exc:
                p.result.fail("http_5xx", f"{what}: {type(exc).__name__}: {exc}")
                continue
            text = raw.decode("latin-1")
            status_line = text.split("\r\n", 1)[0]
            if " 5" in status_line[8:13]:
                p.result.fail("http_5xx", f"{what}: {status_line}")
            for foreign in FOREIGN_TEXT:
                if foreign in text:
                    p.result.fail("url_traversal", f"{what}: the response holds {foreign!r}")
            p.check_leak(what, text)


def _upload(p: _Probe, data_dir: Path, shared: Path) -> None:
    """The recordings folder (issue 13 item 1): upload with a hostile name, replay by name."""
    rr = (shared / "hrvpkg_rest_rri_ms.txt").read_bytes()
    files = {"file": ("../../../escaped-recording.txt", rr, "text/plain")}
    r = p.request("upload with a ../ file name", "POST", "/api/v1/recordings", files=files)
    if r is None:
        return
    if r.status_code == 404 or r.status_code == 405:
        p.result.fail("upload", f"POST /api/v1/recordings: {r.status_code} (no such route)")
        return
    if r.status_code >= 300:
        p.result.fail("upload", f"upload of a valid recording: {r.status_code} {r.text[:200]!r}")
        return
    escaped = [q for q in data_dir.parent.rglob("escaped-recording*") if data_dir not in q.parents]
    if escaped:
        p.result.fail("upload", f"a ../ file name was stored outside the data dir: {escaped}")
    try:
        name = r.json().get("name")
    except ValueError:
        name = None
    if not isinstance(name, str) or "/" in name or ".." in name:
        p.result.fail("upload", f"upload answered name {name!r}")
        return
    body = {"source": {"kind": "replay", "recording": name, "speed": "max"}}
    started = p.request("replay by uploaded name", "POST", "/api/v1/sessions", json=body)
    if started is not None and started.status_code != 201:
        p.result.fail("replay_by_name", f"replay of {name!r}: {started.status_code}")
    big = {"file": ("big.txt", b"800\n" * (40 << 20 >> 2), "text/plain")}
    r = p.request("upload of 40 MiB", "POST", "/api/v1/recordings", files=big)
    if r is not None and r.status_code < 300:
        p.result.fail("upload", "an upload of 40 MiB was accepted (no size limit)")
    _stop_all(p)


def run_http(*, oversize_mb: int = 100, seed: int = 13, data_dir: Path | None = None) -> PartResult:
    """Every probe of this module against one fresh ``hrvpace serve``; see the check ids above."""
    from bench._common import shared_data_dir

    del seed  # the probes are a fixed list
    result = PartResult("http")
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hrvpace-faults-http-"))
    marker = "hrvpace-faults-env-" + secrets.token_hex(8)
    secret_file = work / "secret.txt"
    secret_line = "hrvpace-faults-secret-" + secrets.token_hex(8)
    secret_file.write_text(secret_line + "\n810\n820\n")
    server = ServeProcess(work / "data", env={"HRVPACE_FAULTS_MARKER": marker})
    token_file = work / "data" / "token"
    secret_values = [secret_line, marker, server.token]
    passwd = Path("/etc/passwd")
    if passwd.is_file():
        secret_values.append(passwd.read_text().splitlines()[0])
    p = _Probe(server, result, secret_values)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("auth", lambda: _auth(p)),
        ("websocket", lambda: _websocket(p)),
        ("huge query", lambda: _huge_query(p)),
        (
            "replay paths",
            lambda: _replay_paths(
                p,
                {
                    "a secret file": secret_file,
                    "the token file": token_file,
                    "/etc/passwd": passwd,
                    "/proc/self/environ": Path("/proc/self/environ"),
                },
            ),
        ),
        ("url traversal", lambda: _url_traversal(p)),
        ("upload", lambda: _upload(p, work / "data", data_dir or shared_data_dir())),
    ]
    try:
        sid = _start_sim(p) or "0" * 32
        steps += [
            ("malformed", lambda: _malformed(p, sid)),
            ("oversize", lambda: _oversize(p, oversize_mb, sid)),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # a probe that could not run is a failure, not a skip
                result.fail("http_5xx", f"probe {name} broke: {type(exc).__name__}: {exc}")
            if not server.alive():
                result.fail("http_5xx", f"the server died during the {name} probes")
                break
        _stop_all(p)
    finally:
        p.client.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    result.seconds = time.monotonic() - t0
    return result


def _dump(result: PartResult) -> str:  # pragma: no cover - debugging aid
    return json.dumps([f.__dict__ for f in result.failures], indent=1)
