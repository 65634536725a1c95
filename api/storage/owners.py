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

This process's own live owners (:data:`_OWN`, emptied in a forked child: its parent's are
another process's) are never probed: where ``flock`` is emulated by
POSIX record locks (NFS), those belong to the process, so probing its own file would take the
lock, remove the file, and on closing the probe's descriptor drop the lock it held (code
review, 2026-12-06; the data dir must be on a local disk, as SQLite's WAL needs anyway). A
forked child that releases an inherited :class:`Owner` closes its copy of the descriptor and
leaves the file, its parent's (the lock is its parent's too: the child never unlocks it). A lock
file that cannot be opened or locked for another reason than being missing (made by another
user, ``ENOLCK``, ...) counts as alive: logged, never marked, and never a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
import uuid
from pathlib import Path

from api.storage.connection import DATA_DIR_MODE, DB_FILE_MODE

__all__ = ["Owner", "owner_alive", "owners_dir", "sweep_owners"]

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9a-f]{32}")

#: The ids of this process's owners not yet released: alive, never probed.
_OWN: set[str] = set()
_OWN_LOCK = threading.Lock()


def _forget_in_child() -> None:
    """A forked child owns none of its parent's owners: it probes them as any other process.

    Its copy of :data:`_OWN` would count the parent's owners alive for good, after the parent
    released them too (rev13 review); the lock is made anew, as another thread of the parent
    may have held it at the fork.
    """
    global _OWN_LOCK
    _OWN_LOCK = threading.Lock()
    _OWN.clear()


os.register_at_fork(after_in_child=_forget_in_child)


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
        #: The process that made it: only it removes the file (not a forked child).
        self._pid = os.getpid()
        with _OWN_LOCK:
            _OWN.add(self.id)

    def release(self) -> None:
        """Remove the lock file and release the lock (its sessions count as gone).

        In a forked child only its copy of the descriptor is closed: the file and the lock
        are its parent's, whose sessions must not count as gone.
        """
        if self._fd is None:
            return
        if os.getpid() == self._pid:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self._fd)
        self._fd = None
        with _OWN_LOCK:
            _OWN.discard(self.id)


def owner_alive(database: Path, owner_id: str | None) -> bool:
    """Whether ``owner_id``'s process still has the database open (its lock is held).

    A gone owner's lock file is removed. ``None`` or a malformed id: gone. This process's
    own owners are alive, never probed (:data:`_OWN`).
    """
    if owner_id is None or _ID.fullmatch(owner_id) is None:
        return False
    return _held(owners_dir(database) / f"{owner_id}.lock")


def _own(path: Path) -> bool:
    with _OWN_LOCK:
        return path.stem in _OWN


def _held(path: Path) -> bool:
    if _own(path):
        return True
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError as exc:  # another user's file, a folder, ...: never marked, never a crash
        log.warning("owner lock %s cannot be opened (%s): its owner counts as alive", path, exc)
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError as exc:  # ENOLCK, ...
            log.warning("owner lock %s cannot be tested (%s): its owner counts as alive", path, exc)
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
