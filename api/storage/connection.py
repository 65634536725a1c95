"""Opening the service's SQLite file: private file modes, WAL, pragmas, a read-only view.

The one place that calls :func:`sqlite3.connect` for the personal service's database.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress
from pathlib import Path

from api.errors import ApiError

__all__ = [
    "DATA_DIR_MODE",
    "DB_FILE_MODE",
    "WAL_SIZE_LIMIT_BYTES",
    "Row",
    "StorageError",
    "connect",
    "connect_read_only",
    "make_private",
]

#: A stored row: columns by name (``row["id"]``) or position. Routes name this type rather
#: than importing :mod:`sqlite3` (import-linter holds that).
Row = sqlite3.Row

#: The WAL file is truncated back to this size after a checkpoint (``journal_size_limit``).
WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

#: RR data is health data: the database and its WAL/shared-memory files are the user's only.
DB_FILE_MODE = 0o600
#: The data folder, when the service creates it.
DATA_DIR_MODE = 0o700


class StorageError(ApiError):
    """The database cannot be opened or written."""


def connect(path: Path) -> sqlite3.Connection:
    """A read-write connection in autocommit mode with the service's pragmas (WAL)."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    # The WAL stays bounded over long days: SQLite checkpoints it every 1000 pages (~4 MB,
    # PASSIVE, on commit) and this truncates the file back after a checkpoint that a long read
    # let grow past the limit.
    conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    return conn


def connect_read_only(path: Path) -> sqlite3.Connection:
    """The database opened read-only (SQLite ``mode=ro``), rows by name.

    Used where a :class:`api.storage.Storage` must not be opened because ``hrvpace serve`` may
    be recording meanwhile (opening one starts a writer and marks a gone process's running
    sessions interrupted).

    Raises
    ------
    sqlite3.Error
        The file cannot be opened.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def make_private(path: Path) -> None:
    """Create the database file (and its folder) readable by the user only.

    The folder is created ``0700`` (an existing one is left as the user set it). The file is
    created ``0600`` before SQLite opens it, so SQLite creates ``-wal`` and ``-shm`` with the
    same mode; a database left group/world-readable by an older version is tightened, with
    its ``-wal``/``-shm``.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=DATA_DIR_MODE)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DB_FILE_MODE))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, DB_FILE_MODE)
        except FileNotFoundError:
            continue
