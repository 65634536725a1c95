"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

REPO_ROOT = Path(__file__).resolve().parent.parent


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
