"""Read-only access to a stored session, for reports and exports.

The service's database is opened read-only (:class:`api.storage.ReadOnlyDatabase`, SQLite
``mode=ro``) rather than through :class:`api.storage.Storage`: opening a ``Storage`` starts a
writer thread and marks the ``running`` sessions of a gone process ``interrupted``
(:mod:`api.storage.owners`), which a read needs not. The queries live in
:mod:`api.storage.readonly`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from api.errors import ApiError, SessionNotFoundError
from api.research.units import contact_code
from api.storage import ReadOnlyDatabase, StorageError
from sensors.contact import NoContactStretch, no_contact_stretches

__all__ = [
    "AmbiguousSessionError",
    "SessionSummary",
    "StoredSession",
    "list_sessions",
    "load_session",
    "resolve_session_id",
    "short_ids",
]

#: The shortest id prefix ``hrvpace sessions`` shows (longer where needed to be unique).
MIN_PREFIX = 8


class AmbiguousSessionError(ApiError, LookupError):
    """An id prefix matches more than one session; the message lists them."""


@dataclass(frozen=True)
class SessionSummary:
    """One row of ``hrvpace sessions``: a stored session without its beats.

    ``duration_s`` is the last beat's time on the session's timeline (0 without beats);
    ``source`` is the stored source description (``kind`` and, by kind, ``path``, ``device``,
    ``recording``); ``label`` the free-text label set in the history (``""`` when none).
    """

    session_id: str
    created_at: float
    ended_at: float | None
    state: str
    mode: str
    source: dict[str, Any]
    label: str
    n_beats: int
    duration_s: float

    def source_text(self) -> str:
        """The source in a few words: ``replay rest.txt``, ``ble Polar H10``, ``simulator``."""
        src = self.source
        kind = str(src.get("kind", "?"))
        for key in ("recording", "path", "device_name", "name", "device", "address"):
            if src.get(key):
                value = str(src[key])
                return f"{kind} {Path(value).name if key == 'path' else value}"
        return kind


def list_sessions(database: Path) -> list[SessionSummary]:
    """Every stored session, oldest first (read-only; a running server is not disturbed).

    Raises
    ------
    ApiError
        The database cannot be opened.
    """
    with _open(database) as db:
        rows = db.session_overview()
    out = []
    for r in rows:
        options = json.loads(r["options_json"] or "{}")
        out.append(
            SessionSummary(
                session_id=r["id"],
                created_at=float(r["created_at"]),
                ended_at=None if r["ended_at"] is None else float(r["ended_at"]),
                state=r["state"],
                mode=r["mode"],
                source=json.loads(r["source_json"] or "{}"),
                label=str(options.get("label") or "") if isinstance(options, dict) else "",
                n_beats=int(r["n"]),
                duration_s=float(r["t_last"] or 0.0),
            )
        )
    return out


def short_ids(ids: list[str]) -> dict[str, str]:
    """Each id's shortest prefix of at least :data:`MIN_PREFIX` characters no other id shares.

    The whole id when it is shorter.
    """
    out = {}
    for i in ids:
        n = min(MIN_PREFIX, len(i))
        while n < len(i) and any(o != i and o.startswith(i[:n]) for o in ids):
            n += 1
        out[i] = i[:n]
    return out


def resolve_session_id(database: Path, prefix: str) -> str:
    """The id of the one session whose id is ``prefix`` or starts with it.

    Raises
    ------
    SessionNotFoundError
        No session matches.
    AmbiguousSessionError
        Several match; the message lists each (id, start, source) so a longer prefix can be
        chosen.
    ApiError
        The database cannot be opened.
    """
    p = prefix.strip()
    if not p:
        raise SessionNotFoundError("an empty session id matches nothing")
    sessions = list_sessions(database)
    exact = [s for s in sessions if s.session_id == p]
    if exact:
        return exact[0].session_id
    matches = [s for s in sessions if s.session_id.startswith(p)]
    if not matches:
        raise SessionNotFoundError(f"no session {p!r} in {database} (hrvpace sessions lists them)")
    if len(matches) > 1:
        listed = "; ".join(
            f"{s.session_id} ({_iso_minute(s.created_at)}, {s.source_text()})" for s in matches
        )
        raise AmbiguousSessionError(
            f"the id prefix {p!r} matches {len(matches)} sessions: {listed}; give more characters"
        )
    return matches[0].session_id


def _iso_minute(t: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class StoredSession:
    """Everything stored about one session, in plain Python / numpy.

    Beat arrays have one entry per stored beat, in ``idx`` order; ``t_s`` is the session's beat
    timeline (s), ``arrived_at`` Unix seconds, ``contact`` ``1``/``0``/``-1`` (unknown),
    ``hr_bpm`` NaN where the strap sent none. ``metrics`` are the stored metric snapshots (one
    dict per analysed window, ``t_s`` = window end); ``micro_breaks`` the micro-break events
    (``kind``, ``t_s``, ``data``); ``checkins`` the check-ins of the session with ``t_s`` mapped
    onto the beat timeline (``None`` before the first or without beats); ``assessments`` the
    stored assessment events; ``no_contact`` the stretches without skin contact the source
    reported (:mod:`sensors.contact`; none for a session stored before hrvpace kept them).
    ``live_settings_json`` is how its live windows were made as stored when it started
    (``hrv.live_settings``, JSON text), ``None`` for a session stored before hrvpace kept them.
    ``paced_runs_json`` is when its pacer ran (``[[start_t_s, stop_t_s or null], ...]``, JSON
    text, :meth:`api.pipeline.Pipeline.store_paced_runs`; ``[]`` from its creation until it
    paces), ``None`` for a session stored before hrvpace kept them.
    """

    session_id: str
    info: dict[str, Any]
    source: dict[str, Any]
    options: dict[str, Any]
    idx: NDArray[np.int64]
    t_s: NDArray[np.float64]
    rr_ms: NDArray[np.float64]
    arrived_at: NDArray[np.float64]
    contact: NDArray[np.int8]
    gap_before: NDArray[np.bool_]
    hr_bpm: NDArray[np.float64]
    metrics: list[dict[str, Any]]
    micro_breaks: list[dict[str, Any]]
    checkins: list[dict[str, Any]]
    assessments: list[dict[str, Any]]
    no_contact: list[NoContactStretch] = field(default_factory=list)
    live_settings_json: str | None = None
    paced_runs_json: str | None = None

    @property
    def n_beats(self) -> int:
        """Beats (RR intervals) stored."""
        return int(self.rr_ms.size)


def _open(path: Path) -> ReadOnlyDatabase:
    if not path.is_file():
        raise ApiError(f"{path}: no hrvpace database here (see --data-dir)")
    try:
        return ReadOnlyDatabase(path)
    except StorageError as exc:
        raise ApiError(str(exc)) from exc


def _real_time(source: dict[str, Any]) -> bool:
    """Whether a stored session's source ran in real time, so its arrivals follow its beats.

    A strap (``ble``) always does; a simulator or a replay only at speed 1 (its stored
    ``speed``; a description without one was stored before speeds could be set, at 1). At any
    other speed the beat times run on the source's clock while ``arrived_at`` is the wall
    clock: a simulator at 1.5 or 0.5 stamps a beat at ``t_s`` at ``t_s / speed`` after the
    start, a replay at 10 or ``max`` likewise.
    """
    if source.get("kind") == "ble":
        return True
    speed = source.get("speed", 1.0)
    if speed is None:
        speed = 1.0
    return isinstance(speed, int | float) and not isinstance(speed, bool) and float(speed) == 1.0


def _checkin_t_s(
    at: float, t_s: NDArray[np.float64], arrived: NDArray[np.float64], *, real_time: bool
) -> float | None:
    """A check-in's Unix time on the beat timeline, or ``None`` when it cannot be placed.

    Live beats arrive at ``t0 + t_s + latency``: ``t0`` is the median of ``arrived_at - t_s``
    (robust to the latency of single packets). That holds only when the source ran in real
    time (``real_time``, :func:`_real_time`): a simulator or a replay at any other speed than 1
    stores wall-clock arrivals that do not follow the beat timeline, and its check-ins are not
    placed. Nor are they when the arrivals span less than half the beat timeline's span (a
    sped-up source stored without its speed), nor a check-in more than a minute outside the
    session.
    """
    if not real_time or t_s.size < 2:
        return None
    span = float(t_s[-1] - t_s[0])
    if not float(arrived[-1] - arrived[0]) >= 0.5 * span:
        return None
    t0 = float(np.median(arrived - t_s))
    x = at - t0
    if x < -60.0 or x > float(t_s[-1]) + 60.0:
        return None
    return x


#: Columns of a session row kept as JSON text: read into fields of their own, not ``info``.
_JSON_COLUMNS = ("source_json", "options_json", "live_settings_json", "paced_runs_json")


def load_session(database: Path, session_id: str) -> StoredSession:
    """Read one session from the database file ``database``.

    Raises
    ------
    SessionNotFoundError
        No session with that id.
    ApiError
        The database cannot be opened.
    """
    with _open(database) as db:
        row = db.session_row(session_id)
        if row is None:
            raise SessionNotFoundError(f"no session {session_id!r} in {database}")
        keys = row.keys()
        info = {k: row[k] for k in keys if k not in _JSON_COLUMNS}
        # a database not yet migrated (read-only here) has no such column
        live_settings_json = row["live_settings_json"] if "live_settings_json" in keys else None
        paced_runs_json = row["paced_runs_json"] if "paced_runs_json" in keys else None
        beats = db.beat_rows(session_id)
        metrics = db.metric_snapshots(session_id)
        micro = db.micro_break_events(session_id)
        checkins = db.session_checkins(session_id)
        assessments = db.session_assessments(session_id)
        contact_changes = db.contact_changes(session_id)
    n = len(beats)
    idx = np.array([b[0] for b in beats], dtype=np.int64)
    t_s = np.array([b[1] for b in beats], dtype=np.float64)
    arrived = np.array([b[3] for b in beats], dtype=np.float64)
    contact = np.array([contact_code(b[4]) for b in beats], dtype=np.int8)
    hr = np.array([np.nan if b[6] is None else b[6] for b in beats], dtype=np.float64)
    source = json.loads(row["source_json"] or "{}")
    real_time = _real_time(source) if isinstance(source, dict) else False
    for c in checkins:
        c["t_s"] = _checkin_t_s(float(c["at"]), t_s, arrived, real_time=real_time)
    return StoredSession(
        session_id=session_id,
        info=info,
        source=source,
        options=json.loads(row["options_json"] or "{}"),
        idx=idx,
        t_s=t_s,
        rr_ms=np.array([b[2] for b in beats], dtype=np.float64).reshape(n),
        arrived_at=arrived,
        contact=contact,
        gap_before=np.array([bool(b[5]) for b in beats], dtype=np.bool_).reshape(n),
        hr_bpm=hr,
        metrics=metrics,
        micro_breaks=micro,
        checkins=checkins,
        assessments=assessments,
        # a beat whose packet said no contact does not end a stretch (sensors.contact)
        no_contact=no_contact_stretches(contact_changes, t_s[contact != 0].tolist()),
        live_settings_json=live_settings_json,
        paced_runs_json=paced_runs_json,
    )
