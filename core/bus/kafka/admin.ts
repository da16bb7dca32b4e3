/**
 * The port's Admin on a kafkajs admin client (connected on first use). Topics are created with
 * their retention as topic configs; Kafka's internal topics (`__consumer_offsets`, ...) are left
 * out of listTopics, as the embedded log has none.
 */
import type { Admin as KafkajsAdmin, Kafka } from 'kafkajs'
import { BusError, type Admin } from '../port.ts'
import { retry } from '../../retry.ts'
import { toBusError } from './errors.ts'

export interface AdminDeps {
  readonly kafka: Kafka
  /** undefined: min(3, brokers in the cluster), so one broker in tests and three in production both work. */
  readonly replicationFactor: number | undefined
}

export interface KafkaAdmin extends Admin {
  close(): Promise<void>
}

export function createAdmin({ kafka, replicationFactor }: AdminDeps): KafkaAdmin {
  let connected: Promise<KafkajsAdmin> | undefined
  const client = (): Promise<KafkajsAdmin> => {
    if (connected === undefined) {
      const admin = kafka.admin()
      const connecting = admin.connect().then(() => admin)
      connected = connecting
      connecting.catch(() => {
        if (connected === connecting) connected = undefined
      })
    }
    return connected
  }
  // A leader that just moved or a coordinator still loading passes within moments (typically right
  // after a topic is created): try again briefly. An unreachable cluster is not retried here;
  // kafkajs has spent its own retries on that already, and health checks must answer quickly.
  const call = <T>(what: string, operation: (admin: KafkajsAdmin) => Promise<T>): Promise<T> =>
    retry(async () => {
      try {
        return await operation(await client())
      } catch (error) {
        throw toBusError(error, what)
      }
    }, {
      attempts: 4,
      minDelayMs: 100,
      maxDelayMs: 800,
      retriable: (error) => error instanceof BusError && error.retriable && error.code !== 'UNAVAILABLE',
    })

  return {
    async ensureTopics(specs) {
      if (specs.length === 0) return
      for (const spec of specs) {
        if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
          throw new BusError(`topic ${spec.topic} needs at least one partition`, false, 'INVALID')
        }
      }
      await call('could not create topics', async (admin) => {
        const replicas = replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length)
        await admin.createTopics({
          waitForLeaders: true,
          topics: specs.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: replicas,
            configEntries: [
              ...(spec.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(spec.retentionMs) }]),
              ...(spec.retentionBytes === undefined ? [] : [{ name: 'retention.bytes', value: String(spec.retentionBytes) }]),
            ],
          })),
        })
      })
    },
    async listTopics() {
      const topics = await call('could not list topics', (admin) => admin.listTopics())
      return topics.filter((topic) => !topic.startsWith('__')).sort()
    },
    async topicOffsets(topic) {
      const offsets = await call(`could not read the offsets of ${topic}`, (admin) => admin.fetchTopicOffsets(topic))
      return offsets
        .map((entry) => ({ partition: entry.partition, low: Number(entry.low), high: Number(entry.high) }))
        .sort((a, b) => a.partition - b.partition)
    },
    async committedOffsets(groupId, topic) {
      const [entry] = await call(`could not read the committed offsets of ${groupId}`, (admin) => admin.fetchOffsets({ groupId, topics: [topic] }))
      // Kafka reports partitions without a commit as -1; the port lists only committed ones.
      return (entry?.partitions ?? [])
        .filter((partition) => Number(partition.offset) >= 0)
        .map((partition) => ({ topic, partition: partition.partition, offset: Number(partition.offset) }))
        .sort((a, b) => a.partition - b.partition)
    },
    async close() {
      const current = connected
      connected = undefined
      await current?.then((admin) => admin.disconnect()).catch(() => undefined)
    },
  }
}
