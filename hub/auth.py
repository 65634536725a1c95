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
    "MAKE_TOKEN_COMMAND",
    "MIN_ADMIN_TOKEN_CHARS",
    "AdminDep",
    "MemberDep",
    "MemberOrLeftDep",
    "MemberTokenDep",
    "admin_token_source",
    "load_or_create_admin_token",
    "rotate_admin_token",
]

#: The shortest admin token the hub takes (one it makes has 46 characters): a one-character
#: ``HRVPACE_HUB_ADMIN_TOKEN=x`` was accepted (outside review).
MIN_ADMIN_TOKEN_CHARS = 16

#: A command that prints a good admin token (as the hub makes them), for a token given by
#: ``HRVPACE_HUB_ADMIN_TOKEN`` or ``HRVPACE_HUB_ADMIN_TOKEN_FILE``: ``hrvpace hub token
#: --rotate`` refuses while either is set (it writes the data dir's file only).
MAKE_TOKEN_COMMAND = "python3 -c \"import secrets; print('ha_' + secrets.token_urlsafe(32))\""

_VARIABLE = "HRVPACE_HUB_ADMIN_TOKEN"
_FILE_VARIABLE = "HRVPACE_HUB_ADMIN_TOKEN_FILE"


def _long_enough(token: str, where: str, advice: str) -> str:
    if len(token) < MIN_ADMIN_TOKEN_CHARS:
        raise HubConfigError(
            f"{where}: the admin token has {len(token)} characters, fewer than "
            f"{MIN_ADMIN_TOKEN_CHARS}; use a long random one: {advice}"
        )
    return token


def _variable_advice() -> str:
    return (
        f"make one with {MAKE_TOKEN_COMMAND}, set {_VARIABLE} to it in every hub process's "
        "environment and restart them"
    )


def _file_advice(path: Path) -> str:
    return (
        f"make one with {MAKE_TOKEN_COMMAND}, write it into {path} (chmod 600) and restart "
        "every hub process"
    )


_ROTATE_ADVICE = "hrvpace hub token --rotate makes one (then restart the hub)"


def admin_token_source(settings: HubSettings) -> str:
    """Where the admin token in force comes from, for ``serve``'s start and ``hub token``.

    The precedence of :func:`load_or_create_admin_token`: the variable, the file it names, the
    data dir's file; or none yet (the first ``serve`` or ``hub token --rotate`` makes it).
    """
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        return f"from {_VARIABLE}"
    if settings.admin_token_file is not None:
        return f"in {settings.admin_token_file} ({_FILE_VARIABLE})"
    if settings.admin_token_path.exists():
        return f"in {settings.admin_token_path}"
    return (
        f"none yet (it will be {settings.admin_token_path}: `hrvpace hub serve` or "
        "`hrvpace hub token --rotate` makes it)"
    )


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
    return _long_enough(token, str(path), _file_advice(path))


def load_or_create_admin_token(settings: HubSettings) -> tuple[str, bool]:
    """The admin token and whether it was created just now (to print it once).

    Raises
    ------
    HubConfigError
        The token file is empty or readable by others, or a token (the variable's or a
        file's) is shorter than :data:`MIN_ADMIN_TOKEN_CHARS`.
    """
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        return _long_enough(
            settings.admin_token.get_secret_value(), _VARIABLE, _variable_advice()
        ), False
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
        return _long_enough(token, str(path), _ROTATE_ADVICE), False
    token = _new_token()
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, True


def _new_token() -> str:
    return "ha_" + secrets.token_urlsafe(32)


def rotate_admin_token(settings: HubSettings) -> str:
    """Replace the admin token file of the data dir with a new token (0600); returns it.

    The file is replaced at once (written beside it, then renamed over it); hub processes
    read it at start, so the old token works until each is restarted.

    Raises
    ------
    HubConfigError
        ``HRVPACE_HUB_ADMIN_TOKEN`` or ``HRVPACE_HUB_ADMIN_TOKEN_FILE`` is set: the token is
        not the data dir's file, so that is what to change.
    """
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        raise HubConfigError(
            f"{_VARIABLE} is set and overrides the token file: {_variable_advice()}"
        )
    if settings.admin_token_file is not None:
        raise HubConfigError(f"{_FILE_VARIABLE} is set: {_file_advice(settings.admin_token_file)}")
    path = settings.admin_token_path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = _new_token()
    new = path.with_name(path.name + ".new")
    new.unlink(missing_ok=True)
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(new, path)
    return token


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
