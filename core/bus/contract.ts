/**
 * The Bus contract: behaviour every adapter must show, written against port.ts only so the same
 * suite runs on the embedded log and on a real Kafka broker. Names are unique per test (a broker
 * keeps topics and groups between runs) and every wait polls with a generous deadline, because a
 * broker rebalance takes seconds where the embedded log takes milliseconds.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Batch, Bus, BusRecord, Consumer, ConsumerOptions, TopicPartition } from './port.ts'

export interface BusUnderTest {
  readonly bus: Bus
  cleanup(): Promise<void>
}

const WAIT_MS = 30_000

export async function waitFor(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

function value(text: string): Buffer {
  return Buffer.from(text, 'utf8')
}

export function busContract(name: string, makeBus: () => Promise<BusUnderTest>): void {
  describe(`Bus contract: ${name}`, () => {
    let subject: BusUnderTest
    let consumers: Consumer[]

    beforeEach(async () => {
      subject = await makeBus()
      consumers = []
    })

    afterEach(async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()))
      await subject.cleanup()
    })

    function consumer(options: ConsumerOptions): Consumer {
      const created = subject.bus.consumer(options)
      consumers.push(created)
      return created
    }

    async function topic(partitions: number): Promise<string> {
      const name = uniqueName('contract')
      await subject.bus.admin().ensureTopics([{ topic: name, partitions }])
      return name
    }

    /** Runs a consumer that records every batch, optionally committing each one. */
    async function collecting(options: ConsumerOptions, commitEach = true): Promise<{ consumer: Consumer; records: BusRecord[] }> {
      const records: BusRecord[] = []
      const created = consumer(options)
      await created.run(async (batch: Batch) => {
        records.push(...batch.records)
        if (commitEach) {
          await created.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.records.at(-1)!.offset + 1 }])
        }
      })
      return { consumer: created, records }
    }

    it('keeps records of one key in one partition, in produce order', async () => {
      const name = await topic(3)
      const producer = subject.bus.producer()
      const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`)
      const sent = []
      for (let round = 0; round < 10; round++) {
        sent.push(await producer.send(name, keys.map((key) => ({ key, value: value(`${key}:${round}`) }))))
      }
      const { records } = await collecting({ groupId: uniqueName('order'), topics: [name] })
      await waitFor(() => records.length >= 120, '120 records')
      expect(records).toHaveLength(120)

      const partitionOfKey = new Map<string, number>()
      const rounds = new Map<string, number[]>()
      const inLogOrder = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)
      for (const record of inLogOrder) {
        expect(record.topic).toBe(name)
        const [key, round] = record.value.toString('utf8').split(':') as [string, string]
        expect(record.key).toBe(key)
        expect(partitionOfKey.get(key) ?? record.partition).toBe(record.partition)
        partitionOfKey.set(key, record.partition)
        rounds.set(key, [...(rounds.get(key) ?? []), Number(round)])
      }
      for (const key of keys) expect(rounds.get(key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      // Every send()'s metadata names the partition and offset the record is consumed at.
      for (const [round, metadata] of sent.entries()) {
        metadata.forEach((meta, i) => {
          expect(meta.topic).toBe(name)
          const match = records.find((record) => record.partition === meta.partition && record.offset === meta.offset)
          expect(match?.value.toString('utf8')).toBe(`${keys[i]}:${round}`)
        })
      }
    })

    it('acknowledges concurrent sends with distinct offsets', async () => {
      const name = await topic(2)
      const producer = subject.bus.producer()
      const sent = await Promise.all(
        Array.from({ length: 20 }, (_, call) =>
          producer.send(name, Array.from({ length: 25 }, (_, i) => ({ key: `k${i % 5}`, value: value(`${call}/${i}`) }))),
        ),
      )
      const positions = sent.flat().map((meta) => `${meta.partition}@${meta.offset}`)
      expect(new Set(positions).size).toBe(500)
      const offsets = await subject.bus.admin().topicOffsets(name)
      expect(offsets.reduce((sum, partition) => sum + partition.high - partition.low, 0)).toBe(500)
    })

    it('carries key, value, headers and timestamp unchanged; null keys are spread', async () => {
      const name = await topic(2)
      await subject.bus.producer().send(name, [
        { key: 'k', value: value('with headers'), headers: { trace: 'abc', 'content-type': 'avro' }, timestamp: 1_700_000_000_123 },
        ...Array.from({ length: 10 }, (_, i) => ({ key: null, value: value(`keyless ${i}`) })),
      ])
      const { records } = await collecting({ groupId: uniqueName('fields'), topics: [name] })
      await waitFor(() => records.length >= 11, '11 records')
      const withHeaders = records.find((record) => record.key === 'k')!
      expect(withHeaders.value.toString('utf8')).toBe('with headers')
      expect(withHeaders.headers).toEqual({ trace: 'abc', 'content-type': 'avro' })
      expect(withHeaders.timestamp).toBe(1_700_000_000_123)
      const keyless = records.filter((record) => record.key === null)
      expect(new Set(keyless.map((record) => record.partition)).size).toBe(2)
    })

    it('re-delivers everything after the last commit when a consumer dies without committing', async () => {
      const name = await topic(1)
      const groupId = uniqueName('crash')
      await subject.bus.producer().send(name, Array.from({ length: 20 }, (_, i) => ({ key: 'k', value: value(String(i)) })))

      const first = consumer({ groupId, topics: [name] })
      let delivered = 0
      await first.run(async (batch) => {
        if (delivered === 0) {
          // Commit only up to the 10th record: the rest is "processed" but never committed.
          const tenth = batch.records[Math.min(9, batch.records.length - 1)]!
          await first.commit([{ topic: name, partition: 0, offset: tenth.offset + 1 }])
        }
        delivered += batch.records.length
      })
      await waitFor(() => delivered >= 20, 'first consumer to see all records')
      const committed = await subject.bus.admin().committedOffsets(groupId, name)
      const resumeAt = committed.find((entry) => entry.partition === 0)!.offset
      await first.stop()

      const { records } = await collecting({ groupId, topics: [name] }, false)
      await waitFor(() => records.length >= 20 - resumeAt, 'the uncommitted records again')
      expect(records[0]!.offset).toBe(resumeAt)
      expect(records.map((record) => record.value.toString('utf8'))).toEqual(
        Array.from({ length: 20 - resumeAt }, (_, i) => String(resumeAt + i)),
      )
    })

    it('commits offsets and seeks', async () => {
      const name = await topic(1)
      const groupId = uniqueName('seek')
      await subject.bus.producer().send(name, Array.from({ length: 10 }, (_, i) => ({ key: null, value: value(String(i)) })))
      const { consumer: reader, records } = await collecting({ groupId, topics: [name] })
      await waitFor(() => records.length >= 10, 'ten records')
      await waitFor(() => reader.assignment().length === 1, 'the assignment')
      const committed = await subject.bus.admin().committedOffsets(groupId, name)
      expect(committed.find((entry) => entry.partition === 0)?.offset).toBe(records[9]!.offset + 1)

      const base = records[0]!.offset
      reader.seek({ topic: name, partition: 0, offset: base + 3 })
      await waitFor(() => records.length >= 17, 'records from the seek position again')
      expect(records.slice(10).map((record) => record.offset)).toEqual(Array.from({ length: 7 }, (_, i) => base + 3 + i))
    })

    it('delivers nothing from a paused partition until it is resumed', async () => {
      const name = await topic(2)
      const producer = subject.bus.producer()
      const { keys: keyFor, sent } = await keysForPartitions(producer, name)
      const { consumer: reader, records } = await collecting({ groupId: uniqueName('pause'), topics: [name] })
      await waitFor(() => records.length >= sent, 'the probe records')
      const paused: TopicPartition = { topic: name, partition: 0 }
      reader.pause([paused])
      await producer.send(name, [
        { key: keyFor[0]!, value: value('while paused 0') },
        { key: keyFor[1]!, value: value('while paused 1') },
      ])
      await waitFor(() => records.some((record) => record.value.toString('utf8') === 'while paused 1'), 'the unpaused partition')
      // A short, bounded wait is the only way to observe "nothing arrives".
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(records.some((record) => record.value.toString('utf8') === 'while paused 0')).toBe(false)
      reader.resume([paused])
      await waitFor(() => records.some((record) => record.value.toString('utf8') === 'while paused 0'), 'the resumed partition')
    })

    it('waits for the batch in flight before stop() resolves, and calls the rebalance listener', async () => {
      const name = await topic(1)
      const events: string[] = []
      let release!: () => void
      const blocked = new Promise<void>((resolve) => (release = resolve))
      const reader = consumer({
        groupId: uniqueName('stop'),
        topics: [name],
        rebalance: {
          onAssigned: async (partitions) => void events.push(`assigned ${partitions.length}`),
          onRevoked: async (partitions) => void events.push(`revoked ${partitions.length}`),
        },
      })
      await reader.run(async () => {
        events.push('batch started')
        await blocked
        events.push('batch finished')
      })
      await subject.bus.producer().send(name, [{ key: null, value: value('x') }])
      await waitFor(() => events.includes('batch started'), 'the batch to start')
      let stopped = false
      const stopping = reader.stop().then(() => (stopped = true))
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(stopped).toBe(false)
      release()
      await stopping
      expect(events).toEqual(['assigned 1', 'batch started', 'batch finished', 'revoked 1'])
    })

    it('splits partitions across a group of two and hands them all to the survivor', async () => {
      const name = await topic(4)
      const groupId = uniqueName('group')
      const producer = subject.bus.producer()
      const produce = async (from: number, count: number): Promise<void> => {
        await producer.send(name, Array.from({ length: count }, (_, i) => ({ key: `user-${(from + i) % 17}`, value: value(String(from + i)) })))
      }
      await produce(0, 100)
      const a = await collecting({ groupId, topics: [name] })
      const b = await collecting({ groupId, topics: [name] })
      const owned = (): TopicPartition[] => [...a.consumer.assignment(), ...b.consumer.assignment()]
      await waitFor(
        () => a.consumer.assignment().length > 0 && b.consumer.assignment().length > 0 && owned().length === 4,
        'both members to own partitions',
      )
      expect(new Set(owned().map((tp) => tp.partition)).size).toBe(4)
      await produce(100, 100)
      const seen = (): Set<string> => new Set([...a.records, ...b.records].map((record) => record.value.toString('utf8')))
      await waitFor(() => seen().size >= 200, 'all records across both members')
      expect(a.records.length).toBeGreaterThan(0)
      expect(b.records.length).toBeGreaterThan(0)

      await b.consumer.stop()
      await waitFor(() => a.consumer.assignment().length === 4, 'the survivor to own every partition')
      await produce(200, 100)
      await waitFor(() => seen().size >= 300, 'every record, none lost')
      expect([...seen()].map(Number).sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, i) => i))
    })
  })
}

/** Finds a key for each partition using only produce metadata, so the suite needs no hash of its own. */
async function keysForPartitions(
  producer: ReturnType<Bus['producer']>,
  topic: string,
): Promise<{ keys: Record<number, string>; sent: number }> {
  const keys: Record<number, string> = {}
  let sent = 0
  while (Object.keys(keys).length < 2 && sent < 100) {
    const key = `probe-${sent++}`
    const [meta] = await producer.send(topic, [{ key, value: Buffer.from('probe') }])
    keys[meta!.partition] ??= key
  }
  return { keys, sent }
}
