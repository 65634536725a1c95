"""Ctrl-C and SIGTERM once a command's block is left (review of clilife).

In the ``hrvpace`` process a command's last block (``final``) leaves a handler that ignores a
signal while the process exits, within :data:`api.commands._stop.EXIT_GRACE_S`, and ends an
exit that hangs past it on a thread; from the exit hooks on (the module teardown) the signals
are ``SIG_IGN``. Any other block, and every block in a longer-lived process (a test's
``CliRunner``), puts the handlers back. ``tests/test_cli_paced_stopped.py`` has the signals
within the grace of a real exit.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import api.commands.practice as practice_command
import api.commands.replay as replay_command
from api._process import PROCESS
from api.cli import app
from api.commands import _stop
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
def hrvpace_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as the ``hrvpace`` entry point makes it; the handlers put back after."""
    assert _defaults_in_place()
    assert not _stop._ignoring_at_exit
    monkeypatch.setattr(PROCESS, "ends_with_its_command", True)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # a final block left registered this: the pytest worker would ignore signals in its exit
        atexit.unregister(_stop._ignored_to_the_end)
        _stop._ignoring_at_exit = False


# --- 1. a hung exit: a signal after the grace ends it ---

#: Runs the command line with a non-daemon thread that never ends, so the interpreter's exit
#: waits for it forever. Once the exit has begun (the main thread's join returns: the
#: command's blocks are left) the thread sends a Ctrl-C, within the grace (1 s here), and says
#: the exit hangs. That join's return is a CPython internal (3.11 to 3.13, "Obscure: other
#: threads may be waiting to join _main_thread"): ``threading._shutdown`` marks the main
#: thread done before it joins the others. Should a later CPython not, the exit waits for the
#: thread, the thread for the exit: the test hangs to pytest-timeout's limit, it cannot pass.
_HUNG_EXIT = """
import os, runpy, signal, sys, threading
import api.commands._stop as stop
stop.EXIT_GRACE_S = 1.0
def hang():
    threading.main_thread().join()  # returns as the interpreter's exit begins
    os.kill(os.getpid(), signal.SIGINT)
    print("the exit hangs", file=sys.stderr, flush=True)
    threading.Event().wait()
threading.Thread(target=hang, daemon=False).start()
sys.argv = ["hrvpace", *sys.argv[1:]]
runpy.run_module("api", run_name="__main__")
"""


def test_a_hung_exit_is_ended_by_a_signal_after_the_grace(rr_file: Path) -> None:
    # Review (clilife, 1): the signals were SIG_IGN from the end of the command to the exit,
    # so an exit that hung (a thread that never ends) could be ended by SIGKILL alone. Now a
    # signal within the grace is still ignored (the Ctrl-C: the exit code is not 130), a later
    # one ends the process with 128 + the signal.
    proc = subprocess.Popen(
        [sys.executable, "-c", _HUNG_EXIT, "replay", str(rr_file), "--speed", "max", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.stderr is not None
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if line == "the exit hangs\n":
                break
        else:
            raise AssertionError(f"ended ({proc.wait()}) before its exit hung: {seen}")
        for _ in range(60):  # one SIGTERM each 0.25 s: the grace ends within about 1 s
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                continue
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, "".join(seen) + err
    assert "hrvpace: exiting; should it hang, Ctrl-C again after 1 s ends it" in "".join(seen) + err
    assert "still exiting" in err and "SIGTERM ends it" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert json.loads(out.splitlines()[-1])["state"] == "ended"  # its output whole


def test_the_final_handler_ignores_a_signal_in_the_grace_and_ends_the_process_after(
    hrvpace_process: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # the same handler in this process, its os._exit noted instead of done
    with held_signals(Stop(), final=True):
        pass
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler) and handler is signal.getsignal(signal.SIGINT)
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)  # the process's os._exit, as _stop's
    os.kill(os.getpid(), signal.SIGTERM)  # handled here, in the main thread
    os.kill(os.getpid(), signal.SIGINT)
    assert exits == []  # within the grace: ignored, the first one noted once
    noted = "hrvpace: exiting; should it hang, SIGTERM again after 5 s ends it\n"
    assert capfd.readouterr().err == noted
    monkeypatch.setattr(_stop, "EXIT_GRACE_S", 0.0)
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
    assert exits == [130, 143]
    said = capfd.readouterr().err
    assert "hrvpace: still exiting 0 s after the command ended; Ctrl-C ends it" in said


def test_final_blocks_register_one_exit_hook_that_ignores_the_signals(
    hrvpace_process: None,
) -> None:
    # Review (clilife2, 1): the hook that sets SIG_IGN for the module teardown; once, though
    # replay leaves two final blocks; none for a final block left off the main thread (its
    # handlers not set: the process's own stay to the end).
    def off_main() -> None:
        with held_signals(Stop(), final=True):
            pass

    before = atexit._ncallbacks()
    thread = threading.Thread(target=off_main)
    thread.start()
    thread.join()
    assert atexit._ncallbacks() == before and _defaults_in_place()
    with stoppable(final=True), held_signals(Stop(), final=True):
        pass
    assert atexit._ncallbacks() == before + 1
    assert signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.default_int_handler)
    _stop._ignored_to_the_end()  # as the exit calls it
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


#: Runs the command line with a Ctrl-C and a SIGTERM sent to its own process from a
#: ``__del__`` that runs as the interpreter clears its modules: after CPython's signal module
#: is finalized (``_PySignal_Fini``), which sets every signal with a Python handler back to
#: ``SIG_DFL``, in the ~200 ms of module teardown that are most of a normal exit.
_SIGNALS_IN_TEARDOWN = """
import os, runpy, signal, sys, types
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
    # Review (clilife2, 1): the final block's Python handler was set back to SIG_DFL by
    # CPython before it tore its modules down (most of the exit): a second Ctrl-C or SIGTERM
    # there killed the process by the signal again (exit -2 or -15, not 0). An atexit hook
    # now sets SIG_IGN, which outlives that finalization.
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
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)


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
    rr_file: Path, monkeypatch: pytest.MonkeyPatch
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


# --- 6. a SIGTERM while stoppable is left ---


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
