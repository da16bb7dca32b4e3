/** Kafka-specific behaviour on a real broker, beyond the shared contract. */
import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { describeWithService } from '../../../test/support/services.ts'
import { waitFor } from '../contract.ts'
import { partitionForKey } from '../embedded/murmur2.ts'
import { BusError, type BusRecord, type TopicPartition } from '../port.ts'
import { createKafkaBus, type KafkaBus } from './index.ts'
import { testOptions } from './test-support.ts'

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`

describeWithService('kafka', 'KAFKA_BROKERS', 'Kafka adapter on a broker', (brokers) => {
  let bus: KafkaBus
  beforeEach(() => {
    bus = createKafkaBus(testOptions(brokers))
  })
  afterEach(async () => {
    await bus.close()
  })

  it.each(['kafkajs', 'platformatic'] as const)('routes keys to the partitions the embedded log would pick (%s producer)', async (client) => {
    const producing = createKafkaBus(testOptions(brokers, { client }))
    try {
      const topic = unique('parity')
      await bus.admin().ensureTopics([{ topic, partitions: 7 }])
      const keys = Array.from({ length: 100 }, (_, i) => `session-${i * 31}`)
      const metadata = await producing.producer().send(topic, keys.map((key) => ({ key, value: Buffer.from(key) })))
      expect(metadata.map((meta) => meta.partition)).toEqual(keys.map((key) => partitionForKey(key, 7)))
      // Where the broker says they are, read back by a consumer, not only what the producer reported.
      const records: BusRecord[] = []
      const consumer = bus.consumer({ groupId: unique('parity'), topics: [topic] })
      await consumer.run(async (batch) => void records.push(...batch.records))
      await waitFor(() => records.length >= 100, '100 records')
      for (const record of records) expect(record.partition).toBe(partitionForKey(record.key!, 7))
    } finally {
      await producing.close()
    }
  })

  it('answers many concurrent single-record sends with contiguous offsets per partition', async () => {
    const topic = unique('linger')
    await bus.admin().ensureTopics([{ topic, partitions: 3 }])
    const sent = await Promise.all(Array.from({ length: 300 }, (_, i) => bus.producer().send(topic, [{ key: `k${i}`, value: Buffer.from(String(i)) }])))
    const byPartition = new Map<number, number[]>()
    for (const meta of sent.flat()) byPartition.set(meta.partition, [...(byPartition.get(meta.partition) ?? []), meta.offset])
    for (const offsets of byPartition.values()) {
      expect([...offsets].sort((a, b) => a - b)).toEqual(Array.from({ length: offsets.length }, (_, i) => i))
    }
    expect((await bus.admin().topicOffsets(topic)).reduce((sum, p) => sum + p.high, 0)).toBe(300)
  })

  it.each(['kafkajs', 'platformatic'] as const)('produces GZIP-compressed batches that read back unchanged (%s producer)', async (client) => {
    const gzipBus = createKafkaBus(testOptions(brokers, { compression: 'gzip', client }))
    try {
      const topic = unique('gzip')
      const values = Array.from({ length: 50 }, (_, i) => `value ${i} `.repeat(20))
      await gzipBus.producer().send(topic, values.map((value) => ({ key: null, value: Buffer.from(value) })))
      const records: BusRecord[] = []
      const consumer = gzipBus.consumer({ groupId: unique('gzip'), topics: [topic] })
      await consumer.run(async (batch) => void records.push(...batch.records))
      await waitFor(() => records.length >= 50, '50 records')
      expect(records.map((record) => record.value.toString())).toEqual(values)
    } finally {
      await gzipBus.close()
    }
  })

  it('creates topics once, with their retention as topic configs, and lists no internal topics', async () => {
    const topic = unique('retention')
    const spec = { topic, partitions: 2, retentionMs: 3_600_000, retentionBytes: 10_000_000 }
    await bus.admin().ensureTopics([spec])
    await bus.admin().ensureTopics([spec, { topic: unique('second'), partitions: 1 }])
    const raw = new Kafka({ clientId: 'eddy-test-inspect', brokers: [brokers], logLevel: logLevel.NOTHING }).admin()
    await raw.connect()
    try {
      const { resources } = await raw.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['retention.ms', 'retention.bytes'] }] })
      const configs = Object.fromEntries(resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]))
      expect(configs).toEqual({ 'retention.ms': '3600000', 'retention.bytes': '10000000' })
    } finally {
      await raw.disconnect()
    }
    const topics = await bus.admin().listTopics()
    expect(topics).toContain(topic)
    expect(topics.some((name) => name.startsWith('__'))).toBe(false)
    expect(await bus.admin().topicOffsets(topic)).toEqual([
      { partition: 0, low: 0, high: 0 },
      { partition: 1, low: 0, high: 0 },
    ])
    expect(await bus.admin().committedOffsets(unique('nobody'), topic)).toEqual([])
  })

  it('reports an unknown topic as UNKNOWN_TOPIC without creating it', async () => {
    const topic = unique('missing')
    const error = await bus.admin().topicOffsets(topic).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(BusError)
    expect((error as BusError).code).toBe('UNKNOWN_TOPIC')
    expect(await bus.admin().listTopics()).not.toContain(topic)
  })

  it('becomes healthy once the broker answers', async () => {
    await waitFor(() => bus.healthy(), 'healthy()', 10_000)
  })

  it('gives a failed batch to the handler again, from the same offset', async () => {
    const topic = unique('retry')
    await bus.producer().send(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })))
    const firstOffsets: number[] = []
    let attempts = 0
    const consumer = bus.consumer({ groupId: unique('retry'), topics: [topic] })
    await consumer.run(async (batch) => {
      firstOffsets.push(batch.records[0]!.offset)
      if (++attempts < 3) throw new Error('sink down')
    })
    await waitFor(() => attempts >= 3, 'three attempts')
    expect(firstOffsets.slice(0, 3)).toEqual([0, 0, 0])
  })

  it('reports a rebalance as the eager protocol does: all revoked, then the new assignment', async () => {
    const topic = unique('rebalance')
    const groupId = unique('rebalance')
    await bus.admin().ensureTopics([{ topic, partitions: 4 }])
    const events: string[] = []
    const describe = (partitions: readonly TopicPartition[]): string => partitions.map((tp) => tp.partition).sort().join(',')
    const first = bus.consumer({
      groupId,
      topics: [topic],
      rebalance: {
        onAssigned: async (partitions) => void events.push(`assigned ${describe(partitions)}`),
        onRevoked: async (partitions) => void events.push(`revoked ${describe(partitions)}`),
      },
    })
    await first.run(async () => undefined)
    expect(events).toEqual(['assigned 0,1,2,3'])
    const second = bus.consumer({ groupId, topics: [topic] })
    await second.run(async () => undefined)
    await waitFor(() => events.length >= 3, 'the rebalance to reach the first member')
    expect(events[1]).toBe('revoked 0,1,2,3')
    expect(events[2]).toBe(`assigned ${describe(first.assignment())}`)
    expect(first.assignment()).toHaveLength(2)
    await second.stop()
  })
})
