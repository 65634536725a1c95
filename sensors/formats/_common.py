"""The in-memory recording every reader returns, and the parsing helpers they share (private)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._validate import _MAX_PLAUSIBLE_MEDIAN_MS, _MIN_PLAUSIBLE_MEDIAN_MS
from sensors.errors import RecordingFormatError

__all__ = [
    "CONTACT_NO",
    "CONTACT_UNKNOWN",
    "CONTACT_YES",
    "MAX_DURATION_S",
    "MAX_RECORDING_BYTES",
    "MAX_RR_MS",
    "QUOTE_MAX_CHARS",
    "Line",
    "Recording",
    "beat_elapsed_s",
    "check_recording",
    "check_rr_values",
    "data_lines",
    "parse_floats",
    "plain_timeline",
    "quote",
    "read_text",
    "split_lines",
]

#: ``Recording.contact`` codes (int8): the strap reported skin contact.
CONTACT_YES = 1
#: The strap reported *no* skin contact.
CONTACT_NO = 0
#: Unknown: the format or the strap has no notion of contact (``Beat.contact is None``).
CONTACT_UNKNOWN = -1

#: A recording file larger than this is refused before it is read (bounded memory whatever a
#: file holds). 64 MiB is about 60 days of hrvpace recording at 70 bpm, 50x a 24-h Holter file.
MAX_RECORDING_BYTES = 64 * 1024 * 1024
#: Largest RR interval (ms) a file may hold: a Heart Rate Measurement (0x2A37) cannot encode
#: more than 64 s (uint16 in 1/1024 s) and no heart pauses a minute and beats on in the same
#: recording. A bigger value is a corrupt line (e.g. ``1e12``), refused with its line number.
#: In a file of beat *times* (``ghrv_beats``) two beats further apart are a signal loss, read
#: as a gap: the times keep the timeline, so nothing is stretched.
MAX_RR_MS = 64_000.0
#: Longest recording (start to last beat): 8 days. Bounds what any analysis allocates per
#: second of recording (the 4 Hz tachogram of a whole recording, a replay's timeline).
MAX_DURATION_S = 8 * 86_400.0
#: Error messages quote at most this many characters of the offending text.
QUOTE_MAX_CHARS = 200

#: ``(line_number, stripped_text)``; line numbers are 1-based, as an editor shows them.
Line = tuple[int, str]


@dataclass(frozen=True, eq=False)
class Recording:
    """An RR recording read from a file, with units explicit.

    All arrays have one entry per beat (length N) and are read-only.

    Attributes
    ----------
    rr_ms
        RR intervals in milliseconds, float64, exactly as in the file after unit conversion
        (seconds are multiplied by 1000, never rounded).
    t_s
        Time of each beat in seconds on the file's own timeline. Without timestamps in the file
        it is ``start_s + beat_elapsed_s(rr_ms)``, i.e. ``start_s + cumsum(rr_ms) / 1000`` with
        an interval of 0 or below counting as no time (:func:`beat_elapsed_s`;
        docs/ARCHITECTURE.md, "Timeline"); after a gap inferred from timestamps it also includes
        the estimated missing time; hrvpace recordings keep the stream time they were recorded
        with.
    gaps
        bool; ``gaps[i]`` means beats are missing before beat ``i`` (no successive difference
        may be taken across it). ``gaps[0]`` has no beat before it and no meaning; readers set
        it False, except that hrvpace recordings keep what was recorded.
    contact
        int8 skin-contact codes: ``1`` contact (:data:`CONTACT_YES`), ``0`` no contact
        (:data:`CONTACT_NO`), ``-1`` unknown (:data:`CONTACT_UNKNOWN`, ``Beat.contact is None``).
        Use :meth:`contact_at` for the ``True/False/None`` of one beat.
    arrived_at
        float64 Unix seconds at which each beat reached the recording device (phone or hrvpace),
        or ``None`` when the format has no such timestamps.
    heart_rate_bpm
        float64 heart rate the device itself reported with each beat (NaN where none), or
        ``None`` when the format does not store it.
    source_format
        The format name (one of ``sensors.RECORDING_FORMATS``).
    start_s
        The time on the ``t_s`` timeline at which the recording starts: the R peak before the
        first interval (so ``t_s[0] - start_s`` is about ``rr_ms[0] / 1000``), or ``0`` for
        hrvpace recordings, whose ``t_s`` is already stream time. Replay emits ``t_s - start_s``.
    meta
        Read-only mapping of what the file says about itself: ``device``, ``start_time`` (ISO
        8601 text when known), ``path`` and format-specific keys.
    quality
        float64 per-beat quality in 0..1 from the beat detector of a signal recording (ECG or
        PPG: NeuroKit2's quality index at each detected peak), ``None`` for RR files and for
        beats taken from reference annotations.
    """

    rr_ms: NDArray[np.float64]
    t_s: NDArray[np.float64]
    gaps: NDArray[np.bool_]
    contact: NDArray[np.int8]
    source_format: str
    arrived_at: NDArray[np.float64] | None = None
    heart_rate_bpm: NDArray[np.float64] | None = None
    start_s: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    quality: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        n = self.rr_ms.shape[0]
        named: dict[str, NDArray[Any] | None] = {
            "t_s": self.t_s,
            "gaps": self.gaps,
            "contact": self.contact,
            "arrived_at": self.arrived_at,
            "heart_rate_bpm": self.heart_rate_bpm,
            "quality": self.quality,
        }
        for name, arr in named.items():
            if arr is not None and arr.shape != (n,):
                raise ValueError(f"Recording.{name} has shape {arr.shape}, expected ({n},)")
        for arr in (self.rr_ms, *named.values()):
            if arr is not None:
                arr.flags.writeable = False
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def __len__(self) -> int:
        return int(self.rr_ms.shape[0])

    @property
    def n_beats(self) -> int:
        """Number of beats (= number of RR intervals)."""
        return len(self)

    @property
    def duration_s(self) -> float:
        """Time from the start of the recording to its last beat, in seconds."""
        return float(self.t_s[-1] - self.start_s) if len(self) else 0.0

    def contact_at(self, i: int) -> bool | None:
        """Skin contact of beat ``i`` as ``True``, ``False`` or ``None`` (unknown)."""
        code = int(self.contact[i])
        return None if code == CONTACT_UNKNOWN else code == CONTACT_YES


def quote(text: str) -> str:
    r"""``repr(text)`` of at most :data:`QUOTE_MAX_CHARS` characters as shown.

    An error never echoes more: escapes such as ``\x00`` count as the characters they take.
    """
    shown = repr(text)
    if len(shown) <= QUOTE_MAX_CHARS:
        return shown
    return shown[: QUOTE_MAX_CHARS - 1] + f"...' ({len(text)} characters)"


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a text file (UTF-8, BOM tolerated); unreadable files raise RecordingFormatError.

    A file over :data:`MAX_RECORDING_BYTES` is refused without being read whole.
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            # not f.read(MAX_RECORDING_BYTES + 1), which allocates the whole 64 MiB first
            # whatever the file's size (a 400-kB upload peaked at 67 MB): read what the file
            # holds, never more than the limit and one byte
            size = os.fstat(f.fileno()).st_size
            raw = f.read(min(size, MAX_RECORDING_BYTES) + 1)
            if len(raw) <= MAX_RECORDING_BYTES and len(raw) > size:  # it grew: read on
                raw += f.read(MAX_RECORDING_BYTES + 1 - len(raw))
    except OSError as exc:
        reason = f"cannot read the file ({exc.strerror or exc})"
        raise RecordingFormatError(reason, path=str(p)) from exc
    if len(raw) > MAX_RECORDING_BYTES:
        raise RecordingFormatError(
            f"the file is larger than {MAX_RECORDING_BYTES // 2**20} MiB, the limit for a "
            "recording (split it)",
            path=str(p),
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = len(split_lines(raw[: exc.start].decode("utf-8-sig") + "x"))
        reason = "not a text file (bytes that are not UTF-8)"
        raise RecordingFormatError(reason, path=str(p), line=line, summary=reason) from None


#: A line ends at ``\r\n``, ``\n`` or a lone ``\r`` (old Mac files), as an editor counts lines.
_LINE_END = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    r"""The lines of ``text``, split at ``\r\n``, ``\n`` and a lone ``\r`` only.

    Not ``str.splitlines``, which also splits at ``\x0b``, ``\x0c``, ``\x1c``-``\x1e``,
    ``\x85``, ``\u2028`` and ``\u2029``: line numbers would then differ from the ones an editor
    or ``grep -n`` shows, and a line holding such a character would be read as two.
    """
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the end of the last line, not a line
    return lines


def data_lines(text: str, *, start: int = 0) -> list[Line]:
    r"""Non-blank lines of ``text`` (from 0-based line index ``start``) as ``(number, stripped)``.

    Lines are split by :func:`split_lines` (``\r\n``, ``\n``, lone ``\r``).
    """
    out: list[Line] = []
    for idx, raw in enumerate(split_lines(text)[start:], start=start + 1):
        s = raw.strip()
        if s:
            out.append((idx, s))
    return out


def parse_floats(
    tokens: Sequence[str],
    line_numbers: Sequence[int],
    *,
    path: str,
    what: str,
    shown: Sequence[str] | None = None,
) -> NDArray[np.float64]:
    """Parse ``tokens`` as finite float64 numbers (vectorised); errors name the first bad line.

    ``shown`` is the text of each token as the file has it (e.g. ``0,736`` read as ``0.736``),
    quoted in errors; ``None``: the tokens themselves. A number with ``_`` in it is refused:
    Python reads ``1_2_0`` as 120, no spreadsheet or editor does. So is one with a character
    outside ASCII: Python (and numpy) read any Unicode decimal digit, so ``'٨٠٠'`` (Arabic-Indic)
    or ``'８００'`` (full-width) would be 800, which no spreadsheet or editor reads as a number
    and no recording device writes.
    """
    said = tokens if shown is None else shown
    joined = "".join(tokens)  # one pass in C over every character: the fast path stays fast
    if "_" in joined or not joined.isascii():
        i = next(k for k, tok in enumerate(tokens) if "_" in tok or not tok.isascii())
        why = "'_' is not read in numbers" if "_" in tokens[i] else "only ASCII digits are read"
        raise RecordingFormatError(
            f"{what} {quote(said[i])} is not a number ({why})",
            path=path,
            line=line_numbers[i],
            summary=f"{_a(what)} is not a number ({why})",
        )
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        for tok, text, line in zip(tokens, said, line_numbers, strict=True):
            try:
                float(tok)
            except ValueError:
                raise RecordingFormatError(
                    f"{what} {quote(text)} is not a number",
                    path=path,
                    line=line,
                    summary=f"{_a(what)} is not a number",
                ) from None
        raise  # pragma: no cover - numpy and float() disagree
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise RecordingFormatError(
            f"{what} {quote(said[i])} is not a finite number",
            path=path,
            line=line_numbers[i],
            summary=f"{_a(what)} is not a finite number",
        )
    return values


def _a(what: str) -> str:
    """``what`` with its article, for a summary that quotes no value (``an RR interval``)."""
    return f"{'an' if what[:1].lower() in 'aeiou' or what.startswith('RR') else 'a'} {what}"


def check_rr_values(
    rr_ms: NDArray[np.float64], line_numbers: Sequence[int], *, path: str, shown: Sequence[str]
) -> None:
    """Raise RecordingFormatError at the first RR interval over :data:`MAX_RR_MS`.

    ``rr_ms`` is in milliseconds (after unit conversion); ``shown`` is the text of each value
    as the file has it, quoted in the message. A value of 0 or below is read as it is: no RR
    can have it, and ``hrv.clean`` labels it like any other artefact (issue 12: one such value
    is no reason to refuse a recording); the live pipeline skips it as an unusable beat, and
    on the recording's timeline it adds no time (:func:`beat_elapsed_s`). A value beyond the
    limit either way (``1e12``, ``-1e308``) cannot be labelled in place (it would stretch or
    reverse the recording's timeline by hours), so it stays a format error naming its line.
    """
    bad = ~(np.abs(rr_ms) <= MAX_RR_MS)
    if bad.any():
        i = int(np.argmax(bad))
        problem = (
            f"is {float(rr_ms[i]):.6g} ms, beyond what any RR interval can be "
            f"(limit {MAX_RR_MS / 1000:g} s either way): a corrupt value"
        )
        raise RecordingFormatError(
            f"RR interval {quote(shown[i])} {problem}",
            path=path,
            line=line_numbers[i],
            summary=f"an RR interval {problem}",
        )


def check_recording(rec: Recording, *, units: str, units_stated: bool) -> None:
    """The checks every reader's result passes, whatever its format (one policy for all).

    Units (only when the file does not state them itself, ``units_stated=False``: the headerless
    formats, whose units the reader was told or assumed): the median RR interval must lie in
    100 ms - 10 s, the bounds of ``hrv``'s own input check (``hrv/_validate.py``): below, the
    values are seconds read as milliseconds; above, milliseconds read as seconds (or another
    unit). Units are never guessed or rescaled: the error says which flag reads the file right.
    Duration (every format): at most :data:`MAX_DURATION_S`. At least one RR interval above
    0 (every format): a recording of zeros has nothing to analyse.

    Raises
    ------
    RecordingFormatError
        Naming the path and the problem.
    """
    path = str(rec.meta.get("path", "")) or None
    n = len(rec)
    if n == 0:
        return
    positive = rec.rr_ms[rec.rr_ms > 0]
    if positive.size == 0:
        # nothing to analyse, and no units check can fire on it (no median): a column of
        # zeros read as RR (a decimal comma split into two columns, "0,757" -> "0" and "757")
        raise RecordingFormatError(
            f"none of the {n} RR intervals is above 0: no interval to analyse (was the "
            "right column read? a decimal comma needs ';' or tab between columns)",
            path=path,
        )
    median = float(np.median(positive)) if positive.size and not units_stated else float("nan")
    if median < _MIN_PLAUSIBLE_MEDIAN_MS:
        if rec.source_format == "plain" and rec.meta.get("units_from") == "header":
            fix = f"the header's column {rec.meta.get('column')!r} says {units}: check the file"
        elif rec.source_format == "plain":
            fix = (
                "read it with --units s (units='s'); a PhysioNet *_rr_secs.txt file (first "
                "line the first-beat time) with --format physionet_rr_secs"
            )
        else:
            fix = f"the {rec.source_format} format stores milliseconds: check the file"
        raise RecordingFormatError(
            f"the RR intervals look like seconds, not milliseconds (median {median:g} when "
            f"read as {units}); {fix}. Units are never guessed",
            path=path,
        )
    if median > _MAX_PLAUSIBLE_MEDIAN_MS:
        if rec.source_format == "plain" and rec.meta.get("units_from") == "header":
            fix = f"the header's column {rec.meta.get('column')!r} says {units}: check the file"
        elif units == "s":
            fix = "the values look like milliseconds: read it with --units ms (or no --units)"
        else:
            fix = "check the units of the file"
        raise RecordingFormatError(
            f"median RR interval {median:g} ms is implausible (> "
            f"{_MAX_PLAUSIBLE_MEDIAN_MS / 1000:g} s); {fix}",
            path=path,
        )
    duration = float(rec.t_s[-1] - rec.start_s)
    span = float(np.max(rec.t_s) - np.min(rec.t_s))
    if not (abs(duration) <= MAX_DURATION_S and span <= MAX_DURATION_S):
        raise RecordingFormatError(
            f"the recording spans {max(abs(duration), span) / 86_400:.4g} days, more than the "
            f"limit of {MAX_DURATION_S / 86_400:g} days: a corrupt time or a file to split",
            path=path,
        )


def beat_elapsed_s(rr_ms: NDArray[np.float64]) -> NDArray[np.float64]:
    """Time (s) from the recording's start to each beat: ``cumsum(rr_ms) / 1000``, 0 or below as 0.

    No RR interval can be 0 or negative: such a value (a beat annotated twice, a corrupt entry)
    is an artefact, read as it is for ``hrv.clean`` to label (``extra``: merged with a
    neighbour, the spurious beat removed) and skipped by the live pipeline as an unusable beat.
    Summed as it is, a negative value would move the clock back (a -60,000 ms entry puts the
    next 75 beats of 800 ms before beats already played, so a replay drops them and the
    recording's duration comes out a minute short). Counted as no time, the beat sits at the
    time of the beat before it and every valid beat after it keeps its time.
    """
    out: NDArray[np.float64] = np.cumsum(np.maximum(rr_ms, 0.0)) / 1000.0
    return out


def plain_timeline(
    rr_ms: NDArray[np.float64], *, start_s: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.int8]]:
    """``t_s``, ``gaps`` (all False) and ``contact`` (all unknown) of an untimed RR series.

    ``t_s = start_s + beat_elapsed_s(rr_ms)``: an interval of 0 or below adds no time.
    """
    n = rr_ms.shape[0]
    t_s = start_s + beat_elapsed_s(rr_ms)
    return t_s, np.zeros(n, dtype=np.bool_), np.full(n, CONTACT_UNKNOWN, dtype=np.int8)
