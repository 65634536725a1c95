"""The headers that forbid framing and sniffing, shared by the middleware and the 500 handler.

:class:`webconventions.middleware.SecurityHeadersMiddleware` adds them to every answer that
passes through it; a 500 is answered by Starlette's error middleware, outside every user
middleware, so :func:`webconventions.problems.install_problem_handlers` puts them on the 500
itself. Kept here, apart from both, so neither module imports the other for them.
"""

from __future__ import annotations

__all__ = ["SECURITY_HEADERS", "security_headers"]

#: Every HTTP answer says these (a header a route set itself is kept): ``nosniff`` (a browser
#: takes the declared type), ``DENY`` and ``frame-ancestors 'none'`` (no other site shows the
#: answer in a frame).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


def security_headers() -> dict[str, str]:
    """:data:`SECURITY_HEADERS` as text, for a response's ``headers=`` argument."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in SECURITY_HEADERS}
