# shellcheck shell=bash
# Sourced by infra/*/<service>.sh: stops the process whose PID is in <dir>/pid file <name> with
# TERM, then KILL after <timeout> seconds, waits for it to exit and removes the file.
#   eddy_stop_pid <pidfile> <timeout seconds>
eddy_stop_pid() {
  local file=$1 timeout=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then kill -9 "$pid" 2>/dev/null || true; fi
    sleep 0.1
  done
  rm -f "$file"
}
