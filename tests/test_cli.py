"""The command line's root: --version and --help tell the truth."""

from __future__ import annotations

import subprocess
import sys

from api._version import __version__


def test_version_prints_the_package_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "api", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"hrvpace {__version__}"


def test_help_lists_usage() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "api", "--help"], capture_output=True, text=True, check=True
    )
    assert "Usage" in out.stdout
    assert "hrvpace" in out.stdout
