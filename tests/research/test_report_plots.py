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
    summary, rr, gaps = summarize(rec.rr_ms)
    rows = {m: (g, v, u) for g, m, v, u in number_rows(summary, rr, gaps)}
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


@pytest.mark.parametrize(
    ("name", "hole_at"),
    [("hrvpkg_rest_rri_ms.txt", None), ("rrhealthy_000_rr_ms.txt", 900)],
)
def test_spectrum_plot_peaks_are_the_reported_peaks(
    shared_data: Path, name: str, hole_at: int | None
) -> None:
    """The drawn curve's LF and HF maxima sit in the bins of the reported peaks, refining them
    gives the reported peaks, and its band areas are the reported LF and HF (with a gap too)."""
    from api.research.report import _pyplot
    from api.research.report_plots import spectrum
    from hrv._spectral import refined_peak_hz
    from hrv.frequency import HF_BAND_HZ, LF_BAND_HZ

    rec = read_recording(shared_data / name)
    rr_in = np.asarray(rec.rr_ms[:1800], dtype=np.float64)
    gaps_in = np.zeros(rr_in.size, dtype=bool)
    if hole_at is not None:
        gaps_in[hole_at] = True
    summary, rr, gaps = summarize(rr_in, gaps=gaps_in)
    figures: list[object] = []

    def keep(fig: object) -> bytes:
        figures.append(fig)
        return b"png"

    plt = _pyplot()
    made = spectrum(rr, gaps, summary, keep, plt)
    assert made is not None and made[0] == "spectrum.png" and made[2] == b"png"
    (fig,) = figures
    curve = fig.axes[0].lines[0]  # type: ignore[attr-defined]
    f = np.asarray(curve.get_xdata(), dtype=np.float64)
    p = np.asarray(curve.get_ydata(), dtype=np.float64)
    plt.close(fig)
    df = f[1] - f[0]
    for band, power_key, peak_key in (
        (LF_BAND_HZ, "lf_ms2", "lf_peak_hz"),
        (HF_BAND_HZ, "hf_ms2", "hf_peak_hz"),
    ):
        inside = np.flatnonzero((f >= band[0]) & (f < band[1]))
        k = int(inside[np.argmax(p[inside])])
        reported = summary[peak_key]
        assert abs(f[k] - reported) <= df / 2  # the drawn maximum is the reported peak's bin
        refined = float(refined_peak_hz(p[None, :], np.array([k]), f, band)[0])
        assert refined == reported
        assert float(p[inside].sum() * df) == pytest.approx(summary[power_key], rel=1e-12)
    if hole_at is not None:
        assert "left out at gaps" in made[1]


def test_a_number_left_out_says_why_not_a_bare_dash(shared_data: Path) -> None:
    """First-day review: a short recording's frequency rows were a bare '-' (PDF and HTML
    alike); each now says why: the spectrum's 128 s, VLF's 5 min, coherence's 64 s."""
    rr = read_recording(shared_data / "hrvpkg_rest_rri_ms.txt").rr_ms
    short, r, g = summarize(rr[:100])  # ~108 s: no spectrum
    rows = {m: v for _, m, v, _ in number_rows(short, r, g)}
    assert "-" not in rows.values()
    for name in ("vlf_ms2", "lf_ms2", "lf_peak_hz", "hf_peak_hz", "lf_hf"):
        assert rows[name].startswith("n/a: too short: the spectrum needs 128-136 s "), name
    assert rows["ectopy_reason"] == "none"
    four_min, r, g = summarize(rr[:220])  # ~240 s: LF/HF, no VLF
    rows = {m: v for _, m, v, _ in number_rows(four_min, r, g)}
    assert rows["vlf_ms2"] == "n/a: too short: VLF needs 300 s (5 min)"
    assert rows["lf_ms2"] == f"{four_min['lf_ms2']:,.0f}"
    tiny, r, g = summarize(rr[:50])  # ~54 s: no 64-s coherence window
    rows = {m: v for _, m, v, _ in number_rows(tiny, r, g)}
    assert rows["coherence_peak_hz"] == "n/a: too short: coherence needs 64 s of beats"
    assert rows["coherence_ratio"] == rows["coherence_peak_hz"]


def test_a_reason_is_the_true_cause_not_a_guess_from_the_length() -> None:
    """Review of 0cadff8: 150 s of clean beats (no gap) got "no 128 s of beats without a gap"
    (Welch trims 20 beats at each end, so no segment fits until ~160-175 s), and 100 s of
    constant beats got "no 64-s window without a gap" for coherence and "too few beats" for
    DFA and the stress index, where the cause is zero variance."""
    clean = 1000.0 + 30.0 * np.sin(np.arange(150) * 0.7)  # 150 s, no gap
    summary, r, g = summarize(clean)
    assert summary["n_gaps"] == 0 and summary["total_ms2"] is None
    rows = {m: v for _, m, v, _ in number_rows(summary, r, g)}
    interior = (np.sum(clean[21:130])) / 1000.0  # t[N-21] - t[20]
    assert rows["lf_ms2"] == (
        "n/a: too short: the spectrum needs 128-136 s between the first and last 20 beats "
        f"({interior:.0f} s here)"
    )
    assert "gap" not in " ".join(rows.values())
    with_gaps = np.zeros(clean.size * 2, dtype=bool)
    with_gaps[[60, 140, 220]] = True  # 300 s with a gap every 80 s: no segment fits between
    summary, r, g = summarize(np.tile(clean, 2), gaps=with_gaps)
    rows = {m: v for _, m, v, _ in number_rows(summary, r, g)}
    assert rows["lf_ms2"].startswith("n/a: every 128-s segment touches a gap (")
    flat, r, g = summarize(np.full(100, 1000.0))  # 100 s of constant beats
    assert flat["n_gaps"] == 0
    rows = {m: v for _, m, v, _ in number_rows(flat, r, g)}
    assert rows["coherence_ratio"] == "n/a: zero variance: every interval is the same (no power)"
    assert rows["dfa_alpha1"].startswith("n/a: zero variance")
    assert rows["stress_index"].startswith("n/a: zero variance")
    assert rows["ln_rmssd"].startswith("n/a: zero variance")
    few, r, g = summarize(np.full(20, 1000.0) + np.arange(20.0))
    rows = {m: v for _, m, v, _ in number_rows(few, r, g)}
    assert rows["dfa_alpha1"] == "n/a: too few beats: DFA alpha1 needs 32"
    assert rows["lf_ms2"] == "n/a: too few beats: the spectrum needs 42"


def test_a_sessions_source_in_the_data_table_is_rounded() -> None:
    """A simulator's ``duration_s`` was printed as stored (1234.56789); ``None`` entries said
    ``units=None``."""
    from api.research.report import _duration, _provenance_value

    source = {"kind": "simulator", "duration_s": 1234.56789, "units": None, "speed": 10.0}
    assert _provenance_value(source) == "kind=simulator, duration_s=1,234.6, speed=10"
    assert _duration(963.434) == "963.4 s (16.1 min)"


def test_an_assessment_without_an_estimate_says_why() -> None:
    """The caption read "estimate none breaths/min (none)." before the engine's reason."""
    pytest.importorskip("matplotlib")
    from api.research.report import _assessment

    rates = [{"rate_bpm": r, "peak_to_trough_bpm": None, "phase_deg": None} for r in (6.5, 5.5)]
    result = {"rates": rates, "resonance_bpm": None, "method": "none", "reason": "no usable rate"}
    plot = _assessment(result)
    assert plot is not None
    assert plot.caption == "Resonance assessment: 2 paced rates; no estimate: no usable rate"


def test_the_pdf_numbers_table_keeps_each_reason_inside_its_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review of 0cadff8: the PDF's four equal columns cut a 45-62-character reason off
    ("n/a: too short: the spectrum n") and ran it under the unit cell and off the table. Every
    cell's text (as drawn) now lies inside its cell and every cell inside the page."""
    pytest.importorskip("matplotlib")
    from matplotlib.backends import backend_pdf
    from matplotlib.table import Table

    from api.research.report_plots import pdf_bytes

    drawn: list[object] = []
    saved = backend_pdf.PdfPages.savefig

    def spy(self: object, figure: object = None, **kw: object) -> None:
        figure.canvas.draw()  # type: ignore[attr-defined]  # lays the table out (Agg)
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        page = figure.bbox  # type: ignore[attr-defined]
        for ax in figure.axes:  # type: ignore[attr-defined]
            for table in (c for c in ax.get_children() if isinstance(c, Table)):
                for cell in table.get_celld().values():
                    box = cell.get_window_extent(renderer)
                    text = cell.get_text().get_window_extent(renderer)
                    drawn.append(cell.get_text().get_text())
                    assert box.x0 >= page.x0 and box.x1 <= page.x1 + 0.5, box
                    assert text.x0 >= box.x0 - 0.5 and text.x1 <= box.x1 + 0.5, (
                        cell.get_text().get_text()
                    )
                    assert text.y0 >= box.y0 - 0.5 and text.y1 <= box.y1 + 0.5
                    assert box.y0 >= page.y0 - 0.5, "the table runs off the page"
        saved(self, figure, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(backend_pdf.PdfPages, "savefig", spy)
    summary, r, g = summarize(np.full(100, 1000.0))  # the longest reasons: spectrum, flat
    pdf = pdf_bytes("hrvpace report: flat", number_rows(summary, r, g), [])
    assert pdf.startswith(b"%PDF")
    assert any("too short: the spectrum needs" in t for t in drawn)
