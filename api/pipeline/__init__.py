"""The live pipeline of one session: source -> stages -> sinks.

Each part is plugged in at one place, one module per job:

- :mod:`api.pipeline.speed`       the one speed parser (``"max"`` or a number in (0, 10000])
                                  and the clock a speed runs on;
- :mod:`api.pipeline.specs`       the request schemas of sources (simulator, replay, strap);
- :mod:`api.pipeline.sources`     :func:`make_source`, the one place sources plug in;
- :mod:`api.pipeline.analysis`    :func:`make_analyser`, the live HRV analyser (60 s / 5 s): one
                                  NN verdict per beat, windows on the beats' clock;
- :mod:`api.pipeline.pacing`      :func:`make_pacer`, the facade over ``breathing.PacingEngine``;
- :mod:`api.pipeline.microbreaks` :func:`make_microbreaks`, over ``breathing.MicroBreakMonitor``;
- :mod:`api.pipeline.sinks`       where output goes: a store (or :class:`NoStore`), listeners;
- :mod:`api.pipeline.loop`        :class:`Pipeline`, the loop over the beats;
- :mod:`api.pipeline.assembly`    :func:`session_stages`, :func:`assemble`, :func:`play`: the
                                  one assembly the service and the commands share.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.pipeline.analysis import (
        LIVE_STEP_S,
        LIVE_WINDOW_S,
        Analyser,
        analyser_settings,
        make_analyser,
    )
    from api.pipeline.assembly import (
        Stages,
        assemble,
        finish_logged,
        follow_pacer,
        play,
        session_stages,
    )
    from api.pipeline.loop import (
        SOURCE_FAILURE,
        STRAP_NOTE,
        Pipeline,
        PipelineResult,
        SessionState,
        WithoutSourceFailure,
        WithoutStrapNotes,
    )
    from api.pipeline.microbreaks import (
        BASELINE_KEY,
        MICROBREAK_SETTINGS_KEY,
        MicroBreaks,
        PlanDay,
        make_microbreaks,
        microbreak_settings,
        usable_overrides,
    )
    from api.pipeline.pacing import Pacing, make_pacer
    from api.pipeline.sinks import Listener, NoStore, SessionStore
    from api.pipeline.sources import (
        SourceControl,
        SourceMisconfiguredError,
        SourceUnavailableError,
        make_source,
    )
    from api.pipeline.specs import BleSpec, ReplaySpec, SimulatorSpec, SourceSpec
    from api.pipeline.speed import MAX_SPEED, SPEED_RULE, Speed, make_clock, parse_speed

#: The submodule each public name comes from. The names load on first use (PEP 562): importing
#: one submodule (the command line's options import :mod:`api.pipeline.speed`) does not load the
#: whole pipeline (its pydantic messages, the HRV analyser, numpy), which cost every ``hrvpace``
#: start-up, ``--help`` included, about 0.3 CPU-s.
_HOMES = {
    "analysis": ("LIVE_STEP_S", "LIVE_WINDOW_S", "Analyser", "analyser_settings", "make_analyser"),
    "assembly": ("Stages", "assemble", "finish_logged", "follow_pacer", "play", "session_stages"),
    "loop": (
        "SOURCE_FAILURE",
        "STRAP_NOTE",
        "Pipeline",
        "PipelineResult",
        "SessionState",
        "WithoutSourceFailure",
        "WithoutStrapNotes",
    ),
    "microbreaks": (
        "BASELINE_KEY",
        "MICROBREAK_SETTINGS_KEY",
        "MicroBreaks",
        "PlanDay",
        "make_microbreaks",
        "microbreak_settings",
        "usable_overrides",
    ),
    "pacing": ("Pacing", "make_pacer"),
    "sinks": ("Listener", "NoStore", "SessionStore"),
    "sources": (
        "SourceControl",
        "SourceMisconfiguredError",
        "SourceUnavailableError",
        "make_source",
    ),
    "specs": ("BleSpec", "ReplaySpec", "SimulatorSpec", "SourceSpec"),
    "speed": ("MAX_SPEED", "SPEED_RULE", "Speed", "make_clock", "parse_speed"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "BASELINE_KEY",
    "LIVE_STEP_S",
    "LIVE_WINDOW_S",
    "MAX_SPEED",
    "MICROBREAK_SETTINGS_KEY",
    "SOURCE_FAILURE",
    "SPEED_RULE",
    "STRAP_NOTE",
    "Analyser",
    "BleSpec",
    "Listener",
    "MicroBreaks",
    "NoStore",
    "Pacing",
    "Pipeline",
    "PipelineResult",
    "PlanDay",
    "ReplaySpec",
    "SessionState",
    "SessionStore",
    "SimulatorSpec",
    "SourceControl",
    "SourceMisconfiguredError",
    "SourceSpec",
    "SourceUnavailableError",
    "Speed",
    "Stages",
    "WithoutSourceFailure",
    "WithoutStrapNotes",
    "analyser_settings",
    "assemble",
    "finish_logged",
    "follow_pacer",
    "make_analyser",
    "make_clock",
    "make_microbreaks",
    "make_pacer",
    "make_source",
    "microbreak_settings",
    "parse_speed",
    "play",
    "session_stages",
    "usable_overrides",
]


if not TYPE_CHECKING:  # mypy reads the imports above; a misspelt name stays an error there

    def __getattr__(name: str) -> Any:
        """The public name ``name``, imported from its submodule on first use (PEP 562)."""
        module = _HOME_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
