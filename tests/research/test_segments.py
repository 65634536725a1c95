"""Segments (issue 19 item 4): ``--start``/``--end`` and named phases on analyze, report, replay.

The real exercise recording (Polar HRM: ~5 min seated rest, ~30 min cycling, recovery) is cut
into its protocol phases; each phase is analysed apart and equals the HRV core run on that
stretch of beats, and rest differs from cycling the way physiology says it must.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hrv
from api.cli import app
from api.research.analysis import summarize
from api.research.segments import (
    Segment,
    SegmentError,
    cut,
    nominal_span,
    parse_time,
    read_segments,
    segment_bounds,
)
from hrv.frequency import FREQUENCY_FIELDS
from sensors import read_recording
from tests.research._tables import read_csv_with_units

runner = CliRunner()
EXERCISE = "hrvpkg_exercise_rri.hrm"
PHASES = "label,start,end\nrest,0,5:00\ncycling,5:00,35:00\nrecovery,35:00,42:41\n"


@pytest.fixture
def phases(tmp_path: Path) -> Path:
    p = tmp_path / "phases.csv"
    p.write_text(PHASES)
    return p


def test_parse_time() -> None:
    assert parse_time("300") == 300.0
    assert parse_time("90.5") == 90.5
    assert parse_time("05:00") == 300.0
    assert parse_time("1:02:30.5") == 3750.5
    for bad in ("", "-5", "1:75", "1:2:3:4", "abc", "nan", "1.5:00", "5:-1"):
        with pytest.raises(SegmentError, match="expected seconds"):
            parse_time(bad)


def test_read_segments(tmp_path: Path, phases: Path) -> None:
    segs = read_segments(phases)
    assert segs == [
        Segment("rest", 0.0, 300.0),
        Segment("cycling", 300.0, 2100.0),
        Segment("recovery", 2100.0, 2561.0),
    ]
    no_header = tmp_path / "n.csv"
    no_header.write_text("# phases\nrest,0,300\n\ntask,300,600\n")
    assert [s.label for s in read_segments(no_header)] == ["rest", "task"]
    for text, match in (
        ("rest,0,300\ntask,600,300\n", ":2: segment 'task' ends"),
        ("rest,0,300\nrest,300,600\n", ":2: the label 'rest' is used twice"),
        # labels that would write the same report file (report-rest_a.html), or files whose
        # names differ only in case (one file on a case-insensitive file system)
        ("rest/a,0,300\nrest_a,300,600\n", r":2: the label 'rest_a' and 'rest/a' \(line 1\)"),
        ("Rest,0,300\n# x\nrest,300,600\n", r":3: the label 'rest' and 'Rest' \(line 1\)"),
        ("rest,0\n", ":1: expected 'label,start,end'"),
        ("rest,0,5:xx\n", ":1: end '5:xx'"),
        # a form feed inside a label is not a line end: the error names the line an editor shows
        ("re\x0cst,0,300\ntask,600,300\n", ":2: segment 'task' ends"),
        ("label,start,end\n", "no segments"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(SegmentError, match=match):
            read_segments(bad)


def test_cut_keeps_whole_intervals_and_no_interval_twice(shared_data: Path, phases: Path) -> None:
    rec = read_recording(shared_data / EXERCISE)
    parts = [cut(rec, s) for s in read_segments(phases)]
    t_rel = rec.t_s - rec.start_s
    starts = [p.meta["segment_start_s"] for p in parts]
    ends = [p.meta["segment_end_s"] for p in parts]
    for p, a, b, seg in zip(parts, starts, ends, read_segments(phases), strict=True):
        assert seg.start_s is not None and seg.end_s is not None
        assert seg.start_s - 1e-6 <= a and b <= seg.end_s + 1e-6  # wholly inside
        assert p.t_s[0] - p.start_s == pytest.approx(p.rr_ms[0] / 1000.0)  # own clock
    # consecutive, disjoint: at most the one interval across each boundary is in neither
    n = sum(p.n_beats for p in parts)
    assert len(rec) - 2 - int(np.sum(t_rel > 2561.0)) <= n <= len(rec)
    assert all(ends[k] <= starts[k + 1] + 1e-9 for k in range(2))
    with pytest.raises(SegmentError, match=r"holds no RR interval: the recording lasts 2561\.79"):
        cut(rec, Segment("late", 3000.0, None))


def test_analyze_segments_each_apart(shared_data: Path, phases: Path) -> None:
    path = shared_data / EXERCISE
    res = runner.invoke(app, ["analyze", str(path), "--segments", str(phases), "--json"])
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["segment"] for o in objs] == ["rest", "cycling", "recovery"]
    rec = read_recording(path)
    for obj, seg in zip(objs, read_segments(phases), strict=True):
        part = cut(rec, seg)
        exp, _, _ = summarize(part.rr_ms, gaps=part.gaps, duration_s=part.duration_s)
        for key in ("n_beats", "duration_s", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2"):
            assert obj[key] == exp[key], (seg.label, key)
        assert obj["segment_start_s"] == part.meta["segment_start_s"]
    rest, cycling, _ = objs
    # physiology: heart rate up and vagal HRV down while cycling
    assert cycling["mean_hr_bpm"] > rest["mean_hr_bpm"] + 15
    assert cycling["rmssd_ms"] < rest["rmssd_ms"]
    # --start/--end: the same rule as a named segment
    res = runner.invoke(app, ["analyze", str(path), "--start", "0", "--end", "05:00", "--json"])
    one = json.loads(res.stdout)
    assert one["segment"] == "0-05:00" and one["rmssd_ms"] == rest["rmssd_ms"]
    # usage errors
    for args in (["--start", "10:00", "--end", "5:00"], ["--start", "1", "--segments", "x"]):
        assert runner.invoke(app, ["analyze", str(path), *args]).exit_code == 2


def test_report_per_segment(shared_data: Path, phases: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["report", str(shared_data / EXERCISE), "--out", str(out), "--segments", str(phases)]
    )
    assert res.exit_code == 0, res.output
    for label in ("rest", "cycling", "recovery"):
        html = (tmp_path / f"r-{label}.html").read_text()
        assert f"segment {label}" in html and "The segment after artefact correction" in html
    assert not out.exists()
    res = runner.invoke(
        app, ["report", str(shared_data / EXERCISE), "--out", str(out), "--end", "5:00"]
    )
    assert res.exit_code == 0, res.output
    assert "0 s - 299.558 s of the recording" in out.read_text()
    res = runner.invoke(
        app, ["report", str(shared_data / EXERCISE), "--out", str(tmp_path / "no" / "r.html")]
    )
    assert res.exit_code == 2 and "no such folder" in res.stderr


def test_replay_a_segment(shared_data: Path) -> None:
    path = shared_data / EXERCISE
    res = runner.invoke(app, ["replay", str(path), "--start", "5:00", "--end", "10:00", "--json"])
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.stdout.splitlines()]
    end = events[-1]
    part = cut(read_recording(path), Segment("s", 300.0, 600.0))
    assert end["type"] == "replay_end" and end["n_beats"] == part.n_beats
    assert end["t_s"] == pytest.approx(part.duration_s, abs=1e-6)  # from the segment's start
    metrics = [e for e in events if e["type"] == "metrics"]
    assert metrics and max(e["t_s"] for e in metrics) <= part.duration_s + 1e-6


def test_report_segment_shifts_events_to_its_clock(shared_data: Path) -> None:
    from dataclasses import replace

    from api.research.report import from_recording, segment_data

    rec = read_recording(shared_data / "hrvpkg_rest_rri_ms.txt")
    data = replace(
        from_recording(rec, path=str(shared_data / "hrvpkg_rest_rri_ms.txt")),
        events=[{"kind": "micro_break", "t_s": 420.0, "data": {}}],
        checkins=[{"t_s": 100.0, "stress": 3, "energy": 3, "note": ""}],
    )
    part = segment_data(data, Segment("s", 400.0, 900.0))
    t0 = float(part.provenance["segment"].split(": ")[1].split(" s")[0])
    assert 400.0 <= t0 < 402.0 and part.t_s[0] == pytest.approx(part.rr_ms[0] / 1000.0)
    assert [e["t_s"] for e in part.events] == [pytest.approx(420.0 - t0)]
    assert part.checkins == []  # 100 s is before the segment
    assert part.t_s[-1] <= 900.0 - t0 + 1e-9


def test_a_segment_past_the_end_is_analysed_shorter_with_a_warning(
    shared_data: Path, tmp_path: Path
) -> None:
    """``late,40:00,50:00`` of the 42:41 exercise recording (review: 161.7 s, no word): analyze
    and report analyse what the recording holds and say on stderr which segment, the span
    asked and the span analysed; the report's data table names it too. A segment inside the
    recording gets no warning."""
    path = shared_data / EXERCISE
    segs = tmp_path / "s.csv"
    segs.write_text("early,0,5:00\nlate,40:00,50:00\n")
    res = runner.invoke(app, ["analyze", str(path), "--segments", str(segs), "--json"])
    assert res.exit_code == 0, res.output
    by = {o["segment"]: o for o in (json.loads(x) for x in res.stdout.splitlines())}
    late = by["late"]
    got = late["segment_end_s"] - late["segment_start_s"]
    assert 150.0 < got < 170.0
    warnings = [x for x in res.stderr.splitlines() if "warning:" in x and "past" in x]
    assert len(warnings) == 1 and "segment 'late' (2400 s - 3000 s)" in warnings[0]
    assert f"{got:.6g} s of the 600 s asked" in warnings[0]
    assert "'early'" not in res.stderr
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["report", str(path), "--segments", str(segs), "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert "segment 'late' (2400 s - 3000 s) runs past the recording's end" in res.stderr
    assert "'early'" not in res.stderr
    assert "runs past the recording" in (tmp_path / "r-late.html").read_text()
    assert "runs past the recording" not in (tmp_path / "r-early.html").read_text()


def test_report_goes_on_past_a_segment_holding_no_interval(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review: report --segments stopped at the first segment holding no RR interval (one
    beyond the recording's end, one shorter than a beat): the later segments got no report.
    As analyze, report now names each on stderr, writes the others, skips the one beyond the
    end (exit 0) and fails the other (exit 1)."""
    pytest.importorskip("matplotlib")
    path = shared_data / "hrvpkg_rest_rri_ms.txt"  # 963 s
    segs = tmp_path / "s.csv"
    segs.write_text("label,start,end\nlate,2000,2300\nblink,100,100.2\nafter,120,180\n")
    out = tmp_path / "r.html"
    args = ["report", str(path), "--segments", str(segs), "--out", str(out), "--quiet"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert (
        f"{path}: segment late: skipped: beyond the recording's end (963.434 s) "
        "(no report written for it)"
    ) in res.stderr
    assert f"{path}: segment 'blink' (100 s - 100.2 s) holds no RR interval" in res.stderr
    assert "1 of 3 segment(s) reported, 1 failed, 1 skipped beyond" in res.stderr
    assert res.stdout.split() == [str(tmp_path / "r-after.html"), str(tmp_path / "r-after.pdf")]
    assert not (tmp_path / "r-late.html").exists() and not (tmp_path / "r-blink.html").exists()
    # only skipped beyond the end: not a failure, as analyze
    segs.write_text("label,start,end\nlate,2000,2300\nafter,120,180\n")
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "1 of 2 segment(s) reported, 0 failed, 1 skipped beyond" in res.stderr
    # every segment beyond the end: nothing written, exit 1; --start alone fails as before
    segs.write_text("label,start,end\nlate,2000,2300\n")
    assert runner.invoke(app, args).exit_code == 1
    res = runner.invoke(app, [*args[:2], "--start", "2000", "--out", str(out), "--quiet"])
    assert res.exit_code == 1 and "holds no RR interval: the recording lasts" in res.stderr


def test_a_failed_segment_keeps_its_label_in_the_summary_and_the_json(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review finding: ``late,5000,6000`` of a 2561-s recording failed with an empty
    ``segment`` cell in the --summary table: which segment failed was not said there."""
    path = shared_data / EXERCISE
    segs = tmp_path / "s.csv"
    segs.write_text("early,0,5:00\nlate,5000,6000\n")
    summary = tmp_path / "sum.csv"
    res = runner.invoke(
        app, ["analyze", str(path), "--segments", str(segs), "--summary", str(summary), "--json"]
    )
    # beyond the recording's end: skipped, not failed (review res c2 item 8), still labelled
    assert res.exit_code == 0, res.output
    objs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [o["segment"] for o in objs] == ["early", "late"]
    assert "skipped" in objs[1] and "error" not in objs[0]
    rows, _ = read_csv_with_units(summary)
    assert [(r["segment"], bool(r["error"])) for r in rows] == [("early", False), ("late", True)]
    assert rows[1]["error"].startswith("skipped: beyond the recording's end")


def test_a_files_meta_line_cannot_make_a_whole_recording_a_segment(tmp_path: Path) -> None:
    """Review: ``segment``, ``segment_start_s``, ``segment_end_s``, ``segment_past_end`` and
    ``dropped_zero_lines`` in an hrvpace file's ``# meta`` line reached the summary: a
    whole-recording analysis reported segment 'baseline' 100-400 s, zeros 'left out' that were
    not, and a past-the-end warning. A real cut still sets them."""
    meta = {
        "device": "x",
        "segment": "baseline",
        "segment_start_s": 100,
        "segment_end_s": 400,
        "segment_past_end": "segment 'baseline' ends past the recording",
        "dropped_zero_lines": [3, 4],
    }
    rows = "".join(f"{0.8 * (i + 1)!r},800.0,{1000.0 + i},1,0,75\n" for i in range(40))
    path = tmp_path / "rec.csv"
    path.write_text(
        "# hrvpace-recording v2\n# meta " + json.dumps(meta) + "\n"
        "t_s,rr_ms,arrived_at_unix_s,contact,gap_before,heart_rate_bpm\n" + rows
    )
    res = runner.invoke(app, ["analyze", str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["segment"] is None and out["segment_start_s"] is None
    assert out["segment_end_s"] is None
    assert "left out" not in out["read_as"]
    assert "warning" not in res.stderr
    rec = read_recording(path)
    assert rec.meta["device"] == "x"
    part = cut(rec, Segment("first", 0.0, 10.0))
    assert part.meta["segment"] == "first" and part.meta["segment_start_s"] == 0.0
    assert part.meta["segment_past_end"] is None


REST = "hrvpkg_rest_rri_ms.txt"


def _five_minute_segments(tmp_path: Path) -> Path:
    seg = tmp_path / "seg.csv"
    seg.write_text("rest,0,5:00\nmid,5:00,10:00\n")
    return seg


def test_report_goes_on_past_a_segment_whose_report_cannot_be_written(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review: with --segments a write failure on one segment's report ended the run: the later
    segments were never tried, and the reports already written (on disk) were not listed on
    stdout, nor the count line printed. Now that segment is named on stderr and counted failed,
    the others are written and listed, exit 1."""
    pytest.importorskip("matplotlib")
    path = shared_data / "hrvpkg_rest_rri_ms.txt"
    segs = tmp_path / "s.csv"
    segs.write_text("label,start,end\na,0,60\nb,60,120\nc,120,180\n")
    (tmp_path / "r-b.pdf").mkdir()
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["report", str(path), "--segments", str(segs), "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 1, res.output
    assert res.stdout.split() == [
        str(tmp_path / f"r-{x}") for x in ("a.html", "a.pdf", "c.html", "c.pdf")
    ]
    assert res.stderr.splitlines() == [
        f"hrvpace report: {path}: segment b: cannot write {tmp_path / 'r-b.pdf'}: "
        "a folder is at the file's name (no report written for it)",
        "hrvpace report: 2 of 3 segment(s) reported, 1 failed",
    ]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["r-a.html", "r-a.pdf", "r-b.pdf", "r-c.html", "r-c.pdf", "s.csv"]


def test_a_five_minute_segment_reports_vlf_as_its_300_s_window_does(tmp_path: Path) -> None:
    """Review finding: a 5-min segment keeps only whole intervals (~299.5 s), so the 300-s VLF
    rule left ``vlf_ms2`` empty for THE standard short-term protocol (Task Force 1996). Its
    beats reach both bounds, so it stands for its nominal 300 s, as a 300-s window of
    hrv.rolling does. Known answer: a recording starting at 0 s, whose 0-5:00 segment holds
    exactly the beats of hrv.rolling's first 300-s window, so every frequency value of the
    segment (--no-clean) equals that window's."""
    n = 700
    k = np.arange(n)
    rr = 1003.0 + 40.0 * np.sin(2 * np.pi * 0.1 * k) + 15.0 * np.sin(2 * np.pi * 0.021 * k)
    rr = np.round(rr, 3)
    path = tmp_path / "synthetic_rr_ms.txt"
    path.write_text("\n".join(f"{x:.3f}" for x in rr) + "\n")
    res = runner.invoke(
        app,
        [
            "analyze",
            str(path),
            "--segments",
            str(_five_minute_segments(tmp_path)),
            "--json",
            "--no-clean",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    rest, mid = (json.loads(line) for line in res.stdout.splitlines())
    assert rest["duration_s"] < 300.0 and mid["duration_s"] < 300.0  # whole intervals only
    window = hrv.rolling(rr, window_s=300.0, step_s=10.0)
    assert window["t_s"][0] == 300.0
    for name in FREQUENCY_FIELDS:
        assert rest[name] == pytest.approx(float(window[name][0]), rel=1e-9), name
    assert rest["vlf_ms2"] is not None and mid["vlf_ms2"] is not None
    # the mid segment: the span its beats stand for is 300 s, the values those of its beats
    part = cut(read_recording(path), Segment("mid", 300.0, 600.0))
    assert part.meta["segment_nominal_s"] == 300.0
    exp = hrv.frequency_domain(part.rr_ms, span_s=300.0)
    assert mid["vlf_ms2"] == pytest.approx(exp.vlf_ms2, rel=1e-12)


def test_the_reviewers_five_minute_segments_of_the_rest_recording(
    shared_data: Path, tmp_path: Path
) -> None:
    """The reviewer's case: rest,0,5:00 and mid,5:00,10:00 of the rest recording cover
    299.476 s and 298.612 s of whole intervals; both report VLF now."""
    res = runner.invoke(
        app,
        [
            "analyze",
            str(shared_data / REST),
            "--segments",
            str(_five_minute_segments(tmp_path)),
            "--json",
            "-q",
            "--windows",
            str(tmp_path / "w.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    rest, mid = (json.loads(line) for line in res.stdout.splitlines())
    # no 300-s window fits 299.476 s of intervals: the warning says why and where to look
    said = [x for x in res.stderr.splitlines() if "no --windows row" in x]
    assert len(said) == 2 and all("wholly inside it" in x for x in said)
    assert read_csv_with_units(tmp_path / "w.csv")[0] == []
    assert rest["duration_s"] == pytest.approx(299.476)
    assert mid["duration_s"] == pytest.approx(298.612)
    for obj in (rest, mid):
        assert obj["vlf_ms2"] is not None and obj["vlf_ms2"] > 0, obj["segment"]
        assert obj["lf_ms2"] is not None


def test_nominal_span_needs_the_beats_to_reach_both_bounds() -> None:
    """A segment stands for end - start only when at most the straddling interval is missing
    at each end and nothing inside: a gap inside, a hole at a bound, or a segment past the
    recording's end keeps the span of its beats (VLF then needs 300 s of them)."""
    rr = np.full(400, 1003.0)
    t = np.cumsum(rr) / 1000.0
    gaps = np.zeros(rr.size, dtype=bool)
    seg = Segment("rest", 10.0, 310.0)
    bounds = segment_bounds(t, rr, seg)
    assert nominal_span(t, rr, gaps, bounds, seg) == 300.0
    inside = gaps.copy()
    inside[bounds[0] + 50] = True
    assert nominal_span(t, rr, inside, bounds, seg) is None
    # a gap at the first kept beat: the interval before it does not follow, so what is
    # missing between the bound and the first interval (0.03 s here) is not known to be less
    # than one interval
    at_bound = gaps.copy()
    at_bound[bounds[0]] = True
    assert t[bounds[0]] - rr[bounds[0]] / 1000.0 - 10.0 > 0.01
    assert nominal_span(t, rr, at_bound, bounds, seg) is None
    at_end = gaps.copy()
    at_end[bounds[1]] = True
    assert nominal_span(t, rr, at_end, bounds, seg) is None
    late = Segment("late", 200.0, 500.0)  # the recording ends at 401.2 s
    assert nominal_span(t, rr, gaps, segment_bounds(t, rr, late), late) is None
    # open bounds are the recording's own start and end
    head = Segment("head", None, 300.0)
    assert nominal_span(t, rr, gaps, segment_bounds(t, rr, head), head) == 300.0


def test_a_dropout_straddling_a_bound_is_not_claimed_as_analysed_time(tmp_path: Path) -> None:
    """Code review: a plain file with a dropout stored as one 60-s RR straddling each bound
    of ``--start 1:00 --end 6:00`` kept 180.2 s of intervals yet stood for 300 s, and
    reported VLF. A straddling interval counts only when it is an ordinary beat (at most
    hrv.RR_RANGE_MS's 2000 ms), so at most one beat is missing at a bound."""
    k = np.arange(800)
    beats = np.round(800.0 + 30.0 * np.sin(2 * np.pi * 0.1 * k) + 10 * np.sin(0.13 * k), 3)
    rr = [*beats[:74], 60000.0, *beats[74:300], 60000.0, *beats[300:400]]
    t = np.cumsum(rr) / 1000.0
    long_at = [i for i, x in enumerate(rr) if x == 60000.0]
    for i, bound in zip(long_at, (60.0, 360.0), strict=True):
        assert t[i] - 60.0 < bound < t[i]  # each dropout straddles a bound
    path = tmp_path / "dropout_rr_ms.txt"
    path.write_text("\n".join(f"{x:.3f}" for x in rr) + "\n")
    args = ["analyze", str(path), "--start", "1:00", "--end", "6:00", "--json", "-q"]
    res = runner.invoke(app, [*args, "--no-clean"])
    assert res.exit_code == 0, res.output
    (obj,) = (json.loads(line) for line in res.stdout.splitlines())
    assert obj["duration_s"] < 200.0
    assert obj["vlf_ms2"] is None and obj["lf_ms2"] is not None
    # a 2000-ms straddling interval is still an ordinary beat; 2001 ms is not
    for longest, expect in ((2000.0, 300.0), (2001.0, None)):
        r = np.full(400, 800.0)
        r[20] = longest
        tt = np.cumsum(r) / 1000.0
        seg = Segment("s", float(tt[20] - 1.0), float(tt[20] - 1.0) + 300.0)
        bounds = segment_bounds(tt, r, seg)
        assert bounds[0] == 21
        got = nominal_span(tt, r, np.zeros(r.size, dtype=bool), bounds, seg)
        assert got == (None if expect is None else pytest.approx(expect)), longest


def test_five_minutes_as_a_file_and_as_a_segment_give_one_vlf(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review (res c2 item 2): the same 284 beats (299.476 s) gave ``vlf_ms2: null`` as a file
    of their own but 112.575 as the ``rest,0,5:00`` segment of the whole recording. One rule
    now: beats that would fill 300 s but for part of one interval stand for 5 min, so both
    report VLF, the same value, and ``total_ms2`` is the 0.0033-0.4 Hz power either way."""
    rr = np.loadtxt(shared_data / REST)
    five = tmp_path / "five_min.txt"
    np.savetxt(five, rr[np.cumsum(rr) <= 300000.0], fmt="%g")
    seg = tmp_path / "r5.csv"
    seg.write_text("label,start,end\nrest,0,5:00\n")
    as_file = runner.invoke(app, ["analyze", str(five), "--json", "-q"])
    as_seg = runner.invoke(
        app, ["analyze", str(shared_data / REST), "--segments", str(seg), "--json", "-q"]
    )
    assert as_file.exit_code == 0 and as_seg.exit_code == 0, as_file.output + as_seg.output
    f = json.loads(as_file.stdout.splitlines()[0])
    s = json.loads(as_seg.stdout.splitlines()[0])
    assert f["n_beats"] == s["n_beats"] == 284
    assert f["duration_s"] == pytest.approx(299.476)
    assert f["vlf_ms2"] is not None
    for name in ("vlf_ms2", "lf_ms2", "hf_ms2", "total_ms2"):
        assert f[name] == pytest.approx(s[name], rel=1e-9), name
    assert f["total_ms2"] == pytest.approx(f["vlf_ms2"] + f["lf_ms2"] + f["hf_ms2"], rel=1e-9)
    # a minute less is no 5-min recording: VLF withheld, total still holds its power
    four = tmp_path / "four_min.txt"
    np.savetxt(four, rr[np.cumsum(rr) <= 240000.0], fmt="%g")
    res = runner.invoke(app, ["analyze", str(four), "--json", "-q"])
    g = json.loads(res.stdout.splitlines()[0])
    assert g["vlf_ms2"] is None
    assert g["total_ms2"] > g["lf_ms2"] + g["hf_ms2"]


def test_vlf_span_of_beats_alone_allows_one_interval() -> None:
    """hrv.frequency_domain without span_s: N intervals summing to 300 s less part of one
    report VLF; a whole interval more missing does not."""
    rng = np.random.default_rng(5)
    rr = 1000.0 + 30.0 * rng.standard_normal(400)
    t = np.cumsum(rr)
    just = rr[t <= 300000.0]
    assert 299000.0 < just.sum() < 300000.0
    assert hrv.frequency_domain(just).vlf_ms2 is not None
    short = just[: np.searchsorted(np.cumsum(just), 298000.0)]
    assert hrv.frequency_domain(short).vlf_ms2 is None


def test_a_segment_beyond_the_recordings_end_is_skipped_not_failed(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review (res c2 item 8): a phases file's segments past a shorter recording's end counted
    as failed recordings ('270 of 288 recording(s) analysed, 18 failed', exit 1). Such a
    segment is skipped, said so with the recording's length; the count speaks of segments and
    a run whose only misses are such segments exits 0."""
    seg = tmp_path / "late.csv"
    seg.write_text("label,start,end\nrest,0,5:00\nlate,45:00,50:00\n")
    summary = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        [
            "analyze",
            str(shared_data / EXERCISE),
            "--segments",
            str(seg),
            "--json",
            "-q",
            "--summary",
            str(summary),
        ],
    )
    assert res.exit_code == 0, res.output
    rest, late = (json.loads(line) for line in res.stdout.splitlines())
    assert rest["segment"] == "rest" and rest["rmssd_ms"] is not None
    assert late["segment"] == "late" and "error" not in late
    assert late["skipped"] == "beyond the recording's end (2561.79 s)"
    path = shared_data / EXERCISE
    assert (
        f"hrvpace analyze: {path} [late]: segment skipped: beyond the recording's end "
        "(2561.79 s) (skipped)"
    ) in res.stderr
    assert "(failed)" not in res.stderr
    assert (
        "1 of 2 segment(s) of 1 recording(s) analysed, 0 failed, 1 skipped beyond the "
        "recording's end"
    ) in res.stderr
    rows, _ = read_csv_with_units(summary)
    assert rows[1]["segment"] == "late"
    assert rows[1]["error"] == "skipped: beyond the recording's end (2561.79 s)"


def test_results_say_the_files_clock_and_the_bounds_asked(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review (res c2 item 4): times count from the first beat, not the file's clock (a
    PhysioNet record's first line), unsaid, so annotation times landed 226 s off; and
    ``segment_start_s``/``segment_end_s`` were the kept beats with float noise
    (300.39399999999995), without the bounds asked for. Each result now names the file's
    clock at its start (``clock_start_s``), the bounds asked (``segment_from_s``,
    ``segment_to_s``) and the kept ones to the microsecond."""
    nsr = shared_data / "nsr2db_nsr001_rr_secs.txt"
    first_line = float(nsr.read_text().split()[0])
    seg = tmp_path / "s.csv"
    seg.write_text("label,start,end\nmid,5:00,10:00\n")
    for path in (nsr, shared_data / REST):
        res = runner.invoke(app, ["analyze", str(path), "--segments", str(seg), "--json", "-q"])
        assert res.exit_code == 0, res.output
        obj = json.loads(res.stdout.splitlines()[0])
        assert (obj["segment_from_s"], obj["segment_to_s"]) == (300.0, 600.0)
        for key in ("segment_start_s", "segment_end_s"):
            assert obj[key] == round(obj[key], 6), (key, obj[key])
        if path == nsr:
            assert obj["clock_start_s"] == pytest.approx(first_line, abs=1e-6)
            assert first_line > 200.0
        else:
            assert obj["clock_start_s"] == 0.0
            assert obj["segment_start_s"] == 300.461  # not 300.46099999999996
    whole = runner.invoke(app, ["analyze", str(nsr), "--json", "-q"])
    obj = json.loads(whole.stdout.splitlines()[0])
    assert obj["segment_from_s"] is None and obj["clock_start_s"] == pytest.approx(first_line)


def test_a_file_that_cannot_be_read_fails_once_not_once_per_segment(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review (res c3 item 2): with --segments a file that cannot be read failed once per
    segment, the same error N times ('... (segment rest) (failed)', '... (segment task)
    (failed)', ...). It fails once, in one row naming the file and the problem (no segment:
    the file failed, not a segment); the other files go on with every segment."""
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\nworld\n")
    missing = tmp_path / "missing.txt"
    good = shared_data / "hrvpkg_rest_rri_ms.txt"
    segs = tmp_path / "s.csv"
    segs.write_text("rest,0,60\ntask,60,120\nlate,120,180\n")
    summary = tmp_path / "sum.csv"
    res = runner.invoke(
        app,
        [
            "analyze",
            *map(str, (bad, missing, good)),
            "--segments",
            str(segs),
            "--json",
            "-q",
            "--jobs",
            "1",
            "--summary",
            str(summary),
        ],
    )
    assert res.exit_code == 1, res.output
    objs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [(o["path"], o.get("segment")) for o in objs] == [
        (str(bad), None),
        (str(missing), None),
        (str(good), "rest"),
        (str(good), "task"),
        (str(good), "late"),
    ]
    assert "segment" not in objs[0] and objs[0]["error"].startswith(f"{bad}:1: 'hello'")
    assert objs[1]["error"] == f"{missing}: cannot read the file (No such file or directory)"
    assert all(o["rmssd_ms"] is not None for o in objs[2:])
    said = [line for line in res.stderr.splitlines() if line.endswith("(failed)")]
    assert len(said) == 2 and "(segment" not in res.stderr
    assert (
        said[1]
        == f"hrvpace analyze: {missing}: cannot read the file (No such file or directory) (failed)"
    )
    assert (
        "3 of 3 segment(s) of 1 recording(s) analysed, 0 failed; 2 other recording(s) failed "
        "before any segment was cut"
    ) in res.stderr
    rows, _ = read_csv_with_units(summary)
    assert [(r["path"], r["segment"], bool(r["error"])) for r in rows] == [
        (str(bad), "", True),
        (str(missing), "", True),
        (str(good), "rest", False),
        (str(good), "task", False),
        (str(good), "late", False),
    ]
    # rev3 F4: when every file failed before the cut, the count line has no "0 of 0 ... other"
    res = runner.invoke(app, ["analyze", str(bad), str(missing), "--segments", str(segs), "-q"])
    assert res.exit_code == 1, res.output
    last = res.stderr.splitlines()[-1]
    assert last == (
        "hrvpace analyze: no segment analysed: 2 recording(s) failed before any segment was cut"
    ), res.stderr
