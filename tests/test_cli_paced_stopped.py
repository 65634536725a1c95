"""Ctrl-C during ``hrvpace assess``/``practice`` (review finding 1): what was done is printed,
marked stopped/incomplete, and the exit code is 130. Real subprocesses and a real SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.api.conftest import REPO_ROOT

SPEED = "50"  # 50 times real time: the first 2-min step ends after ~2.5 s


def _interrupt(
    args: list[str], ready: Callable[[str], bool], *, on_stderr: bool
) -> tuple[int, str, str]:
    """Run ``hrvpace ARGS``; once a line of stdout (or stderr) is ``ready``, send SIGINT."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    stream = proc.stderr if on_stderr else proc.stdout
    assert stream is not None
    seen: list[str] = []
    try:
        for line in stream:
            seen.append(line)
            if ready(line):
                break
        else:
            raise AssertionError(f"ended ({proc.wait()}) before the moment to stop: {seen}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if on_stderr:
        err = "".join(seen) + err
    else:
        out = "".join(seen) + out
    return proc.returncode, out, err


def _cue_after(t_s: float) -> Callable[[str], bool]:
    def ready(line: str) -> bool:
        return line.startswith("{") and json.loads(line).get("t_s", 0) >= t_s

    return ready


def test_assess_stopped_prints_the_finished_steps_and_claims_no_rate() -> None:
    code, out, err = _interrupt(
        ["assess", "--simulate", "--speed", SPEED, "--no-cue", "--seed", "3"],
        lambda line: line.startswith("step 2/5"),
        on_stderr=False,
    )
    assert code == 130, err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rate/min"))
    rows = [line.split()[0] for line in lines[header + 1 :] if line.strip()[:1].isdigit()]
    assert rows[:2] == ["6.5", "6.0"]  # the finished steps' table
    assert "incomplete assessment: stopped after" in out and "of 5 steps" in out
    assert "resonance rate:" not in out
    assert "stopped (Ctrl-C)" in err and "incomplete" in err


def test_assess_json_stopped_says_incomplete_with_the_steps_done() -> None:
    code, out, err = _interrupt(
        ["assess", "--simulate", "--speed", SPEED, "--json", "--cue", "--seed", "3"],
        _cue_after(130.0),  # step 1 (120 s) is analysed by then
        on_stderr=True,
    )
    assert code == 130, err
    data = json.loads(out)
    assert data["complete"] is False and data["stopped"] is True
    assert 1 <= data["steps_done"] < data["n_steps"] == 5
    assert len(data["rates"]) == data["steps_done"]
    assert data["rates"][0]["rate_bpm"] == 6.5
    assert data["resonance_bpm"] is None and "not measured" in data["reason"]


def test_practice_stopped_prints_the_summary_so_far() -> None:
    args = ["practice", "--simulate", "--speed", SPEED, "--minutes", "10"]
    code, out, err = _interrupt([*args, "--json", "--cue"], _cue_after(60.0), on_stderr=True)
    assert code == 130, err
    data = json.loads(out)
    assert data["stopped"] is True and data["minutes"] == 10.0
    assert 1.0 <= data["minutes_done"] < 10.0
    assert data["final_rate_bpm"] is not None and data["trace"][0]["t_s"] == 0.0
    assert data["settled_rate_bpm"] is None and "shorter than 3 min" in data["not_settled"]
    assert "stopped (Ctrl-C)" in err
    code, out, err = _interrupt(
        [*args, "--cue"], lambda line: line.startswith("1:0"), on_stderr=False
    )
    assert code == 130, err
    assert "stopped after 1:" in out and "of 10:00: last rate" in out


def _terminate(args: list[str], ready: Callable[[str], bool]) -> tuple[int, str, str]:
    """Run ``hrvpace ARGS`` (with ``--json --cue``); once a stderr line is ``ready``, SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if ready(line):
                break
        else:
            raise AssertionError(f"ended ({proc.wait()}) before the moment to stop: {seen}")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, "".join(seen) + err


def test_practice_sigterm_prints_the_summary_so_far_exit_143() -> None:
    args = ["practice", "--simulate", "--speed", SPEED, "--minutes", "10", "--json", "--cue"]
    code, out, err = _terminate(args, _cue_after(60.0))
    assert code == 143, err
    data = json.loads(out)
    assert data["stopped"] is True and 1.0 <= data["minutes_done"] < 10.0
    assert "stopped (SIGTERM): practice ended early" in err


def test_assess_sigterm_says_incomplete_with_the_steps_done_exit_143() -> None:
    args = ["assess", "--simulate", "--speed", SPEED, "--json", "--cue", "--seed", "3"]
    code, out, err = _terminate(args, _cue_after(130.0))
    assert code == 143, err
    data = json.loads(out)
    assert data["complete"] is False and data["stopped"] is True
    assert 1 <= data["steps_done"] < 5 and data["resonance_bpm"] is None
    assert "stopped (SIGTERM): assessment incomplete" in err


#: Runs the command line with the command's ``choose_source`` sending the signal to its own
#: process first: a real signal, arriving before the run starts (the source not yet chosen).
_SIGNAL_BEFORE_RUN = """
import os, runpy, signal, sys
import api.commands.{command} as command
chosen = command.choose_source
def choose_source(*args, **kwargs):
    os.kill(os.getpid(), signal.{signal})
    return chosen(*args, **kwargs)
command.choose_source = choose_source
sys.argv = ["hrvpace", *sys.argv[1:]]
runpy.run_module("api", run_name="__main__")
"""


@pytest.mark.parametrize(
    ("sig", "code", "label"), [("SIGINT", 130, "Ctrl-C"), ("SIGTERM", 143, "SIGTERM")]
)
@pytest.mark.parametrize("command", ["practice", "assess"])
def test_a_stop_before_the_run_still_prints_the_stopped_output(
    command: str, sig: str, code: int, label: str
) -> None:
    script = _SIGNAL_BEFORE_RUN.format(command=command, signal=sig)
    args = [command, "--simulate", "--speed", "max", "--json"]
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert done.returncode == code, done.stderr
    data = json.loads(done.stdout)
    assert data["stopped"] is True
    if command == "practice":
        assert data["minutes_done"] == 0.0 and data["breaths"] == 0
    else:
        assert data["steps_done"] == 0 and data["rates"] == [] and data["complete"] is False
    assert f"stopped ({label}): " in done.stderr
