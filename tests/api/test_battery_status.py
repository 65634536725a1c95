"""A session's live status says the strap's battery falling low, as ``hrvpace record`` does.

Unit level: the pipeline's status messages from its source's statuses (no server, no strap);
tests/sensors/test_ble.py has record's lines against the emulated BlueZ.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from api.live import LiveHub
from api.messages import parse_live_message
from api.pipeline.loop import Pipeline
from api.pipeline.sinks import NoStore
from sensors import Beat, BeatSource, SourceState, SourceStatus


class _Strap(BeatSource):
    """A source whose statuses the test sets, as a strap publishes them (never iterated)."""

    def _beats(self) -> AsyncIterator[Beat]:
        raise NotImplementedError


def test_the_status_says_each_threshold_of_a_falling_battery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Strap review (item 1): only `hrvpace record` said a falling battery; a session with a
    # strap sent the level but never said it was low
    source = _Strap()
    hub = LiveHub("s")
    Pipeline(session_id="s", source=source, storage=NoStore(), hub=hub, analyser=None, pacer=None)
    sent: list[str | None] = []

    def status(**fields: Any) -> None:
        source._set_status(replace(source.status, **fields))  # as a strap publishes them
        assert hub.last_status is not None
        assert parse_live_message(hub.last_status.model_dump_json()).battery_pct == fields.get(
            "battery_pct", source.status.battery_pct
        )
        sent.append(hub.last_status.battery_warning)

    status(state=SourceState.CONNECTING, device_name="Polar H10 1A", battery_pct=15)
    assert sent == [None]  # not while connecting: after the line that it connected
    with caplog.at_level(logging.WARNING, logger="api.pipeline.loop"):
        status(state=SourceState.STREAMING, battery_pct=15)
        status(battery_pct=12)
        status(battery_pct=4)  # 10 % and 5 % at once: said once, the lowest
    low = (
        "Polar H10 1A's battery is at {}%: replace or charge it soon (the session ends if the "
        "strap goes off)"
    )
    assert sent[1:] == [low.format(15), low.format(15), low.format(4)]
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"session s: {low.format(15)}", f"session s: {low.format(4)}"]


def test_no_warning_above_20_percent_or_without_a_level() -> None:
    source = _Strap()
    hub = LiveHub("s")
    Pipeline(session_id="s", source=source, storage=NoStore(), hub=hub, analyser=None, pacer=None)
    for pct in (None, 80, 21):
        source._set_status(SourceStatus(SourceState.STREAMING, battery_pct=pct))
        assert hub.last_status is not None and hub.last_status.battery_warning is None
