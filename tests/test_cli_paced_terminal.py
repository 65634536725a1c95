"""What ``assess``/``practice`` show in the terminal (review finding 4): a breathing cue line at
each change of the breath (``--cue``, default on a terminal) and, with ``--device``, the
source's connection states (tests/sensors/test_ble.py drives those against the emulated BlueZ).
"""

from __future__ import annotations

import itertools
import json

from typer.testing import CliRunner

from api.cli import app

PRACTICE = ("practice", "--simulate", "--speed", "max", "--minutes", "1", "--fixed")


def test_cue_lines_alternate_in_and_out_at_the_pacers_rate() -> None:
    result = CliRunner().invoke(app, [*PRACTICE, "--cue"])
    assert result.exit_code == 0, result.stderr
    cues = [line for line in result.stdout.splitlines() if "breathe" in line]
    words = [line.split("  ")[1] for line in cues]
    # 6 breaths/min for a minute: about 6 in and 6 out, strictly alternating
    assert 11 <= len(words) <= 13, cues
    assert all(a != b for a, b in itertools.pairwise(words))
    assert set(words) == {"breathe in", "breathe out"}
    assert all(line.endswith("(6.0/min)") for line in cues)
    # the stage changes every 5 s of session time (a cue comes with the first beat after it)
    starts = [int(c.split()[0].split(":")[0]) * 60 + int(c.split()[0].split(":")[1]) for c in cues]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(3 <= g <= 7 for g in gaps), gaps


def test_no_cue_off_a_terminal_and_json_cues_go_to_stderr() -> None:
    plain = CliRunner().invoke(app, list(PRACTICE))  # CliRunner's stdout is not a terminal
    assert plain.exit_code == 0 and "breathe" not in plain.stdout
    as_json = CliRunner().invoke(app, [*PRACTICE, "--json", "--cue"])
    assert as_json.exit_code == 0, as_json.stderr
    json.loads(as_json.stdout)  # stdout stays the one result
    events = [json.loads(line) for line in as_json.stderr.splitlines() if line.startswith("{")]
    cues = [e for e in events if e["event"] == "cue"]
    assert len(cues) >= 11 and {e["stage"] for e in cues} == {"inhale", "exhale"}
