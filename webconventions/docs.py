"""The API reference page (Swagger UI) from the installed package, never from a CDN.

FastAPI's default ``docs_url`` page loads Swagger UI's script and stylesheet from
``cdn.jsdelivr.net`` (and its icon from fastapi.tiangolo.com): on a machine without internet
it is blank, and with internet a third party's script runs in the page where a user pastes the
service's bearer token (the page's "Authorize"). :func:`install_docs` serves the same page with
Swagger UI's files from the ``fastapi-offline`` distribution (MIT; it bundles Swagger UI,
Apache-2.0), under ``{docs_url}/static/``; nothing of the page leaves the machine.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

__all__ = ["install_docs", "swagger_ui_dir"]


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
    app.mount(static, StaticFiles(directory=swagger_ui_dir()), name="docs-static")

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
