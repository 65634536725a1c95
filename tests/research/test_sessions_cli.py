"""``hrvpace sessions`` and id prefixes for ``export`` and ``report`` (issue 19 item 7).

Sessions are stored by real replays (``replay --store``) into a real SQLite database; two more
are created through :class:`api.storage.Storage` with ids that share a prefix, to show the
ambiguous-prefix error.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.storage import Storage

runner = CliRunner()
REST = "hrvpkg_rest_rri_ms.txt"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    d = tmp_path_factory.mktemp("data")
    res = runner.invoke(
        app,
        ["replay", str(shared_data / REST), "--json", "--store", "--data-dir", str(d)],
    )
    assert res.exit_code == 0, res.output
    storage = Storage(d / "hrvpace.sqlite3")
    try:
        for sid, label in (("feedbeef0001", "morning"), ("feedbeef0002", "")):
            storage.create_session(
                sid,
                created_at=time.time(),
                mode="monitor",
                source={"kind": "simulator", "seed": 1},
                options={"label": label} if label else {},
            ).result()
    finally:
        storage.close()
    return d


def test_sessions_lists_every_session(data_dir: Path) -> None:
    res = runner.invoke(app, ["sessions", "--data-dir", str(data_dir), "--json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 3
    replayed = rows[0]
    assert replayed["n_beats"] == 910 and replayed["source"]["kind"] == "replay"
    assert replayed["duration_s"] == pytest.approx(963.4, abs=0.5)  # 16 min of rest
    assert len(replayed["prefix"]) == 8 and replayed["id"].startswith(replayed["prefix"])
    # ids sharing 11 characters: their prefixes are 12 long
    assert [r["prefix"] for r in rows[1:]] == ["feedbeef0001", "feedbeef0002"]
    assert [r["label"] for r in rows[1:]] == ["morning", ""]
    human = runner.invoke(app, ["sessions", "--data-dir", str(data_dir)])
    lines = human.stdout.splitlines()
    assert lines[0].split() == ["id", "start", "length", "source", "label", "beats"]
    assert replayed["prefix"] in lines[1] and "16.1 min" in lines[1] and REST in lines[1]
    assert lines[1].rstrip().endswith("910") and "morning" in lines[2]


def test_export_and_report_take_a_unique_prefix(data_dir: Path, tmp_path: Path) -> None:
    rows = [
        json.loads(line)
        for line in runner.invoke(
            app, ["sessions", "--data-dir", str(data_dir), "--json"]
        ).stdout.splitlines()
    ]
    full, prefix = rows[0]["id"], rows[0]["prefix"]
    res = runner.invoke(
        app, ["export", prefix, "--out", str(tmp_path / "x"), "--data-dir", str(data_dir)]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x" / f"{full}-beats.csv").is_file()
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", prefix, "--out", str(out), "--data-dir", str(data_dir)])
    assert res.exit_code == 0, res.output
    assert full in out.read_text()


def test_an_ambiguous_prefix_lists_the_matches(data_dir: Path, tmp_path: Path) -> None:
    for cmd in (
        ["export", "feedbeef", "--out", str(tmp_path)],
        ["report", "feedbeef", "--out", str(tmp_path / "r.html")],
    ):
        res = runner.invoke(app, [*cmd, "--data-dir", str(data_dir)])
        assert res.exit_code == 1
        assert "matches 2 sessions" in res.stderr
        assert "feedbeef0001" in res.stderr and "feedbeef0002" in res.stderr
    res = runner.invoke(
        app, ["export", "nothere", "--out", str(tmp_path), "--data-dir", str(data_dir)]
    )
    assert res.exit_code == 1 and "no session 'nothere'" in res.stderr


def test_no_database(tmp_path: Path) -> None:
    res = runner.invoke(app, ["sessions", "--data-dir", str(tmp_path)])
    assert res.exit_code == 1 and "no hrvpace database" in res.stderr
