"""R peaks of a live ECG stream, detected on a sliding buffer and confirmed past its edge.

A chest strap's raw ECG (Polar H10: 130 Hz through the PMD service) comes in frames of a few
dozen samples. :class:`LiveRPeakDetector` keeps the last ``window_s`` seconds, runs NeuroKit2's
detector (``ecg_clean`` and ``ecg_peaks``, method ``"neurokit"``, the one measured on MIT-BIH in
:mod:`sensors.formats.signals`) every ``step_s`` seconds of new signal, and *confirms* a peak
only once it lies at least ``confirm_after_s`` before the buffer's end (a peak near the end may
still move or vanish when the next samples arrive) and at least ``edge_s`` after its start
(filters ring at the start). A confirmed peak is never taken back; a peak within
``refractory_s`` of one already confirmed is the same beat. So each beat is reported once,
about ``confirm_after_s`` + ``step_s`` after it happened.

Polarity: an ECG upside down (strap worn the other way round, leads reversed) would be timed on
the wrong wave. The detector votes on it (NeuroKit2's ``ecg_invert``, as the file readers:
:func:`sensors.formats.signal_peaks.ecg_is_inverted`) on each 5-s block of the stream that is not
flat, and decides only on a clear verdict: once at least 20 s of blocks have voted and at least
80 % of them (:data:`sensors.formats.signal_peaks.INVERTED_SHARE`) say inverted, the ECG is
inverted and from then on detected on the signal turned upright; once 60 s have voted without
that, it is upright. Until decided it is detected as it comes (upright), and
:attr:`LiveRPeakDetector.inverted` is ``None``. Deciding on the first 4 s alone, electrode
settling (5 s of drift and noise before the ECG) marked 7 of 10 simulated upright streams
inverted; voting so, 0 of 10, and all 10 of the same streams inverted are found inverted.
The decision and the votes hold for the stream (a strap does not turn over between frames):
:meth:`reset` after a gap keeps them and drops only the unfinished block.

Measured on MIT-BIH Arrhythmia record 100 resampled to 130 Hz and fed in H10-sized frames (the
tests): sensitivity and positive predictivity against the reference labels as for the batch
detector (>= 99.5 %).

References
----------
Makowski D. et al. (2021). NeuroKit2: a Python toolbox for neurophysiological signal
processing. Behavior Research Methods 53:1689-1696.
Polar Electro. Polar BLE SDK, "Polar Measurement Data" (ECG frames, 130 Hz on the H10).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv.errors import install_hint
from sensors.errors import SensorError
from sensors.formats.signal_peaks import INVERTED_SHARE

__all__ = ["LiveRPeakDetector"]

#: Seconds of signal per polarity vote, the least voted before deciding inverted, and the most
#: after which an ECG without a clear inverted verdict is decided upright.
_VOTE_BLOCK_S = 5.0
_VOTES_BEFORE_INVERTED_S = 20.0
_VOTES_BEFORE_UPRIGHT_S = 60.0
#: A block whose amplitude (1st to 99th percentile) is below this share of the median amplitude
#: of the last :data:`_FLAT_REFERENCE_BLOCKS` blocks (all of them, voting or not, this one
#: included) is flat or nearly (electrode off): it does not vote. All blocks, not only the
#: voting ones: a large first block (a 3-10x swing while the strap is put on) made every later
#: block "flat" against the voting blocks' median, and the vote never ended.
_FLAT_SHARE = 0.2
_FLAT_REFERENCE_BLOCKS = 12


class LiveRPeakDetector:
    """Confirmed R-peak times from ECG samples pushed as they arrive.

    Parameters
    ----------
    sampling_rate_hz
        The stream's rate (H10: 130 Hz).
    window_s
        Seconds of signal the detector sees each time (>= 4).
    step_s
        Run the detector after this many seconds of new samples.
    confirm_after_s
        A peak is confirmed once this far before the buffer's end.
    edge_s
        Peaks this close to the buffer's start are left to earlier runs (filter start-up), except
        at the very start of the stream.
    refractory_s
        Two peaks closer than this are one beat.

    Examples
    --------
    >>> det = LiveRPeakDetector(130.0)
    >>> det.push(np.zeros(65), t_end_s=0.5)  # too little signal yet
    []
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        *,
        window_s: float = 8.0,
        step_s: float = 1.0,
        confirm_after_s: float = 1.0,
        edge_s: float = 1.0,
        refractory_s: float = 0.25,
    ) -> None:
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
        if not window_s >= 4.0:
            raise ValueError(f"window_s must be >= 4, got {window_s!r}")
        if not 0 < step_s <= window_s / 2:
            raise ValueError(f"step_s must be in (0, window_s / 2], got {step_s!r}")
        if not 0 < confirm_after_s < window_s / 2:
            raise ValueError(
                f"confirm_after_s must be in (0, window_s / 2), got {confirm_after_s!r}"
            )
        self.fs = float(sampling_rate_hz)
        self._size = round(window_s * self.fs)
        self._step = max(1, round(step_s * self.fs))
        self._confirm = confirm_after_s
        self._edge = edge_s
        self._refractory = refractory_s
        self._buffer = np.zeros(0, dtype=np.float64)
        self._t_end: float | None = None  # time of the buffer's last sample
        self._new = 0
        self._stream_start: float | None = None
        self._last_peak: float | None = None
        self._nk: Any = None
        #: Whether the ECG is upside down and detected inverted; ``None`` until decided (a clear
        #: verdict over at least 20 s of signal, see the module's docstring).
        self.inverted: bool | None = None
        self._block = max(1, round(_VOTE_BLOCK_S * self.fs))
        self._pending = np.zeros(0, dtype=np.float64)  # samples of the unfinished vote block
        self._votes: list[bool] = []
        self._amplitudes: list[float] = []  # of the last blocks, voting or not

    def reset(self) -> None:
        """Forget the signal (after a gap in the stream); confirmed peaks stay reported.

        The polarity's votes and decision are kept (the strap has not turned over); the
        unfinished vote block is dropped (its samples are not contiguous with what follows).
        """
        self._buffer = np.zeros(0, dtype=np.float64)
        self._pending = np.zeros(0, dtype=np.float64)
        self._t_end = None
        self._new = 0
        self._stream_start = None

    def push(self, samples: NDArray[np.float64] | list[float], *, t_end_s: float) -> list[float]:
        """Add samples whose last one was taken at ``t_end_s``; return newly confirmed peaks.

        Samples must follow the previous ones without a gap (call :meth:`reset` after one); a
        ``t_end_s`` that does not advance by the samples' duration (within 2 samples) means
        samples were lost, and the buffer restarts from these samples.
        """
        x = np.asarray(samples, dtype=np.float64)
        if x.size == 0:
            return []
        if not np.isfinite(x).all():
            raise ValueError("ECG samples must be finite numbers")
        if self._t_end is not None:
            expected = self._t_end + x.size / self.fs
            if abs(t_end_s - expected) > 2.0 / self.fs:
                self.reset()
        if self._stream_start is None:
            self._stream_start = t_end_s - (x.size - 1) / self.fs
        self._buffer = np.concatenate([self._buffer, x])[-self._size :]
        self._t_end = t_end_s
        if self.inverted is None:
            self._vote(x)
        self._new += x.size
        if self._new < self._step or self._buffer.size < int(4.0 * self.fs):
            return []
        self._new = 0
        return self._detect()

    def flush(self) -> list[float]:
        """At the end of a stream: confirm the peaks up to the buffer's end."""
        if self._t_end is None or self._buffer.size < int(4.0 * self.fs):
            return []
        return self._detect(margin_s=0.0)

    def _detect(self, *, margin_s: float | None = None) -> list[float]:
        assert self._t_end is not None and self._stream_start is not None
        nk = self._neurokit()
        n = self._buffer.size
        t0 = self._t_end - (n - 1) / self.fs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                signal = -self._buffer if self.inverted else self._buffer
                clean = nk.ecg_clean(signal, sampling_rate=self.fs, method="neurokit")
                _, info = nk.ecg_peaks(
                    clean, sampling_rate=self.fs, method="neurokit", correct_artifacts=False
                )
            except Exception:  # a flat or noisy buffer: no peaks this time, never a crash
                return []
        peaks = t0 + np.asarray(info["ECG_R_Peaks"], dtype=np.float64) / self.fs
        margin = self._confirm if margin_s is None else margin_s
        at_start = t0 <= self._stream_start + 1e-9
        lo = t0 if at_start else t0 + self._edge
        hi = self._t_end - margin
        out: list[float] = []
        for t in np.sort(peaks):
            if not lo <= t <= hi:
                continue
            if self._last_peak is not None and t < self._last_peak + self._refractory:
                continue
            out.append(float(t))
            self._last_peak = float(t)
        return out

    def _vote(self, x: NDArray[np.float64]) -> None:
        """Add samples to the polarity vote; decide on a clear verdict (module docstring)."""
        self._pending = np.concatenate([self._pending, x])
        while self._pending.size >= self._block and self.inverted is None:
            block, self._pending = self._pending[: self._block], self._pending[self._block :]
            amplitude = float(np.ptp(np.percentile(block, [1.0, 99.0])))
            if not amplitude > 0.0:
                continue
            self._amplitudes = [*self._amplitudes[-(_FLAT_REFERENCE_BLOCKS - 1) :], amplitude]
            if amplitude < _FLAT_SHARE * float(np.median(self._amplitudes)):
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _, inverted = self._neurokit().ecg_invert(block, sampling_rate=self.fs)
            except SensorError:
                raise
            except Exception:  # an odd block does not vote, never a crash
                continue
            self._votes.append(bool(inverted))
            voted_s = len(self._votes) * self._block / self.fs
            share = sum(self._votes) / len(self._votes)
            if voted_s >= _VOTES_BEFORE_INVERTED_S - 1e-9 and share >= INVERTED_SHARE:
                self.inverted = True
            elif voted_s >= _VOTES_BEFORE_UPRIGHT_S - 1e-9:
                self.inverted = False
        if self.inverted is not None:
            self._pending = np.zeros(0, dtype=np.float64)

    def _neurokit(self) -> Any:
        if self._nk is None:
            try:
                import neurokit2
            except ImportError:
                raise SensorError(
                    f"detecting R peaks in a live ECG needs NeuroKit2 ({install_hint('ecg')})"
                ) from None
            self._nk = neurokit2
        return self._nk
