"""The base of the errors a request to a service can end in (status, code, title).

Each service derives its own errors from :class:`ServiceError` and from
``hrv.errors.HrvpaceError`` (``api.errors.ApiError``, ``hub.errors.HubError``), so a handler of
:mod:`webconventions.problems` answers them all and the one hierarchy of ``hrv.errors`` stays
whole. This package cannot import ``hrv`` (it sits beside the services, not above the core), so
the base is a plain ``Exception``.
"""

from __future__ import annotations

from http import HTTPStatus

__all__ = ["ServiceError", "status_title"]


def status_title(status: int) -> str:
    """The reason phrase of an HTTP status (``404`` -> ``Not Found``), ``Error`` if unknown.

    Here, not in :mod:`webconventions.problems`, which re-exports it: that module imports
    FastAPI, and :class:`api.problems.ProblemError` needs only this, on the import path of
    every command line command (``hrvpace analyze`` serves nothing).
    """
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ServiceError(Exception):
    """A request to a service cannot be carried out.

    ``status``, ``code`` and ``title`` are what the client gets (``application/problem+json``);
    the message is the problem's ``detail`` and never quotes a person's data.

    Parameters
    ----------
    detail
        What went wrong this time, in words a UI can show as is.
    code
        A ``code`` for this occurrence instead of the class's (``group_not_found`` for a
        not-found error), optional.
    """

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"
    #: Extra response headers of this occurrence (a 503's ``Retry-After``), or ``None``.
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code
