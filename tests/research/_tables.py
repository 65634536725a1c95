"""Reading back the tables hrvpace writes (CSV headers are ``name [unit]``)."""

from __future__ import annotations

import csv
from pathlib import Path


def read_csv_with_units(path: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Rows keyed by the plain column name, and ``{name: unit}`` from the header."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    names: list[str] = []
    units: dict[str, str] = {}
    for cell in header:
        name, sep, rest = cell.partition(" [")
        assert sep and rest.endswith("]"), f"header cell without a unit: {cell!r}"
        names.append(name)
        units[name] = rest[:-1]
    return [dict(zip(names, r, strict=True)) for r in rows], units
