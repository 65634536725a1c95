"""The recordings folder: the only files the service replays.

A replay through the API names a recording in ``Settings.recordings_path``
(``HRVPACE_RECORDINGS_DIR``, default ``<data_dir>/recordings``); a recording gets there by
upload (``POST /api/v1/recordings``) or by the person copying it there. Nothing outside the
folder can be named: a name is one path component of letters, digits, ``.``, ``_`` and ``-``
(no leading dot, at most 100 characters), and a symbolic link leading out of the folder is
not followed.

Uploads are read before they are kept, as ``hrvpace analyze`` reads a file (the one detection,
:func:`api.research.discover.choose_reading`, on the uploaded file's name and content, then
:func:`sensors.read_recording`), so a stored upload replays; its name is the uploaded one made
safe (:func:`safe_name`: the extension kept, ``recording`` for a stem without ASCII letters or
digits); a name already taken is never overwritten: the upload gets the next free name
(``rest.txt`` -> ``rest-2.txt``) and the answer says which. Each upload keeps a small sidecar
``.<name>.json`` (format, units, beats, duration) so listing does not re-read the files.

Errors never quote a file's content: an unreadable recording is named with its line number only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from api.errors import RecordingNotFoundError, RecordingUnreadableError
from api.research.discover import choose_reading, export_table_problem
from sensors import RECORDING_FORMATS
from sensors.beat import SourceState, SourceStatus
from sensors.errors import RecordingFormatError, SensorError
from sensors.formats._common import Recording
from sensors.recording import read_recording
from sensors.replay import ReplaySource

__all__ = [
    "NAME_PATTERN",
    "RecordingInfo",
    "RecordingSource",
    "RecordingStore",
    "safe_name",
]

#: What a recording's name may be (one path component, no leading dot).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_NAME_RE = re.compile(NAME_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str | None) -> str:
    """A safe recording name from an uploaded file's name (its last component, cleaned).

    The extension is kept; the stem keeps its ASCII letters, digits, ``.``, ``_`` and ``-``
    (every other run of characters becomes one ``_``, leading punctuation is dropped). A stem
    left with no letter or digit (``日本.txt``, ``-.txt``) becomes ``recording``.

    >>> safe_name("../../etc/passwd")
    'passwd'
    >>> safe_name("my rest (1).txt")
    'my_rest_1_.txt'
    >>> safe_name("日本.txt")
    'recording.txt'
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    stem, ext = os.path.splitext(base)  # a leading dot is no extension: ".hidden" is a stem
    stem = re.sub(r"\.+", ".", _UNSAFE.sub("_", stem)).lstrip("._-").rstrip(".")
    suffix = _UNSAFE.sub("_", ext[1:]).strip("._-")[:16]
    room = 100 - (len(suffix) + 1 if suffix else 0)
    if len(stem) > room:
        stem = stem[:room].rstrip("._-")
    if not stem:
        stem, suffix = "recording", suffix or "txt"
    cleaned = f"{stem}.{suffix}" if suffix else stem
    return cleaned if _valid(cleaned) else "recording.txt"


def api_flags(text: str) -> str:
    """A reader's message with the API's field names for the command line's flags."""
    return text.replace("--units ", "units=").replace("--format ", "format=")


def _unreadable(
    name: str, exc: RecordingFormatError, format: str | None, read_as: str | None
) -> str:
    """Why the upload ``name`` cannot be read, quoting no line of it.

    A problem of the whole file (units, duration) is the reason ``hrvpace analyze`` gives,
    quoting no line: it is passed on as it is (:func:`api_flags`). A problem at a line may
    quote the line (RR data is health data: it must not reach the answer or a log), so the
    line's number is given with the reader's ``summary``, the problem in words that quote
    nothing (``an RR interval is not a finite number``), when it has one. ``format`` is the
    format the client named, ``read_as`` the one the file was read in (``None``: detected
    by the reader).
    """
    if exc.line is None:
        return f"{name}: {api_flags(exc.problem)}"
    what = (
        f"as {format!r}"
        if format
        else f"(read as {read_as!r})"
        if read_as
        else "in any known format"
    )
    why = f": {api_flags(exc.summary)}" if exc.summary else ""
    return (
        f"{name}: not a readable RR recording {what} at line {exc.line}{why}"
        f" (formats: {', '.join(RECORDING_FORMATS)}; units ms or s)"
    )


def _valid(name: str) -> bool:
    return bool(_NAME_RE.match(name)) and ".." not in name


@dataclasses.dataclass(frozen=True)
class RecordingInfo:
    """What the service knows of a recording in the folder."""

    name: str
    size_bytes: int
    uploaded_at: float
    format: str | None = None
    units: str | None = None
    beats: int | None = None
    duration_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The recording's fields as a dict."""
        return dataclasses.asdict(self)


class RecordingStore:
    """The recordings folder ``root`` (created 0700 on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _ensure(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.root

    def path_of(self, name: str) -> Path:
        """The file of recording ``name``.

        Raises
        ------
        RecordingNotFoundError
            ``name`` is not a valid name, not in the folder, not a regular file, or a link out
            of the folder.
        """
        missing = RecordingNotFoundError(
            f"no recording named {name[:100]!r}; upload it with POST /api/v1/recordings"
        )
        if not _valid(name):
            raise missing
        path = self.root / name
        try:
            resolved = path.resolve(strict=True)
            inside = resolved.parent == self.root.resolve(strict=True)
        except (OSError, RuntimeError):
            raise missing from None
        if not inside or not resolved.is_file():
            raise missing
        return path

    def _sidecar(self, name: str) -> Path:
        return self.root / f".{name}.json"

    def info(self, name: str) -> RecordingInfo:
        """What is known of ``name`` (its sidecar, else its size and time only)."""
        path = self.path_of(name)
        st = path.stat()
        with contextlib.suppress(OSError, ValueError, TypeError):
            meta = json.loads(self._sidecar(name).read_text())
            if isinstance(meta, dict) and meta.get("size_bytes") == st.st_size:
                return RecordingInfo(
                    name=name,
                    size_bytes=st.st_size,
                    uploaded_at=float(meta.get("uploaded_at", st.st_mtime)),
                    format=meta.get("format"),
                    units=meta.get("units"),
                    beats=meta.get("beats"),
                    duration_s=meta.get("duration_s"),
                )
        return RecordingInfo(name=name, size_bytes=st.st_size, uploaded_at=st.st_mtime)

    def list(self) -> list[RecordingInfo]:
        """Every recording in the folder, by name."""
        if not self.root.is_dir():
            return []
        out = []
        for entry in sorted(os.listdir(self.root)):
            if not _valid(entry):
                continue
            with contextlib.suppress(RecordingNotFoundError, OSError):
                out.append(self.info(entry))
        return out

    def add(
        self,
        data_path: Path,
        *,
        filename: str | None,
        format: str | None = None,
        units: str | None = None,
    ) -> RecordingInfo:
        """Read the uploaded file ``data_path`` (a temporary file), then keep it.

        Parameters
        ----------
        data_path
            The upload, already on disk (in the recordings folder, so the final move is a
            rename on the same file system).
        filename
            The name the client gave; made safe with :func:`safe_name`, and made unique.
        format, units
            The format and units the client named; ``None`` chooses them as ``hrvpace analyze``
            does (:func:`api.research.discover.choose_reading`: a known header, the PhysioNet
            ``*rr_secs*`` name of ``filename`` with seconds after line 1, strictly rising beat
            times, else plain in ``units``, ms by default). ``hrvpace export``'s metrics or
            contact table is refused saying what it is and which beats file to upload
            (:func:`api.research.discover.export_table_problem`).

        Raises
        ------
        RecordingUnreadableError
            The file is not a readable recording (the message names the line, not its text).
        """
        wanted = safe_name(filename)
        # the detection of `hrvpace analyze`, on the name the client gave the file (the upload
        # is on disk under a temporary name)
        given = re.split(r"[\\/]", filename or "")[-1] or wanted
        # hrvpace export's metrics or contact table: say so and name the beats file to upload,
        # not "a table without an RR column" (as hrvpace analyze says of it)
        not_beats = None if format else export_table_problem(data_path, name=wanted, upload=True)
        if not_beats is not None:
            raise RecordingUnreadableError(not_beats)
        reading = choose_reading(data_path, format=format, units=units, name=given)
        try:
            rec = read_recording(data_path, format=reading.format, units=reading.units)
        except RecordingFormatError as exc:
            raise RecordingUnreadableError(
                _unreadable(wanted, exc, format, reading.format)
            ) from None
        except (ValueError, OverflowError, MemoryError, RecursionError) as exc:
            raise RecordingUnreadableError(
                f"{wanted}: not a readable RR recording ({type(exc).__name__})"
            ) from None
        n = len(rec)
        if n == 0:
            raise RecordingUnreadableError(f"{wanted}: the recording has no beats")
        duration_s = float(rec.t_s[-1] - rec.start_s)
        name = self._place(data_path, wanted)
        info = RecordingInfo(
            name=name,
            size_bytes=(self.root / name).stat().st_size,
            uploaded_at=time.time(),
            format=rec.source_format,
            units=reading.units_read if rec.source_format == "plain" else None,
            beats=n,
            duration_s=duration_s,
        )
        sidecar = self._sidecar(name)
        fd = os.open(sidecar, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(info.as_dict(), fh)
        return info

    def _place(self, tmp: Path, wanted: str) -> str:
        """Hard-link ``tmp`` under the first free name from ``wanted`` (never overwrites)."""
        stem, dot, suffix = wanted.rpartition(".")
        if not dot or not stem:
            stem, suffix = wanted, ""
        for i in range(1, 1000):
            name = wanted if i == 1 else f"{stem[:90]}-{i}{'.' + suffix if suffix else ''}"
            try:
                os.link(tmp, self.root / name)  # fails if the name exists: no overwrite
            except FileExistsError:
                continue
            return name
        name = f"{stem[:60]}-{secrets.token_hex(8)}{'.' + suffix if suffix else ''}"
        os.link(tmp, self.root / name)
        return name

    def delete(self, name: str) -> None:
        """Remove recording ``name`` and its sidecar (a link is removed, not its target).

        Raises
        ------
        RecordingNotFoundError
            No recording of that name in the folder.
        """
        path = self.path_of(name)
        path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self._sidecar(name).unlink()

    def temp_file(self) -> Path:
        """A new empty private file in the folder for an upload (its name starts with a dot)."""
        root = self._ensure()
        path = root / f".upload-{secrets.token_hex(8)}.part"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return path


class RecordingSource(ReplaySource):
    """A :class:`sensors.ReplaySource` of a recording in the folder, named by ``name``.

    When the file cannot be read (it changed after the upload) the source fails with a reason
    that names the recording and the line, never the reader's own reason, which may quote the
    offending text (file content must not reach a session's ``message`` or the WebSocket).
    """

    def __init__(self, path: Path, *, name: str, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.recording_name = name
        self._file = path

    async def _load(self) -> Recording:
        rec = self.recording
        if rec is not None:
            return rec
        try:
            rec = await asyncio.to_thread(_read_as_detected, self._file, self._format, self._units)
        except (SensorError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
            line = exc.line if isinstance(exc, RecordingFormatError) else None
            where = f" at line {line}" if line is not None else ""
            reason = f"recording {self.recording_name!r} cannot be read{where}"
            self._set_status(SourceStatus(SourceState.FAILED, message=reason))
            raise SensorError(reason) from None
        self._recording = rec
        return rec


def _read_as_detected(path: Path, format: str | None, units: str | None) -> Recording:
    """Read ``path`` in ``format``, else as ``hrvpace analyze`` would.

    ``format`` is ``None`` for a file copied into the folder by hand (never read by an upload):
    its format and units are chosen by :func:`api.research.discover.choose_reading`.
    """
    if format is None:
        reading = choose_reading(path, units=units)
        format, units = reading.format, reading.units
    return read_recording(path, format=format, units=units)
