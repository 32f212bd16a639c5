#!/usr/bin/env bash
# Starts a PostgreSQL server for forger's store and queue tests and prints
# its URL on stdout (everything else goes to stderr):
#
#   export FORGER_TEST_PG=$(bash scripts/ci-postgres.sh)
#
# Installs Debian's postgresql if it is missing (as root, or with sudo),
# makes a cluster of its own named "forger" listening on 127.0.0.1 only
# (port $FORGER_PG_PORT, default 54329, so it leaves any other cluster
# alone), and a user "forger" who may create databases (each test makes its
# own and drops it) with a database "forger". Safe to run again: whatever
# exists is kept, a stopped cluster is started. Works as root: the server
# runs as the postgres user through pg_ctlcluster / runuser.
set -euo pipefail

port="${FORGER_PG_PORT:-54329}"
cluster=forger
user=forger
password=forger
db=forger

log() { echo "ci-postgres: $*" >&2; }

if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  log "run as root (or with sudo): it installs and starts PostgreSQL"
  exit 1
fi

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing Debian's postgresql"
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql >&2
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
[ -n "$version" ] || { log "no PostgreSQL server found under /usr/lib/postgresql"; exit 1; }

if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
  log "creating cluster $version/$cluster on 127.0.0.1:$port"
  "${sudo[@]}" pg_createcluster "$version" "$cluster" --port "$port" >&2
  # Loopback only; a throw-away test server needs no durability.
  printf '%s\n' "listen_addresses = '127.0.0.1'" "unix_socket_directories = '/var/run/postgresql'" \
    "fsync = off" "synchronous_commit = off" "full_page_writes = off" |
    "${sudo[@]}" tee "/etc/postgresql/$version/$cluster/conf.d/forger.conf" >/dev/null
fi
"${sudo[@]}" mkdir -p /var/run/postgresql
"${sudo[@]}" chown postgres:postgres /var/run/postgresql
status="$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }')"
if [ "$status" != online ]; then
  log "starting cluster $version/$cluster"
  "${sudo[@]}" pg_ctlcluster "$version" "$cluster" start >&2
fi
port="$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $3 }')"

psql_admin() { "${sudo[@]}" runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -h /var/run/postgresql "$@"; }

for _ in $(seq 1 30); do
  psql_admin -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
  sleep 1
done
psql_admin -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'" | grep -q 1 ||
  psql_admin -d postgres -c "CREATE ROLE $user LOGIN CREATEDB PASSWORD '$password'" >&2
psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
  psql_admin -d postgres -c "CREATE DATABASE $db OWNER $user" >&2

url="postgres://$user:$password@127.0.0.1:$port/$db?sslmode=disable"
log "ready: PostgreSQL $version on 127.0.0.1:$port"
echo "$url"
