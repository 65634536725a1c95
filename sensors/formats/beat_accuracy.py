"""How well detected beats match reference beats, beat by beat (ANSI/AAMI EC57 style).

References
----------
ANSI/AAMI EC57:2012. Testing and reporting performance results of cardiac rhythm and ST segment
measurement algorithms (beat-by-beat sensitivity and positive predictivity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["BeatComparison", "compare_beats"]


@dataclass(frozen=True, slots=True)
class BeatComparison:
    """Detected beats against reference beats (:func:`compare_beats`).

    Attributes
    ----------
    true_positives, false_negatives, false_positives
        Matched reference beats, missed reference beats, detections matching none.
    sensitivity
        ``TP / (TP + FN)``: the share of reference beats found.
    positive_predictivity
        ``TP / (TP + FP)``: the share of detections that are beats.
    rr_error_ms_mean, rr_error_ms_rms, rr_error_ms_max
        RR interval differences (detected minus reference) over pairs of consecutive reference
        beats both matched: mean, root mean square and largest absolute value, ms.
    rr_error_ms_median_abs, rr_error_ms_p95_abs
        The median and the 95th percentile (linear interpolation, numpy's default) of the
        absolute RR differences, ms: the typical error and the error most intervals stay under.
    n_rr
        How many RR intervals were compared.
    """

    true_positives: int
    false_negatives: int
    false_positives: int
    sensitivity: float
    positive_predictivity: float
    rr_error_ms_mean: float
    rr_error_ms_rms: float
    rr_error_ms_max: float
    n_rr: int
    rr_error_ms_median_abs: float
    rr_error_ms_p95_abs: float


def compare_beats(
    reference_s: NDArray[np.float64],
    detected_s: NDArray[np.float64],
    *,
    tolerance_s: float = 0.075,
) -> BeatComparison:
    """Match detected beat times to reference ones, beat by beat (ANSI/AAMI EC57 style).

    Each reference beat is matched to the nearest unmatched detection within ``tolerance_s``
    (75 ms by default, half the 150-ms window of EC57's beat-by-beat comparison).

    References
    ----------
    ANSI/AAMI EC57:2012, section 4 (beat-by-beat comparison, Se and +P).
    """
    ref = np.sort(np.asarray(reference_s, dtype=np.float64))
    det = np.sort(np.asarray(detected_s, dtype=np.float64))
    used = np.zeros(det.size, dtype=bool)
    match = np.full(ref.size, -1, dtype=np.int64)
    nearest = np.searchsorted(det, ref)
    for k, r in enumerate(ref):
        best = -1
        for c in (nearest[k] - 1, nearest[k]):
            near = 0 <= c < det.size and not used[c] and abs(det[c] - r) <= tolerance_s
            if near and (best < 0 or abs(det[c] - r) < abs(det[best] - r)):
                best = int(c)
        if best >= 0:
            used[best] = True
            match[k] = best
    tp = int((match >= 0).sum())
    both = (match[:-1] >= 0) & (match[1:] >= 0)
    rr_ref = np.diff(ref)[both]
    rr_det = (det[match[1:]] - det[match[:-1]])[both]
    err_ms = (rr_det - rr_ref) * 1000.0
    abs_ms = np.abs(err_ms)
    return BeatComparison(
        true_positives=tp,
        false_negatives=int(ref.size - tp),
        false_positives=int(det.size - tp),
        sensitivity=tp / ref.size if ref.size else float("nan"),
        positive_predictivity=tp / det.size if det.size else float("nan"),
        rr_error_ms_mean=float(err_ms.mean()) if err_ms.size else float("nan"),
        rr_error_ms_rms=float(np.sqrt(np.mean(err_ms**2))) if err_ms.size else float("nan"),
        rr_error_ms_max=float(abs_ms.max()) if err_ms.size else float("nan"),
        n_rr=int(err_ms.size),
        rr_error_ms_median_abs=float(np.median(abs_ms)) if err_ms.size else float("nan"),
        rr_error_ms_p95_abs=float(np.percentile(abs_ms, 95)) if err_ms.size else float("nan"),
    )
