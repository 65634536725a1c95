"""Where a session's output goes: a store, the live hub, and listeners.

A session writes what it must keep to a :class:`SessionStore` (the service's
:class:`api.storage.Storage`, or :class:`NoStore` for a command that keeps nothing: ``hrvpace
replay`` without ``--store``, ``hrvpace assess``/``practice``), publishes live messages on its
:class:`api.live.LiveHub`, and hands each result to its :class:`Listener` objects (a command's
output: JSON lines on stdout, a progress line, an event that ends the run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from api.storage.writer import Queued
from sensors.beat import Beat

__all__ = ["BeatRow", "Listener", "NoStore", "SessionStore"]

#: A stored beat: idx, t_s, rr_ms, arrived_at, contact, gap_before, hr_bpm.
BeatRow = tuple[int, float, float, float, bool | None, bool, float | None]


class SessionStore(Protocol):
    """What the pipeline writes to: the queued writes of :class:`api.storage.Storage`.

    Every write is queued and gets a ticket (:attr:`last_ticket`; the one of a write is in the
    :class:`~api.storage.writer.Queued` it returns, with whether it was dropped); a live
    message about stored data leaves once its ticket is committed (:attr:`committed_ticket`,
    commit listeners), and not at all if it was dropped or failed (:meth:`write_failed`).
    """

    last_ticket: int
    committed_ticket: int

    def write_failed(self, ticket: int) -> bool:
        """Whether the committed write of ``ticket`` failed alone (told once)."""
        ...

    @property
    def behind(self) -> object | None:
        """While the database takes no writes, what waits (else ``None``): do not wait for it."""
        ...

    def add_beats(
        self, session_id: str, rows: Sequence[BeatRow], *, seqs: Sequence[int] | None = None
    ) -> Queued:
        """Queue beats of a session (with their live message numbers when given)."""
        ...

    def add_contact_change(
        self, session_id: str, *, t_s: float, contact: bool, recorded_at: float
    ) -> Queued:
        """Queue a change of skin contact of a session (:mod:`sensors.contact`)."""
        ...

    def add_snapshot(
        self,
        table: str,
        session_id: str,
        *,
        t_s: float,
        recorded_at: float,
        data: dict[str, Any],
        seq: int | None = None,
    ) -> Queued:
        """Queue a metrics or guidance snapshot (``table``) of a session."""
        ...

    def add_assessment(
        self, session_id: str, *, recorded_at: float, data: dict[str, Any]
    ) -> Queued:
        """Queue an assessment event of a session."""
        ...

    def add_micro_break(
        self,
        *,
        session_id: str | None,
        t_s: float | None,
        recorded_at: float,
        kind: str,
        data: dict[str, Any],
        seq: int | None = None,
    ) -> Queued:
        """Queue a micro-break event (of a session, or of none)."""
        ...

    def put_value(
        self, table: str, key: str, value: Any, *, updated_at: float, wait: bool = True
    ) -> Future[Any] | None:
        """Store ``value`` under ``key`` in the key-value ``table``."""
        ...

    def set_paced_runs(self, session_id: str, runs: Sequence[tuple[float, float | None]]) -> Queued:
        """Queue when a session's pacer ran (``(start, stop)``, stop ``None``: going on)."""
        ...

    def flush(self) -> Future[Any]:
        """A future done once every write queued so far is committed."""
        ...

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener`` with the ticket after each commit."""
        ...

    def remove_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Stop calling ``listener``."""
        ...

    def add_behind_listener(self, listener: Callable[[Any], None]) -> None:
        """Call ``listener`` as the database stops taking writes or takes them again.

        With :attr:`behind` as it was then (``None``: it takes writes again).
        """
        ...

    def remove_behind_listener(self, listener: Callable[[Any], None]) -> None:
        """Stop calling ``listener``."""
        ...


class NoStore:
    """A store that keeps nothing: no database, no file; every write is committed at once.

    For sessions whose output is their listeners' (``hrvpace replay`` without ``--store``,
    ``hrvpace assess``, ``hrvpace practice``). Tickets stay 0, so live messages are never held.
    """

    last_ticket = 0
    committed_ticket = 0
    behind = None

    def write_failed(self, ticket: int) -> bool:
        """Nothing is written: nothing fails."""
        return False

    def add_beats(
        self, session_id: str, rows: Sequence[BeatRow], *, seqs: Sequence[int] | None = None
    ) -> Queued:
        """Keep nothing."""
        return _NOTHING

    def add_contact_change(
        self, session_id: str, *, t_s: float, contact: bool, recorded_at: float
    ) -> Queued:
        """Keep nothing."""
        return _NOTHING

    def add_snapshot(
        self,
        table: str,
        session_id: str,
        *,
        t_s: float,
        recorded_at: float,
        data: dict[str, Any],
        seq: int | None = None,
    ) -> Queued:
        """Keep nothing."""
        return _NOTHING

    def add_assessment(
        self, session_id: str, *, recorded_at: float, data: dict[str, Any]
    ) -> Queued:
        """Keep nothing."""
        return _NOTHING

    def add_micro_break(
        self,
        *,
        session_id: str | None,
        t_s: float | None,
        recorded_at: float,
        kind: str,
        data: dict[str, Any],
        seq: int | None = None,
    ) -> Queued:
        """Keep nothing."""
        return _NOTHING

    def put_value(
        self, table: str, key: str, value: Any, *, updated_at: float, wait: bool = True
    ) -> Future[Any] | None:
        """Keep nothing (a completed future when ``wait``)."""
        return _done() if wait else None

    def set_paced_runs(self, session_id: str, runs: Sequence[tuple[float, float | None]]) -> Queued:
        """Keep nothing."""
        return _NOTHING

    def flush(self) -> Future[Any]:
        """Nothing is queued: a completed future."""
        return _done()

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Nothing is ever committed later: nobody to call."""

    def remove_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Nothing to remove."""

    def add_behind_listener(self, listener: Callable[[Any], None]) -> None:
        """Never behind: nobody to call."""

    def remove_behind_listener(self, listener: Callable[[Any], None]) -> None:
        """Nothing to remove."""


#: What :class:`NoStore` returns of a write: ticket 0, committed at once, never dropped.
_NOTHING = Queued(0)


def _done() -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(None)
    return future


class Listener:
    """Receives a session's results as they are made; override what you need.

    The hooks run on the pipeline's loop, after the result is stored and published; a hook
    must not block. :meth:`on_pacing` may end the session by returning ``True``.
    """

    def on_beat(self, beat: Beat) -> None:
        """A beat was stored (every usable beat, an NN interval or not)."""

    def on_metrics(self, data: dict[str, Any]) -> None:
        """A metrics window (``data["t_s"]``: its end on the beats' clock, the session's t_s)."""

    def on_signal(self, t_s: float, data: dict[str, Any]) -> None:
        """A ``signal`` message was published at the beat of session time ``t_s``.

        ``data`` is its ``hrv.WindowSignal`` as JSON (the last 60 s of beats), made when the
        live rule says one is due (:meth:`api.pipeline.loop.Pipeline.publish_signal`).
        """

    def on_micro_break(self, data: dict[str, Any]) -> None:
        """A micro-break event (``data["type"]``: ``micro_break``, ``break_started``, ...)."""

    def on_strap_note(self, kind: str, line: str) -> None:
        """A line about a strap source, once each time it is said (never for a simulator).

        ``kind``: ``"battery"`` (its level fell to a threshold,
        :class:`sensors.battery.LowBatteryWatch`), ``"no data"`` (connected and sending nothing,
        :class:`sensors.silence.SilenceWatch`) or ``"data"`` (sending again after it). The
        service's clients read the same in the live ``status`` (``battery_warning``,
        ``silence_warning``); a command prints it.
        """

    def on_pacing(self, events: list[Any]) -> bool:
        """The pacing engine's events (``breathing.PacingEvent``) with the guidance they made.

        Returns ``True`` to end the session after this beat.
        """
        return False
