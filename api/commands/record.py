"""``hrvpace record``: record a Bluetooth strap's beats to an hrvpace recording file.

The file (``sensors.RecordingWriter``, format ``hrvpace``) keeps each beat's time, RR interval,
arrival time, skin contact, gaps (reconnects) and the strap's heart rate, flushed beat by beat,
so it can be replayed later (``sensors.ReplaySource``) even if the recording was interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["record"]


def record(
    device: Annotated[
        str, typer.Option("--device", help="The strap's Bluetooth address or advertised name.")
    ],
    out: Annotated[Path, typer.Option("--out", help="The recording file to create.")],
    minutes: Annotated[
        float | None,
        typer.Option("--minutes", min=0.0, help="Stop after this many minutes (default: Ctrl-C)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUT if it exists.")
    ] = False,
    scan_timeout: Annotated[
        float,
        typer.Option("--scan-timeout", min=0.1, help="Seconds to look for the strap."),
    ] = 10.0,
) -> None:
    """Record beats from a heart-rate strap to a file hrvpace can replay."""
    from sensors.errors import SensorError

    if out.exists() and not overwrite:
        typer.echo(f"hrvpace record: {out} exists (use --overwrite to replace it)", err=True)
        raise typer.Exit(1)
    written = [0]
    try:
        asyncio.run(
            _record(
                device,
                out,
                minutes=minutes,
                overwrite=overwrite,
                scan_timeout_s=scan_timeout,
                written=written,
            )
        )
    except SensorError as exc:
        typer.echo(f"hrvpace record: {exc.reason}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    typer.echo(f"{written[0]} beats written to {out}")


async def _record(
    device: str,
    out: Path,
    *,
    minutes: float | None,
    overwrite: bool,
    scan_timeout_s: float,
    written: list[int],
) -> None:
    from api._version import __version__
    from sensors.beat import SourceStatus
    from sensors.ble import BleStrapSource
    from sensors.clock import SystemClock
    from sensors.recording import RecordingWriter

    clock = SystemClock()
    strap = BleStrapSource(device, clock=clock, scan_timeout_s=scan_timeout_s)
    last_state: list[str] = []

    def show(status: SourceStatus) -> None:
        # state changes only (reconnecting, HR-only, ...), not every heart-rate update
        if not last_state or status.state != last_state[-1]:
            last_state.append(status.state)
            typer.echo(f"[{status.state}] {status.message}", err=True)

    strap.add_status_listener(show)
    async with strap:
        status = strap.status
        info = strap.device_info
        meta = {
            "source": "ble",
            "device_name": status.device_name,
            "device_address": status.device_address,
            "device_info": None if info is None else info.summary(),
            "started_at_unix_s": clock.now(),
            "hrvpace_version": __version__,
        }
        with RecordingWriter(out, meta=meta, overwrite=overwrite) as writer:
            limit = None if minutes is None else minutes * 60.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(limit):
                    async for beat in strap:
                        writer.write(beat)
                        written[0] = writer.n_written
