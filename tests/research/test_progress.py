"""Progress bars (issue 19 item 8): on stderr when it is a terminal, never with ``--quiet`` or
when not a terminal; stdout (``--json``) stays clean either way.

``TTY_COMPATIBLE=1`` is rich's documented switch that makes it treat the output as a terminal
(the test runner's captured streams are not one).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
FILE = "hrvpkg_rest_rri_ms.txt"


def test_analyze_bar_on_a_terminal_only(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["analyze", str(shared_data / FILE), "--json"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0 and "analysing" not in plain.stderr  # not a terminal
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0 and "analysing" in shown.stderr
    assert json.loads(shown.stdout)["n_beats"] == 910  # stdout untouched
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0 and "analysing" not in quiet.stderr


def test_report_bar_on_a_terminal_only(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    args = ["report", str(shared_data / FILE), "--out", str(tmp_path / "r.html")]
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    # the first and the last state are always drawn (the steps between at 10 Hz)
    assert "reading" in shown.stderr and "PDF" in shown.stderr
    quiet = runner.invoke(app, [*args, "-q"])
    assert quiet.exit_code == 0 and "reading" not in quiet.stderr
