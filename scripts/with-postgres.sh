#!/usr/bin/env bash
# Run a command with a private, throw-away PostgreSQL 15 server on a local port:
#   scripts/with-postgres.sh .venv/bin/pytest -q
# The server lives in a temporary folder under /tmp, listens on 127.0.0.1:$FACTFINDER_PG_PORT
# (by default 54329, or the next free port) and on a socket in that folder, trusts local
# connections (it holds nothing but test databases), and is stopped and deleted when the
# command ends, however it ends.
# The command sees FACTFINDER_TEST_POSTGRES=postgresql://ff@127.0.0.1:PORT/postgres.
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user.
set -euo pipefail
PORT=${FACTFINDER_PG_PORT:-}
if [ -z "$PORT" ]; then  # 54329, or the next free port if another run holds it
  PORT=54329
  while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    PORT=$((PORT + 1))
    [ "$PORT" -lt 54360 ] || { echo "with-postgres: no free port in 54329-54359" >&2; exit 2; }
  done
fi
PGBIN=${PGBIN:-}
if [ -z "$PGBIN" ]; then
  for v in 15 16 17; do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then PGBIN=/usr/lib/postgresql/$v/bin; break; fi
  done
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "with-postgres: PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin)" >&2
  echo "run: sudo apt-get install -y postgresql" >&2
  exit 2
fi

as_owner=()
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root but there is no 'postgres' user to run the server as" >&2
    exit 2
  fi
  as_owner=(runuser -u postgres --)
fi

DIR=$(mktemp -d /tmp/factfinder-pg.XXXXXX)
chmod 700 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"

stop() {
  status=$?
  if [ -f "$DIR/data/postmaster.pid" ]; then
    "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${as_owner[@]}" "$PGBIN/initdb" -D "$DIR/data" -U ff --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 2; }
opts="-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c max_connections=200"
if [ -z "${FACTFINDER_PG_DURABLE:-}" ]; then
  # Test databases only: durability is not what is being tested here, speed is welcome.
  # Benchmarks set FACTFINDER_PG_DURABLE=1 to measure PostgreSQL as it runs in earnest.
  opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
if ! "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "$opts" -w -t 60 start >/dev/null; then
  echo "with-postgres: the server did not start; its log:" >&2
  cat "$DIR/server.log" >&2 || true
  exit 2
fi
export FACTFINDER_TEST_POSTGRES="postgresql://ff@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $DIR)"
"$@"
