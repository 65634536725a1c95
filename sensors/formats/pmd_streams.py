"""Files of the Polar Measurement Data streams ``hrvpace record --stream`` stores (private).

Each stream goes to a file that hrvpace's readers take back:

- **PPI** (optical pulse-to-pulse intervals): Polar Sensor Logger's PPI export layout
  (:data:`PPI_HEADER`, ``;`` separated)::

      Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact supported;...
      2026-12-05T13:01:02.345+01:00;968;12;0;1;1;62

  read back as format ``polar_sensor_logger_ppi`` (detected from the header; blocked and
  contactless pulses, and intervals outside 200..3000 ms, are left out there with a gap, as
  live). A PPI frame has no sample
  times, so each pulse's timestamp is when it ended as the live sources time beats: the last
  pulse of a frame at the frame's arrival (local time with its UTC offset), earlier ones
  back-dated by the later intervals, never before the previous pulse plus its interval
  (:func:`sensors.heart_rate_measurement.beats_from_packet`). A pulse whose interval no heart
  beats (outside 200..3000 ms, 0 too), which :class:`sensors.BlePpiSource` leaves out, still has
  its row with the values the sensor sent, but dates no pulse: its place counts as the frame's
  median kept interval (the previous frame's when none is kept), and its row is dated where
  that stand-in ends, so the rows carry the times the live source gives the beats.
- **ECG**: one column ``ecg_uV`` (microvolts) at the stream's sampling rate, format ``ecg_csv``
  (``--sampling-rate 130`` for a Polar H10). A signal CSV has no time column, so the samples
  of one file must be contiguous: when the device clock jumps by more than the samples explain
  (frames lost) or the stream restarts after a reconnect, the next samples go to a new file
  (``NAME.ecg-2.csv``, ``-3``, ...), each read on its own; beat times inside a file stay true.
- **ACC** (accelerometer): ``t_s,x_mg,y_mg,z_mg``, the time of each sample in seconds since the
  stream's first sample (device clock; arrival times when a frame carries none), then the
  acceleration in milli-g; :func:`read_acc_stream` reads it back for
  :class:`sensors.motion.MotionTracker`.

Every frame is written at once (no buffer), so an interrupted recording keeps what came. A
frame that cannot be written whole (a full disk) is not in the file at all: the file ends at the
previous frame's last line, and the writer raises ``OSError`` naming the file.

References
----------
Polar Electro. Polar BLE SDK, "Polar Measurement Data" (frame timestamps: device time of the
last sample; ECG in µV; ACC in mG) and ``PolarPpiData``. Polar Sensor Logger (J. Happonen),
PPI export.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from dataclasses import dataclass
from io import FileIO
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sensors.errors import RecordingFormatError
from sensors.formats._common import data_lines, quote, read_text
from sensors.heart_rate_measurement import (
    HeartRateMeasurement,
    beats_from_packet,
    dated_span_ms,
    dating_rr_ms,
    is_heart_rr_ms,
    stand_in_rr_ms,
)
from sensors.pmd import PmdFrame

__all__ = [
    "ACC_COLUMNS",
    "ECG_COLUMN",
    "PPI_HEADER",
    "AccStream",
    "AccStreamWriter",
    "EcgStreamWriter",
    "PpiStreamWriter",
    "ecg_break_files",
    "ecg_link_problem",
    "read_acc_stream",
    "stream_path",
]

PPI_HEADER = (
    "Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact supported;"
    "hr [bpm]"
)
ECG_COLUMN = "ecg_uV"
ACC_COLUMNS = ("t_s", "x_mg", "y_mg", "z_mg")
#: A device-clock jump (s) beyond what the samples explain that starts a new ECG file.
_ECG_BREAK_S = 0.5
_SUFFIX = {"ppi": ".txt", "ecg": ".csv", "acc": ".csv"}


def stream_path(out: Path, kind: str, run: int = 1) -> Path:
    """Where stream ``kind`` of the recording ``out`` goes.

    ``h10.csv`` -> ``h10.ecg.csv``, ``h10.ppi.txt``, ``h10.acc.csv``; run 2 of the ECG
    ``h10.ecg-2.csv``.
    """
    if kind not in _SUFFIX:
        raise ValueError(f"no stream file for {kind!r}; streams: {', '.join(_SUFFIX)}")
    tag = kind if run == 1 else f"{kind}-{run}"
    return out.with_name(f"{out.stem}.{tag}{_SUFFIX[kind]}")


def ecg_break_files(out: Path) -> list[Path]:
    """The ECG files after a break (``OUT.ecg-2.csv``, ``-3``, ...) next to ``out``, by run.

    What an earlier recording to ``out`` left there (a link counts, even to no file); ``[]``
    when the folder cannot be read (its own check names the problem). Only the names
    :func:`stream_path` makes count: a run number without leading zeros (``OUT.ecg-02.csv`` is
    no file of this program's, left alone).
    """
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    runs = [(run, name) for name in names if (run := _break_run(out, name)) is not None]
    return [out.parent / name for run, name in sorted(runs)]


def _break_run(out: Path, name: str) -> int | None:
    """The run (2, 3, ...) of ``name`` as an ECG file after a break of ``out``, else None."""
    pattern = re.escape(out.stem) + r"\.ecg-([1-9][0-9]*)" + re.escape(_SUFFIX["ecg"])
    m = re.fullmatch(pattern, name)
    return int(m[1]) if m is not None and int(m[1]) >= 2 else None


def ecg_link_problem(path: Path, out: Path) -> str | None:
    """Why the first ECG file ``path`` of ``out`` cannot be written, a link's problem, or None.

    A link (even to no file) that ends at an ECG file after a break of ``out``
    (``OUT.ecg.csv`` -> ``OUT.ecg-2.csv``): the first file would be written there, and
    ``overwrite`` would remove it as an earlier recording's, or a break would replace it with
    the second run: the ECG lost either way.
    """
    if not os.path.islink(path):
        return None
    real = Path(os.path.realpath(path))
    if real.parent == Path(os.path.realpath(out.parent)) and _break_run(out, real.name):
        return (
            f"it is a link to {real}, where the ECG after a break goes (an earlier "
            "recording's is removed by --overwrite): the ECG would be lost"
        )
    return None


def _open(path: Path, overwrite: bool) -> FileIO:
    # unbuffered: each write goes to the operating system at once, and a write that fails
    # leaves nothing behind to be written again on close
    try:
        return open(path, "wb" if overwrite else "xb", buffering=0)
    except FileExistsError:
        raise RecordingFormatError(
            "the file exists (use overwrite to replace it)", path=str(path)
        ) from None
    except OSError as exc:
        raise RecordingFormatError(
            f"cannot create the file ({exc.strerror or exc})", path=str(path)
        ) from exc


class _StreamWriter:
    """An open stream file: ``close()`` it (or use ``with``)."""

    def __init__(self, path: Path, header: str, *, overwrite: bool) -> None:
        self.path = Path(path)
        self.files: list[Path] = [self.path]
        self._overwrite = overwrite
        self._header = header
        self._file: FileIO | None = _open(self.path, overwrite)
        self._size = 0  # bytes in the current file, each write whole
        self._emit(header + "\n")
        self.n_samples = 0

    def _emit(self, text: str) -> None:
        """Write ``text`` (whole lines) to the current file, all of it or none.

        A write that fails (a full disk, a file-size limit) is taken back: the file is cut to
        the end of the last whole write (no part line, which a reader would take for a wrong
        sample), closed, and the error raised naming the file; the writer takes no more.
        """
        assert self._file is not None, "write after close"
        data = text.encode("utf-8")
        try:
            view = memoryview(data)
            while view:  # the operating system may take part of it (the space left)
                view = view[self._file.write(view) :]
        except OSError as exc:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):
                os.ftruncate(file.fileno(), self._size)
            with contextlib.suppress(OSError):
                file.close()
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.files[-1])) from exc
        self._size += len(data)

    def _next_file(self, path: Path) -> None:
        """Go on in a new file ``path`` (a break in the samples) from its header.

        A file that cannot be made, or whose header cannot be written (a full disk, no inodes
        left), fails as a write does: an :class:`OSError` naming it, the writer's ``files``
        without it, and a header-less file removed (it would read as an empty stream).
        """
        self.close()
        try:
            # unbuffered, as _open; closed by close()
            self._file = open(path, "wb" if self._overwrite else "xb", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        self._size = 0
        self.files.append(path)
        try:
            self._emit(self._header + "\n")
        except OSError:
            self.files.pop()
            with contextlib.suppress(OSError):
                path.unlink()
            raise

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> _StreamWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PpiStreamWriter(_StreamWriter):
    """PPI frames to a Polar Sensor Logger PPI file (see the module docstring)."""

    def __init__(self, path: Path, *, overwrite: bool = False) -> None:
        super().__init__(path, PPI_HEADER, overwrite=overwrite)
        self._start: float | None = None
        self._last_t_s: float | None = None
        #: What a dropped pulse's place counts as for dating (ms): the median of the last
        #: frame's kept intervals (1000 before any was kept).
        self._stand_in_ms = 1000.0

    def write(self, frame: PmdFrame, arrived_at: float) -> None:
        """Write the pulses of one PPI frame that arrived at ``arrived_at`` (Unix s)."""
        pulses = frame.ppi
        if not pulses:
            return
        ppi_ms = tuple(float(p.ppi_ms) for p in pulses)
        # one rule with BlePpiSource: an interval no heart beats (0 too) never dates a pulse;
        # its place counts as the frame's median kept interval, so a corrupt 60-s value cannot
        # move the file's timestamps (the row is still written, with its raw values)
        dropped = tuple(i for i, v in enumerate(ppi_ms) if not is_heart_rr_ms(v))
        kept = tuple(v for i, v in enumerate(ppi_ms) if i not in dropped)
        hr = int(pulses[-1].hr_bpm)
        measurement = HeartRateMeasurement(hr, rr_ms=kept, implausible_rr_at=dropped)
        if self._start is None:
            self._start = arrived_at - dated_span_ms(measurement) / 1000.0
        # every place dated as beats_from_packet dates the kept ones (one rule, stand_in_rr_ms;
        # a frame with none kept, the previous frame's stand-in): the kept pulses get the times
        # BlePpiSource gives them, the dropped ones the time their stand-in ends
        self._stand_in_ms = stand_in_rr_ms(measurement) or self._stand_in_ms
        dating = dating_rr_ms(measurement, none_kept_ms=self._stand_in_ms)
        timed = beats_from_packet(
            HeartRateMeasurement(hr, rr_ms=dating),
            arrived_at=arrived_at,
            session_start=self._start,
            not_before_s=self._last_t_s,
        )
        rows = []
        for beat, p in zip(timed, pulses, strict=True):
            stamp = dt.datetime.fromtimestamp(self._start + beat.t_s, tz=dt.UTC).astimezone()
            supported = p.skin_contact is not None
            rows.append(
                f"{stamp.isoformat(timespec='milliseconds')};{p.ppi_ms};{p.error_ms};"
                f"{int(p.blocker)};{int(bool(p.skin_contact))};{int(supported)};{p.hr_bpm}\n"
            )
        self._last_t_s = timed[-1].t_s
        self._emit("".join(rows))
        self.n_samples += len(rows)


class EcgStreamWriter(_StreamWriter):
    """ECG frames to one-column ``ecg_csv`` files, a new file at every break (module docstring).

    With ``overwrite`` the files after a break that an earlier recording to ``out`` left
    (:func:`ecg_break_files`) are removed (a link: the link) as the first file is replaced: the
    ones this recording does not reach would read as part of it. Without it the first break
    finds its file there and fails (``hrvpace record`` refuses them before connecting). A
    ``path`` that is a link to such a file is refused before anything is opened
    (:func:`ecg_link_problem`).
    """

    def __init__(
        self, path: Path, *, sampling_rate_hz: float, out: Path, overwrite: bool = False
    ) -> None:
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
        problem = ecg_link_problem(path, out)  # before opening: nothing written through it
        if problem is not None:
            raise RecordingFormatError(problem, path=str(path))
        super().__init__(path, ECG_COLUMN, overwrite=overwrite)
        if overwrite:
            for stale in ecg_break_files(out):
                if stale.is_dir() and not stale.is_symlink():  # no recording's: left to fail
                    continue  # at the break (record refuses it before connecting)
                try:
                    stale.unlink(missing_ok=True)
                except OSError as exc:
                    self.close()
                    raise RecordingFormatError(
                        "cannot remove the earlier recording's ECG file there "
                        f"({exc.strerror or exc})",
                        path=str(stale),
                    ) from exc
        self.sampling_rate_hz = float(sampling_rate_hz)
        self._out = out
        self._last_ns: int | None = None
        self._connection: int | None = None
        self.n_samples_in_file = 0

    def write(self, frame: PmdFrame, connection: int) -> None:
        """Write one ECG frame's samples; ``connection`` tells a restarted stream."""
        samples = [int(v) for v in frame.samples]  # type: ignore[call-overload]
        if not samples:
            return
        restarted = self._connection is not None and connection != self._connection
        jumped = False
        if frame.timestamp_ns and self._last_ns is not None:
            expected_ns = self._last_ns + len(samples) * 1e9 / self.sampling_rate_hz
            jumped = abs(frame.timestamp_ns - expected_ns) > _ECG_BREAK_S * 1e9
        if (restarted or jumped) and self.n_samples_in_file > 0:
            self._next_file(stream_path(self._out, "ecg", len(self.files) + 1))
            self.n_samples_in_file = 0
        self._connection = connection
        self._last_ns = frame.timestamp_ns or None
        self._emit("".join(f"{v}\n" for v in samples))
        self.n_samples += len(samples)
        self.n_samples_in_file += len(samples)


class AccStreamWriter(_StreamWriter):
    """Accelerometer frames to a ``t_s,x_mg,y_mg,z_mg`` file (see the module docstring)."""

    def __init__(self, path: Path, *, sampling_rate_hz: float, overwrite: bool = False) -> None:
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
        super().__init__(path, ",".join(ACC_COLUMNS), overwrite=overwrite)
        self.sampling_rate_hz = float(sampling_rate_hz)
        self._t0_ns: float | None = None
        self._t0_arrival: float | None = None

    def write(self, frame: PmdFrame, arrived_at: float) -> None:
        """Write one ACC frame's samples (``arrived_at``: Unix s, used without a timestamp)."""
        rows = np.asarray(frame.samples, dtype=np.float64).reshape(-1, 3)
        n = rows.shape[0]
        if n == 0:
            return
        back_s = (n - 1 - np.arange(n)) / self.sampling_rate_hz
        if frame.timestamp_ns:
            if self._t0_ns is None:
                self._t0_ns = frame.timestamp_ns - back_s[0] * 1e9
            t = (frame.timestamp_ns - self._t0_ns) / 1e9 - back_s
        else:
            if self._t0_arrival is None:
                self._t0_arrival = arrived_at - back_s[0]
            t = arrived_at - self._t0_arrival - back_s
        self._emit(
            "".join(
                f"{ti:.4f},{int(x)},{int(y)},{int(z)}\n"
                for ti, (x, y, z) in zip(t.tolist(), rows.tolist(), strict=True)
            )
        )
        self.n_samples += n


@dataclass(frozen=True)
class AccStream:
    """An accelerometer stream read back: ``t_s`` (n,) seconds and ``acc_mg`` (n, 3) milli-g."""

    t_s: NDArray[np.float64]
    acc_mg: NDArray[np.float64]


def read_acc_stream(path: str | Path) -> AccStream:
    """Read an ``hrvpace record --stream acc`` file (``t_s,x_mg,y_mg,z_mg``).

    Raises
    ------
    RecordingFormatError
        Not such a file (header), a line without 4 numbers, or times that go backwards; the
        message names the path and the line.
    """
    p = str(path)
    lines = data_lines(read_text(p))
    if not lines:
        raise RecordingFormatError("the file is empty (expected 't_s,x_mg,y_mg,z_mg')", path=p)
    number, header = lines[0]
    if tuple(c.strip() for c in header.split(",")) != ACC_COLUMNS:
        raise RecordingFormatError(
            f"not an accelerometer stream: header is {quote(header)}, expected "
            f"{quote(','.join(ACC_COLUMNS))}",
            path=p,
            line=number,
        )
    values = np.empty((len(lines) - 1, 4), dtype=np.float64)
    for k, (number, text) in enumerate(lines[1:]):
        fields = text.split(",")
        try:
            if len(fields) != 4:
                raise ValueError
            values[k] = [float(f) for f in fields]
        except ValueError:
            raise RecordingFormatError(
                f"expected 4 numbers t_s,x_mg,y_mg,z_mg, got {quote(text)}", path=p, line=number
            ) from None
        if not np.isfinite(values[k]).all():
            raise RecordingFormatError(f"not a finite number in {quote(text)}", path=p, line=number)
        if k and values[k, 0] < values[k - 1, 0]:
            raise RecordingFormatError(
                f"time goes backwards ({values[k, 0]:g} s after {values[k - 1, 0]:g} s)",
                path=p,
                line=number,
            )
    return AccStream(t_s=values[:, 0].copy(), acc_mg=values[:, 1:].copy())
