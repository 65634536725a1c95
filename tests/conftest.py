"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import signal
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Every directory collector of the session, by path (see ``pytest_make_collect_report``).
_DIRECTORIES = pytest.StashKey[dict[Path, pytest.Directory]]()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Keep one collector per directory, so a conftest's fixtures stay visible in any file order.

    pytest 9.1 binds a conftest's fixtures to the node that collected its directory and finds
    them by node identity. A file argument directly under a package (``tests/test_cli.py``)
    makes pytest collect that package again, which creates a second ``tests/api`` node; files
    of ``tests/api`` listed after it hang under the second node and lose the fixtures of
    ``tests/api/conftest.py`` ("fixture 'serve' not found"), e.g. in
    ``pytest tests/api/test_replay_stream.py tests/test_cli_replay.py tests/api/test_assembly.py``.
    This hands the first node of each directory back instead of the new one, as pytest's own
    fix does (pytest-dev/pytest#14645, backport #14974 for 9.1.x; issues #14964, #14971).
    Harmless where pytest does not fork the nodes.
    """
    report = yield
    if isinstance(collector, pytest.Directory) and report.passed:
        seen = collector.session.stash.setdefault(_DIRECTORIES, {})
        report.result = [
            seen.setdefault(node.path, node) if isinstance(node, pytest.Directory) else node
            for node in report.result
        ]
    return report


#: The test files that take longest, longest first (seconds from a file's first test to its
#: last test's end on its worker, in one fresh-clone run of .ci/run as scripts/test.sh runs it:
#: ``-n 4 --dist loadfile --no-loadscope-reorder``, four workers sharing the two cores, nothing
#: else running, 2026-12-07; a file's seconds are about twice what it takes alone).
#: ``scripts/test.sh`` hands files to its workers in collection order: these go first, so that
#: no long file starts last and keeps one worker busy while the others have nothing left (an
#: order gone stale once had a 86-s file start last and end the run 85 s after the other
#: workers; longest-first ends them within seconds of each other: 822-829 s in that run).
#: Every file of 13 s or more in that run is listed; a file not listed runs after them in the
#: usual order; a listed file that is gone is ignored. Remeasure with a plugin that writes each
#: test's start and end time and worker, e.g. after a file grows.
LONGEST_FIRST = (
    "api/test_schemathesis.py",  # 205
    "web/test_nudges.py",  # 147
    "test_faults.py",  # 145
    "api/test_long_days.py",  # 129
    "sensors/test_ble.py",  # 118
    "web/test_prompt_late.py",  # 90
    "web/test_workday_review.py",  # 89
    "web/test_page.py",  # 86
    "web/test_assessment_card.py",  # 79
    "test_cli_replay.py",  # 78
    "test_cli_paced_stopped.py",  # 69
    "api/test_microbreaks.py",  # 69
    "research/test_report_export.py",  # 59
    "web/test_break_after_pacing.py",  # 55
    "hub/test_db.py",  # 47
    "api/test_replay_paced_export.py",  # 47
    "api/test_commands.py",  # 46
    "breathing/test_assessment_ursino.py",  # 46
    "api/test_live_resume.py",  # 44
    "hub/test_admin.py",  # 42
    "hub/test_api.py",  # 41
    "api/test_dayplan.py",  # 40
    "research/test_segments.py",  # 40
    "hub/test_differencing.py",  # 39
    "test_cli_data_dir.py",  # 38
    "api/test_own_numbers.py",  # 35
    "web/test_signal_tile.py",  # 34
    "api/test_dayplan_zone.py",  # 32
    "web/test_live_socket.py",  # 31
    "hub/test_privacy.py",  # 31
    "api/test_microbreak_plan_quiet.py",  # 31
    "hrv/test_rolling_paths.py",  # 30
    "api/test_recordings.py",  # 28
    "api/test_sessions.py",  # 28
    "web/test_prompt_actions.py",  # 26
    "sensors/test_plain_not_rr.py",  # 26
    "api/test_devices_ble.py",  # 25
    "web/test_page_ble.py",  # 25
    "api/test_signal.py",  # 24
    "test_cli_paced_streams.py",  # 23
    "research/test_neurokit_names.py",  # 23
    "test_cli_signals.py",  # 23
    "breathing/test_microbreak.py",  # 23
    "sensors/test_templatematch.py",  # 22
    "web/test_hub_admin.py",  # 22
    "hrv/test_clean_mitdb.py",  # 22
    "sensors/test_record_cli_files.py",  # 22
    "research/test_analyze.py",  # 21
    "research/test_ectopy_warning.py",  # 20
    "web/test_beat_backfill.py",  # 20
    "api/test_breathing.py",  # 20
    "test_cli_breathing.py",  # 20
    "api/test_generated_client.py",  # 19
    "web/test_share_settings.py",  # 19
    "api/test_assembly.py",  # 19
    "web/test_dayplan_page.py",  # 19
    "hrv/test_clean_injected.py",  # 19
    "hub/test_interventions.py",  # 18
    "web/test_layout_review.py",  # 18
    "web/test_break_banner.py",  # 18
    "api/test_assessment_end.py",  # 17
    "sensors/test_signal_polarity.py",  # 17
    "api/test_datadir_lock.py",  # 17
    "web/test_workday_card.py",  # 16
    "api/test_dayplan_review.py",  # 16
    "sensors/test_signal_not_ecg.py",  # 16
    "sensors/test_signal_low_quality.py",  # 16
    "api/test_prompt_answers.py",  # 15
    "test_cli_cut_off.py",  # 15
    "research/test_dask_cluster.py",  # 14
    "api/test_ws_origin.py",  # 14
    "research/test_folder.py",  # 14
    "webconventions/test_serving_limits.py",  # 13
    "hub/test_hosts.py",  # 13
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files of :data:`LONGEST_FIRST` first, in its order; the rest keep theirs.

    A stable sort by file: a file's tests stay together and in their own order, so its module
    fixtures start once as before.
    """
    tests_dir = Path(__file__).resolve().parent
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item: pytest.Item) -> int:
        try:
            name = item.path.resolve().relative_to(tests_dir).as_posix()
        except ValueError:  # not under tests/
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=key)


#: The machine zone the tests run in, whatever the machine's own (see the fixture below).
TEST_MACHINE_ZONE = os.environ.get("HRVPACE_TEST_ZONE", "Europe/Berlin")


@pytest.fixture(scope="session", autouse=True)
def _machine_zone() -> Iterator[None]:
    """A new day plan takes the machine's zone (``api.dayplan.machine_timezone``): pin it.

    ``HRVPACE_TIMEZONE`` is read by that resolver only (not ``TZ``, which would move the clocks
    of Python and of the browsers the web tests start), so the tests' plans are in Berlin on a
    UTC or a Tokyo machine alike; a test of the resolver passes its own environment.

    ``HRVPACE_TEST_ZONE`` moves that pin, to run the tests that keep the real plan clock at
    another local time of day: in a zone where it is now 09:xx the morning prompt is due, in
    one where it is 23:xx the quiet hours hold (``Etc/GMT-14`` is UTC+14). The tests that set
    the plan clock by hand (``tests._clock``) give Berlin times, and those that check the
    zone's name expect Berlin: they may fail in another zone.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HRVPACE_TIMEZONE", TEST_MACHINE_ZONE)
        yield


@pytest.fixture(autouse=True)
def _not_the_hrvpace_process() -> Iterator[None]:
    """No test leaves this process marked as the ``hrvpace`` entry point's (``api.cli.main``).

    Marked, every later in-process run of ``replay``, ``record``, ``assess`` or ``practice``
    (a ``CliRunner``'s) would leave Ctrl-C and SIGTERM held to the exit here
    (``api.commands._stop._give_back``): the suite's Ctrl-C swallowed, tests that expect a
    ``KeyboardInterrupt`` broken. Only a subprocess may call ``main``. The handlers of Ctrl-C
    and SIGTERM are compared too (a test that marks the process by hand and leaves a final
    block), and the mark is taken off before the assertion, so one test's leak fails that test
    alone.
    """
    from api._process import PROCESS

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield
    marked = PROCESS.ends_with_its_command
    PROCESS.ends_with_its_command = False
    after = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    for signum, handler in zip((signal.SIGINT, signal.SIGTERM), handlers, strict=True):
        if handler is not None:  # None: not set from Python, cannot be set back from it
            signal.signal(signum, handler)
    assert not marked, "a test left this process marked as hrvpace's"
    assert after == handlers, f"a test left Ctrl-C's and SIGTERM's handlers changed: {after}"


def shared_data_dir() -> Path:
    """The real recordings: ``$HRVPACE_SHARED_DATA``, else ``../shared/data`` beside the repo."""
    env = os.environ.get("HRVPACE_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real RR recordings (``../shared/data``; ``HRVPACE_SHARED_DATA`` overrides).

    Missing data is a failure, not a skip: the science tests must run.
    """
    path = shared_data_dir()
    if not (path / "README.md").is_file():
        pytest.fail(f"real recordings not found at {path}; set HRVPACE_SHARED_DATA")
    return path


def load_rr_ms(path: Path, *, units: str, skip_first_line: bool = False) -> NDArray[np.float64]:
    """Read a one-value-per-line RR file into milliseconds (test helper, not the product reader)."""
    lines = path.read_text().split()
    if skip_first_line:
        lines = lines[1:]
    values = np.array([float(x) for x in lines], dtype=np.float64)
    return values * 1000.0 if units == "s" else values
