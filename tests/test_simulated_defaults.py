"""One default resonance for the simulated person (first-day review F8): ``demo`` said 6.0
while ``assess``/``practice --simulate`` said 5.5, so a user who watched the demo "at 6.0"
thought the assessment's 5.45/min was off."""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser
from pathlib import Path

import api
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


def test_the_pages_simulated_person_has_the_same_default_resonance() -> None:
    """rev7 finding 5: the page's Connect form said 6 (``value="6"``, ``|| 6`` in app.js)."""
    static = Path(api.__file__).parent / "static"
    values: list[str | None] = []

    class Inputs(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "input" and dict(attrs).get("name") == "resonance_bpm":
                values.append(dict(attrs).get("value"))

    Inputs().feed((static / "index.html").read_text(encoding="utf-8"))
    assert [float(v or "nan") for v in values] == [SIMULATED_RESONANCE_BPM]
    # an empty field sends no resonance_bpm (the API's default), not a number of the page's own
    sent = re.findall(
        r"resonance_bpm: Number\(f\.resonance_bpm\.value\) \|\| (\S+?)[,}]",
        (static / "app.js").read_text(encoding="utf-8"),
    )
    assert sent == ["undefined"]
