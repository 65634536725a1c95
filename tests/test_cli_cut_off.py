"""An hrvpace recording cut off mid-line (a recorder killed, a copy or download interrupted).

The reader drops a last line without its newline: ``analyze`` (``read_as``) and ``replay``
(stderr) say so instead of dropping it silently, and a file cut before its column header says it
looks cut off rather than "missing column header". The real commands in subprocesses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sensors import Beat, RecordingWriter

NOTE = "last line incomplete (file cut off?), ignored"


def _hrvpace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *args], capture_output=True, text=True, timeout=120
    )


def _recording(path: Path, n: int = 200) -> Path:
    with RecordingWriter(path, meta={"device": "test"}) as writer:
        t = 0.0
        for k in range(n):
            rr = 800.0 + 40.0 * (k % 3)
            t += rr / 1000.0
            writer.write(Beat(t_s=t, rr_ms=rr, arrived_at=t, contact=True, gap_before=False))
    return path


def test_a_last_line_cut_short_is_said_by_analyze_and_replay(tmp_path: Path) -> None:
    path = _recording(tmp_path / "rec.csv")
    text = path.read_text()
    path.write_text(text[: len(text) - 12])  # the last beat's line, cut
    analysed = _hrvpace("analyze", str(path), "--json")
    assert analysed.returncode == 0, analysed.stderr
    summary = json.loads(analysed.stdout.splitlines()[0])
    assert summary["n_beats"] == 199
    assert summary["read_as"].endswith(f"; {NOTE}")
    replayed = _hrvpace("replay", str(path), "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stderr == f"hrvpace replay: {path}: {NOTE}\n"
    assert json.loads(replayed.stdout.splitlines()[-1])["n_beats"] == 199
    whole = _recording(tmp_path / "whole.csv")  # a whole file: no note
    assert _hrvpace("replay", str(whole)).stderr == ""
    assert NOTE not in _hrvpace("analyze", str(whole), "--json").stdout


def test_a_file_cut_before_its_column_header_says_it_looks_cut_off(tmp_path: Path) -> None:
    path = _recording(tmp_path / "rec.csv")
    text = path.read_text()
    path.write_text(text[: text.index("# meta") + 20])  # cut inside the meta line
    for command in ("analyze", "replay"):
        done = _hrvpace(command, str(path))
        assert done.returncode == 1, done.stderr
        assert "before its column header: it looks cut off" in done.stderr, done.stderr
        assert "missing column header" not in done.stderr
        # said once: replay also said "last line incomplete ..., ignored" of it
        assert NOTE not in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr  # replay: the reason alone


def test_a_file_cut_in_its_first_beat_says_so_with_no_beats(tmp_path: Path) -> None:
    path = _recording(tmp_path / "rec.csv", n=1)
    path.write_text(path.read_text()[:-10])
    done = _hrvpace("analyze", str(path))
    assert done.returncode == 1
    assert f"the recording has no beats ({NOTE})" in done.stderr, done.stderr
