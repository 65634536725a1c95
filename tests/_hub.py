"""A real hub (``hub.create_app`` on SQLite, its own clock) on a real uvicorn on 127.0.0.1, for
the tests of the person's side of sharing (``hrvpace share``, the page's team sharing)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from hub import db as hubdb
from hub.app import create_app
from hub.settings import HubSettings
from tests._http import CLIENT_TLS
from tests._uvicorn import ThreadedUvicorn, start_uvicorn

__all__ = ["ADMIN", "RunningHub", "running_hub_in"]

ADMIN = "ha_share-test-token"


@dataclass
class RunningHub:
    server: ThreadedUvicorn
    engine: sa.Engine
    #: The hub's clock (Unix seconds); a test moves it.
    clock: list[float]
    admin: httpx.Client

    def invite(self, name: str = "team") -> tuple[str, str]:
        """A new group and an invite code of it: ``(group_id, code)``."""
        gid = str(self.admin.post("/hub/v1/groups", json={"name": name}).json()["id"])
        code = str(self.admin.post(f"/hub/v1/groups/{gid}/invites").json()["code"])
        return gid, code

    def count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@contextmanager
def running_hub_in(folder: Path, *, days_ago: float = 16) -> Iterator[RunningHub]:
    """A hub whose clock starts ``days_ago`` days back (a member joining then counts from the
    next whole week, so days pushed later fall in weeks the membership counts in)."""
    clock = [time.time() - days_ago * 86_400]
    url = f"sqlite:///{folder / 'hub.sqlite3'}"
    engine = hubdb.connect(url)
    app = create_app(
        HubSettings(data_dir=folder / "hub", database_url=url, admin_token=SecretStr(ADMIN)),
        clock=lambda: clock[0],
        engine=engine,
    )
    server = start_uvicorn(app)
    admin = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, verify=CLIENT_TLS
    )
    try:
        yield RunningHub(server, engine, clock, admin)
    finally:
        admin.close()
        server.stop()
        engine.dispose()
