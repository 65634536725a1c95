"""False and found live gaps of :class:`sensors.formats.gaps.LiveGapRule` on simulated straps.

Usage::

    python -m bench.live_gaps [--seeds 0-19] [--variants old,band@3,...] [--json]

The protocol (streams, truth, tuning and judging seeds, acceptance) is
docs/live_gap_hold_protocol.md. Beats with RR uniform 600-1100 ms; one notification per second
carrying the beats that ended in that second (an empty one when none did); arrival = send +
latency + lateness, in order; the beats of each notification timed as the BLE source times them
(:func:`sensors.heart_rate_measurement.beats_from_packet`, back-dated from arrival, never before
the previous beat) and fed in order to the rule, with :meth:`LiveGapRule.expire` at every
notification's arrival and at each hold's deadline (the source's timer),
:meth:`LiveGapRule.flush` at the end.

- ``A`` (the tests' stream, tests/sensors/test_recording.py): latency U(0, 0.05) s, 3 % of
  notifications U(0.5, 2.0) s late, 8 runs of 1-4 lost beats per 3000 beats.
- ``B`` (the harsh strap of sensors/formats/gaps.py's docstring): latency U(0, 1.0) s, 3 % of
  notifications U(0.5, 2.5) s late, 1 % of notifications lost.

A variant is ``old`` (sensors' :class:`LiveGapRule`, the causal rule the BLE source applies:
every jump a gap) or ``BACK_TO@HOLD_S`` (e.g. ``band@3``), :class:`HeldGapRule`: the rule of the
protocol, kept here (not in ``sensors``) because the judged result was negative. Per stream:
false live gaps (a live mark where no beat was lost) per 10,000 beats, true gaps found live (of
all true gaps), beats where live misses an ``infer_gaps`` mark of the recording (must be 0),
the share of beats held and their added latency (source clock: the time of the packet or
deadline that released them minus their arrival); and, for comparison, the same false and
found counts of ``infer_gaps`` alone (the replay of a recording without live marks).
"""

from __future__ import annotations

import argparse
import json
from collections import deque
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, cast

import numpy as np

from sensors.beat import Beat
from sensors.formats.gaps import _GAP_FRACTION_OF_RR, ENVELOPE_BEATS, LiveGapRule, infer_gaps
from sensors.heart_rate_measurement import HeartRateMeasurement, beats_from_packet

N_BEATS = 3000
_T = TypeVar("_T")
#: How far a held candidate's offset must come back down to be a late notification
#: (docs/live_gap_hold_protocol.md, V1-V4): under its 0.6-RR threshold, within the previous
#: band, to its middle, to its floor.
BackTo = Literal["threshold", "band", "middle", "floor"]


@dataclass(slots=True)
class _Held(Generic[_T]):
    """A beat waiting to be released: decided (``gap`` set) or a candidate still open."""

    item: _T
    gap: bool | None
    #: For an open candidate: the offsets of its before-window (max, min), its 0.6-RR threshold,
    #: the latest arrival that may still decide it, and how many beats came after it.
    before_max: float = 0.0
    before_min: float = 0.0
    threshold_s: float = 0.0
    deadline: float = 0.0
    seen: int = 0


class HeldGapRule(Generic[_T]):
    """The live rule with a held decision (docs/live_gap_hold_protocol.md), one beat at a time.

    Feed every beat of a stream, in order, from its first, with :meth:`take`; it returns the
    beats now decided, in order, each with whether it follows a gap by its timing. A beat
    whose offset did not jump comes straight back when nothing is held; a beat whose offset
    jumped (a *candidate*) is held, with the beats after it, until a later beat shows whether
    the offset stays up (a gap) or comes back down (a late notification, no gap), for at most
    ``hold_s`` on the source's clock (the ``arrived_at`` it passes). :meth:`expire` (any packet's
    arrival) ends holds whose time is up, :meth:`flush` ends every hold (disconnect, no skin
    contact, a silent strap): an open candidate is then a gap. ``hold_s = 0``: no hold, every
    candidate a gap at once (:class:`~sensors.formats.gaps.LiveGapRule` alone). ``back_to``
    is how far the offset must come back down (:data:`BackTo`; ``"band"`` unless told).

    Offsets are computed as :func:`~sensors.formats.gaps.infer_gaps` computes them on the
    stream's recording (``t_s`` minus the running sum of the RR intervals, 0 or below adding
    nothing), and a candidate is cleared only by an offset at or below that function's own
    threshold among the next ``W``, so every beat that function would mark, this rule marks.
    Pure: it reads no clock.
    """

    def __init__(
        self,
        window: int = ENVELOPE_BEATS,
        *,
        hold_s: float,
        back_to: BackTo = "band",
    ) -> None:
        if not hold_s >= 0:
            raise ValueError(f"hold_s must be >= 0, got {hold_s!r}")
        self._window = window
        self._hold_s = hold_s
        self._back_to: BackTo = back_to
        self._cum_ms = 0.0
        self._before: deque[float] = deque(maxlen=window)
        self._held: deque[_Held[_T]] = deque()

    @property
    def holding(self) -> bool:
        """Whether beats are held (a candidate waits for its decision)."""
        return bool(self._held)

    @property
    def deadline(self) -> float | None:
        """When the earliest open hold ends (source's clock): pass it to :meth:`expire` then."""
        open_ = [held.deadline for held in self._held if held.gap is None]
        return min(open_) if open_ else None

    def take(
        self, item: _T, t_s: float, rr_ms: float, arrived_at: float, *, gap: bool = False
    ) -> list[tuple[_T, bool]]:
        """Take the next beat; return the beats now decided, oldest first, with their gap.

        ``arrived_at``: when its packet arrived, on the source's clock (ends the holds whose
        time is up before this beat is looked at). ``gap``: the source already knows a gap
        precedes it (a reconnect, a skipped packet): it is one, without waiting.
        """
        self._expire(arrived_at)
        self._cum_ms += max(rr_ms, 0.0)
        d = t_s - self._cum_ms / 1000.0
        for held in self._held:
            if held.gap is None:
                held.seen += 1
                if self._back_down(held, d):
                    held.gap = False
                elif held.seen >= self._window - 1:
                    held.gap = True  # every offset infer_gaps looks at stayed up
        candidate = (
            bool(self._before)
            and rr_ms > 0
            and (d - max(self._before) > _GAP_FRACTION_OF_RR * rr_ms / 1000.0)
        )
        if candidate and not gap and self._hold_s > 0:
            self._held.append(
                _Held(
                    item,
                    None,
                    before_max=max(self._before),
                    before_min=min(self._before),
                    threshold_s=_GAP_FRACTION_OF_RR * rr_ms / 1000.0,
                    deadline=arrived_at + self._hold_s,
                )
            )
        else:
            self._held.append(_Held(item, gap or candidate))
        self._before.append(d)
        return self._release()

    def expire(self, now: float) -> list[tuple[_T, bool]]:
        """It is ``now`` on the source's clock: holds whose time is up end as gaps."""
        self._expire(now)
        return self._release()

    def flush(self) -> list[tuple[_T, bool]]:
        """Release every held beat; a candidate still open is a gap (the safe decision)."""
        for held in self._held:
            if held.gap is None:
                held.gap = True
        return self._release()

    def _expire(self, now: float) -> None:
        for held in self._held:
            if held.gap is None and held.deadline <= now:
                held.gap = True

    def _back_down(self, held: _Held[_T], d: float) -> bool:
        # the first condition is infer_gaps' own (same floats): one offset of the next W at or
        # below it, and infer_gaps cannot mark the candidate
        if d - held.before_max > held.threshold_s:
            return False
        if self._back_to == "band":
            return d <= held.before_max
        if self._back_to == "middle":
            return d <= (held.before_max + held.before_min) / 2.0
        if self._back_to == "floor":
            return d <= held.before_min
        return True  # "threshold"

    def _release(self) -> list[tuple[_T, bool]]:
        out: list[tuple[_T, bool]] = []
        while self._held and self._held[0].gap is not None:
            held = self._held.popleft()
            out.append((held.item, bool(held.gap)))
        return out


@dataclass(frozen=True)
class Stream:
    """One simulated strap: per-notification arrivals and the beats they carry."""

    rr_ms: np.ndarray  # every beat's interval (lost ones too)
    packet_of: np.ndarray  # the notification (index) each beat belongs to
    arrival: np.ndarray  # per notification (in order; NaN: lost)
    lost_beat: np.ndarray  # per beat: lost (its notification lost, or lost alone)


def simulate(kind: str, seed: int, n: int = N_BEATS) -> Stream:
    """Stream ``kind`` ("A" or "B") of ``n`` beats for ``seed``."""
    rng = np.random.default_rng([seed, ord(kind)])
    rr = rng.uniform(600, 1100, n)
    send = np.ceil(np.cumsum(rr) / 1000).astype(int)
    n_packets = int(send[-1])
    packet_of = send - 1
    lat_max, late_lo, late_hi = (0.05, 0.5, 2.0) if kind == "A" else (1.0, 0.5, 2.5)
    latency = rng.uniform(0, lat_max, n_packets)
    late = np.where(rng.random(n_packets) < 0.03, rng.uniform(late_lo, late_hi, n_packets), 0.0)
    arrival = np.maximum.accumulate(np.arange(1, n_packets + 1) + latency + late)
    lost_beat = np.zeros(n, dtype=bool)
    if kind == "A":
        for start in rng.choice(n - 20, 8 * n // 3000, replace=False):
            lost_beat[start : start + int(rng.integers(1, 5))] = True
    else:
        lost_packet = rng.random(n_packets) < 0.01
        lost_packet[0] = False
        lost_beat = lost_packet[packet_of]
        arrival = np.where(lost_packet, np.nan, arrival)
    return Stream(rr, packet_of, arrival, lost_beat)


@dataclass
class Result:
    """One rule on one stream (sums over seeds)."""

    beats: int = 0
    true_gaps: int = 0
    found: int = 0
    false: int = 0
    missed_inferred: int = 0
    held: int = 0
    latency_sum_s: float = 0.0
    latency_max_s: float = 0.0
    out_of_order: int = 0
    replay_found: int = 0
    replay_false: int = 0

    def summary(self) -> dict[str, float]:
        """The counts, as rates where the protocol reports rates."""
        return {
            "beats": self.beats,
            "false_per_10k": round(1e4 * self.false / max(self.beats, 1), 2),
            "found": self.found,
            "true_gaps": self.true_gaps,
            "missed_inferred": self.missed_inferred,
            "held_pct": round(100 * self.held / max(self.beats, 1), 2),
            "mean_added_latency_s": round(self.latency_sum_s / max(self.held, 1), 3),
            "max_added_latency_s": round(self.latency_max_s, 3),
            "out_of_order": self.out_of_order,
            "replay_false_per_10k": round(1e4 * self.replay_false / max(self.beats, 1), 2),
            "replay_found": self.replay_found,
        }


class _Old:
    """sensors' :class:`LiveGapRule` (the causal rule the BLE source applies), never holding."""

    deadline = None

    def __init__(self) -> None:
        self._rule = LiveGapRule()

    def take(self, item: int, t_s: float, rr_ms: float, _at: float) -> list[tuple[int, bool]]:
        return [(item, self._rule.follows_gap(t_s, rr_ms))]

    def expire(self, _now: float) -> list[tuple[int, bool]]:
        return []

    def flush(self) -> list[tuple[int, bool]]:
        return []


def rule_for(variant: str) -> HeldGapRule[int] | _Old:
    """``old`` or ``BACK_TO@HOLD_S``."""
    if variant == "old":
        return _Old()
    back_to, hold = variant.split("@")
    return HeldGapRule(hold_s=float(hold), back_to=cast(BackTo, back_to))


def run(stream: Stream, variant: str, result: Result) -> None:
    """Feed ``stream`` to the rule ``variant`` and add its counts to ``result``."""
    rule = rule_for(variant)
    kept = np.flatnonzero(~stream.lost_beat)
    # a kept beat follows a gap when the beat before it was lost
    truth = np.array([i > 0 and bool(stream.lost_beat[i - 1]) for i in kept])
    released: list[tuple[int, bool, float]] = []  # (kept index, gap, release time)
    beats: list[Beat] = []
    last_t: float | None = None
    for k, arrived in enumerate(stream.arrival):
        if np.isnan(arrived):
            continue  # lost notification
        now = float(arrived)
        # the source's timer ends each hold at its deadline, between packets
        while (deadline := rule.deadline) is not None and deadline <= now:
            released += [(i, g, deadline) for i, g in rule.expire(deadline)]
        mine = [int(j) for j in np.flatnonzero((stream.packet_of == k) & ~stream.lost_beat)]
        rr = tuple(float(stream.rr_ms[j]) for j in mine)
        timed = beats_from_packet(
            HeartRateMeasurement(70, rr_ms=rr),
            arrived_at=now,
            session_start=0.0,
            not_before_s=last_t,
        )
        for beat in timed:
            idx = len(beats)
            beats.append(beat)
            released += [(i, g, now) for i, g in rule.take(idx, beat.t_s, beat.rr_ms, now)]
        if timed:
            last_t = timed[-1].t_s
    end = float(np.nanmax(stream.arrival))
    released += [(i, g, end) for i, g in rule.flush()]
    order = [i for i, _, _ in released]
    result.out_of_order += int(order != list(range(len(beats))))
    live = np.zeros(len(beats), dtype=bool)
    for i, g, at in released:
        live[i] = g
        added = at - beats[i].arrived_at
        if added > 0:
            result.held += 1
            result.latency_sum_s += added
            result.latency_max_s = max(result.latency_max_s, added)
    t = np.array([b.t_s for b in beats])
    rr_kept = np.array([b.rr_ms for b in beats])
    inferred, _ = infer_gaps(rr_kept, t)
    result.beats += len(beats)
    result.true_gaps += int(truth.sum())
    result.found += int((live & truth).sum())
    result.false += int((live & ~truth).sum())
    result.missed_inferred += int((inferred & ~live).sum())
    result.replay_found += int((inferred & truth).sum())
    result.replay_false += int((inferred & ~truth).sum())


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    """Print the table (or JSON) for the seeds and variants asked for."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument(
        "--variants",
        default="old,threshold@2,band@2,middle@2,floor@2,threshold@3,band@3,middle@3,floor@3",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    seeds = _seeds(args.seeds)
    variants = args.variants.split(",")
    table: dict[str, dict[str, dict[str, float]]] = {}
    for kind in ("A", "B"):
        streams = [simulate(kind, s) for s in seeds]
        table[kind] = {}
        for variant in variants:
            result = Result()
            for stream in streams:
                run(stream, variant, result)
            table[kind][variant] = result.summary()
    if args.json:
        print(json.dumps({"seeds": args.seeds, "table": table}, indent=1))
        return
    print(f"seeds {args.seeds}, {N_BEATS} beats each")
    for kind, rows in table.items():
        print(f"stream {kind}")
        for variant, row in rows.items():
            print(f"  {variant:>12}  " + "  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
