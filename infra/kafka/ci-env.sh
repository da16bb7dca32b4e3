# shellcheck shell=bash
# For CI (and anyone wanting the Kafka tests): `source infra/kafka/ci-env.sh` fetches Kafka, starts
# a single-node broker in a temp dir, exports KAFKA_BROKERS, and stops the broker when the
# sourcing shell exits (an EXIT trap, added to any already set). Safe under `set -euo pipefail`.
# Returns non-zero, with the broker's log tail on stderr, if the broker cannot be started.

_eddy_kafka_sh="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka.sh"
_eddy_kafka_dir=$(mktemp -d "${TMPDIR:-/tmp}/eddy-kafka.XXXXXX")

_eddy_kafka_stop() {
  if [ -n "${_eddy_kafka_watchdog:-}" ]; then kill "$_eddy_kafka_watchdog" 2>/dev/null || true; fi
  bash "$_eddy_kafka_sh" stop "$_eddy_kafka_dir" || true
  rm -rf "$_eddy_kafka_dir"
}

if _eddy_kafka_started=$(bash "$_eddy_kafka_sh" start "$_eddy_kafka_dir"); then
  export KAFKA_BROKERS="${_eddy_kafka_started#KAFKA_BROKERS=}"
  echo "== Kafka broker at $KAFKA_BROKERS (from $_eddy_kafka_dir)" >&2
  # If this shell dies without running its EXIT trap (SIGKILL), no JVM is left behind: a
  # watchdog stops the broker once the shell is gone.
  (
    while kill -0 "$$" 2>/dev/null; do sleep 2; done
    bash "$_eddy_kafka_sh" stop "$_eddy_kafka_dir"
    rm -rf "$_eddy_kafka_dir"
  ) </dev/null >/dev/null 2>&1 &
  _eddy_kafka_watchdog=$!
  # Keep an EXIT trap set before this file was sourced: run ours, then that one.
  eval "_eddy_kafka_previous_trap=($(trap -p EXIT))"
  trap "_eddy_kafka_stop; ${_eddy_kafka_previous_trap[2]:-}" EXIT
else
  echo "== could not start a Kafka broker (see above); KAFKA_BROKERS stays unset" >&2
  rm -rf "$_eddy_kafka_dir"
  false
fi
