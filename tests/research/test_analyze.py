"""``hrvpace analyze`` and api.research.analysis/cohort on the real recordings in ../shared/data.

The command runs in-process (typer's CliRunner) on the real files; its numbers are checked
against the HRV core's own functions called here directly, so a wiring mistake (raw vs cleaned
series, wrong gaps, wrong field) shows up as a mismatch.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import hrv
import hrvpace
from api.cli import app
from api.research.analysis import (
    NEUROKIT_NAMES,
    SUMMARY_FIELDS,
    AnalysisOptions,
)
from api.research.cohort import analyze_many, windows_table, write_table
from sensors import read_recording
from sensors.formats.text import known_rr_headers
from tests.research._recordings import write_with_lost_beats
from tests.research._tables import read_csv_with_units

runner = CliRunner()

#: Short real recordings (fast) and how to read them.
SHORT: dict[str, dict[str, str]] = {
    "hrvpkg_rest_rri_ms.txt": {},
    "hrvanalysis_test_nn_intervals_ms.txt": {},
    "hrvpkg_exercise_rri.hrm": {},
    "hrvpkg_noisy_rri.hrm": {},
}


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def _expected(path: Path, *, clean: bool) -> dict[str, Any]:
    """The summary computed straight from the HRV core, independent of api.research."""
    rec = read_recording(path)
    c = hrv.clean(rec.rr_ms, gaps=rec.gaps)
    rr = c.rr_ms if clean else rec.rr_ms
    gaps = c.gaps if clean else rec.gaps
    g = gaps if gaps[1:].any() else None
    td = hrv.time_domain(rr, gaps=g)
    fd = hrv.frequency_domain(rr, gaps=g)
    exp: dict[str, Any] = {
        "n_beats": rec.n_beats,
        "duration_s": rec.duration_s,
        "quality": c.quality,
        "correction": "lipponen_tarvainen_2019" if clean else None,
        # changed (not normal, not a removed gap) over all but the removed gaps
        "corrected_pct": (
            100.0
            * float(np.count_nonzero((c.labels != 0) & (c.labels != 6)))
            / float(np.count_nonzero(c.labels != 6))
            if clean
            else 0.0
        ),
        "rmssd_ms": td.rmssd_ms,
        "sdnn_ms": td.sdnn_ms,
        "mean_rr_ms": td.mean_rr_ms,
        "pnn50_pct": td.pnn50_pct,
        "sd1_ms": td.sd1_ms,
        "sd2_ms": td.sd2_ms,
        "mean_hr_bpm": td.mean_hr_bpm,
        "lf_ms2": fd.lf_ms2,
        "hf_ms2": fd.hf_ms2,
        "lf_hf": fd.lf_hf,
        "lf_peak_hz": fd.lf_peak_hz,
        "frequency_method": fd.method,
        "dfa_alpha1": hrv.dfa_alpha1(rr).alpha1,
        "stress_index": hrv.stress_index(rr).value,
    }
    # coherence: mean over the 64-s stretches ending every 5 s, each by hrv.coherence itself
    t = np.cumsum(rr) / 1000.0
    ratios = []
    for k in range(int((t[-1] - 64.0) // 5.0) + 1):
        end = 64.0 + 5.0 * k
        sel = (t > end - 64.0) & (t <= end)
        co = hrv.coherence(rr[sel], t_s=t[sel])
        if co.ratio is not None:
            ratios.append(co.ratio)
    exp["coherence_ratio"] = float(np.mean(ratios))
    # the frequent-ectopy check of the analysed series (hrv.ectopy_check)
    ectopy = hrv.ectopy_check(rr, gaps=gaps, labels=c.labels)
    exp["ectopy_warning"] = ectopy.unreliable if ectopy.assessed else None
    exp["irregular_steps_pct"] = ectopy.irregular_pct
    exp["ectopy_reason"] = ectopy.reason
    return exp


@pytest.fixture(scope="module")
def short_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    d = tmp_path_factory.mktemp("short")
    for name in SHORT:
        shutil.copy(shared_data / name, d / name)
    return d


@pytest.mark.parametrize("clean", [True, False])
def test_analyze_json_matches_the_hrv_core(short_dir: Path, clean: bool) -> None:
    args = ["analyze", str(short_dir), "--json", "--jobs", "1"]
    if not clean:
        args.append("--no-clean")
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert sorted(Path(o["path"]).name for o in objs) == sorted(SHORT)
    for obj in objs:
        assert set(obj) == {"path", *SUMMARY_FIELDS, "hrvpace_version", "settings"}
        exp = _expected(Path(obj["path"]), clean=clean)
        for key, value in exp.items():
            if key == "coherence_ratio":  # batched vs one-by-one: ~1e-12 relative
                assert math.isclose(obj[key], value, rel_tol=1e-9), (obj["path"], key)
            else:
                assert _close(obj[key], value), (obj["path"], key, obj[key], value)
        assert obj["cleaned"] is clean


def test_analyze_long_physionet_recording_with_format(shared_data: Path) -> None:
    path = shared_data / "nsr2db_nsr001_rr_secs.txt"
    res = runner.invoke(app, ["analyze", str(path), "--format", "physionet_rr_secs", "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    rec = read_recording(path, format="physionet_rr_secs")
    c = hrv.clean(rec.rr_ms, gaps=rec.gaps)
    td = hrv.time_domain(c.rr_ms, gaps=c.gaps if c.gaps[1:].any() else None)
    assert obj["n_beats"] == 106459
    assert obj["rmssd_ms"] == td.rmssd_ms and obj["sdnn_ms"] == td.sdnn_ms
    assert 0.9 < obj["quality"] < 1.0  # Holter with ectopic beats and pauses


def _on_recording_clock(t_nn: np.ndarray, c: hrv.Cleaned, beat_t: np.ndarray) -> np.ndarray:
    """Window ends on the recording's clock, from the cleaned beats one by one.

    A window's end runs on from the last cleaned beat at or before it that is a recorded beat
    (not an R peak the correction inserted: one of the parts of a split interval but the last),
    from that recorded beat's time, and is never later than the next such beat's time.
    """
    ends = np.cumsum(c.rr_ms) / 1000.0
    # output beat k ends at recorded beat source_index[k + 1] - 1 (the beats up to the next
    # output's first one), unless the next output shares its first input (a split) or a
    # removed gap lies between them
    beats: list[tuple[float, float]] = []  # (end on the cleaned timeline, recorded time)
    src = c.source_index.tolist()
    for k, end in enumerate(ends.tolist()):
        nxt = src[k + 1] if k + 1 < len(src) else c.n_beats
        if nxt == src[k]:
            continue  # an inserted peak
        last = nxt - 1
        while c.labels[last] == hrv.BeatLabel.GAP:  # removed, not part of this beat
            last -= 1
        beats.append((end, float(beat_t[last])))
    out = []
    for t in t_nn.tolist():
        before = [b for b in beats if b[0] <= t]
        after = [b for b in beats if b[0] > t]
        value = before[-1][1] + (t - before[-1][0]) if before else t
        out.append(min(value, after[0][1]) if after else value)
    return np.array(out)


def test_windows_table_equals_hrv_rolling(short_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.csv"
    res = runner.invoke(
        app,
        ["analyze", str(short_dir), "--windows", str(out), "--window-s", "120", "--step-s", "30"],
    )
    assert res.exit_code == 0, res.output
    rows, units = read_csv_with_units(out)
    assert rows and set(rows[0]) >= {"path", "t_s", "n_beats", "rmssd_ms", "lf_ms2"}
    assert units["t_s"] == "s" and units["rmssd_ms"] == "ms" and units["lf_ms2"] == "ms^2"
    assert units["n_beats"] == "count" and units["lf_hf"] == "ratio"
    by_file: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_file.setdefault(row["path"], []).append(row)
    assert sorted(Path(k).name for k in by_file) == sorted(SHORT)
    for name, got in by_file.items():
        rec = read_recording(name)
        c = hrv.clean(rec.rr_ms, gaps=rec.gaps)
        exp = hrv.rolling(c.rr_ms, window_s=120.0, step_s=30.0, gaps=c.gaps)
        exp.update(hrv.ectopy_windows(c.rr_ms, exp["t_s"], window_s=120.0, gaps=c.gaps))
        # each window's end on the recording's clock, worked out beat by beat here
        exp["t_s"] = _on_recording_clock(exp["t_s"], c, rec.t_s - rec.start_s)
        assessed = exp.pop("ectopy_assessed")  # not a column: not assessed is an empty cell
        exp["ectopy_warning"] = np.where(assessed, exp["ectopy_warning"], np.nan)
        exp["irregular_steps_pct"] = np.where(assessed, exp["irregular_steps_pct"], np.nan)
        assert len(got) == len(exp["t_s"])
        for col, values in exp.items():
            cells = [r[col] for r in got]
            parsed = np.array([np.nan if v == "" else float(v) for v in cells])  # bools: 1/0
            if col == "t_s":  # the same sums in another order: equal to rounding
                np.testing.assert_allclose(parsed, values, rtol=0, atol=1e-9, err_msg=col)
                continue
            # CSV floats are written with repr: the round trip is exact
            np.testing.assert_array_equal(parsed, values.astype(np.float64), err_msg=col)


def test_windows_parquet_and_neurokit_names(short_dir: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "w.parquet"
    res = runner.invoke(
        app,
        ["analyze", str(short_dir), "--windows", str(out), "--names", "neurokit", "--json"],
    )
    assert res.exit_code == 0, res.output
    table = pq.read_table(out)
    assert {"Path", "Time_End_s", "HRV_RMSSD", "HRV_SDNN", "HRV_LF_ms2"} <= set(table.column_names)
    assert "rmssd_ms" not in table.column_names and "HRV_LF" not in table.column_names
    t_end = table.schema.field("Time_End_s").metadata
    assert t_end[b"unit"] == b"s" and b"end of the window" in t_end[b"description"]
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    for obj in objs:
        assert set(obj) == {NEUROKIT_NAMES[k] for k in ("path", *SUMMARY_FIELDS)} | {
            "hrvpace_version",
            "settings",
        }
    # values are the same as under hrvpace names
    rest = next(o for o in objs if o["Path"].endswith("hrvpkg_rest_rri_ms.txt"))
    exp = _expected(short_dir / "hrvpkg_rest_rri_ms.txt", clean=True)
    assert rest["HRV_RMSSD"] == exp["rmssd_ms"] and rest["HRV_LF_ms2"] == exp["lf_ms2"]


def test_folder_with_a_corrupt_file_yields_the_others(short_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "cohort"
    shutil.copytree(short_dir, d)
    (d / "broken.txt").write_text("812\n790\nnot-a-number\n805\n")
    res = runner.invoke(app, ["analyze", str(d), "--json", "--jobs", "2"])
    assert res.exit_code == 1
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(objs) == len(SHORT) + 1
    bad = [o for o in objs if "error" in o]
    assert len(bad) == 1 and bad[0]["path"].endswith("broken.txt")
    assert "line 3" in bad[0]["error"] or ":3:" in bad[0]["error"]
    assert "broken.txt" in res.stderr and "4 of 5 recording(s) analysed, 1 failed" in res.stderr
    good = [o for o in objs if "error" not in o]
    assert all(o["rmssd_ms"] > 0 for o in good)


def test_no_value_sinks_a_folder_run(short_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    # whatever a file holds, each failure is named (file, line, <= 200 characters of the
    # text), every other file's result is printed and the exit code is 1
    d = tmp_path / "cohort"
    shutil.copytree(short_dir, d)
    good = (short_dir / "hrvpkg_rest_rri_ms.txt").read_text().splitlines()
    bad_files = {
        "huge.txt": ([*good[:50], "1e308", *good[50:]], 51, "'1e308'"),
        "corrupt.txt": ([*good[:80], "1e12", *good[80:]], 81, "'1e12'"),
        "garbage.txt": ([*good[:20], "x" * 100000, *good[20:]], 21, "'" + "x" * 190),
    }
    for name, (content, _, _) in bad_files.items():
        (d / name).write_text("\n".join(content) + "\n")
    shutil.copy(shared_data / "nsr2db_nsr001_rr_secs.txt", d / "seconds.txt")
    res = runner.invoke(app, ["analyze", str(d), "--jobs", "2"])
    assert res.exit_code == 1
    printed = res.stdout.splitlines()
    assert len(printed) == len(SHORT)  # every good file's result
    assert all("rmssd_ms=" in line for line in printed)
    for name, (_, line, text) in bad_files.items():
        (msg,) = [m for m in res.stderr.splitlines() if f"{name}:" in m]
        assert f"{name}:{line}:" in msg and text in msg
        assert len(msg) < len(str(d / name)) * 2 + 200 + 250, msg
    assert "seconds.txt" in res.stderr and "look like seconds" in res.stderr
    assert "4 of 8 recording(s) analysed, 4 failed" in res.stderr


def test_an_unexpected_error_fails_only_its_file(short_dir: Path) -> None:
    # a defect (here a zero coherence step: ZeroDivisionError, not a bad-input error) is that
    # file's error, one line, in a worker process too; the run still returns every result
    files = sorted(short_dir.iterdir())
    bad = AnalysisOptions(coherence_step_s=0.0)
    results = analyze_many(files, options=bad, jobs=2)
    assert [r.path for r in results] == [str(f) for f in files]
    assert all(
        r.error is not None and "internal error ZeroDivisionError" in r.error for r in results
    )
    assert all("\n" not in (r.error or "") for r in results)


def test_real_file_with_a_zero_interval_is_analysed_with_it_labelled(shared_data: Path) -> None:
    """hrvpkg_real_rri_ms.txt ends in a 0 ms value: read, labelled by hrv.clean, analysed."""
    res = runner.invoke(
        app,
        [
            "analyze",
            str(shared_data / "hrvpkg_real_rri_ms.txt"),
            str(shared_data / "hrvpkg_rest_rri_ms.txt"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    first, second = (json.loads(x) for x in res.stdout.splitlines())
    assert first.get("error") is None and first["n_artefacts"] >= 1
    assert first["corrected_pct"] > 0 and first["rmssd_ms"] is not None
    assert second["n_beats"] == 910


def test_real_file_with_a_zero_interval_is_analysed_without_it(
    shared_data: Path, tmp_path: Path
) -> None:
    # a 0 ms value is a beat annotated twice: leaving it out moves no beat time; the summary
    # says so, with the line, and the numbers are those of the file without that line
    real = shared_data / "hrvpkg_real_rri_ms.txt"
    lines = real.read_text().splitlines()
    assert lines[771].strip() == "0"
    without = tmp_path / "without_zero.txt"
    without.write_text("\n".join(lines[:771] + lines[772:]) + "\n")
    res = runner.invoke(app, ["analyze", str(real), str(without), "--json", "--drop-zero"])
    assert res.exit_code == 0, res.output
    first, second = (json.loads(x) for x in res.stdout.splitlines())
    assert "1 zero RR value(s) left out (line 772)" in first["read_as"]
    assert first["n_beats"] == 771
    for key in ("rmssd_ms", "sdnn_ms", "lf_ms2", "duration_s", "dfa_alpha1"):
        assert first[key] == second[key], key


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["analyze", str(tmp_path)]).exit_code == 2  # empty folder
    res = runner.invoke(app, ["analyze", str(tmp_path), "--names", "kubios"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["analyze", str(tmp_path), "--windows", str(tmp_path / "w.xlsx")])
    assert res.exit_code == 2


def test_process_pool_gives_the_same_results_as_in_process(short_dir: Path) -> None:
    files = sorted(short_dir.iterdir())
    opts = AnalysisOptions(windows=True, window_s=120.0, step_s=60.0)
    serial = analyze_many(files, options=opts, jobs=1)
    pooled = analyze_many(files, options=opts, jobs=2)
    assert [r.path for r in pooled] == [str(f) for f in files]  # input order kept
    assert [r.summary for r in serial] == [r.summary for r in pooled]
    a, b = windows_table(serial), windows_table(pooled)
    assert list(a) == list(b)
    for col in a:
        np.testing.assert_array_equal(a[col], b[col])


def test_dask_local_cluster_gives_the_same_table(short_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    files = sorted(short_dir.iterdir())
    files.append(tmp_path / "missing.txt")  # a failure travels back as a result too
    opts = AnalysisOptions(windows=True, window_s=120.0, step_s=60.0)
    local = analyze_many(files, options=opts, jobs=1)
    seen: list[int] = []
    on_dask = analyze_many(
        files,
        options=opts,
        jobs=2,
        dask=True,
        dask_processes=False,
        progress=lambda done, total, r: seen.append(done),
    )
    assert seen == list(range(1, len(files) + 1))
    assert [r.path for r in on_dask] == [str(f) for f in files]
    assert [r.summary for r in on_dask] == [r.summary for r in local]
    assert on_dask[-1].error is not None and local[-1].error is not None
    a, b = windows_table(local), windows_table(on_dask)
    for col in a:
        np.testing.assert_array_equal(a[col], b[col])
    # gathered into one table file
    out = write_table(b, tmp_path / "w.json")
    rows = json.loads(out.read_text())
    assert len(rows) == len(b["t_s"]) and rows[0]["path"] == str(files[0])


def test_analyze_dask_flag_runs_on_worker_processes(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--dask`` as users run it: the CLI starts a LocalCluster of worker *processes* (which
    must import hrvpace and unpickle the options and results) and the table matches a local run."""
    distributed = pytest.importorskip("distributed")
    workers: list[set[str]] = []

    real: Any = distributed.LocalCluster

    class SpyCluster(real):  # type: ignore[misc]
        """The real LocalCluster; notes what kind of workers it started."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            workers.append({type(w).__name__ for w in self.workers.values()})

    monkeypatch.setattr(distributed, "LocalCluster", SpyCluster)
    two = tmp_path / "two"
    two.mkdir()
    for name in ("hrvpkg_rest_rri_ms.txt", "hrvanalysis_test_nn_intervals_ms.txt"):
        shutil.copy(shared_data / name, two / name)
    args = ["analyze", str(two), "--json", "--window-s", "120", "--step-s", "60"]
    res = runner.invoke(app, [*args, "--dask", "--jobs", "2", "--windows", str(tmp_path / "d.csv")])
    assert res.exit_code == 0, res.output
    local = runner.invoke(app, [*args, "--jobs", "1", "--windows", str(tmp_path / "l.csv")])
    assert local.exit_code == 0, local.output
    on_dask = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(on_dask) == 2 and all(o["n_beats"] > 0 for o in on_dask)
    assert on_dask == [json.loads(line) for line in local.stdout.splitlines()]
    assert (tmp_path / "d.csv").read_text() == (tmp_path / "l.csv").read_text()
    assert workers == [{"Nanny"}]  # a nanny per worker: each worker is its own process


def test_analyze_on_an_existing_dask_scheduler(short_dir: Path) -> None:
    """``--scheduler tcp://...``: a real scheduler on loopback TCP (workers as threads here)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        res = runner.invoke(app, ["analyze", str(short_dir), "--json", "--scheduler", address])
    assert res.exit_code == 0, res.output
    on_dask = [json.loads(line) for line in res.stdout.splitlines()]
    local = runner.invoke(app, ["analyze", str(short_dir), "--json", "--jobs", "1"])
    assert on_dask == [json.loads(line) for line in local.stdout.splitlines()]


def test_gaps_of_a_recording_are_respected(shared_data: Path, tmp_path: Path) -> None:
    """An hrvpace recording with a dropped stretch (gap_before on the first beat after it): no
    successive difference across the gap, and the spectrum is told about it."""
    rr = read_recording(shared_data / "hrvpkg_rest_rri_ms.txt").rr_ms
    path = tmp_path / "gappy.csv"
    write_with_lost_beats(rr, slice(400, 420), path)  # 20 beats lost
    res = runner.invoke(app, ["analyze", str(path), "--json", "--no-clean"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    rec = read_recording(path)
    assert rec.gaps.sum() == 1
    td = hrv.time_domain(rec.rr_ms, gaps=rec.gaps)
    assert obj["rmssd_ms"] == td.rmssd_ms
    assert obj["rmssd_ms"] != hrv.time_domain(rec.rr_ms).rmssd_ms  # the gap matters
    fd = hrv.frequency_domain(rec.rr_ms, gaps=rec.gaps)
    assert obj["lf_ms2"] == fd.lf_ms2 and obj["frequency_method"] == fd.method
    assert obj["lf_ms2"] != hrv.frequency_domain(rec.rr_ms).lf_ms2
    assert obj["n_beats"] == rr.size - 20  # the kept beats


@pytest.mark.parametrize("clean", [True, False])
def test_windows_are_on_the_recordings_clock_after_a_gap(
    shared_data: Path, tmp_path: Path, clean: bool
) -> None:
    """The rest recording with a 60-s dropout written into it as one 60 000 ms value (a plain
    RR file: hrv.clean removes it as a gap): the windows after the dropout end 60 s later
    than their running sum of intervals says, and the last one at the recording's end (review:
    they ended at 300 ... 960 s as without the dropout while the recording lasts 1023 s). With
    --no-clean the 60 000 ms interval is analysed as recorded and the two clocks agree."""
    rr = read_recording(shared_data / "hrvpkg_rest_rri_ms.txt").rr_ms
    with_gap = np.concatenate([rr[:300], [60_000.0], rr[300:]])
    path = tmp_path / "gap60_rr_ms.txt"
    path.write_text("\n".join(repr(float(v)) for v in with_gap) + "\n")
    out = tmp_path / "w.csv"
    args = ["analyze", str(path), "--windows", str(out), "--window-s", "120", "--step-s", "10"]
    res = runner.invoke(app, [*args] if clean else [*args, "--no-clean"])
    assert res.exit_code == 0, res.output
    ends = np.array([float(r["t_s"]) for r in read_csv_with_units(out)[0]])
    duration = float(np.sum(with_gap)) / 1000.0
    gap_start = float(np.sum(rr[:300])) / 1000.0
    assert ends[-1] <= duration + 1e-9 and ends[-1] > duration - 10.0
    if clean:  # no window ends inside the dropout (none holds a beat from it)
        assert not ((ends > gap_start) & (ends < gap_start + 60.0)).any()
        # on the analysed series' own clock the windows step by 10 s throughout; on the
        # recording's, the step across the dropout is 60 s longer (less what the correction's
        # interpolations move, well under a second here)
        steps = np.diff(ends)
        across = np.flatnonzero(steps > 30.0)
        assert across.size == 1 and abs(steps[across[0]] - 70.0) < 1.0
        assert np.all(np.abs(np.delete(steps, across) - 10.0) < 1.0)


def test_cli_starts_without_the_research_extra_modules() -> None:
    """matplotlib, pyarrow and dask are imported only by the commands that use them."""
    import subprocess
    import sys

    code = (
        "import sys, api.cli; "
        "print([m for m in ('matplotlib', 'pyarrow', 'dask', 'distributed') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_missing_extra_names_what_to_install(
    short_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyarrow (simulated by hiding it from the import system), --windows x.parquet
    says to install the research extra and exits 2."""
    import importlib

    real_import = importlib.import_module

    def fake(name: str, package: str | None = None) -> Any:
        if name.split(".")[0] == "pyarrow":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", fake)
    res = runner.invoke(
        app,
        ["analyze", str(short_dir), "--jobs", "1", "--windows", str(tmp_path / "w.parquet")],
    )
    assert res.exit_code == 2
    assert "pip install -e '.[research]' in the hrvpace checkout" in res.stderr


def test_analyze_reproduces_published_values(shared_data: Path) -> None:
    """hrv-analysis' test fixture and the values its own tests expect
    (tests/test_extract_features_methods.py, quoted in ../shared/data/README.md)."""
    path = shared_data / "hrvanalysis_test_nn_intervals_ms.txt"
    res = runner.invoke(app, ["analyze", str(path), "--json", "--no-clean"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    published = {
        "mean_rr_ms": 718.248,
        "sdnn_ms": 43.11307,
        "rmssd_ms": 19.51940,
        "pnn50_pct": 2.4024,
        "sd1_ms": 13.80919,
    }
    for key, value in published.items():
        assert obj[key] == pytest.approx(value, abs=5e-5), key
    # hrv-analysis' SD2 59.38670 is the identity sqrt(2 SDNN^2 - SDSD^2 / 2); ours is the
    # rotated axis std((x_n + x_n+1) / sqrt 2, ddof=1) as Kubios: 59.41259 (+0.04 %)
    assert obj["sd2_ms"] == pytest.approx(59.41259, abs=5e-5)
    assert obj["n_beats"] == 1000


def test_summary_table_equals_the_json_objects(short_dir: Path, tmp_path: Path) -> None:
    out_csv, out_pq = tmp_path / "s.csv", tmp_path / "s.parquet"
    res = runner.invoke(app, ["analyze", str(short_dir), "--json", "--summary", str(out_csv)])
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    rows, units = read_csv_with_units(out_csv)
    assert [r["path"] for r in rows] == [o["path"] for o in objs]
    assert list(units) == ["path", *SUMMARY_FIELDS, "error"]
    assert all(row["error"] == "" for row in rows)
    for row, obj in zip(rows, objs, strict=True):
        for key in SUMMARY_FIELDS:
            v = obj[key]
            if v is None:
                assert row[key] == ""
            elif isinstance(v, bool):  # 1/0, as hrvpace export and the API's CSV write them
                assert row[key] == str(int(v)), key
            elif isinstance(v, str):
                assert row[key] == v
            else:
                assert float(row[key]) == v, key  # floats written exactly
    pq = pytest.importorskip("pyarrow.parquet")
    res = runner.invoke(
        app, ["analyze", str(short_dir), "--summary", str(out_pq), "--names", "neurokit"]
    )
    assert res.exit_code == 0, res.output
    pq_table = pq.read_table(out_pq)
    table = pq_table.to_pydict()
    assert table["HRV_RMSSD"] == [o["rmssd_ms"] for o in objs]
    assert table["Quality"] == [o["quality"] for o in objs]
    # units travel with the numbers: per-field metadata, the unit of the hrvpace column
    schema = pq_table.schema
    assert schema.field("HRV_RMSSD").metadata[b"unit"] == b"ms"
    assert schema.field("HRV_LF_ms2").metadata[b"unit"] == b"ms^2"
    assert schema.field("Quality").metadata[b"unit"] == b"fraction"
    assert b"hrvpace_version" in schema.metadata


def test_summary_keeps_a_row_for_each_failed_file(short_dir: Path, tmp_path: Path) -> None:
    """Review finding: ``--summary`` left failed files out, so the table did not show what was
    missing. Each failed file has its row, in input order, every field empty and ``error``
    its reason (as ``--json`` says it); ``error`` is empty for the analysed ones."""
    folder = tmp_path / "cohort"
    shutil.copytree(short_dir, folder)
    (folder / "a_broken.txt").write_text("800\n810\n1e12\n")
    (folder / "z_empty.txt").write_text("")
    out_csv = tmp_path / "s.csv"
    res = runner.invoke(app, ["analyze", str(folder), "--json", "--summary", str(out_csv)])
    assert res.exit_code == 1, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    rows, units = read_csv_with_units(out_csv)
    assert units["error"] == "text"
    assert [r["path"] for r in rows] == [o["path"] for o in objs]
    assert len(rows) == len(SHORT) + 2
    for row, obj in zip(rows, objs, strict=True):
        assert row["error"] == obj.get("error", "")
        if "error" in obj:  # every field empty but the input's hash (which file failed)
            assert all(row[k] == "" for k in SUMMARY_FIELDS if k != "sha256")
            assert len(row["sha256"]) == 64 or not Path(obj["path"]).is_file()
        else:
            assert float(row["rmssd_ms"]) == obj["rmssd_ms"]
    assert "corrupt value" in rows[0]["error"] and "empty" in rows[-1]["error"]
    pq = pytest.importorskip("pyarrow.parquet")
    out_pq = tmp_path / "s.parquet"
    res = runner.invoke(app, ["analyze", str(folder), "--summary", str(out_pq)])
    table = pq.read_table(out_pq).to_pydict()
    assert table["error"] == [o.get("error") for o in objs]
    assert table["rmssd_ms"] == [o.get("rmssd_ms") for o in objs]


def test_parquet_types_come_from_the_units_not_the_data(tmp_path: Path) -> None:
    """A run where every text/bool value is missing (a healthy recording: no ectopy reason; a
    recording too short to assess; no segments, no correction) writes the same Parquet schema
    as a run where they are set, so the files of the two runs concatenate."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    empty = {
        "path": ["a.txt"],
        "segment": [None],
        "correction": [None],
        "ectopy_warning": [None],
        "ectopy_reason": [None],
        "rmssd_ms": [None],
    }
    full = {
        "path": ["b.txt"],
        "segment": ["rest"],
        "correction": ["lipponen_tarvainen_2019"],
        "ectopy_warning": [True],
        "ectopy_reason": ["frequent ectopy"],
        "rmssd_ms": [41.5],
    }
    tables = [
        pq.read_table(write_table(t, tmp_path / f"{i}.parquet"))
        for i, t in enumerate((empty, full))
    ]
    types = [{f.name: f.type for f in t.schema} for t in tables]
    assert types[0] == types[1]
    assert types[0]["ectopy_reason"] == pa.string() and types[0]["ectopy_warning"] == pa.bool_()
    assert types[0]["segment"] == pa.string() and types[0]["rmssd_ms"] == pa.float64()
    both = pa.concat_tables(tables).to_pydict()
    assert both["ectopy_warning"] == [None, True]
    assert both["ectopy_reason"] == [None, "frequent ectopy"]


def test_a_negative_value_does_not_shorten_the_recording(tmp_path: Path) -> None:
    """Review finding: 200 x 800, -60000, 200 x 800, 5 x 0, 100 x 800 (400 s of beats) was
    reported as 5.7 min. A value of 0 or below adds no time; hrv.clean labels it."""
    path = tmp_path / "neg.txt"
    values = [800] * 200 + [-60000] + [800] * 200 + [0] * 5 + [800] * 100
    path.write_text("".join(f"{v}\n" for v in values))
    res = runner.invoke(app, ["analyze", str(path), "--json"])
    assert res.exit_code == 0, res.output
    (obj,) = map(json.loads, res.stdout.splitlines())
    assert obj["n_beats"] == 506 and obj["duration_s"] == pytest.approx(400.0)
    assert obj["n_artefacts"] >= 6
    assert "6.7 min" in runner.invoke(app, ["analyze", str(path)]).stdout


def test_failures_say_the_file_and_the_reason_without_class_names(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review finding: reasons came as 'RecordingFormatError: ...' and 'SegmentError: ...'
    (and the reader's path twice). Each failure line names its file once, then the reason."""
    readme = shared_data / "README.md"
    short = tmp_path / "short.txt"
    short.write_text("800\n810\n")
    res = runner.invoke(app, ["analyze", str(readme), str(tmp_path / "nope.txt")])
    assert res.exit_code == 1
    failed = [x for x in res.stderr.splitlines() if x.endswith("(failed)")]
    assert failed == [
        # line 1 '# Real RR-interval data ...' is a comment: the first line read is line 3
        f"hrvpace analyze: {readme}:3: 'Data files only: no code was copied. Each file is "
        "byte-identical to the source file named below' is neither a number nor a header "
        f"naming an RR column ({known_rr_headers()}) (failed)",
        f"hrvpace analyze: {tmp_path / 'nope.txt'}: cannot read the file (No such file or "
        "directory) (failed)",
    ]
    # a segment beyond the recording's end is skipped, not failed (review res c2 item 8);
    # nothing analysed at all is still exit 1
    seg = runner.invoke(app, ["analyze", str(short), "--start", "100"])
    assert seg.exit_code == 1
    (line,) = [x for x in seg.stderr.splitlines() if x.endswith("(skipped)")]
    assert line == (
        f"hrvpace analyze: {short} [100-end]: segment skipped: beyond the recording's end "
        "(1.61 s) (skipped)"
    )
    assert "Error" not in res.stderr + seg.stderr


def test_a_failure_without_a_message_still_says_what_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reason is the error's text without its class name, so an empty text would leave
    ``PATH:  (failed)``: the class name stands in for it then."""
    import api.research.analysis as analysis

    def no_words(*_: Any, **__: Any) -> Any:
        raise PermissionError()

    f = tmp_path / "r.txt"
    f.write_text("800\n810\n")
    monkeypatch.setattr(analysis, "read_recording", no_words)
    assert analysis.analyze_file(f, AnalysisOptions()).error == "PermissionError"


def test_windows_longer_than_the_recording_say_so(shared_data: Path, tmp_path: Path) -> None:
    """--window-s 1800 on the 16-min rest recording (review: a header-only table, exit 0, no
    word): the table is still written (its header, as for any run without rows) and the exit
    code stays 0 (the summary is valid, as with the other warnings), but stderr names the
    recording, its length and the window."""
    path = shared_data / "hrvpkg_rest_rri_ms.txt"
    out = tmp_path / "w.csv"
    res = runner.invoke(app, ["analyze", str(path), "--windows", str(out), "--window-s", "1800"])
    assert res.exit_code == 0, res.output
    rec = read_recording(path)
    said = [x for x in res.stderr.splitlines() if "no --windows row" in x]
    assert len(said) == 1 and str(path) in said[0]
    assert f"lasts {rec.duration_s:.6g} s" in said[0] and "--window-s 1800 s" in said[0]
    assert read_csv_with_units(out)[0] == []
    res = runner.invoke(app, ["analyze", str(path), "--windows", str(out), "--window-s", "600"])
    assert res.exit_code == 0 and "no --windows row" not in res.stderr


def test_windows_of_a_mostly_corrected_recording_stay_on_its_clock(tmp_path: Path) -> None:
    """A regular bigeminy (800 s): correction lengthens the series, not the window times."""
    src = tmp_path / "big_rr_ms.txt"
    src.write_text("\n".join(["600", "1000"] * 500) + "\n")
    out = tmp_path / "w.csv"
    res = runner.invoke(
        app, ["analyze", str(src), "--windows", str(out), "--window-s", "60", "--step-s", "10"]
    )
    assert res.exit_code == 0, res.output
    rows, _ = read_csv_with_units(out)
    t = [float(r["t_s"]) for r in rows]
    assert len(t) > 50 and t == sorted(t)
    # the last beat is at 800 s; windows end every 10 s of analysed time, so the last one ends
    # within a step and a beat (1 s) of it (before the fix: 890 s, 90 s past the recording)
    assert 789.0 <= t[-1] <= 800.0


def test_a_two_minute_signal_loss_in_beat_times_is_analysed_as_a_one_minute_pause(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review finding: a gHRV beat-times file with a 120-s signal loss failed as a corrupt value
    while a 60-s pause was analysed (hrv.clean labels it a gap). Both are now a gap: the same
    NN series, so the same metrics, and the loss counts as recording time."""
    lines = (shared_data / "ghrv_beat_ascii.txt").read_text().splitlines()
    objs = {}
    for pause in (60, 120):
        path = tmp_path / f"beats_{pause}.txt"
        out = lines[:2999] + [f"{float(x) + pause:9.3f}" for x in lines[2999:]]
        path.write_text("\n".join(out) + "\n")
        res = runner.invoke(app, ["analyze", str(path), "--json", "-q"])
        assert res.exit_code == 0, res.output
        objs[pause] = json.loads(res.stdout)
    for key in ("mean_rr_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "lf_ms2", "hf_ms2"):
        assert objs[120][key] == pytest.approx(objs[60][key], rel=1e-12), key
    assert objs[120]["duration_s"] == pytest.approx(objs[60]["duration_s"] + 60.0)
    assert objs[120]["format"] == "ghrv_beats"
    # the loss is said, with the line of the beat ending it (it was left out without a word)
    assert objs[120]["read_as"].endswith(
        "; 1 signal loss(es) over 64 s between beats left out, each a gap (before line 3000)"
    )
    assert "signal loss" not in objs[60]["read_as"]  # a 60-s pause is an interval to label
    row = hrvpace.analyze(tmp_path / "beats_120.txt", as_dict=True)
    assert row["read_as"] == objs[120]["read_as"]


def test_a_polar_ppi_export_says_what_it_left_out(tmp_path: Path) -> None:
    """Review finding: a PPI export's flagged pulses (blocker, no skin contact), its gaps and
    the median error estimate were only in read_recording(...).meta; analyze's read_as (text,
    --json, --summary) now says them, as a beat-times file says its signal losses."""
    header = (
        "Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;"
        "contact supported;hr [bpm]"
    )
    lines, elapsed = [header], 0
    for i in range(300):
        ppi = 900 + (i % 7) * 10
        blocker = 1 if i in (50, 51, 200) else 0
        contact = 0 if 100 <= i < 104 else 1
        elapsed += ppi
        stamp = f"2026-06-01T21:{17 + elapsed // 60_000:02d}:{elapsed // 1000 % 60:02d}.000"
        lines.append(f"{stamp};{ppi};{8 + i % 3};{blocker};{contact};1;66")
    path = tmp_path / "Polar_Sense_PPI.txt"
    path.write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["analyze", str(path), "--json", "-q"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)
    assert row["format"] == "polar_sensor_logger_ppi" and row["n_beats"] == 293
    assert row["read_as"].endswith(
        "; 7 pulse(s) flagged (blocker or no skin contact) left out, 3 gap(s), "
        "median error estimate 9 ms"
    )


def _apple_export(tmp_path: Path) -> Path:
    """An Apple Health export of three Apple Watch HRV readings (series 0..2, oldest first)."""
    from tests.sensors.test_apple_health import beat_times, clock24, series, write

    rng = np.random.default_rng(3)
    body = ""
    for k, hour in enumerate((8, 13, 22)):
        rr = list(800.0 + 100.0 * k + rng.normal(0.0, 20.0, 70).round())
        body += series(f"2026-06-01 {hour:02d}:00:00 +0200", beat_times(hour * 3600.0, rr), clock24)
    return write(tmp_path, body)


def test_an_apple_health_export_says_which_reading_and_series_chooses(tmp_path: Path) -> None:
    """Review finding: analyze/replay/report read only the latest HRV reading of an export
    without saying so, and choosing another was Python-only (series=k). read_as now says
    which of how many (and its date); --series K chooses."""
    path = _apple_export(tmp_path)
    rows = {}
    for args in ([], ["--series", "0"], ["--series", "-2"]):
        res = runner.invoke(app, ["analyze", str(path), "--json", "-q", *args])
        assert res.exit_code == 0, res.output
        rows[tuple(args)] = json.loads(res.stdout)
    latest, oldest, middle = rows[()], rows[("--series", "0")], rows[("--series", "-2")]
    assert latest["read_as"].endswith(
        "; the latest of 3 HRV readings (series 2, 2026-06-01T22:00:00+02:00); "
        "--series K chooses another (0..N-1 count from the oldest, -N..-1 from the latest)"
    )
    assert (
        "the oldest of 3 HRV readings (series 0, 2026-06-01T08:00:00+02:00)" in (oldest["read_as"])
    )
    assert "HRV reading 2 of 3 (series 1, 2026-06-01T13:00:00+02:00)" in middle["read_as"]
    assert oldest["mean_rr_ms"] < middle["mean_rr_ms"] < latest["mean_rr_ms"]
    assert oldest["settings"]["series"] == 0
    bad = runner.invoke(app, ["analyze", str(path), "-q", "--series", "3"])
    assert bad.exit_code == 1 and "series 3 does not exist" in bad.stderr
    # code review: -2 worked Python-style while the message said "or -1 for the latest"
    for k in ("3", "-4"):
        bad = runner.invoke(app, ["analyze", str(path), "-q", "--series", k])
        assert f"series {k} does not exist" in bad.stderr
        assert "(0..2 count from the oldest, -3..-1 from the latest)" in bad.stderr
    # replay says the same and takes the same option
    res = runner.invoke(app, ["replay", str(path), "--json", "--speed", "max", "--series", "0"])
    assert res.exit_code == 0, res.output
    end = json.loads(res.stdout.splitlines()[-1])
    assert end["type"] == "replay_end" and end["read_as"] == oldest["read_as"]
    for command in ("analyze", "replay", "report"):
        shown = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).stdout
        assert "--series" in shown and "Apple Health" in shown, command
        words = " ".join(shown.replace("\u2502", " ").split())  # the help box's borders out
        assert "-N..-1 from the latest" in words, command


def test_series_given_for_another_file_is_said_ignored(shared_data: Path) -> None:
    """Code review: --series given for a file that is no Apple Health export was ignored
    without a word; read_as says so in analyze, replay and report."""
    path = shared_data / "hrvpkg_rest_rri_ms.txt"
    res = runner.invoke(app, ["analyze", str(path), "--json", "-q", "--series", "1"])
    assert res.exit_code == 0, res.output
    read_as = json.loads(res.stdout)["read_as"]
    assert read_as.endswith("; --series ignored: not an Apple Health export"), read_as
    plain = json.loads(runner.invoke(app, ["analyze", str(path), "--json", "-q"]).stdout)
    assert "--series" not in plain["read_as"]
    res = runner.invoke(app, ["replay", str(path), "--json", "--speed", "max", "--series", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.splitlines()[-1])["read_as"] == read_as


def test_summary_says_the_gaps_and_the_time_analysed(tmp_path: Path) -> None:
    """Review (res c2 item 5): a removed gap was in the report ('gap 1') but not in the summary
    or JSON, and ``duration_s`` includes the time at it. A 50-s pause stored as one RR value
    (removed by the correction as a gap) and a 70-s signal loss in a file of beat times (a gap
    the file makes): ``n_gaps``, ``gap_s`` and ``analysed_s`` say them, and
    ``duration_s == analysed_s + gap_s``."""
    k = np.arange(600)
    rr = np.round(800.0 + 40.0 * np.sin(2 * np.pi * 0.1 * k * 0.8), 3)
    plain = tmp_path / "pause_rr_ms.txt"
    plain.write_text("\n".join(f"{x:.3f}" for x in [*rr[:300], 50000.0, *rr[300:]]) + "\n")
    t = np.cumsum(rr) / 1000.0
    t[300:] += 70.0  # 70 s without beats (a signal loss): the next beat follows a gap
    beats = tmp_path / "beats.txt"
    beats.write_text("\n".join(f"{x:.3f}" for x in t) + "\n")
    out = tmp_path / "s.csv"
    res = runner.invoke(app, ["analyze", str(plain), "--json", "-q", "--summary", str(out)])
    assert res.exit_code == 0, res.output
    (a,) = (json.loads(x) for x in res.stdout.splitlines())
    assert a["n_gaps"] == 1 and a["gap_s"] == pytest.approx(50.0)
    assert a["analysed_s"] == pytest.approx(float(np.sum(rr)) / 1000.0, abs=0.05)
    assert a["duration_s"] == pytest.approx(a["analysed_s"] + a["gap_s"], abs=0.05)
    rows, units = read_csv_with_units(out)
    assert (units["n_gaps"], units["gap_s"], units["analysed_s"]) == ("count", "s", "s")
    assert float(rows[0]["gap_s"]) == pytest.approx(50.0)
    res = runner.invoke(app, ["analyze", str(beats), "--format", "ghrv_beats", "--json", "-q"])
    assert res.exit_code == 0, res.output
    (b,) = (json.loads(x) for x in res.stdout.splitlines())
    assert b["n_gaps"] == 1
    assert b["gap_s"] == pytest.approx(70.0 + rr[300] / 1000.0, abs=0.01)
    assert b["duration_s"] == pytest.approx(b["analysed_s"] + b["gap_s"], abs=0.05)


def test_byte_identical_inputs_are_said_and_flagged(shared_data: Path, tmp_path: Path) -> None:
    """Review (res c2 item 7): a cohort's duplicate file (a copy under a second subject's name)
    was analysed as another subject, silently. Now stderr names both (with the hash) once, and
    the later one's row has ``duplicate_of``."""
    study = tmp_path / "study"
    study.mkdir()
    src = (shared_data / "hrvpkg_rest_rri_ms.txt").read_bytes()
    (study / "s01.txt").write_bytes(src)
    (study / "s02.txt").write_bytes((shared_data / "rrhealthy_000_rr_ms.txt").read_bytes())
    (study / "s03.txt").write_bytes(src)
    out = tmp_path / "s.csv"
    res = runner.invoke(app, ["analyze", str(study), "--json", "-q", "--summary", str(out)])
    assert res.exit_code == 0, res.output
    objs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [o["duplicate_of"] for o in objs] == [None, None, str(study / "s01.txt")]
    assert objs[0]["sha256"] == objs[2]["sha256"] != objs[1]["sha256"]
    said = [x for x in res.stderr.splitlines() if "byte-identical" in x]
    assert said == [
        f"hrvpace analyze: warning: {study / 's03.txt'} is byte-identical to "
        f"{study / 's01.txt'} (sha256 {objs[0]['sha256'][:16]}...): analysed again as another "
        "recording (duplicate_of)"
    ]
    rows, _ = read_csv_with_units(out)
    assert [r["duplicate_of"] for r in rows] == ["", "", str(study / "s01.txt")]
