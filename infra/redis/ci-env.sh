# shellcheck shell=bash
# For CI (and anyone wanting the Redis tests): `source infra/redis/ci-env.sh` starts redis-server
# in a temp dir, exports REDIS_URL, and stops it when the sourcing shell exits (redis-server
# daemonizes, so the watchdog in service-env.sh matters here too).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/service-env.sh"
eddy_service_env redis "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/redis.sh" REDIS_URL
