"""``GET /api/v1/sessions/{id}/report``: the session's self-contained HTML report.

The same report as ``hrvpace report SESSION_ID`` (:mod:`api.research.report`: tachogram,
RMSSD/coherence trend with micro-breaks and check-ins, spectrum, assessment, break effects),
built on request from the stored session, for the companion page's History. It needs the
``research`` extra (matplotlib): without it the answer is 501 with the reason. Built off the event
loop, one at a time (matplotlib's pyplot is not thread-safe).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from api.errors import STORE_BUSY_RESPONSE, SessionNotFoundError
from api.research import MissingExtraError
from api.research.report import build_report, from_session  # here, not in the worker thread
from api.research.store import load_session
from api.routes._deps import StorageDep
from api.sessions import stored_within_cap
from hrv.errors import HrvpaceError

router = APIRouter(prefix="/api/v1/sessions", tags=["reports"])

_BUILD_LOCK = threading.Lock()


def _build(database: Path, session_id: str) -> str:
    """The report's HTML, built in a worker thread, one at a time.

    matplotlib, imported by the first plot, is so imported by one thread, and its pyplot is not
    thread-safe. hrvpace's own modules are imported above, on the main thread
    (tests/api/test_thread_imports.py).
    """
    with _BUILD_LOCK:
        session = load_session(database, session_id)
        if session.n_beats == 0:
            raise HTTPException(status.HTTP_409_CONFLICT, f"session {session_id} has no beats")
        doc, _plots = build_report(from_session(session, database=database))
    return doc


@router.get(
    "/{session_id}/report",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}},
        404: {},
        409: {"description": "The session has no beats yet"},
        501: {"description": "Reports need the research extra (matplotlib)"},
        **STORE_BUSY_RESPONSE,
    },
)
async def session_report(session_id: str, request: Request, storage: StorageDep) -> HTMLResponse:
    """The session's HTML report (plots inline), as ``hrvpace report`` writes it."""
    row = await asyncio.to_thread(storage.get_session, session_id)
    if row is None:
        raise SessionNotFoundError(f"no session with id {session_id[:64]!r}")
    await stored_within_cap(storage.flush())  # the latest queued beats are in the file
    database: Path = request.app.state.settings.database_path
    try:
        doc = await asyncio.to_thread(_build, database, session_id)
    except MissingExtraError as exc:
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, str(exc)) from exc
    except HrvpaceError as exc:  # the stored data cannot be analysed: say why
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return HTMLResponse(doc)
