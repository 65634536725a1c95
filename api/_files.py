"""Files written whole or not at all: under a temporary name beside them, then moved in place.

Shared by ``hrvpace analyze``'s tables (:func:`api.research.cohort.write_table`),
``hrvpace export`` (:func:`api.research.export.export_session`) and its ``--prompts``
(:func:`api.dayplan.export_prompts`), ``hrvpace report``'s HTML, PDF and PNGs
(:func:`api.research.report.write_report`). A failed write leaves the
old file as it was (or none), never half a new one; a link at the name stays a link (the
file it names is replaced); a replaced file keeps its mode, a new one gets ``0666`` less the
umask, as :func:`open` would give it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["move_into", "real_path", "replace_with", "temp_prefix", "write_replacing"]


def replace_with(final: Path, write: Callable[[Any], None], *, binary: bool = False) -> Path:
    """A new file written beside ``final`` under a temporary name, to be moved onto it.

    ``final`` is the real file (:func:`real_path`): the temporary file is made in its folder. It
    gets the mode of the file it replaces (health data kept ``0600`` stays so), or for a new
    file the mode :func:`open` would give it (``0666`` less the umask).
    Returns the temporary path (the caller moves it with :func:`os.replace`, or removes it);
    an error names ``final``, the file that could not be written.
    """
    try:
        fd, tmp = _new_file(final.parent, temp_prefix(final))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(final)) from None
    try:
        # a new file keeps the mode it was created with: 0666 less the umask, as open() gives
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(fd, stat.S_IMODE(os.stat(final).st_mode))
        with open(fd, "wb" if binary else "w", **({} if binary else _TEXT)) as f:
            write(f)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(final)) from None
        raise
    return Path(tmp)


_TEXT: dict[str, Any] = {"newline": "", "encoding": "utf-8"}

#: Bytes of the final name kept in the temporary one: with ``.``, ``.``, mkstemp's 8 random
#: characters and ``.tmp`` it stays far below the 255 a name may have on common file systems.
_NAME_KEPT = 64


def _new_file(folder: Path, prefix: str) -> tuple[int, str]:
    """A new file ``{prefix}XXXXXXXX.tmp`` in ``folder``, created ``0666`` less the umask.

    As :func:`tempfile.mkstemp` (a random name, ``O_EXCL``: never an existing file or link),
    but with the mode :func:`open` gives, not ``0600``. Code review: the umask was read with
    ``os.umask(0)`` and set back, which changes it for the whole process for a moment (not
    thread-safe); here the kernel applies it.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(tempfile.TMP_MAX):
        path = os.path.join(folder, f"{prefix}{secrets.token_hex(4)}.tmp")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def temp_prefix(final: Path) -> str:
    """The temporary file's prefix: ``.`` and the start of ``final``'s name (says whose it is).

    Code review: the whole name made the temporary one 14 bytes longer, so a table named with
    ~245 bytes failed as "File name too long" after the whole analysis; a name cut to
    :data:`_NAME_KEPT` bytes (whole UTF-8 characters) cannot.
    """
    kept = os.fsencode(final.name)[:_NAME_KEPT].decode("utf-8", "ignore")
    return f".{kept}."


def real_path(path: Path) -> Path:
    """The file ``path`` names, links followed: the one to replace.

    Code review: a move onto a link replaced the link with a new file and left the file it
    pointed to stale.
    """
    return Path(os.path.realpath(path))


def move_into(tmp: Path, final: Path) -> None:
    """Move ``tmp`` onto ``final``; a failure removes ``tmp`` and names ``final``."""
    try:
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(final)) from None


def write_replacing(path: Path, write: Callable[[Any], None], *, binary: bool = False) -> None:
    """Write the file ``path`` names (links followed) under a temporary name, then move it in."""
    real = real_path(path)
    move_into(replace_with(real, write, binary=binary), real)
