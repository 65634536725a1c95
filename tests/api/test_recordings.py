"""The recordings folder on a real uvicorn: uploads, names, no path reaches the server's disk."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.recordings import safe_name
from api.settings import load_settings
from tests.api.conftest import Server, wait_for


def _upload(c: httpx.Client, name: str, content: bytes, **form: str) -> httpx.Response:
    return c.post(
        "/api/v1/recordings", files={"file": (name, content, "text/plain")}, data=form or None
    )


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] == f"/problems/{code}" and body["title"] and body["detail"]
    return body


def test_upload_list_and_replay_a_real_recording_in_seconds(
    serve: Callable[..., Server], shared_data: Path
) -> None:
    """A plain file in seconds, uploaded with its units: its beats in ms, replayed by name."""
    src = shared_data / "hrvpkg_rest_rri_ms.txt"
    rr_ms = [float(x) for x in src.read_text().split()][:300]
    in_s = "".join(f"{v / 1000.0!r}\n" for v in rr_ms).encode()
    server = serve()
    with server.client() as c:
        assert c.get("/api/v1/recordings").json() == {"recordings": [], "total": 0}
        info = _upload(c, "rest in s.txt", in_s, units="s").json()
        assert info["name"] == "rest_in_s.txt"
        assert info["beats"] == 300 and info["format"] == "plain" and info["units"] == "s"
        assert info["duration_s"] == pytest.approx(sum(rr_ms) / 1000.0, rel=1e-9)
        assert info["size_bytes"] == len(in_s)
        assert c.get("/api/v1/recordings").json()["recordings"] == [info]
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": info["name"], "speed": "max"}},
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        assert r.json()["source"]["recording"] == "rest_in_s.txt"
        s = wait_for(
            lambda: (lambda x: None if x["live"] else x)(c.get(f"/api/v1/sessions/{sid}").json()),
            timeout_s=30,
            what="replay end",
        )
        assert s["state"] == "ended" and s["n_beats"] == 300, s
        beats = c.get(f"/api/v1/sessions/{sid}/beats").json()["beats"]
    # units as uploaded: the stored sidecar says seconds, the replay reads them as such
    assert [b["rr_ms"] for b in beats] == pytest.approx(rr_ms, rel=1e-12)
    stored = server.settings.recordings_path
    assert stat_mode(stored) == 0o700 and stat_mode(stored / "rest_in_s.txt") == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_names_are_made_safe_and_never_overwrite(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve()
    first = b"800\n810\n820\n"
    second = b"900\n910\n"
    with server.client() as c:
        a = _upload(c, "../../outside.txt", first).json()
        b = _upload(c, "outside.txt", second).json()
        c_ = _upload(c, "/etc/outside.txt", second).json()
        listed = [r["name"] for r in c.get("/api/v1/recordings").json()["recordings"]]
    assert (a["name"], b["name"], c_["name"]) == ("outside.txt", "outside-2.txt", "outside-3.txt")
    assert listed == ["outside-2.txt", "outside-3.txt", "outside.txt"]
    folder = server.settings.recordings_path
    assert (folder / "outside.txt").read_bytes() == first  # not overwritten
    assert (folder / "outside-2.txt").read_bytes() == second
    assert not (tmp_path / "outside.txt").exists()
    assert not (folder.parent / "outside.txt").exists()
    assert not [p for p in os.listdir(folder) if p.endswith(".part")]  # temp files cleaned up


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        (".hidden", "hidden"),
        ("..", "recording.txt"),
        ("", "recording.txt"),
        ("a" * 300 + ".txt", "a" * 96 + ".txt"),  # 100 characters at most
        ("rr\x00.txt", "rr_.txt"),
    ],
)
def test_safe_name(given: str, expected: str) -> None:
    assert safe_name(given) == expected


def test_an_unreadable_upload_is_422_naming_the_line_not_the_content(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    secret = "SECRET-CONTENT-XYZ"
    with server.client() as c:
        r = _upload(c, "bad.txt", f"900\n910\n{secret}\n".encode())
        body = _problem(r, 422, "recording_unreadable")
        assert "line 3" in body["detail"] and secret not in r.text
        assert c.get("/api/v1/recordings").json() == {"recordings": [], "total": 0}
        r = _upload(c, "x.txt", b"900\n", format="no_such_format")
        _problem(r, 422, "unknown_format")
        r = _upload(c, "x.txt", b"900\n", units="hours")
        assert _problem(r, 422, "validation_error")["errors"][0]["loc"] == ["body", "units"]
    assert not [p for p in os.listdir(server.settings.recordings_path) if not p.startswith(".")]


def test_replay_by_path_is_refused_the_same_whether_the_file_exists_or_not(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    """The old ``path`` field is 422 telling to upload; nothing of the file and no existence
    oracle (the answers for an existing and a missing file are the same but for the path)."""
    secret_file = tmp_path / "token-like"
    secret_file.write_text("TOP-SECRET-FIRST-LINE\n")
    server = serve()
    answers = []
    with server.client() as c:
        for path in (str(secret_file), str(tmp_path / "missing"), "/etc/passwd"):
            r = c.post("/api/v1/sessions", json={"source": {"kind": "replay", "path": path}})
            body = _problem(r, 422, "validation_error")
            assert "TOP-SECRET" not in r.text and "root:" not in r.text
            assert "POST /api/v1/recordings" in body["detail"], body
            answers.append(r.text.replace(path, "PATH"))
        assert answers[0] == answers[1] == answers[2]
        assert c.get("/api/v1/sessions").json()["sessions"] == []


@pytest.mark.parametrize("name", ["nope.txt", "token", "hrvpace.sqlite3", "..", "a/b"])
def test_a_name_not_in_the_folder_is_404(serve: Callable[..., Server], name: str) -> None:
    server = serve()
    # files of the data dir next to the folder are not recordings
    with server.client() as c:
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": name, "speed": "max"}},
        )
        if name in ("..", "a/b"):
            _problem(r, 422, "validation_error")  # not even a name
        else:
            body = _problem(r, 404, "recording_not_found")
            assert "upload" in body["detail"]
        assert c.get("/api/v1/sessions").json()["sessions"] == []


def test_a_link_out_of_the_folder_is_not_followed(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("900\n910\n920\n")
    server = serve()
    folder = server.settings.recordings_path
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "link.txt").symlink_to(outside)
    with server.client() as c:
        assert c.get("/api/v1/recordings").json() == {"recordings": [], "total": 0}
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": "link.txt", "speed": "max"}},
        )
        _problem(r, 404, "recording_not_found")


def test_a_file_copied_into_the_folder_is_listed_and_replays(
    serve: Callable[..., Server], tmp_path: Path, shared_data: Path
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "d", token="t", recordings_dir=tmp_path / "my recordings"
    )
    (tmp_path / "my recordings").mkdir()
    src = shared_data / "hrvpkg_exercise_rri.hrm"
    (tmp_path / "my recordings" / src.name).write_bytes(src.read_bytes())
    server = serve(settings=settings)
    with server.client() as c:
        (listed,) = c.get("/api/v1/recordings").json()["recordings"]
        assert listed["name"] == src.name and listed["beats"] is None  # not read yet
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": src.name, "speed": "max"}},
        )
        assert r.status_code == 201, r.text


def test_upload_over_its_limit_is_413(serve: Callable[..., Server], tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d", token="t", max_recording_bytes=4096)
    server = serve(settings=settings)
    with server.client() as c:
        ok = _upload(c, "small.txt", b"900\n" * 500)  # 2000 bytes + the multipart envelope
        assert ok.status_code == 201, ok.text
        r = _upload(c, "big.txt", b"900\n" * 2000)
        body = _problem(r, 413, "body_too_large")
        assert "HRVPACE_MAX_RECORDING_BYTES" in body["detail"]
        assert [x["name"] for x in c.get("/api/v1/recordings").json()["recordings"]] == [
            "small.txt"
        ]


def test_an_upload_takes_a_small_multiple_of_its_size_in_memory(
    serve: Callable[..., Server],
) -> None:
    """Review: an upload took ~30x its size and more. Every text reader read the file with
    ``f.read(64 MiB + 1)``, which allocates the 64 MiB first (a 430-kB day of beats peaked at
    67 MB), and the plain reader kept every line three times as Python objects (a list of
    lines, twice, and of ``(number, text)`` pairs; 32 MiB of ``800`` lines peaked at 2.1 GB,
    65x). Three days of beats, one a line, now peak under 10x their size on a real uvicorn
    (tracemalloc sees the server's thread and numpy's arrays; 6.4x here with the multipart
    parser's fixed costs), and every beat is read."""
    import tracemalloc

    import numpy as np

    rr = np.random.default_rng(7).normal(800.0, 50.0, 3 * 108_000).round(1)
    content = "".join(f"{v:.1f}\n" for v in rr).encode()
    server = serve()
    with server.client() as c:
        assert c.get("/api/v1/recordings").status_code == 200  # the app's own first use
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            r = _upload(c, "three days.txt", content)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    assert r.status_code == 201, r.text
    assert r.json()["beats"] == rr.shape[0]
    assert r.json()["duration_s"] == pytest.approx(float(rr.sum()) / 1000.0, rel=1e-9)
    assert peak < 10 * len(content), f"{peak / 1e6:.1f} MB at the peak for {len(content)} bytes"


def test_a_recording_can_be_deleted(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        name = _upload(c, "gone.txt", b"900\n910\n").json()["name"]
        assert c.delete(f"/api/v1/recordings/{name}").status_code == 204
        assert c.get("/api/v1/recordings").json() == {"recordings": [], "total": 0}
        _problem(c.delete(f"/api/v1/recordings/{name}"), 404, "recording_not_found")
        beside = server.settings.data_dir / "beside.txt"
        beside.write_text("900\n")
        for path in ("..%2Fbeside.txt", "%2E%2E%2Fbeside.txt", "..", "beside.txt"):
            r = c.delete(f"/api/v1/recordings/{path}")
            assert r.status_code in (404, 405, 422), (path, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"
        assert beside.read_text() == "900\n"
    assert os.listdir(server.settings.recordings_path) == []  # the sidecar went too


def test_a_file_in_seconds_is_refused_with_the_field_that_reads_it(
    serve: Callable[..., Server], shared_data: Path
) -> None:
    """Uploads follow the readers' one units policy (review finding: nsr001 was read as 81 s)."""
    content = (shared_data / "nsr2db_nsr001_rr_secs.txt").read_bytes()
    server = serve()
    with server.client() as c:
        body = _problem(_upload(c, "nsr001.txt", content), 422, "recording_unreadable")
        assert "look like seconds" in body["detail"]
        assert "units=s" in body["detail"] and "format=physionet_rr_secs" in body["detail"]
        assert "0.7" not in body["detail"].split("(median")[0]  # no line of the file quoted
        info = _upload(c, "nsr001.txt", content, format="physionet_rr_secs").json()
        assert info["beats"] == 106_459
        assert info["duration_s"] == pytest.approx(22.5 * 3600, rel=0.01)


def test_uploads_read_every_shared_file_as_analyze_does(
    serve: Callable[..., Server], shared_data: Path
) -> None:
    """Review finding: uploads refused the PhysioNet ``*_rr_secs`` and gHRV beat-time files that
    ``hrvpace analyze`` reads. One detection now: each file ``analyze`` reads is kept with the
    same format and beats; each one it refuses is refused with the same reason."""
    from typer.testing import CliRunner

    from api.cli import app
    from api.recordings import api_flags

    names = sorted(p.name for p in shared_data.iterdir() if p.is_file())
    res = CliRunner().invoke(app, ["analyze", *(str(shared_data / n) for n in names), "--json"])
    analysed = {Path(o["path"]).name: o for o in map(json.loads, res.stdout.splitlines())}
    assert set(analysed) == set(names)
    refused = sorted(n for n, o in analysed.items() if "error" in o)
    assert refused == ["README.md", "ghrv_chapter6_rr.txt"]  # prose; seconds without a flag
    server = serve()
    with server.client() as c:
        for name in names:
            r = _upload(c, name, (shared_data / name).read_bytes())
            cli = analysed[name]
            if "error" in cli:
                detail = _problem(r, 422, "recording_unreadable")["detail"]
                if cli["error"].startswith(f"{shared_data / name}: "):  # a whole-file reason
                    reason = cli["error"].removeprefix(f"{shared_data / name}: ")
                    assert detail == f"{name}: {api_flags(reason)}"
                else:  # a reason at a line: the line's number, never its text
                    assert re.search(r"line \d+", detail) and "Data files" not in detail
                continue
            assert r.status_code == 201, (name, r.text)
            info = r.json()
            assert (info["name"], info["format"], info["beats"]) == (
                name,
                cli["format"],
                cli["n_beats"],
            )
            assert info["duration_s"] == pytest.approx(cli["duration_s"], rel=1e-12)
            # the units actually used (plain: ms by default), not null
            assert info["units"] == ("ms" if cli["format"] == "plain" else None)
    assert "look like seconds" in analysed["ghrv_chapter6_rr.txt"]["error"]


def test_a_file_copied_in_by_hand_replays_as_analyze_reads_it(
    serve: Callable[..., Server], tmp_path: Path, shared_data: Path
) -> None:
    """Never uploaded, so never read: its replay chooses format and units as analyze does (gHRV
    beat times here, which the plain reader refuses)."""
    settings = load_settings(data_dir=tmp_path / "d", token="t", recordings_dir=tmp_path / "r")
    (tmp_path / "r").mkdir()
    src = shared_data / "ghrv_beat_ascii.txt"
    (tmp_path / "r" / src.name).write_bytes(src.read_bytes())
    server = serve(settings=settings)
    with server.client() as c:
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": src.name, "speed": "max"}},
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        s = wait_for(
            lambda: (lambda x: None if x["live"] else x)(c.get(f"/api/v1/sessions/{sid}").json()),
            timeout_s=60,
            what="replay end",
        )
    assert s["state"] == "ended" and s["n_beats"] == 7181, s


def test_a_plain_upload_says_its_units(serve: Callable[..., Server]) -> None:
    """Review finding: read with the default ms, the answer said ``"units": null``."""
    server = serve()
    with server.client() as c:
        info = _upload(c, "rest.txt", b"800\n810\n820\n").json()
        assert (info["format"], info["units"]) == ("plain", "ms")
        listed = c.get("/api/v1/recordings").json()["recordings"]
        assert [x["units"] for x in listed] == ["ms"]


def test_an_upload_with_an_rr_header_is_read_as_analyze_reads_it(
    serve: Callable[..., Server],
) -> None:
    """Review finding: a header row naming the RR column was refused at line 1; uploads use
    the detection of ``hrvpace analyze`` (a header's units, a ``;`` file's decimal commas)."""
    rows = "".join(f"{i};0,{800 + i % 5}\n" for i in range(100))
    server = serve()
    with server.client() as c:
        info = _upload(c, "s06.csv", f"# subject 6\ntime;RR (s)\n{rows}".encode()).json()
        assert (info["format"], info["units"], info["beats"]) == ("plain", "s", 100)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("日本.txt", "recording.txt"),
        ("-.txt", "recording.txt"),
        ("日本", "recording.txt"),
        ("日本_rest.csv", "rest.csv"),
        ("rest..txt", "rest.txt"),  # never '..' inside a name (not a valid name)
        ("x.日本", "x"),
        ("-" * 200 + ".hrm", "recording.hrm"),
    ],
)
def test_a_name_without_ascii_letters_keeps_its_extension(given: str, expected: str) -> None:
    """Review finding: ``日本.txt`` and ``-.txt`` both became ``txt``."""
    assert safe_name(given) == expected


def test_non_ascii_names_are_kept_apart_with_their_extension(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        names = [_upload(c, n, b"800\n810\n").json()["name"] for n in ("日本.txt", "-.txt")]
        assert names == ["recording.txt", "recording-2.txt"]


def test_a_negative_value_does_not_rewind_the_uploaded_recording(
    serve: Callable[..., Server],
) -> None:
    """Review finding: 200 x 800, -60000, 200 x 800, 5 x 0, 100 x 800 was 340 s long and its
    replay dropped the 75 beats after the negative value; it lasts 400 s and replays every
    valid beat (the 6 artefacts are skipped)."""
    values = [800] * 200 + [-60000] + [800] * 200 + [0] * 5 + [800] * 100
    server = serve()
    with server.client() as c:
        info = _upload(c, "neg.txt", "".join(f"{v}\n" for v in values).encode()).json()
        assert info["beats"] == 506 and info["duration_s"] == pytest.approx(400.0)
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": info["name"], "speed": "max"}},
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        s = wait_for(
            lambda: (lambda x: None if x["live"] else x)(c.get(f"/api/v1/sessions/{sid}").json()),
            timeout_s=30,
            what="replay end",
        )
        beats = c.get(f"/api/v1/sessions/{sid}/beats").json()["beats"]
    assert s["state"] == "ended" and s["n_beats"] == 500, s
    assert "506 beats, 6 of them unusable" in s["message"]  # the counts agree
    assert [b["rr_ms"] for b in beats] == [800.0] * 500
    assert beats[-1]["t_s"] == pytest.approx(400.0)


@pytest.mark.parametrize(
    ("content", "line", "why"),
    [
        (b"time_s,hr,rr_ms\n0,75,800\n1,75\n2,75,810\n", 3, "2 fields where the header has 3"),
        (b"rr_ms\n800\nNaN\n810\n", 3, "an RR interval is not a finite number"),
        (b"rr_ms\n800\n8\x0000\n810\n", 3, "an RR interval is not a number"),
        (b"rr_ms\n800\n8\xff00\n810\n", 3, "not a text file (bytes that are not UTF-8)"),
        (b"rr,rr_ms\n800,800\n", 1, "the header names 2 RR columns"),
        (b"rr_ms\n800\n8_10\n", 3, "'_' is not read in numbers"),
        (b"RR (s),HR (bpm)\n0,757,71\n0,760,75\n", 2, "decimal comma needs ';' or tab"),
    ],
    ids=["short-row", "nan", "nul", "not-utf8", "two-rr", "underscore", "decimal-comma"],
)
def test_an_unreadable_upload_says_why_without_quoting_the_file(
    serve: Callable[..., Server], content: bytes, line: int, why: str
) -> None:
    """Attacker review finding 8: every problem at a line came back as 'not a readable RR
    recording in any known format at line N'; the reader's reason now comes with it, in words
    that quote nothing of the file (health data)."""
    server = serve()
    with server.client() as c:
        body = _problem(_upload(c, "bad.txt", content), 422, "recording_unreadable")
    assert f"at line {line}: " in body["detail"] and why in body["detail"], body
    for value in ("NaN", "8_10", "757", "800,800", "\\x00", "\\xff"):
        assert value not in body["detail"]


@pytest.mark.parametrize(
    ("meta", "contact", "line"),
    [
        ("[" * 3000 + "]" * 3000, "", 2),
        ("{}", '# contact {"t_s": 1, "contact": false, "x": ' + "[" * 1500 + "]" * 1500 + "}", 9),
        ("{}", '# contact {"t_s": ' + "9" * 4000 + ', "contact": false}', 9),
        ("{}", '# contact {"t_s": 1e300, "contact": false}', 9),
    ],
    ids=["deep-meta", "deep-contact", "4000-digits", "1e300"],
)
def test_a_broken_json_line_is_422_naming_its_line_not_500(
    serve: Callable[..., Server], meta: str, contact: str, line: int
) -> None:
    """Attacker review finding 4: deep JSON in a '# meta' or '# contact' line gave a 500
    (RecursionError), a long integer a 422 naming neither problem nor line."""
    beats = "".join(f"{0.8 * (i + 1)!r},800.0,{100.0 + i},1,0,75\n" for i in range(5))
    text = (
        f"# hrvpace-recording v2\n# meta {meta}\n"
        "t_s,rr_ms,arrived_at_unix_s,contact,gap_before,heart_rate_bpm\n"
        f"{beats}{contact}\n"
    )
    server = serve()
    with server.client() as c:
        body = _problem(_upload(c, "rec.csv", text.encode()), 422, "recording_unreadable")
        assert f"(read as 'hrvpace') at line {line}: the " in body["detail"], body
        assert c.get("/api/v1/recordings").json()["total"] == 0


def _export_table(kind: str) -> bytes:
    """An ``hrvpace export`` metrics or contact table (the header and rows export writes)."""
    from api.research.export import METRIC_UNITS
    from api.research.units import NO_CONTACT_UNITS, csv_text

    if kind == "metrics":
        names = list(METRIC_UNITS)
        rows = [[60.0 + 5 * i, 70, 41.5, 50.25, None, None, 0.5] for i in range(40)]
        return csv_text(names, METRIC_UNITS, rows).encode()
    rows = [[100.0, 112.0, "contact"], [390.0, None, "end"]]
    return csv_text(list(NO_CONTACT_UNITS), NO_CONTACT_UNITS, rows).encode()


@pytest.mark.parametrize("kind", ["metrics", "contact"])
def test_an_export_table_upload_says_what_it_is_and_which_file_to_upload(
    serve: Callable[..., Server], kind: str
) -> None:
    """``hrvpace export``'s ``ID-metrics.csv`` or ``ID-contact.csv`` uploaded was a 422 "not a
    readable RR recording ... at line N", which does not say what the file is: it now says it
    is the export's table and names the beats file to upload (as ``hrvpace analyze`` of such
    a file says); nothing is kept."""
    sid = "0123456789abcdef0123456789abcdef"
    server = serve()
    with server.client() as c:
        r = _upload(c, f"{sid}-{kind}.csv", _export_table(kind))
        body = _problem(r, 422, "recording_unreadable")
        assert body["detail"] == (
            f"{sid}-{kind}.csv: hrvpace export's {kind} table, not beats: upload the export's "
            f"beats file {sid}-beats.csv instead"
        )
        # a copy under another name is told by its header all the same
        r = _upload(c, "mine.csv", _export_table(kind))
        assert _problem(r, 422, "recording_unreadable")["detail"] == (
            f"mine.csv: hrvpace export's {kind} table, not beats: upload the export's "
            "beats file ID-beats.csv instead"
        )
        assert c.get("/api/v1/recordings").json() == {"recordings": [], "total": 0}


def test_an_export_sidecar_upload_says_what_it_is_and_which_file_to_upload(
    serve: Callable[..., Server],
) -> None:
    """Review: an export's ``ID.json`` uploaded was a 422 "not a readable RR recording ... at
    line 1", which does not say what it is: it says so and names the beats file its ``files``
    list, as the export's tables do; nothing is kept."""
    sid = "0123456789abcdef0123456789abcdef"
    sidecar = {
        "session": {"id": sid, "n_beats": 500},
        "software": {"name": "hrvpace", "version": "0"},
        "files": [f"{sid}-beats.csv", f"{sid}-beats.parquet", f"{sid}.json"],
    }
    server = serve()
    with server.client() as c:
        for name in (f"{sid}.json", "mine.json"):
            r = _upload(c, name, json.dumps(sidecar, indent=2).encode())
            assert _problem(r, 422, "recording_unreadable")["detail"] == (
                f"{name}: hrvpace export's sidecar (the session's settings and events), not "
                f"beats: upload the export's beats file {sid}-beats.csv instead"
            )
        assert c.get("/api/v1/recordings").json() == {"recordings": [], "total": 0}


def test_an_export_parquet_upload_says_what_it_is(serve: Callable[..., Server]) -> None:
    """An export's Parquet table uploaded was "not a readable RR recording ... at line 1" (not
    a text file): it says what it is, by its name (an upload is not handed to pyarrow), and
    which file to upload; any other Parquet file is a Parquet table."""
    sid = "0123456789abcdef0123456789abcdef"
    content = b"PAR1" + bytes(range(256)) + b"PAR1"
    server = serve()
    with server.client() as c:
        for name, said in (
            (
                f"{sid}-beats.parquet",
                "hrvpace export's beats table in Parquet, which is not read as a recording: "
                f"upload its CSV {sid}-beats.csv instead (the same beats)",
            ),
            (
                f"{sid}-metrics.parquet",
                "hrvpace export's metrics table (Parquet), not beats: upload the export's "
                f"beats file {sid}-beats.csv instead",
            ),
            (
                "rr.parquet",
                "a Parquet table, not an RR recording (uploads are read as text: CSV or TXT)",
            ),
        ):
            r = _upload(c, name, content)
            assert _problem(r, 422, "recording_unreadable")["detail"] == f"{name}: {said}"
        assert c.get("/api/v1/recordings").json() == {"recordings": [], "total": 0}
