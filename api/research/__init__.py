"""Research workflow: batch analysis of recordings, cohorts, reports and exports.

- :mod:`api.research.analysis`: one recording -> a summary (every metric of the HRV core by its
  public name) and the rolling windows table;
- :mod:`api.research.cohort`: many recordings on all local cores or on a Dask cluster;
- :mod:`api.research.report`: a self-contained HTML report with PNG plots (matplotlib);
- :mod:`api.research.export`: a stored session as CSV + Parquet + a JSON sidecar.

matplotlib, pyarrow and dask are the ``research`` extra; they are imported inside the functions
that need them, so the command line starts fast and says which extra to install when missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtraError", "require"]

from api.errors import ApiError
from hrv.errors import install_hint


class MissingExtraError(ApiError, ImportError):
    """An optional dependency of the ``research`` extra is not installed."""


def require(module: str) -> ModuleType:
    """Import ``module`` (part of the ``research`` extra) or raise :class:`MissingExtraError`.

    The message says what to install (:func:`hrv.errors.install_hint`).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise MissingExtraError(
            f"{top} is not installed; it is part of the research extra: {install_hint('research')}"
        ) from exc
