"""Install hints (first-day review F2): hrvpace is not on PyPI, so no message or README line
may tell a user to ``pip install 'hrvpace[X]'``; they say how to install from the checkout."""

from __future__ import annotations

import re
from pathlib import Path

from hrv.errors import install_hint

ROOT = Path(__file__).resolve().parents[1]
#: ``pip install 'hrvpace[hub]'``, ``pip install "hrvpace[ecg]"``, ``pip install hrvpace``
PYPI_HINT = re.compile(r"""pip install\s+["']?hrvpace\b(?![-_/])""")


def test_install_hint_is_from_the_checkout() -> None:
    assert install_hint("hub") == "pip install -e '.[hub]' in the hrvpace checkout"


def test_no_message_or_readme_line_installs_hrvpace_from_an_index() -> None:
    files = [ROOT / "README.md"] + [
        p
        for pkg in ("api", "hub", "sensors", "hrv", "breathing", "webconventions", "hrvpace")
        for p in (ROOT / pkg).rglob("*.py")
    ]
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in files
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if PYPI_HINT.search(line) and "never as `pip install hrvpace`" not in line
    ]
    assert found == []
