import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { handOver } from '../../test/support/job-events.ts'
import { modelEvents } from '../../test/support/model-events.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import { createLmdbStateStore } from '../state/lmdb-store.ts'
import type { PartitionStateStore, StateStore } from '../state/store.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import type { JobTask, OutputRows } from '../job.ts'
import { clickstreamJob } from './clickstream.ts'
import { logsJob } from './logs.ts'
import { notificationsJob } from './notifications.ts'

/**
 * Pins every row each job emits on a stretch of the traffic model (batches, processing-time ticks,
 * a checkpoint restored halfway), so a refactoring of how jobs are wired cannot change what reaches
 * the tables or the late topic. A deliberate change of a job's results updates these digests.
 */
const T0 = Date.parse('2026-11-22T10:00:00Z')
const SPAN = 20 * 60_000
const BATCHES = 12
/** Outputs this stretch of traffic has no event for: late or refused events, an error-rate anomaly. */
const RARE_OUTPUTS = new Set(['late', 'log_anomalies'])

function outputDigest<In>(job: { name: string; outputs: readonly string[]; createTask(partition: number, state?: PartitionStateStore): JobTask<In> }, events: readonly In[], store: StateStore = createHeapStateStore(), checkpointEveryBatch = false): string {
  const hash = createHash('sha256')
  let emitted = 0
  const named = new Set<string>()
  const record = (outputs: OutputRows) => {
    for (const [name, rows] of Object.entries(outputs)) {
      emitted += rows.length
      if (rows.length > 0) named.add(name)
    }
    for (const name of Object.keys(outputs).sort()) hash.update(`${name}\n${JSON.stringify(outputs[name])}\n`)
  }
  const state = store.partition(job.name, 0)
  let task = job.createTask(0, state)
  const size = Math.ceil(events.length / BATCHES)
  for (let batch = 0; batch < BATCHES; batch++) {
    const now = T0 + batch * (SPAN / BATCHES) + 90_000
    record(task.process(events.slice(batch * size, (batch + 1) * size), now))
    record(task.onProcessingTime(now + 500))
    if (checkpointEveryBatch) handOver(task, state)
    if (batch === BATCHES / 2) {
      const whole = handOver(task, state)
      const restored = job.createTask(0, state)
      expect(restored.restore(whole)).toEqual({ ok: true })
      task = restored
    }
  }
  // Far enough on that every window, session and timer fires.
  record(task.onProcessingTime(T0 + SPAN + 86_400_000))
  expect(emitted).toBeGreaterThan(events.length / 10)
  // The topology declares what the task emits: nothing else, and all of it but what needs rare events.
  for (const name of named) expect(job.outputs).toContain(name)
  for (const name of job.outputs) if (!RARE_OUTPUTS.has(name)) expect(named).toContain(name)
  return hash.digest('hex')
}

describe('job outputs on the traffic model', () => {
  const { clicks, logs, notifications } = modelEvents({ seed: 11, events: 6_000, startMs: T0, spanMs: SPAN })
  // Digests of the rows written by 9973fea, before jobs were declared as topologies and before the
  // deduplicator's ids moved to the state store (until then the digests also took in the stats,
  // whose state sizes changed with it).
  it('clickstream emits the pinned rows', () => {
    expect(outputDigest(clickstreamJob(), clicks)).toBe('834a7499dd90ef164be7945e15d63f97b3a820e33d99c77de3b0d34fd0d4fb2c')
  })
  it('logs emits the pinned rows', () => {
    expect(outputDigest(logsJob(), logs)).toBe('7a0f80511a152c069fa4cf2dbc2261d41e0898214d07b6931f64a8d26cc3b091')
  })
  it('gives the same rows on the disk store as on the heap store', async () => {
    const directory = temporaryDirectory('digest-lmdb')
    const store = createLmdbStateStore({ path: directory.path })
    try {
      expect(outputDigest(clickstreamJob(), clicks, store)).toBe(outputDigest(clickstreamJob(), clicks))
      expect(outputDigest(logsJob(), logs, store)).toBe(outputDigest(logsJob(), logs))
      expect(outputDigest(notificationsJob(), notifications, store)).toBe(outputDigest(notificationsJob(), notifications))
    } finally {
      await store.close()
      directory.remove()
    }
  })
  // A cache of 1 KB holds a handful of keys: nearly every visitor path and lifecycle is read back
  // from the store at each batch, and with a checkpoint per batch their timers fire from its index.
  it('gives the same rows with a cache far smaller than the state, checkpointing every batch', async () => {
    const directory = temporaryDirectory('digest-small-cache')
    const disk = createLmdbStateStore({ path: directory.path, cacheBytes: 1_024 })
    try {
      const runs: Array<(store?: StateStore, checkpointEveryBatch?: boolean) => string> = [
        (store, every) => outputDigest(clickstreamJob(), clicks, store, every),
        (store, every) => outputDigest(logsJob(), logs, store, every),
        (store, every) => outputDigest(notificationsJob(), notifications, store, every),
      ]
      for (const run of runs) {
        const expected = run()
        expect(run(createHeapStateStore({ cacheBytes: 1_024 }), true)).toBe(expected)
        expect(run(disk, true)).toBe(expected)
      }
    } finally {
      await disk.close()
      directory.remove()
    }
  })
  it('notifications emits the pinned rows', () => {
    expect(outputDigest(notificationsJob(), notifications)).toBe('00c9ae5b0fb4c7b347af06e5a37e284ca2ed0ad734c4991fa9ec06c5bbd3740a')
  })
})
