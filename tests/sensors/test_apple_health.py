"""Apple Health export.xml beat series (sensors.formats.apple_health).

The exports are written here in the layout of real ones (a DOCTYPE with its internal DTD, other
record types around, beat times as iOS writes them in different locales); no real export is
shipped (personal health data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensors import RecordingFormatError, detect_recording_format, read_recording
from sensors.formats.apple_health import read_apple_health_series

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate value CDATA #REQUIRED>
<!ELEMENT Me EMPTY>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute bpm CDATA #REQUIRED time CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2026-06-02 08:00:00 +0200"/>
 <Me HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
 <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Apple Watch" unit="count/min"
   startDate="2026-06-01 21:00:00 +0200" endDate="2026-06-01 21:00:00 +0200" value="61"/>
"""
TAIL = "</HealthData>\n"


def clock12(seconds: float, nbsp: str = "\u202f") -> str:
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    suffix = "PM" if h >= 12 else "AM"
    h12 = int(h) % 12 or 12
    return f"{h12}:{int(m):02d}:{s:05.2f}{nbsp}{suffix}"


def clock24(seconds: float) -> str:
    h, rem = divmod(seconds % 86_400, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:05.2f}".replace(".", ",")


def series(start: str, times_s: list[float], fmt, *, value: str = "42.1") -> str:
    rr = np.diff(times_s) * 1000
    bpm = [round(60_000 / rr[0])] + [round(60_000 / r) for r in rr]
    entries = "\n".join(
        f'   <InstantaneousBeatsPerMinute bpm="{b}" time="{fmt(t)}"/>'
        for b, t in zip(bpm, times_s, strict=True)
    )
    return (
        f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Apple '
        f'Watch" unit="ms" startDate="{start}" endDate="{start}" value="{value}">\n'
        '  <MetadataEntry key="HKMetadataKeyHeartRateVariabilityAlgorithmVersion" value="2"/>\n'
        f"  <HeartRateVariabilityMetadataList>\n{entries}\n"
        "  </HeartRateVariabilityMetadataList>\n </Record>\n"
    )


def beat_times(start_s: float, rr_ms: list[float]) -> list[float]:
    return list(start_s + np.r_[0.0, np.cumsum(rr_ms) / 1000])


RR_A = [850.0, 870.0, 910.0, 880.0, 860.0, 840.0, 900.0, 930.0, 890.0, 870.0]
RR_B = [1000.0, 1020.0, 990.0, 1010.0, 1050.0, 1030.0]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "export.xml"
    path.write_text(HEAD + body + TAIL, encoding="utf-8")
    return path


def test_series_are_read_as_intervals_from_the_beat_times(tmp_path: Path) -> None:
    a = beat_times(21 * 3600 + 14 * 60 + 7.5, RR_A)  # 9:14 PM, 12-hour clock
    b = beat_times(23 * 3600 + 59 * 60 + 57.0, RR_B)  # crosses midnight, 24-hour with commas
    one_beat = series("2026-06-01 12:00:00 +0200", [43_200.0, 43_201.0], clock24)[:0]
    path = write(
        tmp_path,
        series("2026-06-01 21:14:07 +0200", a, clock12)
        + one_beat
        + series("2026-06-01 23:59:57 +0200", b, clock24, value="21.5"),
    )
    assert detect_recording_format(path) == "apple_health"
    every = read_apple_health_series(str(path))
    assert len(every) == 2
    np.testing.assert_allclose(every[0].rr_ms, RR_A, atol=1e-6)
    np.testing.assert_allclose(every[1].rr_ms, RR_B, atol=1e-6)  # across midnight
    latest = read_recording(path)
    assert latest.source_format == "apple_health" and latest.meta["n_series"] == 2
    assert latest.meta["series"] == 1 and latest.meta["sdnn_ms_reported"] == 21.5
    assert latest.meta["start_time"] == "2026-06-01T23:59:57+02:00"
    first = read_recording(path, series=0)
    np.testing.assert_allclose(first.t_s, np.cumsum(RR_A) / 1000, atol=1e-6)
    assert first.heart_rate_bpm is not None and first.heart_rate_bpm[0] == round(60_000 / 850)
    assert not first.gaps.any() and first.contact_at(0) is None


def test_missing_beats_between_entries_are_gaps(tmp_path: Path) -> None:
    t = beat_times(8 * 3600.0, RR_A)
    kept = t[:5] + t[6:]  # the beat ending the 5th interval was not listed
    bpm = [round(60_000 / 850)] + [round(60_000 / r) for r in RR_A]
    bpm = bpm[:5] + bpm[6:]
    entries = "\n".join(
        f'<InstantaneousBeatsPerMinute bpm="{b}" time="{clock24(x)}"/>'
        for b, x in zip(bpm, kept, strict=True)
    )
    body = (
        '<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="W" '
        'unit="ms" startDate="2026-06-01 08:00:00 +0200" endDate="2026-06-01 08:01:00 +0200" '
        f'value="40"><HeartRateVariabilityMetadataList>{entries}'
        "</HeartRateVariabilityMetadataList></Record>"
    )
    rec = read_recording(write(tmp_path, body))
    assert np.flatnonzero(rec.gaps).tolist() == [4]
    # the beat after the gap: its own interval from its rounded heart rate (840 ms -> 71 bpm)
    assert rec.rr_ms[4] == pytest.approx(60_000 / 71)
    assert rec.t_s[4] - rec.t_s[3] == pytest.approx((860 + 840) / 1000)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "holds no beat-to-beat series"),
        (
            series("2026-06-01 08:00:00 +0200", [0.0, 0.8], lambda t: "noon")[:-1],
            "series 0 .*beat 0: time 'noon' is not a clock time",
        ),
        (
            series("2026-06-01 08:00:00 +0200", [3600.0, 3600.8], clock24).replace(
                'bpm="75"', 'bpm="many"', 1
            ),
            "beat 0: heart rate 'many' is not a number",
        ),
        (
            '<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" value="1">'
            "<HeartRateVariabilityMetadataList>"
            '<InstantaneousBeatsPerMinute bpm="75" time="01:00:00,00"/>'
            '<InstantaneousBeatsPerMinute bpm="75" time="01:00:00,80"/>'
            '<InstantaneousBeatsPerMinute bpm="75" time="01:00:00,50"/>'
            "</HeartRateVariabilityMetadataList></Record>",
            "beat 2: time '01:00:00,50' is not after the previous one",
        ),
        ("<Record", "not well-formed XML"),
    ],
)
def test_malformed_exports_are_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(RecordingFormatError, match=message):
        read_recording(write(tmp_path, body), format="apple_health")


def test_not_an_export_and_series_out_of_range(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<?xml version='1.0'?><gpx><trk/></gpx>")
    with pytest.raises(RecordingFormatError, match="no <HealthData> root"):
        read_recording(other, format="apple_health")
    path = write(tmp_path, series("2026-06-01 08:00:00 +0200", beat_times(0.0, RR_B), clock24))
    with pytest.raises(RecordingFormatError, match=r"series 3 does not exist: .* 1 series"):
        read_recording(path, series=3)
    with pytest.raises(RecordingFormatError, match="series applies to apple_health"):
        read_recording(path, format="plain", series=0)


def test_whole_millisecond_steps_stay_whole(tmp_path: Path) -> None:
    """Review: intervals as ``diff(times) * 1000`` carried binary noise, so differences of
    exactly 50 ms counted in pNN50 or not by chance (16.5 % for the exact 11.4 %)."""
    from hrv import time_domain

    rr = [800.0, 850.0, 900.0, 850.0, 800.0, 750.0, 800.0, 860.0, 910.0, 860.0] * 3
    t = beat_times(9 * 3600 + 0.37, rr)
    rec = read_recording(write(tmp_path, series("2026-06-01 09:00:00 +0200", t, clock24)))
    assert rec.rr_ms.tolist() == rr
    d = np.diff(rr)
    assert time_domain(rec.rr_ms).pnn50_pct == 100.0 * np.count_nonzero(np.abs(d) > 50) / d.size
