"""``assess``/``practice`` options out of range (review finding 3): a usage error (exit code 2)
naming the option and its range, the simulated person's ranges the API's."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.commands._paced import RESONANCE_RANGE_BPM, SEED_RANGE
from api.commands.practice import FIXED_RATE_RANGE_BPM, MINUTES_RANGE
from api.pipeline import SimulatorSpec
from api.routes.breathing import PracticeIn

runner = CliRunner()


@pytest.mark.timeout(30)  # before this, --minutes inf and --step-s 1e9 ran without end
@pytest.mark.parametrize(
    ("args", "option", "says"),
    [
        (("assess", "--resonance-bpm", "0"), "--resonance-bpm", "3-10 breaths/min"),
        (("practice", "--resonance-bpm", "10.5"), "--resonance-bpm", "3-10 breaths/min"),
        (("assess", "--resonance-bpm", "nan"), "--resonance-bpm", "got nan"),
        (("assess", "--seed", "-1"), "--seed", "0-4294967295"),
        (("practice", "--seed", "4294967296"), "--seed", "0-4294967295"),
        (("assess", "--breathing-lag-s", "9"), "--breathing-lag-s", "0-5 s"),
        (("assess", "--step-s", "5"), "--step-s", "30-600 s"),
        (("assess", "--step-s", "1e9"), "--step-s", "30-600 s"),
        (("assess", "--step-s", "inf"), "--step-s", "30-600 s"),
        (("assess", "--screening", "--step-s", "120"), "--step-s", "without it"),
        (("practice", "--fixed", "--start-rate-bpm", "0"), "--start-rate-bpm", "3-12"),
        (("practice", "--minutes", "inf"), "--minutes", "0.01-60 minutes"),
        (("practice", "--minutes", "nan"), "--minutes", "0.01-60 minutes"),
        (("practice", "--minutes", "0"), "--minutes", "0.01-60 minutes"),
    ],
)
def test_an_option_out_of_range_is_a_usage_error_naming_it_and_its_range(
    args: tuple[str, ...], option: str, says: str
) -> None:
    t0 = time.monotonic()
    result = runner.invoke(app, [*args, "--simulate", "--speed", "max", "--json"])
    assert time.monotonic() - t0 < 10  # refused, not run
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.replace("│", " ").split())  # the usage box, unwrapped
    assert f"Invalid value for '{option}'" in text and says in text, text
    assert "settle_s" not in text and "SimulatedPerson" not in text and result.stdout == ""


def test_the_ranges_are_the_apis() -> None:
    def bounds(field: object) -> tuple[float, float]:
        meta = field.metadata  # type: ignore[attr-defined]
        ge = next(m.ge for m in meta if hasattr(m, "ge"))
        le = next(m.le for m in meta if hasattr(m, "le"))
        return float(ge), float(le)

    assert bounds(SimulatorSpec.model_fields["resonance_bpm"]) == RESONANCE_RANGE_BPM
    assert bounds(SimulatorSpec.model_fields["seed"]) == SEED_RANGE
    assert bounds(PracticeIn.model_fields["rate_bpm"]) == FIXED_RATE_RANGE_BPM
    assert MINUTES_RANGE[1] * 60 == bounds(PracticeIn.model_fields["duration_s"])[1]


def test_the_range_edges_are_accepted() -> None:
    for args in (
        ("assess", "--step-s", "30", "--resonance-bpm", "3", "--seed", "4294967295"),
        ("practice", "--minutes", "0.01", "--resonance-bpm", "10", "--breathing-lag-s", "5"),
        ("practice", "--fixed", "--start-rate-bpm", "12", "--minutes", "0.1", "--seed", "0"),
    ):
        result = runner.invoke(app, [*args, "--simulate", "--speed", "max", "--json"])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["assess", "practice", "record"])
def test_device_help_says_the_start_of_a_name_works(command: str) -> None:
    # Code review (rev5, F8): --device takes a name's start (Polar H10) in every command; the
    # help of assess and practice did not say so
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    words = " ".join(result.output.replace("│", " ").split())
    assert "or the start of one name" in words
