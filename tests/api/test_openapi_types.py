"""The served OpenAPI document types what a generated client needs (review findings): the CSV
answers are text, and the response fields with a fixed set of values are enums (the set the
code produces), not strings whose values only a description lists."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest

import breathing
from api.payloads import BreakKindName
from api.sessions import STOP_STORE_TIMEOUT_S
from api.storage.writer import BACKLOG_MAX_ROWS
from sensors import SourceState
from tests.api.conftest import Server


@pytest.fixture(scope="module")
def document(module_server: Server) -> dict[str, Any]:
    r = httpx.get(f"{module_server.url}/api/v1/openapi.json", timeout=10)
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a ``$ref`` followed, and a nullable ``anyOf`` reduced to its non-null."""
    if "anyOf" in node:
        (node,) = [n for n in node["anyOf"] if n.get("type") != "null"]
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = doc["components"]["schemas"][name]
    return node


def _enum(doc: dict[str, Any], schema: str, field: str) -> set[str]:
    node = _resolve(doc, doc["components"]["schemas"][schema]["properties"][field])
    assert "enum" in node, (schema, field, node)
    return set(node["enum"])


@pytest.mark.parametrize("what", ["beats", "metrics", "contact"])
def test_the_csv_answers_are_declared_text(document: dict[str, Any], what: str) -> None:
    content = document["paths"][f"/api/v1/sessions/{{session_id}}/{what}"]["get"]["responses"][
        "200"
    ]["content"]
    assert content["text/csv"] == {"schema": {"type": "string"}}
    assert "application/json" in content


def test_response_fields_with_a_fixed_set_of_values_are_enums(document: dict[str, Any]) -> None:
    states = {"running", "ended", "stopped", "failed", "interrupted"}
    assert _enum(document, "SessionOut", "state") == states
    # the request's enum, the same set
    assert _enum(document, "SessionOut", "mode") == {"monitor", "assessment", "practice"}
    assert _enum(document, "SessionCreate", "mode") == _enum(document, "SessionOut", "mode")
    assert _enum(document, "SessionOut", "source_state") == {s.value for s in SourceState}
    kinds = {k.value for k in breathing.BreakKind}
    assert _enum(document, "BreakOut", "kind") == kinds
    assert _enum(document, "BreakKindSummary", "kind") == kinds
    assert _enum(document, "StartBreakIn", "kind") == kinds
    assert set(typing.get_args(BreakKindName)) == kinds
    assert _enum(document, "AssessmentResult", "method") == {
        "phase_crossing",
        "phase_extrapolated",
        "resonator_fit",
        "amplitude_peak",
        "none",
    }
    reasons = {"", "recent_break", "checkin_open", "missed"}
    assert _enum(document, "PromptOut", "reason") == reasons
    assert _enum(document, "AnswerOut", "reason") == reasons


def test_the_live_status_states_are_the_rest_enums(
    document: dict[str, Any], module_server: Server
) -> None:
    """Review finding: the live ``status`` message's ``state`` and ``source_state`` were plain
    strings in ``/schema/live`` (the REST fields are enums), and its description listed a
    ``starting`` state that no session answer has. They are the same enums, described alike."""
    r = httpx.get(f"{module_server.url}/api/v1/schema/live", headers=module_server.auth, timeout=10)
    live = r.json()
    defs = live["$defs"]
    status = defs["StatusMessage"]["properties"]

    def live_enum(field: str) -> tuple[set[str], str]:
        node = status[field]
        if "anyOf" in node:
            (node,) = [n for n in node["anyOf"] if n.get("type") != "null"]
        described = status[field].get("description", "")
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        assert "enum" in node, (field, status[field])
        return set(node["enum"]), described

    states, described = live_enum("state")
    assert states == _enum(document, "SessionOut", "state")
    rest = document["components"]["schemas"]["SessionOut"]["properties"]["state"]
    assert described == rest["description"]
    assert "starting" not in described
    assert all(s in described for s in states), described
    source_states, _ = live_enum("source_state")
    assert source_states == _enum(document, "SessionOut", "source_state")


def test_upload_format_and_prompt_state_are_enums(document: dict[str, Any]) -> None:
    """Review: the upload's ``format`` was a free string (maxLength 32) and the prompts'
    ``state`` filter a regex, so a generated client could not offer their values."""
    from sensors.recording import RECORDING_FORMATS

    upload = next(
        s for name, s in document["components"]["schemas"].items() if "upload_recording" in name
    )
    kinds = [k for k in upload["properties"]["format"]["anyOf"] if k.get("type") == "string"]
    assert kinds and kinds[0]["enum"] == list(RECORDING_FORMATS)
    params = document["paths"]["/api/v1/prompts"]["get"]["parameters"]
    state = next(p for p in params if p["name"] == "state")["schema"]
    enums = [k["enum"] for k in state["anyOf"] if "enum" in k]
    assert enums == [["sent", "answered", "done", "dismissed", "expired", "skipped"]]


def test_fields_always_sent_are_required_and_speed_is_bounded(document: dict[str, Any]) -> None:
    """Review (rev12_appdev 5): ``SessionOut``'s always-sent fields were optional (a generated
    client typed them ``None | X | Unset``), and the simulator's speed had no bounds while
    the server refuses anything outside (0, 10000]."""
    schemas = document["components"]["schemas"]
    session = schemas["SessionOut"]
    assert set(session["required"]) == set(session["properties"])
    strap = schemas["StrapStatus"]
    assert set(strap["required"]) == set(strap["properties"])
    health = schemas["Health"]  # storage and storage_warnings too (review of the owner locks)
    assert set(health["required"]) == set(health["properties"])
    for spec in ("SimulatorSpec", "ReplaySpec"):
        speed = schemas[spec]["properties"]["speed"]
        (number,) = [n for n in speed["anyOf"] if n.get("type") == "number"]
        assert (number["exclusiveMinimum"], number["maximum"]) == (0, 10000), spec


def test_every_live_message_requires_its_type() -> None:
    """Review (rev12_appdev 5): no live message listed ``type`` (the discriminator) in
    ``required``, so a beat without it validated and generators made it optional."""
    from api.messages import live_schema

    schema = live_schema()
    messages = [schema["$defs"][ref["$ref"].rsplit("/", 1)[-1]] for ref in schema["oneOf"]]
    assert len(messages) >= 8
    for message in messages:
        assert set(message["required"]) == set(message["properties"]), message["title"]


def test_the_session_list_declares_its_cursor_and_when_a_summary_is_null(
    document: dict[str, Any],
) -> None:
    """Review (app developer): the session list paged by ``offset`` alone, which repeats or
    skips a session started or deleted between pages, and ``summary`` did not say when it is
    null. The list names its next page (``next_cursor``, always sent, null on the last page),
    taken back as ``cursor``; ``offset`` points to it.

    ``next_cursor`` stays required (a later review asked whether to make it optional, for a
    client generated now that meets a build from before the cursor): optional, a generated
    client types it ``None | str | Unset`` against every server that sends it, and against one
    that does not, a loop that stops on ``None`` sends the unset cursor (left out) and reads
    the first page for ever; required, it refuses that list at once (``KeyError`` from the
    generated model's ``from_dict``, out of ``sync()``, not a typed error). No tagged release
    exists; builds labelled 0.1.0 from before b07fd92, which added the cursor, lack it."""
    schemas = document["components"]["schemas"]
    page = schemas["SessionList"]
    assert set(page["required"]) == {"sessions", "total", "next_cursor"}
    next_cursor = page["properties"]["next_cursor"]
    assert sorted(t["type"] for t in next_cursor["anyOf"]) == ["null", "string"]
    assert "cursor" in next_cursor["description"] and "null" in next_cursor["description"]
    params = {p["name"]: p for p in document["paths"]["/api/v1/sessions"]["get"]["parameters"]}
    assert set(params) == {"limit", "offset", "cursor"}
    (text,) = [t for t in params["cursor"]["schema"]["anyOf"] if t.get("type") == "string"]
    assert text["maxLength"] > 0 and not params["cursor"].get("required", False)
    assert "next_cursor" in params["cursor"]["description"]
    assert "twice or is skipped" in params["offset"]["description"]
    assert "cursor" in params["offset"]["description"]
    description = document["paths"]["/api/v1/sessions"]["get"]["description"]
    assert "next_cursor" in description  # and no Sphinx role: test_no_description_has_a_sphinx_role
    summary = schemas["SessionOut"]["properties"]["summary"]
    assert "null only in the answer of POST /sessions" in summary["description"]


#: A Sphinx role as a docstring writes one: ``:class:`x` ``, ``:py:func:`y` ``, ``:data:`~z` ``.
_SPHINX_ROLE = re.compile(r":(?:[a-z]+:)?[a-z][a-z0-9_-]*:`")


#: The project's own bookkeeping, which means nothing to a client's developer: a review
#: ("review rev12", "attacker review 2026-12-06"), an issue or a schema version by number.
_BOOKKEEPING = re.compile(r"\brev\d+\b|\breview\b|\bissue \d+|\bschema \d+", re.IGNORECASE)


def _sphinx_roles(
    node: object, at: str = "", pattern: re.Pattern[str] = _SPHINX_ROLE
) -> list[tuple[str, str]]:
    """Each string in an OpenAPI document (keys too) with a Sphinx role (or what ``pattern``
    finds): (where, the text)."""
    if isinstance(node, dict):
        return [
            hit
            for k, v in node.items()
            for hit in _sphinx_roles(k, at, pattern) + _sphinx_roles(v, f"{at}/{k}", pattern)
        ]
    if isinstance(node, list):
        return [hit for i, v in enumerate(node) for hit in _sphinx_roles(v, f"{at}/{i}", pattern)]
    if isinstance(node, str) and pattern.search(node):
        return [(at, node)]
    return []


def test_no_description_has_a_sphinx_role(document: dict[str, Any], tmp_path: Path) -> None:
    """Review: descriptions taken from docstrings named Python objects with Sphinx roles
    (``:data:`api.sessions.STOP_STORE_TIMEOUT_S` ``, ``:class:`Group` ``), which generated
    clients copy into their own docs, where they mean nothing, nor the project's review and
    issue numbers. The whole served document is
    walked, and the hub's (a separate app, its own document); the two numbers that replaced
    a role are held to the constants they came from."""
    from pydantic import SecretStr

    from hub import db
    from hub.app import create_app as create_hub
    from hub.settings import HubSettings

    assert _sphinx_roles({"a": [":py:func:`x`", "``x``"], ":data:`~y`": 1}) == [
        ("/a/0", ":py:func:`x`"),
        ("", ":data:`~y`"),
    ]
    engine = db.connect(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    try:
        hub = create_hub(
            HubSettings(data_dir=tmp_path, admin_token=SecretStr("a" * 32)), engine=engine
        ).openapi()
    finally:
        engine.dispose()
    assert hub["paths"] and document["paths"]
    assert _sphinx_roles(document) == []
    assert _sphinx_roles(hub) == []
    # nor the project's bookkeeping (review of hostsdoc: "review rev12" in the hub's
    # GroupRename, "(schema 3)" in an invite's withdrawal; "attacker review 2026-12-06" in
    # the calendar feed's, "before issue 15" in a break's reason)
    assert _sphinx_roles(document, pattern=_BOOKKEEPING) == []
    assert _sphinx_roles(hub, pattern=_BOOKKEEPING) == []
    stop = " ".join(
        document["paths"]["/api/v1/sessions/{session_id}/stop"]["post"]["description"].split()
    )
    assert f"capped at {STOP_STORE_TIMEOUT_S:g} s" in stop
    behind = " ".join(document["components"]["schemas"]["StorageBehind"]["description"].split())
    assert f"up to {BACKLOG_MAX_ROWS:,} rows" in behind


def test_the_live_schema_is_built_once_and_each_caller_gets_its_own_copy() -> None:
    """``GET /api/v1/schema/live`` built the schema from the models per request (~12 ms of
    CPU); it is built once, and a caller changing its copy changes no one else's."""
    from api.messages import _built_live_schema, live_schema

    first = live_schema()
    first["$defs"].clear()
    first["title"] = "changed"
    second = live_schema()
    assert second["title"] == "hrvpace live message" and len(second["$defs"]) >= 8
    assert second is not _built_live_schema() and second == _built_live_schema()
    assert _built_live_schema.cache_info().misses == 1
