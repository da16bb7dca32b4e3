import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { modelEvents } from '../../test/support/model-events.ts'
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

function outputDigest<In>(job: { outputs: readonly string[]; createTask(partition: number): JobTask<In> }, events: readonly In[]): string {
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
  let task = job.createTask(0)
  const size = Math.ceil(events.length / BATCHES)
  for (let batch = 0; batch < BATCHES; batch++) {
    const now = T0 + batch * (SPAN / BATCHES) + 90_000
    record(task.process(events.slice(batch * size, (batch + 1) * size), now))
    record(task.onProcessingTime(now + 500))
    if (batch === BATCHES / 2) {
      const restored = job.createTask(0)
      expect(restored.restore(task.snapshot())).toEqual({ ok: true })
      task = restored
    }
  }
  // Far enough on that every window, session and timer fires.
  record(task.onProcessingTime(T0 + SPAN + 86_400_000))
  const stats = task.stats()
  hash.update(JSON.stringify(Object.keys(stats).sort().map((name) => [name, stats[name]])))
  expect(emitted).toBeGreaterThan(events.length / 10)
  // The topology declares what the task emits: nothing else, and all of it but what needs rare events.
  for (const name of named) expect(job.outputs).toContain(name)
  for (const name of job.outputs) if (!RARE_OUTPUTS.has(name)) expect(named).toContain(name)
  return hash.digest('hex')
}

describe('job outputs on the traffic model', () => {
  const { clicks, logs, notifications } = modelEvents({ seed: 11, events: 6_000, startMs: T0, spanMs: SPAN })
  // Digests of the rows written by 9973fea, before jobs were declared as topologies.
  it('clickstream emits the pinned rows', () => {
    expect(outputDigest(clickstreamJob(), clicks)).toBe('8d372f3b2c4f3e32c12a666ceb68adb9256e7a9ad9e177966d246b7cbdfe12f0')
  })
  it('logs emits the pinned rows', () => {
    expect(outputDigest(logsJob(), logs)).toBe('93599f613dbff561633d74176db0c9aa37b4e654b7c33f5711f1d6f5012e1d03')
  })
  it('notifications emits the pinned rows', () => {
    expect(outputDigest(notificationsJob(), notifications)).toBe('fa9d5cccb18602650066cb169fe66399a8cc9a7241691e6a1768e7280e5123d6')
  })
})
