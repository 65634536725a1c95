"""Shared timing helpers for the benchmarks in ``bench/``.

Each benchmark times hrvpace and its rival on the same input in the same run and prints both,
with the ratio, so the figures can be compared on any machine. Run them from the repository
root, e.g. ``python -m bench.rolling``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Timing", "machine_summary", "print_table", "shared_data_dir", "time_call"]


@dataclass(frozen=True)
class Timing:
    """Wall-clock timings of one function, in seconds."""

    label: str
    median_s: float
    min_s: float
    repeats: int

    def __str__(self) -> str:
        return f"{self.label}: median {fmt_seconds(self.median_s)} over {self.repeats} runs"


def time_call(
    label: str,
    fn: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    max_total_s: float = 120.0,
) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then up to ``repeats`` timed ones.

    Stops early (with at least one timed run) once ``max_total_s`` has been spent, so a slow
    rival does not hold the benchmark hostage. Returns the median and the minimum.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    spent = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if spent > max_total_s:
            break
    return Timing(label, statistics.median(times), min(times), len(times))


def fmt_seconds(s: float) -> str:
    """Format a duration with a unit that fits it."""
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def print_table(rows: Sequence[tuple[str, Timing, Timing | None]]) -> None:
    """Print ``(task, ours, rival)`` rows with the rival/ours ratio (how many times faster)."""
    print(f"{'task':<44} {'hrvpace':>12} {'NeuroKit2':>12} {'speed-up':>10}")
    for task, ours, rival in rows:
        if rival is None:
            print(f"{task:<44} {fmt_seconds(ours.median_s):>12} {'-':>12} {'-':>10}")
        else:
            ratio = rival.median_s / ours.median_s if ours.median_s > 0 else float("inf")
            print(
                f"{task:<44} {fmt_seconds(ours.median_s):>12} "
                f"{fmt_seconds(rival.median_s):>12} {ratio:>9.0f}x"
            )


def machine_summary() -> str:
    """One line naming the machine, for the figures to be read against."""
    try:
        import numpy as np

        np_version = np.__version__
    except ImportError:  # pragma: no cover
        np_version = "?"
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np_version}"
    )


def shared_data_dir() -> Path:
    """Where the real recordings live: ``$HRVPACE_SHARED_DATA`` or ``../shared/data``."""
    env = os.environ.get("HRVPACE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@contextlib.contextmanager
def clean_with(name: str, stage: Callable[..., Any]) -> Iterator[None]:
    """Run ``hrv.clean`` with ``stage`` in place of its step ``name`` inside the block.

    How the benches judge a candidate change to a step of the correction (``"classify"`` or
    ``"correct"``) without editing ``hrv/``: the name ``hrv.clean`` calls is swapped for the
    block and restored after it, also on an error.
    """
    module = sys.modules["hrv.clean"]
    saved = getattr(module, name)
    setattr(module, name, stage)
    try:
        yield
    finally:
        setattr(module, name, saved)


def clean_with_correct(correct: Callable[..., Any]) -> contextlib.AbstractContextManager[None]:
    """:func:`clean_with` for the correction step (``correct``)."""
    return clean_with("correct", correct)
