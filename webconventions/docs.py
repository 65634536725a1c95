"""The API reference page (Swagger UI) from the installed package, never from a CDN.

FastAPI's default ``docs_url`` page loads Swagger UI's script and stylesheet from
``cdn.jsdelivr.net`` (and its icon from fastapi.tiangolo.com): on a machine without internet
it is blank, and with internet a third party's script runs in the page where a user pastes the
service's bearer token (the page's "Authorize"). :func:`install_docs` serves the same page with
Swagger UI's files from the ``fastapi-offline`` distribution (MIT; it bundles Swagger UI,
Apache-2.0), under ``{docs_url}/static/``; nothing of the page leaves the machine. Those
files (1.7 MB) say ``Cache-Control: public, max-age=86400``: they hold no data, and under an API
prefix whose answers say ``no-store`` they were fetched anew at every visit of the page.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

__all__ = ["STATIC_CACHE_CONTROL", "install_docs", "swagger_ui_dir"]

# Swagger UI's files are the same for a package version: a day in any cache, as the problem pages
STATIC_CACHE_CONTROL = "public, max-age=86400"


class _CachedStaticFiles(StaticFiles):
    """Static files whose answers (a file, or 304 Not Modified) may be cached for a day."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):  # a 404 stays as the service's rules have it
            response.headers["Cache-Control"] = STATIC_CACHE_CONTROL
        return response


def swagger_ui_dir() -> str:
    """The folder holding ``swagger-ui-bundle.js``, ``swagger-ui.css`` and ``favicon.png``."""
    return str(resources.files("fastapi_offline") / "static")


def install_docs(app: FastAPI, docs_url: str) -> None:
    """Serve the Swagger UI page of ``app.openapi_url`` at ``docs_url``, its files beside it.

    Create ``app`` with ``docs_url=None`` (FastAPI's own page uses the CDN); call this before a
    catch-all mount such as :func:`webconventions.page.mount_page`.
    """
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("install_docs needs an app with an openapi_url")
    static = f"{docs_url}/static"
    app.mount(static, _CachedStaticFiles(directory=swagger_ui_dir()), name="docs-static")

    async def swagger_ui(request: Request) -> HTMLResponse:
        # behind a proxy that mounts the service under a prefix, as FastAPI's own page does
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{static}/swagger-ui.css",
            swagger_favicon_url=f"{root}{static}/favicon.png",
        )

    # a plain route, as FastAPI's own docs page: not an API operation (no token, no schema)
    app.add_route(docs_url, swagger_ui, methods=["GET"], include_in_schema=False)
