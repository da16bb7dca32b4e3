import type { FastifyInstance } from 'fastify'
import { EventPublisher } from '../ingest/publisher.ts'
import { join } from 'node:path'
import { ClickHouseCheckpointStore } from '../processors/checkpoints/clickhouse-store.ts'
import { FileCheckpointStore } from '../processors/checkpoints/file-store.ts'
import type { CheckpointStore } from '../processors/checkpoints/port.ts'
import { defaultJobs, OUTPUT_TABLES } from '../processors/jobs/index.ts'
import { OutputWriter, type OutputBinding } from '../processors/outputs.ts'
import { RAW_OUTPUT, RAW_TABLE } from '../processors/sinks/raw-rows.ts'
import { startJob, type RunningJob } from '../processors/runner.ts'
import { pipelineStatus, type ConsumerGroup } from '../processors/status.ts'
import { ClickHouseBatchWriter } from '../processors/sinks/clickhouse-batch-writer.ts'
import { runMigrations, type Runtime } from './runtime.ts'
import { buildServer } from './server.ts'

export interface Roles {
  readonly ingest: boolean
  readonly process: boolean
  readonly api: boolean
}

export interface RunningPipeline {
  readonly server: FastifyInstance
  readonly url: string
  readonly jobs: readonly RunningJob[]
  /** The consumer groups this process is a member of, for lag reports. */
  readonly groups: readonly ConsumerGroup[]
  stop(): Promise<void>
}

/**
 * Starts the parts of the pipeline a process plays. `eddy start` plays all three in one process;
 * with Kafka and a ClickHouse server each can run as its own process and scale on its own.
 */
export async function startPipeline(runtime: Runtime, roles: Roles): Promise<RunningPipeline> {
  const { config, logger } = runtime
  // Ingest alone writes only to the bus: it neither needs ClickHouse nor migrates it.
  const clickhouse = roles.process || roles.api ? await runtime.clickhouse() : undefined
  if (clickhouse) await runMigrations(runtime)
  const needsBus = roles.ingest || roles.process
  const bus = needsBus ? await runtime.bus() : undefined
  const codec = needsBus ? await runtime.codec() : undefined

  const jobs: RunningJob[] = []
  const groups: ConsumerGroup[] = []
  let writer: ClickHouseBatchWriter | undefined
  if (roles.process && bus && codec && clickhouse) {
    const database = config.clickhouse.database
    writer = new ClickHouseBatchWriter({ client: clickhouse, ...config.sink, logger: logger.child({ component: 'clickhouse-writer' }) })
    // Embedded: checkpoints beside the log in the data dir. Distributed: in ClickHouse, where
    // every processor instance finds the state of a partition that moved to it.
    const checkpoints: CheckpointStore = config.kafkaBrokers.length > 0
      ? new ClickHouseCheckpointStore(clickhouse, database)
      : new FileCheckpointStore(join(config.dataDir, 'checkpoints'))
    // The first job of each stream also stores its raw rows: one read and one decode per event.
    const rawStored = new Set<string>()
    for (const job of defaultJobs()) {
      const bindings: Record<string, OutputBinding> = { late: { kind: 'late-topic', topic: config.topics.late, stream: job.stream } }
      const storeRawRows = !rawStored.has(job.stream)
      rawStored.add(job.stream)
      if (storeRawRows) bindings[RAW_OUTPUT] = { kind: 'table', table: `${database}.${RAW_TABLE[job.stream]}` }
      for (const output of job.outputs) {
        const table = OUTPUT_TABLES[output]
        if (table) bindings[output] = { kind: 'table', table: `${database}.${table}` }
      }
      const groupId = `${config.topics.prefix}-${job.name}`
      groups.push({ group: groupId, topics: [config.topics[job.stream]] })
      jobs.push(await startJob({
        job,
        groupId,
        topic: config.topics[job.stream],
        dlqTopic: config.topics.dlq,
        bus,
        codec,
        outputs: new OutputWriter(bindings, writer, bus.producer(), codec),
        checkpoints,
        storeRawRows,
        logger: logger.child({ component: 'processor' }),
      }))
    }
  }

  // Every process serves HTTP: health always (a processors-only process too), plus ingest and
  // the api where it plays them.
  const server = await buildServer({
    logger,
    bodyLimit: config.ingest.maxRequestBytes,
    health: {
      keys: runtime.keys,
      checks: {
        ...(bus ? { bus: async () => bus.healthy() } : {}),
        ...(clickhouse ? { clickhouse: async () => (await clickhouse.ping()).success } : {}),
      },
      pipelineStatus: bus ? () => pipelineStatus(bus, groups, jobs) : undefined,
    },
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
    api: roles.api && clickhouse ? { keys: runtime.keys, clickhouse, database: config.clickhouse.database } : undefined,
  })
  const address = await server.listen({ port: config.port, host: config.host })
  const url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1')

  return {
    server,
    url,
    jobs,
    groups,
    async stop() {
      // Stop taking requests first, then drain the consumers, then flush the sink, then close stores.
      await server.close()
      await Promise.allSettled(jobs.map((job) => job.stop()))
      await writer?.close()
      await runtime.close()
    },
  }
}
