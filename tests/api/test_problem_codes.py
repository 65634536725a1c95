"""README's table of error codes is every code the service can answer, with its status.

Review: README listed a dozen codes "..." while the service answered more (invalid_dayplan,
prompt_closed, hub_unreachable, a 503 service_unavailable from GET /devices, ...). The codes
are collected from the source: the error classes (every ``ServiceError`` subclass of
``api``), the ``ProblemError(status, "code", ...)`` raised, the answers the middleware and
handlers of ``webconventions`` write, and the status codes of the ``HTTPException`` raised.
"""

from __future__ import annotations

import re
from pathlib import Path

import api.app  # noqa: F401  (imports every route module and its errors)
from api.problems import PROBLEM_TITLES
from api.routes.problems import problem_codes
from tests.api.conftest import REPO_ROOT
from webconventions.errors import ServiceError
from webconventions.problems import STATUS_CODES

#: Codes of errors that end a command, never an HTTP answer (the data dir's lock).
CLI_ONLY = {"data_dir_in_use", "data_dir_unusable"}

_TABLE = re.compile(r"<!-- problem-codes: start -->(.*?)<!-- problem-codes: end -->", re.S)
_ROW = re.compile(r"^\| `([a-z_]+)` \| (\d{3}) \| (.*) \|$", re.M)
_PROBLEM_ERROR = re.compile(r'ProblemError\(\s*(\d{3}),\s*"([a-z_]+)"')
_PROBLEM_RESPONSE = re.compile(r'problem_response\(\s*(\d{3}),\s*"([a-z_]+)"')
_HTTP_EXCEPTION = re.compile(
    r"HTTPException\(\s*(?:status_code=)?(?:status\.HTTP_(\d{3})\w*|(\d{3}))"
)


def _sources(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((REPO_ROOT / f).rglob("*.py"))]


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def raised_codes() -> set[tuple[str, int]]:
    codes: set[tuple[str, int]] = set()
    for cls in _subclasses(ServiceError):
        if cls.__module__.startswith("api.") and cls.__name__ != "ProblemError":
            codes.add((cls.code, cls.status))
    for path in _sources("api", "webconventions"):
        text = path.read_text(encoding="utf-8")
        codes |= {(c, int(s)) for s, c in _PROBLEM_ERROR.findall(text)}
        codes |= {(c, int(s)) for s, c in _PROBLEM_RESPONSE.findall(text)}
        for named, bare in _HTTP_EXCEPTION.findall(text):
            status = int(named or bare)
            codes.add((STATUS_CODES[status], status))
    from api.routes.microbreaks import _STATE_CODES

    codes |= {(c, 409) for c in _STATE_CODES.values()}
    # the handlers of webconventions.problems: validation, and anything unexpected
    codes |= {("validation_error", 422), ("internal_error", 500)}
    return {(c, s) for c, s in codes if c not in CLI_ONLY}


def readme_rows() -> dict[str, tuple[int, str]]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = _TABLE.search(text)
    assert table is not None, "README lost its problem-codes table"
    return {c: (int(s), when) for c, s, when in _ROW.findall(table.group(1))}


def readme_codes() -> set[tuple[str, int]]:
    return {(c, s) for c, (s, _) in readme_rows().items()}


def test_the_problem_pages_say_what_readme_says() -> None:
    """``/problems/<code>`` pages come from api/problem_codes.json: the same rows as README."""
    served = {c: (int(e["status"]), e["when"]) for c, e in problem_codes().items()}
    assert served == readme_rows()


def test_readme_lists_every_code_the_service_raises_and_no_other() -> None:
    raised, listed = raised_codes(), readme_codes()
    assert len(raised) > 30  # the collection found the codes (a broken regex finds few)
    assert raised - listed == set(), "raised but not in README's table"
    assert listed - raised == set(), "in README's table but never raised"


def test_one_off_problem_codes_have_their_own_title() -> None:
    one_off = {c for c, _ in raised_codes()} & {
        c
        for path in _sources("api")
        for _, c in _PROBLEM_ERROR.findall(path.read_text(encoding="utf-8"))
    }
    from api.routes.microbreaks import _STATE_CODES

    assert one_off | set(_STATE_CODES.values()) <= set(PROBLEM_TITLES)
