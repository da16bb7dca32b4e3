/**
 * The embedded durable log: the default Bus adapter. Assembles the lock, topics (partitions,
 * segments, group commit), the offsets store, in-process consumer groups, retention and health.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { BusError, type Admin, type Bus, type Consumer, type ConsumerOptions, type Producer } from '../port.ts'
import { EmbeddedConsumer } from './consumer.ts'
import { closedError } from './errors.ts'
import { openFile as defaultOpenFile, type OpenFile } from './file-io.ts'
import { GroupCommit } from './group-commit.ts'
import { GroupCoordinator } from './group-coordinator.ts'
import { Health } from './health.ts'
import { acquireLock } from './lock.ts'
import { OffsetsStore } from './offsets-store.ts'
import { createProducer } from './producer.ts'
import { timerScheduler, type Scheduler } from './scheduler.ts'
import { OFFSETS_DIR, TopicRegistry } from './topics.ts'

export type { Scheduler } from './scheduler.ts'
export type { OpenFile, LogFile } from './file-io.ts'

export interface EmbeddedBusOptions {
  readonly dataDir: string
  /** Partitions of auto-created topics; 1 like Kafka's num.partitions. */
  readonly defaultPartitions?: number
  readonly logger?: Logger
  /** A segment is rolled once the next flush would take it past this size. Default 64 MiB. */
  readonly segmentBytes?: number
  /** Bytes between sparse index entries (Kafka's index.interval.bytes). Default 4 KiB. */
  readonly indexIntervalBytes?: number
  /** Upper bound of bytes read per fetch. Default 1 MiB. */
  readonly maxReadBytes?: number
  /** Default 5 min, Kafka's log.retention.check.interval.ms. */
  readonly retentionCheckIntervalMs?: number
  readonly healthProbeIntervalMs?: number
  /** First delay before a failed batch handler gets the batch again; doubles up to 30 s. */
  readonly consumerRetryBackoffMs?: number
  readonly clock?: () => number
  readonly scheduler?: Scheduler
  readonly openFile?: OpenFile
}

export interface EmbeddedBus extends Bus {
  readonly kind: 'embedded'
  /** Resolves once the log is recovered and open; rejects if that failed. */
  readonly ready: Promise<void>
  /** Applies every topic's retention now; returns how many segments were deleted. */
  runRetention(): Promise<number>
}

/**
 * Takes the data dir's lock synchronously (throws if another live process holds it), then
 * recovers the log in the background; every operation waits for that.
 */
export function createEmbeddedBus(options: EmbeddedBusOptions): EmbeddedBus {
  const logger = (options.logger ?? pino({ name: 'eddy-bus' })).child({ component: 'embedded-bus' })
  const clock = options.clock ?? Date.now
  const scheduler = options.scheduler ?? timerScheduler
  const logDir = join(options.dataDir, 'log')
  mkdirSync(logDir, { recursive: true })
  const lock = acquireLock(logDir)

  let closed = false
  let closing: Promise<void> | undefined
  const health = new Health({ logDir, scheduler, probeIntervalMs: options.healthProbeIntervalMs ?? 1_000, logger })
  const topics = new TopicRegistry({
    logDir,
    defaultPartitions: options.defaultPartitions ?? 1,
    logger,
    partition: {
      openFile: options.openFile ?? defaultOpenFile,
      logger,
      indexIntervalBytes: options.indexIntervalBytes ?? 4096,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      maxReadBytes: options.maxReadBytes ?? 1024 * 1024,
      // A frame can never be larger than a segment may grow in one flush; cap it for sanity.
      maxFrameBytes: 256 * 1024 * 1024,
    },
  })
  const groupCommit = new GroupCommit({
    clock,
    onDurable: (partition) => health.durable(partition),
    onFailed: (partition, error) => health.failed(partition, error),
  })
  const offsets = new OffsetsStore(join(logDir, OFFSETS_DIR))
  const groups = new GroupCoordinator((topic) => topics.get(topic)?.partitions.length ?? 0, logger)
  const consumers = new Set<EmbeddedConsumer>()

  const opening = (async () => {
    await offsets.init()
    await topics.load()
  })()
  let opened = false
  let openError: BusError | undefined
  const ready = opening.then(
    () => {
      opened = true
    },
    (error: unknown) => {
      openError = new BusError(`could not open the embedded log in ${logDir}`, false, 'UNAVAILABLE', { cause: error })
      logger.error({ err: error }, 'could not open the embedded log')
      lock.release()
      throw openError
    },
  )
  // Callers see the failure through ready()/operations; do not crash on an unobserved rejection.
  ready.catch(() => undefined)
  const whenReady = (): Promise<void> => (opened ? Promise.resolve() : ready)

  // Serialised: two overlapping runs could both pick the same leading segments.
  let retentionChain: Promise<number> = Promise.resolve(0)
  const runRetention = (): Promise<number> => {
    retentionChain = retentionChain.catch(() => 0).then(async () => {
      await whenReady()
      let deleted = 0
      for (const topic of topics.all()) {
        for (const partition of topic.partitions) {
          if (closing !== undefined) return deleted
          deleted += await partition.applyRetention(topic.spec, clock())
        }
      }
      return deleted
    })
    return retentionChain
  }
  const cancelRetention = scheduler.every(options.retentionCheckIntervalMs ?? 300_000, () => {
    runRetention().catch((error: unknown) => logger.error({ err: error }, 'retention failed'))
  })

  const producer = createProducer({ topics, groupCommit, ready: whenReady, isClosed: () => closed })
  const admin: Admin = {
    async ensureTopics(specs) {
      await whenReady()
      for (const spec of specs) await topics.ensure(spec)
    },
    async listTopics() {
      await whenReady()
      return topics
        .all()
        .map((topic) => topic.spec.topic)
        .sort()
    },
    async topicOffsets(name) {
      await whenReady()
      const topic = topics.get(name)
      if (topic === undefined) throw new BusError(`unknown topic ${name}`, false, 'UNKNOWN_TOPIC')
      return topic.partitions.map((partition) => ({ partition: partition.id, low: partition.low, high: partition.high }))
    },
    async committedOffsets(groupId, topic) {
      await whenReady()
      // Only partitions with a commit are listed (Kafka reports the others as -1).
      return offsets.list(groupId, topic)
    },
  }

  return {
    kind: 'embedded',
    ready,
    runRetention,
    producer: (): Producer => producer,
    consumer(consumerOptions: ConsumerOptions): Consumer {
      if (closing !== undefined) throw closedError()
      const consumer = new EmbeddedConsumer(consumerOptions, {
        topics,
        offsets,
        group: groups.group(consumerOptions.groupId),
        ready: whenReady,
        logger,
        retryBackoffMs: options.consumerRetryBackoffMs ?? 1_000,
      })
      consumers.add(consumer)
      return consumer
    },
    admin: () => admin,
    healthy: () => closing === undefined && opened && health.healthy,
    close() {
      closing ??= (async () => {
        cancelRetention()
        health.close()
        if (openError !== undefined) return
        await opening.catch(() => undefined)
        // Consumers first: their in-flight batches may still produce. Then flush what is queued.
        await Promise.all([...consumers].map((consumer) => consumer.stop()))
        closed = true
        await producer.admitted()
        await groupCommit.drain()
        await retentionChain.catch(() => 0)
        await topics.close()
        lock.release()
      })()
      return closing
    },
  }
}
