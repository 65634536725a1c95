"""The organisation's hub: an opt-in team view of daily aggregates that exposes no one.

A package of its own beside the personal service: it never imports ``api``, ``sensors`` or
``breathing`` (import-linter holds it), and the personal service talks to it over HTTP only.
``create_app(settings)`` builds the FastAPI application; ``hrvpace hub serve`` runs it.
"""

from hub.errors import HubError
from hub.settings import HubSettings

__all__ = ["HubError", "HubSettings"]
