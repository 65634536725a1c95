"""What the hub may release, decided in one place.

The rules (README "The hub: what it can and cannot learn about a person" explains them):

1. **Fixed periods.** Only whole ISO weeks are reported (:mod:`hub.periods`); a date range is
   snapped outward to whole weeks, so narrowing it cannot isolate a day or a person.
2. **Frozen membership.** A member counts in a week only if they were a member for the whole
   week: joined by its Monday 00:00 UTC and not left before its end. Joining or leaving within
   a week changes nothing in that week.
3. **Released once.** A week is computed when it closes (:data:`hub.periods.GRACE_DAYS` after
   its end; later contributions to it are refused) and stored; every later answer is that
   stored cell. Deleting one's contributions removes them from the database and from every
   cell not yet computed, but cannot be used to difference a released cell.
4. **k members.** A cell, or a measure in it, over fewer than the group's ``k`` members is
   suppressed: no values, no count.
5. **One member set per week and measure.** Every released statistic about week W and
   measure M of a group is computed over one and the same set of members, S(W, M): the
   members of W's frozen roster who took part in W and have a value of M there (a count has
   one on every day sent; :meth:`hub.store.sealing.SealingStore._weekly_member_means`), the
   set W's cell was computed over (stored with it, ``period_members``). A weekly cell is
   that set by construction; an intervention effect is released only when its pairs are
   exactly S(w, M) for every week w of its T0 and T1, each member's T0 (T1) value being the
   mean of their weekly means (:func:`effect_suppression`); otherwise it is suppressed
   (``"differencing"``). So no sum of released answers can be subtracted from another down
   to a person, however many answers are combined (the argument is in :func:`effect_suppression`).
5b. **Medians over at least five.** A median over 3 or 4 values is one member's exact value
   (the middle one), so a measure's median is released only when ``n >=``
   :data:`MEDIAN_MIN_N` (:func:`median_releasable`); below it the mean and n still are.
6. **One group per member.** A member token belongs to one group and a person's service shares
   with one hub membership at a time, so no person is in two groups' rosters of one week:
   groups cannot be nested or overlap, and no cross-group differencing exists.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

__all__ = ["MEDIAN_MIN_N", "effect_suppression", "enough", "median_releasable"]

#: The fewest values whose median is released (a median of 3 or 4 is one member's value).
MEDIAN_MIN_N = 5


def enough(n: int, k: int) -> bool:
    """Whether ``n`` members are enough to release a statistic of a group with minimum ``k``."""
    return n >= k


def median_releasable(n: int) -> bool:
    """Whether a median over ``n`` values may be released (``n >=`` :data:`MEDIAN_MIN_N`)."""
    return n >= MEDIAN_MIN_N


def effect_suppression(cell_sets: Sequence[Set[str]], pairs: Set[str], k: int) -> str | None:
    r"""Why an effect of one measure over ``pairs`` is withheld, or ``None`` to release it.

    The rule: every released statistic about a week W and a measure M of a group is over the
    same members, S(W, M), the set W's cell was computed over. ``cell_sets`` are S(w, M) for
    every week w of the effect's T0 and T1 (empty for a week whose cell, or M in it, was
    withheld), ``pairs`` the members with a value of M in every one of those weeks now. The
    effect is released only when ``pairs`` is every one of the ``cell_sets`` and holds ``k``
    or more members; each pair's T0 (T1) value is then the mean of their weekly means over
    T0 (T1), so the effect's ``mean_t0`` and ``mean_t1`` are the means of the T0 and T1
    cells' means: nothing about a mean that the cells had not given.

    Returns
    -------
    str or None
        ``"fewer_than_k"`` when a week's cell set (or the pairs) is below ``k``;
        ``"differencing"`` when the pairs are not exactly every week's cell set (a member
        missing from T0 or T1, or deleted since the cell was released); ``None``: release.

    Notes
    -----
    Why this and not a pairwise check. Take one week and one measure, the members' weekly
    values :math:`x_i`. A released mean over a set :math:`T` with its ``n`` is the sum
    :math:`\mathbf 1_T \cdot x`. A combination of released answers gives a person's value
    when a unit vector :math:`e_X` (or any non-zero vector on X alone) lies in the span of
    the released vectors. Checking released sets two at a time (their symmetric difference 0
    or at least k, the rule this replaces) does not bound that span: with a cell over
    :math:`S = \{A..F, X\}` and effects over :math:`\{A, B, C\}` and :math:`\{D, E, F\}`,
    every two sets differ by 3 or more, yet
    :math:`\mathbf 1_S - \mathbf 1_{ABC} - \mathbf 1_{DEF} = e_X` (the review's attack; the
    *differencing attack* of Dwork & Roth 2014, ch. 1, and the reconstruction from subset
    sums of Dinur & Nissim 2003). With this rule every released vector about (W, M) is a
    multiple of :math:`\mathbf 1_{S(W, M)}`, so the span is
    :math:`\{c \mathbf 1_{S(W, M)}\}`, which holds a vector on one member only if
    :math:`|S(W, M)| = 1 < k`. Over several weeks (a T0 or T1 of L weeks, member values
    averaged over its weeks) a released vector is a sum of week blocks, each a multiple of
    that week's :math:`\mathbf 1_{S(w, M)}`; a combination lying on one member's values
    (even a change :math:`x_{X,2} - x_{X,1}`) would need a week block that is a non-zero
    multiple of a set of one. A mean over each member's days of several weeks (weighted by
    how many days they sent) would not be such a sum, and could be subtracted from the
    cells' means to leave a weighted change of one member: hence weekly means averaged.

    The effect's other numbers (SD of the changes, CI, d_z) and the cells' medians are not
    sums but symmetric functions of the same set's values: they name no member and cannot
    be differenced against another set, since no other set about (W, M) is released. Like
    any k-anonymous release they can narrow what the group's values are as a whole (if all
    k values are alike, each is near the mean); that is k-anonymity's known limit
    (homogeneity, Machanavajjhala et al. 2007), not differencing. Cells suppress a set of
    fewer than k members, statistical disclosure control's threshold rule; releasing one
    set per cell and deriving every other table from the cells is its answer to
    disclosure by differencing of linked tables (Hundepool et al. 2012, ch. 4-5).

    References
    ----------
    Dwork C, Roth A (2014) The algorithmic foundations of differential privacy. Found
    Trends Theor Comput Sci 9(3-4):211-407, ch. 1 ("queries over large sets are not
    protective").
    Dinur I, Nissim K (2003) Revealing information while preserving privacy. Proc. PODS
    2003:202-210.
    Hundepool A, Domingo-Ferrer J, Franconi L, Giessing S, Schulte Nordholt E, Spicer K,
    de Wolf P-P (2012) Statistical Disclosure Control. Wiley, ch. 4 (magnitude tables,
    linked tables) and ch. 5 (frequency tables, disclosure by differencing).
    Machanavajjhala A, Kifer D, Gehrke J, Venkitasubramaniam M (2007) l-diversity: privacy
    beyond k-anonymity. ACM Trans Knowl Discov Data 1(1):3.

    Examples
    --------
    >>> S = {"a", "b", "c", "d"}
    >>> effect_suppression([S, S], S, k=3) is None
    True
    >>> effect_suppression([S, {"a", "b", "c"}], {"a", "b", "c"}, k=3)
    'differencing'
    >>> effect_suppression([S, S], {"a", "b", "c"}, k=3)  # d deleted since the cells
    'differencing'
    >>> effect_suppression([{"a", "b"}, {"a", "b"}], {"a", "b"}, k=3)
    'fewer_than_k'
    """
    if not cell_sets or not enough(len(pairs), k):
        return "fewer_than_k"
    if any(not enough(len(s), k) for s in cell_sets):
        return "fewer_than_k"
    if any(s != pairs for s in cell_sets):
        return "differencing"
    return None
