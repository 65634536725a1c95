"""``hrvpace scan``: list the heart-rate straps in range (devices advertising service 0x180D)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer

__all__ = ["scan"]


def scan(
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=120.0, help="Seconds to scan.")
    ] = 5.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of {name, address, rssi}.")
    ] = False,
) -> None:
    """List nearby Bluetooth heart-rate straps (name, address, signal strength)."""
    # bleak loads only here (sensors.ble imports it lazily), not for every hrvpace command.
    from sensors.ble import scan_heart_rate_devices
    from sensors.errors import BleError

    try:
        straps = asyncio.run(scan_heart_rate_devices(timeout_s=timeout))
    except BleError as exc:
        typer.echo(f"hrvpace scan: {exc.reason}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in straps]))
        return
    if not straps:
        typer.echo(
            f"no heart-rate straps found in {timeout:g} s "
            "(worn, electrodes moistened, not connected to another app?)"
        )
        return
    width = max(len(s.name or "-") for s in straps)
    typer.echo(f"{'NAME':<{width}}  {'ADDRESS':<17}  RSSI")
    for s in straps:
        rssi = "" if s.rssi is None else f"{s.rssi} dBm"
        typer.echo(f"{s.name or '-':<{width}}  {s.address:<17}  {rssi}")
