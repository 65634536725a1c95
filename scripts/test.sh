#!/usr/bin/env bash
# Runs every check hrvpace has: lint, format, types, the import contract, then the test suite.
#
# It installs what a fresh machine lacks first, so it is the one test command of README.md and
# what .ci/run calls:
#   - Debian packages: dbus-daemon (the emulated BlueZ of the BLE tests), chromium (the
#     web page's end-to-end tests) and postgresql (the hub's tests start a throw-away
#     cluster with its initdb/pg_ctl), plus python3-venv when Python cannot make a venv;
#   - a virtual environment in .venv (override with HRVPACE_VENV) holding hrvpace with its
#     dev extra (pip install -e ".[dev]"; a quick no-op when everything is there).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not e2e" -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_install() {
  echo "== installing Debian packages: $*"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_apt=()
command -v dbus-daemon >/dev/null 2>&1 || need_apt+=(dbus-daemon)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
  || need_apt+=(postgresql)
[ ${#need_apt[@]} -gt 0 ] && apt_install "${need_apt[@]}"

PYTHON="${PYTHON:-python3}"
VENV="${HRVPACE_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating the virtual environment $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    apt_install python3-venv
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
fi
export VIRTUAL_ENV="$PWD/$VENV"
export PATH="$VIRTUAL_ENV/bin:$PATH"
echo "== installing hrvpace with its dev extra into $VENV"
python -m pip install -q -e ".[dev]"

echo "== ruff check";          python -m ruff check .
echo "== ruff format --check"; python -m ruff format --check .
echo "== mypy (strict)"; python -m mypy
echo "== import contract";     lint-imports --config .importlinter
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
