"""A self-contained HTML report of a recording or stored session, PNG plots by matplotlib (Agg).

Contents: what the data are (file or session, beats, duration, software version and build,
:func:`api._version.build_label`, also in the footer; libraries); the numbers
(:func:`api.research.analysis.summarize`: cleaned series, Kubios conventions); plots embedded
as base64 PNG (also written to ``png_dir`` when given):

1. tachogram, with the intervals :func:`hrv.clean` labels as artefacts marked by kind;
2. RMSSD and coherence trend: :func:`hrv.rolling` of the cleaned series with the live
   pipeline's windows (60 s every 5 s), each window's end on the recording's clock
   (:func:`api.research.analysis.recording_windows`, the live pipeline's mapping), with
   micro-breaks (vertical lines), breaks (shaded) and check-ins (markers) on the same timeline
   as the tachogram;
3. power spectrum of the whole cleaned recording with the LF/HF bands and peaks: the curve is
   :func:`hrv.power_spectrum` of the cleaned series and its gaps, the very density whose band
   sums and refined maxima are the LF/HF numbers beside it
   (:func:`api.research.report_plots.spectrum`);
4. the resonance assessment curve (HR oscillation per paced rate and the phase of HR vs
   breathing) when the session holds a completed assessment;
5. Poincaré plot with the SD1/SD2 ellipse, RR histogram and DFA log-log plot
   (:mod:`api.research.report_plots`);

the numbers grouped (recording, artefact correction with the intervals per label, time,
frequency, nonlinear, coherence) with a unit column, and a PDF beside the HTML for sharing;

and a table of break effects (RMSSD/HR before, during, after) when there are any.
"""

from __future__ import annotations

import base64
import datetime
import errno
import html
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import hrv
from api._files import move_into, real_path, replace_with
from api._version import build_label, library_versions
from api.research import report_plots, require
from api.research.analysis import recording_windows, summarize
from api.research.segments import Segment, nominal_span, past_end, segment_bounds
from api.research.store import StoredSession
from api.research.units import unit_of
from hrv.live import LIVE_STEP_S, LIVE_WINDOW_S
from sensors import Recording

__all__ = [
    "PULSE_INTERVALS",
    "Plot",
    "ReportData",
    "ReportFiles",
    "build_report",
    "from_recording",
    "from_session",
    "is_pulse_recording",
    "report_files",
    "software_rows",
    "write_files",
    "write_report",
]

#: Trend windows: those of the live pipeline (hrv.live.LIVE_WINDOW_S / LIVE_STEP_S).
TREND_WINDOW_S = LIVE_WINDOW_S
TREND_STEP_S = LIVE_STEP_S

_ARTEFACT_COLOURS = {
    1: "#d62728",  # ectopic
    2: "#9467bd",  # long
    3: "#ff7f0e",  # short
    4: "#8c564b",  # missed
    5: "#e377c2",  # extra
    6: "#7f7f7f",  # gap
}


@dataclass(frozen=True)
class ReportData:
    """What a report is made of (from a file or a stored session).

    ``t_s``/``rr_ms``/``gaps`` are the beats as recorded (``t_s`` from the start of the
    recording); ``events`` micro-break events ``{"kind", "t_s", "data"}``; ``checkins``
    ``{"t_s", "stress", "energy", "note"}``; ``assessment`` the ``result`` of the last
    completed assessment, if any; ``span_s`` the span the beats stand for in the 300-s VLF
    rule (a segment's nominal length when its beats reach its bounds,
    :func:`api.research.segments.nominal_span`; ``None``: the beats' own span).
    """

    title: str
    provenance: dict[str, Any]
    t_s: NDArray[np.float64]
    rr_ms: NDArray[np.float64]
    gaps: NDArray[np.bool_]
    events: list[dict[str, Any]] = field(default_factory=list)
    checkins: list[dict[str, Any]] = field(default_factory=list)
    assessment: dict[str, Any] | None = None
    span_s: float | None = None


@dataclass(frozen=True)
class Plot:
    """One PNG plot: a file name, a caption and the bytes."""

    name: str
    caption: str
    png: bytes


#: What a report's provenance says of an optical recording's intervals.
PULSE_INTERVALS = "pulse-to-pulse intervals of a PPG (optical), not ECG RR intervals"


def is_pulse_recording(rec: Recording) -> bool:
    """The beats are PPG pulses (``ppg_csv``, a PPG channel of an EDF, a Polar PPI export)."""
    return rec.source_format in ("ppg_csv", "polar_sensor_logger_ppi") or (
        rec.meta.get("signal") == "ppg"
    )


def from_recording(rec: Recording, *, path: str, read_as: str | None = None) -> ReportData:
    """Report data of a recording file (beats only).

    ``read_as`` says how the file was read (``hrvpace analyze``'s words: which Apple Health
    reading, where a signal's beats came from, pulses left out); ``None``: the format only.
    """
    return ReportData(
        title=f"Recording {Path(path).name}",
        provenance={
            "file": str(Path(path).resolve()),
            "format": rec.source_format,
            **({"read_as": read_as} if read_as is not None else {}),
            **({"intervals": PULSE_INTERVALS} if is_pulse_recording(rec) else {}),
            "device": rec.meta.get("device"),
            "start_time": rec.meta.get("start_time"),
        },
        t_s=np.asarray(rec.t_s - rec.start_s, dtype=np.float64),
        rr_ms=np.asarray(rec.rr_ms, dtype=np.float64),
        gaps=np.asarray(rec.gaps, dtype=np.bool_),
    )


def segment_data(data: ReportData, segment: Segment) -> ReportData:
    """The part of ``data`` inside ``segment`` (:func:`api.research.segments.segment_bounds`).

    Its beats, events and check-ins, with times from the segment's start; the title and the
    provenance name the segment.

    Raises
    ------
    SegmentError
        The segment holds no whole interval.
    """
    i, j = segment_bounds(data.t_s, data.rr_ms, segment)
    t0 = float(data.t_s[i] - data.rr_ms[i] / 1000.0)
    t1 = float(data.t_s[j - 1])
    short = past_end(segment, float(data.t_s[-1]), (t0, t1))

    def inside(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**e, "t_s": float(e["t_s"]) - t0} for e in items if t0 <= float(e["t_s"]) <= t1]

    gaps = np.asarray(data.gaps[i:j], dtype=np.bool_).copy()
    gaps[0] = False
    return ReportData(
        title=f"{data.title}, segment {segment.label}",
        provenance={
            **data.provenance,
            # beat times, as analyze and the past-end warning say them (not a duration)
            "segment": f"{segment.label}: {t0:.6g} s - {t1:.6g} s of the recording",
            "segment_past_end": short,  # None (no row) unless the segment ran past the end
        },
        t_s=np.asarray(data.t_s[i:j], dtype=np.float64) - t0,
        rr_ms=np.asarray(data.rr_ms[i:j], dtype=np.float64).copy(),
        gaps=gaps,
        events=inside(data.events),
        checkins=inside(data.checkins),
        assessment=data.assessment,
        span_s=nominal_span(data.t_s, data.rr_ms, data.gaps, (i, j), segment),
    )


def from_session(s: StoredSession, *, database: Path) -> ReportData:
    """Report data of a stored session (beats, micro-breaks, check-ins, assessment)."""
    done = [a for a in s.assessments if a.get("type") == "assessment_complete"]
    return ReportData(
        title=f"Session {s.session_id}",
        provenance={
            "session": s.session_id,
            "database": str(database),
            "mode": s.info.get("mode"),
            "state": s.info.get("state"),
            "created_at": _iso(s.info.get("created_at")),
            "ended_at": _iso(s.info.get("ended_at")),
            "source": s.source,
        },
        t_s=s.t_s,
        rr_ms=s.rr_ms,
        gaps=s.gap_before,
        events=[e for e in s.micro_breaks if e.get("t_s") is not None],
        checkins=[c for c in s.checkins if c.get("t_s") is not None],
        assessment=done[-1].get("result") if done else None,
    )


def _iso(t: Any) -> str | None:
    if not isinstance(t, int | float):
        return None
    return datetime.datetime.fromtimestamp(float(t), tz=datetime.UTC).isoformat()


# --------------------------------------------------------------------------------------------
# Plots


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt = require("matplotlib.pyplot")
    plt.close(fig)
    return buf.getvalue()


def _pyplot() -> Any:
    mpl = require("matplotlib")
    mpl.use("Agg", force=True)
    return require("matplotlib.pyplot")


def _minutes(t_s: Any) -> Any:
    return np.asarray(t_s, dtype=np.float64) / 60.0


def _tachogram(data: ReportData, cleaned: hrv.Cleaned) -> Plot:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.2))
    x = _minutes(data.t_s)
    ax.plot(x, data.rr_ms, lw=0.6, color="#1f77b4", label="RR as recorded")
    lo, hi = np.percentile(data.rr_ms, [0.05, 99.95]) if data.rr_ms.size else (0.0, 1.0)
    top = max(float(hi) * 1.25, 400.0)
    labels = np.asarray(cleaned.labels)
    for code, colour in _ARTEFACT_COLOURS.items():
        sel = labels == code
        if sel.any():
            ax.scatter(
                x[sel],
                np.minimum(data.rr_ms[sel], top * 0.99),
                s=12 if data.rr_ms.size < 20_000 else 4,
                color=colour,
                zorder=3,
                label=f"{hrv.LABEL_NAMES[code]} ({int(sel.sum())})",
            )
    n_above = int(np.count_nonzero(data.rr_ms > top))
    ax.set_ylim(max(0.0, min(float(lo) * 0.8, 300.0)), top)
    ax.set_xlabel("time (min)")
    pulse = data.provenance.get("intervals") == PULSE_INTERVALS
    ax.set_ylabel("pulse interval (ms)" if pulse else "RR (ms)")
    title = "Tachogram, artefacts labelled by hrv.clean"
    if n_above:
        title += f" ({n_above} interval(s) above {top:.0f} ms off the scale)"
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=7)
    n_art = int(np.count_nonzero(labels))
    return Plot(
        "tachogram.png",
        f"Tachogram: {data.rr_ms.size} {'pulse' if pulse else 'RR'} intervals, {n_art} "
        "labelled as artefacts "
        "(Lipponen & Tarvainen 2019 + 300-2000 ms gate).",
        _png(fig),
    )


def _trend(
    data: ReportData, rr: NDArray[np.float64], gaps: NDArray[np.bool_], cleaned: hrv.Cleaned
) -> Plot | None:
    # the windows' ends on the recording's clock, as the beats, events and check-ins are
    cols = recording_windows(
        rr,
        gaps,
        t_s=data.t_s,
        cleaned=cleaned,
        window_s=TREND_WINDOW_S,
        step_s=TREND_STEP_S,
        metrics=("time", "coherence"),
        parallel=True,
    )
    if cols["t_s"].size == 0:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.4))
    x = _minutes(cols["t_s"])
    ax.plot(x, cols["rmssd_ms"], color="#2ca02c", lw=1.0, label="RMSSD (ms)")
    ax.set_ylabel("RMSSD (ms)")
    ax.set_xlabel("time (min)")
    ax2 = ax.twinx()
    ax2.plot(x, cols["coherence_ratio"], color="#9467bd", lw=0.8, alpha=0.8, label="coherence")
    ax2.set_ylabel("coherence ratio")
    starts = [e for e in data.events if e["kind"] == "break_started"]
    ends = [e for e in data.events if e["kind"] == "break_ended"]
    for i, ev in enumerate(e for e in data.events if e["kind"] == "micro_break"):
        ax.axvline(
            ev["t_s"] / 60.0,
            color="#d62728",
            ls="--",
            lw=1,
            label="micro-break due" if not i else None,
        )
    for i, st in enumerate(starts):
        end = next((e["t_s"] for e in ends if e["t_s"] >= st["t_s"]), None)
        if end is not None:
            ax.axvspan(
                st["t_s"] / 60.0,
                end / 60.0,
                color="#ffbb78",
                alpha=0.4,
                label="break" if not i else None,
            )
    if data.checkins:
        y = np.nanmax(cols["rmssd_ms"]) if np.isfinite(cols["rmssd_ms"]).any() else 1.0
        ax.scatter(
            [c["t_s"] / 60.0 for c in data.checkins],
            [y] * len(data.checkins),
            marker="v",
            s=60,
            color="#17becf",
            zorder=4,
            label="check-in",
        )
        for c in data.checkins:
            ax.annotate(
                f"S{c['stress']}/E{c['energy']}",
                (c["t_s"] / 60.0, y),
                textcoords="offset points",
                xytext=(0, 6),
                fontsize=7,
                ha="center",
            )
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=7)
    ax.set_title(f"RMSSD and coherence, {TREND_WINDOW_S:.0f}-s windows every {TREND_STEP_S:.0f} s")
    n_mb = sum(1 for e in data.events if e["kind"] == "micro_break")
    return Plot(
        "trend.png",
        f"RMSSD and coherence trend (hrv.rolling); {n_mb} micro-break(s), "
        f"{len(starts)} break(s), {len(data.checkins)} check-in(s) on the timeline.",
        _png(fig),
    )


def _assessment(result: dict[str, Any]) -> Plot | None:
    rates = [r for r in result.get("rates", []) if isinstance(r, dict)]
    if not rates:
        return None
    plt = _pyplot()
    fig, (ax, axp) = plt.subplots(1, 2, figsize=(10, 3.2))
    x = [r["rate_bpm"] for r in rates]
    p2t = [
        np.nan if r.get("peak_to_trough_bpm") is None else r["peak_to_trough_bpm"] for r in rates
    ]
    phase = [np.nan if r.get("phase_deg") is None else r["phase_deg"] for r in rates]
    ax.plot(x, p2t, "o-", color="#1f77b4")
    ax.set_xlabel("paced rate (breaths/min)")
    ax.set_ylabel("HR peak-to-trough (bpm)")
    axp.plot(x, phase, "s-", color="#9467bd")
    axp.axhline(0, color="grey", lw=0.8)
    axp.set_xlabel("paced rate (breaths/min)")
    axp.set_ylabel("HR phase vs breathing (deg)")
    res = result.get("resonance_bpm")
    for a in (ax, axp):
        if isinstance(res, int | float):
            a.axvline(res, color="#d62728", ls="--", lw=1)
        a.invert_xaxis()
    ax.set_title("Resonance assessment: HR oscillation")
    axp.set_title("Phase (0 deg at resonance)")
    why = str(result.get("reason") or "")
    if isinstance(res, int | float):
        estimate = f"estimate {res:.2f} breaths/min ({result.get('method', '')}). {why}"
    else:  # the reason says why there is none (too few usable rates)
        estimate = f"no estimate: {why or 'no usable paced rate'}"
    caption = f"Resonance assessment: {len(rates)} paced rates; {estimate}"
    return Plot("assessment.png", caption, _png(fig))


# --------------------------------------------------------------------------------------------
# HTML


def _fmt(v: Any, unit: str | None = None) -> str:
    """A table cell: a number with its unit's precision (``unit`` given) or 6 digits."""
    if v is None:
        return "&ndash;"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "&ndash;"
        return html.escape(report_plots.format_value(v, unit)) if unit else f"{v:.6g}"
    return html.escape(str(v))


def _seconds(t_s: float) -> str:
    """Seconds as the numbers table shows them: ``1,234.6 s`` (0.1 s)."""
    return f"{report_plots.format_value(float(t_s), 's')} s"


def _duration(t_s: float) -> str:
    """A duration for the data table: ``963.4 s (16.1 min)``, as the numbers' ``duration_s``."""
    return f"{_seconds(t_s)} ({t_s / 60.0:.1f} min)"


def _provenance_value(v: Any) -> Any:
    """A provenance entry for the table; a dict (a session's source) as ``key=value, ...``.

    Its numbers with their unit's precision (a simulator's ``duration_s=1,234.6``), ``None``
    entries left out.
    """
    if not isinstance(v, dict):
        return v
    return ", ".join(
        f"{a}={_number(b, unit_of(a)) if isinstance(b, float) else b}"
        for a, b in v.items()
        if b is not None
    )


def _number(v: float, unit: str) -> str:
    """``v`` with its unit's precision; a unitless one (a replay's speed) as written."""
    return f"{v:g}" if unit == "1" else report_plots.format_value(v, unit)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
    "padding:.2em .6em;text-align:left;font-size:.9em}figure{margin:1em 0}"
    "figcaption{font-size:.85em;color:#555}img{max-width:100%}td.num{text-align:right}"
    "p.warning{border:2px solid #d62728;background:#fdecea;padding:.5em .8em}"
)


def _ectopy_warning_html(summary: dict[str, Any]) -> str:
    """A warning above the numbers when :func:`hrv.ectopy_check` calls them unreliable."""
    if summary.get("ectopy_warning") is not True:
        return ""
    reason = str(summary.get("ectopy_reason"))
    if reason.startswith("heavily corrected"):  # the corrected share alone (hrv.ectopy_check)
        return (
            "<p class='warning'><strong>Do not cite these HRV values.</strong> "
            f"{html.escape(reason)}. What was analysed is mostly the correction's replacement "
            "of the recorded intervals, not the heart's own variability.</p>"
        )
    return (
        "<p class='warning'><strong>Do not cite these HRV values.</strong> "
        f"{html.escape(reason)}. On the MIT-BIH Arrhythmia Database "
        "sinus records where this warning fires, the corrected RMSSD was 3.7-14 times the RMSSD "
        "of the true normal-to-normal intervals; it also fires on every atrial-fibrillation "
        "record there (corrected RMSSD -19 % to +55 % of the true one), and HRV of atrial "
        "fibrillation is not sinus HRV (docs/mitdb_validation.md).</p>"
    )


def _table(rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _effects_table(events: list[dict[str, Any]]) -> str:
    effects = [e["data"] for e in events if e["kind"] == "break_effect"]
    if not effects:
        return ""
    cols = (
        "start_t_s",
        "end_t_s",
        "kind",
        "rmssd_before_ms",
        "rmssd_during_ms",
        "rmssd_after_ms",
        "rmssd_change_pct",
        "hr_before_bpm",
        "hr_after_bpm",
    )
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(e.get(c), unit_of(c))}</td>" for c in cols) + "</tr>"
        for e in effects
    )
    return f"<h2>Break effects</h2><table><tr>{head}</tr>{body}</table>"


def software_rows(generated: str) -> list[tuple[str, str]]:
    """The build that made a report: ``software``, ``libraries`` and ``generated`` rows.

    ``software`` is :func:`api._version.build_label` (version, git commit with ``-dirty``,
    where the commit was read), the one line of :func:`api._version.provenance`, which
    ``hrvpace export``'s sidecar and ``analyze``'s settings record whole; ``libraries``
    :func:`api._version.library_versions`. The HTML's data table and footer and the PDF's
    first page and metadata all say these.
    """
    return [
        ("software", build_label()),
        ("libraries", ", ".join(f"{k} {v}" for k, v in library_versions().items())),
        ("generated", generated),
    ]


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds")


def build_report(
    data: ReportData,
    *,
    step: Callable[[str], None] | None = None,
    generated: str | None = None,
) -> tuple[str, list[Plot]]:
    """The report's HTML (self-contained: plots inlined as base64 PNG) and its plots.

    ``step`` is told what is being done (for a progress display); ``generated`` the time the
    report says it was made (default now, UTC, to the second).

    Raises
    ------
    HrvInputError
        The beats are unusable.
    MissingExtraError
        matplotlib is not installed.
    """
    say = step or (lambda what: None)
    say(f"artefact correction and numbers ({data.rr_ms.size} beats)")
    rr_in = np.asarray(data.rr_ms, dtype=np.float64)
    cleaned = hrv.clean(rr_in, gaps=data.gaps)
    duration_s = float(data.t_s[-1]) if data.t_s.size else 0.0
    summary, rr, gaps = summarize(
        rr_in,
        gaps=data.gaps,
        clean=True,
        duration_s=duration_s,
        cleaned=cleaned,
        span_s=data.span_s,
    )
    say("tachogram, trend and spectrum plots")
    plots: list[Plot] = [_tachogram(data, cleaned)]
    trend = _trend(data, rr, gaps, cleaned)
    if trend is not None:
        plots.append(trend)
    plt = _pyplot()
    spectrum = report_plots.spectrum(rr, gaps, summary, _png, plt)
    if spectrum is not None:
        plots.append(Plot(*spectrum))
    if data.assessment is not None:
        assessment = _assessment(data.assessment)
        if assessment is not None:
            plots.append(assessment)
    say("Poincaré, histogram and DFA plots")
    for extra in (
        report_plots.poincare(rr, gaps, summary, _png, plt),
        report_plots.histogram(rr, summary, _png, plt),
        report_plots.dfa_plot(rr, summary, _png, plt),
    ):
        if extra is not None:
            plots.append(Plot(*extra))
    generated = generated or _now()
    build = software_rows(generated)  # the version and the build (git commit), as analyze's
    software = build[0][1]
    prov_rows: list[tuple[str, Any]] = [
        (k, _provenance_value(v)) for k, v in data.provenance.items() if v is not None
    ]
    prov_rows += [
        ("beats", int(rr_in.size)),
        ("duration", _duration(duration_s)),
        *build,
    ]
    figures = "".join(
        f'<figure><img alt="{html.escape(p.name)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.png).decode("ascii")}"><figcaption>{html.escape(p.caption)}'
        "</figcaption></figure>"
        for p in plots
    )
    numbers = report_plots.numbers_html(summary, rr, gaps, cleaned.counts)
    title = html.escape(data.title)
    doc = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>hrvpace report: {title}</title><style>{_CSS}</style></head><body>"
        f"<h1>hrvpace report: {title}</h1>"
        f"<h2>Data</h2>{_table(prov_rows)}"
        f"<h2>Plots</h2>{figures}"
        f"{_effects_table(data.events)}"
        f"<h2>Numbers</h2>{_ectopy_warning_html(summary)}"
        f"<p>{'The segment' if 'segment' in data.provenance else 'Whole recording'}"
        " after artefact correction (hrv.clean); time "
        "domain with Kubios conventions (SDNN, SD1/SD2 ddof=1; pNN50 over N-1), Welch spectrum "
        "on the 4 Hz tachogram (Task Force 1996 bands), coherence the mean over 64-s windows "
        "every 5 s (HeartMath ratio, not squared), DFA alpha1 over 4-16 beats, Baevsky's "
        f"stress index.</p>{numbers}"
        f"<footer><small>{html.escape(software)}, {generated}</small></footer>"
        "</body></html>\n"
    )
    return doc, plots


@dataclass(frozen=True)
class ReportFiles:
    """A report's files as bytes, all built before any is written (:func:`report_files`).

    ``html``, ``pdf`` (``None`` without one) and ``pngs`` are (path, content); ``png_dir`` is
    the folder the PNGs go into (made when they are written).
    """

    html: tuple[Path, bytes]
    pdf: tuple[Path, bytes] | None = None
    pngs: tuple[tuple[Path, bytes], ...] = ()
    png_dir: Path | None = None

    @property
    def paths(self) -> list[Path]:
        """The files, as they are listed: the HTML, the PDF, the PNGs."""
        listed = [self.html, *([] if self.pdf is None else [self.pdf]), *self.pngs]
        return [p for p, _ in listed]

    def in_moving_order(self) -> list[tuple[Path, bytes]]:
        """The PDF and the PNGs first, the HTML (the file people open) last.

        Code review: a failure while they are moved in (rare: a file another user owns in a
        sticky folder, an immutable file) left a new HTML beside the earlier PDF and PNGs; now
        at worst a new PDF or PNG beside the earlier HTML.
        """
        return [*([] if self.pdf is None else [self.pdf]), *self.pngs, self.html]


def report_files(
    data: ReportData,
    out: str | os.PathLike[str],
    *,
    png_dir: str | os.PathLike[str] | None = None,
    pdf: bool = True,
    step: Callable[[str], None] | None = None,
) -> ReportFiles:
    """The HTML, a PDF and each plot as a PNG, in memory: nothing is written.

    The HTML goes to ``out``, the PDF next to it (``out`` with ``.pdf``: the build
    (:func:`software_rows`) and the grouped numbers, then every plot) and the PNGs into
    ``png_dir``. Code review: the HTML was staged before the PDF was rendered (seconds), so a
    report killed then left a hidden temporary copy of the whole report (health data); every
    byte is now built first and temporary files exist only while :func:`write_files` writes.
    """
    generated = _now()
    doc, plots = build_report(data, step=step, generated=generated)
    out_p = Path(out)
    pdf_file: tuple[Path, bytes] | None = None
    if pdf:
        if step is not None:
            step("PDF")
        summary, rr, gaps = summarize(
            np.asarray(data.rr_ms, dtype=np.float64),
            gaps=data.gaps,
            duration_s=float(data.t_s[-1]) if data.t_s.size else 0.0,
            span_s=data.span_s,
        )
        pdf_file = (
            out_p.with_suffix(".pdf"),
            report_plots.pdf_bytes(
                f"hrvpace report: {data.title}",
                report_plots.number_rows(summary, rr, gaps),
                [p.png for p in plots],
                provenance=software_rows(generated),  # the build, as the HTML says it
            ),
        )
    d = None if png_dir is None else Path(png_dir)
    return ReportFiles(
        html=(out_p, doc.encode("utf-8")),
        pdf=pdf_file,
        pngs=() if d is None else tuple((d / p.name, p.png) for p in plots),
        png_dir=d,
    )


def write_files(files: ReportFiles) -> list[Path]:
    """Write a report's files whole or not at all; return them (:attr:`ReportFiles.paths`).

    Each is written under a temporary name beside it and all are moved in once every one is
    written (:mod:`api._files`), the HTML last (:meth:`ReportFiles.in_moving_order`): a failed
    write (a full disk, a folder at a file's name) leaves no half-written file and an earlier
    report as it was, and the ``OSError`` names the file.
    """
    for path, _ in files.in_moving_order():
        if real_path(path).is_dir():  # before any file is written: os.replace would refuse it
            raise IsADirectoryError(errno.EISDIR, "a folder is at the file's name", str(path))
    if files.png_dir is not None and files.pngs:
        try:
            files.png_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(files.png_dir)) from None
    staged: list[tuple[Path, Path]] = []  # (temporary, real final)
    try:
        for path, content in files.in_moving_order():
            real = real_path(path)
            staged.append((replace_with(real, _writer(content), binary=True), real))
        for tmp, final in staged:
            move_into(tmp, final)
    finally:
        for tmp, _ in staged:  # those not moved in (none once all were)
            tmp.unlink(missing_ok=True)
    return files.paths


def _writer(content: bytes) -> Callable[[Any], None]:
    """A function writing ``content`` to the file it is given."""

    def write(f: Any) -> None:
        f.write(content)

    return write


def write_report(
    data: ReportData,
    out: str | os.PathLike[str],
    *,
    png_dir: str | os.PathLike[str] | None = None,
    pdf: bool = True,
    step: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the HTML, a PDF and each plot as a PNG; return the files written.

    :func:`report_files` then :func:`write_files`: every byte is built before any file is
    written, and they are written whole or not at all.
    """
    return write_files(report_files(data, out, png_dir=png_dir, pdf=pdf, step=step))
