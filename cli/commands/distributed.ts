import { startPipeline, type Roles } from '../pipeline.ts'
import { createRuntime } from '../runtime.ts'
import { untilSignal, type Command } from '../command.ts'

const EMBEDDED_LOG_IS_SINGLE_PROCESS = 'the embedded log belongs to the one process that runs `eddy start`, so separate processes need a shared bus'
const EMBEDDED_CLICKHOUSE_IS_SINGLE_PROCESS = 'the embedded ClickHouse engine lives inside one process, so a separate api needs a ClickHouse server'

function serviceCommand(name: 'ingest' | 'process' | 'api', summary: string, roles: Roles, details: string): Command {
  return {
    name,
    summary,
    help: `Usage: eddy ${name}

${details}`,
    async run({ config, logger, print }) {
      if ((roles.ingest || roles.process) && config.kafkaBrokers.length === 0) {
        throw new Error(`eddy ${name} needs KAFKA_BROKERS: ${EMBEDDED_LOG_IS_SINGLE_PROCESS}. Use \`eddy start\` for a single process.`)
      }
      if ((roles.process || roles.api) && !config.clickhouse.url) {
        throw new Error(`eddy ${name} needs CLICKHOUSE_URL: ${EMBEDDED_CLICKHOUSE_IS_SINGLE_PROCESS}. Use \`eddy start\` for a single process.`)
      }
      const runtime = createRuntime(config, logger)
      const pipeline = await startPipeline(runtime, roles)
      print(`eddy ${name} listening on ${pipeline.url}`)
      logger.info({ signal: await untilSignal() }, 'shutting down')
      await pipeline.stop()
    },
  }
}

export const ingestCommand = serviceCommand('ingest', 'Run only the HTTP collector (needs Kafka)', { ingest: true, process: false, api: false },
  'Runs the HTTP collector, producing to Kafka (KAFKA_BROKERS). Scale it horizontally behind a load balancer.')
export const processCommand = serviceCommand('process', 'Run only the processors (needs Kafka and ClickHouse)', { ingest: false, process: true, api: false },
  'Runs the processors as one member of their consumer groups (KAFKA_BROKERS), writing to CLICKHOUSE_URL.\nStart several to split the partitions.')
export const apiCommand = serviceCommand('api', 'Run only the query api (needs a ClickHouse server)', { ingest: false, process: false, api: true },
  'Runs the REST api against CLICKHOUSE_URL. Scale it horizontally behind a load balancer.')
