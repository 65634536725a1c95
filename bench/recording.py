"""Benchmark: reading the real recordings and replaying one at full speed.

Run from the repository root::

    python -m bench.recording

Times ``sensors.read_recording`` on each long file of ``../shared/data`` (about 110,000 lines
each for the PhysioNet records) and a ``ReplaySource(speed="max")`` pass over nsr001 on a
virtual clock. The rival column is a naive per-line ``float()`` parse of the same file
(no validation, no line numbers), the lower bound of any Python reader. Target (issue 4):
reading 110k lines well under a second.
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial
from pathlib import Path

from bench._common import Timing, fmt_seconds, machine_summary, shared_data_dir, time_call

FILES = [
    ("nsr2db_nsr001_rr_secs.txt", "physionet_rr_secs", None),
    ("nsr2db_nsr002_rr_secs.txt", "physionet_rr_secs", None),
    ("chf2db_chf201_rr_secs.txt", "physionet_rr_secs", None),
    ("rrhealthy_000_rr_ms.txt", "plain", "ms"),
    ("ghrv_beat_ascii.txt", "ghrv_beats", None),
    ("hrvpkg_exercise_rri.hrm", "polar_hrm", None),
]


def _naive(path: Path) -> list[float]:
    out = []
    for x in path.read_text().split():
        try:
            out.append(float(x))
        except ValueError:  # HRM section headers and parameters
            continue
    return out


async def _replay_all(path: Path) -> int:
    from sensors import ReplaySource, VirtualClock

    n = 0
    async with ReplaySource(
        path, speed="max", clock=VirtualClock(), format="physionet_rr_secs"
    ) as s:
        async for _ in s:
            n += 1
    return n


def main() -> None:
    """Time reading the shared recordings, ``--repeats`` times each, and print the table."""
    from sensors import read_recording

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    data = shared_data_dir()
    print(machine_summary())
    rows: list[tuple[str, Timing, Timing | None]] = []
    for name, fmt, units in FILES:
        path = data / name
        n = len(read_recording(path, format=fmt, units=units))
        ours = time_call(
            name, partial(read_recording, path, format=fmt, units=units), repeats=args.repeats
        )
        naive = time_call(name, partial(_naive, path), repeats=args.repeats)
        rows.append((f"read {name} ({n:,} beats)", ours, naive))
    nsr = data / "nsr2db_nsr001_rr_secs.txt"
    replay = time_call(
        "replay", lambda: asyncio.run(_replay_all(nsr)), repeats=max(1, args.repeats // 2)
    )
    rows.append(("replay nsr001 at speed='max' (106,459 beats)", replay, None))
    print(f"{'task':<48} {'hrvpace':>12} {'naive float()':>14}")
    for task, ours, rival in rows:
        other = "-" if rival is None else fmt_seconds(rival.median_s)
        print(f"{task:<48} {fmt_seconds(ours.median_s):>12} {other:>14}")


if __name__ == "__main__":
    main()
