"""Settings of the local service, from flags, ``HRVPACE_*`` environment variables and a TOML file.

Precedence, highest first: values passed in code (the command line's flags), environment variables
(``HRVPACE_PORT=9000``; lists as JSON, ``HRVPACE_CORS_ORIGINS='["http://localhost:5173"]'``), the
config file (``--config`` or ``HRVPACE_CONFIG``; TOML with the same keys, e.g. ``port = 9000``),
then the defaults below.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from api.errors import ConfigError
from api.timezones import zone_problem
from webconventions.hosts import LOOPBACK_HOSTS, accepted_hosts, host_pattern, origin_pattern
from webconventions.limits import (
    head_timeout_field,
    max_connections_field,
    write_stall_field,
)

__all__ = [
    "LOOPBACK_HOSTS",
    "ORIGINS_FIX",
    "TIMEZONE_ENV",
    "ConfigError",
    "Settings",
    "default_data_dir",
    "load_settings",
    "timezone_setting",
]

#: Environment variable naming the zone a new day plan takes, over the machine's own
#: (:func:`api.dayplan.machine_timezone`).
TIMEZONE_ENV = "HRVPACE_TIMEZONE"

#: What lets a browser origin in, said where one is refused (a CORS preflight's 403, the live
#: WebSocket's log line): the setting behind :attr:`Settings.browser_origins`.
ORIGINS_FIX = (
    "list it in HRVPACE_ALLOWED_ORIGINS (a JSON list, or allowed_origins = [...] in the config "
    "file; README, 'The live WebSocket and browsers')"
)

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("hrvpace_config_file", default=None)


def default_data_dir() -> Path:
    """The user's data directory for hrvpace (platformdirs), e.g. ``~/.local/share/hrvpace``."""
    return Path(platformdirs.user_data_dir("hrvpace", appauthor=False))


class Settings(BaseSettings):
    """Everything the service can be told. Field names are the ``HRVPACE_<NAME>`` variables."""

    model_config = SettingsConfigDict(env_prefix="HRVPACE_", extra="ignore", frozen=True)

    host: str = Field(
        default="127.0.0.1", description="Address to bind; loopback unless you mean it."
    )
    port: int = Field(default=8765, ge=0, le=65535, description="TCP port (0 = any free port).")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder of the database (hrvpace.sqlite3) and the token file.",
    )
    token: SecretStr | None = Field(
        default=None,
        description="API token; when unset, one is created on first run in data_dir/token.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Host header names accepted besides the loopback ones (127.0.0.1, localhost, [::1]) "
            "and the --host address; e.g. this machine's LAN address for a phone app. Only "
            "listed names are let in: protection against DNS rebinding. Names without a port "
            "(a port is refused: the check takes none); an IPv6 address with or without "
            "brackets. Each as a browser sends it in Host, by the rule of allowed_origins' "
            "hosts: a Unicode name becomes its punycode (xn--) form; an IPv4 address not "
            "dotted-quad (127.1), an IPv6 zone id (fe80::2%eth0) or a name IDNA 2008 refuses "
            "stops the start, naming the entry and the form to list."
        ),
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Older name of allowed_origins; both lists are allowed.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description=(
            "Browser origins besides the service's own page (e.g. a companion app at "
            "'http://localhost:5173') allowed on the live WebSocket and by CORS."
        ),
    )
    recordings_dir: Path | None = Field(
        default=None,
        description="Folder of the recordings API replays may name (default data_dir/recordings).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest request body (JSON), bytes; larger ones get 413.",
    )
    max_recording_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        le=16 * 1024**3,
        description="Largest recording upload (multipart body), bytes; larger ones get 413.",
    )
    ws_queue_size: int = Field(
        default=256,
        ge=1,
        description="Messages buffered per WebSocket client; the oldest are dropped.",
    )
    beat_flush_s: float = Field(
        default=0.1, gt=0, le=5, description="Longest time a beat waits before it is committed."
    )
    scan_max_s: float = Field(
        default=30.0, gt=0, description="Longest BLE scan a client may ask for."
    )
    request_head_timeout_s: float = head_timeout_field()
    write_stall_timeout_s: float = write_stall_field()
    max_connections: int = max_connections_field()

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, value: list[str]) -> list[str]:
        # one form (a browser's Host) by the rule of the origins' hosts: 'Bücher.Example'
        # lets in the 'xn--bcher-kva.example' a client sends; '127.1' is refused, naming
        # '127.0.0.1' (webconventions.hosts.host_pattern)
        return list(dict.fromkeys(host_pattern(h) for h in value))

    @field_validator("allowed_origins", "cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        # one form (a browser's Origin) for CORS and the live WebSocket alike: a listed
        # 'http://LOCALHOST:5173/' lets in the page that sends 'http://localhost:5173'
        return list(dict.fromkeys(origin_pattern(o) for o in value))

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("recordings_dir")
    @classmethod
    def _expand_recordings(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @property
    def database_path(self) -> Path:
        """The SQLite database: ``data_dir/hrvpace.sqlite3``."""
        return self.data_dir / "hrvpace.sqlite3"

    @property
    def token_path(self) -> Path:
        """The API token's file: ``data_dir/token``."""
        return self.data_dir / "token"

    @property
    def recordings_path(self) -> Path:
        """The recordings folder: ``recordings_dir``, else ``data_dir/recordings``."""
        return (
            self.recordings_dir if self.recordings_dir is not None else self.data_dir / "recordings"
        )

    @property
    def accepted_hosts(self) -> list[str]:
        """``Host`` names the service answers (loopback, ``host``, then ``allowed_hosts``).

        ``host`` counts when it names one address (not a wildcard: ``0.0.0.0``, ``::``,
        ``::0``, ``0``, any address :attr:`ipaddress.IPv4Address.is_unspecified`), as for the
        hub (one rule: :func:`webconventions.hosts.accepted_hosts`). ``allowed_hosts`` adds to
        the loopback names (an older setting that listed them again still works). An IP
        address in a ``Host`` header cannot be a DNS-rebinding name (the attacker's page would
        send its own name).
        """
        return accepted_hosts(LOOPBACK_HOSTS, self.host, self.allowed_hosts)

    @property
    def browser_origins(self) -> list[str]:
        """Origins besides the service's own: ``allowed_origins`` and ``cors_origins``."""
        return list(dict.fromkeys([*self.allowed_origins, *self.cors_origins]))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Where settings come from, first wins: arguments, environment, then the TOML file.

        The TOML file is ``config_file`` of :func:`load_settings`, else ``HRVPACE_CONFIG``, if any.
        """
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _CONFIG_FILE.get() or os.environ.get("HRVPACE_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)


@contextmanager
def _config_file(path: Path | None) -> Iterator[None]:
    token = _CONFIG_FILE.set(path)
    try:
        yield
    finally:
        _CONFIG_FILE.reset(token)


def _check_config_keys(path: Path) -> None:
    """Refuse a config file that is not TOML or names a key no setting has.

    A misspelt key would otherwise be ignored silently and the default used.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: not a readable TOML file: {exc}") from None
    known = list(Settings.model_fields)
    for key in data:
        if key.lower() not in known:  # pydantic-settings matches names in any case
            close = difflib.get_close_matches(key.lower(), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"config file {path}: unknown setting {key!r}{hint}; settings are: "
                + ", ".join(known)
            )


def _explain(exc: ValidationError, config: str | None) -> ConfigError:
    """One line per wrong value: which setting, what is wrong, and where values come from."""
    lines = []
    for err in exc.errors(include_url=False):
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        lines.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
    where = "flags, HRVPACE_* environment variables" + (
        f" or config file {config}" if config else ""
    )
    return ConfigError(f"invalid setting(s) from {where}: " + "; ".join(lines))


def timezone_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """``HRVPACE_TIMEZONE``, checked; ``None`` when it is not set (or empty).

    Raises
    ------
    ConfigError
        It names no zone a plan takes (:func:`api.timezones.zone_problem`: the message names
        the variable, the value and the closest zone name). A mistyped zone would otherwise
        be passed over in silence and the plan would take the machine's zone, often UTC.
    """
    env = os.environ if environ is None else environ
    value = env.get(TIMEZONE_ENV, "").strip()
    if not value:
        return None
    problem = zone_problem(value)
    if problem is not None:
        raise ConfigError(f"{TIMEZONE_ENV}: {problem}")
    return value


def load_settings(*, config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings`; ``overrides`` whose value is ``None`` are ignored (unset flags).

    Raises
    ------
    FileNotFoundError
        ``config_file`` was given but does not exist.
    ConfigError
        The config file is not TOML or has a key no setting has, or a value is invalid (the
        message names the setting and the value).

    ``HRVPACE_TIMEZONE`` is not checked here: it only sets the day plan's zone, and commands
    that do not use the plan (``sessions``, ``export``, ``replay``, ``report``) work with a
    mistyped one. The commands that do (``serve``, ``demo``, ``share``) call
    :func:`timezone_setting` themselves.
    """
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")
    config = config_file or (
        Path(os.environ["HRVPACE_CONFIG"]) if os.environ.get("HRVPACE_CONFIG") else None
    )
    if config is not None:
        if not config.is_file():  # HRVPACE_CONFIG naming no file: not the defaults in silence
            raise ConfigError(f"config file not found: {config} (HRVPACE_CONFIG)")
        _check_config_keys(config)
    given = {k: v for k, v in overrides.items() if v is not None}
    with _config_file(config_file):
        try:
            return Settings(**given)
        except ValidationError as exc:
            raise _explain(exc, None if config is None else str(config)) from None
