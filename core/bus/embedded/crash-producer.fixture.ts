/**
 * Child process of crash.test.ts: produces numbered records from concurrent callers forever and
 * prints one line per acknowledged record — `ack <partition> <offset> <id>` — until it is killed.
 * Usage: node --import tsx crash-producer.fixture.ts <dataDir> <run>
 */
import { pino } from 'pino'
import { createEmbeddedBus } from './index.ts'

const [dataDir, run] = process.argv.slice(2)
if (dataDir === undefined || run === undefined) throw new Error('usage: crash-producer.fixture.ts <dataDir> <run>')

const bus = createEmbeddedBus({ dataDir, logger: pino({ level: 'warn' }, process.stderr), segmentBytes: 64 * 1024 })
await bus.admin().ensureTopics([{ topic: 'crash', partitions: 3 }])
process.stdout.write('ready\n')

const padding = 'x'.repeat(150)
async function worker(id: number): Promise<never> {
  for (let seq = 0; ; seq += 20) {
    const records = Array.from({ length: 20 }, (_, i) => ({
      key: `w${id}-${(seq + i) % 5}`,
      value: Buffer.from(`${run}:${id}:${seq + i}:${padding}`),
    }))
    const metadata = await bus.producer().send('crash', records)
    // A pipe write is synchronous on Linux: once written, the parent gets the line even if killed.
    process.stdout.write(metadata.map((meta, i) => `ack ${meta.partition} ${meta.offset} ${run}:${id}:${seq + i}\n`).join(''))
  }
}
await Promise.all(Array.from({ length: 8 }, (_, id) => worker(id)))
