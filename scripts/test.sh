#!/usr/bin/env bash
# Runs every check hrvpace has: lint, format, types, the import contract, then the test suite.
#
# It installs what a fresh machine lacks first, so it is the one test command of README.md and
# what .ci/run calls:
#   - Debian packages: dbus-daemon (the emulated BlueZ of the BLE tests), chromium (the
#     web page's end-to-end tests) and postgresql (the hub's tests start a throw-away
#     cluster with its initdb/pg_ctl), plus python3-venv when Python cannot make a venv;
#   - a virtual environment in .venv (override with HRVPACE_VENV) holding hrvpace with its
#     dev extra (uv pip install -e ".[dev]", pip if uv fails; a quick no-op when everything is
#     there), at the versions in scripts/constraints.txt, the set the suite last passed with
#     (HRVPACE_CONSTRAINTS= , empty, installs the newest versions pyproject.toml allows).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not e2e" -x`; the fast inner loop
# (a few minutes, no long recordings, no browser, no emulated BlueZ) is
#   bash scripts/test.sh -m "not slow and not e2e and not ble"
#
# pytest measures line coverage ([tool.coverage] in pyproject.toml; HRVPACE_COV_BRANCH=1 adds
# branches, for ~30 % more CPU in the test processes, see there). A run of the whole suite (no arguments, as .ci/run
# calls it) must reach COV_FLOOR percent overall and CORE_COV_FLOOR percent in the pure core
# (hrv/, breathing/); a selection of tests only reports its coverage.
#
# pytest runs in PYTEST_WORKERS (default 4) processes with pytest-xdist, a test file at a time
# (--dist loadfile): a file's tests run in order in one process, so its module fixtures (a
# shared server, one Chromium) start once as before. Much of the suite waits on real time
# (servers, the browser, child processes): with two workers on two cores the pytest stage took
# ~12 minutes using ~940 CPU-seconds, a third of the cores idle, so three workers share the two
# cores (the same CPU-seconds in about 60 % of the wall time of two workers on the same loaded
# machine; every test waits for conditions, not for fixed times). With the files longest first
# and the page idle when nothing changes, a fourth worker helps too: on the same commit, fresh
# clones, the pytest stage took 13m23s with three and 12m25s with four (2026-12-06). Files are
# handed out in collection order (--no-loadscope-reorder; xdist's own order, files with the most
# tests first,
# started the longest one-test files last) and tests/conftest.py collects the longest files first
# (LONGEST_FIRST), so the workers end within seconds of each other. Every test picks free ports
# and temp dirs; the PostgreSQL cluster and the private D-Bus are per process. pytest-cov
# combines the workers' coverage (and their child processes') before the floors are checked.
# PYTEST_WORKERS=0 runs in this process (--pdb).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage's heading says how long the run has taken so far (CI time is watched: README).
stage() { printf '== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
trap 'stage "done (exit $?)"' EXIT

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_install() {
  stage "installing Debian packages: $*"
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
  stage "creating the virtual environment $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    apt_install python3-venv
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
fi
export VIRTUAL_ENV="$PWD/$VENV"
export PATH="$VIRTUAL_ENV/bin:$PATH"
constraints="${HRVPACE_CONSTRAINTS-scripts/constraints.txt}"
stage "installing hrvpace with its dev extra into $VENV${constraints:+ (versions: $constraints)}"
# uv installs the same pinned set in ~15 s (pip took ~55 s of a fresh CI run); pip is the
# fallback wherever uv cannot be had or fails (HRVPACE_INSTALLER=pip forces it). Compiled to
# bytecode at install, as pip does: where PYTHONDONTWRITEBYTECODE is set (CI machines) nothing
# else writes the .pyc files, and every Python process of the suite compiled its imports anew
# (a whole run took 1,690 CPU-s instead of ~1,260)
installed=""
if [ "${HRVPACE_INSTALLER:-uv}" = uv ] \
  && python -m pip install -q ${constraints:+-c "$constraints"} uv >/dev/null 2>&1; then
  python -m uv pip install -q --compile-bytecode --python "$VIRTUAL_ENV/bin/python" \
    ${constraints:+-c "$constraints"} -e ".[dev]" && installed=uv
fi
[ -n "$installed" ] || python -m pip install -q ${constraints:+-c "$constraints"} -e ".[dev]"
# the project's own modules compiled once too: pip and uv leave an editable install's sources
# alone, and with PYTHONDONTWRITEBYTECODE each of the suite's hundreds of Python processes
# (workers, servers, command-line runs, helper scripts) compiled them again (~0.25 CPU-s a
# process)
python -m compileall -q -j 0 hrv breathing sensors api hub hrvpace webconventions bench tests >/dev/null

stage "ruff check";          python -m ruff check .
stage "ruff format --check"; python -m ruff format --check .
stage "mypy (strict)";      python -m mypy
stage "import contract";     lint-imports .importlinter
# The floors: about a point under what the whole suite reaches, lines 96.1 % overall and
# 98.3 % in the core (2026-12-07); with branches 94.9 % and 97.3 % (the last CI that measured
# them), so lower floors then
covopts=(--cov --cov-report=term:skip-covered)
measured="line coverage"
COV_FLOOR=95       # percent of statements, every package
CORE_COV_FLOOR=97  # percent in hrv/ and breathing/
case "${HRVPACE_COV_BRANCH:-0}" in
  0 | [Ff]alse | FALSE | [Nn]o | NO | [Oo]ff | OFF) ;;
  *)
    covopts+=(--cov-branch)
    measured="branch coverage"
    COV_FLOOR=90       # percent of statements and branches
    CORE_COV_FLOOR=95
    ;;
esac
floor=()
if [ $# -eq 0 ]; then floor=(--cov-fail-under="$COV_FLOOR"); fi
workers="${PYTEST_WORKERS:-4}"
stage "pytest ($workers workers, $measured${floor:+, floor $COV_FLOOR % overall and $CORE_COV_FLOOR % in hrv/ and breathing/})"
# For the suite's processes only: numpy's OpenBLAS keeps a second thread that spins after
# each call it shared (1.2-3.4 CPU-s in the schemathesis file alone) on two cores that four
# workers already fill; and pytest caches the modules it rewrites for assertions (hypothesis,
# schemathesis, anyio: ~2 CPU-s a process) only where bytecode may be written
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
unset PYTHONDONTWRITEBYTECODE
set +e
python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "${covopts[@]}" "${floor[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
if [ "$rc" -eq 0 ] && [ $# -eq 0 ]; then
  stage "coverage of the pure core (hrv/, breathing/)"
  python -m coverage report --include="hrv/*,breathing/*" --fail-under="$CORE_COV_FLOOR" \
    || rc=$?
fi
exit "$rc"
