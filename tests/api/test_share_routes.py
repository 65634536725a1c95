"""The page's team sharing routes (``/api/v1/share``) against a real hub: the person's service
and the hub (``hub.create_app`` on SQLite, its own clock) each on a real uvicorn on 127.0.0.1.

The routes call :mod:`api.hubshare`, as ``hrvpace share`` does; these tests check what the hub
ends up holding, not only what the routes answer.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api import hubshare
from api.app import create_app
from api.settings import load_settings
from hub import db as hubdb
from tests._hub import RunningHub, running_hub_in
from tests._uvicorn import start_uvicorn
from tests.api.conftest import Server
from tests.api.test_share import EXPECTED, _seed

TOKEN = "share-route-token"
EXPECTED_DAY = str(EXPECTED["date"])


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    with running_hub_in(tmp_path) as running:
        yield running


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    """The person's service on a seeded data dir (yesterday's data of ``test_share``)."""
    data = tmp_path / "me"
    _seed(data)
    server = start_uvicorn(create_app(load_settings(data_dir=data, token=TOKEN)))
    client = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    )
    try:
        yield client, data
    finally:
        client.close()
        server.stop()


def _problem(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    return str(body["detail"])


def test_preview_join_push_stop_and_delete_through_the_routes(
    hub: RunningHub, service: tuple[httpx.Client, Path]
) -> None:
    api, data = service
    assert api.get("/api/v1/share").json() == {"state": "not_sharing", "membership": None}
    preview = api.get("/api/v1/share/preview").json()
    assert preview["contribution"] == EXPECTED  # exactly what is sent for yesterday
    assert "60-360 s" in preview["definitions"]
    assert "private" not in str(preview)  # a check-in's note never leaves

    gid, code = hub.invite()
    r = api.post("/api/v1/share/join", json={"hub_url": hub.server.url, "invite": code})
    assert r.status_code == 201, r.text
    joined = r.json()
    assert joined["state"] == "sharing"
    assert joined["membership"]["group_id"] == gid and joined["membership"]["last_pushed"] is None
    state = data / hubshare.STATE_FILE
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert hub.count(hubdb.members) == 1
    assert api.get("/api/v1/share").json() == joined
    # one hub at a time: a second join is refused before the hub is asked
    _, code2 = hub.invite("other")
    r = api.post("/api/v1/share/join", json={"hub_url": hub.server.url, "invite": code2})
    assert "already sharing" in _problem(r, 409, "already_sharing")
    assert hub.count(hubdb.members) == 1

    # the service's push (the same function) sends what the preview showed
    hub.clock[0] = time.time()
    db = hubshare.ReadOnlyDatabase(data / "hrvpace.sqlite3")
    try:
        assert (EXPECTED_DAY, "sent") in [
            (d.isoformat(), o) for d, o in hubshare.push_pending(data, db)
        ]
    finally:
        db.close()
    with hub.engine.connect() as conn:
        row = (
            conn.execute(
                hubdb.contributions.select().where(
                    hubdb.contributions.c.day == dt.date.fromisoformat(EXPECTED_DAY)
                )
            )
            .mappings()
            .one()
        )
    assert {k: row[k] for k in EXPECTED if k != "date"} == {
        k: v for k, v in preview["contribution"].items() if k != "date"
    }
    n_sent = hub.count(hubdb.contributions)
    assert api.get("/api/v1/share").json()["membership"]["last_pushed"] is not None

    # stop: nothing more is sent, the days stay on the hub, the token is kept for a delete
    r = api.post("/api/v1/share/stop", json={})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "stopped" and r.json()["deleted_contributions"] == 0
    assert r.json()["membership"]["stopped_on"] is not None
    assert state.exists() and hub.count(hubdb.contributions) == n_sent
    _problem(api.post("/api/v1/share/stop", json={"delete": False}), 409, "already_stopped")
    r = api.post("/api/v1/share/join", json={"hub_url": hub.server.url, "invite": code2})
    assert "stop with delete first" in _problem(r, 409, "already_sharing")

    # stop with delete: the hub erases every day and the member; the token is gone
    r = api.post("/api/v1/share/stop", json={"delete": True})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "state": "not_sharing",
        "membership": None,
        "deleted_contributions": n_sent,
        "hub_had_stopped": False,
    }
    assert not state.exists()
    assert hub.count(hubdb.contributions) == 0 and hub.count(hubdb.members) == 0
    _problem(api.post("/api/v1/share/stop", json={"delete": True}), 409, "not_sharing")


def test_a_stop_the_hub_had_made_already_is_done_not_refused(
    hub: RunningHub, service: tuple[httpx.Client, Path]
) -> None:
    """Review: when the hub had ended the membership first (its 409 ``already_stopped``), the
    stop was saved here but answered 409, and the page said "Not done" about what was done."""
    api, data = service
    _, code = hub.invite()
    r = api.post("/api/v1/share/join", json={"hub_url": hub.server.url, "invite": code})
    assert r.status_code == 201, r.text
    membership = hubshare.load_membership(data)
    assert membership is not None
    stopped = httpx.delete(
        f"{hub.server.url}/hub/v1/me",
        params={"delete": "false"},
        headers={"Authorization": f"Bearer {membership.token}"},
    )
    assert stopped.status_code == 200, stopped.text

    r = api.post("/api/v1/share/stop", json={"delete": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "stopped" and body["hub_had_stopped"] is True
    assert body["membership"]["stopped_on"] is not None and body["deleted_contributions"] == 0
    kept = hubshare.load_membership(data)
    assert kept is not None and kept.token == membership.token  # still erases the days
    # stopping again here: nothing to do, as for any stopped membership
    _problem(api.post("/api/v1/share/stop", json={"delete": False}), 409, "already_stopped")
    r = api.post("/api/v1/share/stop", json={"delete": True})
    assert r.status_code == 200 and r.json()["state"] == "not_sharing", r.text
    assert hub.count(hubdb.members) == 0


def test_refusals_are_problems_that_say_why(
    hub: RunningHub, service: tuple[httpx.Client, Path]
) -> None:
    api, data = service
    r = api.post("/api/v1/share/join", json={"hub_url": hub.server.url, "invite": "nope"})
    assert "invite_invalid" in _problem(r, 422, "invite_refused")
    r = api.post("/api/v1/share/join", json={"hub_url": "http://127.0.0.1:1", "invite": "x"})
    why = _problem(r, 502, "hub_unreachable")
    assert "is not answering (connection refused)" in why and "Errno" not in why
    # schemathesis found a 64+ character host label crashing the join (IDNA cannot encode it)
    for bad in ("ftp://hub.example", "https://", "hub.example", "https://" + "0" * 1000):
        r = api.post("/api/v1/share/join", json={"hub_url": bad, "invite": "x"})
        _problem(r, 422, "validation_error")
        assert len(r.text) < 1200  # the 1,000-character URL is not echoed whole
    with pytest.raises(hubshare.HubUnreachableError, match=r"0{80}\.\.\.") as caught:
        hubshare.join_hub("https://" + "0" * 1000, "x")  # the CLI's path: no model before it
    assert len(str(caught.value)) < 400
    assert not (data / hubshare.STATE_FILE).exists()
    # the token is required, as for every route of the service
    r = httpx.post(str(api.base_url.join("/api/v1/share/stop")), json={"delete": True})
    assert r.status_code == 401

    # a member the hub no longer knows: said plainly, the useless local token removed
    _, code = hub.invite()
    membership = hubshare.join_hub(hub.server.url, code)
    membership.token = "hm_not-known-to-the-hub"
    hubshare.save_membership(data, membership)
    r = api.post("/api/v1/share/stop", json={"delete": True})
    assert "does not know this member" in _problem(r, 409, "member_unknown")
    assert api.get("/api/v1/share").json()["state"] == "not_sharing"


def test_the_readme_names_the_body_fields_the_api_takes(module_server: Server) -> None:
    """Each ``METHOD /path`` (``{"field", ...}``) of the README's API table names fields of that
    operation's request body (review finding: ``POST /share/join`` said ``code``, the API takes
    ``invite``; a client built from the README got a 422)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    doc = httpx.get(f"{module_server.url}/api/v1/openapi.json", timeout=10).json()
    schemas = doc["components"]["schemas"]
    found = re.findall(r"`(POST|PUT|PATCH) (/[^`\s]+)`\s*\(?`\{([^`}]*)\}`", readme)
    assert any(path == "/share/join" for _, path, _ in found), found
    for method, path, fields in found:
        path = "/api/v1" + path.removeprefix("/api/v1").replace("{id}", "{session_id}")
        op = doc["paths"][path][method.lower()]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        properties = schemas[ref.rsplit("/", 1)[-1]]["properties"]
        named = set(re.findall(r'"(\w+)"', fields))
        assert named and named <= set(properties), (method, path, named, sorted(properties))


def test_hub_requests_share_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hub request built a TLS context of its own (loading the CA bundle, ~20 ms of CPU;
    the schemathesis run's hub joins spent ~0.5 s on it); they share one now."""
    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        built.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    clients = [hubshare._client("https://hub.example", token) for token in (None, "t", "u")]
    for client in clients:
        client.close()
    assert len(built) <= 1  # none when an earlier request of this process built it
