"""A real uvicorn on 127.0.0.1 in a thread, a real SQLite file in tmp_path, and a scripted source.

``ScriptedSource`` is a real :class:`sensors.BeatSource` that plays a given list of RR intervals
on an injected clock: it stands in for the simulator/replay sources where a test needs exact
control (a failure at a given beat, an unusable value, an endless slow stream).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.pipeline import BleSpec, ReplaySpec, SimulatorSpec, SourceControl, make_source
from api.settings import Settings, load_settings
from sensors import Beat, BeatSource, Clock, SensorError, SourceState, SourceStatus
from tests._http import CLIENT_TLS
from tests._uvicorn import ThreadedUvicorn, start_uvicorn

REPO_ROOT = Path(__file__).resolve().parents[2]


class ScriptedSource(BeatSource):
    """Plays ``rr_ms`` (``None`` entries become an unusable NaN beat), then ends or fails."""

    def __init__(
        self,
        rr_ms: Sequence[float | None],
        *,
        clock: Clock,
        fail_with: str | None = None,
        repeat: bool = False,
    ) -> None:
        super().__init__()
        self.rr_ms = list(rr_ms)
        self.clock = clock
        self.fail_with = fail_with
        self.repeat = repeat

    async def _open(self) -> None:
        self._set_status(SourceStatus(SourceState.STREAMING, message="scripted"))

    async def _beats(self) -> AsyncIterator[Beat]:
        t_s = 0.0
        while True:
            for rr in self.rr_ms:
                value = float("nan") if rr is None else rr
                await self.clock.sleep((rr or 1000.0) / 1000.0)
                if rr is not None:
                    t_s += rr / 1000.0
                yield Beat(t_s=t_s, rr_ms=value, arrived_at=self.clock.now(), contact=True)
            if not self.repeat:
                break
        if self.fail_with is not None:
            raise SensorError(self.fail_with)
        self._set_status(SourceStatus(SourceState.ENDED, message="script finished"))


def scripted_factory(
    rr_ms: Sequence[float | None], *, as_strap: bool = False, **kwargs: Any
) -> Callable[[SimulatorSpec | ReplaySpec | BleSpec, SourceControl], BeatSource]:
    """A source factory: ``simulator`` specs play the script (speed from the spec), the rest
    go to the real :func:`api.pipeline.make_source`. ``as_strap``: ``ble`` specs play the
    script at full speed instead (a "person" whose baseline the service keeps)."""
    from api.pipeline import make_clock

    def factory(spec: SimulatorSpec | ReplaySpec | BleSpec, control: SourceControl) -> BeatSource:
        if isinstance(spec, SimulatorSpec):
            return ScriptedSource(rr_ms, clock=make_clock(spec.speed), **kwargs)
        if as_strap and isinstance(spec, BleSpec):
            return ScriptedSource(rr_ms, clock=make_clock("max"), **kwargs)
        return make_source(spec, control)

    return factory


def person_on_a_strap(
    person: dict[str, Any],
) -> Callable[[SimulatorSpec | ReplaySpec | BleSpec, SourceControl], BeatSource]:
    """A source factory: a ``ble`` spec is a simulated person wearing the strap (``person``:
    :class:`api.pipeline.SimulatorSpec` fields, read when each session starts; it follows the
    pacer, so an assessment finds its rate); the rest go to :func:`api.pipeline.make_source`.
    To the service it is a strap session: the person's own numbers."""

    def factory(spec: SimulatorSpec | ReplaySpec | BleSpec, control: SourceControl) -> BeatSource:
        if isinstance(spec, BleSpec):
            return make_source(SimulatorSpec(kind="simulator", **person), control)
        return make_source(spec, control)

    return factory


@dataclass
class Server:
    url: str
    token: str
    app: FastAPI
    settings: Settings

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("verify", CLIENT_TLS)
        return httpx.Client(base_url=self.url, headers=self.auth, timeout=30.0, **kwargs)


class _Servers:
    """Starts real uvicorn servers in threads (``tests._uvicorn``) and stops them all at the end."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.running: list[ThreadedUvicorn] = []

    def start(
        self, *, settings: Settings | None = None, sndbuf: int | None = None, **app_kwargs: Any
    ) -> Server:
        settings = settings or load_settings(data_dir=self.data_dir, token="test-token")
        app = create_app(settings, **app_kwargs)
        running = start_uvicorn(app, ws="websockets-sansio", lifespan="on", sndbuf=sndbuf)
        self.running.append(running)
        return Server(running.url, app.state.token, app, settings)

    def stop_all(self) -> None:
        for running in self.running:
            running.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start a real uvicorn serving ``create_app(settings, **app_kwargs)`` on a free port."""
    servers = _Servers(tmp_path / "data")
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server shared by a module's tests (for many cheap requests)."""
    servers = _Servers(tmp_path_factory.mktemp("data"))
    yield servers.start()
    servers.stop_all()


@asynccontextmanager
async def asgi_service(
    data_dir: Path, *, raise_app_exceptions: bool = True, **app_kwargs: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The service in this test's event loop, without a server: its lifespan run (real SQLite
    in ``data_dir``, its scheduler and session manager) and a client through ASGI. Cheaper
    than :func:`serve`, and the test's coroutines share the loop with the routes' (it can
    hold a route at a point and see what another request does meanwhile).
    ``raise_app_exceptions=False``: an unexpected error is the 500 a client gets, not raised."""
    settings = load_settings(data_dir=data_dir, token="test-token")
    app = create_app(settings, **{"outbound": False, **app_kwargs})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        headers = {"Authorization": f"Bearer {app.state.token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=headers, timeout=30.0
        ) as client:
            yield app, client


def wait_for(predicate: Callable[[], Any], *, timeout_s: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)
