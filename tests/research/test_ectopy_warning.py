"""The frequent-ectopy warning end to end: ``hrvpace analyze`` (line, stderr, JSON, CSV,
segments) and ``hrvpace report`` on MIT-BIH 119 (bigeminy) and on a healthy rest recording.

The 5-min excerpt ``tests/data/mitdb119x`` (provenance in tests/data/README.md) holds 73
premature ventricular beats in 326 (cardiologists' labels); hrv.clean changes 6.8 % of its
intervals and leaves an RMSSD of about 455 ms where the normal-to-normal RMSSD of the whole
record is 34.5 ms (docs/mitdb_validation.md). The warning must say so; on the rest recording it
must stay silent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hrv
from api.cli import app
from tests.hrv.test_clean_mitdb import FS_HZ, load_record
from tests.research._tables import read_csv_with_units

runner = CliRunner()

DATA = Path(__file__).resolve().parent.parent / "data"
MITDB_119 = DATA / "mitdb119x.hea"
NEW_COLUMNS = ("ectopy_warning", "irregular_steps_pct", "ectopy_reason")


def _json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_analyze_warns_on_the_bigeminy_excerpt(tmp_path: Path) -> None:
    summary = tmp_path / "s.csv"
    res = runner.invoke(
        app, ["analyze", str(MITDB_119), "--format", "wfdb", "--quiet", "--summary", str(summary)]
    )
    assert res.exit_code == 0, res.output
    assert "WARNING: frequent ectopy" in res.stdout
    assert "corrected_pct=" in res.stdout  # the existing fields stay
    assert "warning: 1 recording(s) with frequent ectopy" in res.stderr
    assert "corrected HRV unreliable" in res.stderr
    obj = _json_lines(
        runner.invoke(app, ["analyze", str(MITDB_119), "--format", "wfdb", "--json"]).stdout
    )[0]
    assert obj["ectopy_warning"] is True
    assert isinstance(obj["irregular_steps_pct"], float) and obj["irregular_steps_pct"] > 30.0
    assert isinstance(obj["ectopy_reason"], str) and "limit 8 %" in obj["ectopy_reason"]
    # the number a researcher would have cited, and the share that did not warn them
    assert isinstance(obj["rmssd_ms"], float) and obj["rmssd_ms"] > 300.0
    assert isinstance(obj["corrected_pct"], float) and obj["corrected_pct"] < 10.0
    rows, header = read_csv_with_units(summary)
    assert header["ectopy_warning"] == "bool" and header["irregular_steps_pct"] == "%"
    assert header["corrected_pct"] == "%"
    assert rows[0]["ectopy_warning"] == "1"
    assert rows[0]["ectopy_reason"] == obj["ectopy_reason"]


def test_analyze_is_silent_on_a_healthy_recording(shared_data: Path) -> None:
    rest = shared_data / "hrvpkg_rest_rri_ms.txt"
    res = runner.invoke(app, ["analyze", str(rest), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "WARNING" not in res.stdout and "ectopy" not in res.stderr
    assert "irregular_steps_pct=0.11" in res.stdout
    obj = _json_lines(runner.invoke(app, ["analyze", str(rest), "--json"]).stdout)[0]
    assert obj["ectopy_warning"] is False and obj["ectopy_reason"] is None
    rec_rr = np.loadtxt(rest)
    c = hrv.clean(rec_rr)
    assert obj["irregular_steps_pct"] == hrv.ectopy_check(c.rr_ms, gaps=c.gaps).irregular_pct


def test_no_clean_says_the_raw_series_was_checked() -> None:
    """With --no-clean the check runs on the RR as recorded: neither the reason nor the stderr
    notice may say "after correction"."""
    res = runner.invoke(
        app, ["analyze", str(MITDB_119), "--format", "wfdb", "--no-clean", "--json"]
    )
    assert res.exit_code == 0, res.output
    obj = _json_lines(res.stdout)[0]
    assert obj["ectopy_warning"] is True and obj["correction"] is None
    reason = obj["ectopy_reason"]
    assert isinstance(reason, str) and "in the uncorrected series" in reason
    assert "after correction" not in reason and "corrected HRV" not in reason
    assert "in the uncorrected RR" in res.stderr and "after correction" not in res.stderr


def test_segments_are_warned_apart(shared_data: Path, tmp_path: Path) -> None:
    """Five minutes of the healthy rest recording, then the first five minutes of MIT-BIH 119
    (RR from the cardiologists' beat positions, tests/data/mitdb_beats.csv.gz) in one file:
    only the second segment warns, and stderr names it."""
    rest = np.loadtxt(shared_data / "hrvpkg_rest_rri_ms.txt")
    rest = rest[np.cumsum(rest) <= 300_000.0]
    beats = load_record("119").sample
    bigeminy = np.diff(beats[beats <= 300 * FS_HZ]) / FS_HZ * 1000.0
    rec = tmp_path / "rest_then_119_rr_ms.txt"
    rec.write_text("\n".join(f"{v:.3f}" for v in np.concatenate([rest, bigeminy])) + "\n")
    segs = tmp_path / "segments.csv"
    segs.write_text("label,start,end\nrest,0,295\nbigeminy,305,590\n")
    res = runner.invoke(app, ["analyze", str(rec), "--segments", str(segs), "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    by_segment = {o["segment"]: o for o in _json_lines(res.stdout)}
    assert by_segment["rest"]["ectopy_warning"] is False
    assert by_segment["bigeminy"]["ectopy_warning"] is True
    assert "1 recording(s) or segment(s)" in res.stderr and "[bigeminy]" in res.stderr
    whole = _json_lines(runner.invoke(app, ["analyze", str(rec), "--json"]).stdout)[0]
    assert whole["ectopy_warning"] is True  # half the recording is enough


def test_a_mostly_corrected_recording_warns(tmp_path: Path) -> None:
    """Regular bigeminy (600/1000 ms; review: quality 0.005, corrected_pct 99.5, LF/HF 1267 and
    no warning): the correction averaged every couplet, so the step rule sees a flat series;
    the corrected share (at least 20 %, hrv.ectopy.CORRECTED_LIMIT) must warn, in the JSON,
    the line, on stderr and in the report."""
    rec = tmp_path / "bigeminy_rr_ms.txt"
    rec.write_text("\n".join(["600", "1000"] * 500) + "\n")
    res = runner.invoke(app, ["analyze", str(rec), "--json"])
    assert res.exit_code == 0, res.output
    obj = _json_lines(res.stdout)[0]
    assert isinstance(obj["corrected_pct"], float) and obj["corrected_pct"] > 90.0
    assert obj["ectopy_warning"] is True
    reason = obj["ectopy_reason"]
    assert isinstance(reason, str) and reason.startswith("heavily corrected")
    assert f"changed {obj['corrected_pct']:.1f} % of the intervals" in reason
    assert "or mostly corrected" in res.stderr and str(rec) in res.stderr
    line = runner.invoke(app, ["analyze", str(rec), "--quiet"])
    assert "WARNING: heavily corrected" in line.stdout
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(rec), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "Do not cite these HRV values." in text and "heavily corrected" in text
    # --no-clean analyses the RR as recorded: nothing was corrected, the step rule decides
    raw = _json_lines(runner.invoke(app, ["analyze", str(rec), "--json", "--no-clean"]).stdout)
    assert raw[0]["ectopy_warning"] is True
    assert "in the uncorrected series" in str(raw[0]["ectopy_reason"])


def test_the_summary_and_the_20_pct_rule_count_the_corrected_share_alike(tmp_path: Path) -> None:
    """Removed gaps are counted by neither: 400 beats, 57 dropouts of 20 s, spurious beats.

    (Review: the summary counted the gaps, 31.5 %, the rule did not, "changed 20.1 %".)
    """
    rng = np.random.default_rng(1)
    rr = 800.0 + rng.normal(0.0, 10.0, 400)
    idx = np.arange(400)
    dropouts = idx[idx % 7 == 3][:57]
    rr[dropouts] = 20000.0  # removed as gaps
    spurious = [i for i in idx[idx % 5 == 1] if not {i - 1, i, i + 1} & set(dropouts.tolist())]
    rr[spurious[:69]] = 250.0  # a spurious R peak: merged
    rec = tmp_path / "gappy_rr_ms.txt"
    rec.write_text("\n".join(f"{x:.1f}" for x in rr) + "\n")
    res = runner.invoke(app, ["analyze", str(rec), "--json"])
    assert res.exit_code == 0, res.output
    obj = _json_lines(res.stdout)[0]
    labels = hrv.clean(np.round(rr, 1)).labels
    n_gaps = int(np.count_nonzero(labels == hrv.BeatLabel.GAP))
    n_changed = int(np.count_nonzero(labels != hrv.BeatLabel.NORMAL)) - n_gaps
    assert n_gaps == 57 and n_changed > 0
    assert obj["corrected_pct"] == pytest.approx(100.0 * n_changed / (400 - 57), abs=1e-12)
    assert obj["corrected_pct"] >= 20.0 and obj["ectopy_warning"] is True
    assert f"changed {obj['corrected_pct']:.1f} % of the intervals" in obj["ectopy_reason"]


def test_short_recording_is_not_assessed(tmp_path: Path) -> None:
    """Review finding: a recording too short to assess had ``ectopy_warning`` null but
    ``irregular_steps_pct`` 0.0 (a share of its few steps, read as "no irregular step"): both
    are missing now, null in JSON and Parquet, an empty cell in CSV."""
    rec = tmp_path / "short_rr_ms.txt"
    rec.write_text("\n".join(["800", "810", "790", "805", "795"] * 5) + "\n")  # 25 beats
    csv_out, pq_out = tmp_path / "s.csv", tmp_path / "s.parquet"
    res = runner.invoke(app, ["analyze", str(rec), "--json", "--summary", str(csv_out)])
    assert res.exit_code == 0, res.output
    obj = _json_lines(res.stdout)[0]
    assert obj["ectopy_warning"] is None and obj["irregular_steps_pct"] is None
    assert isinstance(obj["ectopy_reason"], str) and "not assessed" in obj["ectopy_reason"]
    (row,) = read_csv_with_units(csv_out)[0]
    assert row["irregular_steps_pct"] == "" and row["ectopy_warning"] == ""
    pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    res = runner.invoke(app, ["analyze", str(rec), "-q", "--summary", str(pq_out)])
    assert res.exit_code == 0, res.output
    assert pq.read_table(pq_out).column("irregular_steps_pct").to_pylist() == [None]


def test_report_carries_the_warning(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["report", str(MITDB_119), "--format", "wfdb", "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "Do not cite these HRV values." in text and "ectopy_warning" in text
    # the 3.7-14x evidence is that of the sinus records; the warning also fires on AF
    banner = text[text.index("Do not cite these HRV values.") :].split("</p>")[0]
    assert "sinus records where this warning fires" in banner
    assert "atrial-fibrillation record" in banner and "not sinus HRV" in banner
    quiet = tmp_path / "rest.html"
    res = runner.invoke(
        app,
        ["report", str(shared_data / "hrvpkg_rest_rri_ms.txt"), "--out", str(quiet), "--quiet"],
    )
    assert res.exit_code == 0, res.output
    assert "Do not cite" not in quiet.read_text(encoding="utf-8")


def test_neurokit_names_keep_the_new_columns(tmp_path: Path) -> None:
    obj = _json_lines(
        runner.invoke(
            app, ["analyze", str(MITDB_119), "--format", "wfdb", "--json", "--names", "neurokit"]
        ).stdout
    )[0]
    assert obj["Ectopy_Warning"] is True and "Corrected_pct" in obj
    assert set(NEW_COLUMNS).isdisjoint(obj)


def test_windows_table_carries_the_check(shared_data: Path, tmp_path: Path) -> None:
    """The 60-s windows of the bigeminy excerpt warn except where the bigeminy pauses (one
    window, 120 s: 3.1 % irregular steps, measured); no window of the rest recording does."""
    out = tmp_path / "w.csv"
    rest = shared_data / "hrvpkg_rest_rri_ms.txt"
    res = runner.invoke(
        app,
        [
            "analyze",
            str(MITDB_119),
            str(rest),
            "--format",
            "wfdb",
            "--windows",
            str(out),
            "--window-s",
            "60",
            "--step-s",
            "30",
            "--quiet",
        ],
    )
    assert res.exit_code == 1  # the rest recording is not WFDB: read apart below
    rows, units = read_csv_with_units(out)
    assert units["ectopy_warning"] == "bool" and units["irregular_steps_pct"] == "%"
    mitdb = [r for r in rows if r["path"] == str(MITDB_119)]
    assert len(mitdb) == 8 and sum(r["ectopy_warning"] == "1" for r in mitdb) >= 6
    for r in mitdb:  # the flag is the share against the 8 % limit
        assert (r["ectopy_warning"] == "1") == (float(r["irregular_steps_pct"]) >= 8.0)
    res = runner.invoke(
        app, ["analyze", str(rest), "--windows", str(out), "--window-s", "60", "--quiet"]
    )
    assert res.exit_code == 0, res.output
    rows, _ = read_csv_with_units(out)
    assert len(rows) > 50 and all(r["ectopy_warning"] == "0" for r in rows)


def test_a_window_too_short_to_assess_is_empty_not_false(tmp_path: Path) -> None:
    """Raw bigeminy (``--no-clean``: every step irregular) in 20-s windows of about 25 beats:
    fewer than 30 steps, not assessed. The window table leaves the warning empty (CSV) / null
    (Parquet, still bool), as the summary does, rather than False ("checked, fine"); 60-s
    windows of the same recording warn."""
    rec = tmp_path / "bigeminy_rr_ms.txt"
    rec.write_text("\n".join(["600", "1000"] * 100) + "\n")
    short, long = tmp_path / "w20.csv", tmp_path / "w60.csv"
    for out, window in ((short, "20"), (long, "60")):
        args = ["analyze", str(rec), "--no-clean", "--windows", str(out), "--window-s", window]
        res = runner.invoke(app, [*args, "--step-s", "10", "--quiet"])
        assert res.exit_code == 0, res.output
    rows, units = read_csv_with_units(short)
    assert units["ectopy_warning"] == "bool" and len(rows) > 5
    assert all(int(r["n_beats"]) < 31 for r in rows)
    # not assessed: both empty (review finding: the share of the few steps, 100.0, was shown)
    assert all(r["ectopy_warning"] == "" and r["irregular_steps_pct"] == "" for r in rows)
    rows, _ = read_csv_with_units(long)
    assert rows and all(r["ectopy_warning"] == "1" for r in rows)
    assert all(float(r["irregular_steps_pct"]) == 100.0 for r in rows)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "w20.parquet"
    res = runner.invoke(
        app, ["analyze", str(rec), "--no-clean", "--windows", str(out), "--window-s", "20"]
    )
    assert res.exit_code == 0, res.output
    table = pq.read_table(out)
    assert table.schema.field("ectopy_warning").type == pa.bool_()
    assert set(table.column("ectopy_warning").to_pylist()) == {None}
    assert table.schema.field("irregular_steps_pct").type == pa.float64()
    assert set(table.column("irregular_steps_pct").to_pylist()) == {None}
