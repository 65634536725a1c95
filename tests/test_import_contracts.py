"""The import-linter contracts cover what they claim to cover.

The independence contract lists the CLI command modules by name (import-linter has no
"every module but the shared helpers" form); a command added later must be listed too, or it
could import another command unnoticed.
"""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _contract(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter", encoding="utf-8")
    return parser[f"importlinter:contract:{name}"]


def _listed(value: str) -> set[str]:
    return {line.strip() for line in value.splitlines() if line.strip()}


def test_every_command_module_is_in_the_independence_contract() -> None:
    contract = _contract("commands-independent")
    assert contract["type"] == "independence"
    listed = _listed(contract["modules"])
    commands = {
        f"api.commands.{p.stem}"
        for p in (ROOT / "api" / "commands").glob("*.py")
        if not p.stem.startswith("_")
    }
    assert commands, "no command modules found"
    assert listed == commands, (
        f"not listed: {sorted(commands - listed)}; listed but gone: {sorted(listed - commands)}"
    )


def test_routes_contract_forbids_sqlite_and_research_contract_the_live_service() -> None:
    routes = _contract("routes-no-sql")
    assert _listed(routes["source_modules"]) == {"api.routes"}
    assert "sqlite3" in _listed(routes["forbidden_modules"])
    research = _contract("research-offline")
    assert _listed(research["source_modules"]) == {"api.research"}
    assert {"api.sessions", "api.pipeline", "api.live", "api.routes"} <= _listed(
        research["forbidden_modules"]
    )
