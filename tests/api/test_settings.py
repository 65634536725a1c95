"""Settings: defaults, HRVPACE_* environment, config file, and flags, in that order of strength."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api.settings import ConfigError, default_data_dir, load_settings
from tests.api.conftest import Server


def test_defaults_bind_loopback_and_use_the_platform_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("HRVPACE_DATA_DIR", "HRVPACE_HOST", "HRVPACE_CONFIG", "HRVPACE_CORS_ORIGINS"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    assert s.host == "127.0.0.1"
    assert s.data_dir == default_data_dir()
    assert s.cors_origins == []
    assert s.database_path.parent == s.data_dir


def test_env_overrides_file_and_flags_override_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hrvpace.toml"
    config.write_text('port = 9001\nhost = "127.0.0.2"\ncors_origins = ["http://a.test"]\n')
    monkeypatch.setenv("HRVPACE_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("HRVPACE_PORT", "9002")
    s = load_settings(config_file=config)
    assert s.port == 9002  # env beats the file
    assert s.host == "127.0.0.2"  # from the file
    assert s.cors_origins == ["http://a.test"]
    assert s.data_dir == tmp_path / "from-env"
    s = load_settings(config_file=config, port=9003, host=None)
    assert s.port == 9003  # a flag beats env; an unset flag (None) changes nothing
    assert s.host == "127.0.0.2"


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("ws_queue_size = 7\n")
    monkeypatch.setenv("HRVPACE_CONFIG", str(config))
    assert load_settings().ws_queue_size == 7


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_a_config_file_with_a_misspelt_key_or_no_toml_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HRVPACE_PORT", raising=False)
    typo = tmp_path / "typo.toml"
    typo.write_text("prot = 9000\n")  # silently the default port before
    with pytest.raises(
        ConfigError, match=r"typo\.toml: unknown setting 'prot' \(did you mean 'port'"
    ):
        load_settings(config_file=typo)
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not a readable TOML file"):
        load_settings(config_file=broken)
    monkeypatch.setenv("HRVPACE_CONFIG", str(typo))  # the same check for the environment's file
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings()
    # HRVPACE_* variables that are not settings (the test command's own) stay allowed
    monkeypatch.delenv("HRVPACE_CONFIG")
    monkeypatch.setenv("HRVPACE_SHARED_DATA", str(tmp_path))
    assert load_settings(data_dir=tmp_path).data_dir == tmp_path


def test_config_keys_in_any_case_and_a_missing_environment_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HRVPACE_PORT", raising=False)
    upper = tmp_path / "upper.toml"
    upper.write_text("PORT = 9000\n")  # pydantic-settings reads names in any case
    assert load_settings(config_file=upper).port == 9000
    monkeypatch.setenv("HRVPACE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml \(HRVPACE_CONFIG\)"):
        load_settings()


def test_every_command_reports_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("prot = 9000\n")
    env = {**os.environ, "HRVPACE_CONFIG": str(bad)}
    for args in (["sessions", "--data-dir", str(tmp_path)], ["export", "x", "--out", "o"]):
        run = subprocess.run(
            [sys.executable, "-m", "api", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert run.returncode == 2, (args, run.stderr)
        assert "unknown setting 'prot' (did you mean 'port'?)" in run.stderr
        assert "Traceback" not in run.stderr


def test_a_value_out_of_range_is_explained_without_pydantic_noise(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("port = 70000\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config_file=config)
    text = str(err.value)
    assert "port: Input should be less than or equal to 65535 (got 70000)" in text
    assert str(config) in text and "errors.pydantic.dev" not in text


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRVPACE_PORT", "not-a-port")
    with pytest.raises(ValueError, match="port"):
        load_settings()


def test_hostile_input_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("HRVPACE_RECORDINGS_DIR", "HRVPACE_MAX_BODY_BYTES", "HRVPACE_ALLOWED_ORIGINS"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(data_dir=tmp_path / "d")
    assert s.recordings_path == tmp_path / "d" / "recordings"
    assert s.max_body_bytes == 1024 * 1024 and s.browser_origins == []
    monkeypatch.setenv("HRVPACE_RECORDINGS_DIR", str(tmp_path / "recs"))
    monkeypatch.setenv("HRVPACE_MAX_BODY_BYTES", "65536")
    monkeypatch.setenv("HRVPACE_MAX_RECORDING_BYTES", "1048576")
    monkeypatch.setenv("HRVPACE_ALLOWED_ORIGINS", '["http://localhost:5173"]')
    monkeypatch.setenv("HRVPACE_CORS_ORIGINS", '["http://a.test", "http://localhost:5173"]')
    s = load_settings(data_dir=tmp_path / "d")
    assert s.recordings_path == tmp_path / "recs"
    assert (s.max_body_bytes, s.max_recording_bytes) == (65536, 1048576)
    assert s.browser_origins == ["http://localhost:5173", "http://a.test"]
    monkeypatch.setenv("HRVPACE_MAX_BODY_BYTES", "10")
    with pytest.raises(ValueError, match="max_body_bytes"):
        load_settings(data_dir=tmp_path / "d")


def test_allowed_hosts_are_written_as_a_browser_sends_them_or_refused_by_name(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    """Code review: ``"fe80::2"`` never matched (the Host check sees ``[fe80::2]``) and
    ``"192.168.1.20:8765"`` never matched (the check takes no ports). A later review: a
    Unicode name, a short IPv4 form and an IPv6 zone id were taken as written and never
    matched a client's ``Host`` either (the A-label, dotted-quad, no zone id), while
    ``allowed_origins`` wrote or refused the same hosts. One rule now
    (``webconventions.hosts._browser_host``): a Unicode name becomes its punycode, which a
    real server then lets in; a form no browser sends stops the start naming the setting,
    the entry and the form to list."""
    settings = load_settings(
        data_dir=tmp_path / "d",
        token="t",
        allowed_hosts=[
            "fe80::2",
            "[FE80:0:0::3]",
            "Phone.Example",
            "*.lan",
            "Bücher.Example",
            "straße.de",  # UTS #46 non-transitional: ß is kept, not 'ss'
            "例え.テスト",
            "*.Bücher.Lan",
            "xn--bcher-kva.example",  # listed twice: once
            "a_b.example",
            "Web.1",  # no browser sends it (it ends in a number), another client may
            "*.Swarm.0x1f",
        ],
    )
    assert settings.accepted_hosts[3:] == [
        "[fe80::2]",
        "[fe80::3]",
        "phone.example",
        "*.lan",
        "xn--bcher-kva.example",
        "xn--strae-oqa.de",
        "xn--r8jz45g.xn--zckzah",
        "*.xn--bcher-kva.lan",
        "a_b.example",
        "web.1",
        "*.swarm.0x1f",
    ]
    server = serve(settings=settings)
    for host in [
        "[fe80::2]:8765",
        "[fe80:0::2]",
        "[fe80::3]",
        "phone.example:1",
        "a.lan",
        "xn--bcher-kva.example",
        "XN--BCHER-KVA.example:8765",
        "phone.xn--bcher-kva.lan",
        "web.1:8765",
        "task.swarm.0x1f",
    ]:
        r = httpx.get(f"{server.url}/api/v1/health", headers={"Host": host}, timeout=10)
        assert r.status_code == 200, (host, r.text)
    r = httpx.get(f"{server.url}/api/v1/health", headers={"Host": "[fe80::4]"}, timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid_host"
    # review of hostsdoc: "\u200b" was listed as "" and let in a request with no Host or a
    # malformed one, "*.\u00ad" as "*." every name with a trailing dot. No entry does now.
    for request in [
        b"GET /api/v1/health HTTP/1.0\r\n\r\n",  # no Host (HTTP/1.0 may leave it out)
        b"GET /api/v1/health HTTP/1.1\r\nHost:\r\n\r\n",
        b"GET /api/v1/health HTTP/1.1\r\nHost: evil.example:1@x\r\n\r\n",
        b"GET /api/v1/health HTTP/1.1\r\nHost: evil.example.\r\n\r\n",
        b"GET /api/v1/health HTTP/1.1\r\nHost: .lan\r\n\r\n",
    ]:
        assert _raw_status(server, request) == 400, request
    # review rev_hostsfix: the part before the first ":" was not checked, so these ended in
    # ".lan" and matched "*.lan" (200); str.strip dropped "\x85": "localhost\x85" passed
    for host in [
        b"evil.com@a.lan",
        b"evil.com/a.lan",
        b"evil.com a.lan",
        b"[a.lan",
        b"..lan",
        b"localhost\x85",
        b"localhost\xa0",
    ]:
        request = b"GET /api/v1/health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
        assert _raw_status(server, request) == 400, host
    for host in [b"a.lan", b"localhost", b"localhost \t"]:  # the same request, well formed
        request = b"GET /api/v1/health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
        assert _raw_status(server, request) == 200, host
    for bad, says in [
        (
            "192.168.1.20:8765",
            "'192.168.1.20:8765' has a port; list the host alone, '192.168.1.20'",
        ),
        ("[::1]:8765", "list the host alone, '[::1]'"),
        ("phone.example:80", "list the host alone, 'phone.example'"),
        ("", "is not a host name"),
        ("http://x", "is not a host name"),
        ("127.1", "'127.1' is not a host name a browser sends: a browser writes that IPv4 "),
        ("127.1", "address '127.0.0.1'; list it so"),
        ("0x7f.1", "a browser writes that IPv4 address '127.0.0.1'"),
        ("2130706433", "a browser writes that IPv4 address '127.0.0.1'"),
        (
            "192.168.001.020",
            "browsers read a number with a leading zero as octal, so the entry means "
            "192.168.1.16; if you meant 192.168.1.20, write it without leading zeros, "
            "'192.168.1.20'",
        ),
        ("192.168.08.1", "a leading zero is octal to a browser: write '192.168.8.1'"),
        ("0X7F.1", "a browser writes that IPv4 address '127.0.0.1'"),
        ("1.2.3.999", "ends in a number, so a browser reads it as an IPv4 address"),
        ("fe80::2%eth0", "a browser takes no zone id (%eth0) in an IPv6 address; list '[fe80::2]'"),
        ("[fe80::2%25eth0]", "no zone id (%25eth0) in an IPv6 address; list '[fe80::2]'"),
        ("a%41.example", "'a%41.example' is not a host name: '%' is never in a browser's host"),
        ("☃.net", "'☃.net' is not a host name a browser sends: its label '☃' has no IDNA 2008"),
        ("☃.net", "list the host's punycode (xn--...) form, 'xn--n3h.net'"),
        ("bücher-.example", "form, 'xn--bcher--3ya.example'"),
        ("*.10.0.0.1", "'10.0.0.1' is an IP address (a browser reads a host ending"),
        ("*.10.0.0.1", "which has no subdomains; list each name or address to allow"),
        # not "list '0.0.0.1'", the address a browser reads '1' as (review of hostsdoc)
        ("*.1", "'*.1' matches no host: '1' is an IP address"),
        ("*.10.1", "'*.10.1' matches no host: '10.1' is an IP address"),
        ("*.1.2.3.999", "'1.2.3.999' ends in a number, so a browser reads it as an IPv4"),
        ("a..b", "'a..b' is not a host name: 'a..b' has an empty label"),
        (".example", "for a name and its subdomains list 'example' and '*.example'"),
        # the UTS #46 mapping removes these or makes them ASCII: the result is checked too
        ("\u200b", "'\\u200b' is not a host name: a browser maps its host to '' "),
        ("\u00ad", "maps its host to '' (full-width forms to ASCII, invisible characters"),
        ("*.\u00ad", "'*.\\xad' is not a host name: a browser maps its host to ''"),
        ("\u00ad.", "maps its host to '.'"),
        ("a.\u200b.b", "maps its host to 'a..b'"),
        ("＊", "maps its host to '*' (full-width"),
        ("＊", "which has '*', never in a host name; write the entry in plain ASCII"),
        ("*.＊.example", "maps its host to '*.example'"),
        ("localhost：8765", "maps its host to 'localhost:8765'"),
        ("ａ％ｂ.example", "maps its host to 'a%b.example'"),
        ("a／b", "which has '/', never in a host name"),
        ("a＠b", "which has '@', never in a host name"),
        ("*.a*.example", "'*.a*.example' is not a host name or a '*.name' pattern"),
        # review rev_hostsfix: an ASCII xn-- label was never decoded; no browser sends these
        ("xn--a", "'xn--a' is not a host name a browser sends: its label 'xn--a' is not the"),
        ("xn--", "its label 'xn--' is not the punycode of a name a browser takes"),
        ("xn--a.example", "its label 'xn--a' is not the punycode"),
        ("*.xn--a", "'*.xn--a' is not a host name a browser sends: its label 'xn--a'"),
        ("XN--ZZ.example", "its label 'xn--zz' is not the punycode"),
        # and the advice given is advice the setting takes
        (".1", "'.1' is not a host name: '.1' has an empty label"),
        (".127.1", "'.127.1' has an empty label"),
        (".10.0.0.1", "has an empty label (a leading '.' or two dots in a row); list '10.0.0.1'"),
        (".Bücher.example", "'.bücher.example' has an empty label (a leading '.'"),
        (".Bücher.example", "list 'bücher.example' and '*.bücher.example'"),
        ("127.0.0.1.", "the trailing '.' is the problem; a browser drops it after an IPv4"),
        ("10.0.0.1.", "address and sends '10.0.0.1', the entry without the dot"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)) as info:
            load_settings(data_dir=tmp_path, token="t", allowed_hosts=[bad])
        assert "allowed_hosts: " in str(info.value) and repr(bad) in str(info.value), bad
        assert "'0.0.0.1'" not in str(info.value) and "'10.0.0.1';" not in str(info.value)
        if bad.startswith("."):  # not '*.1', '*.10.0.0.1': refused (review rev_hostsfix)
            assert "'*.1" not in str(info.value) and "'*.10" not in str(info.value), bad
        if bad == ".Bücher.example":  # the leading dot is the fault, not the mapping
            assert "maps its host" not in str(info.value)
        if bad.endswith(".") and bad[:1].isdigit():  # '127.0.0.1' may be listed already
            assert "list it so" not in str(info.value)
    for advice in ["10.0.0.1", "bücher.example", "*.bücher.example", "xn--n3h.net"]:
        load_settings(data_dir=tmp_path, token="t", allowed_hosts=[advice])  # taken


def _raw_status(server: Server, request: bytes) -> int:
    """The status of ``request`` sent as it is (httpx always sends a ``Host``)."""
    u = urlsplit(server.url)
    assert u.hostname is not None and u.port is not None
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "", "::", "[::]", "::0", "0:0:0:0:0:0:0:0", "0"])
def test_a_wildcard_bind_in_any_spelling_names_no_host(tmp_path: Path, wildcard: str) -> None:
    """Code review: wildcards were a string list, so ``::0`` and ``0`` were printed among the
    accepted Host names, and the printed URL named them."""
    from api.commands._server import url_for

    settings = load_settings(data_dir=tmp_path, token="t", host=wildcard)
    assert settings.accepted_hosts == ["127.0.0.1", "localhost", "[::1]"]
    assert url_for(wildcard, 8765) in ("http://127.0.0.1:8765", "http://[::1]:8765")
    one = load_settings(data_dir=tmp_path, token="t", host="2001:db8::0")
    assert one.accepted_hosts[-1] == "[2001:db8::]"


def test_a_bind_address_in_another_spelling_names_the_host_browsers_send(tmp_path: Path) -> None:
    """``allowed_hosts`` now refuses ``10.1`` and ``fe80::2%eth0``; the ``--host`` address,
    which binds in those spellings (a link-local bind needs its zone id), was added to the
    accepted names by that rule and so added nothing. It is added as browsers write it, and
    the printed URL names it so."""
    from api.commands._server import url_for

    for bound, name in [
        ("10.1", "10.0.0.1"),
        ("0X0A.1", "10.0.0.1"),  # inet_aton binds upper-case hex too
        ("fe80::2%eth0", "[fe80::2]"),
        ("[FE80::2%eth0]", "[fe80::2]"),
        ("Bücher.Lan", "xn--bcher-kva.lan"),
    ]:
        settings = load_settings(data_dir=tmp_path, token="t", host=bound)
        assert settings.accepted_hosts == ["127.0.0.1", "localhost", "[::1]", name], bound
    assert url_for("10.1", 8765) == "http://10.0.0.1:8765"
    assert url_for("127.1", 8765) == "http://127.0.0.1:8765"
    assert url_for("0X7F.1", 8765) == "http://127.0.0.1:8765"


def test_allowed_origins_are_normalised_and_a_bad_one_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review of 0cadff8: CORS compared the listed origins as written, the WebSocket
    normalised them, so 'http://localhost:5173/' let one in and not the other; a string that
    is no origin was taken and never matched."""
    settings = load_settings(
        data_dir=tmp_path,
        token="t",
        allowed_origins=["HTTP://LOCALHOST:5173/", "https://App.Example:443", "http://[::1]:80"],
        cors_origins=["http://localhost:5173", "*", "capacitor://localhost"],
    )
    assert settings.browser_origins == [
        "http://localhost:5173",
        "https://app.example",
        "http://[::1]",
        "*",
        "capacitor://localhost",
    ]
    for bad, says in [
        ("localhost:5173", "'localhost:5173' is not an origin: write scheme://host[:port]"),
        ("http://x.example/app", "no path, query or user"),
        ("http://x.example:99999", "the port must be a number 1-65535"),
        ("http://", "is not an origin"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)) as info:
            load_settings(data_dir=tmp_path, token="t", allowed_origins=[bad])
        assert "allowed_origins" in str(info.value)
    monkeypatch.setenv("HRVPACE_CORS_ORIGINS", '["http://a.example/x"]')
    with pytest.raises(ConfigError, match="cors_origins") as info:
        load_settings(data_dir=tmp_path, token="t")
    assert "HRVPACE_" in str(info.value)


def test_allowed_origins_are_written_as_a_browser_sends_them_or_refused_by_name(
    tmp_path: Path,
) -> None:
    """Review (2026-12-06): a Unicode host, a short IPv4 form, an IPv6 zone id and a
    wildcard-looking host were taken and could never match a browser's Origin (punycode,
    dotted-quad, no zone id, one host)."""
    settings = load_settings(
        data_dir=tmp_path,
        token="t",
        allowed_origins=["http://Bücher.Example:5173", "https://straße.de", "http://例え.テスト"],
    )
    assert settings.browser_origins == [
        "http://xn--bcher-kva.example:5173",
        "https://xn--strae-oqa.de",  # UTS #46 non-transitional: ß is kept, not 'ss'
        "http://xn--r8jz45g.xn--zckzah",
    ]
    for bad, says in [
        ("http://127.1", "a browser writes that IPv4 address '127.0.0.1'"),
        ("http://2130706433:8080", "a browser writes that IPv4 address '127.0.0.1'"),
        ("http://0x7f.0.0.1", "a browser writes that IPv4 address '127.0.0.1'"),
        ("http://1.2.3.999", "ends in a number"),
        ("http://[fe80::1%25eth0]", "no zone id (%25eth0)"),
        ("http://*.example", "'*' in a host matches nothing"),
        ("http://a%41.example", "'%' is never in a browser's host"),
        ("http://☃.example", "no IDNA 2008 form"),
        # no browser makes it: a host ending in a number is an IPv4 address to one
        ("http://web.1:8080", "its host 'web.1' ends in a number, so a browser reads it as"),
        ("http://192.168.001.020", "a leading zero as octal, so the entry means 192.168.1.16"),
        ("http://a..b", "'a..b' has an empty label"),
        # the UTS #46 mapping removes these or makes them ASCII: the result is checked too
        ("http://\u00ad", "a browser maps its host to '' "),
        ("http://\u200b:8080", "a browser maps its host to '' "),
        ("http://＊", "maps its host to '*' (full-width"),
        ("http://a：80", "maps its host to 'a:80'"),
        ("http://ａ％ｂ.example", "maps its host to 'a%b.example'"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)) as info:
            load_settings(data_dir=tmp_path, token="t", allowed_origins=[bad])
        assert "allowed_origins" in str(info.value)
        assert repr(bad) in str(info.value)
