"""How many live sessions one service process holds with WebSocket delivery p99 under 50 ms.

Starts ``hrvpace serve`` in a subprocess (its own CPU, its own event loop), then, level by
level, adds simulated-person sessions at real time (about 1 beat/s each: a resting heart rate
of ~65 bpm) with one WebSocket client each, and measures for every ``beat`` message the delay
from the server's ``timestamp`` (set when the pipeline publishes the beat) to its arrival in the
client (same machine, same clock). Every session also runs the full pipeline: storage of every
beat in SQLite, the 60 s / 5 s streaming HRV analyser, metrics messages.

Reproduce (from the repository root; takes about a minute per level)::

    python -m bench.sessions                       # levels 100, 250, 500, 750
    python -m bench.sessions --levels 500 --measure-s 30

The clients run in this process (one asyncio loop), so on a 2-core machine server and clients
share the CPU; the figures are conservative for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from bench._common import machine_summary

TOKEN = "bench-token"
P99_LIMIT_MS = 50.0


def _start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, HRVPACE_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("hrvpace is serving at "):
            return proc, line.split()[-1].rstrip("/")
    raise RuntimeError("the server did not start")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class Clients:
    """One WebSocket per session; records beat delivery delays while ``recording`` is set."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws_url = url.replace("http://", "ws://", 1)
        self.delays_ms: list[float] = []
        self.recording = False
        self.messages = 0
        self.tasks: list[asyncio.Task[None]] = []

    async def _listen(self, session_id: str) -> None:
        uri = f"{self.ws_url}/api/v1/sessions/{session_id}/live?token={TOKEN}"
        async with websockets.connect(uri, max_queue=None, open_timeout=60) as ws:
            async for text in ws:
                now = time.time()
                self.messages += 1
                if self.recording:
                    msg = json.loads(text)
                    if msg["type"] == "beat":
                        self.delays_ms.append((now - msg["timestamp"]) * 1000.0)

    async def add(self, client: httpx.AsyncClient, n: int, seed0: int) -> None:
        """Start ``n`` simulated sessions on the service (seeds from ``seed0``)."""
        for i in range(n):
            r = await client.post(
                "/api/v1/sessions",
                json={"source": {"kind": "simulator", "seed": seed0 + i, "speed": 1}},
            )
            r.raise_for_status()
            self.tasks.append(asyncio.create_task(self._listen(r.json()["id"])))
            await asyncio.sleep(0.005)  # spread the sessions' beats over the second


async def _run(levels: list[int], warmup_s: float, measure_s: float) -> list[dict[str, float]]:
    data_dir = Path(tempfile.mkdtemp(prefix="hrvpace-bench-"))
    proc, url = _start_server(data_dir)
    results: list[dict[str, float]] = []
    clients = Clients(url)
    try:
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        ) as http:
            have = 0
            for level in levels:
                await clients.add(http, level - have, seed0=have)
                have = level
                await asyncio.sleep(warmup_s)
                clients.delays_ms.clear()
                clients.recording = True
                cpu0, t0, m0 = _cpu_s(proc.pid), time.monotonic(), clients.messages
                await asyncio.sleep(measure_s)
                clients.recording = False
                wall = time.monotonic() - t0
                cpu = (_cpu_s(proc.pid) - cpu0) / wall
                d = sorted(clients.delays_ms)
                row = {
                    "sessions": float(level),
                    "beats_per_s": len(d) / wall,
                    "msgs_per_s": (clients.messages - m0) / wall,
                    "p50_ms": _quantile(d, 0.5),
                    "p99_ms": _quantile(d, 0.99),
                    "max_ms": d[-1] if d else float("nan"),
                    "server_cpu": cpu,
                }
                results.append(row)
                _print_row(row)
    finally:
        for t in clients.tasks:
            t.cancel()
        await asyncio.gather(*clients.tasks, return_exceptions=True)
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    return results


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * (len(sorted_values) - 1)))]


def _print_header() -> None:
    print(
        f"{'sessions':>8} {'beats/s':>8} {'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'server CPU':>10}  p99 < {P99_LIMIT_MS:g} ms"
    )


def _print_row(r: dict[str, float]) -> None:
    ok = "yes" if r["p99_ms"] < P99_LIMIT_MS else "NO"
    print(
        f"{r['sessions']:>8.0f} {r['beats_per_s']:>8.0f} {r['msgs_per_s']:>8.0f} "
        f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.1f} "
        f"{r['server_cpu'] * 100:>9.0f}%  {ok}",
        flush=True,
    )


def main() -> None:
    """Run the concurrent-sessions benchmark at each level the command line names."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="100,250,500,750", help="session counts, ascending")
    parser.add_argument(
        "--warmup-s", type=float, default=65.0, help="> 60 s: every session emits metrics"
    )
    parser.add_argument("--measure-s", type=float, default=20.0)
    args = parser.parse_args()
    levels = sorted(int(x) for x in args.levels.split(","))
    print(f"bench.sessions: {machine_summary()}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at start (other processes share the CPU): {load}")
    print("simulated sessions at real time (~1.1 beat/s each), one WebSocket client each")
    _print_header()
    results = asyncio.run(_run(levels, args.warmup_s, args.measure_s))
    print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    held = [r["sessions"] for r in results if r["p99_ms"] < P99_LIMIT_MS]
    best = max(held) if held else 0
    print(f"held with p99 < {P99_LIMIT_MS:g} ms: {best:.0f} sessions (of levels {levels})")
    if results:
        cpu = statistics.median(r["server_cpu"] for r in results)
        print(f"median server CPU over levels: {cpu:.0%}")


if __name__ == "__main__":
    main()
