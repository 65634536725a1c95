"""Replaying a recording through the same beat stream as a live strap."""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

from sensors.beat import Beat, SourceState, SourceStatus
from sensors.clock import Clock, SystemClock
from sensors.errors import SensorError
from sensors.formats._common import CONTACT_NO, CONTACT_UNKNOWN, CONTACT_YES, Recording
from sensors.recording import read_recording
from sensors.source import BeatSource

__all__ = ["ReplaySource"]

_log = logging.getLogger(__name__)

#: At ``speed="max"`` the stream hands control to the event loop after this many beats.
MAX_SPEED_YIELD_EVERY = 256


class ReplaySource(BeatSource):
    """A :class:`~sensors.source.BeatSource` that plays a recording back, beat by beat.

    Each :class:`~sensors.beat.Beat` carries the recording's RR interval, contact, gap flag and
    device heart rate unchanged; ``t_s`` is the recording's beat time on the stream's timeline
    (``Recording.t_s - Recording.start_s``, so 0 is the start of the recording); ``arrived_at``
    is the clock's time when the beat is emitted.

    Beat ``i`` is emitted when ``(t_s[i] - start_s) / speed`` seconds have passed on the clock
    since iteration began (scheduled against the start, so waits do not drift). At
    ``speed="max"`` nothing waits, but the stream still hands control to the event loop every
    256 beats. The status goes ``STREAMING`` -> ``ENDED`` (``FAILED`` when the file cannot be
    read, with the reason). A recording's stretches without skin contact (an hrvpace
    recording's ``# contact`` lines, ``meta["contact_changes"]``) are replayed as a strap
    reports them, each when the replay reaches its time: ``NO_CONTACT`` with ``contact_t_s``
    where contact was lost, ``STREAMING`` with ``contact_t_s`` where it came back (a stretch the
    strap dropped in, a ``false`` line after a ``false`` line, goes back to ``STREAMING`` with
    the stretch's own ``contact_t_s``: no contact back), so a session keeps them as it keeps a
    live strap's (:class:`sensors.contact.ContactChanges`). A stretch the strap dropped in has
    no ``true`` line: it ends at the next beat with contact (``contact`` not ``False``), where
    the replay goes ``RECONNECTING`` then ``STREAMING`` with the stretch's own ``contact_t_s``,
    as a live strap that reconnects does (no contact back is kept for it). The ``ENDED``
    message counts the beats and, apart, those with an RR of 0 or less (artefacts a session's
    pipeline skips as unusable: ``772 beats, 1 of them unusable``, for 771 beats taken and 1
    skipped). Such a beat is emitted at the time of the beat before it (it adds no time,
    :func:`sensors.formats._common.beat_elapsed_s`).

    Parameters
    ----------
    recording_or_path
        A :class:`~sensors.recording.Recording`, or a path read with
        :func:`~sensors.recording.read_recording` when the source is entered.
    speed
        ``1.0`` real time, ``N`` for N times real time (any finite number > 0), ``"max"`` for
        no waiting.
    clock
        Where time comes from (default :class:`~sensors.clock.SystemClock`); tests pass a
        :class:`~sensors.clock.VirtualClock` and nothing really sleeps.
    format, units
        Passed to :func:`~sensors.recording.read_recording` for a path.

    Raises
    ------
    ValueError
        ``speed`` is neither ``"max"`` nor a finite number > 0, or ``format``/``units`` come
        with an already read recording.
    RecordingFormatError
        On entering (or on first iteration), when the file cannot be read.
    """

    def __init__(
        self,
        recording_or_path: Recording | str | os.PathLike[str],
        *,
        speed: float | Literal["max"] = 1.0,
        clock: Clock | None = None,
        format: str | None = None,
        units: str | None = None,
    ) -> None:
        super().__init__()
        if speed != "max":
            if isinstance(speed, bool) or not isinstance(speed, int | float):
                raise ValueError(f"speed must be a number > 0 or 'max', got {speed!r}")
            if not (math.isfinite(speed) and speed > 0):
                raise ValueError(f"speed must be a finite number > 0 or 'max', got {speed!r}")
        self.speed: float | Literal["max"] = speed
        self.clock: Clock = clock if clock is not None else SystemClock()
        if isinstance(recording_or_path, Recording):
            if format is not None or units is not None:
                raise ValueError("format and units apply to a path, not to a Recording")
            self._recording: Recording | None = recording_or_path
            self._path: str | None = None
        else:
            self._recording = None
            self._path = str(recording_or_path)
        self._format = format
        self._units = units

    @property
    def recording(self) -> Recording | None:
        """The recording being replayed (``None`` until a path has been read)."""
        return self._recording

    @property
    def paced_runs(self) -> tuple[tuple[float, float], ...]:
        """When the recording was paced, on the replay's timeline (``()``: never, or not read).

        From ``meta["paced_runs"]`` (``hrvpace export``'s sidecar, read with its beats table:
        :func:`sensors.formats.hrvpace.read_hrvpace_export`), moved as the beats are: a segment
        cut from the recording starts at 0.
        """
        rec = self._recording
        if rec is None:
            return ()
        return tuple(
            (float(a) - rec.start_s, float(b) - rec.start_s)
            for a, b in rec.meta.get("paced_runs") or ()
        )

    def _name(self) -> str:
        if self._path is not None:
            return Path(self._path).name
        path = self._recording.meta.get("path") if self._recording is not None else None
        return Path(str(path)).name if path else "recording"

    async def _load(self) -> Recording:
        if self._recording is None:
            assert self._path is not None
            try:
                self._recording = await asyncio.to_thread(
                    read_recording, self._path, format=self._format, units=self._units
                )
            except SensorError as exc:
                self._set_status(SourceStatus(SourceState.FAILED, message=exc.reason))
                raise
        return self._recording

    async def _open(self) -> None:
        await self._load()

    async def _close(self) -> None:
        if self.status.state in (SourceState.STREAMING, SourceState.NO_CONTACT):
            self._set_status(SourceStatus(SourceState.ENDED, message="replay stopped"))

    async def _beats(self) -> AsyncIterator[Beat]:
        rec = await self._load()
        n = len(rec)
        speed_text = "as fast as possible" if self.speed == "max" else f"at {self.speed:g}x"
        device = rec.meta.get("device") or rec.meta.get("device_name")
        self._set_status(
            SourceStatus(
                SourceState.STREAMING,
                message=f"replaying {self._name()} ({n} beats, {speed_text})",
                device_name=str(device) if device is not None else None,
            )
        )
        _log.debug("replay of %d beats started (%s)", n, speed_text)
        rr_ms = rec.rr_ms.tolist()
        t_rel = (rec.t_s - rec.start_s).tolist()
        gaps = rec.gaps.tolist()
        contact = rec.contact.tolist()
        hr = rec.heart_rate_bpm.tolist() if rec.heart_rate_bpm is not None else None
        changes = _contact_changes(rec)
        next_change = 0
        dropped = False  # the stretch without contact open now has no 'true' line
        clock = self.clock
        t0 = clock.now()
        since_yield = 0
        for i in range(n):
            # the changes of contact up to this beat, each at its time (between beats: a
            # stretch without contact usually has none)
            while next_change < len(changes) and changes[next_change][0] <= t_rel[i]:
                await self._wait_until(t0, changes[next_change][0])
                self._replay_contact(*changes[next_change], device)
                next_change += 1
                # a loss the strap dropped in: no 'true' line comes next (another loss or none)
                dropped = next_change == len(changes) or not changes[next_change][1]
            delay = 0.0 if self.speed == "max" else t0 + t_rel[i] / self.speed - clock.now()
            if delay > 0:
                await clock.sleep(delay)
                since_yield = 0
            elif since_yield >= MAX_SPEED_YIELD_EVERY:
                await asyncio.sleep(0)  # never starve the event loop
                since_yield = 0
            since_yield += 1
            code = contact[i]
            if dropped and code != CONTACT_NO and self.status.state is SourceState.NO_CONTACT:
                # a beat with contact in a stretch with no 'true' line: the strap dropped in the
                # stretch and this beat came after it reconnected
                self._replay_reconnect(device)
                dropped = False
            hr_i = hr[i] if hr is not None else None
            yield Beat(
                t_s=t_rel[i],
                rr_ms=rr_ms[i],
                arrived_at=clock.now(),
                contact=None if code == CONTACT_UNKNOWN else code == CONTACT_YES,
                gap_before=bool(gaps[i]),
                heart_rate_bpm=None if hr_i is None or math.isnan(hr_i) else hr_i,
            )
        for t_s, contact in changes[next_change:]:  # after the last beat
            await self._wait_until(t0, t_s)
            self._replay_contact(t_s, contact, device)
        # beats with an RR of 0 or less (artefacts: no heart beat has one) are emitted as they
        # are; the session's pipeline skips them as unusable (its n_skipped), so say how many
        unusable = sum(1 for r in rr_ms if not r > 0)
        counted = f"{n} beats" + (
            f", {unusable} of them unusable: an RR of 0 or less" if unusable else ""
        )
        self._set_status(
            SourceStatus(
                SourceState.ENDED,
                message=f"replay of {self._name()} ended ({counted})",
                device_name=str(device) if device is not None else None,
            )
        )

    async def _wait_until(self, t0: float, t_s: float) -> None:
        """Wait until the replay reaches ``t_s`` (stream time), not at ``speed="max"``."""
        if self.speed != "max":
            delay = t0 + t_s / self.speed - self.clock.now()
            if delay > 0:
                await self.clock.sleep(delay)

    def _replay_reconnect(self, device: object) -> None:
        """Leave a stretch the strap dropped in as a live strap does: reconnecting, streaming.

        Both keep the stretch's ``contact_t_s`` (a live strap's statuses keep it too), so
        :class:`sensors.contact.ContactChanges` closes the stretch without a contact-back change.
        """
        name = str(device) if device is not None else None
        lost_at = self.status.contact_t_s
        self._set_status(
            SourceStatus(
                SourceState.RECONNECTING,
                message=f"the strap dropped in {self._name()}; reconnecting",
                device_name=name,
                contact_t_s=lost_at,
            )
        )
        self._set_status(
            SourceStatus(
                SourceState.STREAMING,
                message=f"replaying {self._name()} after the strap dropped",
                device_name=name,
                contact_t_s=lost_at,
            )
        )

    def _replay_contact(self, t_s: float, contact: bool, device: object) -> None:
        """Report a recorded change of skin contact as a strap does (see the class)."""
        name = str(device) if device is not None else None
        lost = self.status.state is SourceState.NO_CONTACT
        if contact:
            if lost:
                self._set_status(
                    SourceStatus(
                        SourceState.STREAMING,
                        message=f"skin contact back in {self._name()}",
                        device_name=name,
                        contact_t_s=t_s,
                    )
                )
            return
        if lost:  # the strap dropped in the stretch before: that stretch has no contact back
            self._set_status(
                SourceStatus(
                    SourceState.STREAMING,
                    message=f"the strap dropped in {self._name()}",
                    device_name=name,
                    contact_t_s=self.status.contact_t_s,
                )
            )
        self._set_status(
            SourceStatus(
                SourceState.NO_CONTACT,
                message=f"no skin contact in {self._name()} from {t_s:g} s",
                device_name=name,
                contact_t_s=t_s,
            )
        )


def _contact_changes(rec: Recording) -> list[tuple[float, bool]]:
    """The recording's changes of skin contact on the stream's timeline, in the order kept.

    From ``meta["contact_changes"]`` (hrvpace recordings, v2); none for other formats. A
    segment cut from a recording (``api.research.segments.cut``: ``meta["segment"]``, the
    whole file's changes) keeps those within it: a stretch still without contact where the
    segment starts begins at 0, the changes after its last beat are outside it. Still without
    contact is ``meta["segment_no_contact_at_start"]`` (the cut knows the beats before the
    segment: a stretch the strap dropped in ends at the next beat with contact); a segment
    without it goes by the changes alone (the last before it is a loss).
    """
    kept = [(float(t) - rec.start_s, bool(c)) for t, c in rec.meta.get("contact_changes") or []]
    if "segment" not in rec.meta or not len(rec):
        return kept
    end = float(rec.t_s[-1] - rec.start_s)
    before = [c for t, c in kept if t < 0.0]
    inside = [(t, c) for t, c in kept if 0.0 <= t <= end]
    open_at_start = rec.meta.get("segment_no_contact_at_start")
    if open_at_start is None:
        open_at_start = bool(before) and not before[-1]
    return ([(0.0, False)] if open_at_start else []) + inside
