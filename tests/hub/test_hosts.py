"""The hub's Host check and bind address, with the person's service's rules
(:mod:`webconventions.hosts`): code review found the hub passing ``allowed_hosts`` to the check
as written and telling a wildcard bind by ``in ("0.0.0.0", "")``."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from hub.app import create_app
from hub.cli import app as hub_cli
from hub.settings import HubSettings
from tests._http import CLIENT_TLS
from tests._uvicorn import start_uvicorn
from tests.hub.test_db import _serve_until_up


def test_an_ipv6_allowed_host_matches_the_host_header_a_client_sends(tmp_path: Path) -> None:
    """``fe80::2`` in ``allowed_hosts`` was compared as written with the ``[fe80::2]`` of the
    header: a hub behind a proxy on that address answered every request 400."""
    settings = HubSettings(
        data_dir=tmp_path,
        admin_token=SecretStr("ha_hosts-test-token"),
        allowed_hosts=["127.0.0.1", "fe80::2", "FE80:0:0::3", "Bücher.Example"],
    )
    # a Unicode name as its punycode, the A-label a client sends (the service's rule)
    assert settings.allowed_hosts == [
        "127.0.0.1",
        "[fe80::2]",
        "[fe80::3]",
        "xn--bcher-kva.example",
    ]
    server = start_uvicorn(create_app(settings))
    try:
        for host in (
            "[fe80::2]:8766",
            "[fe80::2]",
            "[fe80:0::2]",
            "[fe80::3]:443",
            "xn--bcher-kva.example:443",
        ):
            r = httpx.get(f"{server.url}/hub/v1/health", headers={"Host": host}, timeout=30)
            assert r.status_code == 200, (host, r.text)
        r = httpx.get(f"{server.url}/hub/v1/health", headers={"Host": "[fe80::4]"}, timeout=30)
        assert r.status_code == 400 and r.json()["code"] == "invalid_host"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("hub.example:443", "'hub.example:443' has a port; list the host alone, 'hub.example'"),
        ("[::1]:8766", "list the host alone, '[::1]'"),
        ("https://hub.example", "is not a host name"),
        # never what a browser sends (the service's rule, webconventions.hosts)
        (
            "127.1",
            "'127.1' is not a host name a browser sends: a browser writes that IPv4 "
            "address '127.0.0.1'; list it so",
        ),
        # the UTS #46 mapping makes these "", "*." and "*": refused, not listed (review of
        # hostsdoc: an entry of "" let in requests with no Host, "*" every one)
        ("\u00ad", "'\\xad' is not a host name: a browser maps its host to '' "),
        ("\u200b", "'\\u200b' is not a host name: a browser maps its host to '' "),
        ("*.\u00ad", "'*.\\xad' is not a host name: a browser maps its host to ''"),
        ("＊", "'＊' is not a host name: a browser maps its host to '*'"),
        ("hub.example：443", "maps its host to 'hub.example:443'"),
        ("ａ％ｂ.example", "maps its host to 'a%b.example'"),
        ("*.1", "'*.1' matches no host: '1' is an IP address"),
        ("192.168.001.020", "the entry means 192.168.1.16; if you meant 192.168.1.20, write"),
        ("*.xn--a", "its label 'xn--a' is not the punycode of a name a browser takes"),
        (".10.0.0.1", "has an empty label (a leading '.' or two dots in a row); list '10.0.0.1'"),
    ],
)
def test_an_allowed_host_no_client_sends_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str, says: str
) -> None:
    """The check takes no port, so ``hub.example:443`` never matched and every request through
    the proxy was a 400 with nothing saying why; now the hub does not start and says so."""
    with pytest.raises(ValidationError, match=re.escape(says)):
        HubSettings(data_dir=tmp_path, allowed_hosts=[bad])
    monkeypatch.setenv("HRVPACE_HUB_ALLOWED_HOSTS", f'["localhost", "{bad}"]')
    result = CliRunner().invoke(hub_cli, ["serve", "--data-dir", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1, result.output
    assert "hrvpace hub: setting allowed_hosts: " in result.output, result.output
    assert says in result.output and "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize(("bind", "shown"), [("::", "[::1]"), ("0", "127.0.0.1")])
def test_a_wildcard_bind_prints_a_loopback_url_that_answers(
    tmp_path: Path, bind: str, shown: str
) -> None:
    """``--host ::`` printed ``http://[::]:port/`` and ``--host 0`` ``http://0:port/``: URLs
    whose Host the hub's own check refuses (400 ``invalid_host``)."""
    answers: list[int] = []

    def use(out: str, pid: int) -> None:
        url = out.split("serving at ", 1)[1].split()[0].rstrip("/")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answers.append(
                    httpx.get(f"{url}/hub/v1/health", timeout=30, verify=CLIENT_TLS).status_code
                )
                return
            except httpx.HTTPError:
                time.sleep(0.2)

    out = _serve_until_up(tmp_path / "hub", "--host", bind, then=use)
    assert f"hrvpace hub is serving at http://{shown}:" in out, out
    assert answers == [200], (answers, out)


def _health(settings: HubSettings, host: str) -> int:
    """The status of ``GET /hub/v1/health`` with ``Host: host`` (ASGI, no server, no lifespan)."""

    app = create_app(settings)

    async def get() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.get("/hub/v1/health", headers={"Host": host})
            return r.status_code

    try:
        return asyncio.run(get())
    finally:
        app.state.store.engine.dispose()


def test_the_address_the_hub_binds_is_a_host_name_it_answers(tmp_path: Path) -> None:
    """``--host 192.168.1.5`` answered ``Host: 192.168.1.5:PORT`` 400 ``invalid_host`` unless
    the admin also listed the address in ``HRVPACE_HUB_ALLOWED_HOSTS``; the person's service
    accepted its own. Both now take one rule (``webconventions.hosts.accepted_hosts``): the
    bound address counts when it names one address, a wildcard adds nothing."""

    def hub(host: str, **more: object) -> HubSettings:
        return HubSettings(
            data_dir=tmp_path, admin_token=SecretStr("ha_hosts-test-token"), host=host, **more
        )

    lan = hub("192.0.2.5")
    assert lan.accepted_hosts == ["127.0.0.1", "localhost", "[::1]", "192.0.2.5"]
    assert _health(lan, "192.0.2.5:8766") == 200
    assert _health(lan, "192.0.2.6:8766") == 400  # still no other name
    v6 = hub("2001:DB8:0::5")
    assert _health(v6, "[2001:db8::5]:8766") == 200
    # the listed names replace the default ones (README), the bound address is added
    listed = hub("192.0.2.5", allowed_hosts=["hub.example"])
    assert listed.accepted_hosts == ["hub.example", "192.0.2.5"]
    assert _health(listed, "192.0.2.5") == 200 and _health(listed, "127.0.0.1") == 400
    for wildcard in ("0.0.0.0", "::", "0"):
        assert hub(wildcard).accepted_hosts == ["127.0.0.1", "localhost", "[::1]"], wildcard
    assert _health(hub("0.0.0.0"), "0.0.0.0:8766") == 400


def test_the_not_loopback_warning_names_the_host_names_the_hub_answers(tmp_path: Path) -> None:
    """The warning was printed for any ``--host`` but three strings (``127.0.0.2``, ``[::1]``
    and ``LOCALHOST`` are loopback too) and told the admin to list a name the hub then took
    as the only one (the list replaces the loopback names). It now says when the hub is
    reachable from elsewhere, which names it answers (the bound address among them) and
    that the list replaces the default."""
    from hub.cli import hosts_note

    def note(host: str) -> str | None:
        return hosts_note(HubSettings(data_dir=tmp_path, admin_token=SecretStr("t"), host=host))

    for loopback in ("127.0.0.1", "127.0.0.2", "LOCALHOST", "::1", "[::1]", "0:0::1"):
        assert note(loopback) is None, loopback
    lan = note("192.0.2.5") or ""
    assert lan.startswith("not loopback: put TLS in front"), lan
    assert "Host header: 127.0.0.1, localhost, [::1], 192.0.2.5;" in lan, lan
    assert "HRVPACE_HUB_ALLOWED_HOSTS='[\"hub.example.org\"]'" in lan, lan
    assert "replaces the default 127.0.0.1, localhost, [::1]" in lan, lan
    every = note("0.0.0.0") or ""
    assert "Host header: 127.0.0.1, localhost, [::1];" in every, every  # not 0.0.0.0


def test_each_worker_process_answers_the_bound_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--workers N`` hands the settings to its processes as variables: the bound address
    among them, or each worker's Host check would not accept it."""
    from hub.cli import worker_environ

    given = HubSettings(
        data_dir=tmp_path, host="192.0.2.5", allowed_hosts=["hub.example", "localhost"]
    )
    for name, value in worker_environ(given, tmp_path / "admin-token").items():
        monkeypatch.setenv(name, value)
    assert HubSettings().accepted_hosts == ["hub.example", "localhost", "192.0.2.5"]
