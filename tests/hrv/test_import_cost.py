"""``import hrv`` stays light: the heavy scipy submodules load only when a function needs them.

Every ``hrvpace`` command (``--help`` included) imports :mod:`hrv`, so a module-level
``from scipy.signal import ...`` anywhere in the package would add a fraction of a second to each
start-up. Checked in a fresh interpreter, by what ends up in ``sys.modules`` (no timings).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("scipy.signal", "scipy.interpolate", "scipy.ndimage", "scipy.fft")

_PROBE = (
    "import json, sys\n"
    "import hrv\n"
    f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
)


def test_import_hrv_loads_no_heavy_scipy_module() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"`import hrv` loaded {loaded} at module level; import them lazily"
