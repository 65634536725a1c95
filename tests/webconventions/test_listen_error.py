"""A port in use says so and offers --port (first-day review F5): ``hrvpace serve``/``demo``
and ``hrvpace hub serve`` said only "cannot listen on 127.0.0.1:8765: Address already in use"."""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.commands._server import bind_socket
from hub.cli import app as hub_cli

IN_USE = "the port is in use (another program, or another hrvpace server, holds it)"


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port another socket listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_the_service_names_a_port_in_use_and_offers_another(held_port: int) -> None:
    with pytest.raises(typer.BadParameter) as info:
        bind_socket("127.0.0.1", held_port)
    message = str(info.value)
    assert message.startswith(f"cannot listen on 127.0.0.1:{held_port}: {IN_USE}")
    assert "--port N (--port 0 takes any free port)" in message


def test_the_hub_names_a_port_in_use_and_offers_another(held_port: int, tmp_path: Path) -> None:
    args = ["serve", "--data-dir", str(tmp_path), "--port", str(held_port)]
    result = CliRunner().invoke(hub_cli, args)
    assert result.exit_code == 2, result.output
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # rich's box, unwrapped
    assert IN_USE in said and "--port 0 takes any free port" in said


def test_other_listen_errors_name_their_fix() -> None:
    from webconventions.serving import listen_error

    denied = OSError(errno.EACCES, "Permission denied")
    assert "give --port above 1024" in listen_error("127.0.0.1", 80, denied)
    absent = OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
    assert "no address 10.9.9.9: give --host" in listen_error("10.9.9.9", 8765, absent)
    other = OSError(errno.ENOBUFS, "No buffer space available")
    assert listen_error("::1", 1, other) == "cannot listen on ::1:1: No buffer space available"
