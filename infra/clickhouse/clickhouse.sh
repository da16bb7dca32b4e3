#!/usr/bin/env bash
# A ClickHouse HTTP endpoint for tests and CI: infra/clickhouse/server.ts (ClickHouse's HTTP
# protocol in front of chDB, the real engine) — see that file for why and what it is not.
#
#   clickhouse.sh start <dir>   start it on 127.0.0.1 with a free port; data, log and PID live in
#                               <dir>; prints CLICKHOUSE_URL=http://127.0.0.1:<port> once it answers
#   clickhouse.sh stop <dir>    stop it (TERM, then KILL) and wait for it to exit
#
# A restart on the same <dir> keeps its port and its data.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/process.sh"
say() { echo "clickhouse.sh: $*" >&2; }
die() { say "$*"; exit 1; }

start() {
  local dir=$1
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  local port=0
  if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); fi
  # tsx from the project's own node_modules: the server imports chdb from there too.
  (cd "$root" && exec node --import tsx "$here/server.ts" --path "$dir/data" --port "$port") >"$dir/stdout" 2>"$dir/server.log" &
  echo $! >"$dir/pid"
  local deadline=$((SECONDS + 60)) url=''
  while [ -z "$url" ]; do
    url=$(sed -n 's/^CLICKHOUSE_URL=//p' "$dir/stdout" 2>/dev/null || true)
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then tail -20 "$dir/server.log" >&2 || true; die "the server exited while starting"; fi
    if [ $SECONDS -ge $deadline ]; then tail -20 "$dir/server.log" >&2 || true; die "the server did not start within 60 s"; fi
    [ -n "$url" ] || sleep 0.2
  done
  echo "${url##*:}" >"$dir/port"
  curl -fsS "$url/ping" >/dev/null || die "the server does not answer /ping"
  say "up (PID $(cat "$dir/pid")) from $dir"
  echo "CLICKHOUSE_URL=$url"
}

stop() {
  local dir=$1
  [ -f "$dir/pid" ] || return 0
  eddy_stop_pid "$dir/pid" 20
  say "stopped"
}

case "${1:-}" in
  start) [ -n "${2:-}" ] || die "usage: clickhouse.sh start <dir>"; start "$2" ;;
  stop) [ -n "${2:-}" ] || die "usage: clickhouse.sh stop <dir>"; stop "$2" ;;
  *) die "usage: clickhouse.sh start|stop <dir>" ;;
esac
