"""The ingest path's group commit (:mod:`hub.ingest`): contributions of concurrent requests
stored in one transaction, each request still answered as if it were alone (both backends)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from hub import db as hubdb
from hub.errors import ContributionRefusedError, UnauthorizedError
from hub.ingest import ContributionWriter
from hub.store import HubStore
from tests.hub.conftest import CLOSES, JOIN_DAY, WEEK, Hub


def _rows(hub: Hub) -> dict[tuple[str, dt.date], float | None]:
    c = hubdb.contributions.c
    with hub.engine.connect() as conn:
        return {
            (r[0], r[1]): r[2]
            for r in conn.execute(sa.select(c.member_id, c.day, c.resting_rmssd_ms))
        }


def test_a_batch_answers_each_contribution_as_alone(hub: Hub) -> None:
    gid = hub.group()
    hub.clock.at(JOIN_DAY)
    a, b, gone = hub.members(gid, 3)
    assert hub.client(gone).delete("/hub/v1/me", params={"delete": "false"}).status_code == 200
    hub.clock.at(WEEK + dt.timedelta(days=3))
    store = HubStore(hub.engine, clock=hub.clock)
    outcomes = store.contribute_many(
        [
            (a, WEEK, {"resting_rmssd_ms": 40.0}),
            ("hm_unknown", WEEK, {"resting_rmssd_ms": 41.0}),
            (b, WEEK - dt.timedelta(days=7), {"resting_rmssd_ms": 42.0}),  # before membership
            (gone, WEEK, {"resting_rmssd_ms": 43.0}),  # stopped sharing
            (b, WEEK, {"resting_rmssd_ms": 44.0}),
            (a, WEEK, {"resting_rmssd_ms": 45.0}),  # the same day again: the later wins
        ]
    )
    assert outcomes[0] == outcomes[4] == outcomes[5] == "2026-W02"
    assert isinstance(outcomes[1], UnauthorizedError)
    assert isinstance(outcomes[2], ContributionRefusedError)
    assert outcomes[2].code == "before_membership"
    assert isinstance(outcomes[3], UnauthorizedError)
    stored = _rows(hub)
    assert len(stored) == 2  # a's later value and b's; nothing else
    assert sorted(v for v in stored.values() if v is not None) == [44.0, 45.0]

    # a closed week is refused in a batch as alone, and the rest of the batch is stored
    hub.clock.at(CLOSES)
    later = WEEK + dt.timedelta(days=7)
    outcomes = store.contribute_many(
        [(a, WEEK + dt.timedelta(days=1), {"stress": 3.0}), (a, later, {"stress": 2.0})]
    )
    assert isinstance(outcomes[0], ContributionRefusedError)
    assert outcomes[0].code == "period_closed"
    assert outcomes[1] == "2026-W03"
    assert len(_rows(hub)) == 3


def test_concurrent_requests_share_transactions_and_get_their_own_answers(hub: Hub) -> None:
    gid = hub.group()
    hub.clock.at(JOIN_DAY)
    tokens = hub.members(gid, 40)
    hub.clock.at(WEEK + dt.timedelta(days=2))
    store = HubStore(hub.engine, clock=hub.clock)
    batches: list[int] = []
    many = store.contribute_many

    def counting(items):  # type: ignore[no-untyped-def]
        batches.append(len(items))
        return many(items)

    store.contribute_many = counting  # type: ignore[method-assign]
    writer = ContributionWriter(store)

    async def all_at_once() -> list[str | BaseException]:
        calls = [
            writer.contribute(t, WEEK, {"resting_rmssd_ms": 30.0 + i}) for i, t in enumerate(tokens)
        ]
        calls.append(writer.contribute("hm_unknown", WEEK, {}))
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        outcomes = asyncio.run(all_at_once())
    finally:
        writer.close()
    assert outcomes[:-1] == ["2026-W02"] * 40
    assert isinstance(outcomes[-1], UnauthorizedError)
    assert sum(batches) == 41 and max(batches) > 1  # grouped, every one stored once
    stored = _rows(hub)
    assert len(stored) == 40
    assert sorted(v for v in stored.values() if v is not None) == [30.0 + i for i in range(40)]
    # closed (the hub shutting down): refused at once, never left waiting on the queue
    with pytest.raises(RuntimeError, match="shutting down"):
        asyncio.run(writer.contribute(tokens[0], WEEK, {}))
