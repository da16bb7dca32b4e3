#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker and controller in one JVM) for tests and CI,
# built from Maven Central jars because there is no Docker and no download site to rely on.
#
#   kafka.sh fetch          download the broker's jars into the cache (idempotent)
#   kafka.sh start <dir>    start a broker whose config, data, logs and PID live in <dir>;
#                           prints KAFKA_BROKERS=127.0.0.1:<port> on stdout once it serves clients
#   kafka.sh stop <dir>     stop that broker (TERM, then KILL) and wait for it to exit
#
# Settings (all optional):
#   EDDY_CACHE_DIR              cache root, default ~/.cache/eddy; jars go to kafka-<version>/libs
#   EDDY_KAFKA_VERSION          default 4.3.1 (see docs in the report / issue "Real Kafka")
#   EDDY_KAFKA_HEAP             default "-Xms128m -Xmx512m": the machine is small and shared
#   EDDY_KAFKA_START_TIMEOUT    seconds to wait for the broker to serve clients, default 90
#   EDDY_KAFKA_STOP_TIMEOUT     seconds between TERM and KILL, default 30
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../process.sh"
version=${EDDY_KAFKA_VERSION:-4.3.1}
cache=${EDDY_CACHE_DIR:-$HOME/.cache/eddy}/kafka-$version
libs=$cache/libs
heap=${EDDY_KAFKA_HEAP:--Xms128m -Xmx512m}
start_timeout=${EDDY_KAFKA_START_TIMEOUT:-90}
stop_timeout=${EDDY_KAFKA_STOP_TIMEOUT:-30}

say() { echo "kafka.sh: $*" >&2; }
die() { say "$*"; exit 1; }

fetch() {
  # A marker written last means "complete": an interrupted download is never mistaken for one.
  # It names the pom's hash, so adding a jar to the pom fetches again instead of trusting the cache.
  local marker=".complete-$(sha256sum "$here/pom.xml" | cut -c1-12)"
  if [ -f "$libs/$marker" ]; then
    say "Kafka $version jars already in $libs"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (Maven fetches the broker's jars from Maven Central)"
  mkdir -p "$cache"
  local staging
  staging=$(mktemp -d "$cache/libs.XXXXXX")
  say "fetching Kafka $version jars from Maven Central into $libs"
  local started=$SECONDS
  if ! mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$version" -DincludeScope=runtime -DoutputDirectory="$staging" >&2; then
    rm -rf "$staging"
    die "mvn could not fetch Kafka $version (is it on Maven Central? try EDDY_KAFKA_VERSION=...)"
  fi
  touch "$staging/$marker"
  # A cache from another pom is replaced. Two concurrent fetches: the first rename wins.
  if [ -d "$libs" ] && [ ! -f "$libs/$marker" ]; then rm -rf "$libs"; fi
  if ! mv -T "$staging" "$libs" 2>/dev/null; then rm -rf "$staging"; fi
  say "fetched $(ls "$libs" | wc -l) jars in $((SECONDS - started)) s"
}


# Kafka cluster ids are 16 random bytes in unpadded base64url; Kafka avoids a leading "-" so the
# id can be passed on a command line, and so do we.
cluster_id() {
  node -e '
    const { randomBytes } = require("node:crypto")
    let id
    do id = randomBytes(16).toString("base64url"); while (id.startsWith("-"))
    console.log(id)'
}

write_config() {
  local dir=$1 port=$2 controller_port=$3
  # A static voter set (controller.quorum.voters) rather than a dynamic quorum: it needs no
  # --standalone at format time and means the same on Kafka 3.9 and 4.x.
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
# One broker: every internal topic has one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Few internal partitions: creating the default 50 makes the first consumer group wait seconds.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
# Tests create groups constantly; the default 3 s delay would be added to every first join.
group.initial.rebalance.delay.ms=0
# Sized for a 2-core machine shared with other work.
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
EOF
}

# This dir's broker, if it is running (the command line names its server.properties).
running_pid() { eddy_running_pid "$1/kafka.pid" "kafka.Kafka $1/server.properties"; }

log_tail() {
  eddy_log_tail "$1/logs/server.log" '^\[[^]]*\] (ERROR|FATAL)' "$1/kafka.out"
}

start() {
  local dir=${1:?usage: kafka.sh start <dir>}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if pid=$(running_pid "$dir"); then die "a broker is already running from $dir (PID $pid)"; fi
  fetch
  command -v node >/dev/null || die "node not found (used to pick ports and probe the broker)"

  local port controller_port
  if [ -f "$dir/server.properties" ]; then
    # A restart keeps its ports, so clients configured with the old address reconnect.
    port=$(sed -n 's#^advertised.listeners=PLAINTEXT://127.0.0.1:##p' "$dir/server.properties")
    controller_port=$(sed -n 's#^controller.quorum.voters=1@127.0.0.1:##p' "$dir/server.properties")
  else
    read -r port controller_port < <(eddy_free_ports 2)
    write_config "$dir" "$port" "$controller_port"
  fi
  mkdir -p "$dir/logs"

  local java_opts=(-cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$dir/logs")
  if [ ! -f "$dir/data/meta.properties" ]; then
    java "${java_opts[@]}" -Xmx256m kafka.tools.StorageTool format \
      -t "$(cluster_id)" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 ||
      { cat "$dir/logs/format.log" >&2; die "could not format the storage in $dir/data"; }
  fi

  local cluster
  cluster=$(sed -n 's/^cluster.id=//p' "$dir/data/meta.properties")

  # SerialGC: the smallest footprint and no GC threads competing for the 2 cores; with a heap
  # this small its pauses stay short.
  # shellcheck disable=SC2086 # heap is a list of JVM flags
  nohup java $heap -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "${java_opts[@]}" kafka.Kafka "$dir/server.properties" </dev/null >"$dir/kafka.out" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/kafka.pid"

  local deadline=$((SECONDS + start_timeout)) reason="not started"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail "$dir"
      rm -f "$dir/kafka.pid"
      die "the broker exited during start-up"
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      # An open port is not enough: the broker must have registered and answer metadata.
      if reason=$(node "$here/probe.mjs" "127.0.0.1:$port" "$cluster" 2>&1); then break; fi
    else
      reason="port $port not accepting connections"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$dir"
      stop "$dir" || true
      die "the broker did not serve clients within $start_timeout s (last: $reason)"
    fi
    sleep 0.5
  done
  say "broker up (PID $pid) from $dir"
  echo "KAFKA_BROKERS=127.0.0.1:$port"
}

stop() {
  eddy_stop_service broker "${1:?usage: kafka.sh stop <dir>}" kafka.pid "kafka.Kafka {dir}/server.properties" "$stop_timeout"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: kafka.sh fetch | start <dir> | stop <dir>" ;;
esac
