"""Memory and time of a WebSocket resume's storage reads on a day-long session.

Writes a session of 100,000 beats and a metrics window every 4 beats (125,000 stored items with
a ``seq``, as a day at ~70 bpm holds) to a fresh SQLite file, then pages through all of it as
``since_seq=0`` does (:data:`api.routes.live.RESUME_PAGE_SIZE` items per read, each read after
the last ``seq`` of the one before), with :mod:`tracemalloc` tracing the Python allocations.
Prints the peak traced memory, the total time and the time of one page read at the start, the
middle and the end of the session.

Reproduce (from the repository root; a few seconds)::

    python -m bench.resume_pages
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from api.routes.live import RESUME_PAGE_SIZE
from api.storage import Storage
from bench._common import machine_summary

N_BEATS = 100_000
WINDOW_EVERY = 4


def _fill(storage: Storage) -> int:
    """Store the session; the last ``seq``."""
    storage.create_session(
        "s", created_at=1.0, mode="monitor", source={"kind": "simulator"}, options={}
    )
    seq = 0
    rows: list[tuple[int, float, float, float, bool | None, bool, float | None]] = []
    seqs: list[int] = []
    for i in range(N_BEATS):
        seq += 1
        rows.append((i, i * 0.8, 800.0, 1.0 + i * 0.8, True, False, 75.0))
        seqs.append(seq)
        if i % WINDOW_EVERY == WINDOW_EVERY - 1:
            storage.add_beats("s", rows, seqs=seqs)
            rows, seqs = [], []
            seq += 1
            storage.add_snapshot(
                "metrics",
                "s",
                t_s=i * 0.8,
                recorded_at=1.0 + i * 0.8,
                data={"rmssd_ms": 40.0, "sdnn_ms": 50.0, "mean_hr_bpm": 75.0, "n_beats": 60},
                seq=seq,
            )
    storage.flush().result(timeout=300)
    return seq


def _page_ms(storage: Storage, after: int) -> float:
    start = time.perf_counter()
    storage.missed_since_seq("s", after, limit=RESUME_PAGE_SIZE)
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    """Fill, page through, print."""
    print(machine_summary())
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(Path(tmp) / "db.sqlite3")
        try:
            last = _fill(storage)
            tracemalloc.start()
            start = time.perf_counter()
            after, n_items, n_reads, biggest = 0, 0, 0, 0
            while True:
                page = storage.missed_since_seq("s", after, limit=RESUME_PAGE_SIZE)
                n_reads += 1
                n_items += len(page)
                biggest = max(biggest, len(page))
                if len(page) < RESUME_PAGE_SIZE:
                    break
                after = page[-1][0]
            total_s = time.perf_counter() - start
            peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            times = [_page_ms(storage, at) for at in (0, last // 2, last - RESUME_PAGE_SIZE)]
        finally:
            storage.close()
    print(f"items {n_items:,} (last seq {last:,}), page size {RESUME_PAGE_SIZE}")
    print(f"{n_reads} reads, largest {biggest} rows, {total_s:.2f} s, peak traced {peak_mb:.2f} MB")
    print("one page at the start / middle / end: " + " / ".join(f"{t:.1f} ms" for t in times))


if __name__ == "__main__":
    main()
