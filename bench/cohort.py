"""Benchmark: a cohort of 1,000 one-hour recordings analysed end to end, against a NeuroKit2 loop.

Run from the repository root::

    python -m bench.cohort                    # 1,000 recordings of 1 h, all cores
    python -m bench.cohort --n 200 --nk-sample 3
    python -m bench.cohort --windows          # also the rolling table (300-s windows every 10 s)
    python -m bench.cohort --dask             # on a local Dask cluster instead of the pool

The recordings are **resampled from the real ones** in ``../shared/data`` (nsr2db nsr001/nsr002,
chf2db chf201, the two healthy-subject records, gHRV chapter 6): each is a random contiguous
hour of one of them, scaled by a random factor in [0.9, 1.1] (so no two files are equal),
written as a plain one-RR-per-line file in ms into a temporary folder. "End to end" is what
``hrvpace analyze FOLDER --json`` does: read each file (``sensors.read_recording``), clean it
(``hrv.clean``), compute every summary metric (``api.research.analysis``), one task per
recording on a process pool (or Dask), results gathered in input order.

NeuroKit2 is timed on ``--nk-sample`` of the same files in one process, as a user would loop:
read the file, ``signal_fixpeaks(method="Kubios")``, ``hrv_time`` + ``hrv_frequency`` and
``fractal_dfa(rr, scale=range(4, 17), overlap=False)`` (DFA alpha1 as ``hrv.dfa_alpha1``
defines it). The full ``hrv_nonlinear`` is left out: its entropy measures alone take about a
minute per one-hour recording here (78 s measured once), which would make the comparison
meaningless; SD1/SD2 come with hrvpace's time domain anyway. Its total for the
whole cohort is **extrapolated** from that sample, for one process and for the same number of
processes as hrvpace (ideal scaling; the output says so).

Target (issue 8): <= 60 s for the 1,000 one-hour recordings on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._common import fmt_seconds, machine_summary, shared_data_dir

TARGET_S = 60.0

#: Real long recordings to resample from: file name -> read_recording format.
SOURCES: dict[str, str] = {
    "nsr2db_nsr001_rr_secs.txt": "physionet_rr_secs",
    "nsr2db_nsr002_rr_secs.txt": "physionet_rr_secs",
    "chf2db_chf201_rr_secs.txt": "physionet_rr_secs",
    "rrhealthy_000_rr_ms.txt": "plain",
    "rrhealthy_007_rr_ms.txt": "plain",
    "ghrv_chapter6_rr.txt": "plain_s",
}


def _load_sources(data: Path) -> list[NDArray[np.float64]]:
    from sensors import read_recording

    out = []
    for name, fmt in SOURCES.items():
        if fmt == "plain_s":
            rec = read_recording(data / name, format="plain", units="s")
        else:
            rec = read_recording(data / name, format=fmt)
        out.append(np.asarray(rec.rr_ms, dtype=np.float64))
    return out


def make_cohort(
    folder: Path, *, n: int, hours: float, seed: int = 0, data: Path | None = None
) -> list[Path]:
    """Write ``n`` resampled recordings of ``hours`` each into ``folder``; return their paths."""
    rng = np.random.default_rng(seed)
    sources = _load_sources(data or shared_data_dir())
    span_ms = hours * 3600e3
    paths = []
    for i in range(n):
        rr = sources[int(rng.integers(len(sources)))]
        cum = np.cumsum(rr)
        last_start = int(np.searchsorted(cum, cum[-1] - span_ms))
        start = int(rng.integers(0, max(1, last_start)))
        stop = int(np.searchsorted(cum, cum[start] + span_ms)) + 1
        piece = rr[start:stop] * rng.uniform(0.9, 1.1)
        p = folder / f"rec{i:05d}.txt"
        p.write_text("\n".join(f"{v:.3f}" for v in piece) + "\n", encoding="ascii")
        paths.append(p)
    return paths


def _nk_one(path: Path) -> None:
    import neurokit2 as nk

    rr = np.loadtxt(path)
    peaks = np.concatenate([[0], np.cumsum(rr)]).astype(np.int64)  # 1 kHz sample indices
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, fixed = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios")
        nk.hrv_time(fixed, sampling_rate=1000)
        nk.hrv_frequency(fixed, sampling_rate=1000)
        nn = np.diff(fixed).astype(np.float64)
        nk.fractal_dfa(nn, scale=range(4, 17), overlap=False)


def main(argv: list[str] | None = None) -> None:
    """Run the cohort benchmark with the command line's options and print its tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="recordings in the cohort")
    ap.add_argument("--hours", type=float, default=1.0, help="length of each recording (h)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all)")
    ap.add_argument("--nk-sample", type=int, default=5, help="recordings NeuroKit2 analyses")
    ap.add_argument("--windows", action="store_true", help="also the rolling windows table")
    ap.add_argument("--dask", action="store_true", help="run on a local Dask cluster")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from api.research.analysis import AnalysisOptions
    from api.research.cohort import analyze_many, default_jobs, summary_table

    jobs = args.jobs or default_jobs()
    print(f"machine: {machine_summary()}; {jobs} worker process(es)")
    with tempfile.TemporaryDirectory(prefix="hrvpace-cohort-") as tmp:
        t0 = time.perf_counter()
        paths = make_cohort(Path(tmp), n=args.n, hours=args.hours, seed=args.seed)
        n_beats = sum(p.read_bytes().count(b"\n") for p in paths)
        print(
            f"cohort: {args.n} recordings x {args.hours:g} h resampled from the real ones, "
            f"{n_beats:,} beats, written in {time.perf_counter() - t0:.1f} s"
        )
        opts = AnalysisOptions(windows=args.windows)
        t0 = time.perf_counter()
        results = analyze_many(paths, options=opts, jobs=jobs, dask=args.dask)
        table: dict[str, Any] = summary_table(results)
        ours_s = time.perf_counter() - t0
        failed = sum(1 for r in results if not r.ok)
        n_win = sum(len(r.windows["t_s"]) for r in results if r.windows is not None)
        what = "summary + windows" if args.windows else "summary"
        where = "Dask LocalCluster" if args.dask else "process pool"
        print(
            f"hrvpace ({what}, {where}): {fmt_seconds(ours_s)} for {args.n} recordings = "
            f"{args.n / ours_s:.1f} recordings/s ({len(table['path']) - failed} ok, {failed} failed"
            + (f", {n_win:,} windows" if args.windows else "")
            + ")"
        )
        target = "met" if ours_s * 1000 / args.n <= TARGET_S else "NOT met"
        print(f"target <= {TARGET_S:.0f} s per 1,000 recordings: {target}")

        if args.nk_sample > 0:
            sample = paths[: args.nk_sample]
            _nk_one(sample[0])  # warm-up (imports, caches)
            times = []
            for p in sample:
                t = time.perf_counter()
                _nk_one(p)
                times.append(time.perf_counter() - t)
            per = statistics.median(times)
            one_proc = per * args.n
            print(
                f"NeuroKit2 loop (fixpeaks Kubios + hrv_time + hrv_frequency + fractal_dfa): "
                f"median {fmt_seconds(per)} per recording over {len(sample)} recordings"
            )
            print(
                f"  extrapolated to {args.n} recordings: {fmt_seconds(one_proc)} in one process, "
                f"{fmt_seconds(one_proc / jobs)} on {jobs} processes (ideal scaling); "
                f"hrvpace is {one_proc / jobs / ours_s:.0f}x faster on the same cores"
            )


if __name__ == "__main__":
    main()
