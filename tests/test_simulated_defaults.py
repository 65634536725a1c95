"""One default resonance for the simulated person (first-day review F8): ``demo`` said 6.0
while ``assess``/``practice --simulate`` said 5.5, so a user who watched the demo "at 6.0"
thought the assessment's 5.45/min was off."""

from __future__ import annotations

import inspect

from api.commands.assess import assess
from api.commands.demo import demo
from api.commands.practice import practice
from api.pipeline import SimulatorSpec
from sensors.simulator import SIMULATED_RESONANCE_BPM, SimulatedPerson


def test_every_simulated_person_has_the_same_default_resonance() -> None:
    defaults = {
        name: inspect.signature(f).parameters["resonance_bpm"].default
        for name, f in (("demo", demo), ("assess", assess), ("practice", practice))
    }
    defaults["SimulatedPerson"] = (
        inspect.signature(SimulatedPerson).parameters["resonance_bpm"].default
    )
    defaults["SimulatorSpec"] = SimulatorSpec(kind="simulator").resonance_bpm
    assert defaults == dict.fromkeys(defaults, SIMULATED_RESONANCE_BPM)
