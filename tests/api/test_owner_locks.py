"""Owner lock files left behind or removed wrongly (:mod:`api.storage.owners`), on real files
with real ``flock``.

A forked child closing an inherited storage removed its parent's lock file (review of the owner
locks, 2026-12).
"""

from __future__ import annotations

import fcntl
import os
import warnings
from pathlib import Path

from api.storage import Storage


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
