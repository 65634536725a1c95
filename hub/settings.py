"""Settings of the hub, from flags and ``HRVPACE_HUB_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from webconventions.hosts import accepted_hosts, host_pattern
from webconventions.limits import (
    head_timeout_field,
    max_connections_field,
    write_stall_field,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["HubSettings", "default_hub_dir"]


def default_hub_dir() -> Path:
    """The hub's data directory (platformdirs), e.g. ``~/.local/share/hrvpace-hub``."""
    return Path(platformdirs.user_data_dir("hrvpace-hub", appauthor=False))


class HubSettings(BaseSettings):
    """Everything the hub can be told. Field names are the ``HRVPACE_HUB_<NAME>`` variables."""

    model_config = SettingsConfigDict(env_prefix="HRVPACE_HUB_", extra="ignore", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address to bind; put TLS in front.")
    port: int = Field(default=8766, ge=0, le=65535, description="TCP port (0 = any free port).")
    data_dir: Path = Field(
        default_factory=default_hub_dir,
        description="Folder of the SQLite database (hub.sqlite3) and the admin token file.",
    )
    database_url: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql://user@host/db; default SQLite in data_dir.",
    )
    admin_token: SecretStr | None = Field(
        default=None, description="Admin token; when unset, one is created in data_dir."
    )
    admin_token_file: Path | None = Field(
        default=None,
        description="A file (mode 0600) holding the admin token: how `--workers N` hands the "
        "token to its worker processes without putting it in their environment.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"],
        description="Host headers accepted besides the --host address (add the public name "
        "behind the TLS proxy; the list replaces this default, keep the loopback names you "
        "use). Names without a port (a port is refused: the check takes none); an IPv6 "
        "address with or without brackets. A Unicode name becomes its punycode (xn--) form; "
        "an IPv4 address not dotted-quad (127.1) or an IPv6 zone id is refused naming the "
        "form to list (as the service's allowed_hosts).",
    )
    seal_every_s: float = Field(
        default=600.0,
        ge=0,
        description="Seconds between computing newly closed weeks in the background (0 = only "
        "when asked for)",
    )
    max_body_bytes: int = Field(
        default=4 * 1024,
        ge=1024,
        description="Body limit of the admin's calls (and of any other call but the two "
        "below): the largest valid one, an intervention with a 100-character name and a "
        "40-character control group all written as escaped emoji and indented, is ~1,800 "
        "bytes (was 64 KiB: a body of many keys that no admin call takes was parsed first)",
    )
    max_member_body_bytes: int = Field(
        default=4 * 1024,
        ge=1024,
        description="Body limit of the calls anyone may make, POST /hub/v1/join and "
        "/hub/v1/contributions (a day's aggregates with every field is under 600 bytes): a "
        "parsed and validated JSON body takes up to ~100 times its size in memory",
    )
    request_head_timeout_s: float = head_timeout_field()
    write_stall_timeout_s: float = write_stall_field()
    max_connections: int = max_connections_field()

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, value: list[str]) -> list[str]:
        """Each entry as the Host check compares it (``webconventions.hosts.host_pattern``).

        ``fe80::2`` becomes ``[fe80::2]`` and ``bücher.example`` ``xn--bcher-kva.example``,
        the forms a ``Host`` header has; ``hub.example:443``, ``127.1`` and ``fe80::2%eth0``
        are refused naming the entry (the check takes no port, and a browser sends an IPv4
        address dotted-quad and no zone id, so they would never match).
        """
        return [host_pattern(h) for h in value]

    @property
    def accepted_hosts(self) -> list[str]:
        """``Host`` names the hub answers: ``allowed_hosts``, then ``host`` if one address.

        The address it was told to bind (``--host 192.168.1.5``) is a name its clients use;
        a wildcard (``0.0.0.0``, ``::``, ``0``) adds none. The rule of the person's service
        (:func:`webconventions.hosts.accepted_hosts`), but for the loopback names: the hub's
        ``allowed_hosts`` replaces them (README, "The hub").
        """
        return accepted_hosts(self.allowed_hosts, self.host)

    @property
    def admin_token_path(self) -> Path:
        """Where the admin token is kept when not given: ``<data_dir>/admin-token``."""
        return self.data_dir / "admin-token"

    @property
    def db_url(self) -> str | URL:
        """``database_url`` as given, or the SQLite file ``<data_dir>/hub.sqlite3``.

        The default is a :class:`sqlalchemy.engine.URL` made from the path, never text: the
        path was put into ``sqlite:///...`` as it was, so a data dir with ``#`` or ``?`` was
        refused as a URL with options, and one with ``%`` was another file to SQLAlchemy,
        which percent-decodes (review; :func:`hub.db.sqlite_file`).
        """
        if self.database_url:
            return self.database_url
        from sqlalchemy.engine import URL  # the hub's extra, as hub.db

        return URL.create("sqlite", database=str(self.data_dir / "hub.sqlite3"))
