#!/usr/bin/env bash
# Runs every check hrvpace has: lint, format, types, the import contract, then the test suite.
# Installs what a fresh machine lacks first (Debian: dbus-daemon for the BLE emulation,
# chromium for the web page; Python: the project with its dev extra), so it is the one test
# command of README.md and what .ci/run calls. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dbus-daemon >/dev/null 2>&1 || need_apt+=(dbus-daemon)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! python -c "import hrvpace_dev_marker" 2>/dev/null && ! python -c "import neurokit2, pytest_asyncio, importlinter" 2>/dev/null; then
  echo "== installing hrvpace with its dev extra"
  python -m pip install -q -e ".[dev]"
fi

echo "== ruff check";         python -m ruff check .
echo "== ruff format --check"; python -m ruff format --check .
echo "== mypy (strict on hrv/ and breathing/)"; python -m mypy
echo "== import contract";    lint-imports --config .importlinter
echo "== pytest"
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
