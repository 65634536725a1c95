"""README's tables of settings are every ``HRVPACE_*`` variable the code reads, both ways.

First-day review: README had no list of the settings; ``HRVPACE_HOST``, ``HRVPACE_PORT`` and
others were named only in ``--help``. The names are collected from the settings models
(``api.settings.Settings``: ``HRVPACE_<FIELD>``; ``hub.settings.HubSettings``:
``HRVPACE_HUB_<FIELD>``) and from every ``HRVPACE_*`` literal of the shipped code (a variable
read with ``os.environ``: ``HRVPACE_CONFIG``, ``HRVPACE_TIMEZONE``,
``HRVPACE_BLE_CLOSE_TIMEOUT_S``). Plain text only: no server, no subprocess.
"""

from __future__ import annotations

import json
import re
import tomllib

from api.settings import Settings
from hub.settings import HubSettings
from tests.api.conftest import REPO_ROOT

_ROW = re.compile(r"^\| `(HRVPACE_[A-Z0-9_]+)` \| (.*)\|$", re.M)
_LITERAL = re.compile(r"HRVPACE_[A-Z0-9_]*[A-Z0-9]")
#: The shipped packages (not tests, bench or scripts: their variables are for developers).
#: Every package of pyproject's wheel (review of 0cadff8: ``hrvpace`` was left out).
_PACKAGES = ("api", "hub", "webconventions", "sensors", "hrv", "breathing", "hrvpace")


def _table(marker: str) -> dict[str, str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker}: start -->(.*?)<!-- {marker}: end -->", text, re.S)
    assert found is not None, f"README lost its {marker} table"
    return {name: rest for name, rest in _ROW.findall(found.group(1))}


def _read_in_code() -> set[str]:
    names: set[str] = set()
    for package in _PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            names |= set(_LITERAL.findall(path.read_text(encoding="utf-8")))
    return names - {"HRVPACE_HUB"}  # the prefix, in "HRVPACE_HUB_<NAME>" and "HRVPACE_HUB_*"


def test_every_setting_of_the_service_and_the_hub_is_in_readme_and_nothing_else() -> None:
    service = _table("settings")
    hub = _table("hub-settings")
    from_models = {f"HRVPACE_{n.upper()}" for n in Settings.model_fields}
    hub_models = {f"HRVPACE_HUB_{n.upper()}" for n in HubSettings.model_fields}
    read = _read_in_code()
    expected_service = from_models | {n for n in read if not n.startswith("HRVPACE_HUB_")}
    assert set(service) == expected_service
    assert set(hub) == hub_models | {n for n in read if n.startswith("HRVPACE_HUB_")}
    # a model field's config key is its lower-case name (the file takes the same keys)
    for name in from_models:
        key = name.removeprefix("HRVPACE_").lower()
        assert service[name].startswith(f"`{key}` |"), (name, service[name])
    for name in expected_service - from_models:  # read with os.environ: no config key
        assert service[name].startswith("(none) |"), (name, service[name])


def test_the_packages_searched_are_the_shipped_ones() -> None:
    """A package added to the wheel is searched for ``HRVPACE_*`` literals too."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert sorted(_PACKAGES) == sorted(shipped)


def test_the_documented_defaults_are_the_models() -> None:
    """The default column, where it is a literal, is the model's default: a falsy one (0,
    ``False``, ``""``, ``[]``) too (review of 0cadff8: those were skipped). ``None`` means
    "computed" (the data dir, the token file), which README says in words."""
    checked = 0
    for marker, model, prefix, column in (
        ("settings", Settings, "HRVPACE_", 1),
        ("hub-settings", HubSettings, "HRVPACE_HUB_", 0),
    ):
        rows = _table(marker)
        for field, info in model.model_fields.items():
            cells = [c.strip() for c in rows[f"{prefix}{field.upper()}"].split("|")]
            default = cells[column]
            if not default.startswith("`"):
                continue  # said in words ("created on first run ...")
            value = info.get_default(call_default_factory=True, validated_data={})
            if value is None:
                continue
            literal = default.split("`")[1]
            if isinstance(value, bool):
                assert literal.lower() == str(value).lower(), (field, default)
            elif isinstance(value, int | float):
                assert float(literal) == float(value), (field, default)
            elif isinstance(value, list):
                assert json.loads(literal) == value, (field, default)
            else:
                assert literal == str(value), (field, default)
            checked += 1
    assert checked >= 20
