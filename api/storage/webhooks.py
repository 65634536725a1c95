"""Outgoing webhook deliveries (issue 16): what was sent where, and whether it arrived."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from typing import Any

from api.storage.writer import StorageCore

__all__ = ["WebhookTables"]


class WebhookTables(StorageCore):
    """The ``webhook_deliveries`` table (a part of :class:`api.storage.Storage`)."""

    def add_webhook_delivery(
        self,
        *,
        url: str,
        kind: str,
        prompt_id: int | None,
        at: float,
        ok: bool,
        attempts: int,
        status: int | None,
        error: str,
    ) -> Future[Any]:
        """Record one delivery (its error cut to 500 characters)."""
        future = self._submit(
            "INSERT INTO webhook_deliveries (url, kind, prompt_id, at, ok, attempts, status, "
            "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (url, kind, prompt_id, at, int(ok), attempts, status, error[:500]),
            wait=True,
        )
        assert future is not None
        return future

    def webhook_deliveries(self, *, limit: int = 50) -> list[sqlite3.Row]:
        """The newest deliveries first."""
        return self.query(
            "SELECT * FROM webhook_deliveries ORDER BY at DESC, id DESC LIMIT ?", (limit,)
        )

    def count_webhook_deliveries(self) -> int:
        """How many deliveries are recorded."""
        return int(self.query("SELECT COUNT(*) FROM webhook_deliveries")[0][0])
