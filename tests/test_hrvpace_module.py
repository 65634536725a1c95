"""``import hrvpace`` (issue 19 item 6): one call from Python, the same numbers as the CLI."""

from __future__ import annotations

import doctest
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import breathing
import hrv
import hrvpace
import sensors
from api.cli import app
from api.research.analysis import SUMMARY_FIELDS, summarize

runner = CliRunner()


def test_public_api_of_the_packages_is_re_exported() -> None:
    for pkg in (hrv, sensors, breathing):
        for name in pkg.__all__:
            assert getattr(hrvpace, name) is getattr(pkg, name), name
            assert name in hrvpace.__all__
    assert hrvpace.hrv is hrv and hrvpace.api.__name__ == "api"
    assert len(set(hrvpace.__all__)) == len(hrvpace.__all__)  # no name shadows another
    with pytest.raises(AttributeError):
        _ = hrvpace.no_such_thing


@pytest.mark.parametrize(
    "name", ["hrvpkg_rest_rri_ms.txt", "hrvpkg_exercise_rri.hrm", "ghrv_beat_ascii.txt"]
)
def test_analyze_a_file_equals_the_command_line(shared_data: Path, name: str) -> None:
    pd = pytest.importorskip("pandas")
    path = shared_data / name
    df = hrvpace.analyze(path)
    assert isinstance(df, pd.DataFrame) and len(df) == 1
    assert list(df.columns) == ["path", *SUMMARY_FIELDS]
    res = runner.invoke(app, ["analyze", str(path), "--json"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)
    cli_settings = cli.pop("settings")
    # the command line's own arguments are the one thing a Python call does not have
    assert df.attrs["hrvpace_settings"]["command_line"] is None
    assert cli_settings["command_line"][0] == "hrvpace"
    assert {**df.attrs["hrvpace_settings"], "command_line": None} == {
        **cli_settings,
        "command_line": None,
    }
    assert cli.pop("hrvpace_version") == df.attrs["hrvpace_settings"]["hrvpace_version"]
    row = df.iloc[0].to_dict()
    for key, value in cli.items():
        got = row[key]
        if value is None:
            assert got is None or got != got, key  # None or NaN in a DataFrame
        else:
            assert got == value, key


def test_analyze_an_array_a_recording_and_a_segment(shared_data: Path) -> None:
    rec = hrvpace.read(shared_data / "hrvpkg_rest_rri_ms.txt")
    exp, _, _ = summarize(rec.rr_ms)
    row = hrvpace.analyze(np.asarray(rec.rr_ms), as_dict=True)
    assert row["path"] is None and row["format"] == "array"
    for key in ("n_beats", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "dfa_alpha1"):
        assert row[key] == exp[key], key
    assert hrvpace.analyze(rec, as_dict=True)["rmssd_ms"] == exp["rmssd_ms"]
    seg = hrvpace.analyze(rec, start="1:00", end=300, as_dict=True)
    assert seg["segment"] == "1:00-300" and seg["n_beats"] < row["n_beats"]
    nk = hrvpace.analyze(rec, names="neurokit", as_dict=True)
    assert nk["HRV_RMSSD"] == exp["rmssd_ms"] and nk["HRV_LF_ms2"] == exp["lf_ms2"]
    with pytest.raises(hrv.HrvInputError, match="1-D"):
        hrvpace.analyze(np.ones((3, 3)))


def test_units_apply_to_an_array_and_format_is_refused_where_it_means_nothing(
    shared_data: Path,
) -> None:
    """Review finding: ``hrvpace.analyze(array, units="s")`` ignored ``units`` (seconds were
    analysed as ms, or refused by the core's check), and ``format`` was silently ignored."""
    rec = hrvpace.read(shared_data / "hrvpkg_rest_rri_ms.txt")
    in_ms = hrvpace.analyze(np.asarray(rec.rr_ms), as_dict=True)
    in_s = hrvpace.analyze(np.asarray(rec.rr_ms) / 1000.0, units="s", as_dict=True)
    assert in_s["units"] == "s" and in_ms["units"] == "ms"
    for key in ("n_beats", "mean_rr_ms", "rmssd_ms", "sdnn_ms", "lf_ms2"):
        assert in_s[key] == pytest.approx(in_ms[key], rel=1e-9), key
    with pytest.raises(hrv.HrvInputError, match="units must be"):
        hrvpace.analyze(rec.rr_ms, units="us")
    with pytest.raises(hrv.HrvInputError, match="format='plain' describes a file"):
        hrvpace.analyze(rec.rr_ms, format="plain")
    for options in ({"units": "s"}, {"format": "polar_hrm"}):
        with pytest.raises(hrv.HrvInputError, match="a Recording is already read"):
            hrvpace.analyze(rec, **options)


def test_seconds_convert_as_the_readers_convert_them(tmp_path: Path) -> None:
    """Review finding: analyze(array, units="s") repeated the readers' conversion without its
    overflow guard: a corrupt 1e308 s raised a floating-point RuntimeWarning (an error under
    -W error) instead of the core's refusal naming the value."""
    rr_s = [0.8, 1.001, 0.799] * 20
    path = tmp_path / "rr_s.txt"
    path.write_text("\n".join(str(v) for v in rr_s) + "\n")
    from_file = hrvpace.read(path, units="s")
    from_array = hrvpace.analyze(np.asarray(rr_s), units="s", as_dict=True)
    assert from_file.rr_ms[1] == 1001.0  # not 1000.9999999999999
    assert from_array["mean_rr_ms"] == hrvpace.analyze(from_file, as_dict=True)["mean_rr_ms"]
    with pytest.raises(hrv.HrvInputError, match="index 1 is inf"):
        hrvpace.analyze(np.asarray([0.8, 1e308] + [0.8] * 50), units="s")


def test_read_chooses_format_and_units_like_analyze(shared_data: Path) -> None:
    rec = hrvpace.read(shared_data / "nsr2db_nsr001_rr_secs.txt")
    assert rec.source_format == "physionet_rr_secs" and rec.start_s == pytest.approx(225.797)
    with pytest.raises(sensors.RecordingFormatError, match="--units s"):
        hrvpace.read(shared_data / "ghrv_chapter6_rr.txt")
    assert hrvpace.read(shared_data / "ghrv_chapter6_rr.txt", units="s").n_beats == 15456


def test_a_dict_without_pandas(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    row = hrvpace.analyze(shared_data / "hrvpkg_rest_rri_ms.txt")
    assert isinstance(row, dict) and row["n_beats"] == 910


def test_docstring_examples_run() -> None:
    failures, tried = doctest.testmod(hrvpace, globs={"hrvpace": hrvpace}, verbose=False)
    assert tried > 0 and failures == 0


def test_readme_python_example_prints_what_readme_shows(shared_data: Path) -> None:
    """README's ``import hrvpace`` example: the table it shows is what the call gives today."""
    pd = pytest.importorskip("pandas")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    start = lines.index('>>> df = hrvpace.analyze("../shared/data/hrvpkg_rest_rri_ms.txt")')
    columns_call = lines[start + 1]
    assert columns_call.startswith(">>> df[")
    shown = lines[start + 2 : start + 4]  # the header and the row README prints
    df = hrvpace.analyze(shared_data / "hrvpkg_rest_rri_ms.txt")
    assert isinstance(df, pd.DataFrame)
    got = eval(columns_call[4:], {"df": df})  # README's own expression
    assert str(got).splitlines() == shown


def test_settings_record_how_the_file_or_array_was_read(shared_data: Path) -> None:
    """Code review: attrs["hrvpace_settings"] always said format/units null and drop_zero
    False whatever was passed; they are what the call asked for, as the command line's."""
    pytest.importorskip("pandas")
    path = shared_data / "nsr2db_nsr001_rr_secs.txt"
    df = hrvpace.analyze(path, format="physionet_rr_secs", units="s", drop_zero=True, end="5:00")
    s = df.attrs["hrvpace_settings"]
    assert (s["format"], s["units"], s["drop_zero"]) == ("physionet_rr_secs", "s", True)
    assert s["segments"] == [{"label": "start-5:00", "start_s": None, "end_s": 300.0}]
    args = ["analyze", str(path), "--json", "-q", "--format", "physionet_rr_secs"]
    res = runner.invoke(app, [*args, "--units", "s", "--drop-zero", "--end", "5:00"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)["settings"]
    for key in ("format", "units", "drop_zero", "clean", "correction", "frequency"):
        assert s[key] == cli[key], key
    arr = hrvpace.analyze(np.array([0.8, 0.81, 0.79] * 100), units="s")
    a = arr.attrs["hrvpace_settings"]
    assert (a["format"], a["units"], a["drop_zero"]) == (None, "s", False)
    assert (
        hrvpace.analyze(np.array([800.0, 810.0] * 150)).attrs["hrvpace_settings"]["units"] == "ms"
    )


def test_every_hrv_name_the_readme_gives_exists() -> None:
    """Code review: README sent readers to ``hrv.live_settings``, which hrv did not export.
    Every ``hrv.NAME`` (or ``hrv.module.NAME``) in README resolves; live_settings is public."""
    import importlib
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"`hrv\.([A-Za-z_][A-Za-z_0-9.]*)", readme)))
    assert "live_settings" in names
    missing = []
    for name in names:
        obj: object = hrv
        parts = name.split(".")
        for i, part in enumerate(parts):
            if hasattr(obj, part):
                obj = getattr(obj, part)
                continue
            try:
                obj = importlib.import_module("hrv." + ".".join(parts[: i + 1]))
            except ImportError:
                missing.append(name)
                break
    assert missing == []
    assert "live_settings" in hrv.__all__ and hrv.live_settings()["window_s"] == 60.0
