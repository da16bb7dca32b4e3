/** Helpers shared by the embedded log's tests (not a test file itself). */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { waitFor } from '../contract.ts'
import type { Bus, BusRecord } from '../port.ts'
import { createEmbeddedBus, type EmbeddedBus, type EmbeddedBusOptions } from './index.ts'

export const silent = pino({ level: 'silent' })

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'eddy-bus-'))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

export async function openBus(dataDir: string, options: Partial<EmbeddedBusOptions> = {}): Promise<EmbeddedBus> {
  const bus = createEmbeddedBus({ logger: silent, ...options, dataDir })
  await bus.ready
  return bus
}

export function records(count: number, from = 0, key: (i: number) => string | null = () => null, size = 100) {
  return Array.from({ length: count }, (_, i) => ({
    key: key(from + i),
    value: Buffer.from(String(from + i).padEnd(size, '.')),
  }))
}

/** Every retained record of a topic, per partition in offset order, read through a consumer. */
export async function readAll(bus: Bus, topic: string): Promise<BusRecord[][]> {
  const offsets = await bus.admin().topicOffsets(topic)
  const result: BusRecord[][] = offsets.map(() => [])
  const consumer = bus.consumer({ groupId: `read-all-${Math.random()}`, topics: [topic], maxBatchRecords: 1000 })
  await consumer.run(async (batch) => void result[batch.partition]!.push(...batch.records))
  await waitFor(
    () => offsets.every(({ partition, low, high }) => low === high || (result[partition]!.at(-1)?.offset ?? -1) >= high - 1),
    'all records',
    10_000,
  )
  await consumer.stop()
  return result
}

export function text(record: BusRecord): string {
  return record.value.toString('utf8').replace(/\.+$/, '')
}
