"""Command-line options that several subcommands share, spelled once."""

from __future__ import annotations

from typing import Annotated

import typer

from sensors import RECORDING_FORMATS

__all__ = ["FormatOpt", "UnitsOpt"]

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help=f"Recording format ({', '.join(RECORDING_FORMATS)}); detected when omitted.",
    ),
]
UnitsOpt = Annotated[
    str | None, typer.Option("--units", help="Units of a plain file: ms (default) or s.")
]
