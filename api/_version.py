"""The single source of hrvpace's version number, and what else says which build ran.

``__version__`` is the release label (hatch writes it into the installed metadata). It names a
release, not a commit: numbers can change between commits under one label, so every research
output also records :func:`build_info` (the git commit of a checkout, or what the install
recorded) and :func:`library_versions` (numpy, scipy and, when loaded, NeuroKit2).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

#: The folder holding ``api/``, ``hrv/``...: a git checkout when hrvpace runs from source.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _installed_version() -> str | None:
    try:
        return metadata.version("hrvpace")
    except Exception:  # not installed (run from a checkout on PYTHONPATH)
        return None


def _git_build(root: Path) -> str | None:
    """``<commit>`` (``<commit>-dirty`` when a tracked file's content differs) of ``root``.

    Only when ``root`` itself is a git checkout (``.git`` there: a folder, or a worktree's
    file); never a repository above it. Two short ``git`` calls with a timeout; any failure
    (no git, not a repository, too slow) is ``None``, never an error.
    """
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        if not head:
            return None
        # ``status`` compares content where the stat data differ (``diff-index`` trusts the
        # stat data: a touched or copied file, same bytes, read as dirty). With the
        # optional-locks switch it leaves the checkout's index alone (``git diff`` 2.39 still
        # rewrites it). Staged or not, a tracked file that differs from HEAD is listed.
        changed = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain", "-uno"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return f"{head}-dirty" if changed else head
    except Exception:
        return None


def _recorded_build() -> str | None:
    """The commit pip recorded for an install from a git URL (PEP 610 ``direct_url.json``)."""
    try:
        text = metadata.distribution("hrvpace").read_text("direct_url.json")
        info = json.loads(text) if text else {}
        commit = (info.get("vcs_info") or {}).get("commit_id")
        return str(commit) if commit else None
    except Exception:
        return None


@functools.cache
def build_info() -> dict[str, Any]:
    """Which hrvpace ran, as a JSON-ready dict (computed once per process; never raises).

    ``version`` is :data:`__version__` of the code running; ``installed_version`` the version
    in the installed metadata (``None`` when not installed; it differs from ``version`` when
    a checkout on ``PYTHONPATH`` shadows an install); ``build`` the git commit of the source
    folder when it is a checkout (``-dirty`` appended when tracked files differ from it), else
    the commit an install from git recorded, else ``None`` (a wheel from an index: the version
    is all there is); ``build_from`` says which (``"git checkout"``, ``"install record"``).
    """
    build = _git_build(_SOURCE_ROOT)
    source = "git checkout" if build is not None else None
    if build is None:
        build = _recorded_build()
        source = "install record" if build is not None else None
    return {
        "version": __version__,
        "installed_version": _installed_version(),
        "build": build,
        "build_from": source,
    }


def provenance(*, neurokit: bool = False) -> dict[str, Any]:
    """What every research output records of the software that made it, as a JSON-ready dict.

    ``hrvpace_version`` (:data:`__version__`), ``hrvpace_build`` (:func:`build_info`) and
    ``libraries`` (:func:`library_versions`, ``neurokit`` passed on): the settings of
    ``hrvpace analyze``, ``replay --json``'s ``replay_end``, ``hrvpace export``'s ``ID.json``
    and, as one line (:func:`build_label`), the ``hrvpace report`` page and PDF. A fresh dict each
    call (the cached build is copied).
    """
    return {
        "hrvpace_version": __version__,
        "hrvpace_build": dict(build_info()),
        "libraries": library_versions(neurokit=neurokit),
    }


def build_label(info: dict[str, Any] | None = None) -> str:
    """The build in one line for a page: ``hrvpace 0.1.0, build <commit> (git checkout)``.

    From ``info`` (:func:`provenance`'s ``hrvpace_build``, default this process's): the
    version, the commit and where it was read (``-dirty`` kept), ``installed 0.0.9`` when the
    installed metadata names another version, ``build unknown`` when no commit is known (a
    wheel from an index: the version is all there is).
    """
    b = build_info() if info is None else info
    label = f"hrvpace {b['version']}"
    if b.get("build"):
        label += f", build {b['build']} ({b['build_from']})"
    else:
        label += ", build unknown"
    installed = b.get("installed_version")
    if installed is not None and installed != b["version"]:
        label += f", installed {installed}"
    return label


def library_versions(*, neurokit: bool = False) -> dict[str, str | None]:
    """Python's and the numeric libraries' versions, NeuroKit2's when it may have been used.

    NeuroKit2 detects an ECG/PPG's beats (signal formats only, often in worker processes):
    its version is named when ``neurokit`` (the caller may read signals) or when this process
    imported it, and is ``None`` when it is not installed.
    """
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in ("numpy", "scipy"):
        out[name] = _dist_version(name)
    if neurokit or "neurokit2" in sys.modules:
        out["neurokit2"] = _dist_version("neurokit2")
    return out


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except Exception:
        return None
