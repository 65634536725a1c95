"""The hub against a real SQLite file and a real PostgreSQL server, on a real uvicorn.

PostgreSQL: one throw-away cluster per test session (``initdb`` + ``pg_ctl`` in a temp dir, as
the unprivileged ``postgres`` user when the tests run as root; fsync off, loopback, a free
port), emptied between tests. Debian's ``postgresql`` package provides the binaries
(``scripts/test.sh`` installs it); without them the PostgreSQL half fails with that reason.
Every hub test takes ``hub`` and so runs once per backend.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from bench._postgres import PostgresMissingError, throwaway_postgres
from hub import db
from hub.app import create_app
from hub.db import connect, metadata
from hub.settings import HubSettings
from tests._http import CLIENT_TLS
from tests._uvicorn import ThreadedUvicorn, start_uvicorn

ADMIN = "ha_test-admin-token"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of this test session: ``postgresql://postgres@127.0.0.1:<port>/``."""
    try:
        server = throwaway_postgres()
        url = server.__enter__()
    except PostgresMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty hub database on the backend of the test's parameter."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite3'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = connect(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables if t.name != "schema_version")
        conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()
    yield url


@contextlib.contextmanager
def database_of_its_own(database_url: str) -> Iterator[str]:
    """An empty database, no schema: the SQLite file, or a new database on the PostgreSQL."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    name = "hub_v1_" + os.urandom(4).hex()
    admin = sa.create_engine(
        "postgresql+psycopg://" + database_url.split("://", 1)[1], isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        yield sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name}")
    finally:
        admin.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@dataclass
class Clock:
    """The hub's clock in tests: Unix seconds, moved by hand."""

    t: float = 0.0

    def __call__(self) -> float:
        return self.t

    def at(self, day: dt.date, hour: int = 12) -> None:
        self.t = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC).timestamp()


@dataclass
class Hub:
    """A running hub with an admin client and helpers that speak its API."""

    server: ThreadedUvicorn
    clock: Clock
    url: str
    admin: httpx.Client
    engine: sa.Engine
    k_default: int = 5
    _clients: dict[str | None, httpx.Client] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        """A client sending ``token`` (one kept-alive connection per token)."""
        if token not in self._clients:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self._clients[token] = httpx.Client(
                base_url=self.url, headers=headers, timeout=30, verify=CLIENT_TLS
            )
        return self._clients[token]

    def group(self, name: str = "team", k: int = 5) -> str:
        r = self.admin.post("/hub/v1/groups", json={"name": name, "k": k})
        assert r.status_code == 201, r.text
        gid: str = r.json()["id"]
        return gid

    def invite(self, gid: str, **body: Any) -> str:
        r = self.admin.post(f"/hub/v1/groups/{gid}/invites", json=body or None)
        assert r.status_code == 201, r.text
        code: str = r.json()["code"]
        return code

    def join(self, code: str) -> str:
        r = self.client().post("/hub/v1/join", json={"code": code})
        assert r.status_code == 201, r.text
        token: str = r.json()["token"]
        return token

    def members(self, gid: str, n: int) -> list[str]:
        code = self.invite(gid)
        return [self.join(code) for _ in range(n)]

    def sharing(self, gid: str) -> int:
        """The group's members who share (not left), from the database: also those not yet
        counted, whom the admin's member count leaves out (:meth:`GroupStore._counted`)."""
        m = db.members.c
        with self.engine.connect() as conn:
            n: int = conn.execute(
                sa.select(sa.func.count()).where(m.group_id == gid, m.left_at.is_(None))
            ).scalar_one()
        return n

    def send(self, token: str, day: dt.date, **values: Any) -> httpx.Response:
        return self.client(token).post(
            "/hub/v1/contributions", json={"date": day.isoformat(), **values}
        )

    def summary(self, gid: str, first: dt.date, last: dt.date) -> dict[str, Any]:
        r = self.admin.get(
            f"/hub/v1/groups/{gid}/summary",
            params={"from": first.isoformat(), "to": last.isoformat(), "by": "week"},
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self.admin.close()
        self.server.stop()
        self.engine.dispose()


#: The group is made on a Thursday; members join the next day; their first whole week is W02.
GROUP_DAY = dt.date(2026, 1, 1)
JOIN_DAY = dt.date(2026, 1, 2)
WEEK = dt.date(2026, 1, 5)  # Monday of 2026-W02
WEEK_DAYS = [WEEK + dt.timedelta(days=i) for i in range(7)]
CLOSES = dt.date(2026, 1, 14)  # Monday after + 2 days of grace


@pytest.fixture
def hub(database_url: str, tmp_path: Path) -> Iterator[Hub]:
    """A hub on the test's backend, its clock on :data:`GROUP_DAY`."""
    clock = Clock()
    clock.at(GROUP_DAY)
    settings = HubSettings(
        data_dir=tmp_path / "hubdata", database_url=database_url, admin_token=SecretStr(ADMIN)
    )
    engine = connect(database_url)
    app = create_app(settings, clock=clock, engine=engine)
    server = start_uvicorn(app)
    admin = httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
        verify=CLIENT_TLS,
    )
    h = Hub(server=server, clock=clock, url=server.url, admin=admin, engine=engine)
    try:
        yield h
    finally:
        h.close()
