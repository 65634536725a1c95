"""``hrvpace assess`` and ``hrvpace practice``: the JSON contracts against a simulated person."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.commands.practice import settled_rate
from tests.sensors.fake_bluez import FakeBluez
from tests.sensors.test_ble import (  # noqa: F401  (fixtures of the emulated BlueZ)
    H10,
    bluez,
    packet,
    polar_h10,
    private_bus,
    run_cli,
    system_bus,
)

runner = CliRunner()


def run_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("resonance", ["4.7", "6.1"])
def test_assess_json_finds_the_resonance(resonance: str) -> None:
    data = run_json(
        "assess",
        "--simulate",
        "--resonance-bpm",
        resonance,
        "--speed",
        "max",
        "--json",
        "--seed",
        "3",
    )
    assert abs(float(data["resonance_bpm"]) - float(resonance)) <= 0.25  # type: ignore[arg-type]
    rates = data["rates"]
    assert isinstance(rates, list) and [r["rate_bpm"] for r in rates] == [6.5, 6.0, 5.5, 5.0, 4.5]
    for r in rates:
        assert {
            "peak_to_trough_bpm",
            "phase_deg",
            "lf_power_ms2",
            "lf_peak_hz",
            "n_cycles",
            "quality",
        } <= r.keys()
    assert data["reason"] and data["method"]


def test_assess_says_when_the_resonance_may_lie_beyond_the_range() -> None:
    data = run_json(
        "assess", "--simulate", "--resonance-bpm", "6.6", "--speed", "max", "--json", "--seed", "6"
    )
    assert data["range_edge"] == "high"
    assert "may lie above 6.5/min" in str(data["range_note"])
    inside = run_json("assess", "--simulate", "--speed", "max", "--json", "--seed", "3")
    assert inside["range_edge"] is None and inside["range_note"] == ""
    text = runner.invoke(
        app, ["assess", "--simulate", "--resonance-bpm", "6.6", "--speed", "max", "--seed", "6"]
    )
    assert text.exit_code == 0, text.output
    assert "note: " in text.stdout and "may lie above 6.5/min" in text.stdout


def test_assess_screening_json_lists_the_criteria_of_each_step() -> None:
    data = run_json("assess", "--simulate", "--screening", "--speed", "max", "--json")
    rates = data["rates"]
    assert isinstance(rates, list)
    for r in rates:
        uses = {c["name"]: c for c in r["criteria"]}
        assert uses["max_lf_power"]["used"] and r["lf_power_ms2"] is not None
        assert not uses["max_lf_peak"]["used"] and "60 s" in uses["max_lf_peak"]["why"]
    crit = {c["name"]: c for c in data["criteria"]}  # type: ignore[union-attr]
    assert crit["max_lf_peak"]["rate_bpm"] is None
    text = runner.invoke(app, ["assess", "--simulate", "--screening", "--speed", "max"])
    assert "max_lf_peak left out" in text.stdout


def test_assess_is_deterministic_for_a_seed() -> None:
    args = ("assess", "--simulate", "--speed", "max", "--json", "--seed", "5", "--screening")
    assert run_json(*args) == run_json(*args)


def test_practice_json_settles_and_traces() -> None:
    data = run_json(
        "practice",
        "--simulate",
        "--resonance-bpm",
        "5.2",
        "--minutes",
        "10",
        "--speed",
        "max",
        "--json",
    )
    assert abs(float(data["final_rate_bpm"]) - 5.2) <= 0.25  # type: ignore[arg-type]
    assert abs(float(data["settled_rate_bpm"]) - 5.2) <= 0.25  # type: ignore[arg-type]
    assert data["not_settled"] is None
    trace = data["trace"]
    assert isinstance(trace, list) and len(trace) > 40
    assert trace[0] == {"t_s": 0.0, "rate_bpm": 6.0}
    assert all(set(p) == {"t_s", "rate_bpm"} for p in trace)
    times = [p["t_s"] for p in trace]
    assert times == sorted(times) and times[-1] <= 600.0


def test_a_rate_still_walking_is_not_called_settled() -> None:
    """3 minutes from 6.0 toward 5.0: the rate is still moving over the whole window."""
    data = run_json(
        "practice", "--simulate", "--resonance-bpm", "5", "--minutes", "3", "--speed", "max",
        "--json",
    )  # fmt: skip
    trace = data["trace"]
    assert isinstance(trace, list)
    rates = [p["rate_bpm"] for p in trace]
    assert max(rates) - min(rates) > 0.5  # the premise: it walked
    assert data["settled_rate_bpm"] is None
    assert "still moved" in str(data["not_settled"])
    short = run_json("practice", "--simulate", "--minutes", "1", "--speed", "max", "--json")
    assert short["settled_rate_bpm"] is None and "shorter than 3 min" in str(short["not_settled"])


def test_settled_rate_takes_the_rate_in_force_when_the_window_opens() -> None:
    walk = [{"t_s": 0.0, "rate_bpm": 6.0}] + [
        {"t_s": 10.0 * i, "rate_bpm": 6.0 - 0.1 * i} for i in range(1, 11)
    ]
    # 300 s run: the window 120-300 s holds no update, the rate in force there is 5.0
    assert settled_rate(walk, 300.0) == (5.0, "")
    rate, why = settled_rate(walk, 200.0)  # window 20-200 s: 5.8 ... 5.0
    assert rate is None and "moved 0.80/min" in why


def test_without_a_source_points_to_strap_simulator_and_service() -> None:
    for cmd in ("assess", "practice"):
        result = runner.invoke(app, [cmd])
        assert result.exit_code == 2
        assert "--device" in result.output and "hrvpace serve" in result.output
        both = runner.invoke(app, [cmd, "--simulate", "--device", "AA:BB:CC:DD:EE:FF"])
        assert both.exit_code == 2 and "not both" in both.output


@pytest.mark.ble
@pytest.mark.timeout(30)
async def test_practice_with_a_strap_runs_the_same_engine(bluez: FakeBluez) -> None:  # noqa: F811
    """Real bleak against the emulated BlueZ (tests/sensors/fake_bluez.py): the strap's beats
    drive the engine; 1.2 s of session is enough to check the wiring, not the science."""
    bluez.add_strap(polar_h10())
    running = asyncio.ensure_future(
        run_cli("practice", "--device", H10, "--minutes", "0.02", "--json")
    )
    await bluez.wait_notifying(H10, timeout_s=10.0)
    for _ in range(12):
        bluez.notify(H10, packet(307, hr=200))  # 300 ms beats, sent in real time
        await asyncio.sleep(0.3)
        if running.done():
            break
    result = await asyncio.wait_for(running, 10.0)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["device"] == H10 and data["mode"] == "adaptive"
    assert data["final_rate_bpm"] == 6.0 and data["trace"][0] == {"t_s": 0.0, "rate_bpm": 6.0}


@pytest.mark.ble
@pytest.mark.timeout(30)
async def test_assess_with_bluetooth_off_fails_with_the_reason(
    bluez: FakeBluez,  # noqa: F811
) -> None:
    bluez.set_powered(False)
    result = await run_cli("assess", "--device", H10, "--json")
    assert result.exit_code == 1
    assert "Bluetooth is turned off" in result.stderr
    assert result.stdout == ""


def test_the_hint_names_the_services_real_docs_path(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from api.app import create_app
    from api.settings import Settings

    result = runner.invoke(app, ["assess"])
    found = re.search(r"API docs at (\S+?)\)", result.output)
    assert found is not None, result.output
    service = create_app(Settings(data_dir=tmp_path, token=SecretStr("t")))
    # the docs page is webconventions.docs' route (FastAPI's own docs_url is off: no CDN)
    assert service.docs_url is None and found.group(1) == "/api/v1/docs"
    assert found.group(1) in {getattr(r, "path", None) for r in service.routes}


def test_assess_table_columns_line_up_when_values_are_missing() -> None:
    """The screening run leaves LF power / LF peak out at some rates: every cell, ``-`` too,
    ends where its header label ends."""
    result = runner.invoke(app, ["assess", "--simulate", "--screening", "--speed", "max"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rate/min"))
    header, rows = lines[start], lines[start + 1 : start + 6]
    ends = [m.end() for m in re.finditer(r"\S+(?: \S+)*", header)]
    assert len(ends) == 7
    assert any(" - " in row or row.endswith(" -") for row in rows)  # a missing value is shown
    for row in rows:
        cells = [m.end() for m in re.finditer(r"\S+", row[: ends[-1]])]
        assert cells == ends, f"{header!r}\n{row!r}"


def test_bad_speed_is_a_usage_error() -> None:
    result = runner.invoke(app, ["assess", "--simulate", "--speed", "fast"])
    assert result.exit_code == 2 and "speed" in result.output


def test_console_script_prints_one_json_object() -> None:
    """The real entry point, in a subprocess: stdout is exactly one JSON object."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "api",
            "practice",
            "--simulate",
            "--minutes",
            "2",
            "--speed",
            "max",
            "--json",
            "--resonance-bpm",
            "6.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["mode"] == "adaptive" and data["simulated"]["resonance_bpm"] == 6.5
