"""How both services name their operations in the OpenAPI document."""

from __future__ import annotations

from fastapi.routing import APIRoute

__all__ = ["operation_id"]


def operation_id(route: APIRoute) -> str:
    """Stable operation id ``<first tag>-<function name>``, for generated clients.

    Pass as ``FastAPI(generate_unique_id_function=operation_id)``; a route without tags is
    ``default-<function name>``.
    """
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"
