"""Long days (issue 13 item 9): an 8-hour simulated session and a 24-hour replay, in real
processes, keep their memory and their WAL bounded.

What was measured with tracemalloc (in process, the service's SessionManager, speed max): the
Python heap of an 8-hour simulated session stays at 13.9 MB from 10 min to 8 h, and a 24-hour
replay (nsr001) keeps its RSS within 3 MB; the WAL stays at ~4 MB (SQLite's automatic
checkpoints; ``journal_size_limit`` truncates it after a long read let it grow). These tests
keep that true from the outside: the resident memory of the process after the first 10 minutes
of session time, sampled all along, grows by less than 20 MB, and the WAL never passes
``WAL_SIZE_LIMIT_BYTES`` plus a margin.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.storage import WAL_SIZE_LIMIT_BYTES
from tests.api.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(600)]

#: Growth allowed after the first 10 minutes of session time (issue 13 item 9).
GROWTH_MAX_MB = 20.0
WAL_MAX_BYTES = WAL_SIZE_LIMIT_BYTES + 4 * 2**20


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _wal_bytes(data_dir: Path) -> int:
    wal = data_dir / "hrvpace.sqlite3-wal"
    try:
        return wal.stat().st_size
    except FileNotFoundError:
        return 0


def _env() -> dict[str, str]:
    # not measured for coverage (COVERAGE_PROCESS_*): these children run a whole day of code
    # that shorter tests cover, and tracing them doubled their time in CI
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HRVPACE_") and not k.startswith("COVERAGE_PROCESS_")
    }
    env["HRVPACE_TOKEN"] = "long-day"
    return env


def _check(samples: list[tuple[float, float, int]], *, until_h: float) -> None:
    """``samples``: (session time s, RSS MB, WAL bytes), in time order."""
    after = [s for s in samples if s[0] >= 600.0]
    assert after, "no sample after 10 minutes"
    t0, rss0, _ = after[0]
    assert t0 < 3600.0, f"the first sample after 10 min came late ({t0:.0f} s)"
    assert samples[-1][0] >= until_h * 3600 * 0.9, f"sampled only until {samples[-1][0]} s"
    peak = max(rss for _, rss, _ in after)
    trace = [(round(t / 3600, 1), round(r, 1)) for t, r, _ in after[:: max(1, len(after) // 12)]]
    assert peak - rss0 < GROWTH_MAX_MB, f"RSS grew from {rss0:.1f} to {peak:.1f} MB: {trace}"
    print("RSS (h, MB):", trace)
    wal = max(w for _, _, w in samples)
    assert wal < WAL_MAX_BYTES, f"the WAL reached {wal / 2**20:.1f} MiB"


def test_eight_hour_simulated_session_through_the_service(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
        cwd=REPO_ROOT,
    )
    samples: list[tuple[float, float, int]] = []
    n_messages = 0
    try:
        assert proc.stdout is not None
        url = ""
        while not url:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "serve exited"
            if line.startswith("hrvpace is serving at "):
                url = line.split()[-1].rstrip("/")
        auth = {"Authorization": "Bearer long-day"}
        body = {"source": {"kind": "simulator", "speed": "max", "duration_s": 8 * 3600}}
        r = httpx.post(f"{url}/api/v1/sessions", json=body, headers=auth, timeout=10)
        assert r.status_code in (200, 201), r.text
        sid = r.json()["id"]

        def listen() -> None:  # a live client the whole day, as the page would be
            from websockets.sync.client import connect

            nonlocal n_messages
            ws_url = url.replace("http://", "ws://") + f"/api/v1/sessions/{sid}/live"
            with suppress(Exception), connect(f"{ws_url}?token=long-day") as ws:
                for _ in ws:
                    n_messages += 1

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        with httpx.Client(headers=auth, timeout=30) as client:
            while True:
                s = client.get(f"{url}/api/v1/sessions/{sid}").json()
                if not s["live"]:
                    break
                t_s = float((s.get("last_metrics") or {}).get("t_s") or 0.0)
                samples.append((t_s, _rss_mb(proc.pid), _wal_bytes(tmp_path)))
                time.sleep(0.05)
        listener.join(timeout=30)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert s["state"] == "ended", s["message"]
    assert n_messages > 30_000  # the client got the day (beats, windows, statuses)
    _check(samples, until_h=8.0)


def test_24_hour_replay_through_the_pipeline(tmp_path: Path, shared_data: Path) -> None:
    # hrvpace replay --store: the service's pipeline and database (as a session of the data
    # dir); every 60-s window comes out live on stdout, which paces the sampling
    recording = shared_data / "nsr2db_nsr001_rr_secs.txt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api",
            "replay",
            str(recording),
            "--format",
            "physionet_rr_secs",
            "--json",
            "--store",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
        cwd=REPO_ROOT,
    )
    samples: list[tuple[float, float, int]] = []
    end: dict[str, Any] = {}
    n_windows = 0
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event["type"] == "replay_end":
                end = event
            elif event["type"] == "metrics":  # signal lines come between, as live
                n_windows += 1
                if n_windows % 20 == 1:  # every 100 s of recording
                    samples.append((float(event["t_s"]), _rss_mb(proc.pid), _wal_bytes(tmp_path)))
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
    assert proc.returncode == 0 and end["state"] == "ended"
    assert end["n_beats"] == 106_459
    _check(samples, until_h=22.4)
