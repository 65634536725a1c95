"""Intervention studies (T0/T1): their records and effects, computed once T1 has closed.

An effect is computed from the weeks' released cells only: per measure, over exactly the
members every T0 and T1 cell was computed over, or withheld
(:func:`hub.privacy.effect_suppression`, the hub's rule 5). Interventions may be created for
past weeks: an effect over any weeks gives no member set, and no mean, that the cells had not
given.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import statistics
from collections.abc import Mapping
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub import db
from hub.db import MEASURES
from hub.errors import (
    BadRequestError,
    NotFoundError,
    PeriodOpenError,
)
from hub.periods import Week, closes_at, weeks_between
from hub.privacy import effect_suppression
from hub.stats import diff_in_diff, paired_change
from hub.store.sealing import SealingStore

__all__ = ["MAX_STUDY_WEEKS", "InterventionStore", "is_intervention_id"]

#: At most this many weeks in an intervention's T1 (and so in its T0).
MAX_STUDY_WEEKS = 26


def is_intervention_id(s: str) -> bool:
    """Whether ``s`` has an intervention id's shape: ``i`` and 16 lowercase hex digits.

    As :meth:`InterventionStore.create_intervention` makes them.
    """
    return len(s) == 17 and s[0] == "i" and all(c in "0123456789abcdef" for c in s[1:])


class InterventionStore(SealingStore):
    """Interventions of a group and their effects (over its frozen pairs)."""

    def create_intervention(
        self, gid: str, name: str, start: dt.date, end: dt.date, control: str | None
    ) -> dict[str, Any]:
        """Create an intervention of group ``gid`` from ``start`` to ``end`` (T0, T1 weeks).

        Its id begins with the microsecond of its second it was made in (5 hex digits, then 11
        random ones), as a group's (:meth:`hub.store.groups.GroupStore.create_group`): the list
        sorts by second, then id, so interventions made in one second list in the order made
        (admin review: with ids all random they came back in a random order).
        """
        if end < start:
            raise BadRequestError("'end' is before 'start'", code="bad_range")
        if len(weeks_between(start, end)) > MAX_STUDY_WEEKS:
            raise BadRequestError(
                f"an intervention lasts at most {MAX_STUDY_WEEKS} weeks", code="range_too_long"
            )
        if control == gid:
            raise BadRequestError("the control group is the group itself", code="bad_control")
        t = self.clock()
        micro = min(int((t - int(t)) * 1_000_000), 0xFFFFF)
        iid = f"i{micro:05x}{secrets.token_hex(6)[:11]}"
        with self.engine.begin() as conn:
            self._group(conn, gid)
            if control is not None:
                self._group(conn, control)
            conn.execute(
                db.interventions.insert().values(
                    id=iid,
                    group_id=gid,
                    name=name,
                    start=start,
                    end=end,
                    control_group_id=control,
                    created_at=int(t),
                )
            )
        return self.get_intervention(iid)

    @staticmethod
    def periods_of(start: dt.date, end: dt.date) -> tuple[list[Week], list[Week]]:
        """T0 and T1 of an intervention: T1 its whole weeks, T0 as many weeks just before."""
        t1 = weeks_between(start, end)
        t0 = [Week(t1[0].start - dt.timedelta(days=7 * (len(t1) - i))) for i in range(len(t1))]
        return t0, t1

    def _intervention_out(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        t0, t1 = self.periods_of(row["start"], row["end"])
        return {
            "id": row["id"],
            "group_id": row["group_id"],
            "name": row["name"],
            "start": row["start"],
            "end": row["end"],
            "control_group": row["control_group_id"],
            "t0": {"from": t0[0].start, "to": t0[-1].end - dt.timedelta(days=1)},
            "t1": {"from": t1[0].start, "to": t1[-1].end - dt.timedelta(days=1)},
            "ready": self.now() >= closes_at(t1[-1]),
        }

    def get_intervention(self, iid: str) -> dict[str, Any]:
        """One intervention; :class:`NotFoundError` ``intervention_not_found``."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(db.interventions).where(db.interventions.c.id == iid))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no intervention {iid!r}", code="intervention_not_found")
        return self._intervention_out(row)

    def list_interventions(
        self, gid: str | None = None, *, limit: int | None = None, after: str | None = None
    ) -> list[dict[str, Any]]:
        """Interventions (of group ``gid`` if given), oldest first, ties in id order.

        Ties in id order are in the order made (:meth:`create_intervention`; one made by a
        hub before that has a random id and sorts by it among those of its second).
        ``limit`` at most, those after the intervention ``after`` (an id, from a previous
        page): keyset paging as :meth:`hub.store.groups.GroupStore.list_groups` (interventions
        are never deleted: :class:`BadRequestError` for an ``after`` that is none).
        """
        i = db.interventions.c
        q = sa.select(db.interventions).order_by(i.created_at, i.id).limit(limit)
        if gid is not None:
            q = q.where(i.group_id == gid)
        with self.engine.connect() as conn:
            if after is not None:
                q = q.where(self._after(conn, db.interventions, after, "intervention"))
            return [self._intervention_out(r) for r in conn.execute(q).mappings()]

    def _cells_of(
        self, conn: Connection, gid: str, weeks: list[Week]
    ) -> list[tuple[dict[str, int], dict[str, Any]]]:
        """Each week's released cell: its member set (id -> measure mask) and its measures.

        Empty for a week whose cell was withheld (or not computed: before the group).
        """
        pm = db.period_members.c
        pc = db.period_cells.c
        masks: dict[dt.date, dict[str, int]] = {w.start: {} for w in weeks}
        for week, mid, mask in conn.execute(
            sa.select(pm.week, pm.member_id, pm.mask).where(
                pm.group_id == gid, pm.week >= weeks[0].start, pm.week <= weeks[-1].start
            )
        ):
            masks[week][mid] = int(mask)
        bodies: dict[dt.date, dict[str, Any]] = {}
        for week, body in conn.execute(
            sa.select(pc.week, pc.body).where(
                pc.group_id == gid, pc.week >= weeks[0].start, pc.week <= weeks[-1].start
            )
        ):
            if body is not None:
                bodies[week] = json.loads(body).get("measures") or {}
        return [(masks[w.start], bodies.get(w.start, {})) for w in weeks]

    def _arm_pairs(
        self, conn: Connection, gid: str, k: int, t0: list[Week], t1: list[Week]
    ) -> dict[str, tuple[str | None, list[str], np.ndarray, np.ndarray]]:
        """Per measure: why it is withheld (or ``None``), the pairs, their T0 and T1 values.

        The pairs must be exactly the member set of every T0 and T1 week's cell
        (:func:`hub.privacy.effect_suppression`); a member's T0 (T1) value is the mean of
        their weekly means over T0 (T1), each weekly mean computed as the cell's
        (:meth:`~hub.store.sealing.SealingStore._weekly_member_means`). A week whose weekly
        means over its set no longer give the cell's released mean (a member's day stored
        after the cell) withholds the effect too (``"differencing"``): the effect is only
        ever the cells' members with the cells' values.
        """
        weeks = t0 + t1
        cells = self._cells_of(conn, gid, weeks)
        weekly = self._weekly_member_means(conn, gid, weeks)
        out: dict[str, tuple[str | None, list[str], np.ndarray, np.ndarray]] = {}
        empty = np.array([], dtype=float)
        for i, m in enumerate(MEASURES):
            cell_sets = [{mid for mid, mask in c.items() if mask & (1 << i)} for c, _ in cells]
            values = [  # each week's weekly means of m of the members its cell counted
                {mid: y for mid, v in week.items() if mid in c and (y := v[m]) is not None}
                for (c, _), week in zip(cells, weekly, strict=True)
            ]
            pairs = set(values[0]).intersection(*values[1:])
            reason = effect_suppression(cell_sets, pairs, k)
            if reason is None and any(
                (body.get(m) or {}).get("mean")
                != round(statistics.fmean(vals[mid] for mid in pairs), 2)
                for (_, body), vals in zip(cells, values, strict=True)
            ):
                reason = "differencing"
            if reason is not None:
                out[m] = (reason, [], empty, empty)
                continue
            ids = sorted(pairs)
            xs = np.array([[vals[mid] for vals in values] for mid in ids], dtype=float)
            out[m] = (None, ids, xs[:, : len(t0)].mean(axis=1), xs[:, len(t0) :].mean(axis=1))
        return out

    def effect(self, iid: str) -> dict[str, Any]:
        """The intervention's effect, computed once when T1 has closed, then as stored.

        Raises
        ------
        PeriodOpenError
            T1 has not closed yet (the answer says when it will).
        """
        info = self.get_intervention(iid)
        t0, t1 = self.periods_of(info["start"], info["end"])
        if not info["ready"]:
            when = dt.datetime.fromtimestamp(closes_at(t1[-1]), tz=dt.UTC)
            raise PeriodOpenError(f"T1 closes at {when.isoformat()}; the effect is computed then")
        arms = [info["group_id"]] + ([info["control_group"]] if info["control_group"] else [])
        for gid in arms:  # the cells of T0 and T1 are released first, then compared with
            self.seal_through(gid, t1[-1])
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:i))"), {"i": iid})
            stored = conn.execute(
                sa.select(db.interventions.c.effect).where(db.interventions.c.id == iid)
            ).scalar_one()
            if stored is not None:
                return {**info, **json.loads(stored)}
            result = self._compute_effect(conn, iid, arms, t0 + t1)
            conn.execute(
                db.interventions.update()
                .where(db.interventions.c.id == iid)
                .values(effect=json.dumps(result))
            )
        return {**info, **result}

    def _compute_effect(
        self, conn: Connection, iid: str, arms: list[str], weeks: list[Week]
    ) -> dict[str, Any]:
        """Each arm's paired change per measure (:meth:`_arm_pairs`) and their DiD.

        The pairs of a released measure are recorded in ``intervention_members`` (ids only);
        by the rule they are the T0 and T1 cells' member sets.
        """
        t0, t1 = weeks[: len(weeks) // 2], weeks[len(weeks) // 2 :]
        per_arm: list[dict[str, Any]] = []
        released: dict[str, dict[str, int]] = {}
        for gid in arms:
            k = int(self._group(conn, gid)["k"])
            pairs = self._arm_pairs(conn, gid, k, t0, t1)
            arm: dict[str, Any] = {}
            for i, m in enumerate(MEASURES):
                reason, ids, x0, x1 = pairs[m]
                if reason is not None:
                    arm[m] = {"suppressed": True, "reason": reason}
                    continue
                r = paired_change(x0, x1)
                arm[m] = {"suppressed": False, "result": r}
                for mid in ids:
                    released.setdefault(gid, {}).setdefault(mid, 0)
                    released[gid][mid] |= 1 << i
            per_arm.append(arm)
        measures: dict[str, Any] = {}
        for m in MEASURES:
            entry: dict[str, Any] = {"group": _arm_json(per_arm[0][m])}
            if len(per_arm) > 1:
                entry["control"] = _arm_json(per_arm[1][m])
                a, b = per_arm[0][m], per_arm[1][m]
                if not a["suppressed"] and not b["suppressed"]:
                    did = diff_in_diff(a["result"], b["result"])
                    entry["diff_in_diff"] = {
                        "estimate": did.estimate,
                        "ci_low": did.ci_low,
                        "ci_high": did.ci_high,
                        "df": did.df,
                    }
                else:
                    entry["diff_in_diff"] = None
            measures[m] = entry
        for gid, masks in released.items():
            conn.execute(
                db.intervention_members.insert(),
                [
                    {"intervention_id": iid, "group_id": gid, "member_id": mid, "mask": mask}
                    for mid, mask in masks.items()
                ],
            )
        return {"computed_at": self.now(), "measures": measures}


def _arm_json(arm: Mapping[str, Any]) -> dict[str, Any]:
    if arm["suppressed"]:
        return {"suppressed": True, "reason": arm["reason"]}
    r = arm["result"]
    return {
        "suppressed": False,
        "n": r.n,
        "mean_t0": r.mean_t0,
        "mean_t1": r.mean_t1,
        "mean_change": r.mean_change,
        "sd_change": r.sd_change,
        "ci_low": r.ci_low,
        "ci_high": r.ci_high,
        "d_z": r.d_z,
    }
