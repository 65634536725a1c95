"""A throw-away PostgreSQL server: ``initdb`` + ``pg_ctl`` in a temp dir on a free port.

Used by the hub's tests (one per test session) and ``python -m bench.hub``. Debian's
``postgresql`` package provides the binaries (``/usr/lib/postgresql/<v>/bin``); as root the
server runs as the unprivileged ``postgres`` user (PostgreSQL refuses root). Durability is off
(``fsync=off``, ``synchronous_commit=off``): it is thrown away at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PostgresMissingError", "pg_binary", "throwaway_postgres"]


class PostgresMissingError(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def pg_binary(name: str) -> str:
    """Path of a PostgreSQL server binary (``initdb``, ``pg_ctl``), newest version first."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise PostgresMissingError(
            f"PostgreSQL's {name} not found: install Debian's postgresql package "
            "(scripts/test.sh does)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Run a PostgreSQL server for the ``with`` block; yields its URL (user ``postgres``)."""
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="hrvpace-pg-"))
    data, sock_dir = root / "data", root / "sock"
    sock_dir.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in (root, sock_dir):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    try:
        subprocess.run(
            [
                *as_user,
                initdb,
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        opts = (
            f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -F "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)
