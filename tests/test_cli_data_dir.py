"""A data dir that cannot be made or written: one line naming it and why, exit 1, no traceback.

The real command in a subprocess. A path under a regular file cannot be a folder for anyone
(root too); a read-only folder (chmod 0500) is tried as well when not running as root (root
writes there anyway).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import REPO_ROOT


def _hrvpace(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRVPACE_")}
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO_ROOT,
    )


def _commands(recording: Path, data_dir: Path) -> dict[str, list[str]]:
    return {
        "replay --store": ["replay", str(recording), "--store", "--data-dir", str(data_dir)],
        "serve": ["serve", "--port", "0", "--data-dir", str(data_dir)],
        "demo": ["demo", "--no-open", "--port", "0", "--data-dir", str(data_dir)],
    }


def _unusable_dirs(tmp_path: Path) -> list[tuple[Path, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    dirs = [
        (a_file / "data", f"{a_file} is a file, not a folder"),
        (a_file, "it is a file, not a folder"),
    ]
    if os.geteuid() != 0:
        read_only = tmp_path / "read-only"
        read_only.mkdir(mode=0o500)
        dirs.append((read_only / "data", "Permission denied"))
    return dirs


@pytest.mark.parametrize("command", ["replay --store", "serve", "demo"])
def test_an_unusable_data_dir_is_one_line_naming_it(tmp_path: Path, command: str) -> None:
    recording = tmp_path / "rr.txt"
    recording.write_text("800\n810\n790\n" * 40)
    for data_dir, why in _unusable_dirs(tmp_path):
        done = _hrvpace(*_commands(recording, data_dir)[command])
        assert done.returncode == 1, (command, data_dir, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        said = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(said) == 1, said
        assert f"cannot use the data dir {data_dir}: {why}" in said[0], said
        assert done.stdout == "", done.stdout  # nothing replayed, nothing served


@pytest.mark.parametrize("command", ["replay --store", "serve", "demo"])
def test_a_database_that_cannot_be_opened_is_one_line_naming_it(
    tmp_path: Path, command: str
) -> None:
    """``DATA_DIR/hrvpace.sqlite3`` a folder, or a file that is no database: serve and demo
    printed the app's startup traceback (115 lines, exit 3); one line as replay --store."""
    recording = tmp_path / "rr.txt"
    recording.write_text("800\n810\n790\n" * 40)
    folder, garbage = tmp_path / "folder", tmp_path / "garbage"
    (folder / "hrvpace.sqlite3").mkdir(parents=True)
    garbage.mkdir()
    (garbage / "hrvpace.sqlite3").write_text("not a database\n" * 100)
    for data_dir in (folder, garbage):
        database = data_dir / "hrvpace.sqlite3"
        done = _hrvpace(*_commands(recording, data_dir)[command])
        assert done.returncode == 1, (command, data_dir, done.stderr)
        said = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(said) == 1, said
        assert f"{database}: cannot open the database (" in said[0], said
        assert done.stdout == "", done.stdout
    assert (garbage / "hrvpace.sqlite3").read_text() == "not a database\n" * 100


def test_replay_json_with_an_unusable_store_ends_with_its_replay_end(tmp_path: Path) -> None:
    """Code review: ``replay --store --json`` with a data dir or database it cannot use printed
    no ``replay_end`` line, though every other failure (a file it cannot read) ends the JSON
    stream with one (state ``failed``, the reason as its message, nothing played)."""
    recording = tmp_path / "rr.txt"
    recording.write_text("800\n810\n790\n" * 40)
    folder = tmp_path / "folder"
    (folder / "hrvpace.sqlite3").mkdir(parents=True)
    for data_dir, _ in [*_unusable_dirs(tmp_path), (folder, "")]:
        done = _hrvpace("replay", str(recording), "--json", "--store", "--data-dir", str(data_dir))
        assert done.returncode == 1, (data_dir, done.stderr)
        said = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(said) == 1 and said[0].startswith("hrvpace replay: "), said
        (line,) = done.stdout.splitlines()
        end = json.loads(line)
        assert end["type"] == "replay_end" and end["state"] == "failed", end
        assert end["message"] == said[0].removeprefix("hrvpace replay: ")
        assert (end["n_beats"], end["n_windows"], end["t_s"]) == (0, 0, 0.0)
        assert str(data_dir) in end["message"]
