#!/usr/bin/env bash
# `make test`'s checks and passes, in lanes that share no state, so that both cores of a small machine work (each
# pytest run is one process, one core at most, and the browser pass mostly waits on its pages):
#   lane 1: ruff (lint and format) and import-linter, then the browser pass (its own run_arena server, embedded);
#   lane 2: the documentation in strict mode, then the game server's tests against PostgreSQL and Redis
#           (DATABASE_URL and REDIS_URL; .ci/run sets them where those services run), the fault tests and the
#           statistics' tests apart;
#   lane 3: mypy, the embedded pass (SQLite, in-memory layer and broker): the engine's and the repository's tests and,
#           where lane 2 runs the game server's tests, only those about the embedded backends (marked `embedded`);
#           then the fault tests (processes of the game server killed, restarted, spread across machines) against
#           a database and a Redis database of their own (test_faults, Redis db 1), then the statistics' tests
#           against PostgreSQL and Redis (test_stats, Redis db 2): moved from lane 2 so that the lanes end together.
# Without PostgreSQL and Redis the embedded pass runs every test and the passes that need them are SKIPPED.
# Lanes 2 and 3 write to artefacts/test-logs/lane<N>.log, printed when lane 1 is done. A pass that cannot run here
# (no Chromium and no way to install it; no PostgreSQL or Redis) is named in the summary as SKIPPED with the reason;
# the exit status is non-zero only when something failed.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
PYTEST=("$PY" -m pytest --hypothesis-profile=ci --durations=15)
LOGS=artefacts/test-logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.result
CHROMIUM=/usr/bin/chromium

# step NAME COMMAND...: run a command, record its result and seconds for the summary.
step() {
  local name=$1 started=$SECONDS status
  shift
  echo "=== $name"
  "$@"
  status=$?
  if [ $status -eq 0 ]; then result=passed; else result="FAILED (exit $status)"; fi
  echo "$name: $result in $((SECONDS - started)) s" > "$LOGS/$name.result"
  return $status
}

skip() {  # skip NAME REASON
  echo "$1: SKIPPED: $2" > "$LOGS/$1.result"
  echo "*** SKIPPED $1: $2"
}

embedded() { env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL "$@"; }

# Caches kept outside the checkout, as pip's is, so that a fresh clone (CI) starts warm: mypy's (each module
# rechecked when its source's hash differs from the cached one), collectstatic's compressed copies (keyed by the
# file's content) and the tests' synthetic sets and tiny models (keyed by the engine's sources, tests/conftest.py).
# Set a variable to choose another place; each is rebuilt where it is missing.
CACHE_HOME=${XDG_CACHE_HOME:-$HOME/.cache}/planet-arena
export PLANET_TEST_CACHE=${PLANET_TEST_CACHE:-$CACHE_HOME/tests}
export MYPY_CACHE_DIR=${MYPY_CACHE_DIR:-$CACHE_HOME/mypy}
export PLANET_STATIC_COMPRESSION_CACHE=${PLANET_STATIC_COMPRESSION_CACHE:-$CACHE_HOME/static-compressed}
# The project's compiled modules are written (__pycache__/, ignored by git) even where PYTHONDONTWRITEBYTECODE is
# set: the suite starts some hundred Python processes (servers, workers, commands), each of which would otherwise
# compile the project's sources again, and pytest its rewritten test modules.
unset PYTHONDONTWRITEBYTECODE
# One thread per process for torch's kernels (OpenMP) and ONNX Runtime's sessions: the lanes already keep every core
# busy, and idle pool threads spin-wait for work on an oversubscribed machine. The engine's training tests beside two
# busy loops took 60 CPU-s and 68 s with torch's default threads, 23 CPU-s and 37 s with one (bench/README.md).
export OMP_NUM_THREADS=1 PLANET_INFERENCE_THREADS=1

chromium_ready() {
  [ -x "$CHROMIUM" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Chromium is missing: installing Debian's chromium (apt-get)"
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 \
           && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1; }
  fi
  [ -x "$CHROMIUM" ]
}

services() { [ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; }

# The same server and user as DATABASE_URL, another database (the tests' own is test_<name>); the same for Redis.
other_database() { echo "${DATABASE_URL%/*}/$1"; }
other_redis() { echo "${REDIS_URL%/*}/$1"; }

lane1() {
  step ruff .venv/bin/ruff check .
  step ruff-format .venv/bin/ruff format --check .
  step import-linter .venv/bin/lint-imports --no-cache
  if chromium_ready; then
    step browser-pass embedded "${PYTEST[@]}" tests/browser
  else
    local count
    count=$(embedded "${PYTEST[@]}" --collect-only -q tests/browser 2>/dev/null | tail -n 1)
    skip browser-pass "no Chromium at $CHROMIUM and no way to install it here (as root: apt-get install chromium); \
the browser tests were not run ($count)"
  fi
}

lane2() {
  step docs .venv/bin/mkdocs build --strict --quiet
  if services; then
    step postgres-pass env DATABASE_CONN_MAX_AGE=0 "${PYTEST[@]}" tests/gameserver --ignore=tests/gameserver/faults \
      --ignore=tests/gameserver/stats
  else
    skip postgres-pass "DATABASE_URL and REDIS_URL not set (no PostgreSQL and Redis here)"
  fi
}

lane3() {
  step mypy .venv/bin/mypy
  if services; then
    step embedded-pass embedded "${PYTEST[@]}" tests --ignore=tests/browser -m "not server or embedded"
    step faults-pass env DATABASE_CONN_MAX_AGE=0 DATABASE_URL="$(other_database faults)" \
      REDIS_URL="$(other_redis 1)" "${PYTEST[@]}" tests/gameserver/faults
    step postgres-stats-pass env DATABASE_CONN_MAX_AGE=0 DATABASE_URL="$(other_database stats)" \
      REDIS_URL="$(other_redis 2)" "${PYTEST[@]}" tests/gameserver/stats
  else
    step embedded-pass embedded "${PYTEST[@]}" tests --ignore=tests/browser
    skip faults-pass "DATABASE_URL and REDIS_URL not set: the fault tests that need PostgreSQL and Redis were not \
run (the embedded pass ran the others)"
  fi
}

started=$SECONDS
lane2 > "$LOGS/lane2.log" 2>&1 &
lane2_pid=$!
lane3 > "$LOGS/lane3.log" 2>&1 &
lane3_pid=$!
lane1
wait $lane2_pid $lane3_pid
for lane in 2 3; do
  echo "=== lane $lane: $LOGS/lane$lane.log"
  cat "$LOGS/lane$lane.log"
done
echo
echo "=== summary ($((SECONDS - started)) s in all)"
cat "$LOGS"/*.result
! grep -q FAILED "$LOGS"/*.result
