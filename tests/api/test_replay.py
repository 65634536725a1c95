"""Replay of a real recording through the service (sensors.ReplaySource, real SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hrv
from hrv import ArtefactFilter
from tests.api.conftest import Server, wait_for


def _upload(server: Server, path: Path) -> dict[str, Any]:
    with server.client() as c, path.open("rb") as fh:
        r = c.post("/api/v1/recordings", files={"file": (path.name, fh, "text/plain")})
    assert r.status_code == 201, r.text
    info: dict[str, Any] = r.json()
    return info


def _run_replay(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    with server.client() as c:
        r = c.post("/api/v1/sessions", json=body)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]

        def done() -> dict[str, Any] | None:
            s = c.get(f"/api/v1/sessions/{sid}").json()
            return None if s["live"] else s

        final: dict[str, Any] = wait_for(done, timeout_s=30, what="replay end")
        return final


def test_replay_at_max_speed_stores_every_beat(
    serve: Callable[..., Server], shared_data: Path
) -> None:
    path = shared_data / "hrvpkg_rest_rri_ms.txt"
    rr_file = [float(x) for x in path.read_text().split()]
    assert len(rr_file) == 910
    server = serve()
    info = _upload(server, path)
    assert info["name"] == path.name and info["beats"] == len(rr_file)
    assert info["duration_s"] == pytest.approx(sum(rr_file) / 1000.0)
    body = {"source": {"kind": "replay", "recording": info["name"], "speed": "max"}}
    final = _run_replay(server, body)
    assert final["state"] == "ended", final
    assert final["n_beats"] == len(rr_file)
    with server.client() as c:
        beats = c.get(f"/api/v1/sessions/{final['id']}/beats").json()["beats"]
        metrics = c.get(f"/api/v1/sessions/{final['id']}/metrics").json()["metrics"]
    assert [b["rr_ms"] for b in beats] == rr_file
    assert (
        beats[-1]["t_s"] == sum(rr_file) / 1000.0
        or abs(beats[-1]["t_s"] - sum(rr_file) / 1000.0) < 1e-6
    )
    # Live metrics are of the NN intervals: the beats hrv.ArtefactFilter accepts, with a
    # gap (no successive difference) where beats were left out; 60 s windows every 5 s on
    # their running sum, ending before the last beat.
    nn_filter = ArtefactFilter()
    nn: list[float] = []
    nn_beat_t: list[float] = []  # the NN beats' times on the recording's clock
    gaps: list[bool] = []
    dropped = False
    for rr, beat in zip(rr_file, beats, strict=True):
        if nn_filter.accept(rr, contact=True):
            nn.append(rr)
            nn_beat_t.append(beat["t_s"])
            gaps.append(dropped)
            dropped = False
        else:
            dropped = True
    assert 0 < len(rr_file) - len(nn) < 30  # this recording has a few artefacts
    expected = hrv.rolling(np.array(nn), window_s=60.0, step_s=5.0, gaps=np.array(gaps))
    raw = hrv.rolling(np.array(rr_file), window_s=60.0, step_s=5.0)
    n = len(metrics)
    assert n in (len(expected["t_s"]), len(expected["t_s"]) - 1)  # the last may be held back
    # Stored metrics are dated on the beats' clock (the session's t_s), not on the running
    # sum of the NN intervals: each window's end is mapped through its last NN beat. The two
    # clocks differ by the time of the beats left out so far (the first window already holds
    # some ectopic beats, below).
    t_nn = np.cumsum(nn) / 1000.0
    last = np.searchsorted(t_nn, expected["t_s"], side="right") - 1
    on_beats = np.asarray(nn_beat_t)[last] + (expected["t_s"] - t_nn[last])
    assert [m["t_s"] for m in metrics] == pytest.approx(list(on_beats[:n]), rel=1e-12)
    behind = on_beats[:n] - expected["t_s"][:n]
    assert behind[0] > 1.0 and bool(np.all(np.diff(behind) >= -1e-9))
    # the latest window ends within one beat of the beat that completed it
    assert 0.0 <= beats[-1]["t_s"] - metrics[-1]["t_s"] < 2.5
    assert [m["n_beats"] for m in metrics] == list(expected["n_beats"][:n])
    for key in ("rmssd_ms", "sdnn_ms", "pnn50_pct", "mean_hr_bpm"):
        assert [m[key] for m in metrics] == pytest.approx(list(expected[key][:n]), rel=1e-9)
    # the first window holds ectopic beats: raw RMSSD ~92 ms, of the NN intervals ~81 ms
    assert metrics[0]["rmssd_ms"] < raw["rmssd_ms"][0] - 5.0


def test_a_recording_that_became_unreadable_fails_the_session_without_quoting_it(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    good = tmp_path / "rec.txt"
    good.write_text("900\n910\n920\n")
    server = serve()
    info = _upload(server, good)
    # the file changes in the folder after the upload: the replay fails, naming line 3 only
    secret = "SECRET-LINE-CONTENT"
    (server.settings.recordings_path / info["name"]).write_text(f"900\n910\n{secret}\n")
    body = {"source": {"kind": "replay", "recording": info["name"], "speed": "max"}}
    final = _run_replay(server, body)
    assert final["state"] == "failed"
    assert final["message"] == "recording 'rec.txt' cannot be read at line 3", final
    with server.client() as c:
        assert c.get("/api/v1/health").status_code == 200
        listed = c.get("/api/v1/sessions").json()
        assert secret not in str(listed)
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": info["name"], "format": "nope"}},
        )
        assert r.status_code == 422 and "format" in r.json()["errors"][0]["loc"]


def test_a_replay_keeps_the_recordings_stretches_without_contact(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    # a replay of a `hrvpace record` file stores its '# contact' lines' stretches, as a session
    # of the strap would have: GET /contact gives what the file says
    from sensors import Beat, RecordingWriter, read_recording
    from sensors.contact import no_contact_stretches

    path = tmp_path / "contact.csv"
    with RecordingWriter(path) as writer:
        for i in range(60):
            t = 1.0 + i
            if i == 10:
                writer.write_contact(10.5, False)
                writer.write_contact(15.25, True)
            if i == 30:
                writer.write_contact(30.5, False)  # the strap dropped: no contact back
            contact = not 30 <= i < 40  # beats marked without contact after it
            writer.write(Beat(t_s=t, rr_ms=1000.0, arrived_at=100.0 + t, contact=contact))
        writer.write_contact(60.5, False)  # lost at the end
    rec = read_recording(path)
    expected = no_contact_stretches(
        [(t, bool(c)) for t, c in rec.meta["contact_changes"]],
        rec.t_s[rec.contact != 0].tolist(),
    )
    assert [x.ended_by for x in expected] == ["contact", "beat", "end"]
    server = serve()
    info = _upload(server, path)
    final = _run_replay(
        server, {"source": {"kind": "replay", "recording": info["name"], "speed": "max"}}
    )
    assert final["state"] == "ended", final
    with server.client() as c:
        got = c.get(f"/api/v1/sessions/{final['id']}/contact").json()["no_contact"]
    assert got == [
        {"start_t_s": x.start_t_s, "end_t_s": x.end_t_s, "ended_by": x.ended_by} for x in expected
    ]
