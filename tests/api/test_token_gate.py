"""The token is checked before a request body is read (review finding: an upload without a
token was read whole, 32 MiB, before its 401; any web page can send such a request)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.api.conftest import Server


def _raw_post(server: Server, path: str, headers: dict[str, str], body: bytes) -> tuple[str, float]:
    """Send headers and only ``body`` (not the declared length); return the answer's status line
    and how long it took."""
    u = urlsplit(server.url)
    start = time.monotonic()
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        lines = [f"POST {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = s.recv(4096).decode("latin-1")
    return answer.split("\r\n", 1)[0], time.monotonic() - start


def test_an_upload_without_the_token_is_refused_before_its_body(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    headers = {
        "Content-Type": "multipart/form-data; boundary=xyz",
        "Content-Length": str(30_000_000),  # declared, never sent: only 4 KB follow
    }
    status, took = _raw_post(server, "/api/v1/recordings", headers, b"x" * 4096)
    assert status.startswith("HTTP/1.1 401"), status
    assert took < 2.0, took  # answered at once, not after waiting for 30 MB
    # with the token the same declared size is judged by the upload's own limit (32 MiB)
    status, _ = _raw_post(
        server, "/api/v1/sessions", {**headers, "Content-Type": "application/json"}, b"{}"
    )
    assert status.startswith("HTTP/1.1 401"), status


def test_the_gate_leaves_public_paths_and_the_right_token_alone(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        assert c.get("/api/v1/sessions").status_code == 200
    import httpx

    # the first OpenAPI document is built on request: over 5 s on a loaded machine
    with httpx.Client(base_url=server.url, timeout=60) as anon:
        assert anon.get("/api/v1/health").status_code == 200
        assert anon.get("/api/v1/openapi.json").status_code == 200
        assert anon.get("/").status_code == 200  # the page itself
        r = anon.get("/api/v1/sessions", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "unauthorized"
        assert anon.get("/api/v1/sessions", headers={"Authorization": "Basic x"}).status_code == 401
