"""One recording -> its summary (every HRV metric by its public name) and its windows table.

What the summary of a recording is (:func:`summarize`), with ``rr`` the analysed series:

- ``format``, ``units`` and ``read_as`` say how the file was read: the reader's format, the
  units of the file's values (``ms``/``s``) and, in words, what chose them
  (:func:`api.research.discover.choose_reading`: the file's header, its name and content, or
  the flags);
- ``sha256`` is the SHA-256 of the input file's bytes; ``duplicate_of`` the path of an
  earlier input of the same run with the same bytes (``hrvpace analyze`` fills it and warns:
  a copied file is otherwise analysed as another subject), else ``None``;
- ``clock_start_s``: the time on the file's own clock at which the recording begins (the
  start of its first interval: a PhysioNet ``*_rr_secs`` file's first-line time, a gHRV file's
  first beat time; 0 for files without a clock). Every time hrvpace gives (segments,
  ``--start``/``--end``, window ``t_s``, replay) counts from there, the first beat's start,
  not from the file's zero: a PhysioNet annotation at ``T`` s is at ``T - clock_start_s`` here;
- ``segment``, ``segment_from_s``, ``segment_to_s``, ``segment_start_s``, ``segment_end_s``:
  the segment analysed (:mod:`api.research.segments`: ``--start``/``--end`` or a named phase),
  the bounds asked for (``None``: open), its first interval's start and its last beat in
  seconds since the recording began (to the microsecond); ``None`` for the whole recording.
  Every other field is then of that segment alone;
- ``n_beats`` and ``duration_s`` describe the recording as read (``Recording.n_beats``, the
  intervals read, before correction; ``Recording.duration_s``, from its start to its last
  beat, *including* time at gaps); ``analysed_s`` is the time the analysed intervals cover
  (their sum), ``n_gaps`` the gaps in the analysed series (the file's and those the
  correction made of pauses too long for missed beats) and ``gap_s`` the time left out at
  them (between beats with no interval in the file, plus the intervals removed as gaps), so
  ``duration_s`` is ``analysed_s + gap_s`` up to the milliseconds the correction's
  interpolation moves; ``quality`` is :func:`hrv.clean`'s fraction of intervals labelled
  normal (computed with and without ``clean``) and ``n_artefacts`` the intervals not normal:
  the *correction's* quality, not the beat detector's. A signal recording's detector quality
  (``Recording.quality``, NeuroKit2's ``templatematch`` per beat) is used before: its stretches
  below the floor are left out of a PPG with a gap (kept in an ECG) and ``read_as`` says how
  many seconds (:func:`sensors.formats.signal_peaks.leave_out_low_quality`); ``n_beats`` and
  the rest are then of what is left;
- with ``clean=True`` (default) ``rr`` is ``hrv.clean(rr_ms, gaps=gaps).rr_ms`` with its gaps
  (Lipponen & Tarvainen 2019 correction plus the 300-2000 ms gate); with ``clean=False`` the
  RR intervals exactly as in the file, with the file's gaps. ``correction`` names the
  correction that ran (``"lipponen_tarvainen_2019"``, i.e. :func:`hrv.clean`; ``None`` with
  ``clean=False``) and ``corrected_pct`` the share of the input intervals it changed (merged,
  split, moved or interpolated; intervals removed as a gap are left out of both counts:
  :func:`hrv.corrected_pct`, the share the 20 % rule of :func:`hrv.ectopy_check` judges), in %
  (0 with ``clean=False``; ``None`` for an empty recording or one that is all gaps);
- ``ectopy_warning`` is :func:`hrv.ectopy_check` of the analysed series: ``True`` when at least
  8 % of its successive intervals still differ by more than 20 % of their mean, i.e. frequent
  ectopy (bigeminy, trigeminy) or an irregular rhythm (atrial fibrillation) that the
  correction left in place, so that the HRV values are unreliable (on the MIT-BIH records
  the corrected RMSSD of every warned sinus record was 3.7-14 times the true one;
  docs/mitdb_validation.md); ``False`` when assessed and regular enough; ``None`` when not
  assessed: fewer than 30 steps (successive differences not across a gap). With ``clean=True``
  it is also ``True`` when the correction changed at least 20 % of the intervals (removed gaps
  not counted; :data:`hrv.ectopy.CORRECTED_LIMIT`, our choice: see its notes): a regular
  bigeminy is averaged couplet by couplet and leaves no irregular step, but the series is
  then the correction's, not the heart's;
  ``irregular_steps_pct`` is the share of irregular steps (%; ``None`` when not assessed,
  as the warning) and ``ectopy_reason`` the sentence that says why (``None`` when there is
  nothing to say);
- the time-domain fields are :func:`hrv.time_domain` of the whole ``rr`` (Kubios conventions);
- the frequency fields are :func:`hrv.frequency_domain` of the whole ``rr`` with its gaps (Welch
  on the 4 Hz tachogram, gaps handled as that function documents; ``frequency_method`` is the
  estimator it reports); ``vlf_ms2`` needs a span of 300 s: that of the analysed beats, or
  for a segment whose beats reach both its bounds its nominal ``end - start``
  (:func:`api.research.segments.nominal_span`: a ``rest,0,5:00`` keeps ~299.5 s of whole
  intervals and still stands for 5 min, as a 300-s window of :func:`hrv.rolling` does);
- ``dfa_alpha1`` is :func:`hrv.dfa_alpha1` (4-16 beats) and ``stress_index`` Baevsky's SI
  (:func:`hrv.stress_index` ``.value``) of the whole ``rr``;
- coherence is defined on 64-s stretches (HeartMath), so a whole recording's
  ``coherence_ratio`` and ``coherence_score`` are the *means* of :func:`hrv.coherence` over the
  64-s windows ending every ``coherence_step_s`` (5 s) of the recording
  (:func:`hrv.coherence_windows`), and ``coherence_peak_hz`` their median peak; windows where
  coherence is undefined are left out.

The windows table (:func:`recording_windows`) is :func:`hrv.rolling` of the same ``rr`` and
gaps, with the frequent-ectopy check of each window (:func:`hrv.ectopy_windows`:
``irregular_steps_pct`` and ``ectopy_warning``, ``None`` as in the summary where a window has
fewer than 30 steps: not assessed, not regular). A window holds ``window_s`` seconds of the
analysed intervals (cut on their own timeline ``cumsum(rr) / 1000``, which leaves out a removed
gap); its ``t_s`` is its end on the *recording's* clock (seconds since the recording or segment
began, the clock of segments, replay and the report's tachogram), mapped through the recorded
time of its last beat (the last that stands for a recorded beat: not one the correction
inserted) as the live pipeline maps its windows through their last NN beat
(:func:`hrv.to_beat_clock`, :func:`hrv.clean_anchors`). A window that spans a gap therefore
covers more than ``window_s`` of recording time, as a live window does.

References
----------
Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
physiological interpretation and clinical use. Circulation 93(5), 1043-1065.
Lipponen J.A., Tarvainen M.P. (2019). A robust algorithm for heart rate variability time series
artefact correction using novel beat classification. J Med Eng Technol 43(3), 173-181.
McCraty R. et al. (2009). The coherent heart. Integral Review 5(2), 10-115 (coherence ratio).
Makowski D. et al. (2021). NeuroKit2: a Python toolbox for neurophysiological signal processing.
Behav Res Methods 53, 1689-1696 (the ``HRV_*`` column names of ``--names neurokit``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import inspect
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path, PurePath
from typing import Any

import numpy as np
from numpy.typing import NDArray

import hrv
from api._version import provenance
from api.research.discover import choose_reading, export_table_problem, skip_reason
from api.research.segments import Segment, SegmentBeyondEndError, cut
from hrv.ectopy import CORRECTED_LIMIT, MIN_STEPS, SHARE_LIMIT, STEP_LIMIT
from hrv.errors import HrvInputError, HrvpaceError
from hrv.frequency import FREQUENCY_FIELDS
from hrv.spectrum import spectrum_settings
from hrv.time_domain import TimeDomain
from sensors import SIGNAL_FORMATS, Recording, read_recording
from sensors.formats.hrvpace import CUT_OFF_NOTE
from sensors.formats.signal_peaks import leave_out_low_quality
from sensors.formats.text import SHORT_ROWS_NOTE
from sensors.heart_rate_measurement import MAX_HEART_RR_MS, MIN_HEART_RR_MS

__all__ = [
    "EXCLUDED_BY",
    "FOLDER_NOT_SEARCHED",
    "LINK_NOT_FOLLOWED",
    "NEUROKIT_NAMES",
    "NEUROKIT_REL_TOL",
    "NEUROKIT_SHARED",
    "SUMMARY_FIELDS",
    "AnalysisOptions",
    "RecordingAnalysis",
    "analysis_settings",
    "analyze_file",
    "analyze_recording",
    "apple_health_reading",
    "excluded_by",
    "expand_paths",
    "find_recordings",
    "read_notes",
    "recording_windows",
    "rename_columns",
    "summarize",
]

_TIME_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TimeDomain) if f.name != "n_beats")

#: Name of the artefact correction a cleaned summary ran (:func:`hrv.clean`).
CORRECTION = "lipponen_tarvainen_2019"

#: Every key of a summary, in output order (after ``path``).
SUMMARY_FIELDS: tuple[str, ...] = (
    "format",
    "units",
    "read_as",
    "sha256",
    "duplicate_of",
    "clock_start_s",
    "segment",
    "segment_from_s",
    "segment_to_s",
    "segment_start_s",
    "segment_end_s",
    "n_beats",
    "duration_s",
    "analysed_s",
    "n_gaps",
    "gap_s",
    "quality",
    "n_artefacts",
    "cleaned",
    "correction",
    "corrected_pct",
    "ectopy_warning",
    "irregular_steps_pct",
    "ectopy_reason",
    *_TIME_FIELDS,
    *FREQUENCY_FIELDS,
    "frequency_method",
    "coherence_ratio",
    "coherence_peak_hz",
    "coherence_score",
    "dfa_alpha1",
    "stress_index",
)

#: Columns whose values NeuroKit2 computes the same way (``nk.hrv_time`` / ``nk.hrv_nonlinear``
#: with its defaults on the same RR series): under ``--names neurokit`` they take NeuroKit2's
#: name. ``tests/research/test_neurokit_names.py`` compares each with NeuroKit2 itself on real
#: recordings (agreement within :data:`NEUROKIT_REL_TOL`; ``HRV_SD2`` differs in the last
#: digits). ``HRV_pNN50`` divides by the number of intervals N, hrvpace by the N-1 successive
#: differences as the Task Force does: hrvpace's is NeuroKit2's times N/(N-1) exactly, 0.67 %
#: more at 150 beats, 1.25 % at 80, within 0.5 % only from 201 beats on.
NEUROKIT_SHARED: Mapping[str, str] = {
    "mean_rr_ms": "HRV_MeanNN",
    "sdnn_ms": "HRV_SDNN",
    "rmssd_ms": "HRV_RMSSD",
    "sdsd_ms": "HRV_SDSD",
    "pnn50_pct": "HRV_pNN50",
    "sd1_ms": "HRV_SD1",
    "sd2_ms": "HRV_SD2",
}

#: Largest relative difference from NeuroKit2 a borrowed name tolerates.
NEUROKIT_REL_TOL = 0.005

#: hrvpace name -> column name under ``--names neurokit``, for *every* column of a summary and
#: of a windows table: the :data:`NEUROKIT_SHARED` metrics take NeuroKit2's name; every other
#: column gets a name in the same style that NeuroKit2 does not use, so that no column borrows
#: a name whose NeuroKit2 value differs. Not borrowed on purpose (checked on real recordings):
#: NeuroKit2's ``HRV_VLF``/``HRV_LF``/``HRV_HF``/``HRV_TP`` are powers of a PSD normalised by its
#: maximum (``normalize=True``, 100 Hz interpolation; ``HRV_TP`` also adds ULF and VHF), not
#: ms^2, so hrvpace's powers are ``HRV_LF_ms2`` etc.; NeuroKit2's ``HRV_LFHF`` comes from that
#: other spectrum (0.80 vs 0.81 on the same rest recording), ``HRV_LFn`` is LF/TP, not the Task
#: Force's LF/(LF+HF) in n.u., ``HRV_DFA_alpha1`` fits other box sizes (0.93 vs 0.91) and
#: ``HRV_SI`` is another index than Baevsky's stress index.
NEUROKIT_NAMES: Mapping[str, str] = {
    "path": "Path",
    "error": "Error",
    "format": "Format",
    "units": "Units",
    "read_as": "Read_As",
    "sha256": "SHA256",
    "duplicate_of": "Duplicate_Of",
    "segment": "Segment",
    "clock_start_s": "Clock_Start_s",
    "segment_from_s": "Segment_From_s",
    "segment_to_s": "Segment_To_s",
    "segment_start_s": "Segment_Start_s",
    "segment_end_s": "Segment_End_s",
    "t_s": "Time_End_s",
    "n_beats": "N_Beats",
    "duration_s": "Duration_s",
    "analysed_s": "Analysed_s",
    "n_gaps": "N_Gaps",
    "gap_s": "Gap_s",
    "quality": "Quality",
    "n_artefacts": "N_Artefacts",
    "cleaned": "Cleaned",
    "correction": "Correction",
    "corrected_pct": "Corrected_pct",
    "ectopy_warning": "Ectopy_Warning",
    "irregular_steps_pct": "Irregular_Steps_pct",
    "ectopy_reason": "Ectopy_Reason",
    **NEUROKIT_SHARED,
    "mean_hr_bpm": "HRV_MeanHR_bpm",
    "ln_rmssd": "HRV_LnRMSSD",
    "vlf_ms2": "HRV_VLF_ms2",
    "lf_ms2": "HRV_LF_ms2",
    "hf_ms2": "HRV_HF_ms2",
    "total_ms2": "HRV_TP_ms2",
    "lf_hf": "HRV_LFtoHF",
    "lf_nu": "HRV_LFnu",
    "hf_nu": "HRV_HFnu",
    "lf_peak_hz": "HRV_LFPeak_Hz",
    "hf_peak_hz": "HRV_HFPeak_Hz",
    "frequency_method": "HRV_FrequencyMethod",
    "coherence_ratio": "HRV_CoherenceRatio",
    "coherence_peak_hz": "HRV_CoherencePeak_Hz",
    "coherence_score": "HRV_CoherenceScore",
    "dfa_alpha1": "HRV_DFA_alpha1_4to16",
    "stress_index": "HRV_BaevskySI",
}

_NAME_STYLES = ("hrvpace", "neurokit")


def rename_columns(names: Sequence[str], *, style: str = "hrvpace") -> list[str]:
    """Column names in ``style``: ``"hrvpace"`` (as is) or ``"neurokit"`` (:data:`NEUROKIT_NAMES`).

    Every column is renamed under ``"neurokit"``; only the :data:`NEUROKIT_SHARED` metrics
    take a name NeuroKit2 itself uses.

    Raises
    ------
    ValueError
        Unknown ``style``, or a column without a NeuroKit2-style name.

    Examples
    --------
    >>> rename_columns(["rmssd_ms", "lf_ms2"], style="neurokit")
    ['HRV_RMSSD', 'HRV_LF_ms2']
    """
    if style not in _NAME_STYLES:
        raise ValueError(f"names: expected one of {_NAME_STYLES}, got {style!r}")
    if style == "hrvpace":
        return list(names)
    unknown = [n for n in names if n not in NEUROKIT_NAMES]
    if unknown:  # every column renamed or none: a new column must be given a name here
        raise ValueError(f"names: no NeuroKit2-style name for column(s) {unknown}")
    return [NEUROKIT_NAMES[n] for n in names]


@dataclass(frozen=True, kw_only=True)
class AnalysisOptions:
    """How to read and analyse each recording (picklable: it travels to worker processes).

    Attributes
    ----------
    format, units
        Passed to :func:`sensors.read_recording` (``None``: detect / ms).
    sampling_rate_hz, channel
        Signal formats only (``ecg_csv``/``ppg_csv`` need the rate; a channel name or index for
        ``wfdb``/``edf``/csv): passed to :func:`sensors.read_recording` when set.
    clean
        Correct artefacts with :func:`hrv.clean` before the metrics (default True).
    windows
        Also compute the :func:`hrv.rolling` table.
    window_s, step_s
        Window length and step of that table (s).
    coherence_step_s
        Step of the 64-s coherence windows averaged into the summary (s).
    segment
        Analyse only this part of each recording (:func:`api.research.segments.cut`).
    drop_zero
        Leave out RR values of exactly 0 in plain files (a beat annotated twice; removing it
        moves no beat time) instead of reading them for ``hrv.clean`` to label (the readers'
        default).
    series
        ``apple_health`` only: which HRV reading of the export (``0..N-1`` count from the
        oldest, ``-N..-1`` from the latest;
        ``None``: the latest), the command line's ``--series``; files of other formats (one
        series each) ignore it.
    beats
        ``wfdb`` only: ``"auto"``, ``"annotations"`` or ``"detect"`` (the command line's
        ``--beats-from``), passed to :func:`sensors.read_recording`.
    """

    format: str | None = None
    units: str | None = None
    sampling_rate_hz: float | None = None
    channel: str | int | None = None
    clean: bool = True
    windows: bool = False
    window_s: float = 300.0
    step_s: float = 10.0
    coherence_step_s: float = 5.0
    segment: Segment | None = None
    drop_zero: bool = False
    series: int | None = None
    beats: str = "auto"


#: Length (s) of the coherence windows a summary averages (HeartMath's 64 s).
COHERENCE_WINDOW_S = 64.0


def _defaults(func: Any, *names: str) -> dict[str, Any]:
    """The default values of ``func``'s keyword parameters ``names``, read from the code.

    What a call without them runs with (:func:`summarize` calls :func:`hrv.clean`,
    :func:`hrv.dfa_alpha1` and :func:`hrv.stress_index` so): never retyped.
    """
    params = inspect.signature(func).parameters
    return {n: params[n].default for n in names}


def method_parameters() -> dict[str, Any]:
    """The parameters of the correction, ectopy check and nonlinear metrics a summary ran.

    ``correction``: :func:`hrv.clean`'s defaults (Lipponen & Tarvainen 2019 ``c1``, ``c2``,
    ``alpha``, the quartile and median windows, iterations, the ``min_rr_ms``-``max_rr_ms``
    gate, ``max_missed_beats``); ``ectopy``: :func:`hrv.ectopy_check`'s thresholds
    (:mod:`hrv.ectopy`); ``dfa_alpha1``: box sizes and rule (:func:`hrv.dfa_settings`);
    ``stress_index``: the histogram bin.
    """
    return {
        "correction": _defaults(
            hrv.clean,
            "c1",
            "c2",
            "alpha",
            "qd_window",
            "median_window",
            "max_iterations",
            "min_rr_ms",
            "max_rr_ms",
            "max_missed_beats",
        ),
        "ectopy": {
            "step_limit": STEP_LIMIT,
            "share_limit": SHARE_LIMIT,
            "min_steps": MIN_STEPS,
            "corrected_limit": CORRECTED_LIMIT,
        },
        "dfa_alpha1": hrv.dfa_settings(),
        "stress_index": _defaults(hrv.stress_index, "bin_ms"),
    }


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 (hex) of a file's bytes, read in 1-MiB blocks; ``None`` when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def analysis_settings(
    options: AnalysisOptions,
    *,
    segments: Sequence[Segment] | None = None,
    names: str = "hrvpace",
    command_line: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything that decided an analysis's numbers, as a JSON-ready dict (README, analyze).

    What ``hrvpace analyze`` writes beside its results so that a table says which version
    and settings made it: the Parquet schema metadata (``hrvpace_settings``), the ``settings``
    of every ``--json`` line and the sidecar ``<name>.csv.json`` of a CSV. ``hrvpace_version``;
    how files were read (``format``, ``units``, ``sampling_rate_hz``, ``channel``,
    ``drop_zero``, ``series``, ``beats_from``: ``None`` (``"auto"``) where detected; each
    result's ``read_as`` says what was chosen); ``clean`` and ``correction`` (the artefact
    correction that ran, ``None`` with ``--no-clean``); ``windows`` (``window_s``, ``step_s``
    of the ``--windows`` table; ``None`` when no table was asked for); ``coherence``
    (``window_s``, ``step_s`` of the 64-s windows averaged into a summary); ``frequency``
    (:func:`hrv.spectrum.spectrum_settings`, the same dict the HTML report's caption is made
    from); ``segments`` (``label``, ``start_s``, ``end_s``; ``None``: whole recordings);
    ``names`` (the column-name style). Provenance (:func:`api._version.provenance`, as
    ``export`` and ``replay`` record it): ``hrvpace_build``
    (:func:`api._version.build_info`: the version, the installed metadata's version and the
    git commit of a checkout or the one an install recorded, since one version label has
    covered changed numbers), ``libraries`` (:func:`api._version.library_versions`: Python,
    numpy, scipy, NeuroKit2 when it detected a signal's beats), ``command_line`` (the
    arguments as given, ``None`` from Python) and ``exclude`` (the ``--exclude`` patterns);
    ``parameters`` (:func:`method_parameters`: the correction's, the ectopy check's, DFA's
    box sizes and the stress index's bin, read from the code). Each input's SHA-256 is in its
    own row (``sha256``), not here.
    """
    segs = (
        list(segments)
        if segments is not None
        else ([options.segment] if options.segment is not None else None)
    )
    software = provenance(neurokit=options.format in SIGNAL_FORMATS)
    return {
        "hrvpace_version": software["hrvpace_version"],
        "format": options.format,
        "units": options.units,
        "sampling_rate_hz": options.sampling_rate_hz,
        "channel": options.channel,
        "drop_zero": options.drop_zero,
        "series": options.series,
        "beats_from": options.beats,
        "clean": options.clean,
        "correction": CORRECTION if options.clean else None,
        "windows": {"window_s": options.window_s, "step_s": options.step_s}
        if options.windows
        else None,
        "coherence": {"window_s": COHERENCE_WINDOW_S, "step_s": options.coherence_step_s},
        "frequency": spectrum_settings(),
        "segments": None
        if segs is None
        else [{"label": g.label, "start_s": g.start_s, "end_s": g.end_s} for g in segs],
        "names": names,
        "parameters": method_parameters(),
        "hrvpace_build": software["hrvpace_build"],
        "libraries": software["libraries"],
        "command_line": None if command_line is None else list(command_line),
        "exclude": list(exclude),
    }


@dataclass(frozen=True)
class RecordingAnalysis:
    """The outcome for one recording: a summary and windows, or an error.

    ``summary`` maps every name of :data:`SUMMARY_FIELDS` to a number, a string or ``None``;
    ``windows`` is :func:`hrv.rolling`'s column dict (``None`` when not asked for); ``error``
    is a one-line reason when the recording could not be analysed (then both are ``None``);
    ``warnings`` what the user must hear about an analysed one (a segment that ran past the
    recording's end, :func:`api.research.segments.past_end`), printed on stderr; ``skipped``
    why a segment was not analysed though nothing is wrong with the recording (``beyond the
    recording's end (N s)``: :class:`api.research.segments.SegmentBeyondEndError`; no summary, no
    error). ``segment``
    is the label of the segment analysed (``None``: the whole recording), kept on a failure
    too, where there is no summary to hold it: a failed segment's row then says which one. A
    file that fails before it is cut (it cannot be read, it holds no beats) has ``None``
    there even when a segment was asked for: the file failed, not the segment.
    """

    path: str
    summary: dict[str, Any] | None = None
    windows: dict[str, NDArray[Any]] | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    segment: str | None = None
    sha256: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the recording was analysed (no error, not skipped)."""
        return self.error is None and self.skipped is None

    def to_json(self) -> dict[str, Any]:
        """``{"path": ..., **summary}`` or ``{"path": ..., "error": ...}`` (NaN as ``None``).

        A failed segment's object also names it: ``{"path": ..., "segment": ..., "error": ...}``.
        """
        if self.skipped is not None:
            return {"path": self.path, "segment": self.segment, "skipped": self.skipped}
        if self.error is not None:
            if self.segment is not None:
                return {"path": self.path, "segment": self.segment, "error": self.error}
            return {"path": self.path, "error": self.error}
        assert self.summary is not None
        return {"path": self.path, **{k: _plain(v) for k, v in self.summary.items()}}


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _coherence_summary(
    rr: NDArray[np.float64], gaps: NDArray[np.bool_] | None, *, step_s: float
) -> dict[str, float | None]:
    none: dict[str, float | None] = dict.fromkeys(
        ("coherence_ratio", "coherence_peak_hz", "coherence_score")
    )
    if rr.size == 0:
        return none
    t_last = float(np.sum(rr)) / 1000.0
    coherence_s = COHERENCE_WINDOW_S
    if t_last < coherence_s:
        return none
    n = int((t_last - coherence_s) // step_s) + 1
    t_end = coherence_s + np.arange(n, dtype=np.float64) * step_s
    t_end = t_end[t_end <= t_last]
    cols = hrv.coherence_windows(rr, t_end_s=t_end, window_s=coherence_s, gaps=gaps)
    ratio = cols["coherence_ratio"]
    ok = ~np.isnan(ratio)
    if not ok.any():
        return none
    return {
        "coherence_ratio": float(np.mean(ratio[ok])),
        "coherence_peak_hz": float(np.median(cols["coherence_peak_hz"][ok])),
        "coherence_score": float(np.mean(cols["coherence_score"][ok])),
    }


def summarize(
    rr_ms: Any,
    *,
    gaps: Any = None,
    clean: bool = True,
    duration_s: float | None = None,
    coherence_step_s: float = 5.0,
    cleaned: hrv.Cleaned | None = None,
    span_s: float | None = None,
) -> tuple[dict[str, Any], NDArray[np.float64], NDArray[np.bool_]]:
    """Summary of one recording's RR intervals (see the module docstring for the definitions).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals (ms) as recorded.
    gaps : array_like of bool, optional
        Beats that do not follow their predecessor (``docs/ARCHITECTURE.md``).
    clean : bool
        Correct artefacts with :func:`hrv.clean` first.
    duration_s : float, optional
        The recording's duration (default ``sum(rr_ms) / 1000``).
    coherence_step_s : float
        Step of the 64-s coherence windows that are averaged.
    cleaned : hrv.Cleaned, optional
        ``hrv.clean(rr_ms, gaps=gaps)`` when the caller already has it (not computed again).
    span_s : float, optional
        The span the beats stand for, which decides whether VLF is reported (>= 300 s;
        :func:`hrv.frequency_domain`'s ``span_s``): a segment's nominal length when its beats
        reach its bounds (:func:`api.research.segments.nominal_span`); default the span of the
        analysed beats.

    Returns
    -------
    summary : dict
        Every key of :data:`SUMMARY_FIELDS`.
    rr_ms, gaps : numpy.ndarray
        The analysed series (cleaned or not) and its gaps, for the windows table.

    Raises
    ------
    HrvInputError
        Unusable input (NaN, wrong units, ...), from :func:`hrv.clean`.

    References
    ----------
    See the module docstring.
    """
    if cleaned is None:
        cleaned = hrv.clean(rr_ms, gaps=gaps)
    if clean:
        rr = np.asarray(cleaned.rr_ms, dtype=np.float64)
        gap = np.asarray(cleaned.gaps, dtype=np.bool_)
    else:
        rr = np.asarray(rr_ms, dtype=np.float64)
        gap = (
            np.zeros(rr.size, dtype=np.bool_) if gaps is None else np.asarray(gaps, dtype=np.bool_)
        )
    gap_arg = gap if gap[1:].any() else None
    n_in = int(cleaned.n_beats)
    rr_in = np.asarray(rr_ms, dtype=np.float64)
    span = float(np.sum(rr_in)) / 1000.0 if duration_s is None else float(duration_s)
    # time at gaps: between the beats where no interval of the file lies (a dropout the file
    # marks), and the intervals hrv.clean removed as gaps (a pause too long for missed beats)
    between = span - float(np.sum(np.clip(rr_in, 0.0, None))) / 1000.0
    removed = (
        float(np.sum(rr_in[np.asarray(cleaned.labels) == int(hrv.BeatLabel.GAP)])) / 1000.0
        if clean
        else 0.0
    )
    out: dict[str, Any] = {
        "n_beats": n_in,
        "duration_s": span,
        "analysed_s": round(float(np.sum(rr)) / 1000.0, 6),
        # gaps in the analysed series: the file's and those the correction made
        "n_gaps": int(np.count_nonzero(gap[1:])) if gap.size else 0,
        "gap_s": round(max(between, 0.0) + removed, 6),
        "quality": cleaned.quality,
        "n_artefacts": int(np.count_nonzero(cleaned.labels != int(hrv.BeatLabel.NORMAL))),
        "cleaned": bool(clean),
        "correction": CORRECTION if clean else None,
        # the share hrv.ectopy_check's 20 % rule judges: removed gaps not counted
        "corrected_pct": (hrv.corrected_pct(cleaned.labels) if clean else 0.0) if n_in else None,
    }
    ectopy = hrv.ectopy_check(
        rr, gaps=gap, labels=cleaned.labels, corrected=clean, corrected_limit=CORRECTED_LIMIT
    )
    out["ectopy_warning"] = ectopy.unreliable if ectopy.assessed else None
    # not assessed (fewer than 30 steps): missing, as ectopy_warning, not a share of too few
    out["irregular_steps_pct"] = ectopy.irregular_pct if ectopy.assessed else None
    out["ectopy_reason"] = ectopy.reason
    td = hrv.time_domain(rr, gaps=gap_arg)
    for name in _TIME_FIELDS:
        out[name] = getattr(td, name)
    fd = hrv.frequency_domain(rr, gaps=gap_arg, span_s=span_s)
    for name in FREQUENCY_FIELDS:
        out[name] = getattr(fd, name)
    out["frequency_method"] = fd.method
    out.update(_coherence_summary(rr, gap_arg, step_s=coherence_step_s))
    out["dfa_alpha1"] = hrv.dfa_alpha1(rr, gaps=gap_arg).alpha1  # boxes never across a gap
    # a histogram and a range: no neighbours paired, so a gap joins nothing (no gaps needed)
    out["stress_index"] = hrv.stress_index(rr).value
    return out, rr, gap


def analyze_recording(
    recording: Recording,
    *,
    options: AnalysisOptions | None = None,
    path: str | None = None,
    read_as: str | None = None,
) -> RecordingAnalysis:
    """Summary (and windows when ``options.windows``) of a recording already read.

    Bad data raises; use :func:`analyze_file` for the tolerant, one-error-per-file behaviour.
    ``read_as`` says how the recording was read (default: its format).
    """
    opts = options or AnalysisOptions()
    name = path if path is not None else str(recording.meta.get("path", ""))
    if not opts.clean and (bad := np.flatnonzero(~(recording.rr_ms > 0))).size:
        # the metrics of the RR as recorded need every interval > 0: say which beat and the ways
        # out, instead of the core's "value at index i" (0-based, of an array the user never saw)
        raise HrvInputError(
            f"{bad.size} RR value(s) of 0 ms or less (first: beat {bad[0] + 1}) cannot be "
            "analysed as recorded (--no-clean); leave zeros out with --drop-zero (a beat "
            "annotated twice), or analyse without --no-clean (the artefact correction labels them)"
        )
    cleaned = hrv.clean(recording.rr_ms, gaps=recording.gaps)
    stats, rr, gap = summarize(
        recording.rr_ms,
        gaps=recording.gaps,
        clean=opts.clean,
        duration_s=recording.duration_s,
        coherence_step_s=opts.coherence_step_s,
        cleaned=cleaned,
        span_s=recording.meta.get("segment_nominal_s"),
    )
    summary: dict[str, Any] = {
        "format": recording.source_format,
        "units": str(recording.meta.get("units", "ms")),
        "read_as": read_as if read_as is not None else recording.source_format,
        "sha256": None,
        "duplicate_of": None,
        # the file's clock at the recording's start (hrvpace's times count from it)
        "clock_start_s": round(float(recording.meta.get("clock_start_s", recording.start_s)), 6),
        "segment": recording.meta.get("segment"),
        "segment_from_s": recording.meta.get("segment_from_s"),
        "segment_to_s": recording.meta.get("segment_to_s"),
        "segment_start_s": recording.meta.get("segment_start_s"),
        "segment_end_s": recording.meta.get("segment_end_s"),
        **stats,
    }
    windows = None
    if opts.windows:
        windows = recording_windows(
            rr,
            gap,
            t_s=recording.t_s - recording.start_s,
            cleaned=cleaned if opts.clean else None,
            window_s=opts.window_s,
            step_s=opts.step_s,
        )
        # the frequent-ectopy check of each window (hrv.ectopy_windows, same windows: their
        # ends on the analysed timeline); a window too short to assess is missing (None), as in
        # the summary, not "checked, fine"
        ectopy = hrv.ectopy_windows(rr, windows.pop("t_nn_s"), window_s=opts.window_s, gaps=gap)
        windows["irregular_steps_pct"] = np.where(
            ectopy["ectopy_assessed"], ectopy["irregular_steps_pct"], np.nan
        )
        warning = ectopy["ectopy_warning"].astype(object)
        warning[~ectopy["ectopy_assessed"]] = None
        windows["ectopy_warning"] = warning
    return RecordingAnalysis(path=name, summary=summary, windows=windows)


def recording_windows(
    rr: NDArray[np.float64],
    gaps: NDArray[np.bool_],
    *,
    t_s: Any,
    cleaned: hrv.Cleaned | None,
    window_s: float,
    step_s: float,
    metrics: Sequence[str] | None = None,
    parallel: bool = False,
) -> dict[str, NDArray[Any]]:
    """:func:`hrv.rolling` of an analysed series, each window's ``t_s`` on the recording's clock.

    ``rr``/``gaps`` are the analysed series (:func:`summarize`'s), ``t_s`` the recorded beats'
    times since the recording began and ``cleaned`` the correction that made ``rr`` (``None``:
    ``rr`` is the RR as recorded). The windows are cut on the analysed series' own timeline
    (returned as the column ``t_nn_s``, for :func:`hrv.ectopy_windows`); ``t_s`` is each
    window's end put on the recording's clock through the recorded time of its last beat
    (:func:`hrv.clean_anchors`, :func:`hrv.to_beat_clock`), as the live pipeline
    does (``hrv.LiveAnalyser``). ``metrics`` and ``parallel`` as :func:`hrv.rolling` (``None``:
    all metrics; not parallel by default: a cohort already runs one recording per core).
    """
    kwargs: dict[str, Any] = {} if metrics is None else {"metrics": tuple(metrics)}
    cols = hrv.rolling(
        rr,
        window_s=window_s,
        step_s=step_s,
        gaps=gaps if gaps[1:].any() else None,
        parallel=parallel,
        **kwargs,
    )
    anchor_nn, anchor_t = hrv.clean_anchors(rr, t_s, cleaned=cleaned)
    t_nn = cols["t_s"]
    cols["t_s"] = hrv.to_beat_clock(t_nn, anchor_nn_s=anchor_nn, anchor_t_s=anchor_t)
    cols["t_nn_s"] = t_nn
    return cols


def _lines(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{', ...' if len(numbers) > 5 else ''}"


def apple_health_reading(recording: Recording) -> str:
    """Which HRV reading of an Apple Health export ``recording`` is, in words.

    ``the latest of 3 readings (series 2, 2026-05-03T07:10:00+02:00); --series K chooses
    another (0 the oldest)``: analyze, replay and report read one reading (by default the
    latest) and say which.
    """
    k, n = recording.meta.get("series"), recording.meta.get("n_series")
    when = recording.meta.get("start_time") or "no start date"
    if not isinstance(k, int) or not isinstance(n, int):
        return f"one HRV reading ({when})"
    if n == 1:
        return f"its one HRV reading ({when})"
    which = "the latest" if k == n - 1 else "the oldest" if k == 0 else f"HRV reading {k + 1}"
    return (
        f"{which} of {n}{' HRV readings' if k in (0, n - 1) else ''} (series {k}, {when}); "
        "--series K chooses another "
        "(0..N-1 count from the oldest, -N..-1 from the latest)"
    )


#: What ``read_as`` says when ``--series`` is given for a file that is no Apple Health export.
SERIES_IGNORED_NOTE = "--series ignored: not an Apple Health export"


#: What analyze, replay and report say of a signal whose every stretch was left out as below the
#: detector quality floor (a PPG wholly in motion) ...
NO_BEATS_LEFT = "no beats left: the whole signal is below the detector quality floor"
#: ... and of a segment of it (``--segments``, ``--start``/``--end``) so left out.
NO_BEATS_LEFT_SEGMENT = "no beats left: the whole segment is below the detector quality floor"


def read_notes(
    how: str, recording: Recording, *, drop_zero: bool, series: int | None = None
) -> str:
    """``how`` (a :class:`~api.research.discover.Reading`'s words) with what reading left out.

    A last line cut short (an hrvpace recording whose writer was interrupted, or a copy cut
    off: the reader drops it), said as :data:`sensors.formats.hrvpace.CUT_OFF_NOTE`. Rows of a
    plain table with fewer fields than its header, read positionally (how many, the first's
    line, :data:`sensors.formats.text.SHORT_ROWS_NOTE`). The zero
    RR values ``drop_zero`` left out (``--drop-zero``: only what the options asked for, not
    whatever a file's meta says) and the signal losses over 64 s a beat-times file had
    (``ghrv_beats``: the pause is left out, the beat after it follows a gap), each with the
    lines of the file (the first five). An Apple Health export says which of its HRV readings
    was read (:func:`apple_health_reading`); ``series`` given (``--series``) for any other
    file is said ignored (:data:`SERIES_IGNORED_NOTE`). An ECG/PPG signal says its channel,
    sampling rate and where its beats came from (``meta["beats_from"]``: the detector, or a
    WFDB record's reference annotations), then its reader's notes (``meta["signal_notes"]``:
    an ECG detected on the inverted signal, stretches of low detector quality left out or
    kept). A Polar PPI export (``polar_sensor_logger_ppi``) says the pulses flagged (blocker
    or no skin contact) it left out, the pulse intervals outside 200..3000 ms it left out (when
    any), its gaps and the median error estimate of the pulses kept.
    """
    if recording.meta.get("truncated_last_line"):  # an hrvpace recording cut off mid-line
        how += f"; {CUT_OFF_NOTE}"
    short = tuple(recording.meta.get("short_row_lines") or ())
    if short:  # rows shorter than the header: their trailing fields taken as missing
        how += (
            f"; {len(short)} row(s) with fewer fields than the header (the first on line "
            f"{short[0]}), {SHORT_ROWS_NOTE}"
        )
    dropped = tuple(recording.meta.get("dropped_zero_lines") or ()) if drop_zero else ()
    if dropped:
        how += f"; {len(dropped)} zero RR value(s) left out ({_lines(dropped)})"
    if recording.source_format == "ghrv_beats":
        losses = tuple(recording.meta.get("signal_loss_lines") or ())
        if losses:
            how += (
                f"; {len(losses)} signal loss(es) over 64 s between beats left out, each a gap "
                f"(before {_lines(losses)})"
            )
    if recording.source_format == "apple_health":
        how += "; " + apple_health_reading(recording)
    elif series is not None:
        how += f"; {SERIES_IGNORED_NOTE}"
    beats_from = recording.meta.get("beats_from")
    if recording.source_format in SIGNAL_FORMATS and beats_from:
        channel = recording.meta.get("channel")
        rate = recording.meta.get("sampling_rate_hz")
        at = f" at {float(rate):g} Hz" if isinstance(rate, int | float) else ""
        how += f"; channel {channel!r}{at}; beats: {beats_from}"
    if recording.source_format == "polar_sensor_logger_ppi":
        rejected = int(recording.meta.get("rejected_pulses") or 0)
        implausible = int(recording.meta.get("implausible_pulses") or 0)
        n_gaps = int(recording.meta.get("n_gaps") or 0)
        how += f"; {rejected - implausible} pulse(s) flagged (blocker or no skin contact) left out"
        if implausible:
            how += (
                f", {implausible} pulse interval(s) outside {MIN_HEART_RR_MS:.0f}.."
                f"{MAX_HEART_RR_MS:.0f} ms (no heart beats so) left out"
            )
        how += f", {n_gaps} gap(s)"
        error = recording.meta.get("median_error_ms")
        if isinstance(error, int | float):
            how += f", median error estimate {float(error):g} ms"
    # what a signal reader says about the signal: detected on the inverted ECG, stretches of
    # low detector quality left out (sensors.formats.signal_peaks)
    for note in recording.meta.get("signal_notes") or ():
        how += f"; {note}"
    return how


def analyze_file(path: str | os.PathLike[str], options: AnalysisOptions) -> RecordingAnalysis:
    """Read and analyse one file; a problem becomes ``RecordingAnalysis.error``, never a raise.

    This is the unit of work of a cohort (one task per recording, in a worker process or on a
    Dask worker), so it must not take a whole run down: unreadable files, broken formats and
    unusable values are reported with the reason (which names the line for format errors and
    quotes at most 200 characters of the file); any other exception (a defect) is reported
    the same way, as ``internal error ...``. With ``options.drop_zero`` a plain file's RR
    values of exactly 0 (a beat annotated twice) are left out, not refused, and ``read_as``
    lists their lines (without it the error names that flag). Memory stays bounded whatever
    the file holds: the readers refuse files over 64 MiB, RR over 64 s and recordings over
    8 days (:mod:`sensors.recording`).
    """
    p = str(path)
    label = None if options.segment is None else options.segment.label
    digest = file_sha256(p)  # the input's bytes, whatever becomes of them (provenance)
    result = _analyze_file(p, options, label)
    summary = None if result.summary is None else {**result.summary, "sha256": digest}
    return dataclasses.replace(result, summary=summary, sha256=digest)


def _analyze_file(p: str, options: AnalysisOptions, label: str | None) -> RecordingAnalysis:
    # the segment a failure names: none until the recording is read and cut (a file that
    # cannot be read fails as a whole, not once per segment: hrvpace analyze --segments)
    where: str | None = None
    try:
        # hrvpace export's metrics or contact table (skipped in a folder) named on its own:
        # say what it is and which file holds the beats, not "a table without an RR column"
        not_beats = export_table_problem(p) if options.format is None else None
        if not_beats is not None:
            return RecordingAnalysis(path=p, error=not_beats)
        reading = choose_reading(p, format=options.format, units=options.units)
        how = reading.how
        signal: dict[str, Any] = {
            k: v
            for k, v in (
                ("sampling_rate_hz", options.sampling_rate_hz),
                ("channel", options.channel),
            )
            if v is not None
        }
        if options.series is not None and reading.format == "apple_health":
            signal["series"] = options.series  # other files have one series: they ignore it
        if options.beats != "auto" and reading.format == "wfdb":
            signal["beats"] = options.beats
        rec = read_recording(
            p, format=reading.format, units=reading.units, drop_zero=options.drop_zero, **signal
        )
        if rec.n_beats == 0:
            cut_off = f" ({CUT_OFF_NOTE})" if rec.meta.get("truncated_last_line") else ""
            return RecordingAnalysis(path=p, error=f"the recording has no beats{cut_off}")
        rec = dataclasses.replace(rec, meta={**rec.meta, "clock_start_s": rec.start_s})
        if options.segment is not None:
            where = label
            try:
                rec = cut(rec, options.segment)
            except SegmentBeyondEndError as exc:  # nothing of it recorded: skipped, not failed
                return RecordingAnalysis(path=p, segment=label, skipped=exc.reason)
        # a PPG's stretches of low detector quality (motion) are left out with a gap, an ECG's
        # kept; read_as says how many seconds (sensors.formats.signal_peaks)
        rec, _ = leave_out_low_quality(rec)
        if rec.n_beats == 0:
            return RecordingAnalysis(
                path=p,
                error=NO_BEATS_LEFT if options.segment is None else NO_BEATS_LEFT_SEGMENT,
                segment=label,
            )
        how = read_notes(how, rec, drop_zero=options.drop_zero, series=options.series)
        result = dataclasses.replace(
            analyze_recording(rec, options=options, path=p, read_as=how), segment=label
        )
        short = rec.meta.get("segment_past_end") if options.segment is not None else None
        return dataclasses.replace(result, warnings=(short,)) if short else result
    except (HrvpaceError, OSError, ValueError) as exc:
        # the reader's message names path, line, the units it read and the fix (kept short:
        # an error line quotes at most 200 characters of the file plus brief wording); the
        # reason alone, no exception class name
        return RecordingAnalysis(
            path=p, error=_one_line(str(exc) or type(exc).__name__), segment=where
        )
    except Exception as exc:  # one file must never take the cohort down
        # not a known bad-input error: a defect, still reported as this file's failure
        return RecordingAnalysis(
            path=p, error=_one_line(f"internal error {type(exc).__name__}: {exc}"), segment=where
        )


#: A failure's reason is at most this long (a reason quotes at most 200 characters of a file).
_ERROR_MAX_CHARS = 600


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_MAX_CHARS else text[: _ERROR_MAX_CHARS - 3] + "..."


def expand_paths(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files given, and the files inside folders given (sorted, hidden files skipped).

    A folder is not searched recursively (:func:`find_recordings` with ``recursive=True``
    searches subfolders). A path that does not exist is kept, so that it is
    reported as a failure like any other unreadable file. See :func:`find_recordings` for the
    variant that leaves out a folder's files that are not recordings.
    """
    return find_recordings(paths, skip=False)[0]


#: :func:`find_recordings`'s reason for a subfolder left out without ``recursive``.
FOLDER_NOT_SEARCHED = "a folder, not searched (--recursive searches subfolders)"
#: :func:`find_recordings`'s reason for a link to a folder (never followed, at any depth).
LINK_NOT_FOLLOWED = "a link to a folder, not followed"
#: :func:`find_recordings`'s reason for a file or folder an ``exclude`` pattern matched starts
#: so; the pattern follows (``excluded by --exclude *acc*``).
EXCLUDED_BY = "excluded by --exclude"


def excluded_by(
    relative: str | os.PathLike[str],
    exclude: Sequence[str],
    *,
    is_dir: bool = False,
    matched: set[str] | None = None,
) -> str | None:
    """The first pattern of ``exclude`` that matches ``relative``, else ``None``.

    ``relative`` is a path below a folder given (``s01/acc.csv``; a file named on its own:
    :func:`named_excluded_by`), ``is_dir`` whether it is a folder. A pattern
    (:func:`fnmatch.fnmatchcase`: ``*``, ``?``, ``[...]``, case counts; ``*`` also matches
    ``/``) matches when it matches that whole path, the path of a folder it is in (``s01``,
    ``s01/raw``), or the name of the file or of one of those folders: ``*acc*``, ``acc.csv``,
    ``s01/*``, ``raw`` (every folder named so). A pattern ending in ``/`` (``pilot/``) matches
    folders only, as in ``.gitignore`` or rsync (``acc.csv/`` leaves a file ``acc.csv`` in). A
    leading ``./`` is ignored. ``matched``: every pattern that matches is added to it, not
    only the first (to tell the patterns that matched nothing).
    """
    parts = PurePath(relative).parts
    # (candidate, whether it is a folder): the folders it is in, by path and name; itself
    candidates = {(PurePath(*parts[: i + 1]).as_posix(), True) for i in range(len(parts) - 1)}
    candidates |= {(name, True) for name in parts[:-1]}
    if parts:
        candidates |= {(PurePath(*parts).as_posix(), is_dir), (parts[-1], is_dir)}
    first = None
    for pattern in exclude:
        p = pattern.removeprefix("./")
        folders_only = p.rstrip("/") != p and p.rstrip("/") != ""
        p = p.rstrip("/") or pattern
        if any(fnmatch.fnmatchcase(c, p) for c, d in candidates if d or not folders_only):
            first = pattern if first is None else first
            if matched is None:
                break
            matched.add(pattern)
    return first


def named_excluded_by(
    path: str | os.PathLike[str], exclude: Sequence[str], *, matched: set[str] | None = None
) -> str | None:
    """The first pattern of ``exclude`` that matches a file named on its own, else ``None``.

    Only the file itself is matched, never the folders above it (``--exclude '*acc*'`` must not
    leave out ``accel_study/s01/rr.txt``): a pattern of one part (``acc.csv``, ``*acc*``)
    against the file's name, a pattern with a ``/`` (``s01/acc.csv``, ``*/acc.csv``) against as
    many trailing parts of its path as it has (``s01/acc.csv``), so that ``*`` cannot reach
    into the folders above. A pattern ending in ``/`` matches folders only, so never a file.
    ``matched`` as for :func:`excluded_by`.
    """
    parts = PurePath(path).parts
    first = None
    for pattern in exclude:
        p = pattern.removeprefix("./")
        if p.endswith("/") and p.rstrip("/"):
            continue  # folders only
        p = p.rstrip("/") or pattern
        if parts and fnmatch.fnmatchcase(PurePath(*parts[-len(p.split("/")) :]).as_posix(), p):
            first = pattern if first is None else first
            if matched is None:
                break
            matched.add(pattern)
    return first


def find_recordings(
    paths: Sequence[str | os.PathLike[str]],
    *,
    skip: bool = True,
    recursive: bool = False,
    exclude: Sequence[str] = (),
    matched: set[str] | None = None,
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The recordings among the files given and the files inside folders given.

    Returns ``(files, skipped)``: ``skipped`` lists the files *found in a folder* that are not
    recordings, each with the reason (:func:`api.research.discover.skip_reason`: a README,
    mostly lines that are not numbers; a table of numbers without an RR column is read and
    fails, never skipped), the links to folders found
    in a folder given or, with ``recursive``, anywhere below it (:data:`LINK_NOT_FOLLOWED`),
    and, without ``recursive``, the subfolders of a folder given (:data:`FOLDER_NOT_SEARCHED`,
    which names ``--recursive``). Files named one by one are always kept (a problem with one
    is reported as its failure), unless ``exclude`` leaves them out. With ``recursive`` the
    files of every subfolder are found
    too, in order of their path below the folder given (e.g. ``study/s01/rr.txt`` before
    ``study/s02/rr.txt``: the path keeps files of the same name in different subfolders
    apart). Hidden files and folders are ignored; links to folders are not followed (a link
    could lead outside the folder or round in a loop).

    ``exclude``: glob patterns (:func:`excluded_by`) matched against a found file's path
    relative to the folder given and against its name (a file named one by one: its name, or
    the trailing parts of its path, never the folders above it: :func:`named_excluded_by`).
    A file or folder matched is listed in ``skipped`` with the reason
    ``excluded by --exclude PATTERN`` (:data:`EXCLUDED_BY`), before it is read; a folder
    matched is listed once and not searched. ``matched``: every pattern that matched a file
    or folder is added to it (``hrvpace analyze`` warns about the others).
    """
    out: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            pattern = named_excluded_by(p, exclude, matched=matched)
            if pattern is None:
                out.append(p)
            elif skip:
                skipped.append((p, f"{EXCLUDED_BY} {pattern}"))
            continue
        found: list[Path] = []
        links: list[Path] = []
        excluded: list[tuple[Path, str]] = []
        for c in sorted(c for c in p.iterdir() if not c.name.startswith(".")):
            pattern = excluded_by(c.relative_to(p), exclude, is_dir=c.is_dir(), matched=matched)
            if pattern is not None:
                excluded.append((c, f"{EXCLUDED_BY} {pattern}"))
            elif c.is_dir() and not c.is_symlink():
                if recursive:
                    files_below, links_below, excluded_below = _files_below(c, p, exclude, matched)
                    found.extend(files_below)
                    links.extend(links_below)
                    excluded.extend(excluded_below)
                elif skip:
                    skipped.append((c, FOLDER_NOT_SEARCHED))
            elif c.is_file():
                found.append(c)
            elif c.is_dir():
                links.append(c)
        if skip:
            links.sort(key=lambda f: f.relative_to(p).parts)
            skipped.extend((link, LINK_NOT_FOLLOWED) for link in links)
            excluded.sort(key=lambda e: e[0].relative_to(p).parts)
            skipped.extend(excluded)
        found.sort(key=lambda f: f.relative_to(p).parts)
        for c in found:
            reason = skip_reason(c) if skip else None
            if reason is None:
                out.append(c)
            else:
                skipped.append((c, reason))
    return out, skipped


def _files_below(
    folder: Path, top: Path, exclude: Sequence[str] = (), matched: set[str] | None = None
) -> tuple[list[Path], list[Path], list[tuple[Path, str]]]:
    """Every file below ``folder`` and every link to a folder there (hidden ones left out).

    Links to folders are not followed (``os.walk`` lists them among the folders without
    entering them); they are returned so that they are listed, not dropped unseen. Files and
    folders an ``exclude`` pattern matches (their path relative to ``top``,
    :func:`excluded_by`) are returned apart with their reason; an excluded folder is not
    searched.
    """
    out: list[Path] = []
    links: list[Path] = []
    excluded: list[tuple[Path, str]] = []

    def kept(path: Path, is_dir: bool) -> bool:
        pattern = excluded_by(path.relative_to(top), exclude, is_dir=is_dir, matched=matched)
        if pattern is not None:
            excluded.append((path, f"{EXCLUDED_BY} {pattern}"))
        return pattern is None

    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".") and kept(Path(root) / d, True)]
        links.extend(Path(root) / d for d in dirs if (Path(root) / d).is_symlink())
        out.extend(
            Path(root) / f for f in files if not f.startswith(".") and kept(Path(root) / f, False)
        )
    return [f for f in out if f.is_file()], links, excluded
