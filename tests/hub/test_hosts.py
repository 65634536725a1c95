"""The hub's Host check and bind address, with the person's service's rules
(:mod:`webconventions.hosts`): code review found the hub passing ``allowed_hosts`` to the check
as written and telling a wildcard bind by ``in ("0.0.0.0", "")``."""

from __future__ import annotations

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
from tests._uvicorn import start_uvicorn
from tests.hub.test_db import _serve_until_up


def test_an_ipv6_allowed_host_matches_the_host_header_a_client_sends(tmp_path: Path) -> None:
    """``fe80::2`` in ``allowed_hosts`` was compared as written with the ``[fe80::2]`` of the
    header: a hub behind a proxy on that address answered every request 400."""
    settings = HubSettings(
        data_dir=tmp_path,
        admin_token=SecretStr("ha_t"),
        allowed_hosts=["127.0.0.1", "fe80::2", "FE80:0:0::3"],
    )
    assert settings.allowed_hosts == ["127.0.0.1", "[fe80::2]", "[fe80::3]"]
    server = start_uvicorn(create_app(settings))
    try:
        for host in ("[fe80::2]:8766", "[fe80::2]", "[fe80:0::2]", "[fe80::3]:443"):
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
    ],
)
def test_an_allowed_host_with_a_port_is_refused_by_name(
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
                answers.append(httpx.get(f"{url}/hub/v1/health", timeout=30).status_code)
                return
            except httpx.HTTPError:
                time.sleep(0.2)

    out = _serve_until_up(tmp_path / "hub", "--host", bind, then=use)
    assert f"hrvpace hub is serving at http://{shown}:" in out, out
    assert answers == [200], (answers, out)
