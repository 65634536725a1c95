"""Ctrl-C and SIGTERM once a command's block is left (review of clilife).

In the ``hrvpace`` process a command's last block (``final``) leaves the signals ignored while
the process exits. Any other block, and every block in a longer-lived process (a test's
``CliRunner``), puts the handlers back. ``tests/test_cli_paced_stopped.py`` has the signals
in a real exit.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api._process import PROCESS
from api.commands._paced import run_paced
from api.commands._stop import Stop, held_signals, stoppable
from breathing import PacingEngine, PacingMode
from sensors import ReplaySource


def _defaults_in_place() -> bool:
    """Python's own handlers: Ctrl-C raises KeyboardInterrupt, SIGTERM ends the process."""
    return (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )


@pytest.fixture
def rr_file(tmp_path: Path) -> Path:
    rr = tmp_path / "rr.txt"
    rr.write_text("".join(f"{800 + 40 * ((i % 7) - 3)}\n" for i in range(100)))
    return rr


@pytest.fixture
def hrvpace_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as the ``hrvpace`` entry point makes it; the handlers put back after."""
    assert _defaults_in_place()
    monkeypatch.setattr(PROCESS, "ends_with_its_command", True)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


# --- 2. only a final block holds the signals to the exit ---


@pytest.mark.parametrize("block", ["held_signals", "stoppable"])
def test_a_block_not_final_puts_the_handlers_back_in_the_hrvpace_process(
    hrvpace_process: None, block: str
) -> None:
    # Review (clilife, 2): any block left in the hrvpace process made Ctrl-C and SIGTERM
    # ignored to the exit, e.g. run_paced's own one (held=None): the command after it could
    # not be stopped. Only the block the command leaves on its way to the exit (final) does.
    def enter(final: bool) -> Any:
        if block == "held_signals":
            return held_signals(Stop(), final=final)
        return stoppable(final=final)

    with enter(False):
        assert not _defaults_in_place()
    assert _defaults_in_place()
    with enter(True):
        pass
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL


def test_run_paced_with_a_block_of_its_own_puts_the_handlers_back(
    hrvpace_process: None, rr_file: Path
) -> None:
    events: list[object] = []
    stopped = run_paced(
        PacingEngine(mode=PacingMode.ADAPTIVE, rate_bpm=6.0),
        ReplaySource(rr_file, speed="max", format="plain", units="ms"),
        on_event=lambda event: events.append(event) or False,
    )
    assert not stopped and events
    assert _defaults_in_place()  # the caller goes on: Ctrl-C and SIGTERM as ever
