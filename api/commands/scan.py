"""``hrvpace scan``: list the heart-rate devices in range (advertising service 0x180D).

Whether a device sends RR intervals is only known after connecting (the Heart Rate Measurement
flags of its first packets): ``--probe SECONDS`` connects to each device in turn to find out,
and reads which Polar Measurement Data streams (ECG, PPI, ACC, PPG) it offers (column PMD).
"""

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
        bool,
        typer.Option(
            "--json",
            help=(
                "Print a JSON list of {name, address, rssi, sends_rr, pmd_streams, reason} "
                "(reason: what the probe said, why RR is unknown; null without --probe)."
            ),
        ),
    ] = False,
    probe: Annotated[
        float,
        typer.Option(
            "--probe",
            min=0.0,
            max=60.0,
            metavar="SECONDS",
            help=(
                "Connect to each device and listen up to SECONDS to learn whether it sends RR "
                "(beat-to-beat) intervals and which Polar Measurement Data streams it offers "
                "(PMD: ecg, ppg, acc, ppi); 0 (default) does not connect, RR shows '?'."
            ),
        ),
    ] = 0.0,
) -> None:
    """List nearby Bluetooth heart-rate devices (name, address, signal strength, sends RR)."""
    # bleak loads only here (sensors.ble imports it lazily), not for every hrvpace command.
    from sensors.ble import scan_heart_rate_devices
    from sensors.ble_discovery import RR_IMPLAUSIBLE
    from sensors.errors import BleError

    try:
        straps = asyncio.run(scan_heart_rate_devices(timeout_s=timeout, probe_s=probe))
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
    # the PMD streams are only known after connecting: a column only when probed
    pmd = {
        s.address: "?" if s.pmd_streams is None else (",".join(s.pmd_streams) or "none")
        for s in straps
    }
    pmd_width = max(3, *(len(v) for v in pmd.values()))
    pmd_head = f"{'PMD':<{pmd_width}}  " if probe > 0 else ""
    typer.echo(f"{'NAME':<{width}}  {'ADDRESS':<17}  {'RSSI':<8}  {pmd_head}RR")
    for s in straps:
        rssi = "" if s.rssi is None else f"{s.rssi} dBm"
        rr = {True: "yes", False: "no (heart rate only: no HRV)", None: "?"}[s.sends_rr]
        if s.sends_rr is False and s.reason == RR_IMPLAUSIBLE:  # RR values, none a heart's
            rr = "no (RR values implausible: faulty device; no HRV)"
        streams = f"{pmd[s.address]:<{pmd_width}}  " if probe > 0 else ""
        typer.echo(f"{s.name or '-':<{width}}  {s.address:<17}  {rssi:<8}  {streams}{rr}")
    unknown = [s for s in straps if s.sends_rr is None]
    if unknown and probe == 0:
        typer.echo("RR ?: only known after connecting (hrvpace scan --probe 5)")
    for s in unknown if probe > 0 else ():
        why = (s.reason or "unknown").removeprefix("unknown: ")
        typer.echo(f"RR ? {s.name or '-'} ({s.address}): {why}")
