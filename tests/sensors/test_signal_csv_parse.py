"""The numpy parse of a one-column ECG/PPG CSV reads what the line-by-line reader reads.

``sensors.formats.signal_csv._one_column`` parses a one-column signal whole (a 5-min 360-Hz
ECG took ~0.5 CPU-s line by line); anything it is not sure of goes to the line-by-line reader,
whose refusals name the line. Each text below is read both ways (the fast path switched off
for the second): the same values and column name, or the same refusal, word for word.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensors.errors import RecordingFormatError
from sensors.formats import signal_csv

_SIGNAL = "\n".join(f"{v:.3f}" for v in np.sin(np.linspace(0.0, 30.0, 200))) + "\n"

TEXTS = {
    "plain": _SIGNAL,
    "header": "MLII\n" + _SIGNAL,
    "crlf": "ECG (mV)\r\n" + _SIGNAL.replace("\n", "\r\n"),
    "blank lines around": "\n\n  \nMLII\n\n\n" + _SIGNAL + "\n\n  \n",
    "spaces and signs": "pleth\n  +1.5\n-2e-3 \n\t.25\n1.\n-0\n3E2\n",
    "no final line end": "v\n1\n2\n3",
    "semicolons": "a;b\n1;2\n3;4\n",
    "two columns": "time,ecg\n0,1\n1,2\n",
    "tabs": "ecg\n1\t\n2\t\n",
    "quoted header": '"ecg"\n1\n2\n',
    "lone cr": "ecg\r1\r2\r",
    "blank line inside": "ecg\n1\n2\n\n3\n",
    "spaces-only line inside": "ecg\n1\n2\n   \n3\n",
    "letter": "ecg\n1\n2\nabc\n3\n",
    "two on a line": "ecg\n1\n2 3\n",
    "nan": "ecg\n1\nnan\n3\n",
    "inf": "ecg\n1\n2\n-inf\n",
    "overflow": "ecg\n1\n1e400\n3\n",
    "half a number": "ecg\n1\n1e\n3\n",
    "sign inside": "ecg\n1\n1-2\n3\n",
    "header only": "ecg\n",
    "empty": "\n  \n",
    "numeric first then text": "1\n2\nx\n",
    "trailing comma": "1,\n2,\n",
    "underscore": "ecg\n1_000\n2\n",
}

CHANNELS: list[str | int | None] = [None, 0, 1, "ecg", "MLII", "time"]


def _read(path: Path, channel: str | int | None) -> tuple[str, object]:
    try:
        values, name = signal_csv._read_signal_csv(str(path), channel)
    except RecordingFormatError as exc:
        return "refused", (str(exc), exc.line)
    return "read", (values.tolist(), name)


@pytest.mark.parametrize("name", list(TEXTS))
def test_the_fast_parse_reads_or_refuses_as_the_line_reader(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "signal.csv"
    path.write_bytes(TEXTS[name].encode())
    fast = [_read(path, channel) for channel in CHANNELS]
    monkeypatch.setattr(signal_csv, "_one_column", lambda *args: None)
    slow = [_read(path, channel) for channel in CHANNELS]
    assert fast == slow


def test_a_one_column_signal_is_parsed_whole() -> None:
    """The common file takes the fast path (else the speed-up is gone, silently)."""
    for name in ("plain", "header", "crlf", "blank lines around", "spaces and signs"):
        text = TEXTS[name]
        got = signal_csv._one_column(text, ",", None)
        assert got is not None, name
    values, column = signal_csv._one_column(TEXTS["header"], ",", "MLII") or ((), "")
    assert column == "MLII" and len(values) == 200


def test_old_mac_line_endings_read_as_lines_and_a_nul_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    """A lone \r ended no line for the csv module: it raised its own error (a traceback in
    analyze) where the file is an ordinary one-column signal with old Mac line endings."""
    path = tmp_path / "signal.csv"
    path.write_bytes(TEXTS["lone cr"].encode())
    values, column = signal_csv._read_signal_csv(str(path), None)
    assert values.tolist() == [1.0, 2.0] and column == "ecg"
    path.write_bytes(b"ecg,x\n1,2\n3\x00,4\n")
    with pytest.raises(RecordingFormatError) as caught:
        signal_csv._read_signal_csv(str(path), "ecg")
    assert caught.value.line == 3, str(caught.value)


def test_a_first_line_over_csvs_field_limit_and_a_decimal_comma_are_refused_by_line(
    tmp_path: Path,
) -> None:
    """Code review: a first line over csv's 128-KiB field limit (samples on one line) raised
    csv's own error from the fast path ("internal error" in analyze); ``0,5`` under a
    one-column header was read as 0 (the line reader kept the first field)."""
    path = tmp_path / "signal.csv"
    path.write_text(" ".join(["0.5"] * 60_000) + "\n")
    with pytest.raises(RecordingFormatError) as caught:
        signal_csv._read_signal_csv(str(path), None)
    assert caught.value.line == 1, str(caught.value)
    path.write_text("ecg\n0,5\n0,6\n")
    with pytest.raises(RecordingFormatError) as caught:
        signal_csv._read_signal_csv(str(path), None)
    assert caught.value.line == 2 and "decimal comma" in str(caught.value)
    path.write_text("ecg\n1,\n2,\n")  # a trailing delimiter is no second field
    assert signal_csv._read_signal_csv(str(path), None)[0].tolist() == [1.0, 2.0]


def test_a_refusal_still_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "signal.csv"
    path.write_text("MLII\n" + _SIGNAL + "\n" + _SIGNAL)
    with pytest.raises(RecordingFormatError) as caught:
        signal_csv._read_signal_csv(str(path), None)
    assert caught.value.line == 202
    assert "missing sample: a blank line (sample 200" in str(caught.value)
