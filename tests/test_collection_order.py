"""Conftest fixtures stay visible whatever order test files are listed in (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_a_top_level_file_between_two_api_files_leaves_the_api_fixtures_visible() -> None:
    # tests/api/conftest.py defines ``serve``; both api files use it. Under pytest 9.1.1 without
    # the hook in tests/conftest.py the second file errors with "fixture 'serve' not found".
    files = [
        "tests/api/test_token_gate.py",
        "tests/test_hrvpace_module.py",
        "tests/api/test_demo_clock.py",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--setup-plan", *files],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "not found" not in result.stdout
    assert "SETUP    F serve" in result.stdout
