"""Settings: defaults, HRVPACE_* environment, config file, and flags, in that order of strength."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import default_data_dir, load_settings


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


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRVPACE_PORT", "not-a-port")
    with pytest.raises(ValueError, match="port"):
        load_settings()
