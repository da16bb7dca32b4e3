import type { FastifyInstance } from 'fastify'
import type { Consumer } from '../core/bus/port.ts'
import { EventPublisher } from '../ingest/publisher.ts'
import { startRawEvents } from '../processors/raw-events.ts'
import { ClickHouseBatchWriter } from '../processors/sinks/clickhouse-batch-writer.ts'
import { runMigrations, type Runtime } from './runtime.ts'
import { buildServer } from './server.ts'

export interface Roles {
  readonly ingest: boolean
  readonly process: boolean
  readonly api: boolean
}

export interface RunningPipeline {
  readonly server?: FastifyInstance
  readonly url?: string
  stop(): Promise<void>
}

/**
 * Starts the parts of the pipeline a process plays. `eddy start` plays all three in one process;
 * with Kafka and a ClickHouse server each can run as its own process and scale on its own.
 */
export async function startPipeline(runtime: Runtime, roles: Roles): Promise<RunningPipeline> {
  const { config, logger } = runtime
  const clickhouse = await runtime.clickhouse()
  await runMigrations(runtime)
  const needsBus = roles.ingest || roles.process
  const bus = needsBus ? await runtime.bus() : undefined
  const codec = needsBus ? await runtime.codec() : undefined

  const consumers: Consumer[] = []
  let writer: ClickHouseBatchWriter | undefined
  if (roles.process && bus && codec) {
    writer = new ClickHouseBatchWriter({ client: clickhouse, ...config.sink, logger: logger.child({ component: 'clickhouse-writer' }) })
    consumers.push(await startRawEvents({ bus, codec, writer, topics: config.topics, database: config.clickhouse.database, logger: logger.child({ component: 'raw-events' }) }))
  }

  let server: FastifyInstance | undefined
  let url: string | undefined
  if (roles.ingest || roles.api) {
    server = await buildServer({
      logger,
      bodyLimit: config.ingest.maxRequestBytes,
      ingest: roles.ingest && bus && codec
        ? {
            config,
            keys: runtime.keys,
            logger,
            publisher: new EventPublisher({
              producer: bus.producer(),
              codec,
              topics: config.topics,
              timeoutMs: config.ingest.produceTimeoutMs,
              busHealthy: () => bus.healthy(),
            }),
          }
        : undefined,
      api: roles.api
        ? {
            keys: runtime.keys,
            clickhouse,
            database: config.clickhouse.database,
            checks: {
              ...(bus ? { bus: async () => bus.healthy() } : {}),
              clickhouse: async () => (await clickhouse.ping()).success,
            },
          }
        : undefined,
    })
    const address = await server.listen({ port: config.port, host: config.host })
    url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1')
  }

  return {
    server,
    url,
    async stop() {
      // Stop taking requests first, then drain the consumers, then flush the sink, then close stores.
      await server?.close()
      await Promise.allSettled(consumers.map((consumer) => consumer.stop()))
      await writer?.close()
      await runtime.close()
    },
  }
}
