"""``create_app(settings)``: the FastAPI application of the organisation's hub.

Every route but ``GET /hub/v1/health`` needs a token: the admin token for groups, invites,
summaries and interventions; a member token for contributions and ``DELETE /hub/v1/me``
(``POST /hub/v1/join`` takes an invite code instead). A request to any other ``/hub/v1`` path
without the admin token is answered 401 before its body is read
(:class:`webconventions.middleware.TokenGateMiddleware`); bodies are capped before they are
parsed, the member calls' at ``max_member_body_bytes``, the admin's at ``max_body_bytes`` (4 KiB,
about twice the largest valid admin body). Errors are ``application/problem+json``.
The dashboard page at ``/`` is public (it holds no data and asks for the admin token). Every
answer forbids framing and sniffing (:class:`webconventions.middleware.SecurityHeadersMiddleware`),
and every ``/hub/v1`` answer says ``Cache-Control: no-store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from hub.auth import AdminDep, load_or_create_admin_token
from hub.db import connect
from hub.ingest import ContributionWriter
from hub.routes import groups, interventions, members
from hub.routes._ids import KnownIdsDep
from hub.settings import HubSettings
from hub.store import Clock, HubStore
from webconventions.docs import install_docs
from webconventions.middleware import (
    BodyLimitMiddleware,
    HostCheckMiddleware,
    SecurityHeadersMiddleware,
    TokenGateMiddleware,
)
from webconventions.openapi import operation_id
from webconventions.page import mount_page
from webconventions.problems import (
    fields_summary,
    install_problem_handlers,
    install_problem_openapi,
)

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    settings: HubSettings, *, clock: Clock = time.time, engine: Engine | None = None
) -> FastAPI:
    """Build the hub.

    Parameters
    ----------
    settings
        Data dir, database URL, admin token, allowed hosts (with the bound address).
    clock
        Unix seconds now (tests move through weeks with their own).
    engine
        An engine to use instead of opening ``settings.db_url`` (tests share one).

    The database is opened and migrated here, so a bad URL or a missing driver fails before
    the server listens (:class:`hub.errors.HubConfigError`).
    """
    token, created = load_or_create_admin_token(settings)
    owns_engine = engine is None
    engine = engine or connect(settings.db_url)
    store = HubStore(engine, clock=clock)
    ingest = ContributionWriter(store)

    async def seal_closed_weeks() -> None:
        while True:
            try:
                await asyncio.to_thread(store.seal_all)
            except Exception:
                log.exception("computing the closed weeks failed; retried later")
            try:  # which invite a member joined with, once it can no longer be withdrawn
                await asyncio.to_thread(store.forget_invite_links)
            except Exception:
                log.exception("forgetting the invite links failed; retried later")
            await asyncio.sleep(settings.seal_every_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sealer = (
            asyncio.create_task(seal_closed_weeks(), name="hub-sealer")
            if settings.seal_every_s > 0
            else None
        )
        try:
            yield
        finally:
            if sealer is not None:
                sealer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sealer
            await asyncio.to_thread(ingest.close)
            if app.state.owns_engine:
                engine.dispose()

    app = FastAPI(
        title="hrvpace hub",
        summary="Opt-in team view of daily aggregates, never one person's data.",
        lifespan=lifespan,
        openapi_url="/hub/v1/openapi.json",
        docs_url=None,  # webconventions.docs: the same page without the CDN
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.admin_token = token
    app.state.admin_token_created = created
    app.state.store = store
    app.state.ingest = ingest
    app.state.owns_engine = owns_engine

    @app.get("/hub/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness (no token)."""
        return {"status": "ok"}

    app.include_router(members.router)  # first: the ingest path is matched most often
    # a path id of no shape the hub makes: 404, before a database sees it (hub.routes._ids)
    app.include_router(groups.router, dependencies=[AdminDep, KnownIdsDep])
    app.include_router(interventions.router, dependencies=[AdminDep, KnownIdsDep])
    install_problem_handlers(app, summary=fields_summary)
    # the same Problem schema the local service's document declares (webconventions)
    install_problem_openapi(app, public_paths={"/hub/v1/health", "/hub/v1/join"})
    install_docs(app, "/hub/v1/docs")
    if STATIC_DIR.is_dir() and (STATIC_DIR / "index.html").is_file():
        mount_page(app, STATIC_DIR, api_prefix="/hub")  # last; /hub/... errors stay the API's
    app.add_middleware(
        BodyLimitMiddleware,
        # the admin's calls (and any other): their largest valid body is ~1,800 bytes
        # (HubSettings.max_body_bytes); a 64 KiB limit let a body no call takes be parsed
        max_body_bytes=settings.max_body_bytes,
        setting="HRVPACE_HUB_MAX_BODY_BYTES",
        # the calls without the admin token: a small bound on what anyone can make the hub
        # parse (a 64 KiB body of many keys took ~6 MB to parse and validate)
        route_limits={
            ("POST", path): (settings.max_member_body_bytes, "HRVPACE_HUB_MAX_MEMBER_BODY_BYTES")
            for path in ("/hub/v1/join", "/hub/v1/contributions")
        },
    )
    # the admin token checked before the body is read (FastAPI reads and parses a route's
    # body before its AdminDep): without it, a request to an admin route is a 401 at once,
    # not a body parsed first; every /hub/v1 path but these needs it
    app.add_middleware(
        TokenGateMiddleware,
        token=token,
        prefix="/hub/v1/",
        public=[
            "/hub/v1/health",
            "/hub/v1/openapi.json",
            "/hub/v1/docs",
            # a member's calls: an invite code or a member token, checked by the route
            "/hub/v1/join",
            "/hub/v1/contributions",
            "/hub/v1/me",
        ],
    )
    app.add_middleware(
        HostCheckMiddleware,
        allowed_hosts=settings.accepted_hosts,
        fix="add it to HRVPACE_HUB_ALLOWED_HOSTS (README, 'The hub')",
    )
    # outermost: every answer (the Host check's 400 too) forbids framing and sniffing; the
    # dashboard holds the admin token and creates groups and invites at a click. The API's
    # answers are not cached: after Forget token, the browser holds no group list or figures
    app.add_middleware(SecurityHeadersMiddleware, no_store_under="/hub/v1/")
    return app


def app_from_env() -> FastAPI:
    """The hub configured by ``HRVPACE_HUB_*`` variables: each process of ``--workers N``."""
    return create_app(HubSettings())
