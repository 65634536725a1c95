"""``hrvpace analyze`` outputs say which version and settings made them (review finding).

A 120-s ``--no-clean`` windows table could not be told from a 300-s cleaned one, and the
spectral settings (smoothness priors lambda, 4 Hz, 128-s Hann segments, nfft) were only in the
HTML report. Each output is read back here: the Parquet schema metadata, the sidecar of a CSV,
every ``--json`` line; the spectral settings are those the report's caption is made from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from api._version import __version__
from api.cli import app
from api.research.cohort import sidecar_path, write_table
from hrv.spectrum import spectrum_settings

runner = CliRunner()

REST = "hrvpkg_rest_rri_ms.txt"


def _run(shared_data: Path, *args: str) -> list[dict[str, object]]:
    res = runner.invoke(app, ["analyze", str(shared_data / REST), "--json", "-q", *args])
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.stdout.splitlines()]


def test_windows_parquet_and_json_lines_record_the_settings(
    shared_data: Path, tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    tables = {}
    lines = {}
    for name, args in (
        ("a", ["--window-s", "120", "--step-s", "5", "--no-clean"]),
        ("b", []),
    ):
        out = tmp_path / f"{name}.parquet"
        lines[name] = _run(shared_data, "--windows", str(out), *args)
        meta = pq.read_schema(out).metadata
        assert meta[b"hrvpace_version"].decode() == __version__
        tables[name] = json.loads(meta[b"hrvpace_settings"])
    a, b = tables["a"], tables["b"]
    assert a["windows"] == {"window_s": 120.0, "step_s": 5.0}
    assert b["windows"] == {"window_s": 300.0, "step_s": 10.0}
    assert (a["clean"], a["correction"]) == (False, None)
    assert (b["clean"], b["correction"]) == (True, "lipponen_tarvainen_2019")
    for s in (a, b):
        assert s["hrvpace_version"] == __version__
        assert s["frequency"] == spectrum_settings()
        f = s["frequency"]
        assert (f["method"], f["resample_hz"], f["segment_s"], f["nfft"]) == (
            "welch",
            4.0,
            128.0,
            512,
        )
        assert (f["detrend"], f["smoothness_priors_lambda"]) == ("smoothness_priors", 500.0)
    # every JSON line carries the same settings as the table written in the same run
    for name in ("a", "b"):
        (obj,) = lines[name]
        assert obj["hrvpace_version"] == __version__
        assert obj["settings"] == tables[name]
        assert obj["path"].endswith(REST) and "rmssd_ms" in obj


def test_csv_tables_get_a_settings_sidecar(shared_data: Path, tmp_path: Path) -> None:
    summary, windows = tmp_path / "s.csv", tmp_path / "w120.csv"
    seg = tmp_path / "seg.csv"
    seg.write_text("rest,0,5:00\nmid,5:00,10:00\n")
    _run(
        shared_data,
        "--summary",
        str(summary),
        "--windows",
        str(windows),
        "--window-s",
        "120",
        "--segments",
        str(seg),
        "--names",
        "neurokit",
    )
    for table in (summary, windows):
        side = json.loads((tmp_path / f"{table.name}.json").read_text())  # s.csv.json
        assert side["hrvpace_version"] == __version__ and side["table"] == table.name
        s = side["settings"]
        assert s["windows"] == {"window_s": 120.0, "step_s": 10.0}
        assert s["segments"] == [
            {"label": "rest", "start_s": 0.0, "end_s": 300.0},
            {"label": "mid", "start_s": 300.0, "end_s": 600.0},
        ]
        assert s["names"] == "neurokit" and s["frequency"] == spectrum_settings()


def test_report_caption_is_made_from_the_same_settings() -> None:
    """The HTML report's spectrum caption states the settings the tables record."""
    import numpy as np

    from api.research import report_plots

    rng = np.random.default_rng(1)
    rr = 1000.0 + 40.0 * rng.standard_normal(600)
    captured: dict[str, str] = {}

    class _Ax:
        def __getattr__(self, name: str) -> object:
            return lambda *a, **k: None

    class _Plt:
        def subplots(self, **k: object) -> tuple[object, _Ax]:
            return object(), _Ax()

    got = report_plots.spectrum(rr, np.zeros(rr.size, dtype=bool), {}, lambda fig: b"", _Plt())
    assert got is not None
    captured["caption"] = got[1]
    s = spectrum_settings()
    cap = captured["caption"]
    assert f"{s['resample_hz']:g} Hz" in cap and f"{s['segment_s']:g}-s Hann" in cap
    assert f"lambda {s['smoothness_priors_lambda']:g}" in cap and f"nfft {s['nfft']}" in cap


def test_help_says_where_the_settings_go() -> None:
    import re

    res = CliRunner().invoke(app, ["analyze", "--help"], terminal_width=200)
    assert res.exit_code == 0
    words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", res.stdout).split())
    assert "ending with hrvpace_version and settings" in words
    assert "in NAME.csv.json beside it" in words


@pytest.mark.parametrize("flag", ["--window-s", "--step-s"])
@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0"])
def test_window_and_step_must_be_finite(
    shared_data: Path, tmp_path: Path, flag: str, value: str
) -> None:
    """--window-s inf crashed with a traceback in the settings' JSON (code review): refused
    as bad usage before anything is analysed or written."""
    out = tmp_path / "w.csv"
    args = ["analyze", str(shared_data / REST), "--json", "-q", "--windows", str(out)]
    res = runner.invoke(app, [*args, flag, value])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert f"{flag} must be a finite number of seconds > 0" in res.stderr
    assert res.stdout == "" and not out.exists()


def _analyze(shared_data: Path, *args: str) -> Any:
    return runner.invoke(app, ["analyze", str(shared_data / REST), "-q", *args])


def test_the_sidecar_is_named_after_the_whole_file_name(shared_data: Path, tmp_path: Path) -> None:
    """Code review: the sidecar of a.csv was a.json, overwriting a user's a.json, --json
    output redirected there, or export's ID.json beside ID.csv. It is a.csv.json now, and a
    second run replaces its own earlier sidecar."""
    mine = tmp_path / "a.json"
    mine.write_text('{"my": "notes"}')
    export_side = tmp_path / "ID.json"
    export_side.write_text('{"session": {"id": "ID"}}')
    for _ in range(2):
        res = _analyze(
            shared_data, "--summary", str(tmp_path / "a.csv"), "--windows", str(tmp_path / "ID.csv")
        )
        assert res.exit_code == 0, res.output
    assert mine.read_text() == '{"my": "notes"}'
    assert export_side.read_text() == '{"session": {"id": "ID"}}'
    for name in ("a.csv", "ID.csv"):
        side = json.loads((tmp_path / f"{name}.json").read_text())
        assert side["table"] == name and side["hrvpace_version"] == __version__
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ID.csv",
        "ID.csv.json",
        "ID.json",
        "a.csv",
        "a.csv.json",
        "a.json",
    ]  # no temporary file left


@pytest.mark.parametrize("taken", ["file", "folder", "link", "link to a sidecar"])
def test_a_taken_sidecar_name_is_refused_before_the_analysis(
    shared_data: Path, tmp_path: Path, taken: str
) -> None:
    """Code review: a file (or a symlink) not written by hrvpace at the sidecar's name was
    overwritten; a folder there failed only after the whole analysis, naming the table, and
    left the table without its sidecar. Refused first (exit 2), naming the sidecar. A link
    is refused even when it points to an hrvpace sidecar (second review: it was followed,
    then replaced by a file, as the README said it would not be)."""
    table, side = tmp_path / "a.csv", tmp_path / "a.csv.json"
    target = tmp_path / "elsewhere.json"
    if taken == "folder":
        side.mkdir()
    elif taken == "file":
        side.write_text("keep me")
    elif taken == "link":
        target.write_text("keep me")
        side.symlink_to(target)
    else:
        write_table({"path": np.array(["x"], dtype=object)}, tmp_path / "b.csv", settings={})
        target = sidecar_path(tmp_path / "b.csv")
        side.symlink_to(target)
    kept = target.read_text() if taken.startswith("link") else None
    res = _analyze(shared_data, "--json", "--summary", str(table))
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and not table.exists()  # nothing analysed, nothing written
    said = res.stderr.strip()
    assert said.startswith(f"hrvpace analyze: cannot write --summary {table}: ")
    assert f"its settings sidecar {side}: " in said
    why = {"folder": "is a folder", "file": "not an hrvpace settings sidecar"}
    assert why.get(taken, "it is a link") in said
    if taken == "file":
        assert side.read_text() == "keep me"
    elif taken != "folder":
        assert side.is_symlink() and target.read_text() == kept


def test_a_long_table_name_is_written(shared_data: Path, tmp_path: Path) -> None:
    """Code review: the temporary name ``.{name}.XXXXXXXX.tmp`` was 14 bytes longer than the
    table's, so a table named with ~245 bytes failed as "File name too long" after the whole
    analysis. The temporary name keeps only the start of the table's name."""
    table = tmp_path / ("t" * 246 + ".csv")  # its sidecar, 255 bytes, is allowed too
    res = _analyze(shared_data, "--summary", str(table))
    assert res.exit_code == 0, res.output
    assert table.exists() and sidecar_path(table).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("length", [251, 256])
def test_a_table_name_too_long_is_refused_before_the_analysis(
    shared_data: Path, tmp_path: Path, length: int
) -> None:
    """A table name (or its CSV's sidecar's, 5 bytes longer) the file system cannot hold
    failed after the whole analysis: refused first (exit 2), saying so."""
    table = tmp_path / ("t" * (length - 4) + ".csv")
    res = _analyze(shared_data, "--json", "--summary", str(table))
    assert res.exit_code == 2, res.output
    assert res.stdout == ""  # nothing analysed
    whose = "its name" if length > 255 else f"its settings sidecar's name {table.name}.json"
    assert (
        f"cannot write --summary {table}: {whose} is {length + 5 * (length <= 255)} bytes "
        "long, more than the 255 the file system allows"
    ) in res.stderr


def test_a_folder_name_too_long_is_refused_before_the_analysis(
    shared_data: Path, tmp_path: Path
) -> None:
    """A table in a folder whose name is too long: a traceback (is_dir raised ENAMETOOLONG)."""
    table = tmp_path / ("f" * 300) / "t.csv"
    res = _analyze(shared_data, "--json", "--summary", str(table))
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert f"cannot write --summary {table}: File name too long" in res.stderr


def test_the_sidecar_is_not_where_stdout_goes(shared_data: Path, tmp_path: Path) -> None:
    """``--json --summary a.csv > a.csv.json``: the sidecar would replace the results printed
    there (the reviewer's ``> a.json``, with the sidecar's new name). Refused before analysis."""
    side = tmp_path / "a.csv.json"
    cmd = [sys.executable, "-m", "api.cli", "analyze", str(shared_data / REST), "-q", "--json"]
    with open(side, "w") as out:
        proc = subprocess.run(
            [*cmd, "--summary", str(tmp_path / "a.csv")],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 2, proc.stderr
    assert f"its settings sidecar {side}: it is where stdout goes" in proc.stderr
    assert not (tmp_path / "a.csv").exists()


def test_a_failed_write_leaves_the_old_table_and_sidecar(tmp_path: Path) -> None:
    """Code review: the CSV was written before its sidecar, so a failure in between left a
    new table beside a stale sidecar (--window-s inf did). Both are written under temporary
    names and moved in place, the sidecar first: here the sidecar cannot be made (a value
    JSON refuses) and the old pair stays as it was, no temporary file left."""
    table = tmp_path / "s.csv"
    write_table({"path": np.array(["old"], dtype=object)}, table, settings={"old": 1})
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    new = {"path": np.array(["new"], dtype=object)}
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_table(new, table, settings={"window_s": float("inf")})
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before
    write_table(new, table, settings={"new": 1})
    assert json.loads(sidecar_path(table).read_text())["settings"] == {"new": 1}
    assert "new" in table.read_text()
    assert oct(table.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def test_a_link_stays_a_link_and_its_file_is_updated(shared_data: Path, tmp_path: Path) -> None:
    """Code review: ``--summary l.csv`` with ``l.csv -> p.csv`` replaced the link with a new
    file and left p.csv stale. The file the link names is replaced; the link stays."""
    real = tmp_path / "data" / "p.csv"
    real.parent.mkdir()
    real.write_text("stale\n")
    real.chmod(0o600)
    link = tmp_path / "l.csv"
    link.symlink_to(real)
    res = _analyze(shared_data, "--summary", str(link))
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text().startswith("path [text],") and REST in real.read_text()
    assert oct(real.stat().st_mode & 0o777) == oct(0o600)
    assert json.loads(sidecar_path(link).read_text())["table"] == "l.csv"
    assert sorted(p.name for p in real.parent.iterdir()) == ["p.csv"]  # no temporary file


def test_a_rerun_keeps_the_mode_of_the_table_it_replaces(shared_data: Path, tmp_path: Path) -> None:
    """Code review: a table kept ``0600`` (health data) became ``0644`` on a re-run, as did
    its sidecar. The replaced file's mode is kept."""
    table = tmp_path / "s.csv"
    res = _analyze(shared_data, "--summary", str(table))
    assert res.exit_code == 0, res.output
    table.chmod(0o600)
    sidecar_path(table).chmod(0o640)
    res = _analyze(shared_data, "--summary", str(table))
    assert res.exit_code == 0, res.output
    assert oct(table.stat().st_mode & 0o777) == oct(0o600)
    assert oct(sidecar_path(table).stat().st_mode & 0o777) == oct(0o640)


def test_a_new_table_respects_the_umask(shared_data: Path, tmp_path: Path) -> None:
    """A new table and sidecar get the mode ``open()`` gives (``0666`` less the umask):
    ``umask 077`` keeps them private, not mkstemp's or a fixed mode."""
    import os

    table = tmp_path / "s.csv"
    old = os.umask(0o077)
    try:
        res = _analyze(shared_data, "--summary", str(table))
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    assert oct(table.stat().st_mode & 0o777) == oct(0o600)
    assert oct(sidecar_path(table).stat().st_mode & 0o777) == oct(0o600)


def test_a_new_table_s_mode_is_had_without_changing_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code review: the umask was read by setting it to 0 and back (``os.umask``), which
    changes it for the whole process for a moment: another thread creating a file then got
    0666. The temporary file is created ``0666`` and the kernel applies the umask."""
    import os

    old = os.umask(0o027)
    try:

        def no_umask(mask: int) -> int:
            raise AssertionError(f"os.umask({mask:o}) called while writing")

        monkeypatch.setattr(os, "umask", no_umask)
        table = tmp_path / "s.csv"
        write_table({"path": np.array(["x"], dtype=object)}, table, settings={})
        monkeypatch.undo()
    finally:
        os.umask(old)
    assert oct(table.stat().st_mode & 0o777) == oct(0o640)
    assert oct(sidecar_path(table).stat().st_mode & 0o777) == oct(0o640)
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*.tmp"))


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    ("windows", "summary"),
    [("out.csv", "out.csv"), ("out.csv", "out.CSV"), ("out.parquet", "sub/../out.parquet")],
)
def test_one_file_for_both_tables_is_refused(
    shared_data: Path, tmp_path: Path, windows: str, summary: str
) -> None:
    """Code review: --summary X --windows X kept only the summary (exit 0); out.csv and
    out.CSV share a sidecar on a case-insensitive file system. Refused before analysis."""
    (tmp_path / "sub").mkdir()
    a, b = tmp_path / windows, tmp_path / summary
    res = _analyze(shared_data, "--json", "--windows", str(a), "--summary", str(b))
    assert res.exit_code == 2, res.output
    assert f"--windows {a} and --summary {b} are one file" in res.stderr
    assert res.stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


_FULL_DISK = """
import resource, signal, sys
from pathlib import Path
import numpy as np
from api.research.cohort import write_table
target = Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
limit = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, limit[1]))
rng = np.random.default_rng(0)
try:
    write_table({"t_s": rng.random(200_000), "rmssd_ms": rng.random(200_000)}, target)
except OSError as exc:
    print(f"OSError {exc.filename}")
    sys.exit(3)
finally:  # the disk "frees": coverage's save at exit (CI) is not cut short
    resource.setrlimit(resource.RLIMIT_FSIZE, limit)
"""


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_a_failed_parquet_or_json_write_leaves_the_old_table(tmp_path: Path, suffix: str) -> None:
    """Parquet and ``.json`` tables were written in place (only a CSV went through a
    temporary file): a write that failed half-way (here a full disk, made real by a file
    size limit in a child process) left half a new ``.json`` table where the old one was, and
    pyarrow removed the half-written Parquet file, so the old table was lost. Written
    under a temporary name and moved in place, the old table stays as it was, no temporary
    file is left, and the error names the table."""
    if suffix == ".parquet":
        pytest.importorskip("pyarrow.parquet")
    table = tmp_path / f"w{suffix}"
    write_table({"t_s": np.array([1.0, 2.0]), "rmssd_ms": np.array([30.0, 31.0])}, table)
    table.chmod(0o600)
    before = table.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(table)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.strip() == f"OSError {table}"
    assert table.read_bytes() == before  # the old table, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [table.name]  # no temporary file
    assert oct(table.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_a_parquet_or_json_table_link_stays_a_link_and_keeps_its_mode(
    tmp_path: Path, suffix: str
) -> None:
    """As a CSV: the file a link names is replaced (the link stays), its mode kept."""
    if suffix == ".parquet":
        pytest.importorskip("pyarrow.parquet")
    real = tmp_path / "data" / f"p{suffix}"
    real.parent.mkdir()
    real.write_text("stale\n")
    real.chmod(0o600)
    link = tmp_path / f"l{suffix}"
    link.symlink_to(real)
    write_table({"rmssd_ms": np.array([30.0])}, link)
    assert link.is_symlink() and link.resolve() == real
    assert real.read_bytes() != b"stale\n"
    assert oct(real.stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in real.parent.iterdir()) == [real.name]
    if suffix == ".json":
        assert json.loads(real.read_text()) == [{"rmssd_ms": 30.0}]


def test_outputs_name_the_build_libraries_inputs_and_method_parameters(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review (res c2 item 1): every output said ``hrvpace_version: 0.1.0``, the same across
    commits that changed published numbers, and named the correction without its parameters,
    nor the DFA boxes, the stress index's bin, the ectopy thresholds, numpy/scipy, the input or
    the command line. Now the settings hold the build (a git checkout's commit: this test runs
    from one), the libraries, the command line and ``--exclude``, and the method parameters
    read from the code; each row holds its input's SHA-256."""
    import hashlib
    import inspect

    import scipy

    import hrv
    from hrv.ectopy import CORRECTED_LIMIT, SHARE_LIMIT, STEP_LIMIT

    (obj,) = _run(shared_data, "--exclude", "*.csv")
    s: Any = obj["settings"]
    build = s["hrvpace_build"]
    assert build["version"] == __version__
    head = subprocess.run(
        ["git", "-C", str(Path(__file__).resolve().parents[2]), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if head:  # a checkout: its commit (and -dirty when tracked files changed)
        assert build["build"].removesuffix("-dirty") == head
        assert build["build_from"] == "git checkout"
    assert s["libraries"]["numpy"] == np.__version__
    assert s["libraries"]["scipy"] == scipy.__version__
    assert s["command_line"][:2] == ["hrvpace", "analyze"] or s["command_line"][0] == "hrvpace"
    assert s["exclude"] == ["*.csv"]
    p = s["parameters"]
    clean_sig = inspect.signature(hrv.clean).parameters
    for name in ("c1", "c2", "alpha", "min_rr_ms", "max_rr_ms", "max_missed_beats"):
        assert p["correction"][name] == clean_sig[name].default, name
    assert (p["correction"]["c1"], p["correction"]["c2"], p["correction"]["alpha"]) == (
        0.13,
        0.17,
        5.2,
    )
    assert (p["dfa_alpha1"]["n_min"], p["dfa_alpha1"]["n_max"]) == (4, 16)
    assert p["stress_index"]["bin_ms"] == 50.0
    assert p["ectopy"]["share_limit"] == SHARE_LIMIT == 0.08
    assert p["ectopy"]["step_limit"] == STEP_LIMIT and p["ectopy"]["corrected_limit"] == (
        CORRECTED_LIMIT
    )
    digest = hashlib.sha256((shared_data / REST).read_bytes()).hexdigest()
    assert obj["sha256"] == digest
    # the summary table has the hash in a column, the sidecar the same settings
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app, ["analyze", str(shared_data / REST), "-q", "--summary", str(out), "--exclude", "x"]
    )
    assert res.exit_code == 0, res.output
    header = out.read_text().splitlines()[0].split(",")
    assert "sha256 [text]" in header
    assert digest in out.read_text()
    side = json.loads(sidecar_path(out).read_text())
    assert side["settings"]["parameters"] == p and side["settings"]["exclude"] == ["x"]


def test_replay_end_names_the_version_and_settings(shared_data: Path) -> None:
    """Review (res c2 item 1): ``replay --json``'s ``replay_end`` had no version or settings."""
    res = runner.invoke(
        app, ["replay", str(shared_data / REST), "--speed", "max", "--json", "--end", "2:00"]
    )
    assert res.exit_code == 0, res.output
    end = json.loads(res.stdout.splitlines()[-1])
    assert end["type"] == "replay_end"
    assert end["hrvpace_version"] == __version__
    assert end["hrvpace_build"]["version"] == __version__
    assert end["settings"]["window_s"] == 60.0
    assert end["libraries"]["numpy"] == np.__version__


def test_build_label_names_the_commit_or_says_it_is_unknown() -> None:
    """Review (res c3 item 1): the report's footer and data table name the build in one line
    from :func:`api._version.provenance`'s ``hrvpace_build`` (the same dict analyze records)."""
    from api._version import build_info, build_label, provenance

    p = provenance()
    assert p["hrvpace_build"] == build_info() and p["hrvpace_version"] == __version__
    p["hrvpace_build"]["build"] = "changed"  # a fresh dict: the cached build is not touched
    assert build_info()["build"] != "changed"
    info = {
        "version": "1.2",
        "installed_version": "1.2",
        "build": "abc-dirty",
        "build_from": "git checkout",
    }
    assert build_label(info) == "hrvpace 1.2, build abc-dirty (git checkout)"
    wheel = {"version": "1.2", "installed_version": "1.1", "build": None, "build_from": None}
    assert build_label(wheel) == "hrvpace 1.2, build unknown, installed 1.1"


def test_a_touched_file_is_not_dirty_a_changed_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (rev3 F1): ``git diff-index`` trusts the index's stat data, so a tracked file
    with a new mtime and the same bytes (``cp -r``, a CI cache, a tool rewriting it) made the
    build ``<commit>-dirty``. The build compares content now, and does not rewrite the index."""
    import os

    from api._version import _git_build

    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    f = tmp_path / "a.txt"
    f.write_text("one\n")
    git("init", "-q")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    head = git("rev-parse", "HEAD")
    assert _git_build(tmp_path) == head
    index = tmp_path / ".git" / "index"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched, same bytes
    before = index.read_bytes()
    assert _git_build(tmp_path) == head
    assert index.read_bytes() == before  # the probe left the index alone
    f.write_text("two\n")
    assert _git_build(tmp_path) == f"{head}-dirty"
