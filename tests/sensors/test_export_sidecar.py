"""The export reader reads when the session paced from the sidecar beside its beats table
(``ID.json``'s ``events.paced_runs`` into ``meta["paced_runs"]``), and a replay gives them on
its own timeline (``ReplaySource.paced_runs``). No sidecar, or one from before exports stated
them: unpaced, as before. A sidecar that cannot be used: a warning naming the file and the
field, and the beats are read all the same."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from api.research.segments import Segment, cut
from sensors import ReplaySource, read_recording
from sensors.formats.hrvpace import EXPORT_BEATS_HEADER, read_hrvpace, read_hrvpace_export

SID = "0123abcd"


def _beats(folder: Path, n: int = 400) -> Path:
    """An export's beats table of ``n`` beats of 1 s (t_s 1..n)."""
    lines = [",".join(EXPORT_BEATS_HEADER)]
    lines += [f"{i},{i + 1.0!r},1000.0,{1e9 + i!r},1,0,60.0" for i in range(n)]
    path = folder / f"{SID}-beats.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sidecar(folder: Path, doc: Any) -> Path:
    path = folder / f"{SID}.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def test_the_paced_runs_of_the_sidecar_are_read_and_replayed(tmp_path: Path) -> None:
    beats = _beats(tmp_path)
    _sidecar(
        tmp_path,
        {
            "session": {"id": SID, "n_beats": 400},
            "events": {"paced_runs": [[100.5, 250], [300, 320]]},
        },
    )
    rec = read_recording(beats)  # detected as the export's table, like analyze and replay
    assert rec.source_format == "hrvpace_export"
    assert rec.meta["paced_runs"] == [[100.5, 250.0], [300.0, 320.0]]
    assert ReplaySource(rec).paced_runs == ((100.5, 250.0), (300.0, 320.0))
    # a segment starts at 0: the runs move with its beats (replay --start 200)
    part = cut(rec, Segment("part", 200.0, None))
    start = part.start_s
    assert start == pytest.approx(200.0, abs=1.0)
    assert ReplaySource(part).paced_runs == (
        (100.5 - start, 250.0 - start),
        (300 - start, 320 - start),
    )


def test_without_a_sidecar_or_with_an_older_one_the_beats_are_unpaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    beats = _beats(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert "paced_runs" not in read_hrvpace_export(str(beats)).meta
        _sidecar(tmp_path, {"session": {"id": SID, "n_beats": 400}, "events": {"micro_breaks": []}})
        assert "paced_runs" not in read_hrvpace_export(str(beats)).meta
        _sidecar(tmp_path, {"session": {"id": SID, "n_beats": 400}, "events": {"paced_runs": None}})
        assert "paced_runs" not in read_hrvpace_export(str(beats)).meta
        _sidecar(tmp_path, {"session": {"id": SID, "n_beats": 400}, "events": {"paced_runs": []}})
        assert read_hrvpace_export(str(beats)).meta["paced_runs"] == []
    assert caplog.records == []
    assert ReplaySource(read_recording(beats)).paced_runs == ()


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "cannot be read"),
        ({"events": []}, "events is not a JSON object"),
        ({"events": {"paced_runs": "0-100"}}, "events.paced_runs is not a list"),
        ({"events": {"paced_runs": [[0, 100], [200]]}}, "events.paced_runs[1] is not"),
        ({"events": {"paced_runs": [[0, "100"]]}}, "events.paced_runs[0] is not"),
        ({"events": {"paced_runs": [[0, True]]}}, "events.paced_runs[0] is not"),
        ({"events": {"paced_runs": [[0, 1e300]]}}, "events.paced_runs[0] is not"),
        ({"events": {"paced_runs": [[0, 100], [300, 200]]}}, "events.paced_runs[1] ends before"),
        ({"session": {"id": "another"}, "events": {"paced_runs": [[0, 1]]}}, "session.id is"),
        # another export's sidecar renamed beside this table (or this table with beats added
        # or removed): the id matches the name, the beats do not
        (
            {"session": {"id": SID, "n_beats": 474}, "events": {"paced_runs": [[0, 1]]}},
            f"session.n_beats is 474, but the beats table {SID}-beats.csv has 400 beats",
        ),
        ({"session": {"id": SID}, "events": {"paced_runs": [[0, 1]]}}, "n_beats is missing"),
        (
            {"session": {"id": SID, "n_beats": "400"}, "events": {"paced_runs": [[0, 1]]}},
            "session.n_beats is '400'",
        ),
    ],
)
def test_a_sidecar_that_cannot_be_used_is_a_warning_naming_it_and_the_beats_are_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, doc: Any, says: str
) -> None:
    beats = _beats(tmp_path)
    sidecar = _sidecar(tmp_path, doc)
    with caplog.at_level(logging.WARNING):
        rec = read_hrvpace_export(str(beats))
    assert len(rec) == 400 and "paced_runs" not in rec.meta
    (record,) = caplog.records
    message = record.getMessage()
    assert str(sidecar) in message and says in message, message
    assert "read as unpaced" in message


def test_a_recordings_meta_line_cannot_claim_paced_runs(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "# hrvpace-recording v2\n"
        '# meta {"device": "x", "paced_runs": [[0, 100]]}\n'
        "t_s,rr_ms,arrived_at_unix_s,contact,gap_before,heart_rate_bpm\n"
        "1.0,1000.0,1.0,1,0,\n",
        encoding="utf-8",
    )
    rec = read_hrvpace(str(path))
    assert "paced_runs" not in rec.meta and rec.meta["device"] == "x"
    assert ReplaySource(rec).paced_runs == ()
