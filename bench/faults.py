"""The adversarial suite of issue 13: hostile input and faults, measured as a table.

Reproduce (from the repository root)::

    python -m bench.faults                  # every part, full counts (~15-20 min on 2 shared cores)
    python -m bench.faults --quick          # small counts (CI-sized, about a minute)
    python -m bench.faults --only codec --only http

Parts (each a row of the table: ``tried``, ``failures``, ``lost items``):

``codec``
    The Heart Rate Measurement (0x2A37) codec (``sensors.heart_rate_measurement``): random
    payloads and mutated valid ones (>= 10**6 in the full run). A crash is any exception but
    the documented :class:`sensors.MalformedPacketError`; a decoded packet must also re-encode
    to itself and give one beat per RR value with increasing times.
``recordings``
    Mutated copies of the shared real recordings (``$HRVPACE_SHARED_DATA`` or
    ``../shared/data``; >= 1,000 in the full run) through ``hrvpace analyze`` (in batches, a
    batch that fails is re-run file by file) and ``hrvpace replay --speed max``, each a
    subprocess with a 30-s limit. A failure is a traceback, a timeout, a memory blow-up (RSS
    over 1 GiB), an exit code other than 0/1, an exit 1 whose message does not name the file
    (and the line, when a line was broken), an error echoing more than 200 characters of the
    file, a good file's result missing from a folder run (a lost item), or analyze and replay
    disagreeing on whether a file is readable (one units policy for every reader).
``drops``
    Strap drops in the emulated BlueZ (``tests/sensors/fake_bluez.py``, real bleak on a
    private ``dbus-daemon``), single drops and drops while a reconnect completes. A failure
    is a reconnect whose first beat is not marked ``gap_before`` (or no reconnect at all);
    lost items are beats sent while connected that never came out.
``kill``
    ``kill -9`` of ``hrvpace serve`` while a session streams (lost: beats and metrics windows
    published on the WebSocket but missing from the database after a restart) and of
    ``hrvpace record`` (lost: beats the strap sent well before the kill, missing from the file,
    or a file that no longer reads).
``http``
    A real ``hrvpace serve`` on 127.0.0.1: oversized and malformed bodies (status, problem+json,
    echo length, server memory), path attacks (replay paths, traversal in URLs and names,
    existence oracles), bad tokens on every route, huge query numbers.

Every failure is printed under the table with what was tried; the exit code is 1 when any
part has a failure or a lost item. ``--json FILE`` writes the results for tooling.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench._common import machine_summary, shared_data_dir

if TYPE_CHECKING:
    from sensors.heart_rate_measurement import HeartRateMeasurement

__all__ = [
    "PARTS",
    "Failure",
    "PartResult",
    "ProcessOutcome",
    "main",
    "mutate_recording",
    "run_codec",
    "run_limited",
    "run_recordings",
]

#: Seconds a single ``hrvpace analyze``/``replay`` of one mutated file may take.
FILE_LIMIT_S = 30.0
#: Resident memory (bytes, the process and its children) above which a run is a blow-up.
MEMORY_LIMIT_BYTES = 1 << 30
#: Characters of a file's content an error message may quote (issue 13 item 2).
ECHO_LIMIT = 200
#: Characters an error line may have besides the path and the quoted text (the wording).
WORDING = 120
#: How many failures of a part are printed under the table.
SHOWN_FAILURES = 8
#: Progress lines on stderr (``main`` turns them on; the tests keep quiet).
_PROGRESS = {"on": False}


def _progress(message: str) -> None:
    if _PROGRESS["on"]:
        print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Failure:
    """One failed probe: ``check`` is a stable id (see each part), ``detail`` what happened."""

    check: str
    detail: str


@dataclass
class PartResult:
    """One row of the table."""

    part: str
    tried: int = 0
    failures: list[Failure] = field(default_factory=list)
    lost: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def fail(self, check: str, detail: str) -> None:
        """Record a failed ``check`` (the same finding twice counts once)."""
        failure = Failure(check, detail[:600])
        if failure not in self.failures[-50:]:  # the same finding twice is one failure
            self.failures.append(failure)

    def failed_checks(self) -> set[str]:
        """The names of the checks that failed."""
        return {f.check for f in self.failures}

    @property
    def ok(self) -> bool:
        """Whether the part passed: no failure and nothing lost."""
        return not self.failures and self.lost == 0


# ------------------------------------------------------------------------------------ processes


@dataclass(frozen=True)
class ProcessOutcome:
    """What a limited subprocess did."""

    returncode: int | None  # None: killed by us (timeout or memory)
    stdout: str
    stderr: str
    seconds: float
    max_rss_bytes: int
    timed_out: bool
    memory_blowup: bool


def _rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (Linux ``/proc``), 0 when gone."""
    total = 0
    stack = [pid]
    seen: set[int] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as f:
                stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_limited(
    args: Sequence[str],
    *,
    timeout_s: float = FILE_LIMIT_S,
    memory_limit: int = MEMORY_LIMIT_BYTES,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcessOutcome:
    """Run ``args`` with a wall-clock and a memory limit; the process group is killed at either.

    Memory is the resident set of the process and its children, sampled every 20 ms.
    """
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            list(args),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        max_rss = 0
        timed_out = blowup = False
        while proc.poll() is None:
            rss = _rss_bytes(proc.pid)
            max_rss = max(max_rss, rss)
            if rss > memory_limit:
                blowup = True
            elif time.monotonic() - t0 > timeout_s:
                timed_out = True
            if blowup or timed_out:
                _kill_group(proc)
                break
            time.sleep(0.02)
        proc.wait()
        seconds = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return ProcessOutcome(
        returncode=None if (timed_out or blowup) else proc.returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=seconds,
        max_rss_bytes=max_rss,
        timed_out=timed_out,
        memory_blowup=blowup,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def hrvpace_command() -> list[str]:
    """The ``hrvpace`` console script beside this Python, else ``python -m api``."""
    script = Path(sys.executable).with_name("hrvpace")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "api"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child ``hrvpace``: this process's, repository first on the path."""
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH", "")) if p)
    env.setdefault("HRVPACE_SHARED_DATA", str(shared_data_dir()))
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------ codec


def run_codec(
    n_packets: int,
    *,
    seed: int = 13,
    decode: Callable[[bytes], HeartRateMeasurement] | None = None,
) -> PartResult:
    """Fuzz the 0x2A37 codec with ``n_packets`` random and mutated valid payloads.

    Checks (ids): ``codec_crash`` (an exception other than ``MalformedPacketError``),
    ``codec_roundtrip`` (a decoded packet does not re-encode to the same measurement),
    ``codec_beats`` (not one beat per RR value, or beat times not increasing). ``decode``
    replaces the decoder under test (default: ``decode_heart_rate_measurement``).
    """
    from sensors.errors import MalformedPacketError
    from sensors.heart_rate_measurement import (
        HeartRateMeasurement,
        beats_from_packet,
        decode_heart_rate_measurement,
        encode_heart_rate_measurement,
        rr_ms_from_raw,
    )

    decoder = decode or decode_heart_rate_measurement

    result = PartResult("codec")
    rng = random.Random(seed)
    t0 = time.monotonic()

    def valid_packet() -> bytes:
        n_rr = rng.choice((0, 1, 1, 2, 2, 3, 4, 9))
        m = HeartRateMeasurement(
            heart_rate_bpm=rng.choice((rng.randrange(30, 220), rng.randrange(0, 65536))),
            rr_ms=tuple(rr_ms_from_raw(rng.randrange(1, 65536)) for _ in range(n_rr)),
            energy_expended_kj=rng.choice((None, rng.randrange(0, 65536))),
            sensor_contact=rng.choice((None, True, False)),
        )
        return encode_heart_rate_measurement(
            m, uint16_heart_rate=rng.random() < 0.3, rr_flag_when_empty=rng.random() < 0.5
        )

    def mutate(data: bytes) -> bytes:
        b = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            op = rng.randrange(7)
            if op == 0 and b:  # flip a bit
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
            elif op == 1 and b:  # set a byte
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif op == 2:  # insert bytes
                i = rng.randrange(len(b) + 1)
                b[i:i] = rng.randbytes(rng.randrange(1, 4))
            elif op == 3 and b:  # delete bytes
                i = rng.randrange(len(b))
                del b[i : i + rng.randrange(1, 4)]
            elif op == 4:  # truncate
                del b[rng.randrange(len(b) + 1) :]
            elif op == 5 and b:  # other flags
                b[0] = rng.randrange(256)
            else:  # extend (many RR values, or a long tail)
                b += rng.randbytes(rng.choice((1, 2, 3, 40, 600)))
        return bytes(b)

    for i in range(n_packets):
        kind = i % 3
        if kind == 0:
            data = rng.randbytes(rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 20, 64)))
        elif kind == 1:
            data = mutate(valid_packet())
        else:
            data = valid_packet()
        result.tried += 1
        try:
            m = decoder(data)
        except MalformedPacketError:
            continue
        except Exception as exc:  # the thing being counted
            result.fail("codec_crash", f"{type(exc).__name__}: {exc} on payload {data.hex()}")
            continue
        try:
            again = decode_heart_rate_measurement(encode_heart_rate_measurement(m))
            if again != m:
                result.fail("codec_roundtrip", f"{data.hex()} -> {m} -> {again}")
            beats = beats_from_packet(m, arrived_at=1e9, session_start=1e9 - 100.0)
            times = [b.t_s for b in beats]
            if len(beats) != len(m.rr_ms) or times != sorted(times):
                result.fail("codec_beats", f"{data.hex()}: {len(beats)} beats, times {times}")
        except Exception as exc:
            result.fail("codec_crash", f"after decoding {data.hex()}: {type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - t0
    return result


# ------------------------------------------------------------------------------------ recordings


@dataclass(frozen=True)
class SourceFile:
    """A shared recording and how to read it (``args`` go to analyze and replay alike)."""

    name: str
    args: tuple[str, ...] = ()

    def header_lines(self, lines: Sequence[str]) -> int:
        if self.name.endswith(".hrm"):
            for i, line in enumerate(lines):
                if line.strip() == "[HRData]":
                    return i + 1
            return 0
        return 1 if "physionet_rr_secs" in self.args else 0


#: The shared recordings the mutations start from, with the options that read them right.
SOURCES = (
    SourceFile("hrvpkg_rest_rri_ms.txt"),
    SourceFile("hrvpkg_08012805_rri_ms.txt"),
    SourceFile("hrvpkg_real_rri_ms.txt"),
    SourceFile("hrvanalysis_test_nn_intervals_ms.txt"),
    SourceFile("rrhealthy_000_rr_ms.txt"),
    SourceFile("rrhealthy_007_rr_ms.txt"),
    SourceFile("hrvpkg_exercise_rri.hrm"),
    SourceFile("hrvpkg_noisy_rri.hrm"),
    SourceFile("nsr2db_nsr001_rr_secs.txt", ("--format", "physionet_rr_secs")),
    SourceFile("nsr2db_nsr002_rr_secs.txt", ("--format", "physionet_rr_secs")),
    SourceFile("chf2db_chf201_rr_secs.txt", ("--format", "physionet_rr_secs")),
    SourceFile("ghrv_chapter6_rr.txt", ("--units", "s")),
    SourceFile("ghrv_beat_ascii.txt", ("--format", "ghrv_beats")),
)

#: What a broken line may hold: out-of-range, non-numbers, odd spellings, long text.
BAD_VALUES = (
    "1e308",
    "1e12",
    "-1e308",
    "1e-300",
    "-800",
    "0",
    "-0",
    "nan",
    "inf",
    "-inf",
    "",
    "abc",
    "8OO",
    "1,5",
    "0x320",
    "800 900",
    "800\t1",
    "８００",
    "+800",
    "800.",
    ".8",
    "1_000",
    "800e",
    "--800",
    "9" * 400,
    "1" + "0" * 5000,
    "\x00\x00",
    "é" * 300,
    "x" * 5000,
    "800\r",
)
#: Mutations that break one line (the error must name it).
LINE_MUTATIONS = frozenset({"bad_value"})


@dataclass(frozen=True)
class MutatedFile:
    """One mutated copy: where it is, what it came from, what was done to it."""

    path: Path
    source: SourceFile
    mutations: tuple[str, ...]
    broken_lines: tuple[int, ...]  # 1-based lines that got a bad value

    @property
    def line_level(self) -> bool:
        """A line got a bad value and nothing made the whole file wrong first (its units)."""
        scaled = any(m.startswith("scale_") for m in self.mutations)
        return bool(LINE_MUTATIONS.intersection(self.mutations)) and not scaled


def mutate_recording(
    text: str, source: SourceFile, rng: random.Random
) -> tuple[bytes, tuple[str, ...], tuple[int, ...]]:
    """A mutated copy of ``text``: a slice of its body and 1-3 mutations.

    Returns the bytes, the mutation names and the 1-based lines given a bad value (for the
    "names the line" check; other mutations can move or hide them, so only a bad value on a
    line that survives is listed).
    """
    lines = text.splitlines()
    head_n = source.header_lines(lines)
    head, body = lines[:head_n], lines[head_n:]
    if len(body) > 3000 or rng.random() < 0.7:
        length = min(len(body), int(rng.expovariate(1 / 600)) + 1, 3000)
        start = rng.randrange(0, max(1, len(body) - length + 1))
        body = body[start : start + length]
    names: list[str] = []
    bad_at: list[int] = []  # indices into body
    byte_ops: list[str] = []
    for _ in range(rng.randrange(1, 4)):
        op = rng.choice(
            (
                "bad_value",
                "bad_value",
                "bad_value",
                "scale_1000",
                "scale_0.001",
                "delete_line",
                "duplicate_lines",
                "blank_line",
                "drop_header",
                "crlf",
                "bom",
                "truncate",
                "flip_bytes",
                "nul_tail",
                "no_newline",
                "empty",
                "long_line",
            )
        )
        names.append(op)
        if op == "bad_value" and body:
            i = rng.randrange(len(body))
            body[i] = rng.choice(BAD_VALUES)
            bad_at.append(i)
        elif op in ("scale_1000", "scale_0.001"):
            factor = 1000.0 if op == "scale_1000" else 0.001
            body = [line if j in bad_at else _scaled(line, factor) for j, line in enumerate(body)]
        elif op == "delete_line" and body:
            i = rng.randrange(len(body))
            del body[i]
            bad_at = [j if j < i else j - 1 for j in bad_at if j != i]
        elif op == "duplicate_lines" and body:
            i = rng.randrange(len(body))
            k = rng.randrange(1, 50)
            body[i:i] = body[i : i + k]
            bad_at = []  # positions moved: no line claim
        elif op == "blank_line":
            i = rng.randrange(len(body) + 1)
            body.insert(i, "")
            bad_at = [j if j < i else j + 1 for j in bad_at]
        elif op == "drop_header":
            head = []
        else:
            byte_ops.append(op)
    out_lines = head + body
    data = ("\n".join(out_lines) + "\n").encode("utf-8")
    broken = tuple(sorted(len(head) + j + 1 for j in set(bad_at)))
    for op in byte_ops:
        if op == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif op == "bom":
            data = b"\xef\xbb\xbf" + data
        elif op == "truncate":
            data = data[: rng.randrange(len(data) + 1)]
            broken = ()
        elif op == "flip_bytes" and data:
            b = bytearray(data)
            for _ in range(rng.randrange(1, 6)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            data = bytes(b)
            broken = ()
        elif op == "nul_tail":
            data += b"\x00" * rng.choice((1, 100, 10_000))
        elif op == "no_newline":
            data = data.rstrip(b"\r\n")
        elif op == "empty":
            data = b""
            broken = ()
        elif op == "long_line":
            data += b"9" * rng.choice((10_000, 1_000_000)) + b"\n"
    if not data:
        broken = ()
    return data, tuple(names), broken


def _scaled(line: str, factor: float) -> str:
    try:
        return repr(float(line) * factor)
    except ValueError:
        return line


def make_mutated_files(
    n: int, workdir: Path, *, seed: int, data_dir: Path | None = None
) -> list[MutatedFile]:
    """Write ``n`` mutated copies of :data:`SOURCES` to ``workdir`` (round robin over them)."""
    data_dir = data_dir or shared_data_dir()
    rng = random.Random(seed)
    texts = {s.name: (data_dir / s.name).read_text(encoding="utf-8") for s in SOURCES}
    files: list[MutatedFile] = []
    for i in range(n):
        source = SOURCES[i % len(SOURCES)]
        data, names, broken = mutate_recording(texts[source.name], source, rng)
        stem, _, ext = source.name.rpartition(".")
        path = workdir / f"m{i:05d}_{stem}.{ext}"
        path.write_bytes(data)
        files.append(MutatedFile(path, source, names, broken))
    return files


_TRACEBACK = "Traceback (most recent call last)"
_LINE_REF = re.compile(r"(:\d+\b|\bline \d+)")


def _stderr_lines_about(stderr: str, path: Path) -> list[str]:
    return [line for line in stderr.splitlines() if path.name in line]


def _check_error_message(
    result: PartResult, check_prefix: str, f: MutatedFile, stderr: str, what: str
) -> None:
    """An exit-1 file: its error names the file (and line), and quotes <= 200 characters."""
    about = _stderr_lines_about(stderr, f.path)
    desc = f"{f.path.name} ({', '.join(f.mutations)})"
    if not about:
        result.fail(
            f"{check_prefix}_unnamed",
            f"{what} {desc}: exit 1, no error names the file: {stderr.strip()[-300:]!r}",
        )
        return
    message = " ".join(about)
    if f.line_level and f.broken_lines and not _LINE_REF.search(message):
        result.fail(
            f"{check_prefix}_no_line",
            f"{what} {desc}: broken line(s) {list(f.broken_lines)}, the error names none: "
            f"{message[:300]!r}",
        )
    longest = max(len(line.replace(str(f.path), "").replace(f.path.name, "")) for line in about)
    if longest > ECHO_LIMIT + WORDING:
        result.fail(
            f"{check_prefix}_echo",
            f"{what} {desc}: an error line of {longest} characters besides the path "
            f"(> {ECHO_LIMIT} quoted + {WORDING} of wording)",
        )


def _check_process(result: PartResult, check_prefix: str, out: ProcessOutcome, what: str) -> bool:
    """Common failures of any run; True when the run itself was sound (exit 0 or 1)."""
    if out.timed_out:
        result.fail(f"{check_prefix}_timeout", f"{what}: still running after {out.seconds:.0f} s")
        return False
    if out.memory_blowup:
        result.fail(
            f"{check_prefix}_memory",
            f"{what}: resident memory over {MEMORY_LIMIT_BYTES >> 20} MiB, killed",
        )
        return False
    if _TRACEBACK in out.stderr or _TRACEBACK in out.stdout:
        tail = out.stderr.strip().splitlines()[-1:] or [""]
        result.fail(f"{check_prefix}_traceback", f"{what}: traceback, last line {tail[0][:300]!r}")
        return False
    if out.returncode not in (0, 1):
        result.fail(
            f"{check_prefix}_exit",
            f"{what}: exit code {out.returncode}: {out.stderr.strip()[-300:]!r}",
        )
        return False
    return True


def _results_by_path(stdout: str) -> dict[str, dict[str, object]]:
    """``analyze --json`` output lines (a result or an error) by their ``path``."""
    by_path: dict[str, dict[str, object]] = {}
    for line in stdout.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "path" in obj:
            by_path[str(obj["path"])] = obj
    return by_path


def _why(out: ProcessOutcome) -> str:
    if out.timed_out:
        return "timeout"
    if out.memory_blowup:
        return "memory"
    lines = out.stderr.strip().splitlines()
    return f"exit {out.returncode}: {lines[-1][:160] if lines else ''}"


def _analyze_batch(
    files: Sequence[MutatedFile], result: PartResult, lock: threading.Lock
) -> dict[Path, bool]:
    """Analyze ``files`` in one run (one folder-like call); on a broken run, one by one.

    Returns, per file, whether analyze refused it (an error entry), for the agreement check.
    """
    args = files[0].source.args
    cmd = [*hrvpace_command(), "analyze", "--json", "--jobs", "1", *args]
    out = run_limited(
        cmd + [str(f.path) for f in files],
        timeout_s=FILE_LIMIT_S + 3.0 * len(files),
        env=child_env(),
    )
    what = f"analyze of {len(files)} files"
    sound = _check_process(PartResult("scratch"), "x", out, what)
    if not sound and len(files) > 1:
        # one file broke the whole run: which file (one by one), and which good results the
        # run lost with it (issue 13 item 2: every other file's result still printed)
        printed = _results_by_path(out.stdout)
        refused: dict[Path, bool] = {}
        for f in files:
            refused.update(_analyze_batch([f], result, lock))
        lost = [f for f in files if not refused[f.path] and str(f.path) not in printed]
        if lost:
            with lock:
                result.lost += len(lost)
                result.fail(
                    "analyze_lost",
                    f"a {len(files)}-file run broke ({_why(out)}) and lost {len(lost)} good "
                    f"results, e.g. {lost[0].path.name}",
                )
        return refused
    with lock:
        if len(files) == 1:
            what = f"analyze {files[0].path.name} ({', '.join(files[0].mutations)})"
            if not _check_process(result, "analyze", out, what):
                return {files[0].path: True}
        by_path = _results_by_path(out.stdout)
        refused = {}
        for f in files:
            obj = by_path.get(str(f.path))
            if obj is None:
                result.lost += 1
                result.fail(
                    "analyze_lost",
                    f"{f.path.name} ({', '.join(f.mutations)}): no result and no error in the "
                    f"output of a {len(files)}-file run (exit {out.returncode})",
                )
                refused[f.path] = True
                continue
            refused[f.path] = "error" in obj
            if "error" in obj:
                _check_error_message(result, "analyze", f, out.stderr, "analyze")
        any_error = any(refused.values())
        if out.returncode == 0 and any_error:
            result.fail("analyze_exit", f"{what}: a file failed but the exit code is 0")
        if out.returncode == 1 and not any_error:
            result.fail(
                "analyze_exit",
                f"{what}: exit 1 with every file analysed: {out.stderr.strip()[-300:]!r}",
            )
    return refused


def _replay_one(f: MutatedFile, result: PartResult, lock: threading.Lock) -> bool:
    """Replay one file at speed max; returns whether replay refused it (exit 1)."""
    cmd = [*hrvpace_command(), "replay", "--speed", "max", "--json", *f.source.args, str(f.path)]
    out = run_limited(cmd, timeout_s=FILE_LIMIT_S, env=child_env())
    what = f"replay {f.path.name} ({', '.join(f.mutations)})"
    with lock:
        if not _check_process(result, "replay", out, what):
            return True
        if out.returncode == 1:
            _check_error_message(result, "replay", f, out.stderr, "replay")
            return True
        last: object = None
        for line in out.stdout.splitlines()[-1:]:
            try:
                last = json.loads(line)
            except ValueError:
                last = None
        if not (isinstance(last, dict) and last.get("type") == "replay_end"):
            result.fail("replay_end", f"{what}: exit 0 without a replay_end event")
    return False


def run_recordings(
    n_files: int,
    *,
    seed: int = 13,
    jobs: int = 2,
    batch: int = 25,
    workdir: Path | None = None,
    data_dir: Path | None = None,
) -> PartResult:
    """``n_files`` mutated copies through ``hrvpace analyze`` and ``hrvpace replay``.

    Checks (ids, each prefixed ``analyze_`` or ``replay_``): ``timeout``, ``memory``,
    ``traceback``, ``exit``, ``unnamed`` (exit 1, the file not named), ``no_line`` (a broken
    line not named), ``echo`` (an error line quoting > 200 characters), ``analyze_lost`` (a
    file missing from a multi-file run's output), ``replay_end`` (exit 0 without the final
    event); ``units_disagree``: analyze refuses a file that replay plays to the end, or the
    other way round.
    """
    result = PartResult("recordings")
    t0 = time.monotonic()
    own_dir = workdir is None
    work = workdir or Path(tempfile.mkdtemp(prefix="hrvpace-faults-rec-"))
    try:
        files = make_mutated_files(n_files, work, seed=seed, data_dir=data_dir)
        lock = threading.Lock()
        groups: dict[tuple[str, ...], list[MutatedFile]] = {}
        for f in files:
            groups.setdefault(f.source.args, []).append(f)
        batches = [
            group[i : i + batch] for group in groups.values() for i in range(0, len(group), batch)
        ]
        analyze_refused: dict[Path, bool] = {}
        replay_refused: dict[Path, bool] = {}
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for i, refused in enumerate(
                pool.map(lambda b: _analyze_batch(b, result, lock), batches), 1
            ):
                analyze_refused.update(refused)
                if i % 10 == 0 or i == len(batches):
                    _progress(f"recordings: {i}/{len(batches)} analyze runs")
            for i, (f, refused_one) in enumerate(
                zip(files, pool.map(lambda f: _replay_one(f, result, lock), files), strict=True),
                1,
            ):
                replay_refused[f.path] = refused_one
                if i % 100 == 0 or i == len(files):
                    _progress(f"recordings: {i}/{len(files)} replays")
        result.tried = 2 * len(files)
        broken_runs = {
            fl.detail.split(" ")[1]
            for fl in result.failures
            if fl.check.endswith(("_timeout", "_memory", "_traceback", "_exit"))
        }
        for f in files:
            if f.path.name in broken_runs:
                continue  # already a failure; no agreement to judge
            a, r = analyze_refused.get(f.path), replay_refused.get(f.path)
            if a is not None and r is not None and a != r:
                options = " ".join(f.source.args) or "no options"
                result.fail(
                    "units_disagree",
                    f"{f.path.name} ({', '.join(f.mutations)}; {options}): analyze "
                    f"{'refuses' if a else 'accepts'}, replay {'refuses' if r else 'plays'}",
                )
        result.notes.append(
            f"{len(files)} mutated files ({len(batches)} analyze runs, {len(files)} replays)"
        )
    finally:
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)
    result.seconds = time.monotonic() - t0
    return result


# ------------------------------------------------------------------------------------ table


@dataclass(frozen=True)
class Counts:
    """How much each part tries, full run and ``--quick``."""

    codec_packets: int
    recordings: int
    drops: int
    serve_kills: int
    record_kills: int
    oversize_mb: int


FULL = Counts(
    codec_packets=1_000_000,
    recordings=1_000,
    drops=100,
    serve_kills=10,
    record_kills=10,
    oversize_mb=100,
)
QUICK = Counts(
    codec_packets=30_000, recordings=26, drops=10, serve_kills=1, record_kills=1, oversize_mb=8
)


def _run_drops(c: Counts, seed: int) -> PartResult:
    from bench._faults_live import run_drops

    return run_drops(c.drops, seed=seed)


def _run_kill(c: Counts, seed: int) -> PartResult:
    from bench._faults_live import run_kills

    return run_kills(c.serve_kills, c.record_kills, seed=seed)


def _run_http(c: Counts, seed: int) -> PartResult:
    from bench._faults_http import run_http

    return run_http(oversize_mb=c.oversize_mb, seed=seed)


#: Part name -> runner(counts, seed).
PARTS: dict[str, Callable[[Counts, int], PartResult]] = {
    "codec": lambda c, seed: run_codec(c.codec_packets, seed=seed),
    "recordings": lambda c, seed: run_recordings(c.recordings, seed=seed),
    "drops": _run_drops,
    "kill": _run_kill,
    "http": _run_http,
}


def print_table(results: Iterable[PartResult]) -> None:
    results = list(results)
    print(f"{'part':<12} {'tried':>9} {'failures':>9} {'lost items':>11} {'time':>8}")
    for r in results:
        print(f"{r.part:<12} {r.tried:>9,} {len(r.failures):>9,} {r.lost:>11,} {r.seconds:>7.0f}s")
    for r in results:
        for note in r.notes:
            print(f"  {r.part}: {note}")
        if r.failures:
            by_check: dict[str, int] = {}
            for f in r.failures:
                by_check[f.check] = by_check.get(f.check, 0) + 1
            counts = ", ".join(f"{k} {v}" for k, v in sorted(by_check.items()))
            print(f"\n{r.part}: failures by check: {counts}")
            shown: set[str] = set()
            extra = 0
            for f in r.failures:  # the first of each check, then a few more
                if f.check not in shown:
                    shown.add(f.check)
                elif extra < SHOWN_FAILURES:
                    extra += 1
                else:
                    continue
                print(f"  [{f.check}] {f.detail}")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fault-injection parts the command line asks for; 0 when all passed."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small counts (CI-sized)")
    parser.add_argument(
        "--only", action="append", choices=sorted(PARTS), help="run this part (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    _PROGRESS["on"] = True
    names = args.only or list(PARTS)
    print(f"bench.faults ({'quick' if args.quick else 'full'}): {machine_summary()}")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    results: list[PartResult] = []
    for name in names:
        print(f"running {name} ...", flush=True)
        results.append(PARTS[name](counts, args.seed))
    print()
    print_table(results)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "part": r.part,
                        "tried": r.tried,
                        "failures": [f.__dict__ for f in r.failures],
                        "lost": r.lost,
                        "seconds": r.seconds,
                        "notes": r.notes,
                    }
                    for r in results
                ],
                indent=1,
            )
        )
    bad = [r.part for r in results if not r.ok]
    print("\n" + ("all parts held" if not bad else f"FAILED: {', '.join(bad)}"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
