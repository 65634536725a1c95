"""Errors of hrvpace, one hierarchy for the whole distribution.

The base class lives here, in the lowest layer, so that every package can derive from it
without breaking the import direction (``api`` -> ``sensors`` | ``breathing`` -> ``hrv``)::

    HrvpaceError                      base of every error hrvpace raises on purpose
    ├── HrvInputError(ValueError)     bad input to an HRV metric (hrv/): NaN, negative, empty,
    │                                 wrong dtype, wrong units (seconds passed as ms), ...
    ├── BreathingError(ValueError)    bad input to the pacing engine (breathing/errors.py)
    │   ├── SettingError              one micro-break setting out of range (names it: field)
    │   └── MicroBreakStateError      an action the micro-break state does not allow (state)
    ├── SensorError                   a source of beats failed (sensors/errors.py)
    │   ├── MalformedPacketError      a Heart Rate Measurement payload that breaks the spec
    │   ├── RecordingFormatError      a recording file unreadable at a given line
    │   └── BleError ...              adapter off, device not found, connection lost
    ├── ConfigError(ValueError)       unusable service settings (api/errors.py, api/settings.py)
    └── ApiError                      service-level errors (api/errors.py)

Every message names the problem and where it was found, so a UI can show it as is.
"""

from __future__ import annotations

__all__ = ["HrvInputError", "HrvpaceError", "install_hint"]


class HrvpaceError(Exception):
    """Base class of every error that hrvpace raises on purpose."""


class HrvInputError(HrvpaceError, ValueError):
    """Input to an HRV function is unusable; the message names the argument and the problem."""


def install_hint(extra: str) -> str:
    """How to install an optional ``extra`` of hrvpace, for the messages that ask for one.

    hrvpace is not published on a package index (installing ``hrvpace[X]`` by name would fail, or
    find another project of that name): the extra is installed from the checkout.

    Parameters
    ----------
    extra : str
        The extra's name in ``pyproject.toml``: ``"ecg"``, ``"fit"``, ``"research"``, ``"hub"``.

    Returns
    -------
    str
        ``"pip install -e '.[ecg]' in the hrvpace checkout"``.
    """
    return f"pip install -e '.[{extra}]' in the hrvpace checkout"
