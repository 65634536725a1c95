"""Bearer tokens compared in constant time."""

from __future__ import annotations

import secrets

__all__ = ["token_matches"]


def token_matches(given: str | None, expected: str) -> bool:
    """Whether a presented token is the expected one, compared in constant time.

    Parameters
    ----------
    given
        The token the client sent (``None`` or empty: no token).
    expected
        The token the service holds.

    Returns
    -------
    bool
        ``True`` only for a non-empty ``given`` equal to ``expected``.
    """
    if not given:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())
