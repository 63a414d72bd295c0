#!/usr/bin/env bash
# A throwaway PostgreSQL server for kanban-db's tests (what `./dev test` and `./dev conformance` use).
#   scripts/postgres-server.sh start    start one (or reuse the running one); prints its URL
#   scripts/postgres-server.sh url      print the running server's URL (exit 1 if none)
#   scripts/postgres-server.sh status   say whether it runs (exit 0) or not (exit 3)
#   scripts/postgres-server.sh stop     stop it and delete its directory
#   scripts/postgres-server.sh restart  pg_ctl restart -m fast (for tests of a server restarted mid-run)
#
# Debian's PostgreSQL 15 (/usr/lib/postgresql/15/bin; installed with apt-get when missing and root).
# Everything lives in one directory /tmp/kanban-db-postgres.XXXXXX: the cluster (data/), its log
# (log) and its unix socket; no TCP port. Role `kanban`, trust authentication, database `postgres`,
# max_connections 200, fsync on, UTF8 with the C locale, timezone UTC. The directory is recorded in
# .tools/postgres/dir; stale state (a killed server, a deleted directory) is cleaned on the next start.
#
# KANBAN_DB_POSTGRES_OWNER=PID (set by ./dev) gives the server to that process instead: it is recorded
# in .tools/postgres/runs/PID/dir, so concurrent runs never share or stop each other's server, and any
# start removes the servers of owners that no longer exist (a run killed with SIGKILL).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="$ROOT/.tools/postgres"
OWNER="${KANBAN_DB_POSTGRES_OWNER:-}"
if [ -n "$OWNER" ]; then STATE="$BASE/runs/$OWNER"; else STATE="$BASE"; fi
PG_VERSION=15
DIR_PREFIX=/tmp/kanban-db-postgres.

say() { printf '[postgres] %s\n' "$*" >&2; }
die() { printf '[postgres] error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# The server refuses to run as root: as root, run its programs as the postgres user.
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

find_bin() {
  PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]
}

ensure_bin() {
  find_bin && return
  is_root || die "PostgreSQL $PG_VERSION is not installed ($PG_BIN missing) and installing it needs root (apt-get install postgresql)"
  command -v apt-get >/dev/null || die "PostgreSQL $PG_VERSION is not installed ($PG_BIN missing) and there is no apt-get"
  say "installing Debian's postgresql with apt-get (log: .tools/postgres/apt.log)"
  if ! (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql) \
       </dev/null >"$BASE/apt.log" 2>&1 9>&-; then
    tail -n 20 "$BASE/apt.log" >&2
    die "apt-get install postgresql failed (log: .tools/postgres/apt.log)"
  fi
  find_bin || die "apt-get installed postgresql, but not version $PG_VERSION ($PG_BIN missing)"
}

recorded_dir() { [ -f "$STATE/dir" ] && cat "$STATE/dir" || true; }

# The postmaster's pid, if it is alive (a zombie or a reused pid does not count).
server_pid() {
  local dir="$1" pid state comm
  [ -f "$dir/data/postmaster.pid" ] || return 1
  pid="$(head -n1 "$dir/data/postmaster.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" || return 1
  [ "$comm" = postgres ] && [ "$state" != Z ] && printf '%s\n' "$pid"
}

ready() { pg_isready_bin -h "$1" -U kanban -d postgres -q; }
pg_isready_bin() {
  if find_bin && [ -x "$PG_BIN/pg_isready" ]; then "$PG_BIN/pg_isready" "$@"
  elif command -v pg_isready >/dev/null; then pg_isready "$@"
  else return 1; fi
}

url_of() { printf 'postgresql://kanban@localhost/postgres?host=%s\n' "$1"; }

# Stop the server in DIR if it runs (fast shutdown, then SIGKILL) and delete DIR.
discard() {
  local dir="$1" pid
  case "$dir" in "$DIR_PREFIX"*) ;; *) die "refusing to delete '$dir' (not a $DIR_PREFIX* directory)" ;; esac
  if pid="$(server_pid "$dir")"; then
    if ! { find_bin && as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 9>&-; }; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}

# Remove the servers of ./dev runs that no longer exist (killed without running their exit trap).
sweep_dead_runs() {
  local run pid dir
  for run in "$BASE"/runs/*/; do
    [ -d "$run" ] || continue
    pid="$(basename "$run")"
    [ -d "/proc/$pid" ] && continue
    dir="$(cat "$run/dir" 2>/dev/null || true)"
    if [ -n "$dir" ]; then say "removing the server of a run that is gone (pid $pid): $dir"; discard "$dir"; fi
    rm -rf "$run"
  done
}

lock() {
  mkdir -p "$BASE"
  exec 9>"$BASE/.lock"
  command -v flock >/dev/null && flock 9
  return 0
}

cmd_start() {
  lock
  sweep_dead_runs
  mkdir -p "$STATE"
  local dir; dir="$(recorded_dir)"
  if [ -n "$dir" ]; then
    if server_pid "$dir" >/dev/null && ready "$dir"; then
      say "reusing the running server in $dir"
      url_of "$dir"
      return
    fi
    say "cleaning up a stale server ($dir)"
    discard "$dir"
    rm -f "$STATE/dir"
  fi
  ensure_bin
  is_root && ! id postgres >/dev/null 2>&1 && die "running as root, but there is no postgres user to run the server as"
  dir="$(mktemp -d "${DIR_PREFIX}XXXXXX")"
  printf '%s\n' "$dir" >"$STATE/dir"        # recorded first, so a failed start is cleaned up next time
  is_root && chown postgres: "$dir"
  if ! as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U kanban -E UTF8 --locale=C \
         </dev/null >"$dir/initdb.log" 2>&1 9>&-; then
    tail -n 20 "$dir/initdb.log" >&2
    die "initdb failed"
  fi
  cat >>"$dir/data/postgresql.conf" <<EOF

# kanban-db throwaway test server (scripts/postgres-server.sh)
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 200
fsync = on
timezone = 'UTC'
EOF
  # pg_ctl's server keeps every open descriptor: give it none of ours (the lock, a caller's pipe).
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start \
         </dev/null >/dev/null 2>&1 9>&-; then
    tail -n 20 "$dir/log" >&2 || true
    die "pg_ctl start failed (log: $dir/log)"
  fi
  ready "$dir" || die "the server started but does not accept connections (log: $dir/log)"
  say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') running in $dir"
  url_of "$dir"
}

cmd_stop() {
  lock
  local dir; dir="$(recorded_dir)"
  if [ -n "$dir" ]; then
    discard "$dir"
    rm -f "$STATE/dir"
    say "stopped and removed $dir"
  else
    say "no server recorded"
  fi
  if [ -n "$OWNER" ]; then rm -rf "$STATE"; fi
}

cmd_url() {
  local dir; dir="$(recorded_dir)"
  [ -n "$dir" ] && server_pid "$dir" >/dev/null || die "no server running (scripts/postgres-server.sh start)"
  url_of "$dir"
}

cmd_restart() {
  find_bin || die "PostgreSQL $PG_VERSION is not installed"
  local dir; dir="$(recorded_dir)"
  [ -n "$dir" ] && server_pid "$dir" >/dev/null || die "no server running (scripts/postgres-server.sh start)"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w -t 60 restart </dev/null >/dev/null 2>&1 9>&-; then
    tail -n 20 "$dir/log" >&2 || true
    die "pg_ctl restart failed (log: $dir/log)"
  fi
  ready "$dir" || die "the server restarted but does not accept connections (log: $dir/log)"
  say "restarted the server in $dir"
}

cmd_status() {
  local dir pid; dir="$(recorded_dir)"
  if [ -n "$dir" ] && pid="$(server_pid "$dir")"; then
    echo "running: pid $pid, directory $dir, log $dir/log"
    url_of "$dir"
  else
    echo "not running${dir:+ (stale: $dir)}"
    exit 3
  fi
}

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  url)    cmd_url ;;
  status) cmd_status ;;
  restart) cmd_restart ;;
  *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
