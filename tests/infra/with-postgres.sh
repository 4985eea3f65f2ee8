#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback, run the given command with
# TILSYN_TEST_DATABASE_URL pointing at it, then stop the server and remove its data.
set -euo pipefail

bindir=""
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
  bindir=$(pg_config --bindir)
else
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL er ikke installeret (kør tests/infra/ensure-services.sh)." >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 0
fi

workdir=$(mktemp -d /tmp/tilsyn-pg.XXXXXX)
chmod 755 "$workdir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root: run it as the postgres system user.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$workdir"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

"${as_pg[@]}" "$bindir/initdb" -D "$workdir/data" -U tilsyn --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $workdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
  start >/dev/null
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U tilsyn tilsyn_test

export TILSYN_TEST_DATABASE_URL="postgresql+psycopg://tilsyn@127.0.0.1:$port/tilsyn_test"
echo "PostgreSQL kører på 127.0.0.1:$port ($("$bindir/postgres" --version))"
"$@"
