# shellcheck shell=bash
# For CI: `source infra/clickhouse/ci-env.sh` starts the ClickHouse HTTP endpoint (server.ts: chDB,
# the real engine, behind ClickHouse's HTTP protocol) in a temp dir and exports CLICKHOUSE_URL.
# Tests read it through test/support/services.ts; the processes they start get their settings
# from the test, never from this shell, so the rest keep their in-process chDB.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/service-env.sh"
eddy_service_env clickhouse "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/clickhouse.sh" CLICKHOUSE_URL
