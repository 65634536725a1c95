"""The API token: created on first run (file readable by the user only), checked on every request.

``HRVPACE_TOKEN`` (``Settings.token``) overrides the file. Every endpoint but ``/api/v1/health``
requires ``Authorization: Bearer <token>``; the live WebSocket also takes it as a
``bearer.<token>`` subprotocol or ``?token=`` (``api.routes.live``).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.settings import Settings
from webconventions.tokens import token_matches  # the routes that read a token elsewhere use it

__all__ = [
    "TOKEN_HINT",
    "TokenFileError",
    "load_or_create_token",
    "require_token",
    "token_matches",
]

#: Where the token is found, said after every "missing or wrong token" (first-day review F6).
#: Not the file's full path: the answer goes to anyone reaching the port, before any token.
TOKEN_HINT = (
    "the token is printed by `hrvpace serve` and `hrvpace demo` (token: ...) and kept in the "
    "file `token` in their data dir (data: ...; HRVPACE_TOKEN overrides it)"
)

_bearer = HTTPBearer(auto_error=False, description="The token printed by `hrvpace serve`.")


class TokenFileError(ApiError):
    """The token file exists but cannot be used (empty, or readable by other users)."""


def load_or_create_token(settings: Settings) -> str:
    """Return the API token: ``settings.token`` if set, else the token file, created if missing.

    The file is created with mode 0600 (``O_EXCL``, so two starting servers cannot race).

    Raises
    ------
    TokenFileError
        The file is empty or readable/writable by group or others.
    """
    if settings.token is not None and settings.token.get_secret_value():
        return settings.token.get_secret_value()
    path: Path = settings.token_path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data dir: the user's only
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise TokenFileError(
                f"{path}: token file has mode {mode:o}; it must be readable by you only "
                f"(chmod 600 {path})"
            ) from None
        token = path.read_text().strip()
        if token:
            return token
        raise TokenFileError(f"{path}: token file is empty; delete it to get a new one") from None
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """FastAPI dependency: 401 unless ``Authorization: Bearer <token>`` is right."""
    expected: str = request.app.state.token
    if credentials is None or not token_matches(credentials.credentials, expected):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=f"missing or wrong token: send 'Authorization: Bearer <token>'; {TOKEN_HINT}",
            headers={"WWW-Authenticate": "Bearer"},
        )
