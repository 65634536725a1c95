"""Replay of a real recording through the service (sensors.ReplaySource, real SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.api.conftest import Server, wait_for


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
    final = _run_replay(server, {"source": {"kind": "replay", "path": str(path), "speed": "max"}})
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
    # 16 min of beats, 60 s windows every 5 s: windows end at 60, 65, ... before the last beat
    assert metrics[0]["t_s"] == 60.0
    assert len(metrics) == int((sum(rr_file) / 1000.0 - 60.0) // 5.0) + 1


def test_replay_of_an_unreadable_file_fails_the_session_with_the_reason(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("900\n910\nnot-a-number\n")
    server = serve()
    final = _run_replay(server, {"source": {"kind": "replay", "path": str(bad), "speed": "max"}})
    assert final["state"] == "failed"
    assert "bad.txt" in final["message"] and "3" in final["message"]
    with server.client() as c:
        assert c.get("/api/v1/health").status_code == 200
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "path": str(bad), "format": "nope"}},
        )
        assert r.status_code == 422 and "format" in r.json()["detail"][0]["loc"]
