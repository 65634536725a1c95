"""A group's weekly summary: the stored cells of closed weeks, the rest marked why."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from hub import db
from hub.errors import BadRequestError
from hub.periods import closes_at, week_of_ts, weeks_between
from hub.privacy import median_releasable
from hub.store.sealing import SealingStore

__all__ = ["MAX_SUMMARY_WEEKS", "SummaryStore"]

#: At most this many weeks in one summary (two years).
MAX_SUMMARY_WEEKS = 106


class SummaryStore(SealingStore):
    """Weekly summaries of a group (sealing first what has closed)."""

    def summary(self, gid: str, first: dt.date, last: dt.date) -> dict[str, Any]:
        """Weekly cells of ``gid`` for the whole weeks from ``first`` to ``last``."""
        weeks = weeks_between(first, last)
        if not weeks:
            raise BadRequestError("'to' is before 'from'", code="bad_range")
        if len(weeks) > MAX_SUMMARY_WEEKS:
            raise BadRequestError(
                f"at most {MAX_SUMMARY_WEEKS} weeks per summary, asked {len(weeks)}",
                code="range_too_long",
            )
        # one instant for sealing and for telling closed weeks from open ones: read again
        # after sealing, a week that closed in between was neither stored nor open (review:
        # an AssertionError, 500, for a summary asked as a week closed)
        now = self.now()
        self.seal_through(gid, weeks[-1], now=now)
        with self.engine.connect() as conn:
            group = self._group(conn, gid)
            stored = {
                r["week"]: r
                for r in conn.execute(
                    sa.select(db.period_cells).where(
                        db.period_cells.c.group_id == gid,
                        db.period_cells.c.week >= weeks[0].start,
                        db.period_cells.c.week <= weeks[-1].start,
                    )
                ).mappings()
            }
        created = week_of_ts(group["created_at"])
        cells = []
        for w in weeks:
            cell: dict[str, Any] = {"period": w.label, "start": w.start, "end": w.end}
            row = stored.get(w.start)
            if row is not None:
                cell["status"] = "closed"
                cell["suppressed"] = bool(row["suppressed"])
                cell["reason"] = row["reason"]
                if row["body"] is not None:
                    cell.update(_without_small_medians(json.loads(row["body"])))
            elif w < created:
                cell.update(status="before_group", suppressed=True, reason="before_group")
            else:
                closes = dt.datetime.fromtimestamp(closes_at(w), tz=dt.UTC)
                assert now < closes_at(w), "a closed week is always stored"
                cell.update(status="open", suppressed=True, reason="open", closes=closes)
            cells.append(cell)
        return {
            "group_id": gid,
            "k": int(group["k"]),
            "by": "week",
            "from": weeks[0].start,
            "to": weeks[-1].end - dt.timedelta(days=1),
            "periods": cells,
        }


def _without_small_medians(body: dict[str, Any]) -> dict[str, Any]:
    """A stored cell as released: no median over fewer than five values.

    Cells stored by a hub before that rule keep their values, but their small medians are not
    shown.
    """
    for stat in (body.get("measures") or {}).values():
        if stat.get("median") is not None and not median_releasable(int(stat.get("n") or 0)):
            stat["median"] = None
    return body
