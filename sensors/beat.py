"""The one unit every source produces: a heartbeat with its RR interval."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Beat", "SourceState", "SourceStatus"]


@dataclass(frozen=True, slots=True)
class Beat:
    """One heartbeat.

    Attributes
    ----------
    t_s
        Time of the beat (the R peak that ends this RR interval), in seconds on the source's
        own timeline: 0 is the start of the stream. For a live strap the beats of a packet are
        back-dated from the packet's arrival by the running sum of their RR intervals.
    rr_ms
        The RR interval that ends at this beat, in milliseconds (not rounded).
    arrived_at
        Wall-clock time (Unix seconds) when the packet that carried this beat arrived; for
        replay and simulation the (possibly virtual) clock's time when the beat was emitted.
    contact
        Skin contact as the strap reported it; ``None`` when the strap does not detect contact
        or the source has no such notion.
    gap_before
        ``True`` when one or more beats are missing before this one (dropped packet, reconnect,
        a gap in a recording): no successive difference may be taken across it.
    heart_rate_bpm
        The heart rate the device itself reported with this beat, if any.
    error_ms
        The device's own estimate of the interval's error in milliseconds, when it gives one
        (Polar PPI from optical sensors); ``None`` for RR from ECG straps and files.
    """

    t_s: float
    rr_ms: float
    arrived_at: float
    contact: bool | None = None
    gap_before: bool = False
    heart_rate_bpm: float | None = None
    error_ms: float | None = None


class SourceState(StrEnum):
    """Where a source of beats is in its life."""

    IDLE = "idle"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    HR_ONLY = "hr_only"  # the device sends heart rate but no RR intervals
    NO_CONTACT = "no_contact"  # the strap reports no skin contact (beats, if any, unreliable)
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A snapshot of a source's state, with a message a UI can show as is.

    ``contact_t_s`` is the time, on the source's timeline (:attr:`Beat.t_s`), of the latest
    change of skin contact: while the state is ``NO_CONTACT`` the first packet that reported no
    contact; after it, the first packet with contact (or beat with contact) again. ``None``
    when the source has not lost contact.
    """

    state: SourceState
    message: str = ""
    device_name: str | None = None
    device_address: str | None = None
    battery_pct: int | None = None
    heart_rate_bpm: float | None = None
    malformed_packets: int = 0
    contact_t_s: float | None = None
