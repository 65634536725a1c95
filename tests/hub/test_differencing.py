"""No linear combination of the hub's released answers isolates a member (a property test).

Random groups (k = 3) on a real SQLite file: members send two measures in random subsets of
weeks, every intervention that fits the weeks is made after the fact (single and two-week
T0/T1), and a member may delete their data between effects. Every released answer (a cell's
n and mean, an effect's n, mean_t0, mean_t1) is a known linear function of the members' weekly
values: ``n * mean`` is the sum of its members' values, an effect's T0 value of a member the
mean of their values over the T0 weeks they sent. The test builds those coefficient vectors
from what it sent (not from the hub's records), checks them against the released numbers,
and asks whether any combination of them, over all weeks of a measure at once, lies on one
member alone (a value, or a change between weeks): that would single the member out.
:func:`hub.privacy.effect_suppression` explains the rule that makes the answer no.
"""

from __future__ import annotations

import datetime as dt
import doctest
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import hub.privacy
from hub.db import connect
from hub.store import HubStore
from tests.hub.conftest import GROUP_DAY, JOIN_DAY, WEEK, Clock

K = 3
N_WEEKS = 5
METRICS = ("resting_rmssd_ms", "stress")
#: A variable: a member's weekly value of one week (index into the weeks).
Var = tuple[str, int]


@dataclass
class Released:
    """One released answer: its ``n * mean`` as a linear function of weekly values."""

    label: str
    coef: dict[Var, float]
    total: float  # n * mean as released
    tol: float  # the release's rounding, times n


@dataclass
class Scenario:
    store: HubStore
    clock: Clock
    gid: str
    tokens: dict[str, str]  # name -> token
    ids: dict[str, str] = field(default_factory=dict)  # name -> member id
    #: (metric, week) -> {name: weekly value} of what each member sent (whole weeks)
    sent: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)


def _monday(w: int) -> dt.date:
    return WEEK + dt.timedelta(days=7 * w)


StoreMaker = Callable[[int], tuple[HubStore, Clock]]


@pytest.fixture
def new_store(tmp_path: Path) -> Iterator[StoreMaker]:
    """Hub stores on fresh SQLite files in ``tmp_path``, their clocks on the group's day."""
    engines: list[sa.Engine] = []

    def make(i: int) -> tuple[HubStore, Clock]:
        engine = connect(f"sqlite:///{tmp_path / f'hub{i}.sqlite3'}")
        engines.append(engine)
        clock = Clock()
        clock.at(GROUP_DAY)
        return HubStore(engine, clock=clock), clock

    yield make
    for e in engines:
        e.dispose()


def _scenario(store: HubStore, clock: Clock, rng: random.Random) -> Scenario:
    """Members sending each measure in week sets drawn from a small pool (so that weeks with
    the same set, whose effects may be released, are common)."""
    gid = store.create_group("team", K)["id"]
    code = store.create_invite(gid, days=30, uses=50)["code"]
    clock.at(JOIN_DAY)
    names = [f"m{i}" for i in range(rng.randint(5, 8))]
    sc = Scenario(store, clock, gid, {})
    for name in names:
        member, token = store.join(code)
        sc.tokens[name], sc.ids[name] = token, member.id
    for metric in METRICS:
        pool = [
            {n for n in names if rng.random() < rng.choice((0.5, 0.8, 1.0))}
            for _ in range(rng.randint(1, 3))
        ]
        for w in range(N_WEEKS):
            who = rng.choice(pool)
            lo, hi = (20.0, 150.0) if metric == "resting_rmssd_ms" else (1.0, 5.0)
            sc.sent[(metric, w)] = {n: round(rng.uniform(lo, hi), 1) for n in sorted(who)}
    for w in range(N_WEEKS):
        clock.at(_monday(w) + dt.timedelta(days=6))
        items = []
        for name in names:
            values = {m: sc.sent[(m, w)][name] for m in METRICS if name in sc.sent[(m, w)]}
            if values:  # whole weeks: the weekly mean is the value sent
                items += [
                    (sc.tokens[name], _monday(w) + dt.timedelta(days=d), values) for d in range(7)
                ]
        outcomes = store.contribute_many(items)
        assert all(isinstance(o, str) for o in outcomes), outcomes
    clock.at(_monday(N_WEEKS - 1) + dt.timedelta(days=10))  # every week closed
    return sc


def _released(sc: Scenario, rng: random.Random) -> dict[str, list[Released]]:
    """Every released answer per measure; a random member deletes between two effects."""
    out: dict[str, list[Released]] = {m: [] for m in METRICS}
    summary = sc.store.summary(sc.gid, _monday(0), _monday(N_WEEKS - 1))
    for w, cell in enumerate(summary["periods"][-N_WEEKS:]):
        assert cell["start"] == _monday(w)
        for m in METRICS:
            stat = (cell.get("measures") or {}).get(m) or {"suppressed": True}
            if stat["suppressed"]:
                continue
            who = sc.sent[(m, w)]
            assert stat["n"] == len(who)
            out[m].append(
                Released(
                    f"cell W{w}",
                    {(n, w): 1.0 for n in who},
                    stat["n"] * stat["mean"],
                    stat["n"] * 0.005 + 1e-9,
                )
            )
    studies = [  # (T0 weeks, T1 weeks) inside the weeks sent
        (list(range(s - length, s)), list(range(s, s + length)))
        for length in (1, 2)
        for s in range(length, N_WEEKS - length + 1)
    ]
    rng.shuffle(studies)
    deleter = rng.choice([None, *sorted(sc.tokens)])
    delete_at = rng.randrange(len(studies) + 1)
    deleted: set[str] = set()
    for j, (t0, t1) in enumerate(studies):
        if j == delete_at and deleter is not None:
            member = sc.store.member_for_token(sc.tokens[deleter])
            assert member is not None
            sc.store.leave(member, delete=True)
            deleted.add(deleter)
        iv = sc.store.create_intervention(
            sc.gid, "after the fact", _monday(t1[0]), _monday(t1[-1]) + dt.timedelta(days=6), None
        )
        effect = sc.store.effect(iv["id"])
        for m in METRICS:
            g = effect["measures"][m]["group"]
            if g["suppressed"]:
                continue
            # the pairs as sent: members (not deleted) with a value in T0 and in T1, each
            # member's period value the mean over the weeks of it they sent
            sent0 = {n for w in t0 for n in sc.sent[(m, w)]}
            sent1 = {n for w in t1 for n in sc.sent[(m, w)]}
            pairs = (sent0 & sent1) - deleted
            assert g["n"] == len(pairs), (t0, t1, m)
            for period, key in ((t0, "mean_t0"), (t1, "mean_t1")):
                coef: dict[Var, float] = {}
                for n in pairs:
                    weeks = [w for w in period if n in sc.sent[(m, w)]]
                    coef.update({(n, w): 1.0 / len(weeks) for w in weeks})
                out[m].append(Released(f"{key} T0={t0} T1={t1}", coef, g["n"] * g[key], 1e-6))
    return out


def _isolated(rows: list[Released], truth: dict[Var, float]) -> list[str]:
    """Members for whom some combination of ``rows`` lies on their values alone.

    The released vectors span a space R; a member's values span E (unit vectors). A non-zero
    combination on that member alone exists when dim(R and E) = rank R + rank E -
    rank [R; E] > 0.
    """
    variables = sorted(truth)
    col = {v: i for i, v in enumerate(variables)}
    a = np.zeros((len(rows), len(variables)))
    for r, row in enumerate(rows):
        for v, c in row.coef.items():
            a[r, col[v]] = c
        # the model is the answer: the released n * mean is this combination of the values
        assert abs(a[r] @ np.array([truth[v] for v in variables]) - row.total) <= row.tol, row
    rank_a = np.linalg.matrix_rank(a) if rows else 0
    found = []
    for name in sorted({v[0] for v in variables}):
        e = np.zeros((sum(v[0] == name for v in variables), len(variables)))
        for i, v in enumerate(v for v in variables if v[0] == name):
            e[i, col[v]] = 1.0
        both = np.linalg.matrix_rank(np.vstack([a, e]))
        if rank_a + np.linalg.matrix_rank(e) - both > 0:
            found.append(name)
    return found


def _the_check_finds_the_reviews_attack() -> None:
    """The check itself: the cell over A-F, X and effects over A, B, C and D, E, F of one
    week isolate X (the review's three answers); the cell alone, or twice, isolates no one."""
    names = "ABCDEFX"
    truth = {(n, 0): float(i) for i, n in enumerate(names)}
    cell = Released("cell", {(n, 0): 1.0 for n in names}, sum(range(7)), 1e-9)
    abc = Released("I1", {(n, 0): 1.0 for n in "ABC"}, 0 + 1 + 2, 1e-9)
    d_f = Released("I2", {(n, 0): 1.0 for n in "DEF"}, 3 + 4 + 5, 1e-9)
    assert _isolated([cell, abc, d_f], truth) == ["X"]
    assert _isolated([cell, cell], truth) == []
    # pairwise, each two differ by >= 3 members: the check that was replaced let them pass
    assert all(len(set(p.coef) ^ set(q.coef)) >= 3 for p, q in [(cell, abc), (cell, d_f)])


@pytest.mark.parametrize("seed", range(40))
def test_no_combination_of_released_answers_isolates_a_member(
    new_store: StoreMaker, seed: int
) -> None:
    """Three random groups per seed: no member of any is isolated by the released answers,
    and each week's answers about a measure are all over that week's cell members."""
    _the_check_finds_the_reviews_attack()
    rng = random.Random(seed)
    released_effects = 0
    for i in range(3):
        store, clock = new_store(i)
        sc = _scenario(store, clock, rng)
        answers = _released(sc, rng)
        for m in METRICS:
            rows = answers[m]
            released_effects += sum(not r.label.startswith("cell") for r in rows)
            # one member set per week: every released answer's members in week w are the cell's
            for r in rows:
                for w in {w for _, w in r.coef}:
                    assert {n for n, x in r.coef if x == w} == set(sc.sent[(m, w)]), r.label
            truth = {
                (n, w): v for (mm, w), vals in sc.sent.items() if mm == m for n, v in vals.items()
            }
            assert _isolated(rows, truth) == [], (seed, i, m, [r.label for r in rows])
    # not vacuous: effects over a stable set are released
    assert released_effects > 0


def test_the_rule_docstring_examples() -> None:
    failures, tried = doctest.testmod(hub.privacy, verbose=False)
    assert tried >= 4 and failures == 0


def test_a_day_checked_open_but_landing_after_its_cell_was_computed_is_refused(
    tmp_path: Path,
) -> None:
    """The closing check passes just before a week closes, the cell is computed, then the row
    would land: it is refused in the same transaction (the cell left it out, an effect's
    weekly means would have counted it, a difference of one member's value)."""
    from hub.db import connect
    from hub.periods import closes_at, week_of
    from hub.store import HubStore
    from tests.hub.conftest import GROUP_DAY, JOIN_DAY, WEEK, Clock

    clock = Clock()
    clock.at(GROUP_DAY)
    store = HubStore(connect(f"sqlite:///{tmp_path / 'h.sqlite3'}"), clock=clock)
    gid = store.create_group("t", 3)["id"]
    code = store.create_invite(gid, days=30, uses=50)["code"]
    clock.at(JOIN_DAY)
    tokens = [store.join(code)[1] for _ in range(4)]
    clock.at(WEEK + dt.timedelta(days=6))
    items = [
        (t, WEEK + dt.timedelta(days=d), {"resting_rmssd_ms": 50.0})
        for t in tokens
        for d in range(7)
    ]
    assert all(isinstance(o, str) for o in store.contribute_many(items))
    clock.at(WEEK + dt.timedelta(days=10))
    store.summary(gid, WEEK, WEEK)  # the week's cell is computed
    clock.t = closes_at(week_of(WEEK)) - 1  # a request whose check ran just before the close
    (late,) = store.contribute_many([(tokens[0], WEEK, {"resting_rmssd_ms": 40.0})])
    assert isinstance(late, Exception) and "is closed and its summary computed" in str(late)
