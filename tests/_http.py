"""One TLS context for the suite's HTTP clients.

httpx gives every ``Client`` a new :class:`ssl.SSLContext` loaded with certifi's CA bundle,
about 30 ms of CPU, even a client that only speaks plain HTTP to a test server on 127.0.0.1.
The suite's helpers create thousands of clients (one per check in many tests): building
identical contexts was the hottest function of a whole CI run (about 120 s of py-spy's samples
over workers and subprocesses, 2026-12-07). The helpers pass ``verify=CLIENT_TLS`` instead:
the same checks as httpx's default, built by httpx's own function once per process.
"""

from __future__ import annotations

import httpx

CLIENT_TLS = httpx.create_ssl_context()
