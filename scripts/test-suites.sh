#!/usr/bin/env bash
# Run the whole suite twice at once: on SQLite, and on a private PostgreSQL server
# (scripts/with-postgres.sh). Each run is mostly one Python process, so on two cores they
# overlap well; each has its own pytest temporary folder and writes to a log of its own,
# printed whole when the run ends, so that the two runs' lines never interleave.
#   scripts/test-suites.sh .venv/bin [extra pytest arguments]
# Exits non-zero when either run fails; the temporary folders of a failed run are kept.
set -uo pipefail
BIN=${1:-.venv/bin}
shift || true
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/factfinder-test.XXXXXX)
pytest_args=(-q --durations=15 -p no:cacheprovider "$@")

# Folders a run makes in the repository's root exist before either starts, so that a test comparing the root
# before and after (tests/web/test_hostile.py) never sees the other run's.
mkdir -p test-artifacts/screenshots
# Each run in a process group of its own (job control), so that an interrupt stops both, and their children.
set -m
trap 'kill -TERM -- "-$sqlite_pid" "-$postgres_pid" 2>/dev/null; wait; exit 130' INT TERM

start=$SECONDS
"$BIN/pytest" "${pytest_args[@]}" --basetemp "$work/sqlite" >"$work/sqlite.log" 2>&1 &
sqlite_pid=$!
bash scripts/with-postgres.sh "$BIN/pytest" "${pytest_args[@]}" --basetemp "$work/postgres" \
  >"$work/postgres.log" 2>&1 &
postgres_pid=$!
echo "test-suites: the SQLite and PostgreSQL runs started together (logs in $work)"

declare -A status
running=("$sqlite_pid" "$postgres_pid")
while [ ${#running[@]} -gt 0 ]; do
  wait -n -p done_pid "${running[@]}"
  code=$?
  if [ "$done_pid" = "$sqlite_pid" ]; then name=sqlite; else name=postgres; fi
  left=()
  for pid in "${running[@]}"; do [ "$pid" = "$done_pid" ] || left+=("$pid"); done
  running=("${left[@]}")
  status[$name]=$code
  echo
  echo "==================== the $name run (exit $code, $((SECONDS - start)) s) ===================="
  cat "$work/$name.log"
done

echo
echo "test-suites: sqlite exit ${status[sqlite]}, postgres exit ${status[postgres]}, $((SECONDS - start)) s in all"
if [ "${status[sqlite]}" = 0 ] && [ "${status[postgres]}" = 0 ]; then
  rm -rf "$work"
  exit 0
fi
echo "test-suites: kept $work for a look at the failed run"
exit 1
