import { randomUUID } from 'node:crypto'
import { Producer } from '@platformatic/kafka'
import { Kafka } from 'kafkajs'
import { afterAll, expect, it } from 'vitest'
import { quietLogger } from '../../../core/bus/kafka/test-support.ts'
import { describeWithService } from '../../../test/support/services.ts'
import { createHeapStateStore } from '../../state/heap-store.ts'
import { changelogCheckpoints } from './changelog-checkpoints.ts'
import { KafkaChangelogs } from './kafka-topic.ts'
import { ChangelogClaimedError, type ChangelogRecord, type ReadRecord } from './port.ts'

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Uint8Array | null) => (value === null ? null : new TextDecoder().decode(value))

describeWithService('kafka', 'KAFKA_BROKERS', 'changelog topics on Kafka', (brokers) => {
  const options = { brokers: brokers.split(','), clientId: 'eddy-changelog-test', logger: quietLogger }
  const opened: KafkaChangelogs[] = []
  const changelogs = () => {
    const made = new KafkaChangelogs(options)
    opened.push(made)
    return made
  }
  afterAll(async () => {
    await Promise.all(opened.map((made) => made.close()))
  })

  it('create the topic compacted, and read back what was appended, tombstones and large records included', async () => {
    const name = `test.changelog.${randomUUID()}`
    const topic = changelogs().topic(name)
    await topic.ensure(3)
    await topic.ensure(3)
    const kafka = new Kafka({ brokers: options.brokers, logLevel: 0 })
    const admin = kafka.admin()
    await admin.connect()
    try {
      const described = await admin.describeConfigs({ resources: [{ type: 2, name, configNames: ['cleanup.policy'] }], includeSynonyms: false })
      expect(described.resources[0]?.configEntries[0]?.configValue).toBe('compact')
      expect((await admin.fetchTopicMetadata({ topics: [name] })).topics[0]?.partitions).toHaveLength(3)
    } finally {
      await admin.disconnect()
    }

    const large = new Uint8Array(600 * 1024).fill(7)
    const records: ChangelogRecord[] = [
      { key: 'dedup/a', value: bytes('1') },
      { key: 'paths/\u{1F600}\u0001', value: bytes('emoji') },
      { key: 'dedup/a', value: null },
      ...Array.from({ length: 3 }, (_, index) => ({ key: `big/${index}`, value: large })),
      { key: '\u0000checkpoint', value: bytes('marker') },
    ]
    // One transaction: the records, then its commit marker.
    expect(await topic.append(2, records)).toBe(records.length + 1)
    const read: ReadRecord[] = []
    // As a restore does: claimed first. That waits for the writer's last transaction to be
    // complete in the partition (its commit marker written), which a commit alone does not.
    const reader = changelogs().topic(name)
    await reader.claim(2)
    const { records: count, end } = await reader.read(2, undefined, (piece) => read.push(...piece))
    expect(count).toBe(records.length)
    expect(end).toBe(records.length + 1)
    expect(read.map((record) => record.offset)).toEqual(records.map((_, index) => index))
    // From an offset: that record and the rest.
    const tail: ChangelogRecord[] = []
    expect((await topic.read(2, 5, (piece) => tail.push(...piece))).records).toBe(records.length - 5)
    expect(tail.map((record) => record.key)).toEqual(records.slice(5).map((record) => record.key))
    expect(read.map((record) => [record.key, record.value === null ? null : record.value.byteLength])).toEqual(records.map((record) => [record.key, record.value === null ? null : record.value.byteLength]))
    expect(text(read[1]!.value)).toBe('emoji')
    expect(read[3]!.value).toEqual(large)
    expect(await topic.read(0, undefined, () => undefined)).toEqual({ records: 0, end: 0 })
  })

  it('fence an instance that lost the partition, and never read what a transaction aborted', async () => {
    const name = `test.changelog.${randomUUID()}`
    const a = changelogs().topic(name)
    const b = changelogs().topic(name)
    await a.ensure(1)
    await a.claim(0)
    await a.append(0, [{ key: 'k', value: bytes('a1') }])
    // Another writer's transaction that sends and aborts: its records are in the log, and skipped.
    const raw = new Producer<Buffer, Buffer, Buffer, Buffer>({ clientId: 'eddy-test-abort', bootstrapBrokers: options.brokers, idempotent: true, transactionalId: `${name}-aborting`, producerId: -1n, producerEpoch: -1 })
    try {
      const transaction = await raw.beginTransaction()
      await transaction.send({ messages: [{ topic: name, partition: 0, key: Buffer.from('k'), value: Buffer.from('aborted') }] })
      await transaction.abort()
    } finally {
      await raw.close()
    }
    await b.claim(0)
    await expect(a.append(0, [{ key: 'k', value: bytes('zombie') }])).rejects.toBeInstanceOf(ChangelogClaimedError)
    await b.append(0, [{ key: 'k', value: bytes('b1') }, { key: 'j', value: null }])
    const read: ReadRecord[] = []
    const reader = changelogs().topic(name)
    await reader.claim(0)
    const result = await reader.read(0, undefined, (piece) => read.push(...piece))
    expect(read.map((record) => `${record.key}=${text(record.value)}`)).toEqual(['k=a1', 'k=b1', 'j=null'])
    expect(result.records).toBe(3)
    // Offsets are the log's: the aborted record and the transaction markers take some too.
    expect(read[1]!.offset).toBeGreaterThan(read[0]!.offset + 1)
  })

  it('move a partition to another instance through the changelog', async () => {
    const name = `test.changelog.${randomUUID()}`
    const first = changelogCheckpoints({ store: createHeapStateStore(), changelog: () => changelogs().topic(name), partitions: 2 })
    await first.open('clickstream', 'eddy.clicks', 1)
    await first.stage('clickstream', 'eddy.clicks', 1, { nextOffset: 5, savedAt: 1, whole: bytes('w1'), entries: new Map([['dedup/a', bytes('1')], ['dedup/b', bytes('2')]]) }).commit()
    await first.stage('clickstream', 'eddy.clicks', 1, { nextOffset: 9, savedAt: 2, whole: bytes('w2'), entries: new Map([['dedup/a', null], ['paths/v', bytes('p')]]) }).commit()

    const second = changelogCheckpoints({ store: createHeapStateStore(), changelog: () => changelogs().topic(name), partitions: 2 })
    const moved = await second.open('clickstream', 'eddy.clicks', 1)
    expect(moved.checkpoint?.nextOffset).toBe(9)
    expect(text(moved.checkpoint!.whole)).toBe('w2')
    expect([...moved.state.range('')].filter((entry) => !entry.key.startsWith('\u0000')).map((entry) => `${entry.key}=${text(entry.value)}`)).toEqual(['dedup/b=2', 'paths/v=p'])
  })
})
