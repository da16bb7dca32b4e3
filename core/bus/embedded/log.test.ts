import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openBus, readAll, records, tempDir, text } from './test-support.ts'

let dir: { path: string; remove(): Promise<void> }
beforeEach(async () => {
  dir = await tempDir()
})
afterEach(async () => {
  await dir.remove()
})

const segmentFiles = async (topic: string, partition = 0): Promise<string[]> =>
  (await readdir(join(dir.path, 'log', topic, String(partition)))).filter((name) => name.endsWith('.log')).sort()

describe('embedded log on disk', () => {
  it('rolls segments by size and reads across them from any offset, also after reopening', async () => {
    let bus = await openBus(dir.path, { segmentBytes: 4096, indexIntervalBytes: 512 })
    await bus.admin().ensureTopics([{ topic: 'roll', partitions: 1 }])
    for (let i = 0; i < 20; i++) await bus.producer().send('roll', records(10, i * 10))
    const files = await segmentFiles('roll')
    expect(files.length).toBeGreaterThan(5)
    expect(files[0]).toBe('00000000000000000000.log')
    for (const file of files) expect((await stat(join(dir.path, 'log', 'roll', '0', file))).size).toBeLessThanOrEqual(4096)
    await bus.close()

    bus = await openBus(dir.path, { segmentBytes: 4096, indexIntervalBytes: 512 })
    const [all] = await readAll(bus, 'roll')
    expect(all!.map(text)).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
    // Seek into the middle of a sealed segment: served through its lazily built sparse index.
    const consumer = bus.consumer({ groupId: 'mid', topics: ['roll'], maxBatchRecords: 5 })
    consumer.seek({ topic: 'roll', partition: 0, offset: 137 })
    const seen: number[] = []
    await consumer.run(async (batch) => void seen.push(...batch.records.map((record) => record.offset)))
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(63)
    expect(seen[0]).toBe(137)
    await consumer.stop()
    await bus.close()
  })

  it('deletes old segments by size, never the active one, and moves the low offset', async () => {
    const bus = await openBus(dir.path, { segmentBytes: 2048 })
    await bus.admin().ensureTopics([{ topic: 'sized', partitions: 1, retentionBytes: 4096 }])
    for (let i = 0; i < 30; i++) await bus.producer().send('sized', records(5, i * 5))
    const before = (await segmentFiles('sized')).length
    expect(await bus.runRetention()).toBeGreaterThan(0)
    const after = await segmentFiles('sized')
    expect(after.length).toBeLessThan(before)
    const [offsets] = await bus.admin().topicOffsets('sized')
    expect(offsets!.high).toBe(150)
    expect(offsets!.low).toBe(Number(after[0]!.slice(0, 20)))
    expect(offsets!.low).toBeGreaterThan(0)
    const [kept] = await readAll(bus, 'sized')
    expect(kept![0]!.offset).toBe(offsets!.low)
    expect(kept!.at(-1)!.offset).toBe(149)
    await bus.close()
  })

  it('deletes segments whose newest record is older than retentionMs', async () => {
    let now = 1_000_000
    const bus = await openBus(dir.path, { segmentBytes: 1024, clock: () => now })
    await bus.admin().ensureTopics([{ topic: 'aged', partitions: 1, retentionMs: 60_000 }])
    for (let i = 0; i < 10; i++) await bus.producer().send('aged', records(5, i * 5))
    now += 30_000
    await bus.producer().send('aged', records(5, 50))
    expect(await bus.runRetention()).toBe(0)
    now += 40_000 // the first batches are 70 s old now, the last one 40 s
    expect(await bus.runRetention()).toBeGreaterThan(0)
    const [offsets] = await bus.admin().topicOffsets('aged')
    const [kept] = await readAll(bus, 'aged')
    expect(kept!.map(text)).toEqual(Array.from({ length: 55 - offsets!.low }, (_, i) => String(offsets!.low + i)))
    expect(kept!.every((record) => record.timestamp >= 1_000_000)).toBe(true)
    expect(offsets!.low).toBeGreaterThanOrEqual(40)
    await bus.close()
  })

  it('cuts a torn tail on reopen and keeps every earlier record', async () => {
    let bus = await openBus(dir.path)
    await bus.admin().ensureTopics([{ topic: 'torn', partitions: 1 }])
    await bus.producer().send('torn', records(10))
    await bus.close()
    const file = join(dir.path, 'log', 'torn', '0', '00000000000000000000.log')
    const intact = (await stat(file)).size

    // Half of a record the process died writing, then garbage.
    const full = await readFile(file)
    await appendFile(file, full.subarray(0, 60))
    bus = await openBus(dir.path)
    expect((await bus.admin().topicOffsets('torn'))[0]).toEqual({ partition: 0, low: 0, high: 10 })
    expect((await stat(file)).size).toBe(intact)
    await bus.close()

    await appendFile(file, Buffer.from('\u0000\u0000\u0001\u0000garbage that is not a frame'))
    bus = await openBus(dir.path)
    const [offsets] = await bus.admin().topicOffsets('torn')
    expect(offsets!.high).toBe(10)
    await bus.producer().send('torn', records(5, 10))
    const [all] = await readAll(bus, 'torn')
    expect(all!.map(text)).toEqual(Array.from({ length: 15 }, (_, i) => String(i)))
    await bus.close()
  })

  it('cuts a record whose bytes were damaged, and everything after it', async () => {
    let bus = await openBus(dir.path)
    await bus.producer().send('damaged', records(10))
    await bus.close()
    const file = join(dir.path, 'log', 'damaged', '0', '00000000000000000000.log')
    const size = (await stat(file)).size
    await truncate(file, size - 3)
    const bytes = await readFile(file)
    bytes[Math.floor(size / 2)]! ^= 0xff
    await writeFile(file, bytes)
    bus = await openBus(dir.path)
    const [all] = await readAll(bus, 'damaged')
    const high = (await bus.admin().topicOffsets('damaged'))[0]!.high
    expect(high).toBeLessThan(10)
    expect(all!.map(text)).toEqual(Array.from({ length: high }, (_, i) => String(i)))
    await bus.close()
  })

  it('keeps committed offsets and topic metadata across close and reopen', async () => {
    let bus = await openBus(dir.path)
    await bus.admin().ensureTopics([{ topic: 'kept', partitions: 3, retentionMs: 1_000_000 }])
    await bus.producer().send('kept', records(30, 0, (i) => `k${i}`))
    const consumer = bus.consumer({ groupId: 'g', topics: ['kept'] })
    await consumer.run(async (batch) => {
      await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.records.at(-1)!.offset + 1 }])
    })
    const highs = (await bus.admin().topicOffsets('kept')).map((partition) => partition.high)
    await expect
      .poll(async () => (await bus.admin().committedOffsets('g', 'kept')).map((entry) => entry.offset), { timeout: 5_000 })
      .toEqual(highs)
    await bus.close()
    expect(JSON.parse(await readFile(join(dir.path, 'log', 'kept', 'topic.json'), 'utf8'))).toEqual({
      topic: 'kept',
      partitions: 3,
      retentionMs: 1_000_000,
    })

    bus = await openBus(dir.path)
    expect(await bus.admin().listTopics()).toEqual(['kept'])
    expect((await bus.admin().committedOffsets('g', 'kept')).map((entry) => entry.offset)).toEqual(highs)
    await bus.producer().send('kept', [{ key: 'k1', value: Buffer.from('after reopen') }])
    const again = bus.consumer({ groupId: 'g', topics: ['kept'] })
    const seen: string[] = []
    await again.run(async (batch) => void seen.push(...batch.records.map((record) => record.value.toString())))
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual(['after reopen'])
    await bus.close()
  })

  it('auto-creates unknown topics with the default partition count', async () => {
    const bus = await openBus(dir.path, { defaultPartitions: 4 })
    await bus.producer().send('auto', records(1))
    expect((await bus.admin().topicOffsets('auto')).map((partition) => partition.partition)).toEqual([0, 1, 2, 3])
    await expect(bus.admin().topicOffsets('missing')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' })
    await expect(bus.producer().send('bad/name', records(1))).rejects.toMatchObject({ code: 'INVALID' })
    await bus.close()
    await expect(bus.producer().send('auto', records(1))).rejects.toMatchObject({ code: 'CLOSED' })
  })
})
