"""A command imports what it uses: ``hrvpace`` start-up is paid by every one of the suite's runs.

``hrvpace analyze`` once imported FastAPI (~a quarter of its ~0.9 CPU-s start-up) through
``api.problems`` -> ``webconventions.problems`` for one helper, ``status_title`` (now in
:mod:`webconventions.errors`). Every command once imported every command's module, and with
them the live pipeline, its pydantic models and numpy (~0.5 CPU-s before a flag was parsed);
``record`` imported the paced runs' module for its Ctrl-C handling (~0.25 CPU-s). Each test
runs the real console entry point in a child process and looks at ``sys.modules`` after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import json, sys
sys.argv = ["hrvpace", *json.loads(sys.argv[1])]
from api.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imported(tmp_path: Path, *args: str) -> list[str]:
    """The modules loaded by ``hrvpace ARGS`` run to its end (exit code 0) in a fresh process."""
    env = {**os.environ, "HRVPACE_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None), out.stdout + out.stderr
    modules: list[str] = result["modules"]
    return modules


def _among(modules: list[str], *packages: str) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages)]


def test_analyze_of_a_plain_rr_file_imports_no_web_framework_and_no_pydantic(
    tmp_path: Path,
) -> None:
    rr = tmp_path / "rr.txt"
    rr.write_text("".join(f"{800 + 40 * ((i % 7) - 3)}\n" for i in range(300)))
    modules = _imported(tmp_path, "analyze", str(rr))
    assert "api.commands.analyze" in modules  # the probe ran the command
    loaded = _among(modules, "fastapi", "starlette", "uvicorn", "pydantic", "pydantic_settings")
    assert loaded == [], f"imported by hrvpace analyze: {loaded}"


def test_version_imports_no_command_the_pipeline_or_pydantic(tmp_path: Path) -> None:
    modules = _imported(tmp_path, "--version")
    assert "api.cli" in modules
    loaded = _among(modules, "api.commands", "api.pipeline", "pydantic")
    assert loaded == [], f"imported by hrvpace --version: {loaded}"


def test_one_commands_help_imports_that_command_only(tmp_path: Path) -> None:
    modules = _imported(tmp_path, "serve", "--help")
    assert _among(modules, "api.commands") == [
        "api.commands",
        "api.commands._server",
        "api.commands.serve",
    ]


def test_record_imports_neither_the_live_pipeline_nor_pydantic(tmp_path: Path) -> None:
    modules = _imported(tmp_path, "record", "--help")
    assert "api.commands.record" in modules
    loaded = _among(modules, "api.commands._paced", "api.pipeline.loop", "api.live", "pydantic")
    assert loaded == [], f"imported by hrvpace record: {loaded}"
