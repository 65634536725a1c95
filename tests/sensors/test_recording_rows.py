"""Rows, lines and numbers of recording files read as an editor shows them (attacker review).

Findings 1, 4 and 11 of the attacker review: a row with more fields than its header moved the
RR column (a decimal comma under ``,`` columns read as a column of zeros and analysed), a
deeply nested ``# meta`` or ``# contact`` line crashed the reader (RecursionError), line
numbers followed ``str.splitlines`` rather than an editor, ``1_2_0`` was read as 120, and a
``# meta`` line could set keys the reader sets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensors import RecordingFormatError, RecordingWriter, read_recording
from sensors.beat import Beat
from sensors.formats.hrvpace import MAX_CONTACT_CHARS, MAX_JSON_DEPTH, MAX_META_CHARS

RR = [757, 760, 771, 789, 801, 812, 795, 780, 770, 765]
HEAD = (
    "# hrvpace-recording v2\n# meta {}\n"
    "t_s,rr_ms,arrived_at_unix_s,contact,gap_before,heart_rate_bpm\n"
)


def _beats(n: int = 5) -> str:
    return "".join(f"{0.8 * (i + 1)!r},800.0,{100.0 + i},1,0,75\n" for i in range(n))


# ------------------------------------------------------------------ rows against the header


@pytest.mark.parametrize(
    ("text", "fields", "width"),
    [
        # decimal commas with ',' between columns: "0,757,71" under "RR (s),HR (bpm)"
        ("RR (s),HR (bpm)\n" + "".join(f"0,{v},71\n" for v in RR), 3, 2),
        # "0,5,0,757" under "time_s,rr_s": the RR column would read 5 s each time
        ("time_s,rr_s\n" + "".join(f"{i},5,0,{v}\n" for i, v in enumerate(RR)), 4, 2),
    ],
    ids=["rr-first", "rr-second"],
)
def test_a_row_with_more_fields_than_the_header_is_refused(
    tmp_path: Path, text: str, fields: int, width: int
) -> None:
    path = tmp_path / "eu.csv"
    path.write_text(text)
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == 2
    assert f"{fields} fields where the header has {width}" in info.value.problem
    assert "decimal comma needs ';' or tab" in info.value.problem


def test_decimal_commas_with_semicolon_columns_still_read(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("RR (s);HR (bpm)\n" + "".join(f"0,{v};71\n" for v in RR))
    np.testing.assert_allclose(read_recording(path).rr_ms, RR, rtol=0, atol=1e-6)


def test_a_row_ending_before_the_rr_column_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    rows = "".join(f"{i},{v},75\n" for i, v in enumerate(RR))
    path.write_text("time_s,rr_ms,hr\n" + rows + "10\n" + rows)
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == 12
    assert "1 fields where the header has 3" in info.value.problem
    assert "ends before the RR column (column 2)" in info.value.problem
    assert "decimal comma" not in info.value.problem


@pytest.mark.parametrize(
    ("header", "row", "rr"),
    [
        ("time_s,rr_ms,hr_bpm", "10,75", 75.0),  # lacks its time or RR: the HR read, labelled
        ("time_s;RR (s);HR", "10,5;0,8", 800.0),
        ("time\tRR\tnote", "2\t810", 810.0),  # an editor trimmed the empty note's tab
    ],
    ids=["comma", "semicolon-decimal-comma", "tab-trimmed-note"],
)
def test_a_short_row_is_read_positionally_and_said(
    tmp_path: Path, header: str, row: str, rr: float
) -> None:
    """Code review: short rows under columns before the RR column were refused, and with them
    every spreadsheet whose trailing blank cells lost their separators (Excel) or tabs
    (editors): ``time<tab>RR<tab>note`` rows without a note read [800 810 790] before. CSV
    reading is positional: a short row's missing fields are the trailing ones; the read notes
    say how many rows were short and the first's line. A value that is then implausible
    (75 ms, a heart rate) is read for ``hrv.clean`` to label, as any implausible value."""
    from api.research.analysis import read_notes

    sep = ";" if ";" in header else "\t" if "\t" in header else ","
    full = {",": "1.0,800,75", ";": "1,0;0,8;75", "\t": "1\t800\tx"}[sep]
    rows = "".join(full + "\n" for _ in range(5))
    path = tmp_path / "short.csv"
    path.write_text(f"{header}\n{rows}{row}\n{rows}{row}\n")
    rec = read_recording(path)
    assert rec.n_beats == 12
    assert rec.rr_ms[5] == rec.rr_ms[11] == pytest.approx(rr)
    assert rec.meta["short_row_lines"] == (7, 13)
    said = read_notes("plain", rec, drop_zero=False)
    assert said == (
        "plain; 2 row(s) with fewer fields than the header (the first on line 7), read "
        "positionally: the missing fields are taken as the last ones"
    )
    # whole rows: nothing said
    path.write_text(f"{header}\n{rows}{rows}")
    assert read_notes("plain", read_recording(path), drop_zero=False) == "plain"


@pytest.mark.parametrize(
    "text",
    [
        "RR\tNote\n800\t\n810\tx\n790\t\n",  # TSV with an empty last column
        "RR,HR\n800,72,\n810,71,\n790,70,\n",  # rows ending with a separator
        "RR,HR,\n800,72\n810,71\n790,70\n",  # a header ending with one
        '"RR (ms)","Time, s"\n800,0.8\n810,1.6\n790,2.4\n',  # a quoted header with a comma
        '"RR (ms)", "Time, s"\n"800","0,8"\n"810","1,6"\n"790","2,4"\n',  # quoted rows too
        "RR,HR\n800,72\n810\n790,70\n",  # a row without its last field
        "RR,HR\n800,\n810,\n790,\n",  # an empty last column
        "RR\n800,\n810,\n790;\n",  # one column, rows ending with a separator
        "Note\tRR\tHR\n\t800\t72\nx\t810\t71\n\t790\t\n",  # empty first and last fields
        "RR;Marker\n800;\n810;\n790;\n",
    ],
    ids=[
        "tsv-empty-last",
        "trailing-comma-rows",
        "trailing-comma-header",
        "quoted-header",
        "quoted-rows",
        "short-row",
        "empty-last-column",
        "one-column-trailing-separator",
        "tsv-empty-first",
        "semicolon-empty-last",
    ],
)
def test_common_exports_with_empty_or_quoted_fields_read(tmp_path: Path, text: str) -> None:
    """Review: the row-width rule (rows that do not match the header refused) refused these;
    lines were stripped before they were split, so a TSV row's empty last field vanished, a
    row's empty first field moved the RR column, and a quoted header was split inside quotes."""
    path = tmp_path / "export.csv"
    path.write_text(text)
    assert read_recording(path).rr_ms.tolist() == [800.0, 810.0, 790.0]


@pytest.mark.parametrize(
    "text",
    [
        'RR\n"800"\n"810"\n"790"\n',
        '"RR"\n"800"\n"810"\n"790"\n',
        "\tRR\tHR\n0\t800\t72\n1\t810\t71\n2\t790\t70\n",
        "\tRR\tHR\n0\t800\t\n1\t810\t\n2\t790\t\n",
        ",RR,HR\n0,800,72\n1,810,71\n2,790,70\n",
        "\ttime\tRR\n\t1.0\t800\n\t1.8\t810\n\t2.6\t790\n",
        "RR,HR\n800,72\n810,71\n790,70\n,\n,,\n",
        "RR\n800\n,\n810\n790\n,,\n",
    ],
    ids=[
        "one-column-quoted-rows",
        "one-column-quoted-header",
        "pandas-tsv-index",
        "pandas-tsv-index-empty-last",
        "csv-empty-first-header-cell",
        "tsv-empty-first-everywhere",
        "rows-of-separators",
        "one-column-rows-of-separators",
    ],
)
def test_quoted_indexed_and_separator_only_rows_read(tmp_path: Path, text: str) -> None:
    """Review: a one-column row kept its quotes (``"800"`` not a number); the header was
    stripped before it was split but rows were not, so a header starting with an empty field
    (pandas' index) was misaligned with its rows (refused, or the index read as RR); rows of
    separators only (Excel's last rows) were refused instead of skipped as blank lines."""
    path = tmp_path / "export.csv"
    path.write_text(text)
    assert read_recording(path).rr_ms.tolist() == [800.0, 810.0, 790.0]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('"t","RR (s)"\n"1,5","0,8"\n', 2, "'0,8' is not a number: a decimal comma needs ';'"),
        ('"RR,HR"\n"800,72"\n', 1, "each line is quoted whole"),
        ("RR,HR\n,\n,,\n", None, "the file is empty"),
    ],
    ids=["quoted-decimal-comma", "lines-quoted-whole", "only-separator-rows"],
)
def test_refusals_say_what_is_wrong(
    tmp_path: Path, text: str, line: int | None, problem: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(RecordingFormatError, match=problem) as info:
        read_recording(path)
    assert info.value.line == line


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("RR,HR,\n800,72\n810,71,5\n", 3, "3 fields where the header has 2"),
        ("RR (s),HR\n0,757,71,\n", 2, "decimal comma needs ';' or tab"),
        ("Note\tRR\tHR\n\t800\t72\n\t\t71\n", 3, "no value in the RR column"),
        ("HR,RR\n72,800\n71\n", 3, "ends before the RR column"),
    ],
    ids=["extra-value", "decimal-comma-trailing", "empty-rr", "short-before-rr"],
)
def test_rows_that_would_move_or_lose_the_rr_column_are_still_refused(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(RecordingFormatError, match=problem) as info:
        read_recording(path)
    assert info.value.line == line


@pytest.mark.parametrize(
    "text",
    ["RR (s)\n" + "0\n" * 20, "rr_ms;hr\n" + "0;70\n" * 20, "0\n" * 20],
    ids=["header", "semicolon", "headerless"],
)
def test_a_recording_without_a_positive_interval_is_refused(tmp_path: Path, text: str) -> None:
    """An all-zero series had no median, so no units check fired: it was analysed."""
    path = tmp_path / "zeros.txt"
    path.write_text(text)
    with pytest.raises(RecordingFormatError, match="none of the 20 RR intervals is above 0"):
        read_recording(path)


def test_zeros_among_positive_intervals_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "zeros.txt"
    path.write_text("800\n" + "0\n" * 19)
    rec = read_recording(path)
    assert rec.n_beats == 20 and rec.rr_ms[0] == 800.0


# ------------------------------------------------------------------ lines as an editor counts


@pytest.mark.parametrize("odd", ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\x0b"])
def test_line_numbers_are_the_editors(tmp_path: Path, odd: str) -> None:
    """``str.splitlines`` also splits at these: ``8<odd>10`` was read as two values, 8 and 10,
    and the error fell on line 6 where an editor shows ``abc`` on line 5."""
    path = tmp_path / "odd.txt"
    path.write_text(f"rr_ms\n800\n8{odd}10\n820\nabc\n", encoding="utf-8")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == 3


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_cr_only_and_crlf_files_keep_their_line_numbers(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "rr.txt"
    path.write_bytes(newline.join(["rr_ms", *map(str, RR), ""]).encode())
    assert read_recording(path).rr_ms.tolist() == RR
    path.write_bytes(newline.join(["rr_ms", "800", "", "x", ""]).encode())
    with pytest.raises(RecordingFormatError) as info:
        read_recording(path)
    assert info.value.line == 4


def test_bytes_that_are_not_utf8_name_their_line_in_a_cr_only_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(b"800\r810\r\xff\xfe\r820\r")
    with pytest.raises(RecordingFormatError, match="not UTF-8") as info:
        read_recording(path)
    assert info.value.line == 3


@pytest.mark.parametrize("fmt", [None, "hrvpace"])
def test_underscores_in_numbers_are_refused(tmp_path: Path, fmt: str | None) -> None:
    """Python's float reads ``1_2_0`` as 120; no spreadsheet or editor does."""
    path = tmp_path / "us.txt"
    if fmt is None:
        path.write_text("rr_ms\n800\n810\n1_2_0\n")
    else:
        path.write_text(HEAD + _beats() + "4.8,8_00.0,105.0,1,0,75\n")
    with pytest.raises(RecordingFormatError, match="'_' is not read in numbers") as info:
        read_recording(path)
    assert info.value.line == (4 if fmt is None else 9)


@pytest.mark.parametrize(
    ("text", "fmt", "line"),
    [
        # full-width digits (an East Asian input method), one line of a plain file
        ("800\n810\n\uff18\uff12\uff10\n", None, 3),
        # Arabic-Indic digits under a header with decimal commas
        ("time;RR (s)\n0;0,800\n1;\u0660,\u0668\u0661\u0660\n", None, 3),
        # a Devanagari digit in an hrvpace recording's RR column
        (HEAD + _beats() + "4.8,8\u096600.0,105.0,1,0,75\n", "hrvpace", 9),
        # full-width digits as an HRV Logger epoch timestamp
        (
            "timestamp,rr,since_start\n1675889368255,812,34096\n\uff11675889369255,798,34908\n",
            "hrv_logger",
            3,
        ),
    ],
)
def test_digits_beyond_ascii_are_refused(
    tmp_path: Path, text: str, fmt: str | None, line: int
) -> None:
    """Python's float (and numpy) read any Unicode digit: ``float('８２０') == 820.0``."""
    path = tmp_path / "digits.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordingFormatError, match="only ASCII digits are read") as info:
        read_recording(path, format=fmt)
    assert info.value.line == line


# ------------------------------------------------------------------ hrvpace meta and contact


def _json_lines(tmp_path: Path, meta: str, contact: str) -> Path:
    path = tmp_path / "rec.csv"
    path.write_text(HEAD.replace("# meta {}", f"# meta {meta}") + _beats() + contact)
    return path


@pytest.mark.parametrize(
    ("meta", "contact", "line", "problem"),
    [
        ("[" * 5000 + "]" * 5000, "", 2, "not JSON this reader takes"),
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "", 2, "not JSON this reader takes"),
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", "", 2, f"more than {MAX_JSON_DEPTH} deep"),
        ('{"a": "' + "x" * MAX_META_CHARS + '"}', "", 2, "longer than"),
        (
            "{}",
            '# contact {"t_s": 1, "contact": false, "x": ' + "[" * 3000 + "]" * 3000 + "}\n",
            9,
            "longer than",
        ),
        (
            "{}",
            '# contact {"t_s": 1, "contact": false, "x": ' + "[" * 1500 + "]" * 1500 + "}\n",
            9,
            "not JSON this reader takes",
        ),
        ("{}", '# contact {"t_s": ' + "9" * 4400 + ', "contact": false}\n', 9, "longer than"),
        ("{}", '# contact {"t_s": ' + "9" * 4000 + ', "contact": false}\n', 9, "not a finite"),
        ("{}", '# contact {"t_s": ' + "9" * 400 + ', "contact": false}\n', 9, "not a finite"),
        ("{}", '# contact {"t_s": 1e400, "contact": false}\n', 9, "not a finite"),
        ("{}", '# contact {"t_s": 1e300, "contact": false}\n', 9, "within 8 days"),
        (
            "{}",
            '# contact {"t_s": 3.5, "contact": false}\n# contact {"t_s": -5, "contact": true}\n',
            10,
            "before the one above it",
        ),
    ],
    ids=[
        "meta-deep-array",
        "meta-deep-object",
        "meta-41-deep",
        "meta-too-long",
        "contact-too-long",
        "contact-deep",
        "contact-4400-digits",
        "contact-4000-digits",
        "contact-400-digits",
        "contact-1e400",
        "contact-1e300",
        "contact-out-of-order",
    ],
)
def test_json_lines_are_bounded_and_name_their_line(
    tmp_path: Path, meta: str, contact: str, line: int, problem: str
) -> None:
    """A deep ``# meta``/``# contact`` line raised RecursionError (a 500 on upload), a long
    integer ValueError or OverflowError without a line; absurd or unordered contact times were
    kept."""
    path = _json_lines(tmp_path, meta, contact)
    with pytest.raises(RecordingFormatError, match=problem) as info:
        read_recording(path)
    assert info.value.line == line
    assert info.value.summary == info.value.problem  # quotes nothing of the file


def test_bounds_leave_the_writers_files_alone(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    meta = {"device_info": {"a": {"b": [1, 2, {"c": None}]}}, "note": "x" * 1000}
    with RecordingWriter(path, meta=meta) as writer:
        writer.write(Beat(t_s=1.0, rr_ms=1000.0, arrived_at=101.0, contact=True))
        writer.write_contact(1.5, False)
        writer.write_contact(1.5, True)  # the same instant twice is in order
        writer.write_contact(30.0, False)
        writer.write(Beat(t_s=31.0, rr_ms=1000.0, arrived_at=131.0, contact=True))
    rec = read_recording(path)
    assert rec.meta["device_info"] == meta["device_info"]
    assert rec.meta["contact_changes"] == [[1.5, False], [1.5, True], [30.0, False]]
    assert len('{"t_s": 1e-300, "contact": false}') < MAX_CONTACT_CHARS


def test_the_meta_line_cannot_set_what_the_reader_sets(tmp_path: Path) -> None:
    meta = (
        '{"path": "/etc/shadow", "contact_changes": [["x", "<img>"]], "units": "s", '
        '"format_version": 9, "truncated_last_line": true, "n_gaps": 7, "device": "H10", '
        '"segment": "baseline", "segment_start_s": 100, "segment_end_s": 400, '
        '"segment_past_end": "x", "dropped_zero_lines": [3], "units_from": "header", '
        '"column": "rr"}'
    )
    path = _json_lines(tmp_path, meta, "")
    rec = read_recording(path)
    assert rec.meta["path"] == str(path)
    assert "contact_changes" not in rec.meta
    assert rec.meta["units"] == "ms" and rec.meta["format_version"] == 2
    assert rec.meta["truncated_last_line"] is False and rec.meta["n_gaps"] == 0
    assert rec.meta["device"] == "H10"
    for key in ("segment", "segment_start_s", "segment_end_s", "segment_past_end"):
        assert key not in rec.meta  # set by a cut to a segment, never by the file (review)
    for key in ("dropped_zero_lines", "units_from", "column"):
        assert key not in rec.meta  # the plain reader's
