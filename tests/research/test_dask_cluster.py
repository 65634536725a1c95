"""Beyond one machine (issue 19 item 9): a real Dask cluster on loopback.

A ``dask scheduler`` and two ``dask worker`` processes are started as separate programs (as on
a cluster: the workers import hrvpace themselves and only see the files by path), and
``hrvpace analyze --scheduler tcp://...`` runs on a cohort of real recordings; its results and
its windows table are identical to the local run's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COHORT = (
    "hrvpkg_rest_rri_ms.txt",
    "hrvanalysis_test_nn_intervals_ms.txt",
    "hrvpkg_exercise_rri.hrm",
    "hrvpkg_noisy_rri.hrm",
    "ghrv_beat_ascii.txt",
)


def _dask(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:  # the child keeps its own handle
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"},
        )


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    d = tmp_path_factory.mktemp("dask")
    info = d / "scheduler.json"
    procs = [
        _dask(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(info),
            log=d / "scheduler.log",
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert time.monotonic() < deadline, (d / "scheduler.log").read_text()
            assert procs[0].poll() is None, (d / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            procs.append(
                _dask(
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--no-nanny",
                    log=d / f"worker{i}.log",
                )
            )
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        # a worker whose scheduler goes away keeps trying to reconnect for ~20 s after SIGTERM:
        # the cluster is done with, so a short grace then SIGKILL (saves ~17 s of every run)
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", "analyze", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_scheduler_run_equals_the_local_run(
    scheduler: str, shared_data: Path, tmp_path: Path
) -> None:
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    for name in COHORT:
        shutil.copy(shared_data / name, cohort / name)
    common = ["--json", "--window-s", "120", "--step-s", "30"]
    remote = _analyze(
        str(cohort), *common, "--scheduler", scheduler, "--windows", str(tmp_path / "r.parquet")
    )
    assert remote.returncode == 0, remote.stderr
    local = _analyze(str(cohort), *common, "--jobs", "1", "--windows", str(tmp_path / "l.parquet"))
    assert local.returncode == 0, local.stderr
    on_cluster = [json.loads(line) for line in remote.stdout.splitlines()]
    here = [json.loads(line) for line in local.stdout.splitlines()]
    assert [Path(o["path"]).name for o in on_cluster] == sorted(COHORT)
    # each run's settings name its own command line (--scheduler or --jobs); all else is equal
    for rows, flag in ((on_cluster, "--scheduler"), (here, "--jobs")):
        for row in rows:
            assert flag in row["settings"].pop("command_line")
    assert on_cluster == here
    pq = pytest.importorskip("pyarrow.parquet")
    a = pq.read_table(tmp_path / "r.parquet")
    b = pq.read_table(tmp_path / "l.parquet")
    assert a.num_rows > 100 and a.equals(b)
    # the work ran on the cluster's workers (one task per recording), not in the command
    distributed = pytest.importorskip("distributed")
    with distributed.Client(scheduler, timeout=30) as client:
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and sum(executed.values()) >= len(COHORT)
