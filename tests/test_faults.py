"""bench.faults (issue 13's adversarial suite) with small counts: what holds today must hold.

The fast parts run in CI (codec fuzz, the emulated-BlueZ drops, the HTTP probes against a real
``hrvpace serve``, the harness's own oracles); the mutated recordings and kill -9 runs are
``slow``. Checks that fail on today's main and are fixed by a parallel branch are listed in
:data:`PENDING`: a failure matching an entry is tolerated, and an entry that no longer fails is
itself a failure (remove it once its branch is merged, so the check is enforced from then on).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from bench.faults import (
    BAD_VALUES,
    SOURCES,
    Failure,
    PartResult,
    main,
    mutate_recording,
    run_codec,
    run_limited,
    run_recordings,
)
from sensors import MalformedPacketError, decode_heart_rate_measurement

#: (check id, text the failure's detail contains or "" for any, the branch that fixes it).
PENDING: tuple[tuple[str, str, str], ...] = ()


def _pending(f: Failure) -> bool:
    return any(f.check == check and text in f.detail for check, text, _ in PENDING)


def assert_holds(result: PartResult, *, may_fail: tuple[str, ...] = ()) -> None:
    """No failure outside :data:`PENDING`; every pending entry of this part still fails."""
    unexpected = [f for f in result.failures if not _pending(f)]
    assert not unexpected, "\n".join(f"[{f.check}] {f.detail}" for f in unexpected[:20])
    if not result.failures:
        assert result.lost == 0, f"{result.lost} lost items"
    fixed = [
        f"{check} {text!r} ({owner})"
        for check, text, owner in PENDING
        if check in may_fail
        and not any(f.check == check and text in f.detail for f in result.failures)
    ]
    assert not fixed, "fixed now, remove from PENDING so they are enforced: " + "; ".join(fixed)


# ------------------------------------------------------------------------------------ oracles


def test_run_limited_kills_at_the_time_limit() -> None:
    out = run_limited([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.5)
    assert out.timed_out and out.returncode is None and out.seconds < 10


def test_run_limited_kills_a_memory_blowup() -> None:
    grow = "import time\nb = []\nfor _ in range(60):\n    b.append(bytearray(10 << 20))\n"
    grow += "    b[-1][::4096] = b'x' * len(b[-1][::4096])\n    time.sleep(0.01)\ntime.sleep(5)"
    out = run_limited([sys.executable, "-c", grow], memory_limit=200 << 20, timeout_s=20)
    assert out.memory_blowup and out.returncode is None
    assert out.max_rss_bytes > 200 << 20


def test_run_limited_returns_exit_code_and_output() -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    out = run_limited([sys.executable, "-c", code])
    assert (out.returncode, out.stdout.strip(), out.stderr.strip()) == (3, "out", "err")
    assert not out.timed_out and not out.memory_blowup


def test_mutations_are_reproducible_and_name_their_broken_lines(shared_data: Path) -> None:
    source = SOURCES[0]
    text = (shared_data / source.name).read_text()
    claimed = 0
    for seed in range(200):
        a = mutate_recording(text, source, random.Random(seed))
        assert a == mutate_recording(text, source, random.Random(seed))
        data, names, broken = a
        assert names
        lines = data.decode("utf-8", "replace").split("\n")
        for line_no in broken:
            claimed += 1
            assert "bad_value" in names
            assert lines[line_no - 1].rstrip("\r") in {v.rstrip("\r") for v in BAD_VALUES}
    assert claimed > 20


# ------------------------------------------------------------------------------------ codec


def test_codec_fuzz_finds_no_crash() -> None:
    result = run_codec(30_000, seed=1)
    assert result.tried == 30_000
    assert_holds(result)


def test_codec_fuzz_counts_an_undocumented_exception() -> None:
    def fragile(data: bytes) -> object:
        if len(data) > 6 and data[0] & 0x10:
            raise IndexError("read past the end")
        return decode_heart_rate_measurement(data)

    result = run_codec(3_000, seed=2, decode=fragile)  # type: ignore[arg-type]
    assert result.failed_checks() == {"codec_crash"}
    assert all("IndexError" in f.detail for f in result.failures)


def test_codec_documented_error_is_not_a_crash() -> None:
    def strict(data: bytes) -> object:
        raise MalformedPacketError("refused")

    assert run_codec(1_000, seed=3, decode=strict).failures == []  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ live


@pytest.mark.ble
@pytest.mark.timeout(120)
def test_strap_drops_mark_every_gap() -> None:
    from bench._faults_live import run_drops

    result = run_drops(12, seed=5)
    assert result.tried == 12
    assert_holds(result)


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_http_probes_hold_where_fixed_today(shared_data: Path) -> None:
    from bench._faults_http import run_http

    result = run_http(oversize_mb=2, data_dir=shared_data)
    assert result.tried > 200
    assert_holds(
        result,
        may_fail=(
            "problem_json",
            "echo",
            "oversize_413",
            "malformed_4xx",
            "huge_query",
            "replay_path_read",
            "replay_path_oracle",
            "leak",
            "upload",
            "ws_origin",
        ),
    )


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_kill_9_loses_nothing_published_or_written() -> None:
    from bench._faults_live import run_kills

    result = run_kills(1, 1, seed=7)
    assert result.tried == 2
    assert_holds(result)


# ------------------------------------------------------------------------------------ files


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mutated_recordings_through_analyze_and_replay(shared_data: Path) -> None:
    result = run_recordings(26, seed=11, data_dir=shared_data)
    assert result.tried == 52
    assert_holds(result)


@pytest.mark.timeout(120)
def test_cli_prints_the_table_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--only", "codec", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "codec" in out and "30,000" in out and "all parts held" in out
