"""The hrvpace service: FastAPI app, live sessions, storage and the command line.

A thin layer over :mod:`sensors`, :mod:`hrv` and :mod:`breathing`.
"""

import logging

from api._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
