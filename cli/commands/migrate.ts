import { createRuntime, runMigrations } from '../runtime.ts'
import type { Command } from '../command.ts'

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Create or update the ClickHouse tables, the Elasticsearch index templates and the bus topics',
  help: `Usage: eddy migrate

Applies the ClickHouse migrations in schemas/clickhouse that are not applied yet (each once, in
order; an edited applied migration stops the run), sets the raw tables' TTL to EDDY_RETENTION_DAYS,
puts the index templates of schemas/elasticsearch when ELASTICSEARCH_URL is set, and creates the
bus topics. Safe to run any number of times; \`eddy start\` runs it too.`,
  async run({ config, logger, print }) {
    const runtime = createRuntime(config, logger)
    try {
      await runMigrations(runtime)
      const bus = await runtime.bus()
      print(`ClickHouse schema up to date${config.elasticsearchUrl ? ', Elasticsearch index templates installed' : ''}; topics: ${(await bus.admin().listTopics()).join(', ')}`)
    } finally {
      await runtime.close()
    }
  },
}
