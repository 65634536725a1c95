"""hrv.ArtefactFilter: the causal NN rule, against labelled simulated beats and real rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrv import ArtefactFilter, HrvInputError
from sensors import BeatKind, SimulatedPerson
from tests.conftest import load_rr_ms


@pytest.mark.parametrize("paced", [True, False])
def test_artefact_filter_against_the_simulators_labels(paced: bool) -> None:
    person = SimulatedPerson(
        seed=31,
        ectopic_rate=0.01,
        missed_beat_rate=0.005,
        breathing=(lambda t: t * 5.5 / 60.0) if paced else None,
    )
    beats = person.beats(1800)
    flt = ArtefactFilter()
    kept = [flt.accept(b.rr_ms, gap_before=b.gap_before) for b in beats]
    artefact = [b.kind is not BeatKind.NORMAL for b in beats]
    caught = sum(a and not k for a, k in zip(artefact, kept, strict=True))
    dropped_normal = sum(not a and not k for a, k in zip(artefact, kept, strict=True))
    assert sum(artefact) >= 20
    assert caught >= 0.9 * sum(artefact)
    assert dropped_normal <= 0.01 * (len(beats) - sum(artefact))


def test_artefact_filter_reanchors_after_a_real_change_and_a_gap() -> None:
    flt = ArtefactFilter()
    assert all(flt.accept(1000.0) for _ in range(5))
    assert not flt.accept(600.0)  # premature
    assert not flt.accept(1400.0)  # compensatory pause
    assert flt.accept(1000.0)
    # a real, lasting jump (e.g. standing up): rejected at first, then taken as the new rhythm
    steps = [flt.accept(700.0) for _ in range(4)]
    assert steps == [False, False, True, True]
    assert flt.accept(1000.0, gap_before=True)  # after a gap the reference restarts
    assert not flt.accept(1000.0, contact=False) and not flt.accept(250.0)


def test_artefact_filter_keeps_real_resting_recordings(shared_data: Path) -> None:
    rr = load_rr_ms(shared_data / "hrvpkg_rest_rri_ms.txt", units="ms")
    flt = ArtefactFilter()
    dropped = sum(not flt.accept(float(x)) for x in rr)
    assert dropped <= 0.02 * len(rr)  # "no ectopic beats" per the recording's source


def test_artefact_filter_refuses_unusable_settings() -> None:
    with pytest.raises(HrvInputError, match="max_change"):
        ArtefactFilter(max_change=1.5)
    with pytest.raises(HrvInputError, match="reanchor_after"):
        ArtefactFilter(reanchor_after=1)


def test_artefact_filter_reset_forgets_the_reference() -> None:
    flt = ArtefactFilter()
    assert flt.accept(1000.0)
    assert not flt.accept(600.0)
    flt.reset()
    assert flt.accept(600.0)
