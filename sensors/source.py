"""The interface every source of beats implements (BLE strap, file replay, simulator)."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Self

from sensors.beat import Beat, SourceState, SourceStatus

__all__ = ["BeatSource", "StatusListener"]

StatusListener = Callable[[SourceStatus], None]


class BeatSource(abc.ABC):
    """An async context manager that yields :class:`~sensors.beat.Beat` objects.

    Usage::

        async with source:
            async for beat in source:
                ...

    Subclasses implement :meth:`_open`, :meth:`_close` and :meth:`_beats`, and report changes of
    state with :meth:`_set_status`. Listeners added with :meth:`add_status_listener` are called
    synchronously with each new status; a listener's exception is not allowed to kill the stream.
    """

    def __init__(self) -> None:
        self._status = SourceStatus(SourceState.IDLE)
        self._listeners: list[StatusListener] = []

    @property
    def status(self) -> SourceStatus:
        """The source's current state (connecting, streaming, reconnecting, ended, ...)."""
        return self._status

    @property
    def paced_runs(self) -> tuple[tuple[float, float], ...]:
        """When the stream was recorded under paced breathing, as ``(start, stop)`` stream times.

        A recording of a session that paced says so (``sensors.ReplaySource``: an ``hrvpace
        export``'s sidecar); a live source has none: its pacing is the session's own.
        """
        return ()

    def add_status_listener(self, listener: StatusListener) -> None:
        """Call ``listener`` with every new status, synchronously (its errors are logged)."""
        self._listeners.append(listener)

    def _set_status(self, status: SourceStatus) -> None:
        self._status = status
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:  # a UI callback must not kill the sensor
                import logging

                logging.getLogger(__name__).exception("status listener failed")

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    def __aiter__(self) -> AsyncIterator[Beat]:
        return self._beats()

    async def _open(self) -> None:  # noqa: B027 - optional hook
        """Acquire resources (connect, open the file). Default: nothing."""

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release resources. Must be safe to call twice. Default: nothing."""

    @abc.abstractmethod
    def _beats(self) -> AsyncIterator[Beat]:
        """Yield beats until the source ends."""
