"""``hrvpace analyze`` outputs say which version and settings made them (review finding).

A 120-s ``--no-clean`` windows table could not be told from a 300-s cleaned one, and the
spectral settings (smoothness priors lambda, 4 Hz, 128-s Hann segments, nfft) were only in the
HTML report. Each output is read back here: the Parquet schema metadata, the sidecar of a CSV,
every ``--json`` line; the spectral settings are those the report's caption is made from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api._version import __version__
from api.cli import app
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
        side = json.loads(table.with_suffix(".json").read_text())
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
    assert "in NAME.json beside it" in words


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
