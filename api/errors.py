"""Service-level errors, each with the HTTP status and the stable ``code`` a client sees.

Part of the one hierarchy of :mod:`hrv.errors`::

    ApiError                        a request to the service cannot be carried out (500)
    ├── SessionNotFoundError        404 session_not_found
    ├── SessionNotRunningError      409 session_not_running
    ├── StrapInUseError             409 strap_in_use (a running session holds that strap)
    ├── SessionStartFailedError     a session's start failed after its row was stored (failed)
    ├── StoreBusyError              503 store_busy (a stop's final state not stored in time)
    ├── RecordingNotFoundError      404 recording_not_found
    ├── RecordingUnreadableError    422 recording_unreadable (names the line, never quotes it)
    ├── BodyTooLargeError           413 body_too_large
    ├── DataDirInUseError           another server holds the data dir (``hrvpace serve``)
    ├── DataDirUnusableError        the data dir cannot be made or written (api/datadir.py)
    ├── SourceUnavailableError      501 source_unavailable (api/pipeline/sources.py)
    ├── SourceMisconfiguredError    503 source_misconfigured (api/pipeline/sources.py)
    └── TokenFileError              the token file is unusable (api/auth.py)

Each is also a :class:`webconventions.errors.ServiceError`, which
:mod:`webconventions.problems` turns (with FastAPI's own errors) into an RFC 9457
``application/problem+json`` answer with ``code``; a route raises these, never a bare string.
:class:`api.problems.ProblemError` is an ``ApiError`` with the status and code given when raised.
"""

from __future__ import annotations

from typing import Any

from hrv.errors import HrvpaceError
from webconventions.errors import ServiceError

__all__ = [
    "ApiError",
    "BodyTooLargeError",
    "ConfigError",
    "DataDirInUseError",
    "DataDirUnusableError",
    "RecordingNotFoundError",
    "RecordingUnreadableError",
    "SessionNotFoundError",
    "SessionNotRunningError",
    "SessionStartFailedError",
    "StoreBusyError",
    "StrapInUseError",
]


class ConfigError(HrvpaceError, ValueError):
    """The settings cannot be used (:mod:`api.settings`; not an :class:`ApiError`).

    A config file that is not TOML, a key no setting has, or a value out of range; the message
    names the file, the key and what is wrong. Defined here, not in :mod:`api.settings` (which
    re-exports it), so that the command line's entry point can catch it without importing
    pydantic and pydantic-settings on every run.
    """


class ApiError(HrvpaceError, ServiceError):
    """A request to the service cannot be carried out.

    ``status`` and ``code`` are what the client gets (``application/problem+json``); the
    message is the problem's ``detail`` and must never quote RR data or file content.
    """


class SessionNotFoundError(ApiError, LookupError):
    """No session with that id."""

    status = 404
    code = "session_not_found"
    title = "Session not found"


class SessionNotRunningError(ApiError):
    """The session exists but does not run in this process any more."""

    status = 409
    code = "session_not_running"
    title = "Session not running"


class StrapInUseError(ApiError):
    """A running session of this service already holds the strap a new session asks for.

    ``session_id`` names that session.
    """

    status = 409
    code = "strap_in_use"
    title = "Strap in use"

    def __init__(self, message: str, *, session_id: str) -> None:
        super().__init__(message)
        self.session_id = session_id


class SessionStartFailedError(ApiError):
    """A session's start failed after its row was stored; the row is stored ``failed``.

    ``session_id`` names the session; the message is the reason stored with it (the
    exception's type, never its text). ``POST /sessions`` answers that stored session (201,
    ``failed``), as it answers a source that fails at once; anywhere else it is the bug it is
    (500 ``internal_error``).
    """

    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(self, message: str, *, session_id: str) -> None:
        super().__init__(message)
        self.session_id = session_id


class StoreBusyError(ApiError):
    """A write was not stored within the cap (:data:`api.sessions.STOP_STORE_TIMEOUT_S`).

    The database is held by another program (a write lock) or the disk stalls. A stopped
    session's final state: the session is stopped all the same (its source closed, no beat
    taken after the stop) and its final state is stored once the database takes writes again;
    ``session_id`` names it. Any other write someone waits for (a label, a check-in, an
    answer, a report's flush): it stays queued and is stored once the database takes writes
    (:func:`api.sessions.stored_within_cap`). The answer has a ``Retry-After`` (seconds).
    """

    status = 503
    code = "store_busy"
    title = "Storage busy"

    def __init__(self, message: str, *, session_id: str | None, retry_after_s: int) -> None:
        super().__init__(message)
        self.session_id = session_id
        #: ``Retry-After``: when asking again may find it stored (the storage's next try).
        self.headers = {"Retry-After": str(retry_after_s)}


class RecordingNotFoundError(ApiError, LookupError):
    """No recording of that name in the recordings folder."""

    status = 404
    code = "recording_not_found"
    title = "Recording not found"


class RecordingUnreadableError(ApiError, ValueError):
    """An uploaded (or stored) recording breaks its format; the message names the line."""

    status = 422
    code = "recording_unreadable"
    title = "Recording unreadable"


class BodyTooLargeError(ApiError):
    """A request body is over its limit (``max_body_bytes``, ``max_recording_bytes``)."""

    status = 413
    code = "body_too_large"
    title = "Request body too large"


class DataDirInUseError(ApiError):
    """Another ``hrvpace serve`` process already uses this data dir."""

    code = "data_dir_in_use"
    title = "Data dir in use"


class DataDirUnusableError(ApiError):
    """The data dir cannot be created or written (a file in its path, no permission, full)."""

    code = "data_dir_unusable"
    title = "Data dir unusable"


#: The OpenAPI declaration of 503 ``store_busy`` (:class:`StoreBusyError`), for every route that
#: waits for a write (``api.sessions.stored_within_cap``): a generated client gets it typed.
STORE_BUSY_RESPONSE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "store_busy: the write was accepted but not stored within 10 s (the "
        "database locked by another program, a stalled disk); it stays queued and is stored "
        "once the database takes writes",
        "headers": {
            "Retry-After": {
                "description": "Seconds after which to ask again",
                "schema": {"type": "integer"},
            }
        },
    }
}
