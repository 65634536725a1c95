"""Owner lock files left behind (:mod:`api.storage.owners`), on real files with real ``flock``.

A killed maker's ``.<id>.new`` file was never removed; a forked child closing an inherited
storage removed its parent's lock file; a lock file that cannot be tested kept its sessions
``running`` with only a log line to say so (review of the owner locks, 2026-12).
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from api.settings import load_settings
from api.storage import Storage, owners
from api.storage.owners import NEW_STALE_S, OwnerProbe, owners_dir
from tests.api.conftest import asgi_service


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _locked_elsewhere(path: Path) -> bool:
    """Whether another open file holds ``path``'s lock (flock is per open file)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        return False
    finally:
        os.close(fd)


def _touch(path: Path, *, age_s: float) -> Path:
    path.touch()
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_a_killed_makers_temporary_file_is_swept_a_fresh_or_locked_one_kept(
    tmp_path: Path,
) -> None:
    """A process killed between making ``.<id>.new`` and renaming it left the file for good.
    An opening removes one at least NEW_STALE_S old that nobody locks; it keeps one just made
    (its maker locks it in a moment), one locked (its maker renames it in a moment), and
    files not named as the owners' are."""
    db = tmp_path / "db.sqlite3"
    Storage(db).close()
    folder = owners_dir(db)
    stale = _touch(folder / f".{'a' * 32}.new", age_s=NEW_STALE_S + 5)
    fresh = _touch(folder / f".{'b' * 32}.new", age_s=0)
    held = _touch(folder / f".{'c' * 32}.new", age_s=NEW_STALE_S + 5)
    other = _touch(folder / ".notes.new", age_s=NEW_STALE_S + 5)
    fd = os.open(held, os.O_RDWR)  # a maker between locking and renaming it
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        st = Storage(db)
        st.close()
        assert st.owner_warnings == ()
        assert not stale.exists()
        assert _names(folder) == sorted([fresh.name, held.name, other.name])
    finally:
        os.close(fd)
    Storage(db).close()
    assert _names(folder) == sorted([fresh.name, other.name])  # its maker died


def test_a_maker_whose_temporary_file_a_sweep_took_makes_its_lock_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A maker stalled past NEW_STALE_S between making its file and locking it, and another
    opening's sweep took the file meanwhile: the maker's rename found it gone. It makes its
    lock again under a new id, and holds it."""
    db = tmp_path / "db.sqlite3"
    real_flock = fcntl.flock
    made: list[str] = []  # the maker's temporary files, as it locks them
    sweeping = False

    def stalled_flock(fd: int, op: int) -> None:
        nonlocal sweeping
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.endswith(".new") and not sweeping:
            made.append(name)
            if len(made) == 1:
                os.utime(name, (time.time() - NEW_STALE_S - 1,) * 2)  # the stall
                sweeping = True
                OwnerProbe(db).sweep()  # another opening's: its flock is another open file's
                sweeping = False
                assert not Path(name).exists()
        real_flock(fd, op)

    monkeypatch.setattr(owners.fcntl, "flock", stalled_flock)
    owner = owners.Owner(db)
    monkeypatch.undo()
    try:
        assert len(made) == 2 and made[0] != made[1]  # made again, under a new id
        assert made[1] == str(owners_dir(db) / f".{owner.id}.new")
        assert _names(owners_dir(db)) == [f"{owner.id}.lock"]
        assert _locked_elsewhere(owner.path)
    finally:
        owner.release()


def test_a_forked_child_closing_an_inherited_storage_leaves_its_parents_lock(
    tmp_path: Path,
) -> None:
    """A forked child that closed the storage it inherited removed its parent's lock file:
    every later opening took the parent for gone and marked its running sessions
    interrupted. The child says by its exit status whether its close raised."""
    st = Storage(tmp_path / "db.sqlite3", flush_s=0.02)
    try:
        st.create_session("live", created_at=1.0, mode="monitor", source={}, options={})
        st.flush().result(timeout=10)
        with warnings.catch_warnings():  # Python 3.12+ warns of a fork with threads running
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never back into pytest
            status = 1
            try:
                st.close()
                status = 0
            finally:
                os._exit(status)
        _, wait_status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(wait_status) == 0
        assert st.owner.path.exists()
        assert _locked_elsewhere(st.owner.path)
        other = Storage(tmp_path / "db.sqlite3")  # as another process (its own lock file)
        other.close()
        assert other.interrupted_on_open == []
        st.set_session_state("live", "ended", ended_at=2.0).result(timeout=10)  # still works
    finally:
        st.close()
    assert not st.owner.path.exists()  # the parent's close removes it


def _foreign_lock(db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A session left running by an owner whose lock file this user cannot open."""
    st = Storage(db)
    st.create_session("s", created_at=1.0, mode="monitor", source={}, options={})
    st.close()
    stale = owners_dir(db) / f"{'a' * 32}.lock"
    stale.write_text("")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE sessions SET owner = ?", ("a" * 32,))
    conn.close()
    real_open = os.open

    def denied(path: Any, flags: int, *args: Any) -> int:  # root opens any file: as a user
        if Path(path) == stale:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(owners.os, "open", denied)
    return stale


async def test_health_names_an_owner_lock_it_cannot_test_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An owner lock file of another user kept its sessions running with a log line only:
    ``GET /health`` says so too, naming the file within the data dir (not the home folder:
    health needs no token) and what to do. Deleted, the next start marks them."""
    data = tmp_path / "data"
    db = load_settings(data_dir=data, token="t").database_path
    stale = _foreign_lock(db, monkeypatch)
    async with asgi_service(data) as (_, client):
        body = (await client.get("/api/v1/health")).json()
    assert body["storage"] == "ok"
    [warning] = body["storage_warnings"]
    assert warning.startswith(
        f"owner lock {db.name}-owners/{stale.name} cannot be opened (Permission denied): "
        "its process counts as alive and the sessions it started stay 'running'"
    )
    assert "delete the file" in warning and str(tmp_path) not in warning
    monkeypatch.undo()
    stale.unlink()  # what the warning says to do
    async with asgi_service(data) as (app, client):
        body = (await client.get("/api/v1/health")).json()
        assert body["storage_warnings"] == []
        assert app.state.storage.interrupted_on_open == ["s"]
