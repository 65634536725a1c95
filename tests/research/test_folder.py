"""``hrvpace analyze FOLDER`` just works (issue 19 item 2), on real recordings.

A folder with a README, PhysioNet ``*_rr_secs`` files, gHRV beat times, plain ms files, Polar
files, a file with a 0 ms value and a plain file of seconds: non-recordings are skipped and
listed; the content decides format and units where it says them, each file's summary says what
was chosen; the seconds file fails asking for ``--units s``; outputs are checked first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.research.analysis import AnalysisOptions, analyze_file
from api.research.discover import choose_reading, skip_reason
from sensors import RecordingFormatError, read_recording
from sensors.formats.text import HEART_RATE_NOT_RR
from tests.research._tables import read_csv_with_units

runner = CliRunner()


def _head(src: Path, dst: Path, n_lines: int) -> None:
    """A real recording cut to its first ``n_lines`` lines (keeps the tests fast)."""
    lines = src.read_text().splitlines()[:n_lines]
    dst.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    d = tmp_path_factory.mktemp("folder")
    shutil.copy(shared_data / "README.md", d / "README.md")
    for name in ("hrvpkg_rest_rri_ms.txt", "hrvpkg_exercise_rri.hrm", "hrvpkg_real_rri_ms.txt"):
        shutil.copy(shared_data / name, d / name)
    _head(shared_data / "nsr2db_nsr001_rr_secs.txt", d / "nsr2db_nsr001_rr_secs.txt", 3000)
    _head(shared_data / "ghrv_beat_ascii.txt", d / "ghrv_beat_ascii.txt", 2000)
    _head(shared_data / "ghrv_chapter6_rr.txt", d / "ghrv_chapter6_rr.txt", 2000)
    return d


def test_each_file_read_as_its_content_says(folder: Path) -> None:
    res = runner.invoke(app, ["analyze", str(folder), "--json"])
    assert res.exit_code == 1, res.output  # the plain seconds file fails (the 0 ms one is read)
    objs = {Path(o["path"]).name: o for o in map(json.loads, res.stdout.splitlines())}
    assert "README.md" not in objs
    assert "README.md" in res.stderr and "not a recording" in res.stderr
    expected = {
        "nsr2db_nsr001_rr_secs.txt": ("physionet_rr_secs", "s"),
        "ghrv_beat_ascii.txt": ("ghrv_beats", "s"),
        "hrvpkg_exercise_rri.hrm": ("polar_hrm", "ms"),
        "hrvpkg_rest_rri_ms.txt": ("plain", "ms"),
    }
    for name, (fmt, units) in expected.items():
        assert (objs[name]["format"], objs[name]["units"]) == (fmt, units), name
        assert objs[name]["read_as"].startswith(fmt), objs[name]["read_as"]
    assert "first beat at 225.797 s" in objs["nsr2db_nsr001_rr_secs.txt"]["read_as"]
    # a 0 ms value is read and labelled by the artefact correction, not a reason to refuse
    assert "error" not in objs["hrvpkg_real_rri_ms.txt"]
    assert objs["hrvpkg_real_rri_ms.txt"]["n_artefacts"] >= 1
    # the seconds file is not guessed: it fails, naming the exact flag
    err = objs["ghrv_chapter6_rr.txt"]["error"]
    assert "--units s" in err and "when read as ms" in err
    assert "5 of 6 recording(s) analysed, 1 failed, 1 file(s) skipped" in res.stderr
    # --drop-zero leaves the 0 ms value out instead (a beat annotated twice)
    fixed = runner.invoke(app, ["analyze", str(folder / "hrvpkg_real_rri_ms.txt"), "--drop-zero"])
    assert fixed.exit_code == 0 and "1 zero RR value(s) left out (line 772)" in fixed.stdout
    # as recorded (--no-clean) a zero cannot be analysed: the beat is named, and the ways out
    raw = runner.invoke(app, ["analyze", str(folder / "hrvpkg_real_rri_ms.txt"), "--no-clean"])
    assert raw.exit_code == 1
    assert "1 RR value(s) of 0 ms or less (first: beat 772)" in raw.stderr
    assert "--drop-zero" in raw.stderr and "index" not in raw.stderr


def test_detected_reading_equals_the_explicit_flags(folder: Path) -> None:
    """What detection chose gives the numbers the explicit ``--format`` gives."""
    for name, fmt in (
        ("nsr2db_nsr001_rr_secs.txt", "physionet_rr_secs"),
        ("ghrv_beat_ascii.txt", "ghrv_beats"),
    ):
        auto = analyze_file(folder / name, AnalysisOptions())
        explicit = analyze_file(folder / name, AnalysisOptions(format=fmt))
        assert auto.summary is not None and explicit.summary is not None
        a = {k: v for k, v in auto.summary.items() if k != "read_as"}
        b = {k: v for k, v in explicit.summary.items() if k != "read_as"}
        assert a == b
        assert explicit.summary["read_as"] == f"{fmt} (--format)"


def test_units_flag_reads_the_seconds_file_and_the_human_output_says_how(folder: Path) -> None:
    path = folder / "ghrv_chapter6_rr.txt"
    res = runner.invoke(app, ["analyze", str(path), "--units", "s"])
    assert res.exit_code == 0, res.output
    assert "[plain, s (--units)]" in res.stdout
    assert "duration=" in res.stdout and "e+0" not in res.stdout  # human durations


def test_detection_looks_at_content_not_only_names(folder: Path, tmp_path: Path) -> None:
    # a *rr_secs* name whose values are milliseconds is not PhysioNet: read as plain ms
    ms = tmp_path / "subject_rr_secs.txt"
    shutil.copy(folder / "hrvpkg_rest_rri_ms.txt", ms)
    assert choose_reading(ms).format == "plain"
    # RR intervals are never mistaken for beat times
    assert choose_reading(folder / "hrvpkg_rest_rri_ms.txt").format == "plain"
    # a file named one by one is never skipped; one in a folder with a text header is
    notes = tmp_path / "notes.csv"
    notes.write_text("subject,age\n1,34\n")
    assert skip_reason(notes) is not None
    assert skip_reason(folder / "hrvpkg_rest_rri_ms.txt") is None
    res = runner.invoke(app, ["analyze", str(notes), "--json"])
    assert (
        res.exit_code == 1 and "a table without an RR column (columns: subject, age)" in res.stdout
    )


def test_outputs_checked_before_any_work(folder: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "s.csv"
    res = runner.invoke(app, ["analyze", str(folder), "--summary", str(missing)])
    assert res.exit_code == 2
    assert "does not exist" in res.stderr and res.stdout == ""  # nothing was analysed
    res = runner.invoke(app, ["analyze", str(folder), "--windows", str(tmp_path)])
    assert res.exit_code == 2  # a folder is not a table file


@pytest.mark.slow
def test_the_shared_data_folder_just_works(shared_data: Path) -> None:
    """The whole real folder (~570,000 beats): README skipped; one file needs ``--units s``,
    its error naming the flag; the file with a 0 ms value is analysed (the zero labelled)."""
    res = runner.invoke(app, ["analyze", str(shared_data), "--json"])
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    failed = [Path(o["path"]).name for o in objs if "error" in o]
    assert failed == ["ghrv_chapter6_rr.txt"]
    assert len(objs) == 13 and res.exit_code == 1
    res = runner.invoke(app, ["analyze", str(shared_data), "--json", "--drop-zero"])
    failed = [
        Path(o["path"]).name for o in map(json.loads, res.stdout.splitlines()) if "error" in o
    ]
    assert failed == ["ghrv_chapter6_rr.txt"]


def _rr_lines(n: int = 300) -> list[str]:
    return [f"{800 + 40 * ((i * 7) % 11 - 5)}" for i in range(n)]


def test_files_with_an_rr_header_or_comments_are_analysed_not_skipped(tmp_path: Path) -> None:
    """Review finding: a folder of RR files with a header row (``rr_ms``, ``time_s,rr_ms,...``,
    ``RR``), a ``#`` comment or ``;`` columns with decimal commas lost four of five files as
    "not a recording", exit 0. They are read; only a file that is clearly no recording is
    skipped, and a file of numbers that cannot be read fails (exit 1), never skipped."""
    rr = _rr_lines()
    (tmp_path / "s01.txt").write_text("\n".join(rr) + "\n")
    (tmp_path / "s02.csv").write_text("rr_ms\n" + "\n".join(rr) + "\n")
    (tmp_path / "s03.csv").write_text(
        "time_s,rr_ms,hr_bpm,flag\n" + "".join(f"{i}.0,{v},75,0\n" for i, v in enumerate(rr))
    )
    (tmp_path / "s04.txt").write_text("# subject 1\n" + "\n".join(rr) + "\n")
    (tmp_path / "s05.txt").write_text("RR\n" + "\n".join(rr) + "\n")
    (tmp_path / "s06.csv").write_text(
        "time;RR (s)\n"
        + "".join(f"{i},0;{int(v) / 1000}\n".replace(".", ",") for i, v in enumerate(rr))
    )
    (tmp_path / "README.md").write_text("# Study\nOne file per subject.\nRR in ms.\n")
    summary = tmp_path / "out" / "s.csv"
    summary.parent.mkdir()
    res = runner.invoke(app, ["analyze", str(tmp_path), "--json", "--summary", str(summary)])
    assert res.exit_code == 0, res.output
    objs = {Path(o["path"]).name: o for o in map(json.loads, res.stdout.splitlines())}
    assert sorted(objs) == [f"s0{i}.{'txt' if i in (1, 4, 5) else 'csv'}" for i in range(1, 7)]
    means = {name: o["mean_rr_ms"] for name, o in objs.items()}
    assert len({round(v, 9) for v in means.values()}) == 1, means  # the same RR in every file
    assert objs["s06.csv"]["units"] == "s" and "column 'RR (s)'" in objs["s06.csv"]["read_as"]
    assert "README.md" in res.stderr and "1 file(s) skipped" in res.stderr
    # a file of numbers under a first line naming no RR column: a failure with the reason
    (tmp_path / "s07.txt").write_text("beat\n" + "\n".join(rr) + "\n")
    assert skip_reason(tmp_path / "s07.txt") is None
    res = runner.invoke(app, ["analyze", str(tmp_path), "--json"])
    assert res.exit_code == 1
    failed = [o for o in map(json.loads, res.stdout.splitlines()) if "error" in o]
    assert [Path(o["path"]).name for o in failed] == ["s07.txt"]
    assert "neither a number nor a header naming an RR column" in failed[0]["error"]


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ('"time","HR, bpm"\n' + "".join(f"{i},7{i % 5}\n" for i in range(30)), "time, HR, bpm"),
        ("time,hr,\n" + "".join(f"{i},7{i % 5},\n" for i in range(30)), "time, hr"),
        ("time\thr\n" + "".join(f"{i}\t7{i % 5}\t\n" for i in range(30)), "time, hr"),
        # pandas to_csv(sep="\t") with its index: the header starts with an empty field
        (
            "\ttime\thr\n" + "".join(f"{i}\t{i}.5\t7{i % 5}\n" for i in range(30)),
            "(unnamed), time, hr",
        ),
    ],
    ids=["quoted-comma", "trailing-comma", "tsv-empty-last", "tsv-pandas-index"],
)
def test_a_table_without_an_rr_column_names_its_columns_split_as_the_reader_splits(
    tmp_path: Path, text: str, columns: str
) -> None:
    """Review: discovery split headers with its own copy of the reader's separators. A table
    whose columns name no RR column is now read and refused by the reader itself, which lists
    the columns as it splits a header (csv quoting, trailing empty fields not counted, a
    pandas index's empty first name)."""
    path = tmp_path / "hr.csv"
    path.write_text(text)
    assert skip_reason(path) is None
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == 1
    assert info.value.problem.startswith(f"a table without an RR column (columns: {columns}): ")
    assert info.value.summary == "a table whose header names no RR column"


def test_a_table_without_an_rr_column_fails_in_a_folder_as_given_by_name(
    tmp_path: Path,
) -> None:
    """Review finding (reverses an earlier choice to skip ``time,hr`` tables): a subject's
    ``Time,R-R interval (ms)`` file was skipped from a folder as a table without an RR column,
    exit 0 and no row in --summary, while the same file given by name failed. A table of
    numbers whose RR column is not recognised may be a recording: it fails (exit 1, a
    --summary row with its error) in a folder as by name; only files that are clearly no
    recording (mostly lines that are not numbers: a README) are skipped."""
    rr = _rr_lines()
    (tmp_path / "s01.txt").write_text("\n".join(rr) + "\n")
    (tmp_path / "hr.csv").write_text("time,hr\n" + "".join(f"{i},7{i % 5}\n" for i in range(50)))
    (tmp_path / "acc.tsv").write_text('# accelerometer\n"t"\t"x"\t"y"\n' + "0\t0.1\t0.2\n" * 20)
    (tmp_path / "README.md").write_text("# Study\nOne file per subject.\nRR in ms.\n")
    summary = tmp_path / "out" / "s.csv"
    summary.parent.mkdir()
    res = runner.invoke(app, ["analyze", str(tmp_path), "--json", "--summary", str(summary)])
    assert res.exit_code == 1, res.output
    objs = {Path(o["path"]).name: o for o in map(json.loads, res.stdout.splitlines())}
    assert sorted(objs) == ["acc.tsv", "hr.csv", "s01.txt"]
    assert "error" not in objs["s01.txt"]
    assert objs["hr.csv"]["error"].startswith(
        f"{tmp_path / 'hr.csv'}:1: a table without an RR column (columns: time, hr): "
    )
    assert "a table without an RR column (columns: t, x, y)" in objs["acc.tsv"]["error"]
    assert "README.md" in res.stderr and "1 file(s) skipped" in res.stderr
    assert f"{tmp_path / 'hr.csv'}:1: a table without an RR column" in res.stderr
    rows, _ = read_csv_with_units(summary)
    errors = {Path(r["path"]).name: r["error"] for r in rows}
    assert errors["s01.txt"] == "" and "(columns: time, hr)" in errors["hr.csv"]
    # given by name: the same failure, the same reason
    alone = runner.invoke(app, ["analyze", str(tmp_path / "hr.csv"), "--json"])
    assert alone.exit_code == 1
    assert json.loads(alone.stdout)["error"] == objs["hr.csv"]["error"]


def test_tables_with_a_bare_interval_column_in_a_folder(tmp_path: Path) -> None:
    """Review findings: a bare ``interval`` was an RR name. ``subject,interval,rr_ms`` and
    ``Time,Interval,RR (ms)`` then failed as naming two RR columns (read before), an epochs table
    ``interval,start_s,end_s`` was analysed as a subject (exit 0) and a Garmin laps table with
    text rows failed. Now: the RR column is read, the epochs table fails (numbers without an
    RR column), the laps table is skipped (mostly not numbers), as before."""
    rr = _rr_lines()
    (tmp_path / "s01.csv").write_text(
        "subject,interval,rr_ms\n" + "".join(f"s01,baseline,{v}\n" for v in rr)
    )
    (tmp_path / "s02.csv").write_text(
        "Time,Interval,RR (ms)\n" + "".join(f"{i}.0,{1 + i // 100},{v}\n" for i, v in enumerate(rr))
    )
    (tmp_path / "epochs.csv").write_text(
        "interval,start_s,end_s\n"
        + "".join(f"{i + 1},{300 * i},{300 * i + 300}\n" for i in range(6))
    )
    (tmp_path / "laps.csv").write_text(
        "Interval,Time,Avg HR\n" + "".join(f"{i + 1},5:00,{120 + i}\n" for i in range(6))
    )
    res = runner.invoke(app, ["analyze", str(tmp_path), "--json", "--units", "s"])
    assert res.exit_code == 1, res.output
    objs = {Path(o["path"]).name: o for o in map(json.loads, res.stdout.splitlines())}
    assert sorted(objs) == ["epochs.csv", "s01.csv", "s02.csv"]
    assert "error" not in objs["s01.csv"] and "error" not in objs["s02.csv"]
    assert objs["s01.csv"]["mean_rr_ms"] == objs["s02.csv"]["mean_rr_ms"]
    assert (
        "a table without an RR column (columns: interval, start_s, end_s)"
        in (objs["epochs.csv"]["error"])
    )
    assert skip_reason(tmp_path / "laps.csv") is not None
    assert "laps.csv" in res.stderr and "1 file(s) skipped" in res.stderr


def test_a_header_stating_units_outranks_units_for_other_files(tmp_path: Path) -> None:
    """``--units`` is for files that do not state theirs: a header ``rr_ms`` keeps ms."""
    rr = _rr_lines()
    (tmp_path / "a_ms.csv").write_text("rr_ms\n" + "\n".join(rr) + "\n")
    (tmp_path / "b_s.txt").write_text("\n".join(str(int(v) / 1000) for v in rr) + "\n")
    reading = choose_reading(tmp_path / "a_ms.csv", units="s")
    assert (reading.format, reading.units, reading.units_read) == ("plain", None, "ms")
    res = runner.invoke(app, ["analyze", str(tmp_path), "--units", "s", "--json"])
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["units"] for o in objs] == ["ms", "s"]
    assert objs[0]["mean_rr_ms"] == pytest.approx(objs[1]["mean_rr_ms"], abs=1e-9)


def test_subfolders_are_listed_or_searched_with_recursive(tmp_path: Path) -> None:
    """Review finding: a study folder with one subfolder per subject gave "no recordings found"
    with no hint, and subfolders next to files were dropped without being listed."""
    rr = _rr_lines()
    study = tmp_path / "study"
    for i, subject in enumerate(("s01", "s02")):
        (study / subject).mkdir(parents=True)
        shifted = [str(int(v) + 100 * i) for v in rr]
        (study / subject / "rr.txt").write_text("\n".join(shifted) + "\n")
    (study / ".cache").mkdir()
    (study / ".cache" / "rr.txt").write_text("\n".join(rr) + "\n")
    res = runner.invoke(app, ["analyze", str(study)])
    assert res.exit_code == 2
    assert f"{study / 's01'}: a folder, not searched (--recursive" in res.stderr
    assert "no recordings found (2 subfolder(s) not searched: add --recursive)" in res.stderr
    res = runner.invoke(app, ["analyze", str(study), "--recursive", "--json"])
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    # the same file name in two subjects' folders: two rows, told apart by their paths
    assert [o["path"] for o in objs] == [
        str(study / "s01" / "rr.txt"),
        str(study / "s02" / "rr.txt"),
    ]
    assert objs[1]["mean_rr_ms"] == pytest.approx(objs[0]["mean_rr_ms"] + 100.0)
    # next to files, a subfolder is listed as skipped, and counted apart from non-recordings
    (study / "s03.txt").write_text("\n".join(rr) + "\n")
    res = runner.invoke(app, ["analyze", str(study)])
    assert res.exit_code == 0, res.output
    assert "1 of 1 recording(s) analysed, 0 failed, 2 folder(s) not searched" in res.stderr
    assert str(study / "s02") in res.stderr


def test_links_to_folders_are_listed_at_any_depth_and_not_taken_for_folders(
    tmp_path: Path,
) -> None:
    """Review finding: with --recursive a linked subfolder was counted as a folder not searched
    ("add --recursive"), and a link below the top level was dropped without being listed."""
    rr = _rr_lines()
    (tmp_path / "data" / "s01").mkdir(parents=True)
    (tmp_path / "data" / "s01" / "rr.txt").write_text("\n".join(rr) + "\n")
    only_link = tmp_path / "st3"
    only_link.mkdir()
    (only_link / "subj").symlink_to(tmp_path / "data" / "s01", target_is_directory=True)
    res = runner.invoke(app, ["analyze", str(only_link), "-r"])
    assert res.exit_code == 2
    assert f"{only_link / 'subj'}: a link to a folder, not followed (skipped)" in res.stderr
    assert "no recordings found (1 link(s) to folders not followed)" in res.stderr
    assert "--recursive" not in res.stderr.split("no recordings found")[1]
    nested = tmp_path / "st4"
    (nested / "a").mkdir(parents=True)
    (nested / "a" / "rr.txt").write_text("\n".join(rr) + "\n")
    (nested / "a" / "lnk").symlink_to(tmp_path / "data" / "s01", target_is_directory=True)
    res = runner.invoke(app, ["analyze", str(nested), "-r", "--json"])
    assert res.exit_code == 0, res.output
    assert [json.loads(o)["path"] for o in res.stdout.splitlines()] == [
        str(nested / "a" / "rr.txt")
    ]
    assert f"{nested / 'a' / 'lnk'}: a link to a folder, not followed (skipped)" in res.stderr
    assert "1 of 1 recording(s) analysed, 0 failed, 1 link(s) to folders not followed" in res.stderr


def _acc_csv(path: Path) -> None:
    """An accelerometer table (50 Hz, numbers only): read, it fails as no RR column."""
    rows = "".join(f"{i * 0.02:.2f},{0.1 * (i % 7):.1f},0.2,9.8\n" for i in range(200))
    path.write_text("t_s,x,y,z\n" + rows)


def test_exclude_leaves_other_tables_of_a_study_folder_out(
    shared_data: Path, tmp_path: Path
) -> None:
    """A study folder that also holds other numeric tables (an accelerometer CSV) exited 1
    listing them as failed, with no way out. ``--exclude GLOB`` (repeatable) leaves out the
    files it matches (their path below the folder, their folders, their names): listed as
    skipped with the pattern, never read, no --summary row; the beats are analysed, exit 0."""
    study = tmp_path / "study"
    (study / "s01").mkdir(parents=True)
    (study / "pilot").mkdir()
    shutil.copy(shared_data / "hrvpkg_rest_rri_ms.txt", study / "s01" / "rr.txt")
    shutil.copy(shared_data / "hrvpkg_real_rri_ms.txt", study / "pilot" / "rr.txt")
    _acc_csv(study / "s01" / "acc.csv")
    _acc_csv(study / "pilot" / "acc.csv")
    _acc_csv(study / "acc_top.csv")
    shutil.copy(shared_data / "hrvpkg_rest_rri_ms.txt", study / "top_rr.txt")

    before = runner.invoke(app, ["analyze", str(study), "-r", "--json", "-q"])
    assert before.exit_code == 1, before.output  # the accelerometer tables fail
    assert "3 failed" in before.stderr

    summary = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        [
            "analyze",
            str(study),
            "-r",
            "--json",
            "-q",
            "--exclude",
            "*acc*",
            "--summary",
            str(summary),
        ],
    )
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [Path(o["path"]).relative_to(study).as_posix() for o in objs] == [
        "pilot/rr.txt",
        "s01/rr.txt",
        "top_rr.txt",
    ]
    for name in ("acc_top.csv", "pilot/acc.csv", "s01/acc.csv"):
        assert f"hrvpace analyze: {study / name}: excluded by --exclude *acc* (skipped)" in (
            res.stderr
        )
    assert "3 of 3 recording(s) analysed, 0 failed, 3 excluded by --exclude" in res.stderr
    assert "skipped as not recordings" not in res.stderr  # excluded files are counted apart
    rows, _ = read_csv_with_units(summary)
    assert sorted(Path(r["path"]).name for r in rows) == ["rr.txt", "rr.txt", "top_rr.txt"]

    # a path below the folder, a folder (listed once, not searched), a name; repeatable
    res = runner.invoke(
        app,
        [
            *("analyze", str(study), "-r", "--json", "-q"),
            *("--exclude", "s01/acc.csv", "--exclude", "pilot/", "--exclude", "acc_top.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert [
        Path(json.loads(x)["path"]).relative_to(study).as_posix() for x in res.stdout.splitlines()
    ] == [
        "s01/rr.txt",
        "top_rr.txt",
    ]
    assert f"{study / 'pilot'}: excluded by --exclude pilot/ (skipped)" in res.stderr
    assert f"{study / 's01' / 'acc.csv'}: excluded by --exclude s01/acc.csv (skipped)" in res.stderr
    assert f"{study / 'pilot' / 'acc.csv'}" not in res.stderr  # inside the excluded folder
    assert "2 of 2 recording(s) analysed, 0 failed, 3 excluded by --exclude" in res.stderr

    # a file named on its own is matched by its name; all excluded: nothing found (exit 2)
    res = runner.invoke(app, ["analyze", str(study / "acc_top.csv"), "--exclude", "acc*"])
    assert res.exit_code == 2, res.output
    assert "no recordings found (1 excluded by --exclude)" in res.stderr


def test_exclude_matches_a_named_file_not_the_folders_above_it(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code review: a file named on its own was matched by every folder above it and by its
    whole path (``*`` matching ``/``), so ``--exclude '*acc*'`` left out every RR file of a
    study under a folder named ``accel_study``, and ``s01/acc.csv`` matched no named file. A
    named file is matched by its name, a pattern with a ``/`` by its path's trailing parts."""
    study = tmp_path / "accel_study"
    for s in ("s01", "s02"):
        (study / s).mkdir(parents=True)
        shutil.copy(shared_data / "hrvpkg_rest_rri_ms.txt", study / s / "rr.txt")
        _acc_csv(study / s / "acc.csv")
    named = [str(study / s / n) for s in ("s01", "s02") for n in ("acc.csv", "rr.txt")]
    res = runner.invoke(app, ["analyze", *named, "--json", "-q", "--exclude", "*acc*"])
    assert res.exit_code == 0, res.output
    assert [
        Path(json.loads(x)["path"]).relative_to(study).as_posix() for x in res.stdout.splitlines()
    ] == [
        "s01/rr.txt",
        "s02/rr.txt",
    ]
    assert "2 of 2 recording(s) analysed, 0 failed, 2 excluded by --exclude" in res.stderr

    # relative to the working folder too; a pattern with a / matches the path's trailing parts
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(
        app,
        [
            *("analyze", "accel_study/s01/acc.csv", "accel_study/s01/rr.txt"),
            *("accel_study/s02/acc.csv", "accel_study/s02/rr.txt", "--json", "-q"),
            *("--exclude", "s01/acc.csv", "--exclude", "*/s02/acc*"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert [json.loads(x)["path"] for x in res.stdout.splitlines()] == [
        "accel_study/s01/rr.txt",
        "accel_study/s02/rr.txt",
    ]
    assert "accel_study/s01/acc.csv: excluded by --exclude s01/acc.csv (skipped)" in res.stderr
    assert "accel_study/s02/acc.csv: excluded by --exclude */s02/acc* (skipped)" in res.stderr


def test_exclude_warns_about_a_pattern_that_matched_nothing(
    shared_data: Path, tmp_path: Path
) -> None:
    """Code review: a pattern that matched nothing (an absolute path, or one starting with the
    folder given) was silently ignored, the files it meant analysed. Each is warned about on
    stderr, saying patterns are matched below the folder given; the exit code is unchanged. A
    pattern that matched only what an earlier one matched did match: no warning."""
    study = tmp_path / "study"
    (study / "s01").mkdir(parents=True)
    shutil.copy(shared_data / "hrvpkg_rest_rri_ms.txt", study / "s01" / "rr.txt")
    _acc_csv(study / "s01" / "acc.csv")
    res = runner.invoke(
        app,
        [
            *("analyze", str(study), "-r", "-q"),
            *("--exclude", str(study / "s01" / "acc.csv"), "--exclude", "study/s01/acc.csv"),
            *("--exclude", "*acc*", "--exclude", "s01/acc.csv"),
        ],
    )
    assert res.exit_code == 0, res.output  # *acc* left it out
    for pattern in (str(study / "s01" / "acc.csv"), "study/s01/acc.csv"):
        assert (
            f"hrvpace analyze: warning: --exclude {pattern} matched nothing (a pattern is "
            "matched below the folder given, s01/acc.csv not study/s01/acc.csv nor an absolute "
            "path" in res.stderr
        )
    assert "--exclude *acc* matched nothing" not in res.stderr
    assert "--exclude s01/acc.csv matched nothing" not in res.stderr  # matched, after *acc*
    # alone, the absolute path leaves the table in: it fails, exit 1, and the warning says why
    res = runner.invoke(
        app, ["analyze", str(study), "-r", "-q", "--exclude", str(study / "s01" / "acc.csv")]
    )
    assert res.exit_code == 1, res.output
    assert f"--exclude {study / 's01' / 'acc.csv'} matched nothing" in res.stderr


def test_exclude_with_a_trailing_slash_matches_folders_only(
    shared_data: Path, tmp_path: Path
) -> None:
    """Code review: README showed ``pilot/`` as the folder form, but the trailing ``/`` was
    stripped, so ``acc.csv/`` also left out files named ``acc.csv``. As in ``.gitignore`` or
    rsync, a pattern ending in ``/`` matches folders only (at any depth, by name or path)."""
    study = tmp_path / "study"
    for s in ("s01", "pilot", "s02/acc.csv"):
        (study / s).mkdir(parents=True)
    shutil.copy(shared_data / "hrvpkg_rest_rri_ms.txt", study / "s01" / "rr.txt")
    shutil.copy(shared_data / "hrvpkg_rest_rri_ms.txt", study / "s02" / "acc.csv" / "rr.txt")
    shutil.copy(shared_data / "hrvpkg_real_rri_ms.txt", study / "pilot" / "rr.txt")
    _acc_csv(study / "s01" / "acc.csv")
    res = runner.invoke(
        app,
        [
            *("analyze", str(study), "-r", "--json", "-q"),
            *("--exclude", "acc.csv/", "--exclude", "pilot/"),
        ],
    )
    assert res.exit_code == 1, res.output  # s01/acc.csv, a file, is read and fails
    assert f"{study / 's01' / 'acc.csv'}: excluded" not in res.stderr
    assert f"{study / 's02' / 'acc.csv'}: excluded by --exclude acc.csv/ (skipped)" in res.stderr
    assert f"{study / 'pilot'}: excluded by --exclude pilot/ (skipped)" in res.stderr
    ok = [Path(json.loads(x)["path"]) for x in res.stdout.splitlines() if '"error"' not in x]
    assert [p.relative_to(study).as_posix() for p in ok if p.name == "rr.txt"] == ["s01/rr.txt"]
    # a file named on its own is never a folder
    res = runner.invoke(app, ["analyze", str(study / "s01" / "rr.txt"), "--exclude", "rr.txt/"])
    assert res.exit_code == 0, res.output
    assert "--exclude rr.txt/ matched nothing" in res.stderr


def test_an_analyze_settings_sidecar_in_a_folder_says_what_it_is(
    shared_data: Path, tmp_path: Path
) -> None:
    """``hrvpace analyze``'s ``NAME.csv.json`` in a folder analysed was skipped as "not a
    recording: '{' is neither a number ..."; it says what it is (as export's ``ID.json``)."""
    import numpy as np

    from api.research.cohort import sidecar_path, write_table

    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(shared_data / "hrvpkg_rest_rri_ms.txt", d / "rr.txt")
    write_table({"path": np.array(["x"], dtype=object)}, tmp_path / "s.csv", settings={})
    shutil.copy(sidecar_path(tmp_path / "s.csv"), d / "s.csv.json")
    res = runner.invoke(app, ["analyze", str(d), "-q"])
    assert res.exit_code == 0, res.output
    said = f"{d / 's.csv.json'}: hrvpace analyze's settings sidecar of s.csv, not a recording"
    assert f"{said} (skipped)" in res.stderr
    # named on its own it fails saying what it is (was "'{' is neither a number ...")
    res = runner.invoke(app, ["analyze", str(d / "s.csv.json"), "-q"])
    assert res.exit_code == 1, res.output
    said = (
        f"{d / 's.csv.json'}: hrvpace analyze's settings sidecar of s.csv (how its table was "
        "made), not a recording: analyse the recordings themselves"
    )
    assert f"hrvpace analyze: {said} (failed)" in res.stderr


def test_exclude_is_in_the_help() -> None:
    import re

    res = runner.invoke(app, ["analyze", "--help"], terminal_width=200)
    assert res.exit_code == 0
    words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", res.stdout).split())
    assert "--exclude GLOB Leave out files (or folders) matching GLOB, e.g. '*acc*'" in words
    assert "* also matches /" in words  # not taken for markdown emphasis
    assert "listed as skipped ('excluded by --exclude GLOB'), never read" in words


def test_a_watchs_heart_rate_table_in_a_folder_is_skipped_as_heart_rate(tmp_path: Path) -> None:
    """Review: a watch's 1-Hz heart-rate export with clock times (``timestamp,heart rate``,
    ``2024-05-01T10:00:00,72``) in a study folder was skipped as "'timestamp,heart rate' is
    neither a number nor a header naming an RR column, and 0 of the N lines looked at are
    numbers": it did not say the file holds heart rates in bpm (named on its own it does)."""
    rows = "".join(f"2024-05-01T10:{i // 60:02d}:{i % 60:02d},{70 + i % 9}\n" for i in range(300))
    (tmp_path / "watch_hr.csv").write_text("timestamp,heart rate\n" + rows)
    (tmp_path / "rr.txt").write_text("\n".join(_rr_lines()) + "\n")
    reason = skip_reason(tmp_path / "watch_hr.csv")
    assert reason == (
        "not a recording: 'timestamp,heart rate': 'heart rate' names a heart-rate column (bpm), "
        f"not RR intervals; {HEART_RATE_NOT_RR}"
    )
    res = runner.invoke(app, ["analyze", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    assert f"{tmp_path / 'watch_hr.csv'}: {reason} (skipped)" in res.stderr


@pytest.mark.parametrize(
    "header", ["Date,Time,HR", "Phone timestamp;HR [bpm]", "sensor timestamp [ns];heart_rate"]
)
def test_heart_rate_with_clock_columns_only_is_skipped_as_heart_rate(
    tmp_path: Path, header: str
) -> None:
    sep = ";" if ";" in header else ","
    row = sep.join(["2024-05-01", "10:00:00", "72"][-len(header.split(sep)) :])
    (tmp_path / "hr.csv").write_text(header + "\n" + (row + "\n") * 50)
    reason = skip_reason(tmp_path / "hr.csv")
    assert reason is not None and "names a heart-rate column (bpm), not RR intervals; " in reason


def test_a_heart_rate_column_beside_an_unread_rr_column_is_not_called_heart_rate_only(
    tmp_path: Path,
) -> None:
    """Review: in a folder, ``Timestamp,HeartRate,RRInterval`` with clock-time rows was skipped
    as "'HeartRate' names a heart-rate column (bpm), not RR intervals ... export the RR
    intervals", though the file holds them under a name the reader does not know. The
    heart-rate wording is kept for a table of clock or date columns and heart rates only;
    otherwise the folder says what the reader says of the same file named on its own."""
    rows = "".join(f"2024-05-01T10:{i // 60:02d}:{i % 60:02d},{72},{833}\n" for i in range(300))
    path = tmp_path / "rr.csv"
    path.write_text("Timestamp,HeartRate,RRInterval\n" + rows)
    reason = skip_reason(path)
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert reason == f"not a recording: {info.value.problem}"
    assert "(columns: Timestamp, HeartRate, RRInterval)" in reason
    assert "a column holding RR intervals reads when named one of" in reason
    # a timestamped table whose RR column is read: never skipped
    path.write_text("Timestamp,RR (ms)\n" + rows.replace(",72,", ","))
    assert skip_reason(path) is None
