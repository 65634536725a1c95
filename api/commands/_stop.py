"""How a command stops on Ctrl-C or SIGTERM, as ``replay``, ``record``, ``assess``, ``practice`` do.

A command runs its work within :func:`held_signals` (or the part before its run within
:func:`stoppable`): the first Ctrl-C or SIGTERM is noted in a :class:`Stop` and stops the run,
which ends the way it ends on its own (what was done printed and kept), then
:func:`exit_stopped` says so and exits 130 or 143. Apart from the paced runs
(:mod:`api.commands._paced`), so that ``record`` imports neither the pipeline nor pydantic.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn

import typer

from api._process import PROCESS

__all__ = [
    "STOPPED_EXIT_CODE",
    "Held",
    "Stop",
    "exit_stopped",
    "handle_signal",
    "handle_sigterm",
    "held_signals",
    "stoppable",
]

#: Exit code of a run stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
STOPPED_EXIT_CODE = 130


@dataclasses.dataclass
class Stop:
    """Which signal stopped a command: ``None`` while none has, else SIGINT (Ctrl-C) or SIGTERM."""

    signal: signal.Signals | None = None

    @property
    def stopped(self) -> bool:
        """Whether Ctrl-C or SIGTERM stopped the command."""
        return self.signal is not None

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports it: 130 Ctrl-C, 143 SIGTERM."""
        return 128 + int(self.signal or signal.SIGINT)

    @property
    def label(self) -> str:
        """``Ctrl-C`` or ``SIGTERM``."""
        return "SIGTERM" if self.signal is signal.SIGTERM else "Ctrl-C"


def _give_back(final: bool, *restores: Callable[[], None]) -> None:
    """Leaving a block: its handlers are put back (``restores``), or, if ``final``, held to exit.

    ``final``: the block is left only on the way to the command's exit (its output printed,
    its exit code chosen). In the ``hrvpace`` process (:func:`api._process.ends_with_its_command`)
    Ctrl-C and SIGTERM are then ``SIG_IGN`` to the end; not Python's default ones: through
    those a second Ctrl-C in the second or so the interpreter took to finish after
    ``stopped (Ctrl-C): ...`` ended the process by SIGINT (exit -2, not 130) or with a
    ``KeyboardInterrupt`` traceback, and a SIGTERM killed it (-15). ``SIG_IGN``, not a Python
    handler: CPython sets every Python-handled signal back to ``SIG_DFL`` before it tears its
    modules down (~200 ms, most of a normal exit), and a Python handler runs only when the main
    thread gets to it, which an exit waiting on a thread may never do (the kernel may hand the
    signal to that thread), so a handler meant to end a hung exit cannot be relied on. A child
    process started after it would inherit ``SIG_IGN`` (none is). Given up: an exit that hangs
    (none is known: every line is flushed as it is printed, the storage writer's threads are
    daemons and joined first) is ended by SIGKILL or SIGQUIT (Ctrl-backslash) alone. A block
    that is not ``final`` (one a command may outlive), or any block in a longer-lived process
    (a test's ``CliRunner``), puts its handlers back.
    """
    if not (final and PROCESS.ends_with_its_command):
        for restore in restores:
            restore()
        return
    for signum in (signal.SIGTERM, signal.SIGINT):  # SIGTERM first: see stoppable's on_sigterm
        with contextlib.suppress(ValueError):  # not the main thread: the handlers stay
            signal.signal(signum, signal.SIG_IGN)


class _Terminated(KeyboardInterrupt):
    """SIGTERM outside the run's event loop: unwinds the command body as Ctrl-C would."""


def handle_sigterm(handler: Callable[[int, FrameType | None], None]) -> Callable[[], None]:
    """Set SIGTERM's handler; returns what puts the previous one back (:func:`handle_signal`)."""
    return handle_signal(signal.SIGTERM, handler)


def handle_signal(
    signum: signal.Signals, handler: Callable[[int, FrameType | None], None]
) -> Callable[[], None]:
    """Set ``signum``'s handler; returns what puts the previous one back.

    Only the main thread may set a handler: elsewhere (a command run from another thread)
    the signal keeps its handler and the returned function does nothing.
    """
    try:
        previous = signal.signal(signum, handler)
    except ValueError:  # not the main thread
        return lambda: None
    # None: the previous handler was not set from Python (the default's)
    back = signal.SIG_DFL if previous is None else previous

    def restore() -> None:
        signal.signal(signum, back)

    return restore


@contextlib.contextmanager
def stoppable(*, final: bool = False) -> Iterator[Stop]:
    """The part of a command that Ctrl-C or SIGTERM stops, with what was done kept.

    Within it a Ctrl-C (SIGINT) or a SIGTERM, before the run (choosing the source, assembling the
    session) or during it (:func:`api.commands._paced.run_paced`, which stops the session and
    closes the device's link), ends the block: the :class:`Stop` it yields says which, and the
    command prints what was done, marked stopped, then :func:`exit_stopped` (exit code 130 or
    143). ``final``: the command leaves it only on its way to the exit; in the ``hrvpace``
    process a signal from then on is ignored (:func:`_give_back`). Otherwise SIGTERM's
    handler is put back.
    """
    stop = Stop()
    leaving = False  # the block is being left: a SIGTERM no longer unwinds it

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        # a second signal: the first is being handled, ignored; one while the block is left
        # would raise out of its `finally` (between its handlers' changes)
        if stop.signal is not None or leaving:
            return
        stop.signal = signal.SIGTERM
        raise _Terminated

    restore = handle_sigterm(on_sigterm)
    try:
        yield stop
    except KeyboardInterrupt:
        if stop.signal is None:
            stop.signal = signal.SIGINT
    finally:
        leaving = True
        _give_back(final, restore)


class Held:
    """What a signal does within :func:`held_signals` (each ``None`` while nothing is to do).

    ``cancel(signum)``: the first Ctrl-C or SIGTERM (told to the :class:`Stop` first), e.g.
    what cancels the command's task. It is called once: when the signal comes, or, for one
    that came while no ``cancel`` was set (before the command's event loop ran, between two
    of its parts), at once when the next ``cancel`` is set, so no caller can miss a signal by
    setting it after looking at ``stop``. ``again(signum)``: each later one, e.g. a note on
    stderr. Both are called from the signal handler (or the setter): the event loop's
    ``call_soon_threadsafe`` is their way into a running loop (printing from the handler
    itself could meet a half-done print).
    """

    def __init__(self, stop: Stop | None = None) -> None:
        self.stop = stop if stop is not None else Stop()
        self.again: Callable[[signal.Signals], None] | None = None
        self._cancel: Callable[[signal.Signals], None] | None = None
        self._fired = False  # the first signal has called a cancel

    @property
    def cancel(self) -> Callable[[signal.Signals], None] | None:
        """What the first signal calls; set while one is recorded but not yet acted on: at once."""
        return self._cancel

    @cancel.setter
    def cancel(self, cancel: Callable[[signal.Signals], None] | None) -> None:
        # set first, then look: a signal between the two finds it set (and fires it itself)
        self._cancel = cancel
        sig = self.stop.signal
        if cancel is not None and sig is not None and not self._fired:
            self._fired = True
            cancel(sig)

    def signalled(self, sig: signal.Signals) -> None:
        """A Ctrl-C or SIGTERM (from :func:`held_signals`'s handler): the first cancels."""
        if self.stop.signal is not None:  # a later one: the first is being handled
            if self.again is not None:
                self.again(sig)
            return
        self.stop.signal = sig
        cancel = self._cancel
        if cancel is not None:
            self._fired = True
            cancel(sig)


@contextlib.contextmanager
def held_signals(stop: Stop, *, final: bool = False) -> Iterator[Held]:
    """Within it Ctrl-C and SIGTERM are noted, never raised: only the first one counts.

    The first is told to ``stop`` and calls :attr:`Held.cancel`: the one set then, or (one
    before any is set, e.g. before the command's event loop runs) the next one set; any later
    one only calls :attr:`Held.again` if set. None raises: a second Ctrl-C through Python's
    default handler interrupted whatever ran (a strap's link half-closed, a session's final
    state unwritten, a traceback). ``replay``, ``record``, ``assess`` and ``practice`` run and
    end within it. ``final``: the command leaves it only on its way to the exit (as those four
    do); in the ``hrvpace`` process a signal from then on is ignored (:func:`_give_back`).
    Otherwise (``run_paced``'s own, a test's ``CliRunner``) both handlers are put back.
    """
    held = Held(stop)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        held.signalled(signal.Signals(signum))

    # asyncio.run sets its own SIGINT handler only over Python's default one: not over this
    restore_int = handle_signal(signal.SIGINT, on_signal)
    restore_term = handle_signal(signal.SIGTERM, on_signal)
    try:
        yield held
    finally:
        _give_back(final, restore_term, restore_int)


def exit_stopped(what: str, stop: Stop | None = None) -> NoReturn:
    """Say on stderr that Ctrl-C (or SIGTERM) stopped the run and what is incomplete; exit.

    Exit code 130 after Ctrl-C, 143 after SIGTERM (128 + the signal, as a shell reports it).
    """
    stop = stop if stop is not None and stop.stopped else Stop(signal.SIGINT)
    typer.echo(f"stopped ({stop.label}): {what}", err=True)
    raise typer.Exit(stop.exit_code)
