"""The one session assembly: source -> stages -> sinks, for the service and every command.

Every way of running a session goes through here, so that it has the same stages in the same
order and gives the same windows on the same beats:

- the service's :class:`api.sessions.SessionManager` (a strap, the simulated person, a replay
  of the recordings folder): the service's storage and live hub;
- ``hrvpace replay``: the stages of a monitoring session, its events as JSON lines (a
  :class:`~api.pipeline.sinks.Listener`); no database unless ``--store``;
- ``hrvpace assess`` / ``hrvpace practice``: a pacing engine of the command's own, its events
  to the command's output; no database.

:func:`session_stages` builds the stages (the live HRV analyser with its one NN verdict per
beat, the pacer, the micro-break flags), :func:`assemble` joins a source, the stages and the
sinks into a :class:`~api.pipeline.loop.Pipeline`, and :func:`play` runs it to its end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from api.live import LiveHub
from api.pipeline.analysis import Analyser, make_analyser
from api.pipeline.loop import Pipeline, PipelineResult
from api.pipeline.microbreaks import MicroBreaks, PlanDay, make_microbreaks
from api.pipeline.pacing import Pacing
from api.pipeline.sinks import Listener, NoStore, SessionStore
from api.pipeline.sources import SourceControl
from sensors.ble_sources import motion_of
from sensors.source import BeatSource

__all__ = ["Stages", "assemble", "finish_logged", "follow_pacer", "play", "session_stages"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Stages:
    """The science of one session; a stage that is ``None`` is left out."""

    #: The live HRV analyser (``hrv.LiveAnalyser``: the one NN verdict per beat, the windows).
    analyser: Analyser | None
    #: The pacing facade; inactive in a monitoring session until a breathing command.
    pacer: Pacing | None = None
    #: The micro-break flags and breaks.
    microbreaks: MicroBreaks | None = None


def session_stages(
    *,
    pacer: Pacing | None = None,
    microbreaks: bool = True,
    baseline: dict[str, Any] | None = None,
    microbreak_settings: dict[str, Any] | None = None,
    real_person: bool = False,
    plan_day: PlanDay | None = None,
) -> Stages:
    """The stages of a session: always the HRV analyser, then ``pacer`` and micro-breaks.

    Parameters
    ----------
    pacer
        The session's pacing facade (:func:`api.pipeline.pacing.make_pacer`, or one over a
        command's own engine), or ``None``.
    microbreaks
        Run the micro-break flags.
    baseline, microbreak_settings
        The micro-break monitor's starting baseline (``Baseline.to_dict``; ``None``: the
        population default) and settings overrides (``None``: the defaults).
    real_person
        A strap on the person in real time: the learned baseline is saved as the person's.
        Otherwise (a simulated person, a replay) nothing learned is kept.
    plan_day
        The day plan's local time and quiet hours (the service's,
        :meth:`api.scheduler.PromptScheduler.plan_day`): no flag in the plan's quiet hours.
        ``None`` (a replay, a command's own session): never quiet.

    Raises
    ------
    Exception
        A stored baseline or settings override the micro-break monitor refuses (the service
        then runs the session without flags).
    """
    flags: MicroBreaks | None = None
    if microbreaks:
        flags = make_microbreaks(
            baseline=baseline,
            settings=microbreak_settings,
            plan_day=plan_day,
        )
        flags.persist = real_person
        if pacer is not None:  # a breathing reset's suggestion names the rate it paces at
            flags.resonance_rate = pacer.resonance_rate
    return Stages(analyser=make_analyser(), pacer=pacer, microbreaks=flags)


def follow_pacer(pacer: Pacing | None, control: SourceControl) -> None:
    """A simulated person breathes with the session's pacer whenever it paces."""
    if pacer is None:
        return
    if pacer.active:
        control.breathing = pacer.breathing_phase_cycles
    pacer.on_start = lambda: control.follow(pacer.breathing_phase_cycles)
    pacer.on_stop = lambda: control.follow(None)


def assemble(
    source: BeatSource,
    stages: Stages,
    *,
    session_id: str | None = None,
    store: SessionStore | None = None,
    hub: LiveHub | None = None,
    listeners: Sequence[Listener] = (),
    until_s: float | None = None,
) -> Pipeline:
    """Join a source, the stages and the sinks into one session's pipeline.

    Parameters
    ----------
    source
        An unopened :class:`sensors.BeatSource`. A Bluetooth source started with ``motion``
        gives the micro-break stage its movement level per window (``sensors.motion_of``).
    stages
        From :func:`session_stages`.
    session_id
        The session's id (a new random one when ``None``).
    store
        Where the session is kept; ``None``: nowhere (:class:`~api.pipeline.sinks.NoStore`,
        no database is opened or created).
    hub
        Where live messages go; ``None``: a hub of its own that nobody subscribes to.
    listeners
        A command's output: they get every beat, window, micro-break and pacing event.
    until_s
        End at this session time (``None``: when the source ends).
    """
    sid = uuid.uuid4().hex if session_id is None else session_id
    if stages.microbreaks is not None and stages.microbreaks.motion is None:
        # a PMD source's accelerometer tells the micro-break flags movement from stress
        stages.microbreaks.motion = motion_of(source)
    return Pipeline(
        session_id=sid,
        source=source,
        storage=NoStore() if store is None else store,
        hub=LiveHub(sid) if hub is None else hub,
        analyser=stages.analyser,
        pacer=stages.pacer,
        microbreaks=stages.microbreaks,
        listeners=listeners,
        until_s=until_s,
    )


async def play(pipeline: Pipeline) -> PipelineResult:
    """Run the session to its end (source ended or failed, time over, stopped), then finish it.

    Finishing publishes the micro-break stage's last effects and saves the learned baseline
    where that is the person's. A session cancelled before its pipeline got going is
    ``stopped``.
    """
    try:
        result = await pipeline.run()
    except asyncio.CancelledError:  # cancelled before the pipeline got going
        result = PipelineResult("stopped", "stopped on request")
    except Exception:  # our bug: the session fails, but what it learned is still kept
        finish_logged(pipeline)
        raise
    finish_logged(pipeline)
    return result


def finish_logged(pipeline: Pipeline) -> None:
    """:meth:`Pipeline.finish`; what raises in it is logged (its type: no data) and not raised.

    The session ended as it did: a finish that fails (the baseline not saved, the last paced
    runs not stored) is not what ended it, so its result stands.
    """
    try:
        pipeline.finish()
    except Exception as exc:
        log.error(
            "session %s: finishing it failed (%s in Pipeline.finish)",
            pipeline.session_id,
            type(exc).__name__,
        )
        log.debug("session finish failure", exc_info=True)
