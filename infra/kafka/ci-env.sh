# shellcheck shell=bash
# For CI (and anyone wanting the Kafka tests): `source infra/kafka/ci-env.sh` fetches Kafka, starts
# a single-node broker in a temp dir, exports KAFKA_BROKERS, and stops the broker when the
# sourcing shell exits. Returns non-zero, with the broker's log tail on stderr, if the broker
# cannot be started.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/service-env.sh"
eddy_service_env kafka "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka.sh" KAFKA_BROKERS
