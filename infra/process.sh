# shellcheck shell=bash
# Sourced by infra/*/<service>.sh: the process handling every test service script shares.

# Stops the process whose PID is in <pidfile> with TERM, then KILL after <timeout> seconds, waits
# for it to exit and removes the file.
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

# Prints the PID in <pidfile> if that process is alive and its command line contains <marker>;
# the check keeps a recycled PID from being mistaken for (and killed as) the service.
#   eddy_running_pid <pidfile> <marker>
eddy_running_pid() {
  local file=$1 marker=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$marker" || return 1
  echo "$pid"
}

# Prints <count> distinct free TCP ports on 127.0.0.1. The sockets are held open together so the
# ports differ; the small race until the service binds them is accepted for a test service.
#   eddy_free_ports <count>
eddy_free_ports() {
  node -e '
    const net = require("node:net")
    const listen = () => new Promise((resolve) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => resolve(s)) })
    Promise.all(Array.from({ length: Number(process.argv[1]) }, listen)).then((servers) => {
      console.log(servers.map((s) => s.address().port).join(" "))
      servers.forEach((s) => s.close())
    })' "$1"
}

# `<service>.sh stop <dir>`: stops the service running from <dir> (found by its <pidfile>, which is
# relative to <dir>, and the <marker> in its command line) and says so through the caller's `say`.
#   eddy_stop_service <label> <dir> <pidfile> <marker> <timeout seconds>
eddy_stop_service() {
  local label=$1 dir=$2 file=$3 marker=$4 timeout=$5 pid
  [ -d "$dir" ] || { say "no such dir: $dir"; return 1; }
  dir=$(cd "$dir" && pwd)
  if ! pid=$(eddy_running_pid "$dir/$file" "${marker//\{dir\}/$dir}"); then
    rm -f "$dir/$file"
    say "no $label running from $dir"
    return 0
  fi
  eddy_stop_pid "$dir/$file" "$timeout"
  say "$label (PID $pid) stopped"
}

# Says why a service did not come up, through the caller's `say`: the ERROR lines of its log (the
# cause is usually far above the last lines), then the last lines of the log and of any other
# files given (its stdout).
#   eddy_log_tail <log file> <extended regex of an error line> [more files…]
eddy_log_tail() {
  local log=$1 pattern=$2 file
  shift 2
  say "errors in $log:"
  grep -E "$pattern" "$log" 2>/dev/null | head -n 10 >&2 || true
  for file in "$log" "$@"; do
    say "last lines of $file:"
    tail -n 20 "$file" >&2 2>/dev/null || true
  done
}
