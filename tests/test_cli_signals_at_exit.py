"""Ctrl-C and SIGTERM once a command's block is left (review of clilife).

In the ``hrvpace`` process a command's last block (``final``) leaves Ctrl-C and SIGTERM
``SIG_IGN`` to the end of the process (a Python handler is set back to ``SIG_DFL`` before
CPython tears its modules down, and runs only when the main thread gets to it). Any other
block, and every block in a longer-lived process (a test's ``CliRunner``), puts the handlers
back. ``tests/test_cli_paced_stopped.py`` has the signals of a real exit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import api.commands.practice as practice_command
import api.commands.replay as replay_command
from api._process import PROCESS
from api.cli import app
from api.commands._paced import run_paced
from api.commands._stop import Stop, held_signals, stoppable
from breathing import PacingEngine, PacingMode
from sensors import ReplaySource
from tests.api.conftest import REPO_ROOT

runner = CliRunner()


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
def python_handlers() -> Iterator[None]:
    """Python's own Ctrl-C and SIGTERM handlers to start from, whatever this process inherited
    (a CI job's background shell starts its workers with Ctrl-C ignored); those found put back
    after."""
    found = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        for signum, handler in zip((signal.SIGINT, signal.SIGTERM), found, strict=True):
            if handler is not None:  # None: not set from Python, cannot be set back from it
                signal.signal(signum, handler)


@pytest.fixture
def hrvpace_process(python_handlers: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as the ``hrvpace`` entry point makes it, from Python's own handlers."""
    monkeypatch.setattr(PROCESS, "ends_with_its_command", True)
    yield


def _ignored() -> bool:
    return (
        signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        and signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    )


# --- 1. signals in the module teardown of the exit ---


#: Runs the command line with a Ctrl-C and a SIGTERM sent to its own process from a
#: ``__del__`` that runs as the interpreter clears its modules: after CPython's signal module
#: is finalized (``_PySignal_Fini``), which sets every signal with a Python handler back to
#: ``SIG_DFL``, in the ~200 ms of module teardown that are most of a normal exit.
_SIGNALS_IN_TEARDOWN = """
import os, runpy, signal, sys, types
signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's process (CI: ignored)
class Late:
    def __del__(self):  # as the modules are cleared: after the signal module's finalization
        os.write(2, b"signalled in the teardown\\n")
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
late = types.ModuleType("zz_late"); late.obj = Late(); sys.modules["zz_late"] = late; del late
sys.argv = ["hrvpace", *sys.argv[1:]]
runpy.run_module("api", run_name="__main__")
"""


def test_signals_in_the_module_teardown_of_the_exit_are_ignored(rr_file: Path) -> None:
    # Review (clilife2, 1): a Python handler left by the final block was set back to SIG_DFL
    # by CPython before it tore its modules down (most of the exit): a second Ctrl-C or
    # SIGTERM there killed the process by the signal again (exit -2 or -15, not 0). SIG_IGN
    # outlives that finalization.
    args = ["replay", str(rr_file), "--speed", "max", "--json"]
    done = subprocess.run(
        [sys.executable, "-c", _SIGNALS_IN_TEARDOWN, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "signalled in the teardown" in done.stderr  # the __del__ ran: the test tests
    assert json.loads(done.stdout.splitlines()[-1])["state"] == "ended"


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
    assert _ignored()


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


# --- 3. in-process runs (CliRunner) put the handlers back ---


def _sends(signum: signal.Signals, target: Callable[..., Any]) -> Callable[..., Any]:
    """``target``, called through after ``signum`` was sent to this process."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signum)  # handled here, in the main thread
        return target(*args, **kwargs)

    return wrapped


def test_cli_runner_runs_put_the_handlers_back(
    python_handlers: None, rr_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review (clilife, 3): PROCESS.ends_with_its_command is process-wide; set in a test
    # process, every later CliRunner run would leave Ctrl-C and SIGTERM ignored there.
    assert _defaults_in_place()
    whole = runner.invoke(app, ["replay", str(rr_file), "--speed", "max", "--json"])
    assert whole.exit_code == 0, whole.output
    assert _defaults_in_place()

    # stopped before the replay (stoppable's SIGTERM handler)
    with monkeypatch.context() as m:
        m.setattr(
            replay_command,
            "_load_baseline",
            _sends(signal.SIGTERM, replay_command._load_baseline),
        )
        term = runner.invoke(app, ["replay", str(rr_file), "--speed", "max"])
    assert term.exit_code == 143, term.output
    assert "stopped (SIGTERM): nothing replayed" in term.stderr
    assert _defaults_in_place()

    # stopped as the run starts (held_signals' handlers)
    with monkeypatch.context() as m:
        m.setattr(
            practice_command,
            "choose_source",
            _sends(signal.SIGINT, practice_command.choose_source),
        )
        ctrl_c = runner.invoke(app, ["practice", "--simulate", "--speed", "max", "--json"])
    assert ctrl_c.exit_code == 130, ctrl_c.output
    assert json.loads(ctrl_c.stdout)["stopped"] is True
    assert _defaults_in_place()


# --- 4. a SIGTERM while stoppable is left ---


@pytest.mark.parametrize("final", [True, False])
def test_a_sigterm_while_stoppable_is_left_raises_nothing(
    hrvpace_process: None, monkeypatch: pytest.MonkeyPatch, final: bool
) -> None:
    # Review (clilife, nit 6): between the handlers' changes as stoppable was left, a SIGTERM
    # still reached its handler, which raised _Terminated out of the block's `finally`. The
    # SIGTERM is sent as the first handler is changed.
    set_handler = signal.signal
    armed = False

    def signal_then_set(signum: int, handler: Any) -> Any:
        nonlocal armed
        if armed:
            armed = False
            os.kill(os.getpid(), signal.SIGTERM)  # handled here, in the main thread
        return set_handler(signum, handler)

    monkeypatch.setattr(signal, "signal", signal_then_set)  # the process's, as _stop's
    try:
        with stoppable(final=final) as stop:
            armed = True
    except KeyboardInterrupt as exc:  # _Terminated: not to stop the test session
        pytest.fail(f"raised {exc!r} as the block was left")
    assert not armed  # the signal was sent
    assert stop.signal is None
