"""SQLite storage: one database file in the data directory, WAL, versioned migrations.

Every SQL statement of the personal service lives in this package, one module per job:

- :mod:`~api.storage.connection`: opening the file (private modes, pragmas, read-only view);
- :mod:`~api.storage.schema`: the migrations and the beat columns;
- :mod:`~api.storage.writer`: the writer thread, commit tickets, per-thread readers;
- :mod:`~api.storage.owners`: which process runs a session (only a gone one's are interrupted);
- :mod:`~api.storage.sessions`, :mod:`~api.storage.series`, :mod:`~api.storage.personal`,
  :mod:`~api.storage.prompts`, :mod:`~api.storage.webhooks`: the tables' reads and writes;
- :mod:`~api.storage.queries`: reads shared with the read-only view (dashboard, trends,
  baseline, daily aggregates);
- :mod:`~api.storage.readonly`: :class:`ReadOnlyDatabase` for the CLI while a server records.

See :mod:`api.storage.writer` for the write path (queued, batched, tickets) and
:mod:`api.storage.series` for paging (``since``/``limit``) and resuming a live client by ``seq``.
"""

from __future__ import annotations

from api.storage.connection import (
    DATA_DIR_MODE,
    DB_FILE_MODE,
    WAL_SIZE_LIMIT_BYTES,
    Row,
    StorageError,
)
from api.storage.personal import PersonalTables
from api.storage.prompts import PromptTables, StoredAnswer
from api.storage.queries import Queries
from api.storage.readonly import ReadOnlyDatabase
from api.storage.schema import BEAT_COLUMNS, MIGRATIONS, BeatRow
from api.storage.series import SeriesTables, StoredMessage
from api.storage.sessions import SessionTables
from api.storage.webhooks import WebhookTables
from api.storage.writer import BATCH_MAX, Behind, Queued, _Op

__all__ = [
    "BATCH_MAX",
    "BEAT_COLUMNS",
    "DATA_DIR_MODE",
    "DB_FILE_MODE",
    "MIGRATIONS",
    "WAL_SIZE_LIMIT_BYTES",
    "BeatRow",
    "Behind",
    "Queued",
    "ReadOnlyDatabase",
    "Row",
    "Storage",
    "StorageError",
    "StoredAnswer",
    "StoredMessage",
    "_Op",
]


class Storage(SessionTables, SeriesTables, PersonalTables, PromptTables, WebhookTables, Queries):
    """The service's database. Thread-safe; writes are queued to one writer thread.

    Parameters
    ----------
    path
        The SQLite file; its folder is created.
    flush_s
        Longest time a queued write waits before its batch is committed.
    """
