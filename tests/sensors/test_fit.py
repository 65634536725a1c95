"""Garmin FIT files with hrv messages (sensors.formats.fit), written with Garmin's own SDK.

The files here are encoded with ``garmin_fit_sdk.Encoder``, as a watch writes them (file_id,
session, hrv messages of five intervals padded with the invalid value); a real watch's file is
read in test_real_formats.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from sensors import RecordingFormatError, detect_recording_format, read_recording

RR_S = [0.812, 0.8, 0.79, 0.801, 0.815, 0.82, 0.83, 0.845, 0.851, 0.86, 0.84, 0.833]


def fit_file(tmp_path: Path, rr_s: list[float], *, name: str = "activity.fit") -> Path:
    from garmin_fit_sdk import Encoder, Profile

    enc = Encoder()
    start = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)
    enc.write_mesg(
        {
            "mesg_num": Profile["mesg_num"]["FILE_ID"],
            "type": "activity",
            "manufacturer": "garmin",
            "product": 1,
            "time_created": start,
            "serial_number": 1234,
        }
    )
    for i in range(0, len(rr_s), 5):
        chunk = rr_s[i : i + 5]
        chunk = chunk + [65.535] * (5 - len(chunk))  # padding, as the devices write it
        enc.write_mesg({"mesg_num": Profile["mesg_num"]["HRV"], "time": chunk})
    path = tmp_path / name
    path.write_bytes(enc.close())
    return path


def test_hrv_messages_become_rr_intervals(tmp_path: Path) -> None:
    path = fit_file(tmp_path, RR_S)
    assert detect_recording_format(path) == "fit"
    rec = read_recording(path)
    assert rec.source_format == "fit" and len(rec) == len(RR_S)
    np.testing.assert_allclose(rec.rr_ms, np.array(RR_S) * 1000)
    np.testing.assert_allclose(rec.t_s, np.cumsum(RR_S))
    assert rec.meta["start_time"] == "2026-06-01T07:00:00+00:00"
    assert rec.meta["n_hrv_messages"] == 3 and str(rec.meta["device"]).startswith("garmin")
    assert not rec.gaps.any()


def test_broken_or_empty_fit_files_are_clear_errors(tmp_path: Path) -> None:
    good = fit_file(tmp_path, RR_S).read_bytes()
    cut = tmp_path / "cut.fit"
    cut.write_bytes(good[:-7])
    with pytest.raises(RecordingFormatError, match="corrupt or truncated"):
        read_recording(cut, format="fit")
    flipped = bytearray(good)
    flipped[30] ^= 0xFF
    bad_crc = tmp_path / "crc.fit"
    bad_crc.write_bytes(bytes(flipped))
    with pytest.raises(RecordingFormatError, match="corrupt or truncated"):
        read_recording(bad_crc, format="fit")
    not_fit = tmp_path / "notes.fit"
    not_fit.write_text("800\n810\n")
    with pytest.raises(RecordingFormatError, match="not a FIT file"):
        read_recording(not_fit, format="fit")
    empty = fit_file(tmp_path, [], name="no_hrv.fit")
    with pytest.raises(RecordingFormatError, match="holds no beat-to-beat intervals"):
        read_recording(empty)


def test_missing_fit_sdk_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    path = fit_file(tmp_path, RR_S)
    monkeypatch.setitem(sys.modules, "garmin_fit_sdk", None)
    with pytest.raises(
        RecordingFormatError, match=r"pip install -e '\.\[fit\]' in the hrvpace checkout"
    ):
        read_recording(path, format="fit")
