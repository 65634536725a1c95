"""hrvpace recordings the research tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray


def write_with_lost_beats(rr_ms: NDArray[np.float64], lost: slice, path: Path) -> None:
    """``rr_ms`` as an hrvpace recording with the beats ``lost`` left out (a dropout): beat
    times keep the lost time, and the first beat after the loss has ``gap_before``."""
    from sensors import Beat, RecordingWriter

    keep = np.ones(rr_ms.size, dtype=bool)
    keep[lost] = False
    t = np.cumsum(rr_ms) / 1000.0
    with RecordingWriter(path, meta={"device": "test strap"}) as w:
        for i in np.flatnonzero(keep):
            w.write(
                Beat(
                    t_s=float(t[i]),
                    rr_ms=float(rr_ms[i]),
                    arrived_at=1.7e9 + float(t[i]),
                    contact=True,
                    gap_before=bool(i == lost.stop),
                    heart_rate_bpm=None,
                )
            )
