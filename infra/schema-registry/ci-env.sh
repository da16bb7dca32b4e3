# shellcheck shell=bash
# For CI (and anyone wanting the schema registry tests): `source infra/schema-registry/ci-env.sh`
# builds the registry if the cache lacks it, starts it in a temp dir, exports SCHEMA_REGISTRY_URL,
# and stops it when the sourcing shell exits (a watchdog stops it should that shell be killed).
# Needs no Kafka (in-memory storage). Returns non-zero, with the registry's log tail on stderr,
# if it cannot be started.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/service-env.sh"
eddy_service_env schema-registry "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/registry.sh" SCHEMA_REGISTRY_URL
