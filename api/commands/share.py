"""``hrvpace share``: opt in to an organisation's hub, push daily aggregates, stop and delete.

Exit codes: 0 done; 1 the hub refused or could not be reached (a push that stopped at a day
the hub did not take for now, e.g. its clock behind this one's, included: that day and the
later ones stay pending), or nothing to stop; 2 declined.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["share"]


def share(
    hub: Annotated[
        str | None, typer.Option("--hub", help="The hub's URL (https://...), with --invite.")
    ] = None,
    invite: Annotated[
        str | None, typer.Option("--invite", help="The invite code the organisation gave you.")
    ] = None,
    stop: Annotated[
        bool,
        typer.Option(
            "--stop",
            help="Stop sharing (the hub keeps past days; --delete, now or later, erases them).",
        ),
    ] = False,
    delete: Annotated[
        bool, typer.Option("--delete", help="With --stop: delete everything sent to the hub.")
    ] = False,
    push: Annotated[
        bool, typer.Option("--push", help="Send the finished days not sent yet, now.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Join without asking (after showing the data).")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The service's data folder (env HRVPACE_DATA_DIR)."),
    ] = None,
) -> None:
    """Share daily aggregates with your organisation's hub (opt-in, revocable).

    Without options: shows whether you share, and exactly what a day's contribution holds.
    Only these daily numbers leave your machine: never beats, notes or reflections.
    """
    from api import hubshare
    from api.settings import load_settings, timezone_setting

    settings = load_settings(data_dir=data_dir)
    if not stop:  # the days shown and sent are the plan's; stopping needs no plan
        timezone_setting()
    folder = settings.data_dir
    try:
        current = hubshare.load_membership(folder)
        if stop:
            try:
                left = hubshare.leave_hub(folder, delete=delete)
            except hubshare.AlreadyStoppedError as exc:
                typer.echo(str(exc))
                return
            if left.hub_had_stopped and current is not None:
                typer.echo(
                    f"the hub at {current.hub_url} had already ended this membership; it is "
                    "marked stopped here too."
                )
            if delete:
                typer.echo(
                    f"stopped sharing, {left.deleted} day(s) deleted on the hub. Weekly team "
                    "figures already published (each over at least the group's k people) stay "
                    "as they were, your part in them included; later weeks leave you out."
                )
            elif current is not None and current.last_sent is not None:
                typer.echo(
                    "stopped sharing: nothing more is sent; the past days stay on the hub (the "
                    f"last sent: {current.last_sent}). "
                    f"The member token is kept in {folder / hubshare.STATE_FILE} (readable by "
                    "you only) so that `hrvpace share --stop --delete` can erase them later; "
                    "sharing again means erasing them first."
                )
            else:
                typer.echo(
                    "stopped sharing: no day was sent, and nothing more will be. Sharing "
                    "again means `hrvpace share --stop --delete` first (it removes the "
                    f"membership kept in {folder / hubshare.STATE_FILE})."
                )
            return
        if delete:
            raise typer.BadParameter("--delete goes with --stop")
        if hub or invite:
            if not (hub and invite):
                raise typer.BadParameter("--hub and --invite go together")
            if current is not None and current.stopped_on is not None:
                typer.echo(
                    f"hrvpace share: you stopped sharing with {current.hub_url} on "
                    f"{current.stopped_on}; the days sent then are still there and this "
                    "machine keeps the only token that can erase them. Run "
                    "`hrvpace share --stop --delete` first (one hub membership at a time).",
                    err=True,
                )
                raise typer.Exit(1)
            if current is not None:
                typer.echo(
                    f"hrvpace share: already sharing with {current.hub_url} (one hub at a time); "
                    "run `hrvpace share --stop` first",
                    err=True,
                )
                raise typer.Exit(1)
            _show_preview(settings.database_path)
            if not yes and not typer.confirm(f"Share these daily numbers with {hub}?"):
                raise typer.Exit(2)
            membership = hubshare.join_hub(hub, invite)
            path = hubshare.save_membership(folder, membership)
            typer.echo(
                f"joined: member {membership.member_id} of group {membership.group_id}; "
                f"days count from {membership.counts_from} (the first whole week)"
            )
            typer.echo(f"membership kept in {path} (readable by you only)")
            typer.echo("`hrvpace serve` sends each finished day; `hrvpace share --push` now.")
            return
        if push:
            if current is not None and current.stopped_on is not None:
                typer.echo(
                    f"hrvpace share: stopped sharing on {current.stopped_on}; nothing is sent",
                    err=True,
                )
                raise typer.Exit(1)
            if current is None:
                typer.echo("hrvpace share: not sharing with any hub", err=True)
                raise typer.Exit(1)
            db = hubshare.ReadOnlyDatabase(settings.database_path)
            try:
                for day, outcome in hubshare.push_pending(folder, db):
                    typer.echo(f"{day}: {outcome}")
            except hubshare.PushStoppedError as exc:
                for day, outcome in exc.done:
                    typer.echo(f"{day}: {outcome}")
                raise
            finally:
                db.close()
            return
        if current is None:
            typer.echo("not sharing with any hub (hrvpace share --hub URL --invite CODE)")
        elif current.stopped_on is not None:
            kept = (
                f"the days sent before (up to {current.last_sent}) stay on the hub until"
                if current.last_sent is not None
                else "no day was sent; sharing again needs"
            )
            typer.echo(
                f"stopped sharing with {current.hub_url} on {current.stopped_on} (member "
                f"{current.member_id}); {kept} `hrvpace share --stop --delete`"
            )
        else:
            typer.echo(
                f"sharing with {current.hub_url} as member {current.member_id}; "
                f"last day sent: {current.last_sent or 'none yet'}; last day done (sent, or "
                f"refused for good): {current.last_pushed or 'none yet'}"
            )
        if current is not None and current.refused:
            typer.echo(
                "days the hub refused for good (not sent, never retried): "
                + ", ".join(f"{day} ({code})" for day, code in sorted(current.refused.items()))
            )
        _show_preview(settings.database_path)
    except hubshare.HubShareError as exc:
        typer.echo(f"hrvpace share: {exc}", err=True)
        raise typer.Exit(1) from None


def _show_preview(database: Path) -> None:
    from api import hubshare

    if database.exists():
        db = hubshare.ReadOnlyDatabase(database)
        try:
            day = hubshare.plan_today(db) - dt.timedelta(days=1)
            payload = hubshare.daily_aggregates(db, day)
        finally:
            db.close()
    else:
        day = dt.date.today() - dt.timedelta(days=1)
        payload = hubshare.day_without_data(day)
    typer.echo("This is exactly what is sent for one day (yesterday shown; null = no data):")
    typer.echo(json.dumps(payload, indent=2))
    typer.echo(hubshare.DEFINITIONS)
