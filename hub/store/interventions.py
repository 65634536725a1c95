"""Intervention studies (T0/T1): their records and effects, computed once T1 has closed."""

from __future__ import annotations

import datetime as dt
import json
import secrets
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
from hub.privacy import differs_safely, enough
from hub.stats import diff_in_diff, paired_change
from hub.store.sealing import SealingStore

__all__ = ["MAX_STUDY_WEEKS", "InterventionStore"]

#: At most this many weeks in an intervention's T1 (and so in its T0).
MAX_STUDY_WEEKS = 26


class InterventionStore(SealingStore):
    """Interventions of a group and their effects (over its frozen pairs)."""

    def create_intervention(
        self, gid: str, name: str, start: dt.date, end: dt.date, control: str | None
    ) -> dict[str, Any]:
        """Create an intervention of group ``gid`` from ``start`` to ``end`` (T0, T1 weeks)."""
        if end < start:
            raise BadRequestError("'end' is before 'start'", code="bad_range")
        if len(weeks_between(start, end)) > MAX_STUDY_WEEKS:
            raise BadRequestError(
                f"an intervention lasts at most {MAX_STUDY_WEEKS} weeks", code="range_too_long"
            )
        if control == gid:
            raise BadRequestError("the control group is the group itself", code="bad_control")
        iid = "i" + secrets.token_hex(8)
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
                    created_at=self.now(),
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

    def list_interventions(self, gid: str | None = None) -> list[dict[str, Any]]:
        """Interventions (of group ``gid`` if given), oldest first."""
        q = sa.select(db.interventions).order_by(db.interventions.c.created_at)
        if gid is not None:
            q = q.where(db.interventions.c.group_id == gid)
        with self.engine.connect() as conn:
            return [self._intervention_out(r) for r in conn.execute(q).mappings()]

    def _roster(self, conn: Connection, gid: str, start_ts: int, end_ts: int) -> set[str]:
        """Members of ``gid`` for the whole span: joined by its start, not left before its end."""
        m = db.members.c
        q = sa.select(m.id).where(
            m.group_id == gid,
            m.joined_at <= start_ts,
            sa.or_(m.left_at.is_(None), m.left_at >= end_ts),
        )
        return {r[0] for r in conn.execute(q)}

    def _member_means(
        self, conn: Connection, gid: str, first: dt.date, end: dt.date, roster: set[str]
    ) -> dict[str, dict[str, float | None]]:
        """Each roster member's mean of each measure over days ``[first, end)`` (whole weeks).

        Only contributions received before their week closed count: one that passed the
        close-time check of :meth:`contribute` but was stored after the week was sealed is
        not a part of the week as reported (nor of an intervention's effect).
        """
        c = db.contributions.c
        weeks = weeks_between(first, end - dt.timedelta(days=1))
        on_time = sa.or_(
            *(sa.and_(c.day >= w.start, c.day < w.end, c.received_at < closes_at(w)) for w in weeks)
        )
        q = (
            sa.select(c.member_id, *(sa.func.avg(c[m]).label(m) for m in MEASURES))
            .where(c.group_id == gid, c.day >= first, c.day < end, on_time)
            .group_by(c.member_id)
        )
        out: dict[str, dict[str, float | None]] = {}
        for r in conn.execute(q).mappings():
            if r["member_id"] in roster:
                out[r["member_id"]] = {m: None if r[m] is None else float(r[m]) for m in MEASURES}
        return out

    def _arm_pairs(
        self, conn: Connection, gid: str, t0: list[Week], t1: list[Week]
    ) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
        """Per measure: the members with a value in both periods, their T0 and T1 means."""
        roster = self._roster(conn, gid, t0[0].start_ts, t1[-1].end_ts)
        m0 = self._member_means(conn, gid, t0[0].start, t0[-1].end, roster)
        m1 = self._member_means(conn, gid, t1[0].start, t1[-1].end, roster)
        out: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        for m in MEASURES:
            ids = sorted(
                i for i in m0.keys() & m1.keys() if m0[i][m] is not None and m1[i][m] is not None
            )
            out[m] = (
                ids,
                np.array([m0[i][m] for i in ids], dtype=float),
                np.array([m1[i][m] for i in ids], dtype=float),
            )
        return out

    def _released_sets(
        self, conn: Connection, gid: str, weeks: list[Week], measure_bit: int, exclude: str
    ) -> list[set[str]]:
        """Member sets of released statistics over the same data.

        The group's cells of ``weeks`` (members with the measure) and its other effects
        overlapping them.
        """
        sets: list[set[str]] = []
        pm = db.period_members.c
        for w in weeks:
            rows = conn.execute(
                sa.select(pm.member_id, pm.mask).where(pm.group_id == gid, pm.week == w.start)
            ).all()
            if rows:
                sets.append({r[0] for r in rows if int(r[1]) & measure_bit})
        im = db.intervention_members.c
        iv = db.interventions.c
        others = conn.execute(
            sa.select(iv.id, iv.start, iv.end).where(iv.effect.is_not(None), iv.id != exclude)
        ).all()
        for oid, start, end in others:
            o0, o1 = self.periods_of(start, end)
            if o1[-1].end <= weeks[0].start or o0[0].start >= weeks[-1].end:
                continue  # no week in common: nothing to subtract
            rows = conn.execute(
                sa.select(im.member_id, im.mask).where(
                    im.intervention_id == oid, im.group_id == gid
                )
            ).all()
            if rows:
                sets.append({r[0] for r in rows if int(r[1]) & measure_bit})
        return sets

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
        t0, t1 = weeks[: len(weeks) // 2], weeks[len(weeks) // 2 :]
        per_arm: list[dict[str, Any]] = []
        released: dict[str, dict[str, int]] = {}
        for gid in arms:
            k = int(self._group(conn, gid)["k"])
            pairs = self._arm_pairs(conn, gid, t0, t1)
            arm: dict[str, Any] = {}
            for i, m in enumerate(MEASURES):
                ids, x0, x1 = pairs[m]
                members = set(ids)
                if not enough(len(ids), k):
                    arm[m] = {"suppressed": True, "reason": "fewer_than_k"}
                    continue
                if not differs_safely(
                    members, self._released_sets(conn, gid, weeks, 1 << i, iid), k
                ):
                    arm[m] = {"suppressed": True, "reason": "differencing"}
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
