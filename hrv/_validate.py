"""Input checks shared by every metric of the HRV core (private)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv.errors import HrvInputError

__all__ = ["as_gaps", "as_rr_ms", "as_rr_ms_range"]

#: Below this median an "rr_ms" series is almost surely in seconds (a 100 ms median RR is 600 bpm).
_MIN_PLAUSIBLE_MEDIAN_MS = 100.0
#: Above this median an "rr_ms" series is almost surely in microseconds or samples (6 bpm).
_MAX_PLAUSIBLE_MEDIAN_MS = 10_000.0


def as_rr_ms(
    rr_ms: Any, *, name: str = "rr_ms", allow_empty: bool = True, allow_nonpositive: bool = False
) -> NDArray[np.float64]:
    """Return ``rr_ms`` as a 1-D float64 array after checking that it is a usable RR series.

    Units are never guessed: a series whose median is below 100 ms or above 10 s is rejected
    with a message that says which unit it looks like, instead of being silently rescaled.
    ``allow_nonpositive=True`` lets values <= 0 through (artefact correction labels them) and
    judges the units on the positive values only.

    Raises
    ------
    HrvInputError
        Not 1-D, not numeric (e.g. strings, bool, object), NaN or infinite values, values <= 0,
        or a median outside the plausible range for milliseconds. The message gives the index
        of the first offending value.
    """
    return _checked(rr_ms, name, allow_empty, allow_nonpositive)[0]


def as_rr_ms_range(rr_ms: Any, *, name: str = "rr_ms") -> tuple[NDArray[np.float64], float, float]:
    """:func:`as_rr_ms` (empty allowed, values > 0), with the smallest and largest value.

    The range comes free with the checks; it is ``(nan, nan)`` for an empty series.
    """
    return _checked(rr_ms, name, True, False)


def _checked(
    rr_ms: Any, name: str, allow_empty: bool, allow_nonpositive: bool
) -> tuple[NDArray[np.float64], float, float]:
    try:
        arr = np.asarray(rr_ms)
    except Exception as exc:  # ragged lists and the like
        raise HrvInputError(f"{name}: cannot be read as an array ({exc})") from exc
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise HrvInputError(f"{name}: expected numbers in milliseconds, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise HrvInputError(f"{name}: expected a 1-D series, got shape {arr.shape}")
    out = arr.astype(np.float64, copy=False)
    if out.size == 0:
        if allow_empty:
            return out, math.nan, math.nan
        raise HrvInputError(f"{name}: is empty")
    lo, hi = float(out.min()), float(out.max())  # NaN if any value is NaN
    positive = out
    if not (lo > 0.0 and hi < math.inf):
        bad = ~np.isfinite(out)
        if bad.any():
            i = int(np.argmax(bad))
            raise HrvInputError(
                f"{name}: value at index {i} is {float(out[i])!r} (NaN or infinite)"
            )
        nonpos = out <= 0
        if not allow_nonpositive:
            i = int(np.argmax(nonpos))
            raise HrvInputError(
                f"{name}: value at index {i} is {float(out[i])!r}; RR intervals must be > 0"
            )
        positive = out[~nonpos]
        if positive.size == 0:
            return out, lo, hi
    # The unit check only needs a robust typical value, not an exact median: on long series a
    # strided subsample of ~2,000 values decides it without copying and sorting 10^5 values.
    step = max(1, positive.size // 2048)
    median = _median(positive[::step])
    if median < _MIN_PLAUSIBLE_MEDIAN_MS:
        raise HrvInputError(
            f"{name}: median {median:g} looks like seconds, not milliseconds; "
            "multiply by 1000 (units are never guessed)"
        )
    if median > _MAX_PLAUSIBLE_MEDIAN_MS:
        raise HrvInputError(
            f"{name}: median {median:g} ms is implausible for RR intervals (> 10 s); "
            "check the units"
        )
    return out, lo, hi


def _median(values: NDArray[np.float64]) -> float:
    """Median of a non-empty 1-D array, by partial sort.

    Same value as ``np.median``, whose first call in a process also imports ``numpy.ma``
    (about 10 ms): this check runs at the start of every metric.
    """
    half = values.size // 2
    if values.size % 2:
        return float(np.partition(values, half)[half])
    part = np.partition(values, (half - 1, half))
    return float((part[half - 1] + part[half]) / 2.0)


def as_gaps(gaps: Any, n: int, *, name: str = "gaps") -> NDArray[np.bool_]:
    """Return a boolean mask of length ``n``: ``gaps[i]`` means beat ``i`` does not follow ``i-1``.

    ``None`` means no gaps. Index 0 is ignored (the first beat has no predecessor anyway).
    """
    if gaps is None:
        return np.zeros(n, dtype=np.bool_)
    arr = np.asarray(gaps)
    if arr.shape != (n,):
        raise HrvInputError(f"{name}: expected shape ({n},) to match rr_ms, got {arr.shape}")
    if arr.dtype != np.bool_:
        raise HrvInputError(f"{name}: expected booleans, got dtype {arr.dtype}")
    return arr
