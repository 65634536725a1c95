"""Beats from ECG and PPG signal recordings (private; use ``sensors.read_recording``).

Formats:

- ``wfdb``: a PhysioNet WFDB record (``NAME.hea`` header and its signal file), read with the
  ``wfdb`` package. When a reference annotation file ``NAME.atr`` is next to it, its beat labels
  are the beats (``meta["beats_from"]`` says so); otherwise R peaks are detected in the chosen
  channel.
- ``ecg_csv`` / ``ppg_csv``: one signal column of a CSV or text file (a header row is allowed;
  ``,``, ``;`` or tab separated), at the ``sampling_rate_hz`` the caller states (a signal file
  does not say it).

R peaks come from NeuroKit2 (``ecg_clean`` then ``ecg_peaks``, method ``"neurokit"``, no
artefact correction: hrvpace corrects artefacts itself, in :mod:`hrv.clean`); pulse peaks from
``ppg_clean`` and ``ppg_peaks`` (method ``"elgendi"``). Each beat's detector quality (0..1) is
NeuroKit2's ``templatematch`` quality at the peak (``ecg_quality``, ``ppg_quality``: the beat's
correlation with the signal's average beat); a signal whose beats are below
:data:`sensors.formats.signal_peaks.DETECTOR_QUALITY_FLOOR` is refused as not an ECG/PPG.
The beat times ``t_s`` are the peak times, in seconds from the start of
the signal; ``rr_ms`` their differences.

How good the detection is, measured, not assumed: on MIT-BIH Arrhythmia records (360 Hz, lead
MLII) against the cardiologists' reference labels, tolerance 75 ms, :func:`compare_beats`
gives sensitivity and positive predictivity >= 99.5 % on the clean records 100, 106, 119, 121
and 123 (record 100, 30 min: 99.87 %, 2,270 of 2,273 beats, and 100.00 %), less on noisy ones
(105: 98.83 % and 99.26 %; 108: 88.66 % and 89.62 %, measured before the polarity check
that now turns its lead: its 5-min excerpt went from 72 % to 99 %) (README, "Sensors";
``python -m bench.ecg_detection``).

One module per job, all re-exported here: peak detection
(:mod:`sensors.formats.signal_peaks`), the readers (:mod:`sensors.formats.signal_wfdb`,
:mod:`sensors.formats.signal_edf`, :mod:`sensors.formats.signal_csv`) and the beat-by-beat
comparison (:mod:`sensors.formats.beat_accuracy`).

NeuroKit2 and wfdb are in the ``ecg`` extra (``pip install -e '.[ecg]'`` in the checkout);
without them these formats raise :class:`sensors.RecordingFormatError` saying what to install.

References
----------
Makowski D. et al. (2021). NeuroKit2: a Python toolbox for neurophysiological signal
processing. Behavior Research Methods 53:1689-1696.
Moody G.B., Mark R.G. (2001). The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol
20(3):45-50.
ANSI/AAMI EC57:2012. Testing and reporting performance results of cardiac rhythm and ST segment
measurement algorithms (beat-by-beat sensitivity and positive predictivity).
Elgendi M. et al. (2013). Systolic peak detection in acceleration photoplethysmograms measured
from emergency responders in tropical conditions. PLoS ONE 8(10):e76585.
"""

from sensors.formats.beat_accuracy import BeatComparison, compare_beats
from sensors.formats.signal_csv import read_ecg_csv, read_ppg_csv
from sensors.formats.signal_edf import read_edf
from sensors.formats.signal_peaks import detect_pulse_peaks, detect_r_peaks
from sensors.formats.signal_wfdb import BEAT_SYMBOLS, read_wfdb

__all__ = [
    "BEAT_SYMBOLS",
    "BeatComparison",
    "compare_beats",
    "detect_pulse_peaks",
    "detect_r_peaks",
    "read_ecg_csv",
    "read_edf",
    "read_ppg_csv",
    "read_wfdb",
]
