"""Review findings on the working day (issue 16): a fake-clock demo stays out of the person's
data and channels, only planned prompts reach webhooks, webhook URLs and errors are safe, and
the calendar feed's token can be rotated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

import api.commands.demo as demo_cmd
from api.cli import app as cli_app
from api.scheduler import PromptScheduler
from api.storage import Storage
from api.webhooks import WebhookNotifier
from breathing.dayplan import DayPlan, signal_checkin


def _capture_demo(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``hrvpace demo`` up to its server: record the app and whether its data dir exists."""
    seen: dict[str, Any] = {}

    def fake_run_server(app: FastAPI, sock: Any, on_started: Callable[[], None]) -> None:
        sock.close()
        data_dir = Path(app.state.settings.data_dir)
        seen["data_dir"] = data_dir
        seen["existed"] = data_dir.is_dir()

        async def lifespan() -> None:  # what the server starts: scheduler, notifier, hub push
            async with app.router.lifespan_context(app):
                seen["webhooks_enabled"] = app.state.prompts.webhooks.enabled
                seen["hub_push"] = app.state.hub_push

        asyncio.run(lifespan())

    monkeypatch.setattr(demo_cmd, "run_server", fake_run_server)
    return seen


def test_fake_clock_demo_runs_on_a_temporary_data_dir_without_webhooks_or_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = tmp_path / "own"
    monkeypatch.setenv("HRVPACE_DATA_DIR", str(own))
    seen = _capture_demo(monkeypatch)
    args = ["demo", "--no-open", "--port", "0", "--start", "2026-12-07T08:55"]
    result = CliRunner().invoke(cli_app, [*args, "--clock-speed", "120"])
    assert result.exit_code == 0, result.output
    assert seen["existed"] and seen["data_dir"] != own and not own.exists()
    assert str(seen["data_dir"]) in result.output  # printed
    assert not seen["data_dir"].exists()  # removed at exit
    assert seen["webhooks_enabled"] is False and seen["hub_push"] is None

    # an explicit --data-dir is used (and kept); still no webhooks or hub push on a fake clock
    explicit = tmp_path / "explicit"
    result = CliRunner().invoke(cli_app, [*args, "--data-dir", str(explicit)])
    assert result.exit_code == 0, result.output
    assert seen["data_dir"] == explicit and explicit.is_dir()
    assert seen["webhooks_enabled"] is False and seen["hub_push"] is None

    # a demo on the real clock is the person's own service: as before
    result = CliRunner().invoke(cli_app, ["demo", "--no-open", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen["data_dir"] == own
    assert seen["webhooks_enabled"] is True and seen["hub_push"] is not None


class _RecordingNotifier(WebhookNotifier):
    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self.sent: list[tuple[str, str]] = []

    def notify(self, title: str, text: str, *, prompt_id: int | None) -> None:
        self.sent.append((title, text))


class _FixedClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def from_real(self, real_s: float) -> float:
        return real_s


def test_only_planned_prompts_go_to_webhooks(tmp_path: Path) -> None:
    """A flag's or a break's check-in stays off the team channel; a planned prompt is posted."""
    storage = Storage(tmp_path / "db.sqlite")
    plan = DayPlan()
    monday_9 = datetime(2026, 12, 7, 9, 0, 30, tzinfo=ZoneInfo(plan.timezone)).timestamp()
    flag = signal_checkin(plan, event_s=monday_9 + 3600, trigger="flag", last_checkin_s=None)
    assert flag is not None and flag.trigger == "flag"

    async def run() -> list[str]:
        clock = _FixedClock(monday_9)
        notifier = _RecordingNotifier(storage)
        manager = SimpleNamespace(live_sessions=[])
        sched = PromptScheduler(
            storage,
            manager,  # type: ignore[arg-type]
            clock,
            webhooks=notifier,
            plan=plan,
        )
        sched._signal[flag.key] = flag
        sent = [p.trigger for p in await sched.tick()]  # the morning prompt
        clock.t = flag.due_s + 1
        sent += [p.trigger for p in await sched.tick()]  # the flag's check-in
        assert sent == ["planned", "flag"]
        return [title for title, _ in notifier.sent]

    try:
        assert asyncio.run(run()) == ["Good morning"]
    finally:
        storage.close()
