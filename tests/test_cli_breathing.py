"""``hrvpace assess`` and ``hrvpace practice``: the JSON contracts against a simulated person."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from api.cli import app

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
    trace = data["trace"]
    assert isinstance(trace, list) and len(trace) > 40
    assert trace[0] == {"t_s": 0.0, "rate_bpm": 6.0}
    assert all(set(p) == {"t_s", "rate_bpm"} for p in trace)
    times = [p["t_s"] for p in trace]
    assert times == sorted(times) and times[-1] <= 600.0


def test_without_simulate_points_to_the_service() -> None:
    for cmd in ("assess", "practice"):
        result = runner.invoke(app, [cmd])
        assert result.exit_code == 2
        assert "hrvpace serve" in result.output


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
