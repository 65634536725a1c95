"""Stream files of ``hrvpace record --stream`` (sensors.formats.pmd_streams), without Bluetooth:
decoded PMD frames in, hrvpace's readers out."""

from __future__ import annotations

import datetime as dt
import errno
from pathlib import Path

import numpy as np
import pytest

from sensors import RecordingFormatError, read_recording
from sensors.formats.pmd_streams import (
    AccStreamWriter,
    EcgStreamWriter,
    PpiStreamWriter,
    ecg_break_files,
    read_acc_stream,
    stream_path,
)
from sensors.pmd import PpiSample, decode_frame, encode_frame

T0_NS = 700_000_000_000_000_000


def test_stream_paths_sit_next_to_the_recording() -> None:
    out = Path("/data/h10.csv")
    assert stream_path(out, "ppi") == Path("/data/h10.ppi.txt")
    assert stream_path(out, "ecg") == Path("/data/h10.ecg.csv")
    assert stream_path(out, "ecg", 3) == Path("/data/h10.ecg-3.csv")
    assert stream_path(out, "acc") == Path("/data/h10.acc.csv")
    with pytest.raises(ValueError, match="no stream file for 'gps'"):
        stream_path(out, "gps")


def test_an_earlier_recordings_ecg_break_files_are_found_and_removed_by_overwrite(
    tmp_path: Path,
) -> None:
    # Strap review (item 4): a stale OUT.ecg-2.csv was found only at this recording's first
    # break (it failed then, "the file exists"); with --overwrite one this recording did not
    # reach stayed, to read as part of it
    out = tmp_path / "h10.csv"
    others = ("h10.ecg-x.csv", "g.ecg-3.csv", "h10.ecg-02.csv", "h10.ecg-003.csv")
    for name in ("h10.ecg-10.csv", "h10.ecg-2.csv", *others):
        (tmp_path / name).write_text("ecg_uV\n1\n")
    (tmp_path / "h10.ecg-3.csv").symlink_to(tmp_path / "gone.csv")  # a link to no file counts
    found = [tmp_path / f"h10.ecg-{n}.csv" for n in (2, 3, 10)]
    assert ecg_break_files(out) == found
    assert ecg_break_files(tmp_path / "no-folder" / "h10.csv") == []
    with EcgStreamWriter(stream_path(out, "ecg"), sampling_rate_hz=130, out=out) as kept:
        assert kept.files == [tmp_path / "h10.ecg.csv"]
    assert ecg_break_files(out) == found  # without overwrite nothing is removed
    with EcgStreamWriter(
        stream_path(out, "ecg"), sampling_rate_hz=130, out=out, overwrite=True
    ) as writer:
        writer.write(decode_frame(encode_frame("ecg", [5, 6], timestamp_ns=T0_NS)), 1)
    assert ecg_break_files(out) == []
    assert (tmp_path / "h10.ecg.csv").read_text() == "ecg_uV\n5\n6\n"
    # rev10 finding 6: names stream_path never makes (leading zeros) are no run: left alone
    assert all((tmp_path / name).exists() for name in others)


def test_an_ecg_file_linked_to_a_break_file_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    # rev11 finding 3: with overwrite, h10.ecg.csv -> h10.ecg-2.csv was written through and
    # then that same file removed as an earlier recording's: every sample lost
    out = tmp_path / "h10.csv"
    earlier = tmp_path / "h10.ecg-2.csv"
    earlier.write_text("ecg_uV\n1\n")
    first = stream_path(out, "ecg")
    first.symlink_to("h10.ecg-2.csv")
    with pytest.raises(RecordingFormatError, match=r"a link to .*h10\.ecg-2\.csv.*would be lost"):
        EcgStreamWriter(first, sampling_rate_hz=130, out=out, overwrite=True)
    assert earlier.read_text() == "ecg_uV\n1\n"  # nothing opened, nothing removed
    earlier.unlink()  # a link to no file yet: a break would replace the first file
    with pytest.raises(RecordingFormatError, match="would be lost"):
        EcgStreamWriter(first, sampling_rate_hz=130, out=out, overwrite=True)
    assert not earlier.exists()
    # a link elsewhere is written through, as before
    first.unlink()
    first.symlink_to("elsewhere.csv")
    with EcgStreamWriter(first, sampling_rate_hz=130, out=out, overwrite=True) as writer:
        writer.write(decode_frame(encode_frame("ecg", [5], timestamp_ns=T0_NS)), 1)
    assert (tmp_path / "elsewhere.csv").read_text() == "ecg_uV\n5\n"


def test_ppi_frames_arriving_late_are_timed_by_their_intervals(tmp_path: Path) -> None:
    path = tmp_path / "r.ppi.txt"
    pulses = [PpiSample(800 + 10 * i, 9, 70, False, True) for i in range(6)]
    with PpiStreamWriter(path) as writer:
        # two frames of three, the second arriving only 0.5 s after the first (bunched up)
        writer.write(decode_frame(encode_frame("ppi", pulses[:3])), 1_800_000_000.0)
        writer.write(decode_frame(encode_frame("ppi", pulses[3:])), 1_800_000_000.5)
    rec = read_recording(path)
    assert rec.source_format == "polar_sensor_logger_ppi"
    assert list(rec.rr_ms) == [800.0 + 10 * i for i in range(6)]
    assert rec.arrived_at is not None
    # never before the previous pulse: the timestamps keep rising
    assert np.all(np.diff(rec.arrived_at) > 0)
    # the frame's last pulse ended at its arrival (the file keeps milliseconds)
    assert rec.arrived_at[2] == pytest.approx(1_800_000_000.0, abs=1e-3)
    assert not rec.gaps.any()


@pytest.mark.parametrize("bad", [60000, 0])
def test_a_dropped_ppi_value_moves_no_row_of_the_file(tmp_path: Path, bad: int) -> None:
    # rev11 finding 1: the file was dated with every raw value; one corrupt 60-s interval put
    # the rows about 57 s after their arrival for minutes (a 0: two rows at one time)
    path = tmp_path / "r.ppi.txt"
    t0 = 1_800_000_000.0
    with PpiStreamWriter(path) as writer:
        for k in range(4):
            values = [800, bad, 800, 800] if k == 1 else [800] * 4
            pulses = [PpiSample(v, 9, 75, False, True) for v in values]
            writer.write(decode_frame(encode_frame("ppi", pulses)), t0 + 3.2 * k)
    rows = [line.split(";") for line in path.read_text().splitlines()[1:]]
    assert [row[1] for row in rows][4:8] == ["800", str(bad), "800", "800"]  # every pulse a row
    times = [dt.datetime.fromisoformat(row[0]).timestamp() - t0 for row in rows]
    # each pulse at its true end, the dropped one at its stand-in's (800 ms, the frame's median)
    assert times == pytest.approx([-2.4 + 0.8 * i for i in range(16)], abs=1e-3)
    # read back, the dropped pulse is left out with a gap, as live (strap review: the file kept
    # it as a beat), and the kept pulses keep their times
    rec = read_recording(path)
    assert rec.rr_ms.tolist() == [800.0] * 15 and np.flatnonzero(rec.gaps).tolist() == [5]
    assert rec.meta["implausible_pulses"] == 1
    assert np.diff(rec.t_s) == pytest.approx([0.8] * 4 + [1.6] + [0.8] * 9)


def test_double_detections_move_no_kept_pulse_of_a_read_file(tmp_path: Path) -> None:
    """rev12 finding 1: the reader counted every left-out place as its stand-in (1000 ms) and
    ran 150 ms x 23 = 19.6 s ahead of the file's clock by the end: a double detection (150 ms,
    then the rest of the beat) is time that passed and counts as itself."""
    ivs: list[int] = []
    for k in range(200):
        ivs += [150, 850] if k and k % 25 == 0 else [1000]
    ends = 1_800_000_000.0 + np.cumsum(ivs) / 1000.0
    path = tmp_path / "r.ppi.txt"
    with PpiStreamWriter(path) as writer:
        for i in range(0, len(ivs), 5):
            chunk = ivs[i : i + 5]
            pulses = [PpiSample(v, 9, 60, False, True) for v in chunk]
            writer.write(decode_frame(encode_frame("ppi", pulses)), float(ends[i + len(chunk) - 1]))
    rows = [line.split(";") for line in path.read_text().splitlines()[1:]]
    stamps = np.array([dt.datetime.fromisoformat(row[0]).timestamp() for row in rows])
    rec = read_recording(path)
    kept = np.array([v >= 200 for v in ivs])
    assert len(rec) == 200 and rec.meta["implausible_pulses"] == 7
    # the kept pulses at their true ends (the rows of a frame's last pulse: its arrival) ...
    np.testing.assert_allclose(rec.t_s - rec.t_s[0], ends[kept] - ends[0], atol=2e-3)
    last = np.zeros(len(ivs), dtype=bool)
    last[4::5] = last[-1] = True
    on_arrival = last[kept]
    assert on_arrival.sum() > 30
    np.testing.assert_allclose(
        (rec.t_s - rec.t_s[0])[on_arrival], (stamps - stamps[0])[kept & last], atol=2e-3
    )


def test_ecg_starts_a_new_file_where_the_samples_break(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    fs = 130.0
    with EcgStreamWriter(stream_path(out, "ecg"), sampling_rate_hz=fs, out=out) as writer:

        def send(first: int, n: int, shift_s: float, connection: int) -> None:
            t_end = (first + n - 1) / fs + shift_s
            frame = encode_frame(
                "ecg", list(range(first, first + n)), timestamp_ns=T0_NS + round(t_end * 1e9)
            )
            writer.write(decode_frame(frame), connection)

        send(0, 73, 0.0, 1)
        send(73, 73, 0.0, 1)  # contiguous (to the ns rounding)
        send(146, 73, 0.3, 1)  # 0.3 s of jitter: same file
        send(219, 73, 2.0, 1)  # 1.7 s lost: a new file
        send(292, 73, 2.0, 2)  # a reconnect: a new file
    assert [f.name for f in writer.files] == ["r.ecg.csv", "r.ecg-2.csv", "r.ecg-3.csv"]
    assert writer.n_samples == 5 * 73
    lines = [f.read_text().splitlines() for f in writer.files]
    assert [x[0] for x in lines] == ["ecg_uV"] * 3
    assert [int(v) for v in lines[0][1:]] == list(range(219))
    assert [int(v) for v in lines[1][1:]] == list(range(219, 292))


def test_acc_stream_round_trip_and_malformed_files(tmp_path: Path) -> None:
    path = tmp_path / "r.acc.csv"
    rows = [(i, -i, 1000 + i) for i in range(72)]
    with AccStreamWriter(path, sampling_rate_hz=50.0) as writer:
        for k in (0, 36):
            stamp = T0_NS + round((k + 35) / 50 * 1e9)
            frame = encode_frame(
                "acc", rows[k : k + 36], compressed=True, frame_type=1, timestamp_ns=stamp
            )
            writer.write(decode_frame(frame), 0.0)
    acc = read_acc_stream(path)
    np.testing.assert_allclose(acc.t_s, np.arange(72) / 50, atol=1e-4)
    np.testing.assert_array_equal(acc.acc_mg, np.array(rows, dtype=float))
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,x_mg,y_mg,z_mg\n0.0,1,2,3\n0.02,1,2\n")
    with pytest.raises(RecordingFormatError, match=r"bad.csv:3: expected 4 numbers"):
        read_acc_stream(bad)
    bad.write_text("t_s,x_mg,y_mg,z_mg\n0.5,1,2,3\n0.4,1,2,3\n")
    with pytest.raises(RecordingFormatError, match="time goes backwards"):
        read_acc_stream(bad)
    bad.write_text("time,x\n")
    with pytest.raises(RecordingFormatError, match="not an accelerometer stream"):
        read_acc_stream(bad)
    with pytest.raises(RecordingFormatError, match="exists"):
        AccStreamWriter(path, sampling_rate_hz=50.0)


def _ecg_with_a_break(writer: EcgStreamWriter) -> None:
    """Two ECG frames 2 s apart on the device clock: the second starts a new file."""
    for first, shift_s in ((0, 0.0), (73, 2.0)):
        t_end = (first + 72) / 130.0 + shift_s
        frame = encode_frame(
            "ecg", list(range(first, first + 73)), timestamp_ns=T0_NS + round(t_end * 1e9)
        )
        writer.write(decode_frame(frame), 1)


def test_a_break_file_whose_header_cannot_be_written_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Code review (rec2, finding 3): on a full disk at a break, OUT.ecg-2.csv was left at 0
    # bytes and listed as a file of the recording (reading it failed: empty). It is removed
    # and not listed; the error names it. The full disk is /dev/full (every write ENOSPC)
    # behind the new file.
    out = tmp_path / "r.csv"
    second = stream_path(out, "ecg", 2)
    real_open = open

    def open_full(path: object, *args: object, **kwargs: object) -> object:
        if path == second:
            real_open(second, "xb").close()  # made, as on a full disk with inodes left
            return real_open("/dev/full", "wb", buffering=0)
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    writer = EcgStreamWriter(stream_path(out, "ecg"), sampling_rate_hz=130.0, out=out)
    monkeypatch.setattr("builtins.open", open_full)
    with writer, pytest.raises(OSError, match="No space left") as info:
        _ecg_with_a_break(writer)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(second)
    assert writer.files == [stream_path(out, "ecg")] and writer.n_samples == 73
    assert not second.exists()
    assert [int(v) for v in writer.files[0].read_text().splitlines()[1:]] == list(range(73))


def test_a_break_file_that_cannot_be_made_fails_as_a_write_does(tmp_path: Path) -> None:
    # Code review (rec2, finding 3): a break's file that could not be made (no inodes left;
    # here a directory where it goes) raised the RecordingFormatError of a file refused before
    # recording: `record` then said only that, not what each file keeps. It is an OSError
    # naming the file now, as a write that fails, and the file is not listed.
    out = tmp_path / "r.csv"
    second = stream_path(out, "ecg", 2)
    second.mkdir()
    writer = EcgStreamWriter(
        stream_path(out, "ecg"), sampling_rate_hz=130.0, out=out, overwrite=True
    )
    with writer, pytest.raises(OSError) as info:
        _ecg_with_a_break(writer)
    assert not isinstance(info.value, RecordingFormatError)
    assert info.value.errno == errno.EISDIR and info.value.filename == str(second)
    assert writer.files == [stream_path(out, "ecg")] and writer.n_samples == 73
