# shellcheck shell=bash
# For CI (and anyone wanting the Elasticsearch tests): `source infra/elasticsearch/ci-env.sh` fetches
# Elasticsearch, starts a single-node cluster in a temp dir, exports ELASTICSEARCH_URL, and stops the
# node when the sourcing shell exits. Returns non-zero, with the node's log tail on stderr, if the
# node cannot be started.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/service-env.sh"
eddy_service_env elasticsearch "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/elasticsearch.sh" ELASTICSEARCH_URL
