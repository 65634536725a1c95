"""RR series with a known rhythm for the service and page tests (sinus, then bigeminy)."""

from __future__ import annotations

import math

#: The bigeminy couplet: an early beat at 70 % of the sinus interval, then a pause at 130 %
#: (each early beat starts a premature pattern of :mod:`hrv.rhythm`, and the NN filter accepts
#: neither, > 20 % from the last accepted interval).
EARLY_MS, PAUSE_MS = 700.0, 1300.0


def sinus_then_bigeminy(sinus_s: float, bigeminy_s: float) -> tuple[list[float], float]:
    """RR (ms): ``sinus_s`` of sinus rhythm at 60 beats/min with a 6/min breathing swing of
    +-40 ms, then ``bigeminy_s`` of early beat / pause couplets (:data:`EARLY_MS`,
    :data:`PAUSE_MS`). Also the session time (s) of the first early beat."""
    rr: list[float] = []
    t_s = 0.0
    while t_s < sinus_s:
        x = 1000.0 + 40.0 * math.sin(2.0 * math.pi * t_s / 10.0)
        rr.append(x)
        t_s += x / 1000.0
    onset_s = t_s + EARLY_MS / 1000.0
    while t_s < sinus_s + bigeminy_s:
        rr += [EARLY_MS, PAUSE_MS]
        t_s += (EARLY_MS + PAUSE_MS) / 1000.0
    return rr, onset_s
