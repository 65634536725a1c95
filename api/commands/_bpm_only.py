"""The bpm-only rule of ``assess``, ``practice`` and ``record``: a device that sends no RR.

A device that sends heart rate without RR intervals gives no beats: a run ends once its source
has said so (``SourceState.HR_ONLY``) for :data:`_BPM_ONLY_AFTER_S` with no RR since it
connected (:class:`BpmOnlyWatch`), with the reason (:class:`BpmOnly`), never an HRV made up from
bpm values. Apart from the paced runs (:mod:`api.commands._paced`), so that ``record`` imports
neither the pipeline nor pydantic.
"""

from __future__ import annotations

import asyncio
import dataclasses

from sensors.beat import SourceState, SourceStatus
from sensors.heart_rate_measurement import MAX_HEART_RR_MS, MIN_HEART_RR_MS
from sensors.source import BeatSource

__all__ = ["BpmOnly", "BpmOnlyWatch"]

#: How long a source must stay ``hr_only``, with no RR since it connected, before the run ends
#: as bpm-only (s, the event loop's real time). The source says ``hr_only`` after 3 packets
#: without RR (quick, for the page's label); a strap just put on sends its first seconds of
#: packets without RR, then RR: the run waits this long for the first RR before it gives up.
_BPM_ONLY_AFTER_S = 10.0


@dataclasses.dataclass(frozen=True)
class BpmOnly:
    """A device that sent heart rate without RR intervals, and the PMD streams it offers.

    ``pmd_streams``: as the device probe read them; ``()`` without a PMD service, ``None`` when
    unknown (the probe could not connect or read them, or, ``probed`` false, was not run:
    ``record`` does not probe).
    """

    pmd_streams: tuple[str, ...] | None
    probed: bool = True

    def message(self, source: BeatSource, doing: str) -> str:
        """Why nothing can be measured from the device ``source``, and what would do.

        A device that sends RR values, all of them left out as no heart's (``rr_unusable``, a
        faulty device or firmware), is said to be so, not to send heart rate only.
        """
        status = source.status
        label = status.device_name or status.device_address or "the device"
        hr = "" if status.heart_rate_bpm is None else f" ({status.heart_rate_bpm:g} bpm)"
        why = (
            "(heart-rate variability needs beat-to-beat intervals; it is never derived from "
            "bpm values)."
        )
        if getattr(source, "rr_unusable", False):
            head = (
                f"{label} sends heart rate{hr} and RR values that are all unusable (each left "
                f"out as one no heart has: 0, or outside {MIN_HEART_RR_MS:.0f}.."
                f"{MAX_HEART_RR_MS:.0f} ms): the device or its firmware is faulty; cannot "
                f"{doing} from bpm {why}"
            )
        else:
            head = (
                f"{label} sends heart rate only{hr}, no RR intervals: cannot {doing} from bpm {why}"
            )
        streams = self.pmd_streams
        if not self.probed:
            return (
                f"{head} Whether it offers pulse-to-pulse intervals (PPI) through Polar "
                "Measurement Data was not checked: `hrvpace scan --probe 5` shows it; with PPI, "
                "use --stream ppi."
            )
        if streams is None:
            return (
                f"{head} Whether it offers pulse-to-pulse intervals (PPI) through Polar "
                "Measurement Data is unknown: `hrvpace scan --probe 5` shows it; with PPI, "
                "use --stream ppi."
            )
        if "ppi" in streams:
            return (
                f"{head} It offers pulse-to-pulse intervals (PPI) through Polar Measurement "
                "Data: use --stream ppi."
            )
        if "ecg" in streams:
            return f"{head} It offers ECG through Polar Measurement Data: use --stream ecg."
        return (
            f"{head} It offers no PPI or ECG through Polar Measurement Data either: use a "
            "strap or sensor that sends RR intervals (`hrvpace scan --probe 5` shows which do)."
        )


class BpmOnlyWatch:
    """The bpm-only rule of ``assess``, ``practice`` and ``record``, for one source.

    ``event`` is set once the source has stayed ``hr_only`` for :data:`_BPM_ONLY_AFTER_S`
    (read when the wait starts) with no RR interval since it connected. Only before any RR
    interval has arrived: a device that sent RR and then stops (lost contact for a few packets,
    a strap slipping) is not bpm-only; the run goes on with a gap. And only after the wait: a
    strap whose first packets carry no RR (just put on) and then sends RR goes on.

    :meth:`start` (in the event loop) listens to the source's statuses; :meth:`cancel` stops
    the pending judgement (a status after it starts none).
    """

    def __init__(self, source: BeatSource) -> None:
        self._source = source
        self.event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._judging: asyncio.TimerHandle | None = None
        self._cancelled = False

    def start(self) -> None:
        """Listen to the source's statuses, from its current one (in the running event loop)."""
        self._loop = asyncio.get_running_loop()
        self._source.add_status_listener(self._watch)
        # judged in the state it is in now too: a source publishes on a change only, so one
        # already hr_only at a constant bpm would never be judged
        self._watch(self._source.status)

    def cancel(self) -> None:
        """Stop judging: the pending judgement is dropped and no new one starts."""
        self._cancelled = True
        if self._judging is not None:
            self._judging.cancel()
            self._judging = None

    def _bpm_only_now(self) -> bool:
        # Only a device that has sent no RR since it connected is bpm-only; RR that stop for a
        # while later (a strap slipping) is a gap the run rides out, as a live session does.
        source = self._source
        return source.status.state is SourceState.HR_ONLY and not getattr(
            source, "rr_received", False
        )

    def _judge(self) -> None:
        self._judging = None
        if not self._cancelled and self._bpm_only_now():
            self.event.set()

    def _watch(self, _status: SourceStatus) -> None:
        if self._cancelled or self._judging is not None or self.event.is_set():
            return
        if self._loop is not None and self._bpm_only_now():
            self._judging = self._loop.call_later(_BPM_ONLY_AFTER_S, self._judge)
