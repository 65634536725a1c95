"""The person's own numbers count only sessions on the person (a strap, watch or optical sensor).

A simulated person and a replay show their results in their own session, but never become the
person's assessed resonance rate, baseline windows, dashboard breaks and practice, or the breaks
that ask the person for a check-in (:data:`api.storage.queries.PERSON_SOURCE`). A "strap" here is
a ``ble`` session whose source the test hands in: a simulated person behind the strap (it follows
the pacer, so an assessment finds its rate) or a scripted list of RR intervals; to the service it
is a strap session like any other. Real uvicorn, real SQLite file.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from api.pipeline import BleSpec, ReplaySpec, SimulatorSpec, SourceControl, make_source
from api.storage import ReadOnlyDatabase, Storage
from breathing.engine import practice_rate_bpm
from sensors import BeatSource
from tests.api.conftest import Server, person_on_a_strap, scripted_factory, wait_for

STRAP = {"kind": "ble", "address": "AA:BB:CC:00:00:01"}


def _start(c: httpx.Client, body: dict[str, Any]) -> str:
    r = c.post("/api/v1/sessions", json=body)
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid


def _assess(c: httpx.Client, source: dict[str, Any]) -> float:
    """Run an assessment session to its verdict; that session's own resonance rate."""
    sid = _start(c, {"source": source, "mode": "assessment"})

    def verdict() -> list[dict[str, Any]]:
        results = c.get(f"/api/v1/sessions/{sid}/breathing/assessments").json()["results"]
        return [r for r in results if r["type"] == "assessment_complete"]

    done = wait_for(verdict, timeout_s=90, what="the assessment's verdict")
    c.post(f"/api/v1/sessions/{sid}/stop")
    found = done[0]["result"]["resonance_bpm"]
    assert found is not None, done[0]["result"]
    return float(found)


def _default_rates(c: httpx.Client, source: dict[str, Any]) -> tuple[float, float, float]:
    """A new session's pacer rates when none is asked for: a practice session's, a breathing
    command's and a 2-minute breathing break's (in a monitor session)."""
    practice = _start(c, {"source": source, "mode": "practice"})
    g = c.get(f"/api/v1/sessions/{practice}/breathing/guidance").json()["guidance"]
    c.post(f"/api/v1/sessions/{practice}/stop")
    monitor = _start(c, {"source": source})
    r = c.post(f"/api/v1/sessions/{monitor}/breathing/practice", json={})
    assert r.status_code == 200, r.text
    command = r.json()["guidance"]["rate_bpm"]
    c.post(f"/api/v1/sessions/{monitor}/breathing/stop")
    r = c.post(
        f"/api/v1/sessions/{monitor}/microbreaks/start",
        json={"kind": "breathing", "duration_s": 120},
    )
    assert r.status_code == 200, r.text
    brk = c.get(f"/api/v1/sessions/{monitor}/breathing/guidance").json()["guidance"]
    c.post(f"/api/v1/sessions/{monitor}/stop")
    return float(g["rate_bpm"]), float(command), float(brk["rate_bpm"])


def test_only_a_strap_assessment_becomes_the_persons_resonance_rate(
    serve: Callable[..., Server],
) -> None:
    person: dict[str, Any] = {"seed": 7, "resonance_bpm": 5.0, "speed": "max"}
    server = serve(source_factory=person_on_a_strap(person))
    simulated = {"kind": "simulator", "seed": 3, "resonance_bpm": 4.5, "speed": "max"}
    slow_sim = {"kind": "simulator", "speed": 10}
    with server.client() as c:
        # a simulated person's assessment: its own result, not the person's
        sim_rate = _assess(c, simulated)
        assert abs(sim_rate - 4.5) <= 0.25
        assert c.get("/api/v1/baseline").json()["resonance_bpm"] is None
        person["speed"] = 10
        assert _default_rates(c, slow_sim) == (6.0, 6.0, 6.0)  # the population default
        assert _default_rates(c, STRAP) == (6.0, 6.0, 6.0)
        # the person's assessment (on the strap) is theirs, and every later session paces at it
        person["speed"] = "max"
        mine = _assess(c, STRAP)
        assert abs(mine - 5.0) <= 0.25 and mine not in (6.0, sim_rate)
        assert c.get("/api/v1/baseline").json()["resonance_bpm"] == mine
        # a newer simulated assessment changes neither the baseline nor the next pacer
        assert abs(_assess(c, simulated) - sim_rate) <= 0.25
        assert c.get("/api/v1/baseline").json()["resonance_bpm"] == mine
        person["speed"] = 10
        practised = practice_rate_bpm(mine)  # within 4.5-7/min, one decimal, as shown
        assert _default_rates(c, slow_sim) == (practised, practised, practised)
        assert _default_rates(c, STRAP) == (practised, practised, practised)


RR = [800.0 + 20.0 * ((i * 5) % 7) for i in range(300)]  # clean beats (< 25 % apart)


def _run_to_end(c: httpx.Client, body: dict[str, Any]) -> str:
    sid = _start(c, body)
    wait_for(lambda: not c.get(f"/api/v1/sessions/{sid}").json()["live"], what="the end")
    return sid


def _windows(c: httpx.Client) -> dict[str, Any]:
    w: dict[str, Any] = c.get("/api/v1/baseline").json()["windows"]
    return {k: w[k] for k in ("n_windows", "n_sessions", "metrics")}


def test_replays_and_simulations_leave_the_baseline_windows_alone(
    serve: Callable[..., Server], shared_data: Path
) -> None:
    recordings: list[Path] = []
    strap_script = scripted_factory(RR, as_strap=True)

    def factory(spec: SimulatorSpec | ReplaySpec | BleSpec, control: SourceControl) -> BeatSource:
        if isinstance(spec, ReplaySpec):
            return make_source(spec, control, recordings_dir=recordings[0])
        if isinstance(spec, SimulatorSpec):  # a simulated person, not the script
            return make_source(spec, control)
        return strap_script(spec, control)

    server = serve(source_factory=factory)
    recordings.append(server.settings.recordings_path)
    with server.client() as c:
        strap = _run_to_end(c, {"source": STRAP})
        rmssd = [
            w["rmssd_ms"] for w in c.get(f"/api/v1/sessions/{strap}/metrics").json()["metrics"]
        ]
        mine = _windows(c)
        assert (mine["n_windows"], mine["n_sessions"]) == (len(rmssd), 1) and len(rmssd) > 10
        assert mine["metrics"]["rmssd_ms"]["median"] == statistics.median(rmssd)
        # a replay of a recording (whoever's it is) stores windows of its own...
        path = shared_data / "hrvpkg_rest_rri_ms.txt"
        with path.open("rb") as fh:
            up = c.post("/api/v1/recordings", files={"file": (path.name, fh, "text/plain")})
        assert up.status_code == 201, up.text
        replay = _run_to_end(
            c, {"source": {"kind": "replay", "recording": up.json()["name"], "speed": "max"}}
        )
        replayed = c.get(f"/api/v1/sessions/{replay}/metrics").json()["metrics"]
        assert len(replayed) > 10
        assert c.get(f"/api/v1/sessions/{replay}").json()["summary"]["n_windows"] == len(replayed)
        # ...and a simulated person too, but neither is the person's baseline
        sim = _run_to_end(c, {"source": {"kind": "simulator", "speed": "max", "duration_s": 900}})
        assert len(c.get(f"/api/v1/sessions/{sim}/metrics").json()["metrics"]) > 10
        assert _windows(c) == mine
        trend = c.get("/api/v1/trends/daily").json()["series"]
        assert [d["n_sessions"] for d in trend] == [1]


def _take_a_break(c: httpx.Client, source: dict[str, Any]) -> dict[str, Any]:
    """A session with a 2-minute breathing break 3 minutes in; the break's stored effect."""
    sid = _start(c, {"source": source})

    def windows_to_180() -> bool:
        metrics = c.get(f"/api/v1/sessions/{sid}/metrics").json()["metrics"]
        return bool(metrics) and metrics[-1]["t_s"] >= 180

    wait_for(windows_to_180, timeout_s=60, what="3 minutes of windows")
    r = c.post(
        f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "breathing", "duration_s": 120}
    )
    assert r.status_code == 200, r.text

    def effect() -> list[dict[str, Any]]:
        events = c.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()["events"]
        return [e["data"] for e in events if e["event"] == "break_effect"]

    found = wait_for(effect, timeout_s=60, what="the break's effect")
    c.post(f"/api/v1/sessions/{sid}/stop")
    assert found[0]["rmssd_change_pct"] is not None, found
    data: dict[str, Any] = found[0]
    return data


def _dashboard_breaks(c: httpx.Client) -> tuple[list[float], dict[str, int]]:
    out = c.get("/api/v1/dashboard", params={"days": 2}).json()
    changes = [b["rmssd_change_pct"] for d in out["days"] for b in d["breaks"]]
    return changes, {w["kind"]: w["n"] for w in out["week"]}


def test_the_dashboard_counts_only_the_persons_breaks(serve: Callable[..., Server]) -> None:
    person: dict[str, Any] = {"seed": 5, "speed": 60}
    server = serve(source_factory=person_on_a_strap(person))
    with server.client() as c:
        _take_a_break(c, {"kind": "simulator", "seed": 5, "speed": 60})
        assert _dashboard_breaks(c) == ([], {})
        mine = _take_a_break(c, STRAP)
        assert _dashboard_breaks(c) == ([mine["rmssd_change_pct"]], {"breathing": 1})


def _seed_every_kind(storage: Storage, now: float) -> None:
    """The same day of data under a strap, a simulated person and a replay."""
    for kind in ("ble", "simulator", "replay"):
        start = now - 3600 + {"ble": 0, "simulator": -60, "replay": 60}[kind]
        resonance = {"ble": 5.5, "simulator": 4.5, "replay": 6.5}[kind]
        storage.create_session(
            kind, created_at=start, mode="practice", source={"kind": kind}, options={}
        ).result(timeout=10)
        storage.set_session_state(kind, "ended", ended_at=start + 600).result(timeout=10)
        for t in (60.0, 120.0, 180.0):
            storage.add_snapshot(
                "metrics", kind, t_s=t, recorded_at=start + t, data={"rmssd_ms": resonance * 10}
            )
        # the simulated and the replayed assessments are newer than the person's
        storage.add_assessment(
            kind,
            recorded_at=start + 300 + (0 if kind == "ble" else 1000),
            data={"type": "assessment_complete", "result": {"resonance_bpm": resonance}},
        )
        for event in ("micro_break", "break_started", "break_ended", "break_effect"):
            storage.add_micro_break(
                session_id=kind,
                t_s=200.0,
                recorded_at=start + 200 + (0 if kind == "ble" else 1000),
                kind=event,
                data={"kind": "breathing", "rmssd_change_pct": resonance},
            )
    storage.flush().result(timeout=10)


def test_every_query_of_the_persons_numbers_skips_simulations_and_replays(
    tmp_path: Path,
) -> None:
    """Each read that aggregates across sessions, on the service's storage and on the
    read-only view the CLI and the hub share read: only the strap session's rows."""
    now = time.time()
    path = tmp_path / "db.sqlite3"
    storage = Storage(path, flush_s=0.02)
    try:
        _seed_every_kind(storage, now)
        ro = ReadOnlyDatabase(path)
        try:
            for db in (storage, ro):
                since, end = now - 86400, now
                assert db.latest_resonance_bpm() == 5.5
                assert {s for s, _, _ in db.strap_windows_recorded_since(since)} == {"ble"}
                assert [s for s, _ in db.strap_sessions(since, end)] == ["ble"]
                assert db.first_strap_session(since, end) == "ble"
                assert [s for s, _ in db.strap_practice_sessions(since, end)] == ["ble"]
                assert db.strap_practice_spans(since, end, now=now) == [(now - 3600, now - 3000)]
                assert [d["rmssd_change_pct"] for _, d in db.person_break_effects(since, end)] == [
                    5.5
                ]
                assert {d["rmssd_change_pct"] for _, d in db.person_break_events(since, end)} == {
                    5.5
                }
                # the strap's flag; every session's break start and end (the person's doing)
                events = [(r["kind"], r["recorded_at"]) for r in db.recent_break_events()]
                assert sorted(k for k, t in events if k == "micro_break") == ["micro_break"]
                assert {t for k, t in events if k == "micro_break"} == {now - 3400}
                assert sum(k != "micro_break" for k, _ in events) == 6
        finally:
            ro.close()
        # a micro-break event outside any session is the person's (one added by hand)
        storage.add_micro_break(
            session_id=None, t_s=None, recorded_at=now, kind="break_effect", data={"x": 1}
        )
        storage.flush().result(timeout=10)
        assert len(storage.person_break_effects(now - 86400, now)) == 2
    finally:
        storage.close()
