"""The web conventions both hrvpace services keep: the personal service and the hub.

One place for what a client of either service sees the same way, so the two cannot drift:

- :mod:`webconventions.errors`: :class:`~webconventions.errors.ServiceError`, the base of the
  errors a request can end in, each with its HTTP ``status``, stable ``code`` and ``title``
  (``api.errors.ApiError`` and ``hub.errors.HubError`` derive from it and from
  ``hrv.errors.HrvpaceError``, so the one error hierarchy stays whole);
- :mod:`webconventions.problems`: every error answered as RFC 9457
  ``application/problem+json`` with ``code``, validation issues cut short, and the ``Problem``
  schema in the OpenAPI document;
- :mod:`webconventions.middleware`: the edge that runs before any route: allowed ``Host``
  headers, a bearer-token gate and request body limits, all answered as problems;
- :mod:`webconventions.openapi`: stable operation ids for generated clients;
- :mod:`webconventions.tokens`: the constant-time token comparison;
- :mod:`webconventions.page`: the static page at ``/`` that leaves the API's paths (a wrong
  method's 405 with ``Allow``, an unknown path's 404) to the API;
- :mod:`webconventions.serving`: a uvicorn server that says when it listens.

It imports none of hrvpace's own packages (``hrv``, ``breathing``, ``sensors``, ``api``, ``hub``;
import-linter holds that), only the web stack (FastAPI, Starlette, Pydantic, uvicorn).
"""
