"""The one place sources of beats plug in: a source spec in, an unopened source out.

:func:`make_source` builds what a :mod:`api.pipeline.specs` spec asks for (the simulated
person, a replay of the recordings folder, a Bluetooth strap by its stream);
:class:`SourceControl` holds the live knobs of a session's source (the simulated person's
stress, and the pacer it breathes with).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from pathlib import Path

from api.errors import ApiError
from api.pipeline.specs import BleSpec, ReplaySpec, SimulatorSpec
from api.pipeline.speed import make_clock
from api.recordings import RecordingSource, RecordingStore
from hrv.errors import install_hint
from sensors.ble_sources import make_ble_source
from sensors.errors import BleError
from sensors.simulator import SimulatedPerson, SimulatorSource
from sensors.source import BeatSource

__all__ = ["SourceControl", "SourceMisconfiguredError", "SourceUnavailableError", "make_source"]


class SourceUnavailableError(ApiError):
    """The requested kind of source is not available in this build or on this machine."""

    status = 501
    code = "source_unavailable"
    title = "Source not available"


class SourceMisconfiguredError(ApiError):
    """The server's own settings for the requested kind of source are unusable.

    E.g. ``HRVPACE_BLE_CLOSE_TIMEOUT_S`` is not a number of seconds > 0: 503 (the request is
    fine, the server cannot serve it until its environment is fixed); the message names the
    variable and the value.
    """

    status = 503
    code = "source_misconfigured"
    title = "Source misconfigured"


@dataclasses.dataclass
class SourceControl:
    """Live knobs of a session's source.

    ``stress`` is the simulated person's stress (set through the API); ``breathing`` (session
    time -> phase in cycles) makes a simulated person follow the session's pacer: set it before
    the source is built, or later with :meth:`follow` (when pacing starts mid-session).
    """

    stress: float = 0.0
    breathing: Callable[[float], float] | None = None
    #: Set by :func:`make_source` for a source that can follow a pacer once running.
    on_breathing: Callable[[Callable[[float], float] | None], None] | None = None

    def follow(self, breathing: Callable[[float], float] | None) -> None:
        """From now on the simulated person breathes with ``breathing`` (``None``: on its own)."""
        self.breathing = breathing
        if self.on_breathing is not None:
            self.on_breathing(breathing)


def make_source(
    spec: SimulatorSpec | ReplaySpec | BleSpec,
    control: SourceControl,
    *,
    recordings_dir: Path | None = None,
) -> BeatSource:
    """Build the (unopened) source a session asked for: the one place sources plug in.

    ``recordings_dir`` is the folder a replay's ``recording`` is looked up in (the service
    passes ``Settings.recordings_path``); without it a replay is unavailable. A strap's
    source (:func:`sensors.make_ble_source`: its ``stream`` and ``motion``) imports bleak only
    when it opens.

    Raises
    ------
    SourceUnavailableError
        No recordings folder was given for a replay, or a strap's ``ecg`` stream was asked
        for without NeuroKit2 (the ``ecg`` extra, which detects its R peaks): said before
        anything connects, not after the stream has started.
    api.errors.RecordingNotFoundError
        No recording of that name in the folder.
    SourceMisconfiguredError
        The server's Bluetooth settings are unusable (``HRVPACE_BLE_CLOSE_TIMEOUT_S``).
    """
    if isinstance(spec, SimulatorSpec):
        control.stress = spec.stress
        person = SimulatedPerson(
            seed=spec.seed,
            resonance_bpm=spec.resonance_bpm,
            stress=lambda _t_s: control.stress,
            breathing=control.breathing,
            contact_loss_rate=spec.contact_loss_rate,
        )

        # pacing started mid-session (monitor mode) is followed from then on
        control.on_breathing = person.follow
        return SimulatorSource(person, clock=make_clock(spec.speed), duration_s=spec.duration_s)
    if isinstance(spec, ReplaySpec):
        if recordings_dir is None:
            raise SourceUnavailableError("replay needs the service's recordings folder")
        store = RecordingStore(recordings_dir)
        path = store.path_of(spec.recording)
        stored = store.info(spec.recording)
        fmt = spec.format or stored.format
        units = spec.units or (stored.units if fmt == "plain" else None)
        # read when the source opens; a file that became unreadable fails the session with a
        # reason that names the recording and line, never the file's content
        return RecordingSource(path, name=spec.recording, speed=spec.speed, format=fmt, units=units)
    if spec.stream == "ecg":
        _require_neurokit()
    try:
        return make_ble_source(spec.address, stream=spec.stream, motion=spec.motion)
    except BleError as exc:  # the server's environment (read when the source is built)
        raise SourceMisconfiguredError(exc.reason) from exc


def _require_neurokit() -> None:
    """Refuse a live ECG stream now when its R-peak detector (NeuroKit2) is not installed.

    Found, not imported: the import (~1.6 s of CPU, with scikit-learn, matplotlib and SciPy's
    statistics) would block the event loop, and a strap that never sends ECG (out of range,
    no Bluetooth service) would not need it; the detector imports it at its first ECG block
    (:class:`sensors.ecg_live.LiveRPeakDetector`, which fails the stream naming the extra if
    that import fails after all).
    """
    if importlib.util.find_spec("neurokit2") is None:
        raise SourceUnavailableError(
            "a live ECG stream needs NeuroKit2 to detect its R peaks: "
            f"{install_hint('ecg')} (or use --stream hr or ppi)"
        )
