"""A client generated with openapi-python-client from the served OpenAPI document gets typed
fields for the science (issue 14): metrics, guidance with the pacer's phase reference and the
breathing pattern, micro-break events and status, assessments, session sources.

The document is fetched from a real uvicorn on 127.0.0.1; the client is generated into
``tmp_path`` and imported; its models then parse the server's real answers during a running
simulated practice session with a micro-break.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import jsonschema_rs
import pytest
from websockets.sync.client import connect

import breathing
import hrv
from api.messages import live_schema
from tests.api.conftest import Server, wait_for

#: Objects in the OpenAPI document whose content is free-form on purpose (path -> why).
FREE_FORM = {
    "paths./api/v1/schema/live.get.responses.200.content.application/json.schema": (
        "the live WebSocket's JSON Schema document: a schema is a free-form JSON object by "
        "nature (its messages are typed in that schema, checked below)"
    ),
}


def free_form_objects(node: Any, path: str = "") -> list[str]:
    """Paths of objects that admit any keys: ``additionalProperties: true`` or an object with
    neither properties, a reference, a composition nor a typed ``additionalProperties``."""
    found: list[str] = []
    if isinstance(node, dict):
        extra = node.get("additionalProperties")
        untyped = (
            node.get("type") == "object"
            and not node.get("properties")
            and extra is None
            and not any(k in node for k in ("$ref", "anyOf", "oneOf", "allOf"))
        )
        if extra is True or extra == {} or untyped:
            found.append(path.lstrip("."))
        for key, value in node.items():
            found += free_form_objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += free_form_objects(value, f"{path}.{i}")
    return found


@pytest.fixture(scope="module")
def server(module_server: Server) -> Server:
    return module_server


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/api/v1/openapi.json", timeout=10)
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


@pytest.fixture(scope="module")
def client_models(
    document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("client")
    spec = out / "openapi.json"
    spec.write_text(json.dumps(document))
    tool = Path(sys.executable).parent / "openapi-python-client"
    assert tool.exists(), "openapi-python-client is missing: pip install -e '.[dev]'"
    done = subprocess.run(
        [
            str(tool),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(out / "hrvpace_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("hrvpace_client.models")
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n.split(".")[0] == "hrvpace_client"]:
            del sys.modules[name]


def test_no_free_form_object_is_left_but_the_listed_ones(document: dict[str, Any]) -> None:
    assert sorted(free_form_objects(document)) == sorted(FREE_FORM)


def test_the_live_schema_has_no_free_form_object() -> None:
    assert free_form_objects(live_schema()) == []


def _fields(cls: type) -> set[str]:
    """Attribute names of a generated model, as JSON keys (the generator writes ``type_``)."""
    return {f.name.removesuffix("_") for f in attrs.fields(cls)}


#: Generated model -> the core dataclass whose fields it must carry as typed attributes.
CORE_OF = {
    "WindowMetrics": hrv.WindowMetrics,
    "MetricsSnapshot": hrv.WindowMetrics,
    "WindowSignal": hrv.WindowSignal,
    "Guidance": breathing.Guidance,
    "GuidanceChange": breathing.Guidance,
    "PacerReference": breathing.PacerReference,
    "BreathingPattern": breathing.BreathingPattern,
    "PacerPhase": breathing.PacerPhase,
    "AssessmentProgress": breathing.AssessmentProgress,
    "AdaptiveDecision": breathing.AdaptiveDecision,
    "RateChanged": breathing.RateChanged,
    "ModeChanged": breathing.ModeChanged,
    "AssessmentStepDone": breathing.AssessmentStepDone,
    "AssessmentDone": breathing.AssessmentDone,
    "StoredAssessmentStep": breathing.AssessmentStepDone,
    "StoredAssessmentComplete": breathing.AssessmentDone,
    "AssessmentResult": breathing.AssessmentResult,
    "RateResult": breathing.RateResult,
    "Criterion": breathing.Criterion,
    "CriterionUse": breathing.CriterionUse,
    "MicroBreakDue": breathing.MicroBreakDue,
    "Reason": breathing.Reason,
    "Suggestion": breathing.Suggestion,
    "Baseline": breathing.Baseline,
    "FlagAcknowledged": breathing.FlagAcknowledged,
    "Snoozed": breathing.Snoozed,
    "BreakStarted": breathing.BreakStarted,
    "BreakEnded": breathing.BreakEnded,
    "BreakEffect": breathing.BreakEffect,
    "MicroBreakStatus": breathing.MicroBreakStatus,
    "MicroBreakSettings": breathing.MicroBreakSettings,
}


@pytest.mark.parametrize("name", sorted(CORE_OF))
def test_generated_models_carry_the_core_fields_as_typed_attributes(
    client_models: ModuleType, name: str
) -> None:
    cls = getattr(client_models, name)
    names = _fields(cls)
    core = {f.name for f in dataclasses.fields(CORE_OF[name])}
    assert core <= names, f"{name} lacks {core - names}"
    assert "additional_properties" not in names, f"{name} takes free-form keys"


@pytest.mark.parametrize(
    ("wrapper", "field", "typed_as"),
    [
        ("SessionOut", "last_metrics", "WindowMetrics"),
        ("SessionOut", "last_signal", "WindowSignal"),
        ("SessionOut", "last_guidance", "Guidance"),
        ("SessionOut", "last_micro_break", "MicroBreakDue"),
        ("SessionOut", "source", "SimulatorSourceOut"),
        ("SessionOut", "options", "SessionOptionsOut"),
        ("GuidanceOut", "guidance", "Guidance"),
        ("GuidanceHistoryOut", "changes", "GuidanceChange"),
        ("AssessmentsOut", "results", "StoredAssessmentComplete"),
        ("EventsOut", "events", "BreakEffect"),
        ("HistoryItem", "data", "MicroBreakDue"),
        ("MicroBreakStateOut", "status", "MicroBreakStatus"),
        ("MicroBreakSettingsOut", "settings", "MicroBreakSettings"),
        ("MicroBreakSettingsOut", "overrides", "MicroBreakSettingsIn"),
        ("SnapshotsOut", "metrics", "MetricsSnapshot"),
    ],
)
def test_the_response_fields_are_typed_with_those_models(
    client_models: ModuleType, wrapper: str, field: str, typed_as: str
) -> None:
    (attr,) = [f for f in attrs.fields(getattr(client_models, wrapper)) if f.name == field]
    annotation = str(attr.type)
    assert typed_as in annotation, annotation
    assert "dict[str, Any]" not in annotation, annotation


def test_the_generated_client_parses_a_running_session(
    client_models: ModuleType, server: Server
) -> None:
    m = client_models
    with server.client() as c:
        s = c.post(
            "/api/v1/sessions",
            json={
                "source": {"kind": "simulator", "seed": 3, "speed": 30},
                "mode": "practice",
                "practice_rate_bpm": 6.0,
            },
        ).json()
        sid = s["id"]
        base = f"/api/v1/sessions/{sid}"
        try:
            got = wait_for(
                lambda: (
                    (body := c.get(base).json())["last_metrics"] and body["last_guidance"] and body
                ),
                timeout_s=30,
                what="metrics and guidance",
            )
            session = m.SessionOut.from_dict(got)
            assert isinstance(session.source, m.SimulatorSourceOut) and session.source.seed == 3
            assert isinstance(session.last_metrics, m.WindowMetrics)
            assert session.last_metrics.rmssd_ms > 0 and session.last_metrics.n_beats > 40
            assert isinstance(session.last_signal, m.WindowSignal)
            assert session.last_signal.quality >= 0.9 and session.last_signal.n_beats > 40
            g = session.last_guidance
            assert isinstance(g, m.Guidance) and isinstance(g.reference, m.PacerReference)
            assert g.reference.rate_bpm == 6.0
            assert g.pattern.inhale_to_exhale == pytest.approx(4 / 6)
            r = c.post(f"{base}/breathing/practice", json={"rate_bpm": 5.5})
            out = m.GuidanceOut.from_dict(r.json())
            assert out.guidance.rate_bpm == 5.5 and out.guidance.mode == m.PacingMode.FIXED
            started = m.EventsOut.from_dict(
                c.post(f"{base}/microbreaks/start", json={"kind": "walk"}).json()
            )
            assert [type(e).__name__ for e in started.events] == ["BreakStarted"]
            assert started.events[0].kind == m.BreakKind.WALK
            state = m.MicroBreakStateOut.from_dict(c.get(f"{base}/microbreaks").json())
            assert state.status.in_break and isinstance(state.status.baseline, m.Baseline)
            c.post(f"{base}/microbreaks/end")
            settings = m.MicroBreakSettingsOut.from_dict(
                c.get("/api/v1/microbreaks/settings").json()
            )
            assert settings.settings.time_on_task_s == 5400.0
        finally:
            c.post(f"{base}/stop")
        history = m.GuidanceHistoryOut.from_dict(c.get(f"{base}/breathing/history").json())
        changes = [type(e).__name__ for ch in history.changes for e in ch.events]
        assert "RateChanged" in changes
        breaks = m.HistoryOut.from_dict(
            c.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        )
        kinds = {type(e.data).__name__ for e in breaks.events}
        assert {"BreakStarted", "BreakEnded"} <= kinds
        snapshots = m.SnapshotsOut.from_dict(c.get(f"{base}/metrics").json())
        assert snapshots.metrics and isinstance(snapshots.metrics[0], m.MetricsSnapshot)
        # the first full 60 s window of NN intervals, dated on the beats' clock (hrv.LiveAnalyser):
        # the simulated person's left-out artefacts take time there, so it may end after 60 s;
        # the windows follow every 5 s of NN intervals, so at least 5 s apart on that clock
        t_windows = [w.t_s for w in snapshots.metrics]
        assert t_windows[0] >= 60.0
        assert all(b - a >= 5.0 - 1e-9 for a, b in itertools.pairwise(t_windows))
        # rev12 review finding 4: the ended session's GET has its last stored window (it had
        # none, and a page attaching it again showed "-" under "its last numbers")
        ended = m.SessionOut.from_dict(c.get(base).json())
        assert not ended.live and isinstance(ended.last_metrics, m.WindowMetrics)
        last = c.get(f"{base}/metrics").json()["metrics"][-1]
        assert ended.last_metrics.to_dict() == {k: v for k, v in last.items() if k != "recorded_at"}


def test_real_live_messages_fit_the_served_live_schema(server: Server) -> None:
    """Every message of a practice session with a break fits the closed live schema."""
    with server.client() as c:
        schema = c.get("/api/v1/schema/live").json()
        validator = jsonschema_rs.validator_for(schema)
        s = c.post(
            "/api/v1/sessions",
            json={
                "source": {"kind": "simulator", "seed": 4, "speed": 30},
                "mode": "practice",
                "practice_rate_bpm": 6.0,
            },
        ).json()
        url = f"{server.ws_url}/api/v1/sessions/{s['id']}/live?token={server.token}"
        seen: set[str] = set()
        break_asked = False
        deadline = time.monotonic() + 30
        try:
            with connect(url, open_timeout=10) as ws:
                for text in ws:
                    message = json.loads(text)
                    errors = [e.message for e in validator.iter_errors(message)]
                    assert not errors, (message["type"], errors[:3])
                    seen.add(message["type"])
                    if message["type"] == "metrics" and not break_asked:
                        # once: a second metrics window can come before the break's message
                        break_asked = True
                        r = c.post(f"/api/v1/sessions/{s['id']}/microbreaks/start", json={})
                        assert r.status_code == 200, r.text
                    if {"beat", "metrics", "signal", "guidance", "micro_break", "status"} <= seen:
                        break
                    assert time.monotonic() < deadline, f"only {seen} within 30 s"
        finally:
            c.post(f"/api/v1/sessions/{s['id']}/stop")
    # a message with a free-form key is refused: the schema is closed
    bad = {**message, "extra": 1}
    assert not validator.is_valid(bad)


def test_a_generated_client_put_of_some_fields_keeps_the_plan_zone_and_seed(
    client_models: ModuleType, document: dict[str, Any], server: Server
) -> None:
    """Review finding 3: the schema published ``timezone`` default ``"UTC"`` and ``seed``
    default ``0``, so a generated client sent them on every PUT and reset the plan's zone and
    seed. README: a PUT without ``timezone`` or ``seed`` keeps the plan's; every other field
    left out takes its (published) default, the PUT replaces the plan."""
    body = document["components"]["schemas"]["DayPlanIn"]["properties"]
    assert "default" not in body["timezone"] and "default" not in body["seed"]
    assert body["work_start"]["default"] == "08:30:00"  # the others: defaults, a full replace
    put = importlib.import_module("hrvpace_client.api.dayplan.dayplan_put_dayplan")
    with server.client() as c:
        r = c.put(
            "/api/v1/dayplan",
            json={"timezone": "Asia/Tokyo", "seed": 1828310651, "work_start": "07:00"},
        )
        assert r.status_code == 200, r.text
    authenticated = importlib.import_module("hrvpace_client").AuthenticatedClient
    with authenticated(base_url=server.url, token=server.token) as client:
        out = put.sync(client=client, body=client_models.DayPlanIn(working_days=[1, 2, 3, 4]))
        assert isinstance(out, client_models.DayPlanOut), out
        assert (out.timezone, out.seed) == ("Asia/Tokyo", 1828310651)
        assert out.working_days == [1, 2, 3, 4]
        assert out.work_start == "08:30:00"  # left out: the default (a full replace)
        # a generated client may also say "keep" with null (Optional fields)
        out = put.sync(client=client, body=client_models.DayPlanIn(timezone=None, seed=None))
        assert isinstance(out, client_models.DayPlanOut), out
        assert (out.timezone, out.seed) == ("Asia/Tokyo", 1828310651)


def test_a_generated_client_pages_the_sessions_with_the_cursor(
    client_models: ModuleType, server: Server
) -> None:
    """Review (app developer): the session list paged by ``offset`` alone. A generated client
    follows ``next_cursor`` (typed ``None | str``) back as ``cursor`` to the last page, and
    gets every session once, in the list's order; a text that is no cursor is a typed
    Problem naming ``cursor``."""
    storage = server.app.state.storage
    for n, at in enumerate((10.0, 20.0, 20.0, 30.0, 40.0)):  # the oldest of this module
        sid = f"paging{n}"
        source = {"kind": "simulator"}
        storage.create_session(
            sid, created_at=at, mode="monitor", source=source, options={}
        ).result(timeout=10)
        storage.set_session_state(sid, "ended", ended_at=at + 1).result(timeout=10)
    listing = importlib.import_module("hrvpace_client.api.sessions.sessions_list_sessions")
    authenticated = importlib.import_module("hrvpace_client").AuthenticatedClient
    with server.client() as c:
        whole = [
            s["id"] for s in c.get("/api/v1/sessions", params={"limit": 1000}).json()["sessions"]
        ]
    assert whole[-5:] == ["paging4", "paging3", "paging1", "paging2", "paging0"]
    walked: list[str] = []
    with authenticated(base_url=server.url, token=server.token) as client:
        kwargs: dict[str, Any] = {}
        while True:
            page = listing.sync(client=client, limit=2, **kwargs)
            assert isinstance(page, client_models.SessionList), page
            walked += [s.id for s in page.sessions]
            if page.next_cursor is None:
                break
            assert isinstance(page.next_cursor, str) and len(walked) < 1000
            kwargs = {"cursor": page.next_cursor}
        assert walked == whole
        bad = listing.sync(client=client, cursor="not a cursor")
        assert isinstance(bad, client_models.Problem), bad
        assert bad.errors and bad.errors[0].loc == ["query", "cursor"]


def test_a_generated_client_gets_a_typed_problem_for_405_and_415(
    client_models: ModuleType, server: Server
) -> None:
    """Review (app developer): the service answers 405 ``method_not_allowed`` and 415
    ``unsupported_media_type`` as problems, but the document declared neither, so a generated
    client's answer was ``parsed=None`` (or ``UnexpectedStatus``). A 405 is what a client
    generated from this document gets from a server older than one of its operations (a server
    from before labels takes no ``PATCH`` at ``/sessions/{id}``): here the label's ``PATCH`` is
    sent (a request hook) to ``/sessions``, which this server takes no ``PATCH`` at either. A
    415 is a body relabelled on its way (a hook too) as ``text/plain``."""
    update = importlib.import_module("hrvpace_client.api.sessions.sessions_update_session")
    authenticated = importlib.import_module("hrvpace_client").AuthenticatedClient
    body = client_models.SessionPatch(label="x")

    def to_the_list(request: httpx.Request) -> None:
        request.url = request.url.copy_with(path="/api/v1/sessions")

    hooks = {"event_hooks": {"request": [to_the_list]}}
    with authenticated(base_url=server.url, token=server.token, httpx_args=hooks) as client:
        answer = update.sync_detailed(client=client, session_id="nosuch", body=body)
    assert answer.status_code == 405, answer.content
    assert isinstance(answer.parsed, client_models.Problem), answer.parsed
    assert answer.parsed.code == "method_not_allowed"
    assert answer.headers["allow"] == "GET, POST", answer.headers

    def as_text(request: httpx.Request) -> None:
        request.headers["Content-Type"] = "text/plain"

    hooks = {"event_hooks": {"request": [as_text]}}
    with authenticated(base_url=server.url, token=server.token, httpx_args=hooks) as client:
        answer = update.sync_detailed(client=client, session_id="nosuch", body=body)
    assert answer.status_code == 415, answer.content
    assert isinstance(answer.parsed, client_models.Problem), answer.parsed
    assert answer.parsed.code == "unsupported_media_type"
    assert "text/plain" in answer.parsed.detail


def test_a_generated_client_calls_head_health_and_reads_no_body(
    client_models: ModuleType, server: Server
) -> None:
    """Review (apicontract 2): the document declared a JSON body on ``HEAD /health``'s 200
    and a problem on its errors, so the generated client read the empty answer as JSON and
    raised. Its 200, and a 405 (a server older than ``HEAD /health`` took only ``GET``
    there; here the request goes, by a hook, to ``/sessions``, which takes no ``HEAD``),
    come back with no body and nothing parsed."""
    head = importlib.import_module("hrvpace_client.api.health.health_health_head")
    plain = importlib.import_module("hrvpace_client").Client
    with plain(base_url=server.url) as client:
        answer = head.sync_detailed(client=client)
    assert (answer.status_code, answer.content, answer.parsed) == (200, b"", None)

    def to_the_list(request: httpx.Request) -> None:
        request.url = request.url.copy_with(path="/api/v1/sessions")

    hooks = {"event_hooks": {"request": [to_the_list]}}
    with plain(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, httpx_args=hooks
    ) as client:
        answer = head.sync_detailed(client=client)
    assert (answer.status_code, answer.content, answer.parsed) == (405, b"", None)
    assert answer.headers["allow"] == "GET, POST", answer.headers
