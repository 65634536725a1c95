"""The hub's database and start: migrations, URLs, file modes, the admin token, the command."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from hub import db
from hub.auth import MAKE_TOKEN_COMMAND, load_or_create_admin_token
from hub.cli import app as hub_cli
from hub.errors import HubConfigError
from hub.settings import HubSettings
from tests._http import CLIENT_TLS
from tests.hub.conftest import database_of_its_own


def test_migrations_run_once_and_a_newer_schema_is_refused(database_url: str) -> None:
    engine = db.connect(database_url)  # migrates a fresh (or emptied) database
    try:
        assert db.migrate(engine) == db.SCHEMA_VERSION  # already there: nothing to do
        with engine.begin() as conn:
            assert conn.execute(sa.select(db.schema_version.c.version)).scalars().all() == [
                db.SCHEMA_VERSION
            ]
            conn.execute(db.schema_version.update().values(version=db.SCHEMA_VERSION + 1))
        with pytest.raises(HubConfigError, match="newer than this hub"):
            db.migrate(engine)
    finally:
        with engine.begin() as conn:
            conn.execute(db.schema_version.update().values(version=db.SCHEMA_VERSION))
        engine.dispose()


def _contributions_plan(engine: sa.Engine, statement: str, parameters: Any) -> str:
    """The plan of ``statement`` as the backend runs it (indexes only, not the table scan)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("VACUUM (ANALYZE) contributions")  # pages marked all-visible
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            return "\n".join(r[0] for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(str(r[-1]) for r in rows)


def test_migration_2_indexes_a_version_1_database_keeping_its_rows(database_url: str) -> None:
    """A hub of schema 1 with a week of contributions is migrated to 2: every row kept, the
    (group, day) index replaced by one covering the summary's query, which the backend
    then answers from the index alone (PostgreSQL: an index-only scan; SQLite: a covering
    index), and the week is reported from the kept rows."""
    from hub.periods import closes_at, week_of
    from hub.store import HubStore
    from tests.hub.conftest import WEEK, WEEK_DAYS

    before = week_of(WEEK).start_ts - 86_400  # the group and its members: the day before
    with database_of_its_own(database_url) as url:
        v1 = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with v1.begin() as conn:  # the database as a hub of schema version 1 left it
            db.schema_version.create(conn)
            db.MIGRATIONS[0](conn)
            conn.execute(db.schema_version.insert().values(version=1))
            conn.execute(db.groups.insert().values(id="g1", name="team", k=3, created_at=before))
            conn.execute(
                db.members.insert(),
                [
                    {
                        "id": f"m{i}",
                        "group_id": "g1",
                        "token_hash": f"{i:064d}",
                        "joined_at": before,
                    }
                    for i in range(4)
                ],
            )
            rows = [
                {
                    "member_id": f"m{i}",
                    "day": day,
                    "group_id": "g1",
                    "resting_hr_bpm": 60.0 + i,
                    "stress": float(1 + d % 5),
                    "breaks": d,
                    "received_at": before,
                }
                for i in range(4)
                for d, day in enumerate(WEEK_DAYS)
            ]
            conn.execute(db.contributions.insert(), rows)
        assert {ix["name"] for ix in sa.inspect(v1).get_indexes("contributions")} == {
            "ix_contributions_group_day"
        }
        v1.dispose()

        engine = db.connect(url)  # migrates
        try:
            with engine.connect() as conn:
                version = conn.execute(sa.select(db.schema_version.c.version)).scalar_one()
                assert version == db.SCHEMA_VERSION
                kept = conn.execute(
                    sa.select(db.contributions).order_by(
                        db.contributions.c.member_id, db.contributions.c.day
                    )
                ).mappings()
                assert [
                    {k: r[k] for k in ("member_id", "day", "resting_hr_bpm", "stress", "breaks")}
                    for r in kept
                ] == [
                    {k: r[k] for k in ("member_id", "day", "resting_hr_bpm", "stress", "breaks")}
                    for r in rows
                ]
            indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("contributions")}
            assert "ix_contributions_summary" in indexes
            assert "ix_contributions_group_day" not in indexes

            statements: list[tuple[str, Any]] = []

            def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
                if "FROM contributions" in statement and "GROUP BY" in statement:
                    statements.append((statement, parameters))

            sa.event.listen(engine, "before_cursor_execute", record)
            store = HubStore(engine, clock=lambda: float(closes_at(week_of(WEEK))))
            (cell,) = store.summary("g1", WEEK, WEEK)["periods"]
            sa.event.remove(engine, "before_cursor_execute", record)
            assert cell["status"] == "closed" and cell["contributors"] == 4
            assert cell["measures"]["resting_hr_bpm"]["mean"] == 61.5
            assert cell["measures"]["breaks"]["mean"] == 3.0

            ((statement, parameters),) = statements  # the sealing query, once
            plan = _contributions_plan(engine, statement, parameters)
            if engine.dialect.name == "postgresql":
                assert "Index Only Scan using ix_contributions_summary" in plan, plan
            else:
                assert "USING COVERING INDEX ix_contributions_summary" in plan, plan
        finally:
            engine.dispose()


def test_bad_database_urls_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(HubConfigError, match="unsupported database URL scheme 'mysql'"):
        db.connect("mysql://root@localhost/hub")
    with pytest.raises(HubConfigError, match="cannot open the hub database"):
        db.connect("postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(
        hub_cli, ["serve", "--data-dir", str(tmp_path), "--database-url", "mysql://x/y"]
    )
    assert result.exit_code == 1 and "unsupported database URL" in result.output


def test_a_sqlite_url_with_a_query_is_refused_naming_the_setting(tmp_path: Path) -> None:
    """Review: ``sqlite:///path.db?mode=ro`` made a file named ``path.db?mode=ro`` (then
    SQLAlchemy opened ``path.db``). The hub takes no options in a SQLite URL: a query (as
    SQLAlchemy parses the URL) is refused naming the setting and the part, before any file
    is made, by ``serve`` and ``backup`` alike. (A ``#`` is part of a file's name to
    SQLAlchemy: :func:`test_the_sqlite_file_is_the_one_sqlalchemy_opens_whatever_its_name`.)"""
    folder = tmp_path / "db"
    folder.mkdir()
    for tail in ("?mode=ro", "?cache=shared&mode=rwc"):
        url = f"sqlite:///{folder / 'hub.db'}{tail}"
        with pytest.raises(HubConfigError) as caught:
            db.connect(url)
        message = str(caught.value)
        assert message.startswith("database_url (--database-url, HRVPACE_HUB_DATABASE_URL): ")
        assert repr(tail) in message and "sqlite:///path only" in message
    assert list(folder.iterdir()) == []
    url = f"sqlite:///{folder / 'hub.db'}?mode=ro"
    for command in (["serve", "--data-dir", str(tmp_path / "d")], ["backup", str(tmp_path / "b")]):
        result = CliRunner().invoke(hub_cli, [*command, "--database-url", url])
        assert result.exit_code == 1, result.output
        assert "hrvpace hub: database_url (--database-url" in result.output
        assert "'?mode=ro'" in result.output
    assert list(folder.iterdir()) == [] and not (tmp_path / "b").exists()


def test_the_sqlite_file_is_the_one_sqlalchemy_opens_whatever_its_name(tmp_path: Path) -> None:
    """Review: the default URL was the data dir's path put into ``sqlite:///...`` as it was,
    and the hub read a URL's text as it was while SQLAlchemy parses it. A data dir with ``#``
    or ``?`` was refused naming ``database_url``, a setting the admin never gave; with
    ``%62`` (and a folder ``b`` beside it) the hub made and protected ``a%62/hub.sqlite3``
    while SQLAlchemy opened ``ab/hub.sqlite3`` 0644, and the backup copied the empty stub.
    Now the file protected, opened and backed up is the data dir's, for such names too, and a
    given URL is read as SQLAlchemy reads it (``%3F`` is ``?``, ``%25`` is ``%``)."""
    import sqlite3
    from urllib.parse import quote

    for i, name in enumerate(("hash#hub", "what?hub", "a%62", "all #?%25 &=;")):
        (tmp_path / name.replace("%62", "b")).mkdir(exist_ok=True)  # the decoded sibling
        data = tmp_path / name / "sub"
        settings = HubSettings(data_dir=data)
        engine = db.connect(settings.db_url)
        try:
            with engine.begin() as conn:
                conn.execute(db.groups.insert().values(id="g1", name=name, k=5, created_at=1))
        finally:
            engine.dispose()
        file = data / "hub.sqlite3"
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, name
        with sqlite3.connect(file) as conn:  # the engine's file, not a stub beside it
            assert conn.execute("select name from groups").fetchall() == [(name,)]
        out = tmp_path / f"backup{i}"
        result = CliRunner().invoke(hub_cli, ["backup", str(out), "--data-dir", str(data)])
        assert result.exit_code == 0, result.output
        assert f"backed up {file} to {out}" in result.output
        with sqlite3.connect(out) as conn:
            assert conn.execute("select name from groups").fetchall() == [(name,)]
        given = "sqlite:///" + quote(str(file))  # the same file, given as a URL
        assert db.sqlite_file(given) == str(file)
        db.connect(given).dispose()
    assert db.sqlite_file(f"sqlite:///{tmp_path / 'a#b.db'}") == str(tmp_path / "a#b.db")


def test_sqlite_file_and_admin_token_are_the_owners_only(tmp_path: Path) -> None:
    settings = HubSettings(data_dir=tmp_path / "hub")
    token, created = load_or_create_admin_token(settings)
    assert created and token.startswith("ha_")
    assert stat.S_IMODE(settings.admin_token_path.stat().st_mode) == 0o600
    assert load_or_create_admin_token(settings) == (token, False)
    engine = db.connect(settings.db_url)
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "hub" / "hub.sqlite3").stat().st_mode) == 0o600
    given = "ha_given-by-the-variable"
    assert load_or_create_admin_token(
        HubSettings(data_dir=tmp_path, admin_token=SecretStr(given))
    ) == (given, False)
    settings.admin_token_path.chmod(0o644)
    with pytest.raises(HubConfigError, match="chmod 600"):
        load_or_create_admin_token(settings)


def _serve_until_up(
    data_dir: Path, *extra: str, then: Any = None, env_extra: dict[str, str] | None = None
) -> str:
    env = {k: v for k, v in os.environ.items() if k != "HRVPACE_HUB_ADMIN_TOKEN"}
    env.update(env_extra or {})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api",
            "hub",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    out = ""
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out += line
            if line.startswith("database:"):
                break
        if then is not None:
            then(out, proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    return out


@pytest.mark.slow
def test_hrvpace_hub_serve_works_at_once_and_prints_the_token_once(tmp_path: Path) -> None:
    first = _serve_until_up(tmp_path / "hub")
    assert "hrvpace hub is serving at http://127.0.0.1:" in first, first
    token = (tmp_path / "hub" / "admin-token").read_text().strip()
    assert f"admin token (new; saved in {tmp_path / 'hub' / 'admin-token'}, 0600): {token}" in first
    second = _serve_until_up(tmp_path / "hub")
    assert token not in second and "admin token: in " in second, second


@pytest.mark.slow
def test_several_worker_processes_share_the_token_and_the_database(tmp_path: Path) -> None:
    import httpx

    def use(out: str, pid: int) -> None:
        url = out.split("serving at ", 1)[1].split()[0].rstrip("/")
        token = (tmp_path / "hub" / "admin-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            # the workers start after the socket listens (slowly on a loaded machine)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if c.get("/hub/v1/health").status_code == 200:
                        break
                time.sleep(0.2)
            gid = c.post("/hub/v1/groups", json={"name": "ward"}).json()["id"]
            code = c.post(f"/hub/v1/groups/{gid}/invites").json()["code"]
            joined = [c.post("/hub/v1/join", json={"code": code}).status_code for _ in range(20)]
            assert joined == [201] * 20  # whichever process answers, one database
            (invite,) = c.get(f"/hub/v1/groups/{gid}/invites").json()
            assert invite["uses_left"] == 100 - 20  # the member count shows them once counted

    out = _serve_until_up(tmp_path / "hub", "--workers", "2", then=use)
    assert "2 worker processes" in out


def _children(pid: int) -> list[int]:
    out = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat_file.parent.name))
    return out


@pytest.mark.slow
def test_workers_get_the_admin_token_from_a_private_file_not_their_environment(
    tmp_path: Path,
) -> None:
    """Review finding: ``--workers N`` put the admin token in os.environ (visible in
    /proc/<pid>/environ, inherited by every subprocess)."""
    import httpx

    secret = "ha_never-in-an-environment"
    seen: dict[str, Any] = {}

    def use(out: str, pid: int) -> None:
        url = out.split("serving at ", 1)[1].split()[0].rstrip("/")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the workers answer once up
            with (
                httpx.Client(
                    base_url=url,
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=30,
                    verify=CLIENT_TLS,
                ) as c,
                contextlib.suppress(httpx.HTTPError),  # slow to start on a loaded machine
            ):
                if c.get("/hub/v1/groups").status_code == 200:
                    break
            time.sleep(0.2)
        workers = _children(pid)
        assert workers, "no worker process found"
        environs = [Path(f"/proc/{w}/environ").read_bytes() for w in workers]
        assert all(secret.encode() not in e for e in environs)
        names = {
            kv.split(b"=", 1)[0]: kv.split(b"=", 1)[1]
            for kv in environs[0].split(b"\0")
            if b"=" in kv
        }
        assert b"HRVPACE_HUB_ADMIN_TOKEN" not in names
        token_file = Path(names[b"HRVPACE_HUB_ADMIN_TOKEN_FILE"].decode())
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        assert token_file.read_text().strip() == secret
        seen["file"] = token_file
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as c:
            assert c.post("/hub/v1/groups", json={"name": "ward"}).status_code == 201

    _serve_until_up(
        tmp_path / "hub",
        "--workers",
        "2",
        then=use,
        env_extra={"HRVPACE_HUB_ADMIN_TOKEN": secret},
    )
    assert "file" in seen and not seen["file"].exists()  # removed at exit


def test_migration_4_keeps_what_a_version_3_database_could_withdraw(database_url: str) -> None:
    """Schema 3 kept no invite's last join and deleted a revoked invite: migration 4 fills
    ``last_joined_at`` from the links kept and keeps an invite revoked before whose links are
    kept as a revoked invite, so both stay withdrawable (until their last join's first
    counted week closed) as they were."""
    from hub.store import HubStore
    from hub.store.base import hash_secret
    from tests.hub.conftest import CLOSES, JOIN_DAY

    joined = int(dt.datetime.combine(JOIN_DAY, dt.time(12), tzinfo=dt.UTC).timestamp())
    kept, gone = hash_secret("kept-code"), hash_secret("revoked-code")
    with database_of_its_own(database_url) as url:
        v3 = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with v3.begin() as conn:  # the database as a hub of schema version 3 left it
            db.schema_version.create(conn)
            for step in db.MIGRATIONS[:3]:
                step(conn)
            for col in ("last_joined_at", "revoked_at"):
                conn.execute(sa.text(f"ALTER TABLE invites DROP COLUMN {col}"))
            conn.execute(db.schema_version.insert().values(version=3))
            conn.execute(db.groups.insert().values(id="g1", name="t", k=3, created_at=joined))
            conn.execute(
                sa.text(
                    "INSERT INTO invites (code_hash, group_id, created_at, expires_at, uses_left)"
                    " VALUES (:h, 'g1', :t, :e, 3)"
                ),
                {"h": kept, "t": joined - 60, "e": joined + 86_400 * 14},
            )
            conn.execute(
                db.members.insert(),
                [
                    {
                        "id": f"m{i}",
                        "group_id": "g1",
                        "token_hash": f"{i:064d}",
                        "joined_at": joined,
                    }
                    for i in range(4)
                ],
            )
            conn.execute(
                db.member_invites.insert(),
                [
                    {
                        "member_id": f"m{i}",
                        "group_id": "g1",
                        "invite_id": (kept if i < 2 else gone)[:12],
                        "joined_at": joined + i,
                    }
                    for i in range(4)
                ],
            )
        v3.dispose()

        engine = db.connect(url)  # migrates
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(db.invites.c.code_hash, db.invites.c.last_joined_at).where(
                        db.invites.c.revoked_at.is_not(None)
                    )
                ).all()
            assert rows == [(gone[:12], joined + 3)]
            clock = [float(joined + 86_400)]
            store = HubStore(engine, clock=lambda: clock[0])
            listed = {i["id"]: i["status"] for i in store.list_invites("g1")}
            assert listed == {kept[:12]: "active", gone[:12]: "revoked"}
            assert store.withdraw_invite("g1", gone[:12]) == {
                "invite_id": gone[:12],
                "revoked": False,
            }
            with engine.connect() as conn:
                assert (
                    conn.execute(sa.select(sa.func.count()).select_from(db.members)).scalar() == 2
                )
            store.revoke_invite("g1", kept[:12])  # could be joined until it expired: kept
            assert store.list_invites("g1")[0]["status"] == "revoked"
            clock[0] = dt.datetime.combine(CLOSES, dt.time(0), tzinfo=dt.UTC).timestamp()
            assert store.list_invites("g1")[0]["status"] == "revoked"  # expired W03, counts W04
            clock[0] = dt.datetime(2026, 1, 28, tzinfo=dt.UTC).timestamp()  # W04 closed
            assert store.list_invites("g1") == []
        finally:
            engine.dispose()


def test_migration_4_treats_an_invite_alike_whatever_its_members_did(database_url: str) -> None:
    """Schema 3 removed a member's invite link at their ``DELETE /me?delete=true``: migration
    4 gives every invite the latest moment anyone could have joined with it (the migration's
    time, or its expiry if earlier), not its links' newest join, so an invite whose only joiner
    deleted and one whose joiner stopped sharing are listed and withdrawn alike once revoked
    (code review: the first vanished, 404, the second stayed, 200)."""
    from hub.store import HubStore
    from hub.store.base import hash_secret
    from tests.hub.conftest import JOIN_DAY

    joined = int(dt.datetime.combine(JOIN_DAY, dt.time(12), tzinfo=dt.UTC).timestamp())
    deleted, stopped, kept = (hash_secret(c) for c in ("deleted", "stopped", "kept"))
    with database_of_its_own(database_url) as url:
        v3 = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with v3.begin() as conn:  # the database as a hub of schema version 3 left it
            db.schema_version.create(conn)
            for step in db.MIGRATIONS[:3]:
                step(conn)
            for col in ("last_joined_at", "revoked_at"):
                conn.execute(sa.text(f"ALTER TABLE invites DROP COLUMN {col}"))
            conn.execute(db.schema_version.insert().values(version=3))
            conn.execute(db.groups.insert().values(id="g1", name="t", k=3, created_at=joined))
            for code_hash, days in ((deleted, 7), (stopped, 7), (kept, 40_000)):
                conn.execute(
                    sa.text(
                        "INSERT INTO invites (code_hash, group_id, created_at, expires_at,"
                        " uses_left) VALUES (:h, 'g1', :t, :e, 0)"
                    ),
                    {"h": code_hash, "t": joined - 60, "e": joined + 86_400 * days},
                )
            # the one who joined with `deleted` deleted: no member, no link; the one who
            # joined with `stopped` stopped sharing: a member who left, the link kept
            conn.execute(
                db.members.insert().values(
                    id="m1", group_id="g1", token_hash="1" * 64, joined_at=joined, left_at=joined
                )
            )
            conn.execute(
                db.member_invites.insert().values(
                    member_id="m1", group_id="g1", invite_id=stopped[:12], joined_at=joined
                )
            )
        v3.dispose()

        before = int(time.time())
        engine = db.connect(url)  # migrates
        after = int(time.time())
        try:
            with engine.connect() as conn:
                last = {
                    h: t
                    for h, t in conn.execute(
                        sa.select(db.invites.c.code_hash, db.invites.c.last_joined_at)
                    )
                }
            clock = [float(joined + 86_400)]
            store = HubStore(engine, clock=lambda: clock[0])
            for code_hash in (deleted, stopped):
                store.revoke_invite("g1", code_hash[:12])
            listed = {i["id"]: i["status"] for i in store.list_invites("g1")}
            assert listed == {
                kept[:12]: "used_up",
                deleted[:12]: "revoked",
                stopped[:12]: "revoked",
            }
            for code_hash in (deleted, stopped):
                assert store.withdraw_invite("g1", code_hash[:12]) == {
                    "invite_id": code_hash[:12],
                    "revoked": False,
                }
            assert last[deleted] == last[stopped] == joined + 86_400 * 7  # their expiry
            assert before <= last[kept] <= after  # not expired: the migration's time
        finally:
            engine.dispose()


def test_backup_copies_what_is_still_in_the_wal_of_a_running_hub(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    data = tmp_path / "hub"
    engine = db.connect(f"sqlite:///{data / 'hub.sqlite3'}")  # open, as a running hub's
    try:
        with engine.begin() as conn:
            conn.execute(db.groups.insert().values(id="g1", name="team", k=5, created_at=1))
        shutil.copyfile(data / "hub.sqlite3", tmp_path / "naive.sqlite3")
        with sqlite3.connect(tmp_path / "naive.sqlite3") as naive:  # the review's plain copy
            tables = naive.execute("select name from sqlite_master where name = 'groups'")
            assert tables.fetchall() == [] or naive.execute(
                "select count(*) from groups"
            ).fetchone() == (0,)
        result = CliRunner().invoke(
            hub_cli, ["backup", str(tmp_path / "bk"), "--data-dir", str(data)]
        )
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE((tmp_path / "bk").stat().st_mode) == 0o600
        with sqlite3.connect(tmp_path / "bk") as copy:
            assert copy.execute("select name from groups").fetchall() == [("team",)]
        again = CliRunner().invoke(
            hub_cli, ["backup", str(tmp_path / "bk"), "--data-dir", str(data)]
        )
        assert again.exit_code == 1 and "exists already" in again.output
    finally:
        engine.dispose()
    pg = CliRunner().invoke(hub_cli, ["backup", "x", "--database-url", "postgresql://h@db/hub"])
    assert pg.exit_code == 1 and "pg_dump" in pg.output


@pytest.mark.skipif(sys.platform != "linux", reason="RENAME_NOREPLACE is Linux's")
def test_without_hard_links_a_backup_still_never_replaces_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: where the file system has no hard links (``os.link`` is EPERM on vfat) the
    backup looked whether ``out`` existed, then ``os.replace``d, which replaces silently: a
    file landing at ``out`` between the look and the rename was lost. The rename is
    ``RENAME_NOREPLACE`` now. Here the look is stale (says absent) while a good backup is
    there: it is kept and the backup refused, with its temporary file removed."""
    import errno

    data = tmp_path / "hub"
    db.connect(f"sqlite:///{data / 'hub.sqlite3'}").dispose()
    backups = tmp_path / "backups"
    backups.mkdir()
    out = backups / "hub-today.sqlite3"
    out.write_bytes(b"another good backup")

    def no_hard_links(src: Any, dst: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    monkeypatch.setattr(os.path, "lexists", lambda p: False)  # looked before it landed
    with pytest.raises(HubConfigError, match="exists already"):
        db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", out)
    assert list(backups.iterdir()) == [out] and out.read_bytes() == b"another good backup"
    monkeypatch.undo()
    whole = backups / "whole.sqlite3"  # and with no file there the rename puts it in place
    monkeypatch.setattr(os, "link", no_hard_links)
    db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", whole)
    assert sorted(p.name for p in backups.iterdir()) == ["hub-today.sqlite3", "whole.sqlite3"]
    assert stat.S_IMODE(whole.stat().st_mode) == 0o600


def test_a_backup_may_have_the_longest_name_the_folder_allows(tmp_path: Path) -> None:
    """Review: the temporary file's name was ``.NAME.xxxxxxxx.partial``, 18 characters more
    than the backup's, so a legal name longer than ~237 characters failed with "File name too
    long". The temporary name takes the first 100 characters of it."""
    data = tmp_path / "hub"
    db.connect(f"sqlite:///{data / 'hub.sqlite3'}").dispose()
    backups = tmp_path / "backups"
    backups.mkdir()
    out = backups / ("b" * os.pathconf(backups, "PC_NAME_MAX"))  # 255 on ext4, tmpfs
    db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", out)
    assert list(backups.iterdir()) == [out] and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_long_non_ascii_backup_name_fits_in_bytes_or_is_refused_saying_so(
    tmp_path: Path,
) -> None:
    """Review (2026-12-06): the temporary name took 100 *characters* of the backup's, 300
    bytes for CJK ones, so a legal 80-character name (240 bytes) failed with "File name too
    long"; one over the limit was refused as an Errno 36 naming the temporary file. The
    temporary name takes 100 bytes now, and a name over the limit is refused first, in
    bytes."""
    data = tmp_path / "hub"
    db.connect(f"sqlite:///{data / 'hub.sqlite3'}").dispose()
    backups = tmp_path / "backups"
    backups.mkdir()
    limit = os.pathconf(backups, "PC_NAME_MAX")  # 255 on ext4, tmpfs
    fits = backups / ("\u5099" * (limit // 3))  # 3 bytes each in UTF-8
    db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", fits)
    assert list(backups.iterdir()) == [fits]
    too_long = backups / ("\u5099" * (limit // 3) + "x" * 3)
    with pytest.raises(HubConfigError, match=rf"its name is {limit + 3} bytes .* {limit} a name"):
        db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", too_long)
    assert list(backups.iterdir()) == [fits]


def test_a_backup_syncs_its_folder_once_it_has_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (2026-12-06): only the copy was fsynced, not its folder, so a power cut right
    after "backed up" could lose the name. The folder is synced after the link, with the name
    in it."""
    data = tmp_path / "hub"
    db.connect(f"sqlite:///{data / 'hub.sqlite3'}").dispose()
    out = tmp_path / "backups" / "hub.sqlite3"
    out.parent.mkdir()
    synced: list[tuple[bool, list[str]]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        is_dir = os.fstat(fd).st_ino == out.parent.stat().st_ino
        synced.append((is_dir, sorted(os.listdir(out.parent)) if is_dir else []))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", out)
    assert synced[-1] == (True, ["hub.sqlite3"]), synced  # the name there, the temporary gone


def test_a_folder_that_cannot_be_opened_to_sync_leaves_the_backup_a_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review rev12: on Windows ``os.open`` of a folder is ``EACCES`` (so for a write-only
    drop folder, mode 0333, on Linux), and a finished backup was reported as failed, every
    time. Opening the folder stands in for that here; an error of ``fsync`` itself is still
    raised, naming the folder."""
    import errno

    data = tmp_path / "hub"
    db.connect(f"sqlite:///{data / 'hub.sqlite3'}").dispose()
    backups = tmp_path / "backups"
    backups.mkdir()
    real_open = os.open

    def no_folder(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path) == backups:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_folder)
    out = backups / "hub.sqlite3"
    db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", out)
    assert list(backups.iterdir()) == [out] and out.stat().st_size > 0
    monkeypatch.undo()
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        if os.fstat(fd).st_ino == backups.stat().st_ino:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(HubConfigError, match="its folder could not be synced"):
        db.backup_sqlite(f"sqlite:///{data / 'hub.sqlite3'}", backups / "second.sqlite3")
    monkeypatch.undo()

    def never(*args: Any) -> int:
        raise AssertionError("a folder opened on Windows")

    monkeypatch.setattr(os, "open", never)
    monkeypatch.setattr(os, "name", "nt")  # not opened at all there: NTFS keeps names itself
    try:
        db._sync_folder(backups)
    finally:
        monkeypatch.undo()  # before pytest reports anything (it reads os.name)


def test_a_short_admin_token_is_refused_naming_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(HubConfigError, match=r"HRVPACE_HUB_ADMIN_TOKEN: .* 1 characters"):
        load_or_create_admin_token(HubSettings(data_dir=tmp_path, admin_token=SecretStr("x")))
    settings = HubSettings(data_dir=tmp_path / "hub")
    settings.data_dir.mkdir()
    fd = os.open(settings.admin_token_path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"ha_short\n")
    os.close(fd)
    with pytest.raises(
        HubConfigError, match=re.escape(f"{settings.admin_token_path}: ") + ".* 8 characters"
    ):
        load_or_create_admin_token(settings)


def test_a_short_admin_token_from_the_environment_gets_advice_that_works_there(
    tmp_path: Path,
) -> None:
    """Code review: a short ``HRVPACE_HUB_ADMIN_TOKEN`` (the README's way for several hub
    processes) stopped the hub at upgrade saying ``hrvpace hub token --rotate`` makes one, and
    that command refuses while the variable is set. The variable's and the ``_FILE``'s
    refusals now give a command that prints a good token; the data dir's file keeps
    ``--rotate``, which works there."""
    short = {"HRVPACE_HUB_ADMIN_TOKEN": "short"}
    served = CliRunner().invoke(
        hub_cli, ["serve", "--data-dir", str(tmp_path / "hub"), "--port", "0"], env=short
    )
    assert served.exit_code == 1 and "fewer than 16" in served.output, served.output
    assert "--rotate" not in served.output and MAKE_TOKEN_COMMAND in served.output
    rotated = CliRunner().invoke(
        hub_cli, ["token", "--rotate", "--data-dir", str(tmp_path / "hub")], env=short
    )
    assert rotated.exit_code == 1 and MAKE_TOKEN_COMMAND in rotated.output, rotated.output
    made = subprocess.run(
        shlex.split(MAKE_TOKEN_COMMAND), capture_output=True, text=True, check=True
    ).stdout.strip()
    settings = HubSettings(data_dir=tmp_path / "hub", admin_token=SecretStr(made))
    assert load_or_create_admin_token(settings) == (made, False)

    token_file = tmp_path / "secret"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"ha_short\n")
    os.close(fd)
    with pytest.raises(HubConfigError) as from_file:
        load_or_create_admin_token(HubSettings(data_dir=tmp_path, admin_token_file=token_file))
    assert MAKE_TOKEN_COMMAND in str(from_file.value) and "--rotate" not in str(from_file.value)
    own = HubSettings(data_dir=tmp_path / "own")
    own.data_dir.mkdir()
    fd = os.open(own.admin_token_path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"ha_short\n")
    os.close(fd)
    with pytest.raises(HubConfigError, match="hrvpace hub token --rotate makes one"):
        load_or_create_admin_token(own)


def test_hub_token_says_where_the_token_in_force_is(tmp_path: Path) -> None:
    """Code review: ``hrvpace hub token`` named the data dir's file when the variable supplied
    the token or no file existed yet. It now says what ``serve`` says, by the same precedence
    (the variable, the ``_FILE``, the data dir's file, none yet)."""
    data = tmp_path / "hub"

    def where(env: dict[str, str] | None = None) -> str:
        r = CliRunner().invoke(hub_cli, ["token", "--data-dir", str(data)], env=env)
        assert r.exit_code == 0, r.output
        return r.output

    none_yet = where()
    assert "admin token: none yet" in none_yet and "hrvpace hub serve" in none_yet, none_yet
    assert not data.exists()
    env = where({"HRVPACE_HUB_ADMIN_TOKEN": "ha_long-enough-token-xyz"})
    assert "admin token: from HRVPACE_HUB_ADMIN_TOKEN" in env and "--rotate" not in env, env
    assert MAKE_TOKEN_COMMAND in env
    named = where({"HRVPACE_HUB_ADMIN_TOKEN_FILE": str(tmp_path / "secret")})
    assert f"admin token: in {tmp_path / 'secret'} (HRVPACE_HUB_ADMIN_TOKEN_FILE)" in named
    load_or_create_admin_token(HubSettings(data_dir=data))
    own = where()
    assert f"admin token: in {data / 'admin-token'}" in own and "--rotate" in own, own


def test_token_rotate_writes_a_new_token_file_that_the_next_start_uses(tmp_path: Path) -> None:
    settings = HubSettings(data_dir=tmp_path / "hub")
    old, _ = load_or_create_admin_token(settings)
    where = CliRunner().invoke(hub_cli, ["token", "--data-dir", str(settings.data_dir)])
    assert where.exit_code == 0 and str(settings.admin_token_path) in where.output
    result = CliRunner().invoke(
        hub_cli, ["token", "--rotate", "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    new, created = load_or_create_admin_token(settings)  # what a restarted hub takes
    assert new != old and not created and f"0600): {new}" in result.output
    assert stat.S_IMODE(settings.admin_token_path.stat().st_mode) == 0o600
    assert "restart" in result.output
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["admin-token"]
    env = CliRunner().invoke(
        hub_cli,
        ["token", "--rotate", "--data-dir", str(settings.data_dir)],
        env={"HRVPACE_HUB_ADMIN_TOKEN": "ha_from-the-environment"},
    )
    assert env.exit_code == 1 and "HRVPACE_HUB_ADMIN_TOKEN is set" in env.output
    assert load_or_create_admin_token(settings) == (new, False)


class _SteppedBackup:
    """A ``sqlite3`` connection whose ``backup`` copies one page a step and calls ``step()``
    after each: an interruption or failure in the middle of a copy, where the test wants it."""

    def __init__(self, conn: Any, step: Any) -> None:
        self.conn, self.step = conn, step

    def backup(self, target: _SteppedBackup, **_: Any) -> None:
        self.conn.backup(target.conn, pages=1, progress=lambda *_: self.step())

    def close(self) -> None:
        self.conn.close()


def test_a_backup_stopped_midway_leaves_nothing_at_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: ``hrvpace hub backup`` interrupted (Ctrl-C) or failing in the middle left a
    half-written file at the backup's path, which a later restore could take for a backup.
    The copy goes to a temporary file beside it, named into place only when complete: after
    Ctrl-C, after an error, and when a (good) backup appeared at that path meanwhile (kept
    as it was), the folder holds what it held before."""
    import sqlite3

    data = tmp_path / "hub"
    db.connect(f"sqlite:///{data / 'hub.sqlite3'}").dispose()  # the schema: many pages
    url = f"sqlite:///{data / 'hub.sqlite3'}"
    backups = tmp_path / "backups"
    backups.mkdir()
    out = backups / "hub-today.sqlite3"
    real_connect = sqlite3.connect

    def stepping(step: Any) -> None:
        monkeypatch.setattr(
            sqlite3, "connect", lambda *a, **kw: _SteppedBackup(real_connect(*a, **kw), step)
        )

    def interrupt() -> None:
        raise KeyboardInterrupt

    stepping(interrupt)
    with pytest.raises(KeyboardInterrupt):
        db.backup_sqlite(url, out)
    assert list(backups.iterdir()) == []

    def fail() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    stepping(fail)
    with pytest.raises(HubConfigError, match=r"backup of .* failed: disk I/O error"):
        db.backup_sqlite(url, out)
    assert list(backups.iterdir()) == []

    def another_backup_lands() -> None:
        if not out.exists():
            out.write_bytes(b"a good backup")

    stepping(another_backup_lands)
    with pytest.raises(HubConfigError, match="exists already"):
        db.backup_sqlite(url, out)
    assert list(backups.iterdir()) == [out] and out.read_bytes() == b"a good backup"

    monkeypatch.setattr(sqlite3, "connect", real_connect)
    db.backup_sqlite(url, backups / "whole.sqlite3")  # and a copy not stopped is whole
    assert sorted(p.name for p in backups.iterdir()) == ["hub-today.sqlite3", "whole.sqlite3"]
    assert stat.S_IMODE((backups / "whole.sqlite3").stat().st_mode) == 0o600
    with real_connect(backups / "whole.sqlite3") as copy:
        assert copy.execute("pragma integrity_check").fetchone() == ("ok",)
        assert copy.execute("select version from schema_version").fetchone() == (db.SCHEMA_VERSION,)
