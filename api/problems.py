"""An :class:`~api.errors.ApiError` raised with the status and code of one occurrence.

Every error the service answers is RFC 9457 ``application/problem+json`` with a stable ``code``;
the machinery (handlers, the ``Problem`` schema in the OpenAPI document) is the hub's too and
lives in :mod:`webconventions.problems`. A route that needs a one-off error raises
:class:`ProblemError` instead of a new subclass of :class:`~api.errors.ApiError`.
"""

from __future__ import annotations

from api.errors import ApiError
from webconventions.errors import status_title

__all__ = ["ProblemError"]


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
        The kind of problem in short; the status's reason phrase when not given.
    """

    def __init__(self, status: int, code: str, detail: str, *, title: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title or status_title(status)
