"""The report's Poincaré, histogram and DFA plots and its grouped numbers, on real recordings.

The drawn geometry is checked against the HRV core: the ellipse's SD1/SD2 are the spread of
the successive pairs across and along the identity line, and the DFA points the report draws
give exactly :func:`hrv.dfa_alpha1` when fitted over 4-16 beats.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hrv
from api.cli import app
from api.research.analysis import summarize
from api.research.report_plots import (
    GROUPS,
    dfa_fluctuations,
    format_value,
    number_rows,
)
from sensors import read_recording

runner = CliRunner()


@pytest.mark.parametrize("name", ["hrvpkg_rest_rri_ms.txt", "hrvpkg_noisy_rri.hrm"])
def test_dfa_points_give_hrv_dfa_alpha1(shared_data: Path, name: str) -> None:
    rec = read_recording(shared_data / name)
    summary, rr, _ = summarize(rec.rr_ms, gaps=rec.gaps)
    sizes = np.arange(4, 17)
    f = dfa_fluctuations(rr, sizes)
    slope = np.polyfit(np.log10(sizes), np.log10(f), 1)[0]
    assert math.isclose(slope, summary["dfa_alpha1"], rel_tol=1e-9)
    assert summary["dfa_alpha1"] == hrv.dfa_alpha1(rr).alpha1


def test_poincare_ellipse_axes_are_the_pairs_spread(shared_data: Path) -> None:
    rec = read_recording(shared_data / "hrvpkg_rest_rri_ms.txt")
    summary, rr, _ = summarize(rec.rr_ms)
    x, y = rr[:-1], rr[1:]
    across = np.std((y - x) / math.sqrt(2), ddof=1)
    along = np.std((x + y) / math.sqrt(2), ddof=1)
    assert math.isclose(across, summary["sd1_ms"], rel_tol=1e-9)
    assert math.isclose(along, summary["sd2_ms"], rel_tol=1e-3)


def test_numbers_grouped_with_units_and_precision(shared_data: Path) -> None:
    rec = read_recording(shared_data / "hrvpkg_rest_rri_ms.txt")
    summary, _, _ = summarize(rec.rr_ms)
    rows = {m: (g, v, u) for g, m, v, u in number_rows(summary)}
    assert rows["rmssd_ms"] == ("Time domain", f"{summary['rmssd_ms']:.1f}", "ms")
    assert rows["lf_ms2"] == ("Frequency domain", f"{summary['lf_ms2']:,.0f}", "ms^2")
    assert rows["lf_peak_hz"][2] == "Hz" and rows["dfa_alpha1"][0] == "Nonlinear"
    assert rows["corrected_pct"][0] == "Artefact correction"
    # every metric of the summary is in exactly one group
    grouped = [n for _, names in GROUPS for n in names]
    assert len(grouped) == len(set(grouped))
    assert set(summary) - set(grouped) <= {"cleaned", "format", "units", "read_as"}
    assert format_value(80_970.0, "s") == "80,970.0" and format_value(None, "ms") == "-"


def test_report_has_the_new_plots_and_a_pdf(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["report", str(shared_data / "hrvpkg_rest_rri_ms.txt"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    text = out.read_text()
    for needle in ("Poincaré plot of the cleaned series", "RR histogram", "alpha1 = 0.910"):
        assert needle in text
    assert "<h3>Artefact correction</h3>" in text and "intervals by label" in text
    pdf = out.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and str(pdf) in res.stdout
