"""One server per data dir: ``hrvpace serve`` holds an exclusive lock on ``hrvpace.lock`` in it.

The lock is ``fcntl.flock`` on an open file: held for the life of the process, released by the
kernel when the process exits in any way (Ctrl+C, a crash, ``kill -9``), so a stale lock file
never blocks the next start. The file holds the holder's pid, for the message of a second
server, which refuses to start (:class:`api.errors.DataDirInUseError`) instead of sharing the
database and token with the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from api.errors import DataDirInUseError, DataDirUnusableError

__all__ = ["DataDirLock", "make_data_dir"]


def make_data_dir(data_dir: Path) -> Path:
    """Create the data dir (mode 0700) if it is missing, and check this process can write it.

    Raises
    ------
    DataDirUnusableError
        It cannot be created or written: the message names the folder and why (a file where
        it or a folder above it should be, no permission, a read-only file system).
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise DataDirUnusableError(_unusable(data_dir, exc)) from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DataDirUnusableError(
            f"cannot use the data dir {data_dir}: no permission to write there"
        )
    return data_dir


def _unusable(data_dir: Path, exc: OSError) -> str:
    if isinstance(exc, FileExistsError) or (data_dir.exists() and not data_dir.is_dir()):
        why = "it is a file, not a folder"
    elif isinstance(exc, NotADirectoryError):
        above = next((p for p in data_dir.parents if p.exists()), None)
        why = f"{above} is a file, not a folder" if above is not None else str(exc.strerror)
    else:
        why = exc.strerror or str(exc)
    return f"cannot use the data dir {data_dir}: {why}"


class DataDirLock:
    """The exclusive lock of a data dir; :meth:`acquire` it, :meth:`release` it (or exit)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "hrvpace.lock"
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        """Take the lock, or fail at once.

        Raises
        ------
        DataDirInUseError
            Another process (or another lock in this one) holds it; the message names the data
            dir and the holder's pid.
        DataDirUnusableError
            The data dir cannot be created, or the lock file not written or locked in it
            (:func:`make_data_dir`; a file system without locks: "No locks available").
        """
        make_data_dir(self.data_dir)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DataDirUnusableError(_unusable(self.data_dir, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                pid = int(os.pread(fd, 32, 0).decode().strip() or "0")
                holder = f" (pid {pid})" if pid > 0 else ""
            os.close(fd)
            raise DataDirInUseError(
                f"another hrvpace server{holder} is already using the data dir {self.data_dir}; "
                "stop it first, or give this one its own --data-dir"
            ) from None
        except OSError as exc:  # no locks there (ENOLCK): not "another server" (review, 2026-12)
            os.close(fd)
            raise DataDirUnusableError(_unusable(self.data_dir, exc)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up (also done by the kernel when the process ends)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
