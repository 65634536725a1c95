"""A connected strap that sends nothing: said once, and its end, by every user of a live strap.

The link may stay up while a strap sends nothing (its firmware stuck, a subscription BlueZ
lost): no state says it, the beats just stop. :class:`SilenceWatch` follows the strap's states
and its latest data (``last_data_monotonic`` of :class:`sensors.BleStrapSource`: any
notification with data; a service session from a PPI or ECG source watches that stream's own
once it sent on the connection, or once :data:`STREAM_START_GRACE_S` passed on it without a
frame, :func:`latest_beat_data`: its heart rate going on while the stream stopped, or never
started, is no data for the session) and says when nothing came for
:data:`SILENT_AFTER_S`. ``hrvpace record`` prints its lines (``[no data] ...``, ``[data]
...``; with ``--stream`` one watch per file, each stream on its own frames,
:func:`stream_data`), as ``assess`` and ``practice`` do; a service session says it in its
live ``status`` and its ``GET`` (``silence_warning``).

Every time given is on one monotonic clock (``time.monotonic()``): a step of the wall clock
(NTP just after boot) neither makes a silence nor hides one.
"""

from __future__ import annotations

import math

from sensors.beat import SourceState

__all__ = [
    "SILENT_AFTER_S",
    "STREAM_START_GRACE_S",
    "SilenceWatch",
    "latest_beat_data",
    "stream_data",
]

#: How long (s) a connected strap may send nothing before it is said to be silent.
SILENT_AFTER_S = 10.0
#: How long (s) after a connection a source whose beats come from a stream of their own (PPI,
#: ECG) may have sent no frame of it before the stream is watched from the connection's time:
#: a PPI stream takes about 25 s to start (its warm-up), and meanwhile the heart rate counts.
STREAM_START_GRACE_S = 30.0
#: The source states in which the strap is connected (its link up, data expected).
_CONNECTED = (SourceState.STREAMING, SourceState.HR_ONLY, SourceState.NO_CONTACT)


class SilenceWatch:
    """Says once that a connected strap sends nothing, and once that data comes again.

    Nothing for :data:`SILENT_AFTER_S` (or ``silent_after_s``) is silence. Data is any
    notification, so a strap sending heart rate without RR, or packets saying no skin contact,
    is not silent (their states say those). Silence counts from the latest data, or from when
    the strap (re)connected; while it is not connected (connecting, reconnecting, ended)
    nothing is said and a silence said is over, and a reconnect starts afresh.

    Parameters
    ----------
    silent_after_s
        How long without data is silence (default :data:`SILENT_AFTER_S`).
    ending
        What goes on while the strap is silent, for the line: ``"the recording"``, ``"the
        session"``.
    """

    def __init__(self, silent_after_s: float | None = None, *, ending: str = "the recording"):
        self.silent_after_s = SILENT_AFTER_S if silent_after_s is None else silent_after_s
        self._ending = ending
        self._connected_at: float | None = None
        self._said_from: float | None = None  # the silence said: where it began
        self._label = "the strap"

    def on_status(self, state: str, now: float) -> None:
        """Follow the strap's state: a (re)connection starts the count afresh."""
        if state not in _CONNECTED:
            self._connected_at = self._said_from = None
        elif self._connected_at is None:
            self._connected_at = now

    @property
    def silent(self) -> bool:
        """Whether a silence was said and no data came since."""
        return self._said_from is not None

    def check(self, now: float, last_data: float | None, label: str) -> str | None:
        """The line to say now, else ``None``: at most one per silence, one when it ends.

        The silence's line is :meth:`warning`'s; the end's is ``data from LABEL again (none
        for N s)``. After the call :attr:`silent` says which was said last.
        """
        if self._connected_at is None:
            return None
        since = max(self._connected_at, last_data if last_data is not None else -math.inf)
        if self._said_from is not None:
            if since > self._said_from:  # data came after the silence said
                quiet_s, self._said_from = since - self._said_from, None
                return f"data from {label} again (none for {quiet_s:.0f} s)"
            return None
        if now - since >= self.silent_after_s:
            self._said_from, self._label = since, label
            return self.warning(now)
        return None

    def warning(self, now: float) -> str | None:
        """While silent (:attr:`silent`), what to show now: how long nothing came; else ``None``.

        ``now`` is on the monotonic clock of :meth:`check`; the line names the strap as the
        latest :meth:`check` did.
        """
        if self._said_from is None:
            return None
        return (
            f"no data from {self._label} for {now - self._said_from:.0f} s (still connected); "
            f"{self._ending} goes on and keeps what comes"
        )


def latest_beat_data(source: object, label: str, *, now: float) -> tuple[float | None, str]:
    """``(last data's monotonic time, label)`` for :meth:`SilenceWatch.check` of a strap source.

    The source's ``beat_data_monotonic`` (the notifications that carry its beats, since the
    connection's first) once set, else ``last_data_monotonic`` (any data: a PPI stream starts
    some seconds after the link, and its heart rate meanwhile says the strap is there). A
    source whose beats come from a stream of their own (``beat_stream``, ``"PPI"``) is named
    by it then: ``the PPI stream of LABEL`` (rev12 review: a stopped PPI or ECG stream was never
    said while the heart rate went on). Such a source with no frame of its stream for
    :data:`STREAM_START_GRACE_S` after its connection (``connected_monotonic``; ``now`` on the
    same monotonic clock) is watched from the connection's time, so a stream that never starts
    on a connection (at first, or after a reconnect) is said too (rev13 review).
    """
    beat_data = getattr(source, "beat_data_monotonic", None)
    stream = getattr(source, "beat_stream", None)
    last_data = getattr(source, "last_data_monotonic", None)
    if not stream:
        return (last_data if beat_data is None else beat_data), label
    own = stream_data(beat_data, getattr(source, "connected_monotonic", None), now=now)
    if own is None:  # no frame yet, within the grace: any data counts, named by the strap
        return last_data, label
    return own, f"the {stream} stream of {label}"


def stream_data(last_frame: float | None, connected: float | None, *, now: float) -> float | None:
    """The last data of a stream of its own (PPI, ECG) for :meth:`SilenceWatch.check`.

    Its latest frame on the connection (``last_frame``) once it sent one; with none yet,
    ``None`` for :data:`STREAM_START_GRACE_S` after the connection (``connected``: a PPI stream
    starts some seconds after the link; the caller watches other data or nothing meanwhile),
    then the connection's time: a stream that never starts on a connection is said too. Every
    time is on the monotonic clock of ``now``. :func:`latest_beat_data` (a session's beat
    stream) and ``hrvpace record --stream`` (each stream recorded) use it.
    """
    if last_frame is not None:
        return last_frame
    if connected is not None and now - connected >= STREAM_START_GRACE_S:
        return connected
    return None
