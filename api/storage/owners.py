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
An opening probes each lock file once (:class:`OwnerProbe`).

The lock file is made as ``.<owner id>.new``, locked, then renamed (:class:`Owner`): a sweep
never sees an unlocked ``.lock`` file of a live owner. A process killed between making and
renaming it leaves its ``.new`` file; an opening removes one that is at least
:data:`NEW_STALE_S` old and not locked. The age keeps a sweep off a file its maker has just made
and not yet locked (microseconds: a sweep taking it then would make the maker fail); the lock
keeps it off one a stalled maker has locked and is about to rename. A ``.new`` file that cannot
be opened (another user's) is removed at that age all the same: no session names it. Should a
sweep take a maker's file all the same (a maker stalled over :data:`NEW_STALE_S` between making
and locking it), the maker finds its file locked or gone and starts again under a new id.

This process's own live owners (:data:`_OWN`, emptied in a forked child: its parent's are
another process's) are never probed: where ``flock`` is emulated by
POSIX record locks (NFS), those belong to the process, so probing its own file would take the
lock, remove the file, and on closing the probe's descriptor drop the lock it held (code
review, 2026-12-06; the data dir must be on a local disk, as SQLite's WAL needs anyway). A
forked child that releases an inherited :class:`Owner` closes its copy of the descriptor and
leaves the file, its parent's (the lock is its parent's too: the child never unlocks it).

A process run as root (``sudo hrvpace replay --store``) gives the owners folder it makes and each
lock file it makes to the database file's owner, as SQLite does its ``-wal`` and ``-shm`` files
(:func:`_files_owner`): the user's own service can then probe and remove them. A root-owned
folder made otherwise (by an older hrvpace) stops every opening of that user; ``serve``'s check
before it starts, and an opening, say so naming the folder and the fix
(:func:`folder_problem`).

A lock file that cannot be opened or locked for another reason than being missing (another
user's, left by a killed ``sudo hrvpace replay --store`` of an older hrvpace, or made when the
database file was root's; an ``ENOLCK`` on that one file) cannot be probed: its owner counts as
alive, so any sessions it started stay ``running``; never marked (it may be alive), never a
crash. The opening lists it (:attr:`OwnerProbe.unprobed`), and the service says so in its log at
WARNING and in ``GET /api/v1/health`` (``storage_warnings``, re-checked at each request:
:meth:`Unprobed.public_warning`), with what to do: if no process of that user has the database
open, delete the file; the next opening marks its sessions ``interrupted``. Where ``flock`` does
not work at all (a file system without locks), no opening gets this far: its own owner lock
cannot be taken, and the database cannot be opened ("No locks available").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import pwd
import re
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from api.storage.connection import DATA_DIR_MODE, DB_FILE_MODE

__all__ = [
    "NEW_STALE_S",
    "Owner",
    "OwnerProbe",
    "Unprobed",
    "folder_problem",
    "owner_alive",
    "owners_dir",
]

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9a-f]{32}")
_NEW = re.compile(r"\.([0-9a-f]{32})\.new")

#: Age (s, by its modification time) from which a ``.<id>.new`` file that is not locked is a
#: killed maker's and is removed. Its maker holds it unlocked for microseconds.
NEW_STALE_S = 60.0

#: Tries of an :class:`Owner` whose temporary file a sweep took (each under a new id).
_MAKE_TRIES = 3

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


def _files_owner(database: Path) -> tuple[int, int] | None:
    """Whom to give the owner files this process makes: ``(uid, gid)``, ``None``: nobody else.

    A process run as root gives them to the database file's owner, as SQLite gives its
    ``-wal`` and ``-shm`` files (``robustFchown``): a root-owned folder stopped the user's
    service from opening the database at all, and a root-owned lock file left by a killed
    ``sudo hrvpace replay --store`` could not be probed, keeping its sessions ``running``
    (review of the owner locks, 2026-12).
    """
    if os.geteuid() != 0:
        return None
    try:
        st = os.stat(database)
    except OSError:
        return None
    return st.st_uid, st.st_gid


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def folder_problem(database: Path) -> str | None:
    """Why this process cannot make its owner lock next to ``database``, and the fix.

    ``None``: it can, or the folder is not there yet (the opening makes it). An owners folder
    root made (a ``sudo`` run of an older hrvpace, the first opening after an upgrade or after
    the folder was deleted) failed the user's opening with "Permission denied" on a file in
    it, and ``serve`` passed its check before starting (review of the owner locks, 2026-12).
    """
    folder = owners_dir(database)
    try:
        st = folder.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot use the owner lock folder {folder} ({exc.strerror or exc})"
    if not stat.S_ISDIR(st.st_mode):
        return (
            f"the owner lock folder {folder} is a file, not a folder: if no hrvpace process "
            "has this database open, remove it"
        )
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    me = os.geteuid()
    if st.st_uid == me:
        fix = f"chmod u+rwx {folder}"
        whose = f"its mode is {stat.filemode(st.st_mode)}"
    else:
        fix = f"sudo chown -R {_user(me)} {folder}"
        whose = f"it belongs to {_user(st.st_uid)}, made by a run with sudo?"
    return (
        f"no permission to write the owner lock folder {folder} ({whose}); "
        f"give it to this user: {fix}"
    )


class Owner:
    """An opening's owner id, its lock held from creation to :meth:`release`.

    The lock file is made under a temporary name, locked, then renamed: a sweep
    (:meth:`OwnerProbe.sweep`) never sees an unlocked ``.lock`` file of a live owner.
    """

    def __init__(self, database: Path) -> None:
        folder = owners_dir(database)
        give_to = _files_owner(database)
        try:
            folder.mkdir(mode=DATA_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
        else:
            if give_to is not None:  # not through a link put there meanwhile
                with contextlib.suppress(OSError):
                    os.chown(folder, *give_to, follow_symlinks=False)
        for _ in range(_MAKE_TRIES):
            self.id = uuid.uuid4().hex
            self.path = folder / f"{self.id}.lock"
            fd = _make_locked(folder / f".{self.id}.new", self.path, give_to)
            if fd is not None:
                break
        else:
            raise OSError(
                errno.EAGAIN,
                f"other processes' sweeps took its new owner lock file {_MAKE_TRIES} times",
                str(folder),
            )
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


def _make_locked(new: Path, path: Path, give_to: tuple[int, int] | None) -> int | None:
    """``path`` made and locked through ``new``: its descriptor.

    ``None`` if another process's sweep took ``new`` before it was locked (holds its lock, or
    removed it). ``give_to``: the file's owner (:func:`_files_owner`).
    """
    fd = os.open(new, os.O_RDWR | os.O_CREAT | os.O_EXCL, DB_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: only a sweep has it
        if give_to is not None:
            with contextlib.suppress(OSError):  # as SQLite: not given, it is warned of
                os.fchown(fd, *give_to)
        os.rename(new, path)
    except BaseException as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(new)
        if isinstance(exc, (BlockingIOError, FileNotFoundError)):
            log.info("owner lock %s was taken by a sweep (%s): made again", new, exc)
            return None
        raise
    return fd


@dataclass(frozen=True, slots=True)
class Unprobed:
    """A lock file whose lock could not be tested: its owner counts as alive."""

    path: Path
    #: Why, e.g. ``cannot be opened (Permission denied)``.
    reason: str

    @property
    def owner_id(self) -> str:
        """The owner the file is named after."""
        return self.path.stem

    def warning(self, *, running: int | None = None, name: str | None = None) -> str:
        """What it means and what to do.

        The file is named ``name`` (default: its path); ``running``: how many sessions it keeps
        ``running`` (``None``: not said).
        """
        sessions = (
            "any sessions it started stay 'running'"
            if running is None
            else f"the {running} session(s) it started stay 'running'"
            if running
            else "it runs no session"
        )
        return (
            f"owner lock {name or self.path} {self.reason}: its process counts as alive and "
            f"{sessions}; if no hrvpace process of the file's user (one run with sudo, say) has "
            "this database open any more, delete the file (as that user if need be): the next "
            "start marks its sessions interrupted"
        )

    def public_warning(self) -> str:
        """:meth:`warning` for ``GET /health`` (no token), re-checked at each call.

        The file is named within the data dir (not the home folder), with no count of the
        user's sessions. A file gone since the start (its process ended, or the user deleted
        it) says so, instead of asking to delete a file that is not there.
        """
        name = f"{self.path.parent.name}/{self.path.name}"
        try:
            os.lstat(self.path)
        except FileNotFoundError:
            return (
                f"owner lock {name} ({self.reason} at start) is gone now: its process ended "
                "or the file was deleted; the next start marks any sessions it left 'running' "
                "interrupted"
            )
        except OSError:
            pass  # cannot tell: still there, as far as anyone knows
        return self.warning(name=name)


class OwnerProbe:
    """The owner lock files of ``database`` as one opening sees them: each probed once.

    A gone owner's lock file is removed when probed. :attr:`unprobed` lists the files that
    could not be probed (see the module).
    """

    def __init__(self, database: Path) -> None:
        self.folder = owners_dir(database)
        self._alive: dict[str, bool] = {}
        #: Lock files whose lock could not be tested (their owners count as alive).
        self.unprobed: list[Unprobed] = []

    def alive(self, owner_id: str | None) -> bool:
        """Whether ``owner_id``'s process still has the database open (its lock is held).

        ``None`` or a malformed id: gone. This process's own owners are alive, never probed
        (:data:`_OWN`).
        """
        if owner_id is None or _ID.fullmatch(owner_id) is None:
            return False
        return self._probe(self.folder / f"{owner_id}.lock")

    def sweep(self) -> None:
        """Remove the lock files of gone owners, and the temporary files of killed makers.

        A gone owner: a process killed with no session running. A killed maker's ``.<id>.new``
        file: at least :data:`NEW_STALE_S` old and not locked (see the module).
        """
        now = time.time()
        with contextlib.suppress(FileNotFoundError):
            for path in sorted(self.folder.glob("*.lock")):
                self._probe(path)
            for path in sorted(self.folder.glob(".*.new")):
                _sweep_new(path, now)

    def _probe(self, path: Path) -> bool:
        if path.name not in self._alive:
            self._alive[path.name] = self._held(path)
        return self._alive[path.name]

    def _held(self, path: Path) -> bool:
        if _own(path):
            return True
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        except OSError as exc:  # another user's file, a folder, ...: never marked, never a crash
            self.unprobed.append(Unprobed(path, f"cannot be opened ({exc.strerror or exc})"))
            return True
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            except OSError as exc:  # ENOLCK, ...
                self.unprobed.append(Unprobed(path, f"cannot be locked ({exc.strerror or exc})"))
                return True
            with contextlib.suppress(OSError):  # gone: its file goes too
                os.unlink(path)
            return False
        finally:
            os.close(fd)


def owner_alive(database: Path, owner_id: str | None) -> bool:
    """:meth:`OwnerProbe.alive` of a probe of its own (a gone owner's lock file is removed)."""
    return OwnerProbe(database).alive(owner_id)


def _own(path: Path) -> bool:
    with _OWN_LOCK:
        return path.stem in _OWN


def _sweep_new(path: Path, now: float) -> None:
    """Remove ``path``, a ``.<id>.new`` file, if a killed maker left it (see the module)."""
    if _NEW.fullmatch(path.name) is None:
        return
    try:
        if now - path.stat().st_mtime < NEW_STALE_S:
            return  # perhaps just made: its maker locks and renames it in a moment
    except OSError:
        return  # renamed or removed meanwhile
    try:
        fd: int | None = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    except OSError:
        fd = None  # another user's: no session names it
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # its maker holds it: about to rename it
            except OSError:
                pass  # ENOLCK, ...: as one that cannot be opened
        with contextlib.suppress(OSError):
            os.unlink(path)
    finally:
        if fd is not None:
            os.close(fd)
