#!/usr/bin/env bash
# A real redis-server for tests and CI (Debian's redis-server package; no Docker on these machines).
#
#   redis.sh start <dir>   start redis-server on 127.0.0.1 with a free port; its config, data, log and
#                          PID live in <dir>; prints REDIS_URL=redis://127.0.0.1:<port> once it answers PING
#   redis.sh stop <dir>    stop that server (TERM, then KILL) and wait for it to exit
#
# A restart on the same <dir> keeps its port, so a fault test can stop Redis and bring it back where
# clients expect it.
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/process.sh"
say() { echo "redis.sh: $*" >&2; }
die() { say "$*"; exit 1; }

start() {
  local dir=$1
  command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local port
  if [ -f "$dir/port" ]; then
    port=$(cat "$dir/port")
  else
    port=$(node -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    echo "$port" >"$dir/port"
  fi
  # No persistence: tests own their data, and a dump on shutdown only slows a stop down.
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
  local deadline=$((SECONDS + 20))
  until redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; do
    if [ $SECONDS -ge $deadline ]; then tail -20 "$dir/redis.log" >&2 || true; die "redis-server did not answer PING within 20 s"; fi
    sleep 0.1
  done
  echo "REDIS_URL=redis://127.0.0.1:$port"
}

stop() {
  local dir=$1
  [ -f "$dir/redis.pid" ] || return 0
  eddy_stop_pid "$dir/redis.pid" 10
}

case "${1:-}" in
  start) [ -n "${2:-}" ] || die "usage: redis.sh start <dir>"; start "$2" ;;
  stop) [ -n "${2:-}" ] || die "usage: redis.sh stop <dir>"; stop "$2" ;;
  *) die "usage: redis.sh start|stop <dir>" ;;
esac
