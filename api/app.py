"""``create_app(settings)``: the FastAPI application of the local service.

Security (RR data is health data): every route but ``GET /api/v1/health`` requires
``Authorization: Bearer <token>`` (the WebSocket takes it as a subprotocol or ``?token=``, and
checks the ``Origin``, see :mod:`api.routes.live`); the ``Host`` header must be one of
``settings.accepted_hosts`` (the loopback names, the ``--host`` address, ``allowed_hosts``: DNS
rebinding); CORS only for ``settings.browser_origins``; request bodies are limited
(``max_body_bytes``, ``max_recording_bytes`` for uploads, 413 before they are read whole);
replays read only the recordings folder. Every error is ``application/problem+json`` with a
stable ``code`` (:mod:`webconventions.problems`). The OpenAPI document (``/api/v1/openapi.json``,
docs at ``/api/v1/docs``) and the static page at ``/`` are public:
they hold no user data, and the page asks for the token. Every answer says
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and ``Content-Security-Policy:
frame-ancestors 'none'`` (no other site frames the page or the docs;
:class:`webconventions.middleware.SecurityHeadersMiddleware`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import Depends, FastAPI

from api._version import __version__
from api.auth import TOKEN_HINT, load_or_create_token, require_token
from api.dayplan import (
    ClockFactory,
    RealClock,
    adopt_old_quiet_hours,
    ensure_install_seed,
    load_plan,
)
from api.hubshare import push_loop
from api.pipeline import make_source
from api.recordings import RecordingStore
from api.routes import (
    baseline,
    breathing,
    calendar,
    checkins,
    dashboard,
    dayplan,
    devices,
    health,
    live,
    microbreaks,
    problems,
    prompts,
    recordings,
    reports,
    sessions,
    share,
    trends,
    webhooks,
)
from api.scheduler import PromptScheduler
from api.sessions import SessionCreate, SessionManager, SourceFactory
from api.settings import ORIGINS_FIX, Settings
from api.storage import Storage
from api.webhooks import WebhookNotifier
from webconventions.docs import install_docs
from webconventions.middleware import (
    BodyLimitMiddleware,
    HostCheckMiddleware,
    MediaTypeMiddleware,
    OriginsMiddleware,
    SecurityHeadersMiddleware,
    TokenGateMiddleware,
)
from webconventions.openapi import operation_id
from webconventions.page import mount_page
from webconventions.problems import install_problem_handlers, install_problem_openapi

__all__ = ["create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    settings: Settings,
    *,
    source_factory: SourceFactory | None = None,
    start_sessions: Sequence[SessionCreate] = (),
    plan_clock: ClockFactory | None = None,
    webhook_backoff_s: float = 1.0,
    outbound: bool = True,
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        Where the data lives, which hosts and origins are allowed, queue sizes.
    source_factory
        Builds a session's source from its spec (default :func:`api.pipeline.make_source`
        with the recordings folder ``settings.recordings_path``).
    start_sessions
        Sessions to start as soon as the service is up (``hrvpace demo``).
    plan_clock
        Builds the day plan's wall clock from the plan's time zone (``hrvpace demo
        --clock-speed``); the real clock when omitted (production).
    webhook_backoff_s
        Wait before a failed webhook delivery's first retry (doubled per retry).
    outbound
        Post sent prompts to the configured webhooks and push pending days to a hub. ``False``
        for a demo on a fake clock (``hrvpace demo --start``): its prompts and check-ins are
        not real and must not reach a team channel or an organisation's hub.

    The token is resolved here (``settings.token`` or the token file, created if missing) and
    kept in ``app.state.token``; the database is opened when the app starts (lifespan).
    """
    token = load_or_create_token(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage = Storage(settings.database_path, flush_s=settings.beat_flush_s)
        factory = source_factory or partial(make_source, recordings_dir=settings.recordings_path)
        manager = SessionManager(storage, queue_size=settings.ws_queue_size, source_factory=factory)
        app.state.storage = storage
        app.state.sessions = manager
        app.state.started_sessions = []
        #: Held from the read of the micro-break settings' overrides to their save (``PUT
        #: /api/v1/microbreaks/settings``): two PUTs at once do not lose each other's changes.
        #: Taken before ``PromptScheduler.plan_lock`` (quiet hours), never inside it.
        app.state.microbreak_settings_lock = asyncio.Lock()
        notifier = WebhookNotifier(storage, backoff_s=webhook_backoff_s, enabled=outbound)
        await asyncio.to_thread(ensure_install_seed, storage)  # before the default plan
        await asyncio.to_thread(adopt_old_quiet_hours, storage)  # an older version's, once
        plan = await asyncio.to_thread(load_plan, storage)
        clock = plan_clock(plan.timezone) if plan_clock is not None else RealClock()
        scheduler = PromptScheduler(storage, manager, clock, webhooks=notifier, plan=plan)
        app.state.prompts = scheduler
        # micro-break flags keep the plan's quiet hours, in its zone, on its clock
        manager.plan_day = scheduler.plan_day
        manager.quiet_for_all = plan_clock is not None  # a demo clock: the simulated day
        # opt-in sharing with an organisation's hub (hrvpace share): pending days, daily
        # (never from a demo on a fake clock: its days are not the person's)
        hub_push = (
            asyncio.create_task(push_loop(settings.data_dir, storage), name="hub-push")
            if outbound
            else None
        )
        app.state.hub_push = hub_push
        try:
            for request in start_sessions:
                live_session = await manager.start(request)
                app.state.started_sessions.append(live_session.id)
            scheduler.start()
            yield
        finally:
            await scheduler.stop()
            if hub_push is not None:
                hub_push.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await hub_push
            await manager.shutdown()
            # it waits for the writer: while the database takes no writes, the try under way
            # (SQLite's 30-s busy wait) and one more try; the loop goes on meanwhile (uvicorn
            # closes its connections, a Ctrl-C is heard)
            await asyncio.to_thread(storage.close)

    app = FastAPI(
        title="hrvpace",
        version=__version__,
        summary="Local HRV biofeedback service: sessions, live metrics, breathing guidance.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # webconventions.docs: the same page without the CDN
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.token = token
    app.state.recordings = RecordingStore(settings.recordings_path)

    protected = [Depends(require_token)]
    app.include_router(health.router)
    app.include_router(problems.router)  # what the errors' type URIs name; public, no data
    app.include_router(sessions.router, dependencies=protected)
    app.include_router(breathing.router, dependencies=protected)
    app.include_router(checkins.router, dependencies=protected)
    app.include_router(baseline.router, dependencies=protected)
    app.include_router(microbreaks.session_router, dependencies=protected)
    app.include_router(microbreaks.router, dependencies=protected)
    app.include_router(devices.router, dependencies=protected)
    app.include_router(trends.router, dependencies=protected)
    app.include_router(reports.router, dependencies=protected)  # the page's History links
    app.include_router(recordings.router, dependencies=protected)
    app.include_router(dayplan.router, dependencies=protected)
    app.include_router(prompts.router, dependencies=protected)
    app.include_router(webhooks.router, dependencies=protected)
    app.include_router(dashboard.router, dependencies=protected)
    app.include_router(share.router, dependencies=protected)  # the page's team sharing
    app.include_router(calendar.router)  # the feed takes its token in the URL, see the route
    app.include_router(live.router)  # the WebSocket checks its token itself; schema has its own
    install_problem_handlers(app)
    # 415 is declared where MediaTypeMiddleware (added below) checks the body's type
    install_problem_openapi(app, public_paths={"/api/v1/health"})
    install_docs(app, "/api/v1/docs")

    if STATIC_DIR.is_dir():  # last: the page takes what no route took, but not the API's paths
        mount_page(app, STATIC_DIR, api_prefix="/api")

    # added last = outermost: Host check, then CORS, then the token gate, then the body limits,
    # then the media type, then the routes
    # a body the routes cannot read (a JSON body sent as text/plain): 415, before it is read
    app.add_middleware(
        MediaTypeMiddleware,
        prefix="/api/",
        route_types={("POST", "/api/v1/recordings"): ["multipart/form-data"]},  # the upload
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        setting="HRVPACE_MAX_BODY_BYTES",
        route_limits={
            ("POST", "/api/v1/recordings"): (
                settings.max_recording_bytes,
                "HRVPACE_MAX_RECORDING_BYTES",
            )
        },
    )
    app.add_middleware(
        TokenGateMiddleware,
        token=token,
        prefix="/api/v1/",
        # the docs and the OpenAPI document are public as before (they hold no data)
        public=[
            "/api/v1/health",
            "/api/v1/openapi.json",
            "/api/v1/docs",
            "/api/v1/calendar.ics",  # checks its feed token itself
        ],
        token_hint=TOKEN_HINT,
        # a preflight reaches the gate only when no origin is allowed (else CORS answers it)
        origins_fix=ORIGINS_FIX,
    )
    if settings.browser_origins:
        app.add_middleware(
            OriginsMiddleware,  # Starlette's CORS, a refused preflight a problem as above
            origins_fix=ORIGINS_FIX,
            allow_origins=settings.browser_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            # what a browser app may read of a response besides the CORS-safelisted headers:
            # the CSV pages' total (README: paging a CSV), the download's file name and when
            # to ask again after a 503 store_busy
            expose_headers=["X-Total-Count", "Content-Disposition", "Retry-After"],
        )
    app.add_middleware(
        HostCheckMiddleware,
        allowed_hosts=settings.accepted_hosts,
        fix="add it to HRVPACE_ALLOWED_HOSTS (README, 'Reaching the service from another device')",
    )
    # outermost of ours: every answer (the Host check's 400 too) carries the headers; a 500,
    # which Starlette's error middleware outside all of these answers, gets them from
    # webconventions.problems' handler. The API's answers say Cache-Control: no-store (unless
    # a route set its own, as the calendar feed does): they carry health data (RR intervals,
    # sessions), which a browser's cache would keep on disk for a later user of the browser
    app.add_middleware(SecurityHeadersMiddleware, no_store_under="/api/v1/")
    return app
