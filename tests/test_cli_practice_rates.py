"""``hrvpace practice``'s start rate, breath count and rate-kept count (review finding 2)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
SIM = ("practice", "--simulate", "--speed", "max")


def test_adaptive_refuses_a_start_outside_its_range_naming_option_and_range() -> None:
    for rate in ("30", "3", "4.4", "7.1"):
        result = runner.invoke(app, [*SIM, "--start-rate-bpm", rate, "--json"])
        assert result.exit_code == 2, result.output
        assert "--start-rate-bpm" in result.output and "4.5-7" in result.output
        assert "--fixed" in result.output and result.stdout == ""
    for rate in ("4.5", "7"):  # the range's edges are taken as given
        ok = runner.invoke(app, [*SIM, "--start-rate-bpm", rate, "--minutes", "0.5", "--json"])
        assert ok.exit_code == 0, ok.output
        data = json.loads(ok.stdout)
        assert data["trace"][0]["rate_bpm"] == data["start_rate_bpm"] == float(rate)


def test_fixed_outside_the_resonance_range_is_paced_with_a_note() -> None:
    low = runner.invoke(app, [*SIM, "--fixed", "--start-rate-bpm", "3", "--minutes", "1", "--json"])
    assert low.exit_code == 0, low.output
    data = json.loads(low.stdout)
    assert data["final_rate_bpm"] == 3.0
    assert "outside the usual adult resonance range 4.5-7/min" in data["rate_note"]
    assert "note: 3/min is outside" in low.stderr
    usual = runner.invoke(app, [*SIM, "--fixed", "--start-rate-bpm", "5", "--minutes", "1"])
    assert usual.exit_code == 0 and "note:" not in usual.output
    for rate in ("0", "2.9", "12.5"):  # the API's practice rate_bpm: 3-12
        bad = runner.invoke(app, [*SIM, "--fixed", "--start-rate-bpm", rate])
        assert bad.exit_code == 2 and "--start-rate-bpm" in bad.output
        assert "3-12" in bad.output


def test_fixed_counts_the_breaths_paced_and_has_no_rate_kept_count() -> None:
    result = runner.invoke(
        app, [*SIM, "--fixed", "--start-rate-bpm", "5", "--minutes", "4", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["breaths"] == 20  # 5/min for 4 min
    assert data["holds"] is None  # no adaptive decisions in a fixed session
    text = runner.invoke(app, [*SIM, "--fixed", "--start-rate-bpm", "5", "--minutes", "4"])
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("fixed pacing at 5.00/min for 4:00")
    assert "(20 breaths)" in text.stdout and "held" not in text.stdout


def test_adaptive_counts_breaths_and_the_breaths_the_rate_was_kept() -> None:
    result = runner.invoke(app, [*SIM, "--minutes", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    decisions = len(data["trace"]) - 1  # one per breath, 1.5 s after it ends
    assert decisions <= data["breaths"] <= decisions + 1
    kept = sum(
        a["rate_bpm"] == b["rate_bpm"]
        for a, b in zip(data["trace"], data["trace"][1:], strict=False)
    )
    assert data["holds"] >= 5 and data["holds"] <= kept  # the first 5 breaths only measure
    text = runner.invoke(app, [*SIM, "--minutes", "3"])
    assert f"({data['breaths']} breaths, rate kept at {data['holds']} of them)" in text.stdout


def test_one_breath_is_one_breath_in_the_summary() -> None:
    """Review: a 12-s practice said "(1 breaths, rate kept at 1 of them)". The real command in
    a subprocess; 6/min for 12 s is one whole breath."""
    for extra, said in (((), "(1 breath, rate not kept at it)"), (("--fixed",), "(1 breath)")):
        done = subprocess.run(
            [sys.executable, "-m", "api", *SIM, "--minutes", "0.2", *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert said in done.stdout, done.stdout
    for extra, said in (
        ((), r"\(2 breaths, rate kept at (none|2) of them\)"),
        (("--fixed",), r"\(2 breaths\)"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "api", *SIM, "--minutes", "0.4", *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert re.search(said, done.stdout), done.stdout


def _stage_lengths(*extra: str) -> tuple[list[float], list[float], dict[str, object]]:
    """Seconds from each 'breathe in' cue to the next 'breathe out', and out to in."""
    result = runner.invoke(app, [*SIM, "--fixed", "--minutes", "1", "--json", "--cue", *extra])
    assert result.exit_code == 0, result.output
    cues = [json.loads(x) for x in result.stderr.splitlines() if x.startswith('{"event": "cue"')]
    inhale: list[float] = []
    exhale: list[float] = []
    for a, b in itertools.pairwise(cues):
        (inhale if a["stage"] == "inhale" else exhale).append(b["t_s"] - a["t_s"])
    return inhale, exhale, json.loads(result.stdout)


def test_practice_breathes_4_6_by_default_as_the_api_and_the_page() -> None:
    from api.routes.breathing import PracticeIn

    inhale, exhale, data = _stage_lengths()
    assert len(inhale) >= 5 and len(exhale) >= 5
    # 6/min, 4:6: 4 s in, 6 s out (a cue comes with the first beat of its stage, ~1 s late)
    assert all(3.0 <= x <= 5.2 for x in inhale) and all(5.0 <= x <= 7.2 for x in exhale)
    assert sum(exhale) / len(exhale) - sum(inhale) / len(inhale) > 1.0
    assert data["inhale_to_exhale"] == round(PracticeIn.model_fields["inhale_to_exhale"].default, 4)
    inhale, exhale, data = _stage_lengths("--inhale-to-exhale", "1")
    assert abs(sum(exhale) / len(exhale) - sum(inhale) / len(inhale)) < 0.8  # 5 s : 5 s
    assert data["inhale_to_exhale"] == 1.0
    bad = runner.invoke(app, [*SIM, "--inhale-to-exhale", "5"])
    assert bad.exit_code == 2 and "'--inhale-to-exhale'" in bad.output and "0.25-4" in bad.output
