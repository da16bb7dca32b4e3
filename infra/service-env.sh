# shellcheck shell=bash
# Shared by infra/*/ci-env.sh: starts a test service in a temp dir with `<script> start <dir>`,
# exports the NAME=value line the script prints, and stops the service when the sourcing shell
# exits (an EXIT trap, added to any already set) or, should that shell be SIGKILLed and never run
# its trap, once a watchdog sees it gone. Safe under `set -euo pipefail`; returns non-zero if the
# service cannot be started.
#
#   eddy_service_env <label> <script> <VARIABLE>

eddy_service_env() {
  local label=$1 script=$2 variable=$3
  local dir started
  dir=$(mktemp -d "${TMPDIR:-/tmp}/eddy-$label.XXXXXX")
  if ! started=$(bash "$script" start "$dir"); then
    echo "== could not start $label (see above); $variable stays unset" >&2
    rm -rf "$dir"
    return 1
  fi
  export "$variable=${started#"$variable"=}"
  echo "== $label at ${!variable} (from $dir)" >&2
  (
    while kill -0 "$$" 2>/dev/null; do sleep 2; done
    bash "$script" stop "$dir"
    rm -rf "$dir"
  ) </dev/null >/dev/null 2>&1 &
  local watchdog=$!
  # Keep an EXIT trap set before: run ours, then that one.
  local previous
  eval "previous=($(trap -p EXIT))"
  # shellcheck disable=SC2064 # expanded now on purpose: the values are this call's
  trap "kill $watchdog 2>/dev/null || true; bash '$script' stop '$dir' || true; rm -rf '$dir'; ${previous[2]:-}" EXIT
}
