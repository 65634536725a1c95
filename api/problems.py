"""An :class:`~api.errors.ApiError` raised with the status and code of one occurrence.

Every error the service answers is RFC 9457 ``application/problem+json`` with a stable ``code``;
the machinery (handlers, the ``Problem`` schema in the OpenAPI document) is the hub's too and
lives in :mod:`webconventions.problems`. A route that needs a one-off error raises
:class:`ProblemError` instead of a new subclass of :class:`~api.errors.ApiError`.
"""

from __future__ import annotations

from api.errors import ApiError
from webconventions.errors import status_title

__all__ = ["PROBLEM_TITLES", "ProblemError"]

#: Titles of the codes raised as :class:`ProblemError` (the error classes carry their own),
#: so a problem's ``title`` names its kind rather than the status's reason phrase. README's
#: "Errors" table lists every code the service answers (``tests/api/test_problem_codes.py``
#: collects them from the source and checks it).
PROBLEM_TITLES: dict[str, str] = {
    "invalid_dayplan": "Invalid day plan",
    "invalid_answer": "Invalid answer",
    "prompt_not_found": "Prompt not found",
    "prompt_closed": "Prompt no longer open",
    "not_a_simulation": "Not a simulated session",
    "unknown_format": "Unknown recording format",
    "no_flag_to_acknowledge": "No micro-break flag to acknowledge",
    "no_break_running": "No break is running",
    "break_already_running": "A break is already running",
}


class ProblemError(ApiError):
    """An error raised with an explicit status and code (for one-off route errors).

    Parameters
    ----------
    status
        The HTTP status.
    code
        The stable ``code``.
    detail
        What went wrong, in words a UI can show as is.
    title
        The kind of problem in short; when not given, the code's in :data:`PROBLEM_TITLES`,
        else the status's reason phrase.
    """

    def __init__(self, status: int, code: str, detail: str, *, title: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title or PROBLEM_TITLES.get(code) or status_title(status)
