"""The service imports its own modules on the main thread, not in its worker threads.

``api.pipeline`` loads its names on first use, so it no longer imports ``api.storage.writer``
up front, and a review found threads that import ``api.*`` modules for the first time at once
failing (``ImportError: cannot import name 'StorageCore' from partially initialized module``,
``_DeadlockError``: two threads entering one import cycle from two ends). The service runs
blocking work in ``asyncio.to_thread``: its start-up (the day plan, an older version's quiet
hours, whose function imports ``api.pipeline`` inside) and routes (the report imported
``api.research.report`` inside its worker). Each module of hrvpace's is imported by ``import
api.app``, on the main thread; a worker thread only finds them loaded. Run in a fresh process
(this one has imported everything), with a finder that notes each import off the main thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import asyncio, json, sys, threading

OFF_MAIN = []


class Spy:
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is not threading.main_thread():
            OFF_MAIN.append(name)
        return None


sys.meta_path.insert(0, Spy())

import httpx

import api.app
import api.pipeline
from api.settings import load_settings

loaded = {
    "api.research.report": "api.research.report" in sys.modules,
    "MICROBREAK_SETTINGS_KEY": "MICROBREAK_SETTINGS_KEY" in vars(api.pipeline),
}
app = api.app.create_app(load_settings(data_dir=sys.argv[1], token="t"), outbound=False)


async def run():
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": "Bearer t"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=headers
        ) as client:
            for path in ["/api/v1/sessions", "/api/v1/baseline", "/api/v1/trends/daily",
                         "/api/v1/dashboard", "/api/v1/share/preview", "/api/v1/prompts"]:
                r = await client.get(path)
                assert r.status_code == 200, (path, r.text)


asyncio.run(run())
print(json.dumps({"loaded": loaded, "off_main": OFF_MAIN}))
"""

_OURS = ("api", "hub", "sensors", "hrv", "breathing", "webconventions", "hrvpace")


def test_the_service_imports_none_of_its_modules_in_a_worker_thread(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env={**os.environ, "HRVPACE_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # what the start-up's and the report's worker threads import is loaded before they run
    assert result["loaded"] == {"api.research.report": True, "MICROBREAK_SETTINGS_KEY": True}
    ours = [m for m in result["off_main"] if m.split(".")[0] in _OURS]
    assert ours == [], f"imported in a worker thread: {ours}"
