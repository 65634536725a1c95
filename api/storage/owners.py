"""Which process runs a session: each opened database holds an *owner* lock while it is open.

A session row records the owner that made it (``sessions.owner``, schema 8). Opening the
database marks ``interrupted`` only the sessions left ``running`` whose owner is gone (its
process died, or closed its database with them unfinished), never those of another live
process: ``hrvpace replay --store`` beside a running ``hrvpace serve`` on the same data dir
marked the service's live sessions interrupted (code review, 2026-12-06), and a service started
beside a running ``replay --store`` would have marked the replay's.

The owner lock is ``fcntl.flock`` on a file ``<owner id>.lock`` in the folder
``<database>-owners`` next to the database (as :mod:`api.datadir`'s lock: the kernel releases
it when the process ends in any way, ``kill -9`` too, and a reused pid fools nothing). An owner
is alive while its file is locked; a file that can be locked, or is missing, is a gone owner's,
and is removed. A session without an owner (stored before schema 8) counts as a gone owner's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import uuid
from pathlib import Path

from api.storage.connection import DATA_DIR_MODE, DB_FILE_MODE

__all__ = ["Owner", "owner_alive", "owners_dir", "sweep_owners"]

_ID = re.compile(r"[0-9a-f]{32}")


def owners_dir(database: Path) -> Path:
    """The folder of the owner locks of ``database``."""
    return database.with_name(database.name + "-owners")


class Owner:
    """An opening's owner id, its lock held from creation to :meth:`release`.

    The lock file is made under a temporary name, locked, then renamed: a sweep
    (:func:`sweep_owners`) never sees an unlocked ``.lock`` file of a live owner.
    """

    def __init__(self, database: Path) -> None:
        folder = owners_dir(database)
        folder.mkdir(mode=DATA_DIR_MODE, exist_ok=True)
        self.id = uuid.uuid4().hex
        self.path = folder / f"{self.id}.lock"
        new = folder / f".{self.id}.new"
        fd = os.open(new, os.O_RDWR | os.O_CREAT | os.O_EXCL, DB_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else has it
            os.rename(new, self.path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(new)
            raise
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file and release the lock (its sessions count as gone)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def owner_alive(database: Path, owner_id: str | None) -> bool:
    """Whether ``owner_id``'s process still has the database open (its lock is held).

    A gone owner's lock file is removed. ``None`` or a malformed id: gone.
    """
    if owner_id is None or _ID.fullmatch(owner_id) is None:
        return False
    return _held(owners_dir(database) / f"{owner_id}.lock")


def _held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):  # gone: its file goes too
            os.unlink(path)
        return False
    finally:
        os.close(fd)


def sweep_owners(database: Path) -> None:
    """Remove the lock files of gone owners (processes killed with no session running)."""
    with contextlib.suppress(FileNotFoundError):
        for path in owners_dir(database).glob("*.lock"):
            _held(path)
