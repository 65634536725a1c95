"""hrv.ectopy_check (frequent-ectopy warning) on synthetic series; MIT-BIH: test_ectopy_mitdb."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

import hrv
from hrv import EctopyCheck, HrvInputError, clean, ectopy_check

Rr = NDArray[np.float64]


def _sinus(n: int, seed: int = 1) -> Rr:
    """Sinus rhythm: 850 ms, respiratory sinus arrhythmia of +-40 ms, 12 ms beat noise."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    rr: Rr = 850.0 + 40.0 * np.sin(2 * np.pi * i / 4.5) + rng.normal(0.0, 12.0, n)
    return rr


def _with_bigeminy(sinus: Rr, start: int, stop: int, seed: int = 2) -> Rr:
    """Every other beat from ``start`` premature (60-72 % of the sinus interval) and followed by
    a compensatory pause (the two intervals sum to two sinus intervals, +-15 ms)."""
    rng = np.random.default_rng(seed)
    rr = sinus.copy()
    for k in range(start, stop, 2):
        short = rng.uniform(0.60, 0.72) * sinus[k]
        rr[k] = short
        rr[k + 1] = 2 * sinus[k] - short + rng.normal(0.0, 15.0)
    return rr


def _check(rr: Rr) -> EctopyCheck:
    c = clean(rr)
    return ectopy_check(c.rr_ms, gaps=c.gaps, labels=c.labels)


def test_exported() -> None:
    assert hrv.ectopy_check is ectopy_check
    assert "ectopy_check" in hrv.__all__ and "EctopyCheck" in hrv.__all__


def test_a_bigeminy_run_the_correction_leaves_warns() -> None:
    """100 premature-compensatory couplets in 400 beats with natural variability: hrv.clean
    labels 38 % of the intervals ectopic but leaves many couplets (corrected RMSSD about five
    times the sinus RMSSD); 12 % of the corrected steps exceed 20 %, above the 8 % limit."""
    sinus = _sinus(400)
    rr = _with_bigeminy(sinus, 100, 300)
    c = clean(rr)
    corrected = hrv.time_domain(c.rr_ms).rmssd_ms
    true = hrv.time_domain(sinus).rmssd_ms
    assert corrected is not None and true is not None and corrected > 2 * true
    check = ectopy_check(c.rr_ms, gaps=c.gaps, labels=c.labels)
    assert check.assessed and check.unreliable
    assert check.irregular_pct is not None and check.irregular_pct >= 8.0
    assert check.n_steps == c.rr_ms.size - 1
    assert check.ectopic_labelled_pct is not None and check.ectopic_labelled_pct > 10.0
    assert check.reason is not None
    assert "frequent ectopy" in check.reason and "labelled ectopic" in check.reason
    assert "after correction" in check.reason and "corrected HRV unreliable" in check.reason


def test_bigeminy_uncorrected_warns_and_a_clean_series_does_not() -> None:
    sinus = _sinus(400)
    raw = ectopy_check(_with_bigeminy(sinus, 0, 400))
    assert raw.unreliable and raw.irregular_pct is not None and raw.irregular_pct > 80.0
    assert raw.ectopic_labelled_pct is None  # no labels given
    # the reason says what was checked: a raw series is not "after correction"
    told = ectopy_check(_with_bigeminy(sinus, 0, 400), corrected=False)
    assert told.reason is not None and "in the uncorrected series" in told.reason
    assert "correction" not in told.reason and "corrected HRV" not in told.reason
    assert (told.unreliable, told.irregular_pct) == (raw.unreliable, raw.irregular_pct)
    quiet = _check(sinus)
    assert quiet.assessed and not quiet.unreliable and quiet.reason is None
    assert quiet.irregular_pct == 0.0


def test_a_few_isolated_premature_beats_do_not_warn() -> None:
    """Six premature beats in 400 (1.5 %): corrected by hrv.clean, and even uncorrected they
    make about 4 % irregular steps, under the limit."""
    sinus = _sinus(400)
    rr = sinus.copy()
    for k in (50, 110, 170, 230, 290, 350):
        rr[k], rr[k + 1] = 0.65 * sinus[k], 1.35 * sinus[k]
    assert not _check(rr).unreliable
    uncorrected = ectopy_check(rr)
    assert not uncorrected.unreliable
    assert uncorrected.irregular_pct is not None and 3.0 < uncorrected.irregular_pct < 8.0


def test_limit_is_inclusive() -> None:
    """50 steps, 4 of them (8 %) irregular: warns; 3 (6 %) does not."""
    rr = np.full(51, 800.0)
    rr[[10, 30]] = 1100.0  # each makes two irregular steps
    check = ectopy_check(rr)
    assert check.n_steps == 50 and check.irregular_pct == pytest.approx(8.0)
    assert check.unreliable
    rr[30] = 800.0
    rr[50] = 1100.0  # the last interval: one step
    assert not ectopy_check(rr).unreliable


def test_short_series_is_not_assessed() -> None:
    """Fewer than 30 successive differences: no decision, even for pure bigeminy."""
    rr = np.tile([550.0, 1050.0], 10)  # 20 intervals, 19 steps
    check = ectopy_check(rr)
    assert not check.assessed and not check.unreliable
    assert check.n_steps == 19 and check.irregular_pct == pytest.approx(100.0)
    assert check.reason is not None and "not assessed" in check.reason
    assert ectopy_check(np.tile([550.0, 1050.0], 16)).unreliable  # 31 steps


@pytest.mark.parametrize("rr", [np.zeros(0), np.array([800.0])])
def test_empty_and_single_interval(rr: Rr) -> None:
    check = ectopy_check(rr)
    assert not check.assessed and not check.unreliable
    assert check.n_steps == 0 and check.irregular_pct is None


def test_all_gaps_and_steps_across_gaps() -> None:
    """No step is taken across a gap: a series of gaps only has nothing to assess, and a jump
    across a gap is not an irregular step."""
    rr = np.tile([550.0, 1050.0], 40)
    all_gaps = ectopy_check(rr, gaps=np.ones(rr.size, dtype=np.bool_))
    assert not all_gaps.assessed and all_gaps.n_steps == 0 and all_gaps.irregular_pct is None
    level = np.concatenate([np.full(40, 600.0), np.full(40, 1000.0)])
    gaps = np.zeros(level.size, dtype=np.bool_)
    gaps[40] = True
    across = ectopy_check(level, gaps=gaps)
    assert across.n_steps == 78 and across.irregular_pct == 0.0
    assert ectopy_check(level).irregular_pct == pytest.approx(100.0 / 79)


def test_labels_only_inform() -> None:
    rr = _sinus(200)
    labels = np.ones(200, dtype=np.int8)  # everything "ectopic": not the decision
    check = ectopy_check(rr, labels=labels)
    assert check.ectopic_labelled_pct == 100.0 and not check.unreliable
    assert ectopy_check(rr, labels=np.zeros(0, dtype=np.int8)).ectopic_labelled_pct is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"step_limit": 0.0}, "step_limit"),
        ({"share_limit": 1.5}, "share_limit"),
        ({"share_limit": float("nan")}, "share_limit"),
        ({"min_steps": 0}, "min_steps"),
        ({"min_steps": True}, "min_steps"),
        ({"gaps": np.zeros(3, dtype=np.bool_)}, "gaps"),
        ({"labels": np.zeros((2, 2))}, "labels"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(HrvInputError, match=match):
        ectopy_check(_sinus(50), **kwargs)  # type: ignore[arg-type]


def test_bad_rr_is_refused() -> None:
    with pytest.raises(HrvInputError):
        ectopy_check(np.array([0.8, 0.9, 0.85]))  # seconds
    with pytest.raises(HrvInputError):
        ectopy_check(np.array([800.0, np.nan, 810.0]))


def test_windows_equal_the_check_of_each_slice() -> None:
    """ectopy_windows against ectopy_check on every window's slice (loop oracle), with gaps,
    a bigeminy run that hrv.clean leaves, and windows too short to assess."""
    sinus = _sinus(1200, seed=5)
    c = clean(_with_bigeminy(sinus, 500, 760, seed=6))
    rr = np.asarray(c.rr_ms)
    gaps = np.asarray(c.gaps).copy()
    gaps[[50, 51, 900]] = True
    t = np.cumsum(rr) / 1000.0
    window_s = 60.0
    ends = np.arange(window_s, t[-1], 7.5)
    ends = np.concatenate([[5.0, 20.0], ends])  # windows of a few beats: not assessed
    cols = hrv.ectopy_windows(rr, ends, window_s=window_s, gaps=gaps)
    assert cols["ectopy_warning"].dtype == np.bool_
    assert cols["irregular_steps_pct"].shape == ends.shape
    for k, end in enumerate(ends):
        sel = np.flatnonzero((t > end - window_s) & (t <= end))
        g = gaps[sel].copy()
        if g.size:
            g[0] = False
        one = ectopy_check(rr[sel], gaps=g)
        assert cols["ectopy_warning"][k] == one.unreliable, end
        assert cols["ectopy_assessed"][k] == one.assessed, end
        if one.irregular_pct is None:
            assert np.isnan(cols["irregular_steps_pct"][k])
        else:
            assert cols["irregular_steps_pct"][k] == pytest.approx(one.irregular_pct, abs=1e-12)
    assert cols["ectopy_warning"].any() and not cols["ectopy_warning"].all()
    assert cols["ectopy_assessed"].dtype == np.bool_
    assert not cols["ectopy_assessed"][:2].any() and cols["ectopy_assessed"][2:].all()


def test_windows_bad_arguments() -> None:
    rr = _sinus(100)
    with pytest.raises(HrvInputError, match="window_s"):
        hrv.ectopy_windows(rr, [60.0], window_s=0.0)
    with pytest.raises(HrvInputError, match="t_end_s"):
        hrv.ectopy_windows(rr, [[60.0]], window_s=60.0)
    with pytest.raises(HrvInputError, match="t_end_s"):
        hrv.ectopy_windows(rr, [np.nan], window_s=60.0)
    empty = hrv.ectopy_windows(np.zeros(0), np.zeros(0), window_s=60.0)
    assert empty["ectopy_warning"].size == 0 and empty["irregular_steps_pct"].size == 0
    assert empty["ectopy_assessed"].size == 0


def test_a_regular_bigeminy_the_correction_flattens_warns_with_the_corrected_limit() -> None:
    """Ventricular bigeminy with a constant coupling interval and pause (600/1000 ms, a little
    noise): hrv.clean averages every couplet, nearly all intervals change and no irregular step
    is left. The step rule alone is silent (as judged on MIT-BIH); with ``corrected_limit``
    (what hrvpace analyze passes) the series is unreliable and the reason says why."""
    rng = np.random.default_rng(5)
    rr = np.tile([600.0, 1000.0], 200) + rng.normal(0.0, 3.0, 400)
    c = clean(rr)
    steps_only = ectopy_check(c.rr_ms, gaps=c.gaps, labels=c.labels)
    assert steps_only.assessed and not steps_only.unreliable  # what the review found
    assert steps_only.corrected_pct is not None and steps_only.corrected_pct > 90.0
    check = ectopy_check(
        c.rr_ms, gaps=c.gaps, labels=c.labels, corrected_limit=hrv.ectopy.CORRECTED_LIMIT
    )
    assert check.unreliable and check.reason is not None
    assert check.reason.startswith("heavily corrected")
    assert f"changed {check.corrected_pct:.1f} % of the intervals" in check.reason
    assert "limit 20 %" in check.reason


def test_corrected_limit_counts_corrections_not_removed_gaps() -> None:
    """The corrected share leaves removed gaps out: a clean sinus series with three dropouts
    removed as gaps does not warn, and the limit is inclusive on the changed intervals."""
    sinus = _sinus(400)
    labels = np.zeros(400, dtype=np.int8)
    labels[[100, 200, 300]] = int(hrv.BeatLabel.GAP)
    gaps = np.zeros(400, dtype=bool)
    gaps[[101, 201, 301]] = True
    quiet = ectopy_check(sinus, gaps=gaps, labels=labels, corrected_limit=0.05)
    assert quiet.corrected_pct == 0.0 and not quiet.unreliable
    labels[:20] = int(hrv.BeatLabel.ECTOPIC)  # 20 of the 397 counted intervals: 5.04 %
    assert ectopy_check(sinus, gaps=gaps, labels=labels, corrected_limit=0.05).unreliable
    labels[19] = 0  # 19 of 397: 4.79 %
    assert not ectopy_check(sinus, gaps=gaps, labels=labels, corrected_limit=0.05).unreliable
    # the raw series (corrected=False) was not corrected: the limit does not apply
    labels[:40] = int(hrv.BeatLabel.ECTOPIC)
    raw = ectopy_check(sinus, gaps=gaps, labels=labels, corrected=False, corrected_limit=0.05)
    assert raw.corrected_pct is None and not raw.unreliable


def test_corrected_pct_leaves_removed_gaps_out_of_both_counts() -> None:
    # labels: 0 normal, 1 ectopic, 5 extra, 6 gap (hrv.BeatLabel)
    assert hrv.corrected_pct([0, 0, 1, 5, 6, 6]) == 50.0  # 2 changed of 4 not gaps
    assert hrv.corrected_pct([0, 0, 0]) == 0.0
    assert hrv.corrected_pct([]) is None and hrv.corrected_pct([6]) is None
    check = hrv.ectopy_check(np.full(40, 800.0), labels=[0] * 30 + [1] * 5 + [6] * 5)
    assert check.corrected_pct == pytest.approx(100.0 * 5 / 35)
    with pytest.raises(hrv.HrvInputError, match="1-D"):
        hrv.corrected_pct([[0, 1]])
