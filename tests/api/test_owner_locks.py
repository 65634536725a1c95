"""Owner lock files left behind (:mod:`api.storage.owners`), on real files with real ``flock``.

A killed maker's ``.<id>.new`` file was never removed; a forked child closing an inherited
storage removed its parent's lock file; a lock file that cannot be tested kept its sessions
``running`` with only a log line to say so (review of the owner locks, 2026-12).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import pwd
import shutil
import sqlite3
import stat
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from api.commands._server import lock_data_dir
from api.settings import load_settings
from api.storage import Storage, StorageError, owners
from api.storage.owners import NEW_STALE_S, OwnerProbe, owners_dir
from tests.api.conftest import asgi_service

#: The user ("nobody") a test running as root becomes in a forked child, as another user.
OTHER_UID = 65534


def _root() -> bool:
    """Whether the test runs as root (asked at each test, not at import)."""
    return os.geteuid() == 0


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


def _forked(child: Callable[[], Any], *, as_other_user: bool = False) -> Any:
    """What ``child()`` returns (JSON) when run in a forked child, as :data:`OTHER_UID` if asked
    (the test runs as root). An exception in the child fails the test, naming it."""
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of a fork with threads running
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        status = 1
        try:
            os.close(read)
            if as_other_user:
                os.setgroups([])
                os.setgid(OTHER_UID)
                os.setuid(OTHER_UID)
            try:
                said = {"result": child()}
            except BaseException as exc:  # said to the parent, which fails the test
                said = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(write, json.dumps(said).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = json.loads(pipe.read() or b'{"error": "the child said nothing"}')
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
    assert "error" not in said, said["error"]
    return said["result"]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can reach (pytest's own are the user's only), removed after."""
    folder = Path(tempfile.mkdtemp(prefix="hrvpace-owners-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def _users_database(folder: Path) -> Path:
    """A database of :data:`OTHER_UID` (the user) in its data dir, when the test runs as root."""
    data = folder / "data"
    data.mkdir(mode=0o700)
    db = load_settings(data_dir=data, token="t").database_path
    Storage(db).close()
    shutil.rmtree(owners_dir(db))  # made below by the case
    if _root():
        for path in (data, db):
            os.chown(path, OTHER_UID, OTHER_UID)
    return db


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
    health needs no token) and what to do, without claiming sessions it may not have. Deleted
    while the service runs, it no longer asks to delete it (looked at at each request); the
    next start marks them."""
    data = tmp_path / "data"
    db = load_settings(data_dir=data, token="t").database_path
    stale = _foreign_lock(db, monkeypatch)
    name = f"{db.name}-owners/{stale.name}"
    async with asgi_service(data) as (_, client):
        body = (await client.get("/api/v1/health")).json()
        assert body["storage"] == "ok"
        [warning] = body["storage_warnings"]
        assert warning.startswith(
            f"owner lock {name} cannot be opened (Permission denied): "
            "its process counts as alive and any sessions it started stay 'running'"
        )
        assert "delete the file" in warning and str(tmp_path) not in warning
        monkeypatch.undo()
        stale.unlink()  # what the warning says to do
        body = (await client.get("/api/v1/health")).json()
        assert body["storage_warnings"] == [
            f"owner lock {name} (cannot be opened (Permission denied) at start) is gone now: "
            "its process ended or the file was deleted; the next start marks any sessions it "
            "left 'running' interrupted"
        ]
    async with asgi_service(data) as (app, client):
        body = (await client.get("/api/v1/health")).json()
        assert body["storage_warnings"] == []
        assert app.state.storage.interrupted_on_open == ["s"]


def test_without_locks_the_database_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``flock`` fails on every file (a file system without locks) an opening cannot
    take its own owner lock: it fails, saying so (the README said it warned and went on)."""

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(owners.fcntl, "flock", no_locks)
    db = tmp_path / "db.sqlite3"
    with pytest.raises(StorageError) as raised:
        Storage(db)
    assert str(raised.value) == f"{db}: cannot open the database ([Errno 37] No locks available)"
    assert _names(owners_dir(db)) == []


def test_a_killed_processs_lock_file_is_removed_with_no_session_naming_it(
    tmp_path: Path,
) -> None:
    """A process killed with no session running left its lock file, which no row names: only
    the sweep's probe of every lock file removes it, or such files pile up for good."""
    db = tmp_path / "db.sqlite3"
    Storage(db).close()
    left = Path(_forked(lambda: str(owners.Owner(db).path)))  # ends without releasing it
    assert _names(owners_dir(db)) == [left.name]
    assert not _locked_elsewhere(left)  # its lock went with its process
    st = Storage(db)
    st.close()
    assert st.interrupted_on_open == [] and st.owner_warnings == ()
    assert _names(owners_dir(db)) == []


def test_a_maker_whose_temporary_file_a_sweep_holds_makes_its_lock_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another opening's sweep took a maker's stale-looking ``.new`` file and holds its lock
    when the maker locks it: the maker must not fail the opening. It removes that file (the
    sweep has not yet) and makes its lock again under a new id."""
    db = tmp_path / "db.sqlite3"
    real_flock = fcntl.flock
    made: list[str] = []
    swept: list[int] = []  # the sweep's descriptor, its lock held

    def flock_while_swept(fd: int, op: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.endswith(".new"):
            made.append(name)
            if len(made) == 1:
                swept.append(os.open(name, os.O_RDWR))
                real_flock(swept[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
        real_flock(fd, op)

    monkeypatch.setattr(owners.fcntl, "flock", flock_while_swept)
    try:
        owner = owners.Owner(db)
    finally:
        monkeypatch.undo()
        for fd in swept:
            os.close(fd)  # after the checks below would be too late for a raising maker
    try:
        assert len(made) == 2 and made[0] != made[1]
        assert not Path(made[0]).exists()  # the maker removed it
        assert _names(owners_dir(db)) == [f"{owner.id}.lock"]
        assert _locked_elsewhere(owner.path)
    finally:
        owner.release()


def test_a_maker_that_fails_leaves_no_file_and_no_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error while making the lock (here its rename) raises, and leaves neither the
    temporary file (for the sweep to find a minute later) nor its descriptor open."""
    db = tmp_path / "db.sqlite3"
    real_open = os.open
    opened: list[int] = []

    def recording_open(path: Any, flags: int, *args: Any) -> int:
        fd = real_open(path, flags, *args)
        if str(path).endswith(".new"):
            opened.append(fd)
        return fd

    def broken_rename(src: Any, dst: Any) -> None:
        raise OSError(errno.EIO, "Input/output error", str(src))

    monkeypatch.setattr(owners.os, "open", recording_open)
    monkeypatch.setattr(owners.os, "rename", broken_rename)
    with pytest.raises(OSError, match="Input/output error"):
        owners.Owner(db)
    monkeypatch.undo()
    assert _names(owners_dir(db)) == []
    [fd] = opened
    with pytest.raises(OSError) as closed:
        os.fstat(fd)
    assert closed.value.errno == errno.EBADF


def test_release_removes_the_lock_file_and_drops_the_lock(tmp_path: Path) -> None:
    """:meth:`Owner.release` closes its descriptor: the lock is not held until the process
    ends (the removed file's inode, still open here, can be locked again)."""
    owner = owners.Owner(tmp_path / "db.sqlite3")
    fd = os.open(owner.path, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        owner.release()
        assert not owner.path.exists()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free
    finally:
        os.close(fd)


def test_another_users_temporary_file_is_removed_once_old_a_fresh_one_kept(
    shared_tmp: Path,
) -> None:
    """A ``.new`` file the opening cannot open (root's, left by a ``sudo`` run killed between
    making and renaming it) cannot be locked to test: its age alone says its maker died, so
    an old one is removed (no session names it) and one just made is kept (its maker locks
    and renames it in a moment). As root, the sweep runs as another user."""
    db = _users_database(shared_tmp)
    folder = owners_dir(db)
    folder.mkdir(mode=0o700)
    if _root():
        os.chown(folder, OTHER_UID, OTHER_UID)  # the user's folder, root's files in it
    old = _touch(folder / f".{'a' * 32}.new", age_s=NEW_STALE_S + 5)
    fresh = _touch(folder / f".{'b' * 32}.new", age_s=0)
    for path in (old, fresh):
        path.chmod(0o600 if _root() else 0)

    def sweep() -> str:
        OwnerProbe(db).sweep()
        try:
            os.close(os.open(fresh, os.O_RDWR))
        except OSError as exc:
            return exc.strerror or ""
        return "opened"

    assert _forked(sweep, as_other_user=_root()) == "Permission denied"
    assert _names(folder) == [fresh.name]


def test_a_root_process_gives_its_owner_files_to_the_databases_owner(shared_tmp: Path) -> None:
    """A root-made owners folder stopped the user's service from opening the database, and a
    lock file of a killed ``sudo hrvpace replay --store`` could not be tested by it (its
    sessions stayed running, with a warning). Run as root, an opening gives the folder and its
    lock file to the database file's owner, as SQLite gives ``-wal`` and ``-shm``: the user
    opens beside it, finds a live root owner alive without a warning, and removes a killed
    one's file. (Not as root, they are the user's anyway.)"""
    db = _users_database(shared_tmp)
    user = OTHER_UID if _root() else os.geteuid()
    folder = owners_dir(db)
    live = owners.Owner(db)  # as root: a sudo run, alive
    try:
        group = OTHER_UID if _root() else os.getegid()
        assert (folder.stat().st_uid, folder.stat().st_gid) == (user, group)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert (live.path.stat().st_uid, stat.S_IMODE(live.path.stat().st_mode)) == (user, 0o600)
        killed = Path(_forked(lambda: str(owners.Owner(db).path)))  # a sudo run, killed
        assert killed.stat().st_uid == user

        def users_opening() -> list[Any]:
            probe = OwnerProbe(db)
            alive = probe.alive(live.id)
            probe.sweep()
            mine = owners.Owner(db)  # the user's own lock, in root's folder
            mine.release()
            return [alive, [u.reason for u in probe.unprobed]]

        assert _forked(users_opening, as_other_user=_root()) == [True, []]
        assert _names(folder) == [live.path.name]  # the killed one's removed
    finally:
        live.release()


def test_serve_refuses_an_owners_folder_it_cannot_write_naming_it_and_the_fix(
    shared_tmp: Path,
) -> None:
    """An owners folder root made (a ``sudo`` run of an older hrvpace) passed ``serve``'s
    check before it starts, then failed the app's start with "Permission denied" on a file in
    it. The check, and an opening (as ``replay --store``'s), now name the folder and the fix;
    after the fix both go through. As root, the user's ``serve`` runs as another user."""
    db = _users_database(shared_tmp)
    folder = owners_dir(db)
    folder.mkdir(mode=0o700)  # root's (as root), or one the user cannot write
    if not _root():
        folder.chmod(0o500)
    settings = load_settings(data_dir=db.parent, token="t")

    def users_serve() -> list[Any]:
        err = io.StringIO()
        code = 0
        with contextlib.redirect_stderr(err):
            try:
                lock_data_dir(settings).release()
            except typer.Exit as exc:
                code = exc.exit_code
        try:
            Storage(db).close()
            opened = "opened"
        except StorageError as exc:
            opened = str(exc)
        return [code, err.getvalue(), opened]

    code, said, opened = _forked(users_serve, as_other_user=_root())
    if _root():
        whose = "it belongs to root, made by a run with sudo?"
        fix = f"sudo chown -R {pwd.getpwuid(OTHER_UID).pw_name} {folder}"
    else:
        whose, fix = "its mode is dr-x------", f"chmod u+rwx {folder}"
    problem = (
        f"{db}: cannot open the database: no permission to write the owner lock folder "
        f"{folder} ({whose}); give it to this user: {fix}"
    )
    assert (code, said, opened) == (1, f"hrvpace: {problem}\n", problem)
    if _root():  # the fix
        for path in (folder, *folder.iterdir()):
            os.chown(path, OTHER_UID, OTHER_UID)
    else:
        folder.chmod(0o700)
    assert _forked(users_serve, as_other_user=_root()) == [0, "", "opened"]
