"""Polar Sensor Logger PPI exports (sensors.formats.polar_ppi).

No real export is at hand (none found in public repositories with a licence to ship): the files
here are written from the documented layout (the app's header, Polar's PPI sample fields), with
phone timestamps as the app writes them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sensors import RecordingFormatError, detect_recording_format, read_recording
from sensors.formats import gaps

HEADER = (
    "Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact supported;"
    "hr [bpm]"
)


#: The phone's local time of the first pulse (a Monday evening in June: no clock changes).
T0 = dt.datetime(2026, 6, 1, 21, 17, 7, 832000)


def export(
    tmp_path: Path,
    rows: list[tuple[int, int, int, int, int, int]],
    *,
    header: str = HEADER,
    t0: dt.datetime = T0,
) -> Path:
    """rows: (ppi, error, blocker, contact, supported, hr); the phone stamps each pulse when it
    arrives, here the running sum of the intervals (a steady link)."""
    lines = [header]
    elapsed = 0
    for ppi, err, blocker, contact, supported, hr in rows:
        elapsed += ppi
        stamp = (t0 + dt.timedelta(milliseconds=elapsed)).isoformat(timespec="milliseconds")
        lines.append(f"{stamp};{ppi};{err};{blocker};{contact};{supported};{hr}")
    path = tmp_path / "Polar_Sense_B5F1A12C_20260601_211707_PPI.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_detected_and_read_with_flags_quality_and_timeline(tmp_path: Path) -> None:
    rows = [(1000 + 10 * i, 8, 0, 1, 1, 60) for i in range(30)]
    rows[10] = (1100, 40, 1, 1, 1, 61)  # blocker: movement
    rows[20] = (1200, 15, 0, 0, 1, 59)  # no skin contact
    path = export(tmp_path, rows)
    assert detect_recording_format(path) == "polar_sensor_logger_ppi"
    rec = read_recording(path)
    assert rec.source_format == "polar_sensor_logger_ppi" and len(rec) == 28
    kept = [r for i, r in enumerate(rows) if i not in (10, 20)]
    np.testing.assert_array_equal(rec.rr_ms, [float(r[0]) for r in kept])
    assert np.flatnonzero(rec.gaps).tolist() == [10, 19]  # the pulses right after the flagged
    # the left-out pulses keep their time: pulse 11 ends 1100 + 1110 ms after pulse 9
    assert rec.t_s[10] - rec.t_s[9] == pytest.approx((1100 + 1110) / 1000)
    assert rec.meta["rejected_pulses"] == 2 and rec.meta["median_error_ms"] == 8.0
    assert rec.contact_at(0) is True
    assert rec.heart_rate_bpm is not None and rec.heart_rate_bpm[0] == 60.0
    assert rec.t_s[0] - rec.start_s == pytest.approx(1.0)


def test_contact_not_supported_keeps_pulses_with_unknown_contact(tmp_path: Path) -> None:
    path = export(tmp_path, [(900, 10, 0, 0, 0, 66)] * 12)
    rec = read_recording(path, format="polar_sensor_logger_ppi")
    assert len(rec) == 12 and not rec.gaps.any()
    assert rec.contact_at(3) is None


def test_duplicate_contact_columns_follow_the_sdk_order(tmp_path: Path) -> None:
    header = "Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]"
    path = export(
        tmp_path,
        [(900, 10, 0, 1, 1, 66), (910, 10, 0, 0, 1, 66), (920, 9, 0, 1, 1, 66)],
        header=header,
    )
    rec = read_recording(path)
    assert rec.rr_ms.tolist() == [900.0, 920.0] and rec.gaps.tolist() == [False, True]


def test_lost_pulses_found_from_the_timestamps(tmp_path: Path) -> None:
    rows = [(1000, 10, 0, 1, 1, 60)] * 40
    path = export(tmp_path, rows)
    lines = path.read_text().splitlines()
    del lines[21:24]  # three pulses never reached the phone
    path.write_text("\n".join(lines) + "\n")
    rec = read_recording(path)
    assert len(rec) == 37 and np.flatnonzero(rec.gaps).tolist() == [20]
    assert rec.meta["rejected_pulses"] == 0


def _shift_stamps(path: Path, first: int, by: dt.timedelta) -> None:
    """Move the phone stamps of pulse ``first`` (1-based data row) on by ``by``."""
    lines = path.read_text().splitlines()
    for k in range(first, len(lines)):
        stamp, rest = lines[k].split(";", 1)
        lines[k] = (
            f"{(dt.datetime.fromisoformat(stamp) + by).isoformat(timespec='milliseconds')};{rest}"
        )
    path.write_text("\n".join(lines) + "\n")


#: 30 s before Europe's spring-forward (02:00 -> 03:00 local time, Sunday 29 March 2026).
SPRING = dt.datetime(2026, 3, 29, 1, 59, 30, 500000)


def test_a_phone_clock_springing_forward_is_no_hour_of_lost_pulses(tmp_path: Path) -> None:
    """Naive phone local time jumps +1 h at the daylight-saving change: the pulses go on."""
    rows = [(1000, 10, 0, 1, 1, 60)] * 60
    steady = read_recording(export(tmp_path, rows, t0=SPRING))
    path = export(tmp_path, rows, t0=SPRING)
    _shift_stamps(path, 31, dt.timedelta(hours=1))
    spring = read_recording(path)
    assert not spring.gaps.any() and spring.duration_s == pytest.approx(steady.duration_s)
    # three pulses lost earlier in the same file are still a gap of their time
    lines = path.read_text().splitlines()
    del lines[11:14]
    path.write_text("\n".join(lines) + "\n")
    both = read_recording(path)
    assert np.flatnonzero(both.gaps).tolist() == [10]
    assert both.duration_s == pytest.approx(steady.duration_s, abs=0.6)
    # a jump of an hour between times that say their zone is a real hour without pulses
    aware = export(tmp_path, rows, t0=SPRING)
    text = aware.read_text().splitlines()
    aware.write_text(
        "\n".join([text[0]] + [f"{ln.split(';', 1)[0]}Z;{ln.split(';', 1)[1]}" for ln in text[1:]])
        + "\n"
    )
    _shift_stamps(aware, 31, dt.timedelta(hours=1))
    hour = read_recording(aware)
    assert np.flatnonzero(hour.gaps).tolist() == [30]
    assert hour.duration_s == pytest.approx(steady.duration_s + 3600.0, abs=1.0)


@pytest.mark.parametrize(
    ("t0", "clock"),
    [
        (T0, False),  # 1 June, 21:47: no zone changes its clocks
        (dt.datetime(2026, 3, 29, 13, 59, 30), False),  # Europe's change day, in the afternoon
        (dt.datetime(2026, 3, 8, 1, 59, 30), True),  # the US change (02:00 -> 03:00)
        (dt.datetime(2026, 10, 4, 1, 59, 30), True),  # Australia's (Sydney, Lord Howe)
    ],
    ids=["june-evening", "europe-change-day-afternoon", "us-change", "australia-change"],
)
def test_an_hour_without_pulses_is_a_gap_unless_some_zone_changed_its_clocks(
    tmp_path: Path, t0: dt.datetime, clock: bool
) -> None:
    """Review: naive local phone times jumping by an hour were taken for a daylight-saving
    change on any date at any time, so a strap off for an hour (exactly, within 1.5 s) on a
    June evening lost that hour from the timeline and was no gap: a successive difference was
    taken across it. It is now the clock only when some zone of the tz database sprang forward
    between the times on either side of the jump."""
    rows = [(1000, 10, 0, 1, 1, 60)] * 60
    steady = read_recording(export(tmp_path, rows, t0=t0))
    path = export(tmp_path, rows, t0=t0)
    _shift_stamps(path, 31, dt.timedelta(hours=1))
    rec = read_recording(path)
    if clock:
        assert not rec.gaps.any() and rec.duration_s == pytest.approx(steady.duration_s)
    else:
        assert np.flatnonzero(rec.gaps).tolist() == [30]
        assert rec.duration_s == pytest.approx(steady.duration_s + 3600.0, abs=1.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        (HEADER + "\n", "a PPI header, no pulses"),
        ("Phone timestamp;RR-interval [ms]\n", "Polar Sensor Logger PPI export|RR-interval"),
        (HEADER + "\n2026-06-01T21:17:07.832;abc;1;0;1;1;60\n", ":2: .*PP interval"),
        (
            HEADER + "\n2026-06-01T21:17:07.832;900;1;2;1;1;60\n",
            ":2: blocker must be 0 or 1, got '2'",
        ),
        (HEADER + "\n2026-06-01T21:17:07.832;900\n", ":2: missing column"),
        (HEADER + "\nyesterday;900;1;0;1;1;60\n", "timestamp 'yesterday' is not a date-time"),
        (HEADER + "\n2026-06-01T21:17:07.832;900;1;1;1;1;60\n", "all 1 pulses are flagged"),
    ],
)
def test_malformed_exports_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad_PPI.txt"
    path.write_text(content)
    with pytest.raises(RecordingFormatError, match=message):
        read_recording(path, format="polar_sensor_logger_ppi")


@pytest.mark.parametrize(
    ("header", "row"),
    [
        # the app's layouts seen in public tools of its users (2026): sensor time and HR first,
        # or "Phone Data RX timestamp" with heart rate last
        (
            "Phone timestamp;sensor timestamp [ns];HR [bpm];PP-interval [ms];"
            "error estimate [ms];blocker;skin contact;skin contact supported",
            "{stamp};0;{hr};{ppi};{err};{blocker};{contact};1",
        ),
        (
            "Phone Data RX timestamp;PP-interval [ms];error estimate [ms];blocker;contact;"
            "contact;hr [bpm]",
            "{stamp};{ppi};{err};{blocker};{contact};1;{hr}",
        ),
    ],
)
def test_other_layouts_of_the_app_are_read_by_column_name(
    tmp_path: Path, header: str, row: str
) -> None:
    t0 = dt.datetime(2026, 8, 4, 23, 0, 57, 20000)
    lines, elapsed = [header], 0
    pulses = [(950 + 5 * i, 10, int(i == 7), 1, 63) for i in range(20)]
    for ppi, err, blocker, contact, hr in pulses:
        elapsed += ppi
        stamp = (t0 + dt.timedelta(milliseconds=elapsed)).isoformat(timespec="milliseconds")
        lines.append(
            row.format(stamp=stamp, ppi=ppi, err=err, blocker=blocker, contact=contact, hr=hr)
        )
    path = tmp_path / "Polar_Sense_PPI.txt"
    path.write_text("\n".join(lines) + "\n")
    assert detect_recording_format(path) == "polar_sensor_logger_ppi"
    rec = read_recording(path)
    # the interval column, not the sensor time (0) or the heart rate, and the blocked pulse out
    np.testing.assert_array_equal(rec.rr_ms, [float(p[0]) for i, p in enumerate(pulses) if i != 7])
    assert rec.gaps.tolist().index(True) == 7 and rec.meta["rejected_pulses"] == 1
    assert rec.heart_rate_bpm is not None and rec.heart_rate_bpm[0] == 63.0


def test_a_header_without_the_interval_column_is_refused(tmp_path: Path) -> None:
    path = export(tmp_path, [(900, 10, 0, 1, 1, 66)] * 3)
    text = path.read_text().replace("PP-interval [ms]", "interval")
    path.write_text(text)
    with pytest.raises(RecordingFormatError, match="not a Polar Sensor Logger PPI export"):
        read_recording(path, format="polar_sensor_logger_ppi")


def test_a_clock_going_forward_an_hour_and_back_every_few_rows_reads_in_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code review: each 1-h forward jump of naive local times asked every zone of the tz
    database (some ms each, uncached, unlimited): a crafted upload with the clock going +1 h
    and back every few rows took minutes of CPU time for 32 MiB. Only the first few jumps of a
    file are looked up, the rest are gaps: each an hour without pulses (1 June: no zone changes
    its clocks), so this file spans 83 days and is refused, as before."""
    rows, every = 40_000, 10

    def write(name: str, jumps: bool) -> Path:
        lines = [HEADER]
        shift = dt.timedelta(0)
        for k in range(rows):
            if jumps and k and k % every == 0:
                shift = dt.timedelta(hours=1) if not shift else dt.timedelta(0)
            stamp = (T0 + dt.timedelta(seconds=k + 1) + shift).isoformat(timespec="milliseconds")
            lines.append(f"{stamp};1000;10;0;1;1;60")
        path = tmp_path / name / "Polar_Sense_B5F1A12C_20260601_211707_PPI.txt"
        path.parent.mkdir()
        path.write_text("\n".join(lines) + "\n")
        return path

    steady, crafted = write("steady", False), write("crafted", True)
    asked: list[float] = []
    lookup = gaps.clock_stepped_forward

    def counted(before_s: float, after_s: float, step_s: float) -> bool | None:
        asked.append(after_s)
        return lookup(before_s, after_s, step_s)

    monkeypatch.setattr(gaps, "clock_stepped_forward", counted)
    start = time.process_time()
    read_recording(steady)
    took_steady = time.process_time() - start
    start = time.process_time()
    with pytest.raises(RecordingFormatError, match=r"spans 83\.\d days, more than the limit"):
        read_recording(crafted)
    took = time.process_time() - start
    assert len(asked) == gaps.CLOCK_CHANGE_CHECKS_MAX  # of 2,000 forward jumps
    # the lookups (about 2 ms each here, 2,000 of them before) cost no more than the read
    assert took < 2 * took_steady + 1.0, f"{took:.1f} s of CPU time ({took_steady:.1f} s steady)"
    # 100 such jumps (4.2 days of hours lost) read: every one is a gap
    lines = crafted.read_text().splitlines()
    crafted.write_text("\n".join(lines[: 100 * 2 * every + 1]) + "\n")
    assert int(read_recording(crafted).gaps.sum()) == 100


def test_intervals_no_heart_beats_are_left_out_with_a_gap_as_live(tmp_path: Path) -> None:
    """Strap review: the live PPI source leaves out an interval outside 200..3000 ms with a gap
    (its place dated by the stand-in, never by the value); an imported PPI file kept it as a
    beat, and a corrupt 60-s value moved the file's timeline by a minute. One rule now."""
    from api.research.analysis import read_notes

    rows = [(1000, 8, 0, 1, 1, 60)] * 30
    rows[10] = (60000, 8, 0, 1, 1, 60)  # corrupt
    rows[20] = (150, 8, 0, 1, 1, 60)
    rows[25] = (0, 8, 1, 1, 1, 60)  # flagged too: counted as flagged, not as implausible
    lines = [HEADER]
    for k, (ppi, err, blocker, contact, supported, hr) in enumerate(rows):
        # the phone stamps a pulse when it arrives: each here 1 s after the one before
        stamp = (T0 + dt.timedelta(seconds=k + 1)).isoformat(timespec="milliseconds")
        lines.append(f"{stamp};{ppi};{err};{blocker};{contact};{supported};{hr}")
    path = tmp_path / "Polar_Sense_PPI.txt"
    path.write_text("\n".join(lines) + "\n")
    rec = read_recording(path)
    assert len(rec) == 27 and set(rec.rr_ms.tolist()) == {1000.0}
    assert np.flatnonzero(rec.gaps).tolist() == [10, 19, 23]
    # the left-out places count as their neighbours' median (1000 ms): nothing moved
    np.testing.assert_allclose(
        np.diff(rec.t_s), [1.0] * 9 + [2.0] + [1.0] * 8 + [2.0] + [1.0] * 3 + [2.0] + [1.0] * 3
    )
    assert rec.meta["rejected_pulses"] == 3 and rec.meta["implausible_pulses"] == 2
    assert read_notes("PPI", rec, drop_zero=False) == (
        "PPI; 1 pulse(s) flagged (blocker or no skin contact) left out, 2 pulse interval(s) "
        "outside 200..3000 ms (no heart beats so) left out, 3 gap(s), median error estimate 8 ms"
    )


def _assert_framed_file_keeps_its_timeline(
    tmp_path: Path,
    ivs: list[int],
    flags: list[int],
    *,
    n_gaps: int,
    latency_s: Callable[[], float],
) -> None:
    """Write ``ivs`` as the app does, five pulses a frame, every pulse stamped with its frame's
    arrival (the frame's last pulse plus ``latency_s()``); read it back: the pulses kept
    (not flagged, 200-3000 ms) sit at their true times, with ``n_gaps`` gaps."""
    ends = np.cumsum(ivs) / 1000.0
    lines = [HEADER]
    for i in range(0, len(ivs), 5):
        last = min(i + 4, len(ivs) - 1)
        stamp = (T0 + dt.timedelta(seconds=float(ends[last]) + latency_s())).isoformat(
            timespec="milliseconds"
        )
        lines += [f"{stamp};{ivs[j]};10;{flags[j]};1;1;60" for j in range(i, last + 1)]
    path = tmp_path / "Polar_Sense_PPI.txt"
    path.write_text("\n".join(lines) + "\n")
    rec = read_recording(path)
    kept = np.array([not f and 200 <= v <= 3000 for v, f in zip(ivs, flags, strict=True)])
    assert len(rec) == kept.sum() and rec.gaps.sum() == n_gaps
    np.testing.assert_allclose(rec.t_s - rec.t_s[0], ends[kept] - ends[kept][0], atol=1e-6)


@pytest.mark.parametrize(("value", "blocker"), [(4200, 1), (3400, 0), (150, 1)])
def test_left_out_pulses_keep_the_timeline_length_of_a_frame_stamped_file(
    tmp_path: Path, value: int, blocker: int
) -> None:
    """rev12 finding 1: the app stamps every pulse of a frame with the frame's arrival, so the
    stamps could not correct a stand-in's error: missed pulses (4.2 s, blocker set) counted as
    1 s put the end of a 600-pulse file 74 s early. Now a long value counts as itself as far as
    the stamps allow, a short one as itself; the module docstring's flagged pulses keep their
    time."""
    ivs, flags = [], []
    for k in range(150):
        if k and k % 25 == 0:
            ivs += [value] if value > 3000 else [value, 1000 - value]
            flags += [blocker] if value > 3000 else [blocker, 0]
        else:
            ivs.append(1000)
            flags.append(0)
    _assert_framed_file_keeps_its_timeline(tmp_path, ivs, flags, n_gaps=5, latency_s=lambda: 0.05)


@pytest.mark.parametrize(("value", "blocker"), [(4200, 1), (3400, 0)])
def test_left_out_long_values_keep_their_time_with_jittery_arrival_stamps(
    tmp_path: Path, value: int, blocker: int
) -> None:
    """rev13 finding 1: the cap on a long value was the bare advance of two arrival stamps,
    which carries the difference of their latencies; it lowered true values and never raised
    them, so each one lost time (-2.4 s over 23 of them with 0.3-s jitter). Now only a value the
    clock contradicts by more than a notification band is capped."""
    rng = np.random.default_rng(7)
    ivs, flags = [], []
    for k in range(300):
        if k and k % 25 == 0:
            ivs.append(value)
            flags.append(blocker)
        else:
            ivs.append(1000)
            flags.append(0)
    _assert_framed_file_keeps_its_timeline(
        tmp_path, ivs, flags, n_gaps=11, latency_s=lambda: 0.05 + abs(rng.normal(0.0, 0.3))
    )


def test_a_long_value_the_clock_contradicts_is_still_capped(tmp_path: Path) -> None:
    """The slack of a notification band still catches a corrupt value: 60 s between rows whose
    stamps are 1 s apart counts as the second the clock allows, not as a minute."""
    rows = [(1000, 8, 0, 1, 1, 60)] * 10 + [(60000, 8, 0, 1, 1, 60)] + [(1000, 8, 0, 1, 1, 60)] * 10
    lines = [HEADER]
    for k, (ppi, err, blocker, contact, supported, hr) in enumerate(rows, start=1):
        stamp = (T0 + dt.timedelta(seconds=k)).isoformat(timespec="milliseconds")
        lines.append(f"{stamp};{ppi};{err};{blocker};{contact};{supported};{hr}")
    path = tmp_path / "Polar_Sense_PPI.txt"
    path.write_text("\n".join(lines) + "\n")
    rec = read_recording(path)
    assert len(rec) == 20 and rec.gaps.sum() == 1
    assert rec.t_s[-1] - rec.t_s[0] == pytest.approx(20.0, abs=1e-6)


def test_a_file_of_intervals_no_heart_beats_is_refused(tmp_path: Path) -> None:
    path = export(tmp_path, [(100, 8, 0, 1, 1, 60)] * 5 + [(900, 8, 1, 1, 1, 60)])
    with pytest.raises(RecordingFormatError, match=r"outside 200\.\.3000 ms .*5 of 6"):
        read_recording(path)
