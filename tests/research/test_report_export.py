"""``hrvpace replay`` vs ``analyze``, and ``report`` / ``export`` on a really stored session.

The session is made by the real live pipeline: ``hrvpace replay FILE --store`` into a temporary
data folder (SQLite file on disk). A check-in, micro-break events and a resonance assessment
(from ``hrvpace assess --simulate``, the real engine against the simulated person) are then
added through :class:`api.storage.Storage`, as the service would store them, so that the
report has every element to draw.
"""

from __future__ import annotations

import base64
import csv
import errno
import itertools
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import hrv
from api._version import __version__, build_info, build_label, library_versions
from api.cli import app
from api.storage import Storage
from sensors import read_recording
from tests.research._recordings import write_with_lost_beats
from tests.research._tables import read_csv_with_units

runner = CliRunner()

REST = "hrvpkg_rest_rri_ms.txt"  # 910 beats, 16 min, supine rest


def _windows_csv(path: Path) -> list[dict[str, str]]:
    return read_csv_with_units(path)[0]


def test_replay_at_max_speed_yields_the_metrics_of_analyze(
    shared_data: Path, tmp_path: Path
) -> None:
    """Comparable: the live pipeline analyses the beats without hrv.clean in 60-s windows
    every 5 s. ``analyze --no-clean --window-s 60 --step-s 5`` gives the same windows; every
    metric of every window the replay emitted must match to 1e-9 relative (the streaming
    analyser's contract with hrv.rolling). The replay may hold back the last window (emitted
    only when a later beat proves it complete). The recording is artefact-free (the live
    analyser leaves out beats hrv.ArtefactFilter rejects, which ``--no-clean`` keeps;
    tests/api/test_replay.py checks that on the rest recording)."""
    rec_path = shared_data / "hrvanalysis_test_nn_intervals_ms.txt"  # 1,000 NN, 718 s
    _replay_and_analyze_agree(rec_path, tmp_path)


def test_replay_and_analyze_windows_agree_across_a_gap(shared_data: Path, tmp_path: Path) -> None:
    """The same recording with 40 beats (about 29 s) lost after beat 400, stored as an
    hrvpace recording (the beat after the loss has gap_before; beat times keep the lost
    time): the windows of ``analyze`` and of the replay still agree one for one, times
    included. Both put each window's end on the recording's clock; before that fix the
    analyze windows after the gap ended 29 s early (the running sum of the intervals)."""
    rr = read_recording(shared_data / "hrvanalysis_test_nn_intervals_ms.txt").rr_ms
    t = np.cumsum(rr) / 1000.0
    path = tmp_path / "gappy.csv"
    write_with_lost_beats(rr, slice(400, 440), path)
    lost_s = float(np.sum(rr[400:440])) / 1000.0
    batch = _replay_and_analyze_agree(path, tmp_path)
    ends = np.array([float(r["t_s"]) for r in batch])
    # windows that end after the gap are on the recording's clock: none ends inside the gap,
    # and the last ends within one step of the recording's end (not lost_s before it)
    assert not ((ends > t[399]) & (ends < t[440] - rr[440] / 1000.0)).any()
    rec = read_recording(path)
    assert rec.duration_s - 5.0 < ends[-1] <= rec.duration_s + 1e-9
    assert lost_s > 25.0


def _replay_and_analyze_agree(rec_path: Path, tmp_path: Path) -> list[dict[str, str]]:
    res = runner.invoke(app, ["replay", str(rec_path), "--speed", "max", "--json"])
    assert res.exit_code == 0, res.output
    events = [json.loads(x) for x in res.stdout.splitlines()]
    live = [e for e in events if e["type"] == "metrics"]
    out = tmp_path / "w.csv"
    res = runner.invoke(
        app,
        [
            "analyze",
            str(rec_path),
            "--no-clean",
            "--window-s",
            "60",
            "--step-s",
            "5",
            "--windows",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    batch = _windows_csv(out)
    assert len(live) >= 100 and 0 <= len(batch) - len(live) <= 1
    compared = 0
    for ev, row in zip(live, batch, strict=False):
        assert math.isclose(ev["t_s"], float(row["t_s"]), rel_tol=1e-12)
        assert ev["n_beats"] == int(row["n_beats"])
        for key, cell in row.items():
            if key in ("path", "t_s", "n_beats"):
                continue
            if key in ("irregular_steps_pct", "ectopy_warning"):
                continue  # the batch table's frequent-ectopy check; the live events have none
            if cell == "":
                assert ev[key] is None, key
            else:
                assert math.isclose(ev[key], float(cell), rel_tol=1e-9, abs_tol=1e-12), key
                compared += 1
    assert compared > 1000
    return batch


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("data")
    res = runner.invoke(
        app,
        [
            "replay",
            str(shared_data / REST),
            "--speed",
            "max",
            "--json",
            "--store",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert res.exit_code == 0, res.output
    end = json.loads(res.stdout.splitlines()[-1])
    session_id = end["session_id"]
    assessed = runner.invoke(
        app, ["assess", "--simulate", "--speed", "max", "--screening", "--json"]
    )
    assert assessed.exit_code == 0, assessed.output
    result = json.loads(assessed.stdout)
    storage = Storage(data_dir / "hrvpace.sqlite3")
    try:
        t0_unix = storage.beats(session_id)[0][3]
        # a check-in during a max-speed replay cannot be placed (arrival times do not follow
        # the beat timeline): the report must leave it out rather than misplace it
        storage.add_checkin(session_id=session_id, at=t0_unix, stress=4, energy=2, note="")
        for kind, t_s, data in (
            ("micro_break", 420.0, {"type": "micro_break", "t_s": 420.0}),
            ("break_started", 430.0, {"type": "break_started", "t_s": 430.0}),
            ("break_ended", 550.0, {"type": "break_ended", "t_s": 550.0}),
            (
                "break_effect",
                850.0,
                {
                    "type": "break_effect",
                    "t_s": 850.0,
                    "start_t_s": 430.0,
                    "end_t_s": 550.0,
                    "kind": "breathing",
                    "rmssd_before_ms": 41.5,
                    "rmssd_after_ms": 52.25,
                    "rmssd_change_pct": 25.9,
                },
            ),
        ):
            storage.add_micro_break(
                session_id=session_id, t_s=t_s, recorded_at=t0_unix + t_s, kind=kind, data=data
            )
        storage.add_assessment(
            session_id,
            recorded_at=t0_unix + 900.0,
            data={"type": "assessment_complete", "t_s": 900.0, "result": result},
        )
        storage.flush().result()
    finally:
        storage.close()
    return {"data_dir": data_dir, "session_id": session_id, "assessment": result}


def _images(html_text: str) -> list[bytes]:
    return [
        base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html_text)
    ]


def test_report_of_a_stored_session(
    stored: dict[str, Any], tmp_path: Path, shared_data: Path
) -> None:
    out = tmp_path / "report.html"
    png_dir = tmp_path / "png"
    res = runner.invoke(
        app,
        [
            "report",
            stored["session_id"],
            "--out",
            str(out),
            "--png-dir",
            str(png_dir),
            "--data-dir",
            str(stored["data_dir"]),
        ],
    )
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    images = _images(text)
    # tachogram, trend, spectrum, assessment, Poincaré, histogram, DFA
    assert len(images) == 7
    assert all(img.startswith(b"\x89PNG\r\n\x1a\n") and len(img) > 5000 for img in images)
    assert sorted(p.name for p in png_dir.iterdir()) == sorted(
        [
            "tachogram.png",
            "trend.png",
            "spectrum.png",
            "assessment.png",
            "poincare.png",
            "histogram.png",
            "dfa.png",
        ]
    )
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    # names its data: the session, its beats, the software
    assert stored["session_id"] in text
    assert "910" in text and f"hrvpace {__version__}" in text
    # ... and its build, as analyze's settings do (review res c3 item 1: the data table and the
    # footer gave "hrvpace 0.1.0" alone): the commit of this checkout, the libraries
    footer = text[text.index("<footer>") :]
    label = build_label()
    assert label.startswith(f"hrvpace {__version__}, build ") and "<td>" + label in text
    assert label in footer and (build_info()["build"] or "build unknown") in footer
    assert f"numpy {library_versions()['numpy']}" in text
    # ... and the PDF says the same build (first-day review: the PDF named none): in its
    # metadata (its page text is compressed glyphs)
    pdf = out.with_suffix(".pdf").read_bytes()
    escaped = label.replace("(", "\\(").replace(")", "\\)").encode()
    assert b"/Creator (" + escaped + b")" in pdf
    assert f"libraries: python {library_versions()['python']}".encode() in pdf
    # durations rounded as the numbers table rounds seconds (first-day review: 16.0572 min)
    assert "<th>duration</th><td>963.4 s (16.1 min)</td>" in text
    # timeline elements and break effects are there, times and values at their units' precision
    assert "1 micro-break(s), 1 break(s), 0 check-in(s)" in text
    assert "Break effects" in text and "<td>41.5</td>" in text and "<td>25.9</td>" in text
    assert "<td>430.0</td><td>550.0</td>" in text
    res_bpm = stored["assessment"]["resonance_bpm"]
    assert f"estimate {res_bpm:.2f} breaths/min" in text
    # the numbers table holds the hrv core's values of the cleaned beats
    rec = read_recording(shared_data / REST)
    c = hrv.clean(rec.rr_ms)
    rmssd = hrv.time_domain(c.rr_ms).rmssd_ms
    assert rmssd is not None
    assert f"<th>rmssd_ms</th><td class='num'>{rmssd:.1f}</td><td>ms</td>" in text


def test_report_trend_is_on_the_tachograms_clock_after_gaps(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three 60-s dropout values after 5 min of the rest recording (review: the tachogram ran
    to 19 min with the gap at 5.3-8.3 min, the trend to 16 min without it). The trend's
    windows must end where the tachogram's beats are: none inside the 3-min gap, the last at
    the recording's end."""
    import api.research.report as report

    rr = read_recording(shared_data / REST).rr_ms
    with_gap = np.concatenate([rr[:300], [60_000.0] * 3, rr[300:]])
    path = tmp_path / "gap180_rr_ms.txt"
    path.write_text("\n".join(repr(float(v)) for v in with_gap) + "\n")
    seen: list[dict[str, Any]] = []
    windows = report.recording_windows

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        cols = windows(*args, **kwargs)
        seen.append(cols)
        return cols

    monkeypatch.setattr(report, "recording_windows", spy)
    res = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "g.html")])
    assert res.exit_code == 0, res.output
    assert len(seen) == 1
    ends = np.asarray(seen[0]["t_s"])
    t = np.cumsum(with_gap) / 1000.0  # the tachogram's beat times
    gap_from, gap_to = float(t[299]), float(t[302])
    assert gap_to - gap_from == pytest.approx(180.0)
    assert not ((ends > gap_from + 1.0) & (ends < gap_to)).any()
    assert t[-1] - 5.0 < ends[-1] <= t[-1] + 1e-9


def test_checkins_of_a_live_session_are_placed_on_the_beat_timeline(
    shared_data: Path, tmp_path: Path
) -> None:
    """A session stored as the live pipeline stores a strap's beats (arrival = start + beat
    time + BLE latency); a check-in made 5 minutes in lands at t_s ~= 300 s in the report."""
    from api.research.store import load_session

    rec = read_recording(shared_data / REST)
    t0 = 1_795_000_000.0
    rng = np.random.default_rng(3)
    storage = Storage(tmp_path / "hrvpace.sqlite3")
    try:
        storage.create_session(
            "live1", created_at=t0, mode="monitor", source={"kind": "ble"}, options={}
        ).result()
        storage.add_beats(
            "live1",
            [
                (i, float(t), float(rr), t0 + float(t) + float(lat), True, False, None)
                for i, (t, rr, lat) in enumerate(
                    zip(rec.t_s, rec.rr_ms, rng.uniform(0.02, 0.9, rec.n_beats), strict=True)
                )
            ],
        )
        storage.add_checkin(session_id="live1", at=t0 + 300.0, stress=4, energy=2, note="")
        storage.add_checkin(session_id="live1", at=t0 - 7200.0, stress=1, energy=5, note="")
        storage.flush().result()
    finally:
        storage.close()
    s = load_session(tmp_path / "hrvpace.sqlite3", "live1")
    placed = [c["t_s"] for c in s.checkins]
    assert placed[0] is None  # two hours before the session: not on its timeline
    assert placed[1] is not None and abs(placed[1] - 300.0) < 1.0
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "live1", "--out", str(out), "--data-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "0 micro-break(s), 0 break(s), 1 check-in(s)" in out.read_text()


@pytest.mark.parametrize(
    ("source", "placed"),
    [
        ({"kind": "simulator", "speed": 1.5}, False),
        ({"kind": "simulator", "speed": 0.5}, False),
        ({"kind": "simulator", "speed": 1.0}, True),
        ({"kind": "replay", "recording": "r.txt", "speed": 1.0}, True),
    ],
    ids=["simulator-1.5", "simulator-0.5", "simulator-1", "replay-1"],
)
def test_checkins_are_placed_only_when_the_source_ran_in_real_time(
    shared_data: Path, tmp_path: Path, source: dict[str, Any], placed: bool
) -> None:
    """A simulator at speed s stores beat times on its own clock and wall-clock arrivals
    (``t0 + t_s / s``): a check-in then cannot be placed through the arrivals, and is left out
    rather than put at the wrong session time. At 1.5 or 0.5 the arrivals still span more than
    half the beat timeline, which let them through before (review finding); at speed 1 the
    check-in 5 minutes in lands at t_s ~= 300 s."""
    from api.research.store import load_session

    rec = read_recording(shared_data / REST)
    speed = float(source["speed"])
    t0 = 1_795_000_000.0
    storage = Storage(tmp_path / "hrvpace.sqlite3")
    try:
        storage.create_session(
            "sim1", created_at=t0, mode="monitor", source=source, options={}
        ).result()
        storage.add_beats(
            "sim1",
            [
                (i, float(t), float(rr), t0 + float(t) / speed + 0.001, True, False, None)
                for i, (t, rr) in enumerate(zip(rec.t_s, rec.rr_ms, strict=True))
            ],
        )
        # made when the source's clock said 300 s
        storage.add_checkin(session_id="sim1", at=t0 + 300.0 / speed, stress=4, energy=2, note="")
        storage.flush().result()
    finally:
        storage.close()
    (checkin,) = load_session(tmp_path / "hrvpace.sqlite3", "sim1").checkins
    if placed:
        assert checkin["t_s"] is not None and abs(checkin["t_s"] - 300.0) < 1.0, checkin
    else:
        assert checkin["t_s"] is None, checkin
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "sim1", "--out", str(out), "--data-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert f"0 break(s), {int(placed)} check-in(s)" in out.read_text()


def test_report_of_a_file_names_it_and_has_no_assessment(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    path = shared_data / "hrvpkg_noisy_rri.hrm"
    res = runner.invoke(app, ["report", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert len(_images(text)) == 6  # tachogram, trend, spectrum, Poincaré, histogram, DFA
    assert str(path.resolve()) in text and "polar_hrm" in text and "3581" in text
    # artefacts are marked: the noisy file has labelled beats, shown in the caption
    n_art = int(np.count_nonzero(hrv.clean(read_recording(path).rr_ms).labels))
    assert n_art > 0 and f"{n_art} labelled as artefacts" in text


_FULL_DISK_REPORT = """
import resource, signal, sys
from api.cli import app
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
limit = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, limit[1]))
try:
    app(["report", sys.argv[1], "--out", sys.argv[2], "--quiet"])
finally:  # the disk "frees" once the command is done: coverage's save at exit (CI) is not cut
    resource.setrlimit(resource.RLIMIT_FSIZE, limit)
"""


def test_a_failed_report_write_leaves_no_half_written_file(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review: report wrote its HTML, PDF and PNGs in place, so a full disk (made real here by
    a file size limit in a child process) left a truncated HTML where an earlier report was,
    and a folder at the PDF's name left a new HTML beside no PDF, each with a traceback. All
    are written under temporary names and moved in once all are written: the earlier report
    stays byte for byte, no temporary file is left, exit 1 names the file."""
    # matplotlib's font cache built (or read) here, so the child under the file size limit
    # reads it and neither writes one nor logs: on a fresh runner it logged building it, and a
    # cache above the limit failed to save with a warning (review, a CI flake)
    pytest.importorskip("matplotlib.font_manager")
    import matplotlib

    env = {**os.environ, "MPLCONFIGDIR": matplotlib.get_cachedir()}
    path = shared_data / "hrvanalysis_test_nn_intervals_ms.txt"
    out = tmp_path / "r.html"
    out.write_text("an earlier report\n")
    out.with_suffix(".pdf").write_bytes(b"an earlier PDF\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_REPORT, str(path), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    # the last line: a library's warning before it is not the command's to answer for
    last = proc.stderr.strip().splitlines()[-1]
    # the PDF is written first (the HTML, the file people open, is moved in last)
    pdf = out.with_suffix(".pdf")
    assert last == f"hrvpace report: cannot write {pdf}: File too large", proc.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    # a folder at the PDF's name: refused before any file is moved in
    d = tmp_path / "d"
    (d / "r.pdf").mkdir(parents=True)
    res = runner.invoke(app, ["report", str(path), "--out", str(d / "r.html"), "--quiet"])
    assert res.exit_code == 1, res.output
    assert f"cannot write {d / 'r.pdf'}: a folder is at the file's name" in res.stderr
    assert [p.name for p in d.iterdir()] == ["r.pdf"] and not any((d / "r.pdf").iterdir())


def test_a_reports_bytes_are_built_before_any_file_and_its_html_is_moved_in_last(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: the HTML was staged before the PDF was rendered (seconds), so a report killed
    then left a hidden temporary copy of the whole report (health data); and the HTML was moved
    in first, so a failure moving the PDF in left a new HTML beside the earlier PDF. While the
    PDF is rendered the folder holds only the earlier report; a failure moving the PDF in (a
    folder put at its name once the files are written) leaves the earlier HTML as it was."""
    pytest.importorskip("matplotlib")
    from api.research import report as report_module
    from api.research import report_plots

    path = shared_data / "hrvanalysis_test_nn_intervals_ms.txt"
    out = tmp_path / "r.html"
    out.write_text("an earlier report\n")
    pdf = out.with_suffix(".pdf")
    pdf.write_bytes(b"an earlier PDF\n")
    seen: list[list[str]] = []
    pdf_bytes, move_into = report_plots.pdf_bytes, report_module.move_into

    def rendering(*args: Any, **kwargs: Any) -> bytes:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return pdf_bytes(*args, **kwargs)

    def moving(tmp: Path, final: Path) -> None:
        if pdf.is_file():  # before the first move: a folder, not empty, where the PDF goes
            pdf.unlink()
            pdf.mkdir()
            (pdf / "x").write_text("x")
        move_into(tmp, final)

    monkeypatch.setattr(report_plots, "pdf_bytes", rendering)
    monkeypatch.setattr(report_module, "move_into", moving)
    res = runner.invoke(app, ["report", str(path), "--out", str(out), "--quiet"])
    assert seen == [["r.html", "r.pdf"]]  # no temporary file while the PDF is rendered
    assert res.exit_code == 1, res.output
    assert res.stderr == f"hrvpace report: cannot write {pdf.resolve()}: Is a directory\n"
    assert out.read_text() == "an earlier report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.pdf"]


def test_an_oserror_while_a_report_is_built_is_not_called_a_write_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review nit: every OSError of the report, a font read while plotting too, was said as
    "cannot write FILE"; only the writing's are."""
    from api.research import report as report_module

    def unreadable_font(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/fonts/x.ttf")

    monkeypatch.setattr(report_module, "build_report", unreadable_font)
    path = tmp_path / "rr.txt"
    path.write_text("".join(f"{800 + 40 * (i % 5)}\n" for i in range(300)))
    res = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "r.html")])
    assert "cannot write" not in res.stderr
    assert isinstance(res.exception, FileNotFoundError), res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rr.txt"]


@pytest.mark.parametrize("name", ["r.pdf", "R.PDF"])
def test_an_out_naming_a_pdf_is_refused(shared_data: Path, tmp_path: Path, name: str) -> None:
    """Review nit: ``--out r.pdf`` wrote the HTML and the PDF to one name (the PDF goes to OUT
    with .pdf): one file silently replaced the other and stdout listed r.pdf twice. Refused as
    bad usage before anything is read."""
    path = shared_data / "hrvanalysis_test_nn_intervals_ms.txt"
    res = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / name), "--quiet"])
    assert res.exit_code == 2, res.output
    assert res.stderr == (
        f"hrvpace report: --out {tmp_path / name} names the HTML file, and the PDF is written "
        f"beside it with .pdf: give the HTML's name ({(tmp_path / name).with_suffix('.html')})\n"
    )
    assert not any(tmp_path.iterdir()) and res.stdout == ""


def test_report_of_an_unknown_session_fails_clearly(tmp_path: Path) -> None:
    Storage(tmp_path / "hrvpace.sqlite3").close()
    res = runner.invoke(
        app, ["report", "nope", "--out", str(tmp_path / "r.html"), "--data-dir", str(tmp_path)]
    )
    assert res.exit_code == 1
    assert "no session 'nope'" in res.stderr
    assert not (tmp_path / "r.html").exists()


def test_export_of_a_stored_session(stored: dict[str, Any], tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    sid = stored["session_id"]
    res = runner.invoke(
        app, ["export", sid, "--out", str(tmp_path), "--data-dir", str(stored["data_dir"])]
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            f"{sid}-beats.csv",
            f"{sid}-beats.parquet",
            f"{sid}-metrics.csv",
            f"{sid}-metrics.parquet",
            f"{sid}.json",
        ]
    )
    storage = Storage(stored["data_dir"] / "hrvpace.sqlite3")
    try:
        beats = storage.beats(sid)
        metrics = storage.snapshots("metrics", sid)
    finally:
        storage.close()
    # CSV: units in the header, exact values
    with open(tmp_path / f"{sid}-beats.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["idx [index]", "t_s [s]", "rr_ms [ms]"]
    assert len(rows) - 1 == len(beats) == 910
    assert [float(r[2]) for r in rows[1:]] == [b[2] for b in beats]
    # Parquet: same values, units in the field metadata
    table = pq.read_table(tmp_path / f"{sid}-beats.parquet")
    assert table.column("rr_ms").to_pylist() == [b[2] for b in beats]
    assert table.schema.field("rr_ms").metadata[b"unit"] == b"ms"
    mt = pq.read_table(tmp_path / f"{sid}-metrics.parquet")
    assert mt.num_rows == len(metrics)
    assert mt.column("rmssd_ms").to_pylist() == [m["rmssd_ms"] for m in metrics]
    assert mt.schema.field("lf_ms2").metadata[b"unit"] == b"ms^2"
    assert b"end of the window" in mt.schema.field("t_s").metadata[b"description"]
    assert b"description" not in table.schema.field("t_s").metadata  # a beat's time, not a window
    # sidecar
    side = json.loads((tmp_path / f"{sid}.json").read_text())
    assert side["software"] == {"name": "hrvpace", "version": __version__}
    # the exporting build, with the keys analyze's settings use (review res c3 item 1: ID.json
    # named the version alone)
    assert side["hrvpace_version"] == __version__
    assert side["hrvpace_build"] == build_info() and side["hrvpace_build"]["version"] == __version__
    assert side["libraries"] == library_versions()
    assert side["session"]["id"] == sid and side["session"]["n_beats"] == 910
    assert side["device"]["kind"] == "replay" and side["device"]["path"].endswith(REST)
    assert side["settings"]["session_options"] == {"command": "hrvpace replay"}
    assert side["columns"]["beats"]["rr_ms"] == "ms"
    kinds = [e["kind"] for e in side["events"]["micro_breaks"]]
    assert kinds == ["micro_break", "break_started", "break_ended", "break_effect"]
    assert side["events"]["assessments"][0]["result"] == stored["assessment"]
    assert [c["stress"] for c in side["events"]["checkins"]] == [4]


def test_export_sidecar_says_how_the_live_windows_were_made(
    stored: dict[str, Any], tmp_path: Path
) -> None:
    """Review finding: the 9 frequency columns of ID-metrics were always empty and the sidecar
    said only ``{"command": "hrvpace replay"}``. It now states the live window and step, the NN
    filter, the spectral settings and why those columns are empty (60 s < 128 s)."""
    from hrv.frequency import FREQUENCY_FIELDS
    from hrv.live import LIVE_STEP_S, LIVE_WINDOW_S
    from hrv.nn_filter import RR_RANGE_MS
    from hrv.spectrum import spectrum_settings

    sid = stored["session_id"]
    res = runner.invoke(
        app, ["export", sid, "--out", str(tmp_path), "--data-dir", str(stored["data_dir"])]
    )
    assert res.exit_code == 0, res.output
    side = json.loads((tmp_path / f"{sid}.json").read_text())
    live = side["settings"]["live_analysis"]
    assert (live["window_s"], live["step_s"]) == (LIVE_WINDOW_S, LIVE_STEP_S) == (60.0, 5.0)
    assert live["nn_filter"]["rr_range_ms"] == list(RR_RANGE_MS)
    assert live["nn_filter"]["max_change"] == 0.2
    assert live["frequency"] == spectrum_settings()
    assert "60-s live window is shorter than the 128 s" in live["frequency_columns"]
    # rev3 F2: the DFA rule (no box across a gap, since 191ed7a) is stored with the session
    assert live["dfa_alpha1"]["boxes"].endswith("none across a gap")
    # stored with the session when it started (hrvpace replay --store), not assumed
    assert live["settings_recorded"] is True and "assumed" not in live
    # what it says holds for the table: windows every 5 s, frequency columns kept and empty
    with open(tmp_path / f"{sid}-metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    t = [float(r["t_s [s]"]) for r in rows]
    assert len(t) > 100 and min(b - a for a, b in itertools.pairwise(t)) >= 5.0 - 1e-9
    heads = {h.split(" [")[0]: h for h in rows[0]}
    for name in FREQUENCY_FIELDS:
        assert all(r[heads[name]] == "" for r in rows), name
    assert all(r[heads["rmssd_ms"]] != "" for r in rows[20:])


def test_live_settings_name_the_dfa_rule_analyze_names() -> None:
    """Review (rev3 F2): alpha1 of a live window that holds a gap changed rule (boxes across
    the gap, then none), but the live settings stored with each session said nothing of DFA,
    so two sessions' exports could not be told apart. They carry the rule now, the same entry
    ``hrvpace analyze`` records, made in one place (``hrv.dfa_settings``)."""
    from api.pipeline import analyser_settings
    from api.research.analysis import method_parameters

    live = analyser_settings()["dfa_alpha1"]
    assert live == method_parameters()["dfa_alpha1"] == hrv.dfa_settings()
    assert (live["n_min"], live["n_max"]) == (4, 16)
    assert "none across a gap" in live["boxes"]


def _export_sidecar(data_dir: Path, sid: str, out: Path) -> dict[str, Any]:
    res = runner.invoke(app, ["export", sid, "--out", str(out), "--data-dir", str(data_dir)])
    assert res.exit_code == 0, res.output
    side: dict[str, Any] = json.loads((out / f"{sid}.json").read_text())
    return side


def test_export_states_the_live_settings_in_force_when_the_session_was_recorded(
    tmp_path: Path,
) -> None:
    """The sidecar stated the exporting version's live settings, whatever the session was
    recorded with. A session stored with other settings (as a version with 120-s windows
    every 10 s would have) is exported with those, marked recorded."""
    from api.pipeline import analyser_settings

    then = {**analyser_settings(), "window_s": 120.0, "step_s": 10.0}
    st = Storage(tmp_path / "hrvpace.sqlite3")
    try:
        st.create_session(
            "rec", created_at=1.0, mode="monitor", source={}, options={}, live_settings=then
        ).result()
        st.add_beats(
            "rec", [(i, 0.8 * (i + 1), 800.0, 2.0 + i, None, False, None) for i in range(5)]
        )
        st.set_session_state("rec", "ended", ended_at=9.0).result()
        st.flush().result()
    finally:
        st.close()
    live = _export_sidecar(tmp_path, "rec", tmp_path / "out")["settings"]["live_analysis"]
    assert (live["window_s"], live["step_s"]) == (120.0, 10.0)
    assert live == {**then, "settings_recorded": True}


def test_export_of_a_session_of_an_older_database_says_its_live_settings_are_assumed(
    tmp_path: Path,
) -> None:
    """A database of schema 5 (sessions without stored live settings): its export, read-only
    before any migration and again after the service migrated it, states the current settings
    as assumed (settings_recorded false); a session stored after the migration has its own."""
    import sqlite3

    from api.pipeline import analyser_settings
    from api.storage.schema import MIGRATIONS

    path = tmp_path / "hrvpace.sqlite3"
    conn = sqlite3.connect(path)
    for number in range(5):
        conn.executescript(MIGRATIONS[number])
    conn.execute("PRAGMA user_version = 5")
    conn.execute(
        "INSERT INTO sessions (id, created_at, ended_at, state, mode, source_json) "
        "VALUES ('old', 1.0, 9.0, 'ended', 'monitor', '{}')"
    )
    for i in range(5):
        conn.execute(
            "INSERT INTO beats VALUES ('old', ?, ?, 800.0, ?, NULL, 0, NULL, NULL)",
            (i, 0.8 * (i + 1), 2.0 + i),
        )
    conn.commit()
    conn.close()

    def assumed(side: dict[str, Any]) -> None:
        live = side["settings"]["live_analysis"]
        assert live["settings_recorded"] is False, live
        assert "assumed" in live["assumed"] and "not stored with this session" in live["assumed"]
        rest = {k: v for k, v in live.items() if k not in ("settings_recorded", "assumed")}
        assert rest == hrv.live_settings()
        assert side["events"]["paced_runs"] is None  # nor when it paced: not known

    assumed(_export_sidecar(tmp_path, "old", tmp_path / "before"))  # not migrated: read-only
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 5
    st = Storage(path)
    try:
        assert st.schema_version == len(MIGRATIONS) == 9
        st.create_session(
            "new",
            created_at=20.0,
            mode="monitor",
            source={},
            options={},
            live_settings=analyser_settings(),
        ).result()
        st.set_session_state("new", "ended", ended_at=30.0).result()
    finally:
        st.close()
    assumed(_export_sidecar(tmp_path, "old", tmp_path / "after"))
    live = _export_sidecar(tmp_path, "new", tmp_path / "new")["settings"]["live_analysis"]
    assert live == {**analyser_settings(), "settings_recorded": True}


def _export(stored: dict[str, Any], out: Path) -> Any:
    return runner.invoke(
        app,
        ["export", stored["session_id"], "--out", str(out), "--data-dir", str(stored["data_dir"])],
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _failing_parquet_write(monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    """The ``fail_at``-th Parquet table (1: beats, 2: metrics) fails half-written: disk full."""
    import errno

    pq = pytest.importorskip("pyarrow.parquet")
    real = pq.write_table
    calls = itertools.count(1)

    def write_table(table: Any, where: Any, *args: Any, **kwargs: Any) -> None:
        if next(calls) == fail_at:
            if isinstance(where, str | Path):  # written in place (before the fix)
                Path(where).write_bytes(b"PAR1 half a table")
                raise OSError(errno.ENOSPC, "No space left on device", str(where))
            where.write(b"PAR1 half a table")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", write_table)


@pytest.mark.parametrize("fail_at", [1, 2])
def test_a_failed_export_leaves_the_earlier_export_as_it_was(
    stored: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    """Review finding: export wrote each file in place, so a failure (disk full) left a
    half-written table beside the earlier ID.json, which said the export was complete. Now
    every file is written under a temporary name first: a failure leaves the earlier export
    byte for byte, and no temporary file; into an empty folder it leaves nothing."""
    sid = stored["session_id"]
    assert _export(stored, tmp_path / "a").exit_code == 0
    before = _files(tmp_path / "a")
    (tmp_path / "a" / f"{sid}-beats.csv").write_text("an earlier beats table\n")
    before[f"{sid}-beats.csv"] = b"an earlier beats table\n"
    _failing_parquet_write(monkeypatch, fail_at)
    res = _export(stored, tmp_path / "a")
    assert res.exit_code == 1, res.output
    table = "beats" if fail_at == 1 else "metrics"
    assert f"cannot write {tmp_path / 'a' / f'{sid}-{table}.parquet'}: No space left" in res.stderr
    assert _files(tmp_path / "a") == before
    _failing_parquet_write(monkeypatch, fail_at)
    res = _export(stored, tmp_path / "b")
    assert res.exit_code == 1 and list((tmp_path / "b").iterdir()) == []


def test_an_export_that_fails_moving_its_tables_in_leaves_no_sidecar(
    stored: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sidecar says the export is complete: if a table cannot be moved in place, the
    earlier ID.json is gone and the new one is not written (it would describe a table that
    was not written)."""
    import os

    sid = stored["session_id"]
    assert _export(stored, tmp_path).exit_code == 0
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("-metrics.parquet"):
            raise PermissionError(13, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    res = _export(stored, tmp_path)
    assert res.exit_code == 1, res.output
    assert f"cannot write {tmp_path / f'{sid}-metrics.parquet'}: Permission denied" in res.stderr
    assert not (tmp_path / f"{sid}.json").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_export_replaces_the_files_links_name_and_keeps_their_modes(
    stored: dict[str, Any], tmp_path: Path
) -> None:
    """Written under temporary names and moved in, the files still replace what a link at
    their name points to (the link stays), keep a replaced file's mode (0600 health data),
    and a new file gets 0666 less the umask, as before."""
    import os
    import stat

    sid = stored["session_id"]
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "beats.csv").write_text("old\n")
    (elsewhere / "beats.csv").chmod(0o600)
    (out / f"{sid}-beats.csv").symlink_to(elsewhere / "beats.csv")
    (out / f"{sid}.json").write_text("{}")
    (out / f"{sid}.json").chmod(0o640)
    assert _export(stored, out).exit_code == 0
    assert (out / f"{sid}-beats.csv").is_symlink()
    assert (elsewhere / "beats.csv").read_text().startswith("idx [index],t_s [s],rr_ms [ms]")
    assert stat.S_IMODE((elsewhere / "beats.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / f"{sid}.json").stat().st_mode) == 0o640
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE((out / f"{sid}-metrics.parquet").stat().st_mode)
    assert mode == 0o666 & ~umask
    assert json.loads((out / f"{sid}.json").read_text())["session"]["id"] == sid


def test_export_of_an_unknown_session(tmp_path: Path) -> None:
    Storage(tmp_path / "hrvpace.sqlite3").close()
    res = runner.invoke(
        app, ["export", "nope", "--out", str(tmp_path / "x"), "--data-dir", str(tmp_path)]
    )
    assert res.exit_code == 1 and "no session 'nope'" in res.stderr


def test_report_of_a_stored_session_segment(stored: dict[str, Any], tmp_path: Path) -> None:
    """--start/--end on a session (by an id prefix): only the events inside the stretch (the
    micro-break at 420 s and the break 430-550 s are in 400-900 s, none before 400 s)."""
    out = tmp_path / "seg.html"
    base = ["report", stored["session_id"][:10], "--data-dir", str(stored["data_dir"])]
    res = runner.invoke(app, [*base, "--out", str(out), "--start", "400", "--end", "15:00"])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "1 micro-break(s), 1 break(s)" in text and "segment 400-15:00" in text
    early = tmp_path / "early.html"
    res = runner.invoke(app, [*base, "--out", str(early), "--end", "400"])
    assert res.exit_code == 0, res.output
    assert "0 micro-break(s), 0 break(s)" in early.read_text()


def test_export_help_names_the_contact_files() -> None:
    # the files written for a session whose strap lost skin contact are in --help, as the
    # beats and metrics files are
    out = " ".join(
        re.sub(r"[│╭╮╰╯─]", " ", CliRunner().invoke(app, ["export", "--help"]).stdout).split()
    )
    assert "ID-beats" in out and "ID-contact.csv" in out and "skin contact" in out


def test_a_ppg_report_says_pulse_intervals_not_rr(tmp_path: Path) -> None:
    """Review finding: a report of a PPG said "Tachogram: N RR intervals"; pulse-to-pulse
    intervals of an optical sensor are not ECG RR intervals, and the report now says so."""
    import neurokit2 as nk

    from api.research.report import PULSE_INTERVALS, build_report, from_recording
    from sensors import read_recording

    ppg = nk.ppg_simulate(duration=120, sampling_rate=100, heart_rate=66, random_state=1)
    path = tmp_path / "finger.csv"
    path.write_text("\n".join(f"{v:.5f}" for v in ppg) + "\n")
    rec = read_recording(path, format="ppg_csv", sampling_rate_hz=100)
    html, plots = build_report(from_recording(rec, path=str(path)))
    [tachogram] = [p for p in plots if p.name == "tachogram.png"]
    assert tachogram.caption.startswith(f"Tachogram: {len(rec)} pulse intervals,")
    assert PULSE_INTERVALS in html
