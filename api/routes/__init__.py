"""One module per resource, each with its own ``APIRouter``; :mod:`api.app` includes them."""
