#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: data and socket in a temp folder, listening on
# 127.0.0.1 only, on a free port, trust authentication for the local test user `custody`.
#
#   scripts/pg-test-cluster.sh start   initdb + pg_ctl start; prints the connection URL and writes it to $DIR/url
#   scripts/pg-test-cluster.sh stop    pg_ctl stop; removes $DIR
#   scripts/pg-test-cluster.sh url     prints the URL of the running cluster
#
# $DIR is $CUSTODY_PG_DIR, else ${TMPDIR:-/tmp}/custody-pg. PostgreSQL refuses to run as root: as root the
# cluster runs as the `postgres` user when there is one, else as a system user `custodypg` created here.
# Exit codes: 0 ok, 1 failure, 3 PostgreSQL binaries not found.
set -euo pipefail

DIR="${CUSTODY_PG_DIR:-${TMPDIR:-/tmp}/custody-pg}"
DATA="$DIR/data"
SOCK="$DIR/sock"
LOG="$DIR/postgres.log"
DBUSER=custody

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/pg_ctl" ]; then echo "$PG_BINDIR"; return 0; fi
  if command -v pg_config >/dev/null 2>&1; then
    local d; d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/pgsql/bin; do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0
  fi
  return 1
}

# Runs a command as the unprivileged cluster owner (as the current user when not root).
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  if command -v runuser >/dev/null 2>&1; then runuser -u "$OWNER" -- "$@"; else su -s /bin/sh "$OWNER" -c "$(printf '%q ' "$@")"; fi
}

pick_owner() {
  if [ "$(id -u)" -ne 0 ]; then OWNER="$(id -un)"; return; fi
  if id postgres >/dev/null 2>&1; then OWNER=postgres; return; fi
  if ! id custodypg >/dev/null 2>&1; then useradd -r -M -s /usr/sbin/nologin custodypg; fi
  OWNER=custodypg
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

running() {
  [ -f "$DATA/postmaster.pid" ] && [ -f "$DIR/url" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

cmd="${1:-}"
if ! BIN="$(find_bindir)"; then
  echo "pg-test-cluster: PostgreSQL binaries (initdb, pg_ctl) not found; install PostgreSQL or set PG_BINDIR" >&2
  exit 3
fi
pick_owner

case "$cmd" in
  start)
    if running; then cat "$DIR/url"; exit 0; fi
    rm -rf "$DATA" "$SOCK"
    mkdir -p "$DIR" "$SOCK"
    chmod 0755 "$DIR"
    chown "$OWNER" "$DIR" "$SOCK"
    if ! as_owner test -w "$DIR"; then
      echo "pg-test-cluster: $DIR is not writable by $OWNER (a parent folder is private?); set CUSTODY_PG_DIR" >&2
      exit 1
    fi
    as_owner "$BIN/initdb" -D "$DATA" -U "$DBUSER" --auth=trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log" 2>&1 || {
      cat "$DIR/initdb.log" >&2; exit 1
    }
    started=0
    for attempt in 1 2 3 4 5; do
      PORT="$(free_port)"
      if as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK -c max_connections=200 -c shared_buffers=128MB" start >/dev/null; then
        started=1; break
      fi
    done
    if [ "$started" -ne 1 ]; then echo "pg-test-cluster: postgres did not start (see $LOG)" >&2; tail -20 "$LOG" >&2 || true; exit 1; fi
    URL="postgresql://$DBUSER@127.0.0.1:$PORT/postgres"
    echo "$URL" >"$DIR/url"
    echo "$URL"
    ;;
  stop)
    if [ -f "$DATA/postmaster.pid" ]; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$DIR"
    ;;
  url)
    if running; then cat "$DIR/url"; else echo "pg-test-cluster: no cluster running in $DIR" >&2; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
