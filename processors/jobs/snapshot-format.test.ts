import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { modelEvents } from '../../test/support/model-events.ts'
import type { JobTask } from '../job.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'
import { compareCodePoints } from '../state/key-order.ts'
import { clickstreamJob } from './clickstream.ts'
import { logsJob } from './logs.ts'
import { notificationsJob } from './notifications.ts'

/**
 * Checkpoints outlive the process that wrote them: a new release restores the snapshots of the old
 * one. These digests pin the snapshot bytes of each job after a fixed stretch of the traffic model,
 * so a change to how state is written that would make old checkpoints unreadable (or read them
 * differently) fails here. A deliberate format change bumps the format version and these digests.
 * Since the state store, a checkpoint is the parts kept whole and the entries it writes to the store
 * (the deduplicator's ids, visitor paths, lifecycles and their timers), so the digests take in both.
 */
const T0 = Date.parse('2026-11-22T10:00:00Z')
const SPAN = 10 * 60_000

/** A task's figures but the heap estimates and the cache's lookups: those follow what it happened to cache, not what it knows. */
const known = (stats: Record<string, number>) => Object.fromEntries(Object.entries(stats).filter(([figure]) => figure !== 'stateBytes' && !figure.startsWith('cache')))

/** Half the events in four batches, processing time a second apart: open windows, sessions, timers. */
function firstHalf<In>(task: { process(events: readonly In[], nowMs: number): unknown }, events: readonly In[]): void {
  const half = events.slice(0, events.length >> 1)
  const size = Math.ceil(half.length / 4)
  for (let batch = 0; batch < 4; batch++) task.process(half.slice(batch * size, (batch + 1) * size), T0 + SPAN / 2 + batch * 1_000)
}

/** A checkpoint's bytes: the parts kept whole, then the state store entries it writes, in key order. */
function digest<In>(job: { createTask(partition: number): JobTask<In> }, events: readonly In[]): string {
  const task = job.createTask(0)
  firstHalf(task, events)
  const entries = new Map<string, Uint8Array | null>()
  task.changes(entries)
  const hash = createHash('sha256').update(task.snapshot())
  for (const key of [...entries.keys()].sort(compareCodePoints)) hash.update(`\n${key}\n`).update(entries.get(key) ?? 'deleted')
  return hash.digest('hex')
}

describe('snapshot format', () => {
  const { clicks, logs, notifications } = modelEvents({ seed: 5, events: 3_000, startMs: T0, spanMs: SPAN })

  it('writes the clickstream state in the pinned format', () => {
    expect(digest(clickstreamJob(), clicks)).toBe('a0edc5533dd87bb228e3d703e0f144f9d2de1cc8ae30c34aeb80b63dbbe0f83e')
  })

  /**
   * Restores a checkpoint written by older code after firstHalf(), then runs the rest of the traffic
   * and one click two hours on (the watermark passes every visitor's inactivity gap, so every expire
   * timer fires and every visitor path is let go): every output and stat must be as if never stopped.
   */
  function continuesAsIfNeverStopped(fixture: string) {
    const checkpoint = gunzipSync(readFileSync(new URL(`./fixtures/${fixture}`, import.meta.url)))
    const never = clickstreamJob().createTask(0)
    firstHalf(never, clicks)
    const restored = clickstreamJob().createTask(0)
    expect(restored.restore(checkpoint)).toEqual({ ok: true })
    const rest = clicks.slice(clicks.length >> 1)
    const later = { ...clicks.at(-1)!, type: 'pageview' as const, event_id: 'later', anonymous_id: 'later-visitor', ts: clicks.at(-1)!.ts + 2 * 3_600_000 }
    const batches = [rest.slice(0, rest.length >> 1), rest.slice(rest.length >> 1), [later]]
    batches.forEach((batch, index) => {
      const now = T0 + SPAN + index * 1_000
      expect(restored.process(batch, now)).toEqual(never.process(batch, now))
      if (index === 1) expect(restored.stats().trackedVisitors).toBeGreaterThan(100)
    })
    expect(known(restored.stats())).toEqual(known(never.stats()))
    expect(restored.stats().trackedVisitors).toBe(1)
  }

  it('continues a clickstream checkpoint written before visitor paths kept one expire timer as if never stopped', () => {
    // Written by the code of 2026-12-04 (5321a58): one 'expire' timer per page, no expireAt in the
    // state, and the per-minute breakdown one window state per (project, dimension, value).
    continuesAsIfNeverStopped('clickstream-before-expire-rearm.snapshot.gz')
  })

  it('continues a clickstream checkpoint written before the breakdown was one state per project as if never stopped', () => {
    // Written by the code of 2026-12-04 (f13e02c): the breakdown one window state per (project,
    // dimension, value), regrouped on restore into one per project.
    continuesAsIfNeverStopped('clickstream-before-breakdown-per-project.snapshot.gz')
    const checkpoint = gunzipSync(readFileSync(new URL('./fixtures/clickstream-before-breakdown-per-project.snapshot.gz', import.meta.url)))
    const never = clickstreamJob().createTask(0)
    firstHalf(never, clicks)
    const restored = clickstreamJob().createTask(0)
    restored.restore(checkpoint)
    // Nothing else changed since, so the regrouped checkpoint is exactly what the new code writes.
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(never.snapshot()))).toBe(true)
  })

  /** The second half of the traffic and a later tick: the restored task must give what the one never stopped gives. */
  function restOfTheTraffic<In>(restored: JobTask<In>, never: JobTask<In>, events: readonly In[]) {
    const rest = events.slice(events.length >> 1)
    const batches = [rest.slice(0, rest.length >> 1), rest.slice(rest.length >> 1)]
    batches.forEach((batch, index) => {
      const now = T0 + SPAN + index * 1_000
      expect(restored.process(batch, now)).toEqual(never.process(batch, now))
    })
    expect(restored.onProcessingTime(T0 + 3 * SPAN)).toEqual(never.onProcessingTime(T0 + 3 * SPAN))
  }

  /** An older checkpoint continues as if never stopped, and then writes what the new code writes. */
  function continuesToTheSameBytes<In>(job: { createTask(partition: number): JobTask<In> }, events: readonly In[], fixture: string) {
    const checkpoint = gunzipSync(readFileSync(new URL(`./fixtures/${fixture}`, import.meta.url)))
    const never = job.createTask(0)
    firstHalf(never, events)
    const restored = job.createTask(0)
    expect(restored.restore(checkpoint)).toEqual({ ok: true })
    restOfTheTraffic(restored, never, events)
    // stateBytes of keyed state is estimated from a sample of the cached states, and a restore
    // rebuilds them in another order; every count must match exactly.
    const { stateBytes: restoredBytes } = restored.stats()
    const { stateBytes: neverBytes } = never.stats()
    expect(known(restored.stats())).toEqual(known(never.stats()))
    expect(Math.abs(restoredBytes! - neverBytes!) / neverBytes!).toBeLessThan(0.1)
    // Nothing but the framing or format number changed, so the restored state writes what the new code writes.
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(never.snapshot()))).toBe(true)
  }

  it('continues checkpoints whose parts were positional (9973fea) as if never stopped', () => {
    continuesAsIfNeverStopped('clickstream-positional-parts.snapshot.gz')
    continuesToTheSameBytes(clickstreamJob(), clicks, 'clickstream-positional-parts.snapshot.gz')
    continuesToTheSameBytes(logsJob(), logs, 'logs-positional-parts.snapshot.gz')
    continuesToTheSameBytes(notificationsJob(), notifications, 'notifications-positional-parts.snapshot.gz')
  })

  /**
   * A checkpoint since the state store: the parts kept whole and the entries it wrote (fixture:
   * JSON, base64 values). Restored into a store holding those entries, the task continues as if
   * never stopped, and its next checkpoint writes the parts the new code writes.
   */
  function continuesFromCheckpoint<In>(job: { name: string; createTask(partition: number, state?: PartitionStateStore): JobTask<In> }, events: readonly In[], fixture: string) {
    const saved = JSON.parse(gunzipSync(readFileSync(new URL(`./fixtures/${fixture}`, import.meta.url))).toString()) as { whole: string; entries: [string, string | null][] }
    const whole = new Uint8Array(Buffer.from(saved.whole, 'base64'))
    const state = createHeapStateStore().partition(job.name, 0)
    void state.commit({ nextOffset: 0, savedAt: 0, whole, entries: new Map(saved.entries.map(([key, value]) => [key, value === null ? null : new Uint8Array(Buffer.from(value, 'base64'))])) })
    const never = job.createTask(0)
    firstHalf(never, events)
    const restored = job.createTask(0, state)
    expect(restored.restore(whole)).toEqual({ ok: true })
    restOfTheTraffic(restored, never, events)
    expect(known(restored.stats())).toEqual(known(never.stats()))
    const checkpointOf = (task: JobTask<In>) => {
      task.changes(new Map())
      return Buffer.from(task.snapshot())
    }
    expect(checkpointOf(restored).equals(checkpointOf(never))).toBe(true)
  }

  it('continues checkpoints written before idle sessions moved to the store (2c4e618, operator format 2) as if never stopped', () => {
    continuesFromCheckpoint(clickstreamJob(), clicks, 'clickstream-before-stored-sessions.checkpoint.json.gz')
    continuesFromCheckpoint(logsJob(), logs, 'logs-before-stored-sessions.checkpoint.json.gz')
    continuesFromCheckpoint(notificationsJob(), notifications, 'notifications-before-stored-sessions.checkpoint.json.gz')
  })

  it('continues checkpoints written before open windows moved to the store (bc891e9, operator format 3) as if never stopped', () => {
    // Fired minutes whole in the store (w/), open ones inside the snapshot: the first restore reads
    // the fired ones back and the next checkpoint writes them as records.
    continuesFromCheckpoint(clickstreamJob(), clicks, 'clickstream-before-stored-open-windows.checkpoint.json.gz')
    continuesFromCheckpoint(logsJob(), logs, 'logs-before-stored-open-windows.checkpoint.json.gz')
    continuesFromCheckpoint(notificationsJob(), notifications, 'notifications-before-stored-open-windows.checkpoint.json.gz')
  })

  it('writes the logs state in the pinned format', () => {
    expect(digest(logsJob(), logs)).toBe('ad08a131f1eafb66aaae6463df6af396dbb47b60fe7215460d39f0da7cf0d2ce')
  })

  it('writes the notifications state in the pinned format', () => {
    expect(digest(notificationsJob(), notifications)).toBe('35f287a4d127a36d7470a3a480e0f33a696e483f477eb785f7efe271bbfa49e1')
  })
})
