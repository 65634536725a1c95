"""The report's plots of the beat-to-beat structure, and its grouped numbers (a Kubios-style page).

- :func:`spectrum`: the power spectral density of the cleaned series, :func:`hrv.power_spectrum`
  with the series' gaps and the defaults of :func:`hrv.frequency_domain` (Welch, 4 Hz natural
  spline, 128-s Hann segments, smoothness-priors detrending), with the VLF/LF/HF bands shaded
  and the LF and HF peaks marked. The curve is the very array whose band sums and refined
  maxima are the report's numbers, so the drawn peaks are the reported ones.
- :func:`poincare`: RR(n+1) against RR(n) of the cleaned series (pairs across a gap left out)
  with the SD1/SD2 ellipse: centred on the mean RR on the identity line, semi-axes SD2 along
  it and SD1 across it (Brennan, Palaniswami & Kamen 2001; Tarvainen et al. 2014, Kubios).
  SD1/SD2 are the report's numbers (:func:`hrv.time_domain`).
- :func:`histogram`: the RR histogram with bins of 1/128 s = 7.8125 ms, the Task Force's bin
  for geometric measures (Task Force 1996).
- :func:`dfa_plot`: log10 F(n) against log10 n of detrended fluctuation analysis (Peng et al.
  1995): the profile ``cumsum(rr - mean)``, non-overlapping boxes of n beats, a least-squares
  line removed in each, F(n) the RMS of the residuals; the alpha1 line of the numbers
  (:func:`hrv.dfa_alpha1`, 4-16 beats) is drawn over the points it fits.
- :func:`numbers_html` / :func:`number_rows`: the numbers grouped (recording, artefact
  correction, time domain, frequency domain, nonlinear, coherence) with a unit column
  (:mod:`api.research.units`) and a precision suited to each unit.

References
----------
Brennan M., Palaniswami M., Kamen P. (2001). Do existing measures of Poincare plot geometry
reflect nonlinear features of heart rate variability? IEEE Trans Biomed Eng 48(11), 1342-1347.
Peng C.-K. et al. (1995). Quantification of scaling exponents and crossover phenomena in
nonstationary heartbeat time series. Chaos 5(1), 82-87.
Task Force of the ESC and NASPE (1996). Heart rate variability. Circulation 93(5), 1043-1065.
Tarvainen M.P. et al. (2014). Kubios HRV. Comput Methods Programs Biomed 113(1), 210-220.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

import hrv
from api.research.analysis import COHERENCE_WINDOW_S
from api.research.units import unit_of
from hrv.ectopy import MIN_STEPS
from hrv.frequency import HF_BAND_HZ, LF_BAND_HZ, MIN_VLF_SPAN_S, VLF_BAND_HZ
from hrv.spectrum import (
    MIN_BEATS,
    MIN_SPAN_S,
    WELCH_HOP,
    WELCH_MIN_BEATS,
    WELCH_SEGMENT,
    spectrum_settings,
)

__all__ = [
    "DFA_DISPLAY_MAX",
    "GROUPS",
    "HIST_BIN_MS",
    "PDF_COL_WIDTHS",
    "dfa_fluctuations",
    "dfa_plot",
    "histogram",
    "missing_reason",
    "number_rows",
    "numbers_html",
    "numbers_page",
    "poincare",
    "spectrum",
]

#: Histogram bin width (ms): 1/128 s, the Task Force's bin for geometric measures.
HIST_BIN_MS = 1000.0 / 128.0
#: Largest DFA box drawn (beats); alpha1 is fitted over 4-16.
DFA_DISPLAY_MAX = 64
#: The largest box of :func:`hrv.dfa_alpha1` (beats): it needs two of them between gaps.
DFA_MAX_BOX = 16
#: Spacing of the Welch segments on the clock (s): a 128-s segment fits in 128-136 s.
WELCH_HOP_S = MIN_SPAN_S * WELCH_HOP / WELCH_SEGMENT
#: Share of a 64-s slot the interpolated interior must cover (:func:`hrv.coherence`).
_COHERENCE_COVER = 0.75

#: The report's number groups, in order: (title, fields of the summary).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Recording", ("n_beats", "duration_s", "analysed_s", "n_gaps", "gap_s", "quality")),
    (
        "Artefact correction",
        (
            "correction",
            "n_artefacts",
            "corrected_pct",
            "ectopy_warning",
            "irregular_steps_pct",
            "ectopy_reason",
        ),
    ),
    (
        "Time domain",
        ("mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "ln_rmssd", "sdsd_ms", "pnn50_pct"),
    ),
    (
        "Frequency domain",
        (
            "vlf_ms2",
            "lf_ms2",
            "hf_ms2",
            "total_ms2",
            "lf_hf",
            "lf_nu",
            "hf_nu",
            "lf_peak_hz",
            "hf_peak_hz",
            "frequency_method",
        ),
    ),
    ("Nonlinear", ("sd1_ms", "sd2_ms", "dfa_alpha1", "stress_index")),
    ("Coherence", ("coherence_ratio", "coherence_score", "coherence_peak_hz")),
)

_DECIMALS = {
    "ms": 1,
    "ms^2": 0,
    "Hz": 3,
    "%": 1,
    "1/min": 1,
    "n.u.": 1,
    "ratio": 2,
    "fraction": 3,
    "1": 3,
    "ln(ms)": 2,
    "s": 1,
}


def format_value(value: Any, unit: str) -> str:
    """A number with the precision its unit deserves (``55.5`` ms, ``701`` ms^2, ``0.092`` Hz).

    Examples
    --------
    >>> format_value(701.41, "ms^2"), format_value(0.0917, "Hz"), format_value(None, "ms")
    ('701', '0.092', '-')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit == "count" or isinstance(value, int):
        return f"{int(value):,}"
    return f"{float(value):,.{_DECIMALS.get(unit, 3)}f}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _zero_variance(rr: NDArray[np.float64]) -> bool:
    return rr.size >= 2 and float(np.ptp(rr)) == 0.0


def _spectrum_reason(rr: NDArray[np.float64], gaps: NDArray[np.bool_]) -> str:
    """Why :func:`hrv.power_spectrum` (Welch) gave nothing, from what it reports.

    Welch needs ``WELCH_MIN_BEATS`` beats and one whole 128-s segment (on the 8-s clock) inside
    the interior the spline leaves (``SPLINE_MARGIN`` beats out at each end) that touches no
    gap. ``n_segments_left_out`` counts the segments that fitted but touched a gap.
    """
    if rr.size < WELCH_MIN_BEATS:
        return f"too few beats: the spectrum needs {WELCH_MIN_BEATS}"
    spec = hrv.power_spectrum(rr, gaps=gaps if gaps[1:].any() else None)
    if spec.n_segments_left_out:
        return (
            f"every {MIN_SPAN_S:.0f}-s segment touches a gap ({spec.n_segments_left_out} left out)"
        )
    margin = (WELCH_MIN_BEATS - 2) // 2  # the spline's margin (beats left out at each end)
    t = np.cumsum(rr) / 1000.0
    interior_s = float(t[-1 - margin] - t[margin])
    return (
        f"too short: the spectrum needs {MIN_SPAN_S:.0f}-{MIN_SPAN_S + WELCH_HOP_S:.0f} s "
        f"between the first and last {margin} beats ({interior_s:.0f} s here)"
    )


def _coherence_reason(rr: NDArray[np.float64]) -> str:
    """Why every 64-s coherence window was ``None`` (:func:`hrv.coherence`'s rule)."""
    if float(np.sum(rr)) / 1000.0 < COHERENCE_WINDOW_S:
        return f"too short: coherence needs {COHERENCE_WINDOW_S:.0f} s of beats"
    if _zero_variance(rr):
        return "zero variance: every interval is the same (no power)"
    return (
        f"no {COHERENCE_WINDOW_S:.0f}-s window with {MIN_BEATS} beats, "
        f"{_COHERENCE_COVER:.0%} of it interpolated and some power"
    )


def _nonlinear_reason(name: str, rr: NDArray[np.float64], gaps: NDArray[np.bool_]) -> str:
    """Why a time-domain or nonlinear metric is ``None`` (the rules of hrv's functions)."""
    if name == "dfa_alpha1":
        need = 2 * DFA_MAX_BOX
        if rr.size < need:
            return f"too few beats: DFA alpha1 needs {need}"
        bounds = np.concatenate(([0], np.flatnonzero(gaps[1:]) + 1, [rr.size]))
        if int(np.sum(np.diff(bounds) // DFA_MAX_BOX)) < 2:
            return f"too few beats between gaps: DFA needs two {DFA_MAX_BOX}-beat boxes"
        return "zero variance: every interval is the same (F(n) = 0)"
    if name == "stress_index" and rr.size >= 2:
        return "zero variance: every interval is the same (max - min = 0)"
    if name == "ln_rmssd" and rr.size >= 2:
        return "zero variance: no beat-to-beat change (RMSSD = 0)"
    return "too few beats"


def missing_reason(
    name: str, summary: dict[str, Any], rr: NDArray[np.float64], gaps: NDArray[np.bool_]
) -> str:
    """Why ``summary[name]`` has no value, in a few words for the report's value cell.

    ``rr`` and ``gaps`` are the analysed series the summary was computed from
    (:func:`api.research.analysis.summarize`'s second and third results); the reason is what
    the computation reports for them, not a guess from the length: the spectrum's
    segments left out at gaps (:func:`hrv.power_spectrum`) or the interior its spline leaves
    (a :data:`hrv.spectrum.MIN_SPAN_S` segment between the first and last 20 beats), VLF's span of
    300 s (:data:`hrv.frequency.MIN_VLF_SPAN_S`), a band's peak power in that band, coherence's
    64-s windows (:func:`hrv.coherence`: 6 beats, 75 % interpolated, some power), the ectopy
    check's 30 successive differences (:data:`hrv.ectopy.MIN_STEPS`), DFA's two 16-beat boxes,
    and zero variance (a flat series) where that is the cause.

    Examples
    --------
    >>> import numpy as np
    >>> missing_reason("vlf_ms2", {"vlf_ms2": None, "total_ms2": 1400.0},
    ...                np.full(250, 1000.0), np.zeros(250, dtype=bool))
    'too short: VLF needs 300 s (5 min)'
    """
    spectral = ("vlf_ms2", "lf_ms2", "hf_ms2", "total_ms2", "lf_hf", "lf_nu", "hf_nu")
    if name in (*spectral, "lf_peak_hz", "hf_peak_hz"):
        if _missing(summary.get("total_ms2")):
            if summary.get("frequency_method", "welch") != "welch":
                return f"too short: Lomb-Scargle needs {MIN_BEATS} beats over {MIN_SPAN_S:.0f} s"
            return _spectrum_reason(rr, gaps)
        if name == "vlf_ms2":
            return f"too short: VLF needs {MIN_VLF_SPAN_S:.0f} s ({MIN_VLF_SPAN_S / 60:.0f} min)"
        if name in ("lf_peak_hz", "hf_peak_hz"):
            return f"no power in the {name[:2].upper()} band"
        if name == "lf_hf":
            return "no HF power (ratio over zero)"
        return "no LF or HF power (ratio over zero)"
    if name.startswith("coherence_"):
        return _coherence_reason(rr)
    if name in ("ectopy_warning", "irregular_steps_pct"):
        return f"not assessed: fewer than {MIN_STEPS} successive differences"
    if name == "ectopy_reason":
        return "none"
    return _nonlinear_reason(name, rr, gaps)


def number_rows(
    summary: dict[str, Any], rr: NDArray[np.float64], gaps: NDArray[np.bool_]
) -> list[tuple[str, str, str, str]]:
    """``(group, metric, value, unit)`` for every grouped field present in ``summary``.

    A value the summary lacks says why (:func:`missing_reason` of the analysed ``rr`` and
    ``gaps``), not a bare dash: "n/a: too short: VLF needs 300 s (5 min)"; ``ectopy_reason``
    with nothing to say is "none".
    """
    rr = np.asarray(rr, dtype=np.float64)
    gaps = np.asarray(gaps, dtype=np.bool_)
    rows = []
    for title, names in GROUPS:
        for name in names:
            if name in summary:
                unit = unit_of(name)
                value = summary[name]
                if not _missing(value):
                    shown = format_value(value, unit)
                elif name == "ectopy_reason":
                    shown = missing_reason(name, summary, rr, gaps)
                else:
                    shown = f"n/a: {missing_reason(name, summary, rr, gaps)}"
                rows.append((title, name, shown, unit))
    return rows


def numbers_html(
    summary: dict[str, Any],
    rr: NDArray[np.float64],
    gaps: NDArray[np.bool_],
    counts: dict[str, int] | None = None,
) -> str:
    """The grouped numbers as HTML tables (metric, value, unit), one per group.

    ``rr`` and ``gaps`` are the analysed series (for the reasons of missing values);
    ``counts`` (intervals per hrv.clean label) are listed under the artefact correction.
    """
    out = []
    rows = number_rows(summary, rr, gaps)
    for title, _ in GROUPS:
        body = "".join(
            f"<tr><th>{html.escape(m)}</th><td class='num'>{html.escape(v)}</td>"
            f"<td>{html.escape(u)}</td></tr>"
            for g, m, v, u in rows
            if g == title
        )
        if title == "Artefact correction" and counts:
            labelled = ", ".join(f"{k} {n}" for k, n in counts.items() if n and k != "normal")
            body += (
                "<tr><th>intervals by label</th>"
                f"<td colspan='2'>{html.escape(labelled or 'none')}</td></tr>"
            )
        if body:
            out.append(
                f"<h3>{html.escape(title)}</h3><table><tr><th>metric</th><th>value</th>"
                f"<th>unit</th></tr>{body}</table>"
            )
    return "".join(out)


def spectrum(
    rr: NDArray[np.float64],
    gaps: NDArray[np.bool_],
    summary: dict[str, Any],
    png: Callable[[Any], bytes],
    plt: Any,
) -> tuple[str, str, bytes] | None:
    """Power spectrum of the cleaned series with its bands and peaks, ``(file, caption, PNG)``.

    ``summary`` is :func:`api.research.analysis.summarize` of the same ``rr`` and ``gaps``; the
    curve is :func:`hrv.power_spectrum` of them with the same settings, so its band areas and
    maxima are the summary's ``lf_ms2``/``hf_ms2`` and ``lf_peak_hz``/``hf_peak_hz``.
    ``None`` when the series is too short for a spectrum.
    """
    spec = hrv.power_spectrum(rr, gaps=gaps if gaps[1:].any() else None)
    p = spec.power_ms2_per_hz
    if p is None:
        return None
    f = spec.freq_hz
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.plot(f, p, color="#1f77b4", lw=1.0, label="PSD (hrv.power_spectrum)")
    lf_lo, lf_hi = LF_BAND_HZ
    hf_lo, hf_hi = HF_BAND_HZ
    ax.axvspan(VLF_BAND_HZ[0], VLF_BAND_HZ[1], color="#7f7f7f", alpha=0.10, label="VLF")
    ax.axvspan(lf_lo, lf_hi, color="#ff7f0e", alpha=0.15, label=f"LF {lf_lo}-{lf_hi} Hz")
    ax.axvspan(hf_lo, hf_hi, color="#2ca02c", alpha=0.12, label=f"HF {hf_lo}-{hf_hi} Hz")
    for key, colour, name in (("lf_peak_hz", "#d62728", "LF"), ("hf_peak_hz", "#9467bd", "HF")):
        peak = summary.get(key)
        if isinstance(peak, float):
            ax.axvline(peak, color=colour, lw=1.2, ls="--", label=f"{name} peak {peak:.4f} Hz")
    ax.set_xlim(0.0, float(f[-1]))
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD (ms²/Hz)")
    ax.set_title("Power spectrum of the cleaned recording")
    ax.legend(fontsize=7)
    lf, hf = summary.get("lf_ms2"), summary.get("hf_ms2")
    numbers = (
        f" LF {lf:.1f} ms², HF {hf:.1f} ms² are this curve's band areas."
        if isinstance(lf, float) and isinstance(hf, float)
        else ""
    )
    # the settings the analyze tables record (hrv.spectrum.spectrum_settings): one source
    st = spectrum_settings(spec.method, spec.detrend)
    detrend = (
        f"smoothness priors (lambda {st['smoothness_priors_lambda']:g})"
        if st["detrend"] == "smoothness_priors"
        else str(st["detrend"] or "mean only")
    )
    left_out = f", {spec.n_segments_left_out} left out at gaps" if spec.n_segments_left_out else ""
    caption = (
        f"Power spectrum (hrv.power_spectrum: Welch on the {st['resample_hz']:g} Hz "
        f"natural-spline tachogram, {spec.n_segments} {st['segment_s']:g}-s Hann segments every "
        f"{st['segment_step_s']:g} s{left_out}, nfft {st['nfft']}, detrended by {detrend}; "
        f"bins {spec.df_hz:.4f} Hz, peaks refined between bins).{numbers}"
    )
    return "spectrum.png", caption, png(fig)


def _successive_pairs(
    rr: NDArray[np.float64], gaps: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ok = ~np.asarray(gaps[1:], dtype=np.bool_)
    return rr[:-1][ok], rr[1:][ok]


def poincare(
    rr: NDArray[np.float64],
    gaps: NDArray[np.bool_],
    summary: dict[str, Any],
    png: Callable[[Any], bytes],
    plt: Any,
) -> tuple[str, str, bytes] | None:
    """Poincaré plot with the SD1/SD2 ellipse, as ``(file name, caption, PNG)``."""
    x, y = _successive_pairs(rr, gaps)
    sd1, sd2, mean = summary.get("sd1_ms"), summary.get("sd2_ms"), summary.get("mean_rr_ms")
    if not (isinstance(sd1, float) and isinstance(sd2, float) and isinstance(mean, float)):
        return None
    if x.size < 3:
        return None
    from matplotlib.patches import Ellipse

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(x, y, s=3, alpha=0.35, color="#1f77b4", linewidths=0)
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8)
    ax.add_patch(
        Ellipse((mean, mean), 2 * sd2, 2 * sd1, angle=45.0, fill=False, color="#d62728", lw=1.5)
    )
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    ax.plot([mean, mean + sd2 * c], [mean, mean + sd2 * s], color="#2ca02c", lw=1.5, label="SD2")
    ax.plot([mean, mean - sd1 * s], [mean, mean + sd1 * c], color="#ff7f0e", lw=1.5, label="SD1")
    ax.set_xlabel("RR(n) (ms)")
    ax.set_ylabel("RR(n+1) (ms)")
    ax.set_aspect("equal")
    ax.set_title("Poincaré plot")
    ax.legend(fontsize=7)
    caption = (
        f"Poincaré plot of the cleaned series ({x.size} successive pairs): SD1 {sd1:.1f} ms "
        f"(across the identity line), SD2 {sd2:.1f} ms (along it), ellipse centred on the mean "
        f"RR {mean:.1f} ms (Brennan et al. 2001)."
    )
    return "poincare.png", caption, png(fig)


def histogram(
    rr: NDArray[np.float64], summary: dict[str, Any], png: Callable[[Any], bytes], plt: Any
) -> tuple[str, str, bytes] | None:
    """RR histogram (bins of :data:`HIST_BIN_MS`)."""
    if rr.size < 3:
        return None
    lo = math.floor(float(rr.min()) / HIST_BIN_MS) * HIST_BIN_MS
    edges = np.arange(lo, float(rr.max()) + 2 * HIST_BIN_MS, HIST_BIN_MS)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(rr, bins=edges, color="#1f77b4")
    ax.set_xlabel("RR interval (ms)")
    ax.set_ylabel("intervals")
    ax.set_title("RR histogram")
    mean, sdnn = summary.get("mean_rr_ms"), summary.get("sdnn_ms")
    extra = (
        f" Mean {mean:.1f} ms, SDNN {sdnn:.1f} ms."
        if isinstance(mean, float) and isinstance(sdnn, float)
        else ""
    )
    caption = f"RR histogram of the cleaned series, bins of 1/128 s = 7.8125 ms.{extra}"
    return "histogram.png", caption, png(fig)


def dfa_fluctuations(rr: NDArray[np.float64], sizes: NDArray[np.int64]) -> NDArray[np.float64]:
    """F(n) of DFA for each box size (see the module docstring)."""
    profile = np.cumsum(rr - rr.mean())
    out = np.empty(sizes.size, dtype=np.float64)
    for k, n in enumerate(sizes.tolist()):
        m = profile.size // n
        boxes = profile[: m * n].reshape(m, n)
        t = np.arange(n, dtype=np.float64)
        tc = t - t.mean()
        slope = (boxes - boxes.mean(axis=1, keepdims=True)) @ tc / float(tc @ tc)
        fit = boxes.mean(axis=1, keepdims=True) + slope[:, None] * tc
        out[k] = math.sqrt(float(np.mean((boxes - fit) ** 2)))
    return out


def dfa_plot(
    rr: NDArray[np.float64], summary: dict[str, Any], png: Callable[[Any], bytes], plt: Any
) -> tuple[str, str, bytes] | None:
    """DFA log-log plot with the alpha1 line (4-16 beats)."""
    alpha1 = summary.get("dfa_alpha1")
    n_max = min(DFA_DISPLAY_MAX, rr.size // 4)
    if not isinstance(alpha1, float) or n_max < 16:
        return None
    sizes = np.arange(4, n_max + 1, dtype=np.int64)
    f = dfa_fluctuations(rr, sizes)
    lx, ly = np.log10(sizes.astype(np.float64)), np.log10(f)
    short = sizes <= 16
    intercept = float(np.mean(ly[short] - alpha1 * lx[short]))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(lx, ly, "o", ms=3, color="#1f77b4", label="F(n)")
    ax.plot(
        lx[short],
        intercept + alpha1 * lx[short],
        color="#d62728",
        lw=1.5,
        label=f"alpha1 = {alpha1:.2f} (4-16 beats)",
    )
    ax.set_xlabel("log10 n (beats per box)")
    ax.set_ylabel("log10 F(n) (ms)")
    ax.set_title("Detrended fluctuation analysis")
    ax.legend(fontsize=7)
    caption = (
        f"DFA of the cleaned series, boxes of 4-{n_max} beats; the line is the short-term "
        f"exponent alpha1 = {alpha1:.3f} fitted over 4-16 beats (Peng et al. 1995)."
    )
    return "dfa.png", caption, png(fig)


#: The PDF's numbers table: column widths (fractions of the table) and the characters a line
#: of each column holds at 8 pt in them (A4, the table 90 % of the page wide; Helvetica's
#: widest lower-case letters are ~0.6 em, so a line of this many fits its cell).
PDF_COL_WIDTHS = (0.18, 0.2, 0.5, 0.12)
_PDF_COL_CHARS = (18, 22, 58, 11)
#: Table lines on one numbers page (a wrapped value takes more than one; every row and the
#: header a further 0.4 of a line of padding).
_PDF_PAGE_LINES = 44
_PDF_ROW_PAD = 0.4


def _pdf_pages(rows: Sequence[tuple[str, str, str, str]]) -> list[list[list[str]]]:
    """The numbers table's cells page by page, each cell wrapped to its column's width."""
    import textwrap

    pages: list[list[list[str]]] = [[]]
    used = 1 + _PDF_ROW_PAD  # the header
    for row in rows:
        cells = [
            "\n".join(textwrap.wrap(str(text), width=chars) or [""])
            for text, chars in zip(row, _PDF_COL_CHARS, strict=True)
        ]
        lines = max(c.count("\n") + 1 for c in cells) + _PDF_ROW_PAD
        if pages[-1] and used + lines > _PDF_PAGE_LINES:
            pages.append([])
            used = 1 + _PDF_ROW_PAD
        pages[-1].append(cells)
        used += lines
    return pages


def numbers_page(
    title: str,
    cells: Sequence[Sequence[str]],
    provenance: Sequence[tuple[str, str]],
    plt: Any,
) -> Any:
    """One A4 page of the PDF's numbers table (a matplotlib figure): ``cells`` already wrapped.

    The columns have :data:`PDF_COL_WIDTHS` and a row is as tall as its longest cell's lines,
    so a long reason ("n/a: too short: ...") stays inside its cell.
    """
    fig = plt.figure(figsize=(8.27, 11.69))
    fig.text(0.05, 0.96, title, fontsize=12, weight="bold")
    for k, (name, value) in enumerate(provenance):
        fig.text(0.05, 0.94 - 0.015 * k, f"{name}: {value}", fontsize=7, color="#444")
    top = 0.93 - 0.015 * len(provenance)
    ax = fig.add_axes((0.05, 0.05, 0.9, top - 0.05))
    ax.axis("off")
    if cells:
        table = ax.table(
            cellText=[list(r) for r in cells],
            colLabels=["group", "metric", "value", "unit"],
            colWidths=list(PDF_COL_WIDTHS),
            loc="upper left",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        line_h = 1.0 / _PDF_PAGE_LINES  # of the axes: a full page's lines fill it
        for (row, _), cell in table.get_celld().items():
            lines = 1 if row == 0 else max(c.count("\n") + 1 for c in cells[row - 1])
            cell.set_height(line_h * (lines + _PDF_ROW_PAD))
    return fig


def pdf_bytes(
    title: str,
    rows: list[tuple[str, str, str, str]],
    pngs: list[bytes],
    *,
    provenance: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A PDF: a page with the grouped numbers, then one page per plot (matplotlib).

    ``provenance`` (``(name, value)``: the report's software, libraries and time made) is
    printed under the title of every numbers page and kept in the PDF's metadata: ``Creator``
    the ``software`` value, ``Subject`` every pair.
    """
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    made = dict(provenance)
    metadata = {"Title": title}
    if provenance:
        metadata["Subject"] = "; ".join(f"{k}: {v}" for k, v in provenance)
    if "software" in made:
        metadata["Creator"] = made["software"]
    buf = io.BytesIO()
    with PdfPages(buf, metadata=metadata) as pdf:
        for chunk in _pdf_pages(rows):
            fig = numbers_page(title, chunk, provenance, plt)
            pdf.savefig(fig)
            plt.close(fig)
        for data in pngs:
            img = mpimg.imread(io.BytesIO(data), format="png")
            h, w = img.shape[:2]
            fig = plt.figure(figsize=(8.27, 8.27 * h / w))
            ax = fig.add_axes((0, 0, 1, 1))
            ax.imshow(img)
            ax.axis("off")
            pdf.savefig(fig)
            plt.close(fig)
    return buf.getvalue()
