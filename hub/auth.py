"""Tokens of the hub: one admin token, and a token per member (only its SHA-256 is stored).

The admin token is ``HRVPACE_HUB_ADMIN_TOKEN`` or the file ``admin-token`` of the data dir,
created 0600 at first start. Both kinds travel as ``Authorization: Bearer <token>``; TLS in
front of the hub is expected (README).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.errors import HubConfigError
from hub.settings import HubSettings
from hub.store import HubStore, Member
from webconventions.tokens import token_matches

__all__ = [
    "AdminDep",
    "MemberDep",
    "MemberOrLeftDep",
    "MemberTokenDep",
    "load_or_create_admin_token",
]

_bearer = HTTPBearer(auto_error=False, description="Admin token, or a member's token.")


def _read_token_file(path: Path) -> str:
    """The token in ``path``, which must be readable by its owner only and not empty."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        token = path.read_text().strip()
    except OSError as exc:
        raise HubConfigError(f"{path}: cannot read the admin token file ({exc})") from None
    if mode & 0o077:
        raise HubConfigError(f"{path}: admin token file has mode {mode:o}; chmod 600 {path}")
    if not token:
        raise HubConfigError(f"{path}: admin token file is empty")
    return token


def load_or_create_admin_token(settings: HubSettings) -> tuple[str, bool]:
    """The admin token and whether it was created just now (to print it once).

    Raises
    ------
    HubConfigError
        The token file is empty or readable by others.
    """
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        return settings.admin_token.get_secret_value(), False
    if settings.admin_token_file is not None:
        return _read_token_file(settings.admin_token_file), False
    path = settings.admin_token_path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise HubConfigError(
                f"{path}: admin token file has mode {mode:o}; chmod 600 {path}"
            ) from None
        token = path.read_text().strip()
        if not token:
            raise HubConfigError(f"{path}: admin token file is empty; delete it") from None
        return token, False
    token = "ha_" + secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, True


def _unauthorized(what: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=f"missing or wrong {what} token: send 'Authorization: Bearer <token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries the admin token."""
    expected: str = request.app.state.admin_token
    if not token_matches(credentials.credentials if credentials else None, expected):
        raise _unauthorized("admin")


def require_member(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Member:
    """The member whose token the request carries; 401 for none, a wrong or a revoked one."""
    store: HubStore = request.app.state.store
    member = store.member_for_token(credentials.credentials) if credentials else None
    if member is None:
        raise _unauthorized("member")
    return member


def require_member_or_left(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Member:
    """The member whose token the request carries, also one who stopped sharing.

    Such a member may still delete their contributions; 401 for no token or an unknown
    (deleted) one.
    """
    store: HubStore = request.app.state.store
    member = store.member_for_token_to_delete(credentials.credentials) if credentials else None
    if member is None:
        raise _unauthorized("member")
    return member


async def member_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer token as sent (checked by the route in its own transaction); 401 if none."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("member")
    return credentials.credentials


AdminDep = Depends(require_admin)
MemberTokenDep = Annotated[str, Depends(member_token)]
MemberDep = Annotated[Member, Depends(require_member)]
MemberOrLeftDep = Annotated[Member, Depends(require_member_or_left)]
