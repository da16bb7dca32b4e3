# shellcheck shell=bash
# For CI (and anyone wanting the Redis tests): `source infra/redis/ci-env.sh` starts redis-server
# in a temp dir, exports REDIS_URL, and stops it when the sourcing shell exits (an EXIT trap, added
# to any already set). Returns non-zero if the server cannot be started.

_eddy_redis_sh="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/redis.sh"
_eddy_redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/eddy-redis.XXXXXX")

_eddy_redis_stop() {
  if [ -n "${_eddy_redis_watchdog:-}" ]; then kill "$_eddy_redis_watchdog" 2>/dev/null || true; fi
  bash "$_eddy_redis_sh" stop "$_eddy_redis_dir" || true
  rm -rf "$_eddy_redis_dir"
}

if _eddy_redis_started=$(bash "$_eddy_redis_sh" start "$_eddy_redis_dir"); then
  export REDIS_URL="${_eddy_redis_started#REDIS_URL=}"
  echo "== Redis at $REDIS_URL (from $_eddy_redis_dir)" >&2
  # redis-server daemonizes, so a SIGKILLed CI shell would leave it behind: a watchdog stops it.
  (
    while kill -0 "$$" 2>/dev/null; do sleep 2; done
    bash "$_eddy_redis_sh" stop "$_eddy_redis_dir"
    rm -rf "$_eddy_redis_dir"
  ) </dev/null >/dev/null 2>&1 &
  _eddy_redis_watchdog=$!
  eval "_eddy_redis_previous_trap=($(trap -p EXIT))"
  trap "_eddy_redis_stop; ${_eddy_redis_previous_trap[2]:-}" EXIT
else
  echo "== could not start redis-server (see above); REDIS_URL stays unset" >&2
  rm -rf "$_eddy_redis_dir"
  false
fi
