"""The hub at organisation scale: 10,000 members in 200 groups with a year of daily data.

For each backend (SQLite, and PostgreSQL on a throw-away cluster), a real ``hrvpace hub serve``
runs in a subprocess and:

1. the year is loaded in bulk (members who joined over a year ago; 365 days x every member's
   contribution, written straight into the database: setup, timed but not a target), then
   vacuumed and analysed as the database's own maintenance (autovacuum) would have left a
   year of daily writes (``--no-vacuum``: straight after the bulk load, no statistics);
2. **summary**: ``GET /hub/v1/groups/{id}/summary`` over the last 53 weeks for several groups,
   cold (the first call computes and stores the closed weeks) and warm; target <= 200 ms;
3. **ingest**: yesterday's contribution of every member through ``POST /hub/v1/contributions``
   (``--clients`` keep-alive connections of a minimal HTTP/1.1 client, each request
   authenticated by its member token);
   target <= 10 s for the 10,000.

Reproduce (from the repository root)::

    python -m bench.hub                                   # both backends, full size
    python -m bench.hub --backends sqlite --members 2000 --groups 40 --days 120
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx

from bench._common import machine_summary
from bench._postgres import throwaway_postgres
from hub import db as hubdb

ADMIN = "ha_bench-admin"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load(
    url: str, *, members: int, groups: int, days: int, seed: int
) -> tuple[list[str], list[str]]:
    """Groups, members and ``days`` days of contributions ending the day before yesterday.

    Returns the group ids and the member tokens (index = member).
    """
    rng = random.Random(seed)
    engine = hubdb.connect(url)
    today = dt.date.today()
    long_ago = int(time.time()) - (days + 30) * 86_400
    gids = [f"g{i:016x}" for i in range(groups)]  # the shape create_group makes (the API asks it)
    tokens = ["hm_" + secrets.token_urlsafe(24) for _ in range(members)]
    mids = [f"m{i:06d}" for i in range(members)]
    with engine.begin() as conn:
        conn.execute(
            hubdb.groups.insert(),
            [
                {"id": g, "name": f"team {i}", "k": 5, "created_at": long_ago}
                for i, g in enumerate(gids)
            ],
        )
        conn.execute(
            hubdb.members.insert(),
            [
                {
                    "id": m,
                    "group_id": gids[i % groups],
                    "token_hash": _token_hash(t),
                    "joined_at": long_ago,
                    "left_at": None,
                }
                for i, (m, t) in enumerate(zip(mids, tokens, strict=True))
            ],
        )
    base = [rng.gauss(45, 15) for _ in range(members)]
    cols = ["member_id", "day", "group_id", *hubdb.MEASURES, "received_at"]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        is_pg = engine.dialect.name == "postgresql"
        for d in range(days, 1, -1):
            day = today - dt.timedelta(days=d)
            rows = []
            for i in range(members):
                if rng.random() < 0.15:
                    continue  # a day without data
                rows.append(
                    (
                        mids[i],
                        day,
                        gids[i % groups],
                        round(max(5.0, base[i] + rng.gauss(0, 6)), 1),
                        round(rng.gauss(62, 8), 1),
                        float(rng.randint(1, 5)),
                        float(rng.randint(1, 5)),
                        rng.randint(0, 8),
                        rng.randint(0, 4),
                        rng.randint(0, 4),
                        round(rng.gauss(4, 6), 1),
                        float(rng.choice((0, 0, 5, 10, 15))),
                        long_ago,
                    )
                )
            if is_pg:
                with cur.copy(f"COPY contributions ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in cols)
                cur.executemany(
                    f"INSERT INTO contributions ({', '.join(cols)}) VALUES ({marks})",
                    [(r[0], r[1].isoformat(), *r[2:]) for r in rows],
                )
            raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return gids, tokens


def vacuum(url: str) -> None:
    """``VACUUM (ANALYZE)`` on PostgreSQL, ``ANALYZE`` on SQLite: maintenance a year had done.

    After a bulk load PostgreSQL has no statistics and no page marked all-visible; a year of
    daily writes would have had both from autovacuum (on an insert-only table since
    PostgreSQL 13).
    """
    engine = hubdb.connect(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            is_pg = conn.dialect.name == "postgresql"
            conn.exec_driver_sql("VACUUM (ANALYZE)" if is_pg else "ANALYZE")
    finally:
        engine.dispose()


def sizes(url: str) -> str:
    """The contributions table's size and its indexes' (PostgreSQL), or the file's (SQLite)."""
    if url.startswith("sqlite:///"):
        return f"database file {Path(url.removeprefix('sqlite:///')).stat().st_size >> 20} MB"
    engine = hubdb.connect(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT c.relname, pg_relation_size(c.oid) >> 20 FROM pg_class c "
                "WHERE c.oid = 'contributions'::regclass OR c.oid IN "
                "(SELECT indexrelid FROM pg_index WHERE indrelid = 'contributions'::regclass) "
                "ORDER BY c.relname"
            ).all()
    finally:
        engine.dispose()
    return ", ".join(f"{name} {mb} MB" for name, mb in rows)


@contextmanager
def hub_server(url: str, data_dir: Path, workers: int) -> Iterator[tuple[str, int]]:
    """Run ``hrvpace hub serve`` on ``url``'s database: its base URL and process id while open."""
    # no background computing of closed weeks: the summaries are timed cold, then warm
    env = {**os.environ, "HRVPACE_HUB_ADMIN_TOKEN": ADMIN, "HRVPACE_HUB_SEAL_EVERY_S": "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api",
            "hub",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--database-url",
            url,
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    base = ""
    for line in proc.stdout:
        if line.startswith("hrvpace hub is serving at "):
            base = line.split(" at ", 1)[1].strip().rstrip("/")
            break
    if not base:
        proc.kill()
        raise RuntimeError("hrvpace hub serve did not start")
    deadline = time.monotonic() + 60  # workers start after the socket listens: wait for them
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/hub/v1/health", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    try:
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()


def time_summaries(base: str, gids: list[str], n: int) -> tuple[list[float], list[float]]:
    """Time year-long summaries of the first ``n`` groups: cold (first) and warm seconds."""
    today = dt.date.today()
    params = {"from": (today - dt.timedelta(weeks=52)).isoformat(), "to": today.isoformat()}
    cold: list[float] = []
    warm: list[float] = []
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=120
    ) as c:
        for gid in gids[:n]:
            for out in (cold, warm, warm, warm):
                t0 = time.perf_counter()
                r = c.get(f"/hub/v1/groups/{gid}/summary", params=params)
                out.append(time.perf_counter() - t0)
                r.raise_for_status()
        body = r.json()
    released = sum(not p["suppressed"] for p in body["periods"])
    print(f"  last group: {len(body['periods'])} weeks, {released} released")
    return cold, warm


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, token: str, body: bytes
) -> int:
    """One HTTP/1.1 keep-alive POST of a contribution; returns the status code."""
    writer.write(
        b"POST /hub/v1/contributions HTTP/1.1\r\nHost: "
        + host.encode()
        + b"\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def ingest(base: str, tokens: list[str], clients: int) -> tuple[float, int]:
    """Every member's contribution of yesterday over ``clients`` keep-alive connections.

    A minimal HTTP/1.1 client (a request is a few bytes written, a response read by its
    Content-Length): a general client such as httpx costs about 1 ms of CPU per request here,
    as much as the hub itself, on the same two cores.
    """
    day = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    body = json.dumps(
        {
            "date": day,
            "resting_rmssd_ms": 42.0,
            "resting_hr_bpm": 61.5,
            "stress": 2.5,
            "energy": 3.5,
            "prompts_sent": 4,
            "prompts_answered": 3,
            "breaks": 2,
            "break_effect_rmssd_ms": 5.5,
            "practice_min": 10.0,
        }
    ).encode()
    hostport = base.split("://", 1)[1]
    host, port = hostport.rsplit(":", 1)
    pending = list(reversed(tokens))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while pending:
                status = await _post(reader, writer, hostport, pending.pop(), body)
                failures += status != 201
        finally:
            writer.close()
            await writer.wait_closed()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - t0, failures


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its children (its workers), Linux."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _ms(xs: list[float]) -> str:
    return f"p50 {statistics.median(xs) * 1000:.0f} ms, max {max(xs) * 1000:.0f} ms"


def run(backend: str, args: argparse.Namespace) -> None:
    """Fill a hub on ``backend`` and print its timings."""
    print(f"== {backend}: {args.members} members, {args.groups} groups, {args.days} days")
    with tempfile.TemporaryDirectory(prefix="hrvpace-bench-hub-") as tmp:
        server = (
            throwaway_postgres()
            if backend == "postgresql"
            else nullcontext(f"sqlite:///{Path(tmp) / 'hub.sqlite3'}")
        )
        with server as url:
            t0 = time.perf_counter()
            gids, tokens = load(
                url, members=args.members, groups=args.groups, days=args.days, seed=args.seed
            )
            print(f"  load (setup): {time.perf_counter() - t0:.1f} s; {sizes(url)}")
            if args.vacuum:
                t0 = time.perf_counter()
                vacuum(url)
                print(f"  vacuum and analyse (setup): {time.perf_counter() - t0:.1f} s")
            with hub_server(url, Path(tmp) / "hubdata", args.workers) as (base, pid):
                cold, warm = time_summaries(base, gids, args.summary_groups)
                print(
                    f"  yearly weekly summary, cold (computes {len(cold)} groups' weeks): "
                    f"{_ms(cold)}; each: {' '.join(f'{x * 1000:.0f}' for x in cold)} ms"
                )
                print(f"  yearly weekly summary, warm: {_ms(warm)}  (target <= 200 ms)")
                cpu0, own0 = _cpu_s(pid), time.process_time()
                took, failures = asyncio.run(ingest(base, tokens, args.clients))
                server_ms = (_cpu_s(pid) - cpu0) / len(tokens) * 1000
                client_ms = (time.process_time() - own0) / len(tokens) * 1000
                print(
                    f"  ingest {len(tokens)} contributions over HTTP, {args.clients} clients: "
                    f"{took:.1f} s, {len(tokens) / took:.0f}/s, {failures} failed "
                    f"(target <= 10 s); CPU per request: server {server_ms:.2f} ms, "
                    f"clients {client_ms:.2f} ms"
                )


def main() -> None:
    """Run the hub benchmark on the backends the command line names."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--groups", type=int, default=200)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--summary-groups", type=int, default=10)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--workers", type=int, default=1, help="hub processes (hrvpace hub serve)")
    p.add_argument(
        "--no-vacuum",
        dest="vacuum",
        action="store_false",
        help="time straight after the bulk load (no VACUUM/ANALYZE: no statistics yet)",
    )
    args = p.parse_args()
    print(machine_summary())
    for backend in args.backends:
        run(backend, args)


if __name__ == "__main__":
    main()
