"""Fixtures shared by every test package."""

from __future__ import annotations

import os
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


#: The test files that take longest, longest first (seconds of one run of the whole suite,
#: ``-n 3 --dist loadfile --no-loadscope-reorder --durations=0``, summed per file from its junit
#: xml, on two cores shared with other jobs: about 2.4 times a CI run; the order is what
#: matters). ``scripts/test.sh`` hands files to its workers in collection order: these go first,
#: so that no long file starts last and keeps one worker busy while the others have nothing
#: left (pytest-xdist's own order, files with the most tests first, started the 140-s
#: schemathesis file last and ended the run 40 s after the other worker). Every file of 30 s or
#: more in that run is listed; a file not listed runs after them in the usual order; a listed
#: file that is gone is ignored. Remeasure with ``--durations=0 --junitxml=FILE``.
LONGEST_FIRST = (
    "sensors/test_signal_polarity.py",  # 269
    "sensors/test_signal_not_ecg.py",  # 215
    "test_cli_data_dir.py",  # 151
    "test_cli_replay.py",  # 150
    "api/test_schemathesis.py",  # 132
    "research/test_report_export.py",  # 128
    "web/test_nudges.py",  # 125
    "sensors/test_ble.py",  # 125
    "breathing/test_assessment_ursino.py",  # 121
    "sensors/test_signal_low_quality.py",  # 119
    "test_cli_signals.py",  # 117
    "web/test_page.py",  # 106
    "api/test_long_days.py",  # 101
    "sensors/test_record_cli_files.py",  # 98
    "hub/test_db.py",  # 98
    "test_faults.py",  # 97
    "research/test_analyze.py",  # 92
    "web/test_prompt_late.py",  # 88
    "hub/test_api.py",  # 80
    "hub/test_differencing.py",  # 79
    "research/test_segments.py",  # 74
    "test_cli_paced_stopped.py",  # 73
    "hrv/test_rolling_paths.py",  # 72
    "web/test_assessment_card.py",  # 72
    "api/test_commands.py",  # 69
    "test_cli_cut_off.py",  # 69
    "research/test_ectopy_warning.py",  # 68
    "test_cli_paced_streams.py",  # 67
    "research/test_neurokit_names.py",  # 67
    "hub/test_admin.py",  # 64
    "test_cli_practice_rates.py",  # 60
    "research/test_folder.py",  # 59
    "api/test_dayplan_zone.py",  # 54
    "api/test_microbreaks.py",  # 53
    "hub/test_privacy.py",  # 50
    "hub/test_interventions.py",  # 50
    "api/test_replay_paced_export.py",  # 50
    "test_cli_breathing.py",  # 50
    "hrv/test_clean_mitdb.py",  # 50
    "web/test_break_after_pacing.py",  # 49
    "test_collection_order.py",  # 45
    "sensors/test_signals.py",  # 43
    "web/test_prompt_actions.py",  # 43
    "web/test_share_settings.py",  # 41
    "hrv/test_clean_injected.py",  # 38
    "research/test_dask_cluster.py",  # 36
    "api/test_live_resume.py",  # 35
    "web/test_live_socket.py",  # 34
    "web/test_signal_tile.py",  # 34
    "research/test_analyze_settings.py",  # 34
    "api/test_dayplan.py",  # 33
    "api/test_devices_ble.py",  # 32
    "api/test_assembly.py",  # 32
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
TEST_MACHINE_ZONE = "Europe/Berlin"


@pytest.fixture(scope="session", autouse=True)
def _machine_zone() -> Iterator[None]:
    """A new day plan takes the machine's zone (``api.dayplan.machine_timezone``): pin it.

    ``HRVPACE_TIMEZONE`` is read by that resolver only (not ``TZ``, which would move the clocks
    of Python and of the browsers the web tests start), so the tests' plans are in Berlin on a
    UTC or a Tokyo machine alike; a test of the resolver passes its own environment.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HRVPACE_TIMEZONE", TEST_MACHINE_ZONE)
        yield


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
