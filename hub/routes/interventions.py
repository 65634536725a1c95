"""Intervention studies (T0/T1) and their effects (admin token)."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Request, Response

from hub.db import MEASURES
from hub.errors import NotFoundError, conflict_responses
from hub.models import Effect, Intervention, InterventionCreate
from hub.routes._paging import DEFAULT_LIMIT, After, Limit, id_cursor, link_next
from hub.store import HubStore
from hub.store.groups import is_group_id
from hub.store.interventions import is_intervention_id

router = APIRouter(prefix="/hub/v1", tags=["interventions"])


def _store(request: Request) -> HubStore:
    store: HubStore = request.app.state.store
    return store


@router.post("/groups/{group_id}/interventions", status_code=201, response_model=Intervention)
def create_intervention(
    group_id: str, body: InterventionCreate, request: Request
) -> dict[str, object]:
    """Record an intervention; T1 is its whole weeks, T0 as many weeks just before."""
    control = body.control_group
    if control is not None and not is_group_id(control):  # as a path's id (hub.routes._ids)
        raise NotFoundError(f"control_group: no group {control!r}", code="group_not_found")
    return _store(request).create_intervention(
        group_id, body.name, body.start, body.end, body.control_group
    )


@router.get("/interventions", response_model=list[Intervention])
def list_interventions(
    request: Request, response: Response, limit: Limit = DEFAULT_LIMIT, after: After = None
) -> list[dict[str, object]]:
    """The interventions, oldest first, as created.

    A page of ``limit``; the next one's address is in ``Link: <...>; rel="next"`` (none on
    the last page), as the group list's.
    """
    # both lists page with hub.routes._paging
    key = None if after is None else id_cursor(after, is_intervention_id)
    items = _store(request).list_interventions(limit=limit + 1, after=key)
    if len(items) > limit:
        del items[limit:]
        link_next(request, response, limit, [items[-1]["id"]])
    return items


@router.get("/interventions/{intervention_id}", response_model=Intervention)
def get_intervention(intervention_id: str, request: Request) -> dict[str, object]:
    """One intervention with its T0 and T1 weeks; 404 ``intervention_not_found``."""
    return _store(request).get_intervention(intervention_id)


@router.get(
    "/interventions/{intervention_id}/effect",
    response_model=Effect,
    responses=conflict_responses("period_open"),
)
def effect(intervention_id: str, request: Request) -> dict[str, object]:
    """Mean change T0 -> T1 per measure over the members of every T0 and T1 week's cell.

    Released only when those are one and the same set of >= k members (else suppressed,
    ``differencing`` or ``fewer_than_k``). With its 95 % CI, Cohen's d_z and n; with a
    control group the difference in differences. Computed once.
    """
    return _store(request).effect(intervention_id)


CSV_COLUMNS = (
    "measure",
    "arm",
    "suppressed",
    "reason",
    "n",
    "mean_t0",
    "mean_t1",
    "mean_change",
    "sd_change",
    "ci_low",
    "ci_high",
    "d_z",
)


@router.get(
    "/interventions/{intervention_id}/effect.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **conflict_responses("period_open")},
)
def effect_csv(intervention_id: str, request: Request) -> Response:
    """The effect as CSV: one row per measure and arm (group, control, diff_in_diff).

    ``reason`` says why a row is withheld: ``fewer_than_k`` or ``differencing`` (an arm, as in
    the JSON), ``arm_suppressed`` (a difference in differences with an arm withheld).
    """
    result = _store(request).effect(intervention_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in MEASURES:
        entry = result["measures"][m]
        for arm in ("group", "control"):
            a = entry.get(arm)
            if a is None:
                continue
            writer.writerow(
                [m, arm, _bool(a["suppressed"]), *(_num(a.get(c)) for c in CSV_COLUMNS[3:])]
            )
        did = entry.get("diff_in_diff")
        if "control" in entry:
            writer.writerow(
                [
                    m,
                    "diff_in_diff",
                    _bool(did is None),
                    "arm_suppressed" if did is None else "",
                    "",
                    "",
                    "",
                    _num(did and did["estimate"]),
                    "",
                    _num(did and did["ci_low"]),
                    _num(did and did["ci_high"]),
                    "",
                ]
            )
    name = f"effect-{intervention_id}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _bool(value: bool) -> str:
    """``true``/``false``, as the JSON writes it (Python's ``True`` was written: review)."""
    return "true" if value else "false"


def _num(value: object) -> str:
    if value is None or value is False:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
