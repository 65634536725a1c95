"""Commands that serve nothing do not import the web stack (FastAPI, Starlette, uvicorn).

``hrvpace analyze`` once imported FastAPI (~a quarter of its ~0.9 CPU-s start-up) through
``api.problems`` -> ``webconventions.problems`` for one helper, ``status_title`` (now in
:mod:`webconventions.errors`). This runs the real console entry point in a child process on a
plain RR file and looks at ``sys.modules`` after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_WEB = ("fastapi", "starlette", "uvicorn")

_PROBE = """
import json, sys
sys.argv = ["hrvpace", "analyze", sys.argv[1]]
from api.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
web = sorted(m for m in sys.modules if m.split(".")[0] in {web!r})
print(json.dumps({{"code": code, "web": web}}))
"""


def test_analyze_of_a_plain_rr_file_imports_no_web_framework(tmp_path: Path) -> None:
    rr = tmp_path / "rr.txt"
    rr.write_text("".join(f"{800 + 40 * ((i % 7) - 3)}\n" for i in range(300)))
    env = {**os.environ, "HRVPACE_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(web=set(_WEB)), str(rr)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None), out.stdout + out.stderr
    assert result["web"] == [], f"imported by hrvpace analyze: {result['web']}"
