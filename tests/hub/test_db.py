"""The hub's database and start: migrations, URLs, file modes, the admin token, the command."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub import db
from hub.auth import load_or_create_admin_token
from hub.cli import app as hub_cli
from hub.errors import HubConfigError
from hub.settings import HubSettings


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


def test_bad_database_urls_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(HubConfigError, match="unsupported database URL scheme 'mysql'"):
        db.connect("mysql://root@localhost/hub")
    with pytest.raises(HubConfigError, match="cannot open the hub database"):
        db.connect("postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(
        hub_cli, ["serve", "--data-dir", str(tmp_path), "--database-url", "mysql://x/y"]
    )
    assert result.exit_code == 1 and "unsupported database URL" in result.output


def test_sqlite_file_and_admin_token_are_the_owners_only(tmp_path: Path) -> None:
    settings = HubSettings(data_dir=tmp_path / "hub")
    token, created = load_or_create_admin_token(settings)
    assert created and token.startswith("ha_")
    assert stat.S_IMODE(settings.admin_token_path.stat().st_mode) == 0o600
    assert load_or_create_admin_token(settings) == (token, False)
    engine = db.connect(settings.db_url)
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "hub" / "hub.sqlite3").stat().st_mode) == 0o600
    assert load_or_create_admin_token(HubSettings(data_dir=tmp_path, admin_token="ha_x")) == (
        "ha_x",
        False,
    )
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
    assert f"admin token (shown once): {token}" in first
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
            assert c.get(f"/hub/v1/groups/{gid}").json()["members"] == 20

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
                    base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
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
