import { describe, expect, it } from 'vitest'
import { modelEvents } from '../../test/support/model-events.ts'
import type { Job, OutputRows } from '../job.ts'
import { defaultJobs } from './index.ts'

/**
 * A job that declares `reads` is given events with only those fields. If it used another, it
 * would see undefined in production while its own tests, which pass whole events, stayed green:
 * here every job runs the traffic model both ways and must write the same rows.
 */
const START = Date.parse('2026-12-05T08:00:00Z')

function run(job: Job, events: readonly object[]): OutputRows[] {
  const task = job.createTask(0)
  const outputs: OutputRows[] = []
  for (let start = 0; start < events.length; start += 400) {
    const batch = events.slice(start, start + 400) as never[]
    const now = (batch.at(-1) as unknown as { ts: number }).ts
    outputs.push(task.process(batch, now), task.onProcessingTime(now + 1_000))
  }
  outputs.push({ stats: [task.stats()] })
  return outputs
}

/** Late rows carry the event as given; the runner swaps in the whole one, so compare ids only. */
const comparable = (outputs: OutputRows[]) => outputs.map((rows) => Object.fromEntries(Object.entries(rows).map(([name, list]) => [name, name === 'late' ? list.map((row) => ({ ...row, event: (row.event as { event_id: string }).event_id })) : list])))

describe('jobs that read a few fields', () => {
  const { clicks, logs, notifications } = modelEvents({ seed: 11, events: 12_000, startMs: START, spanMs: 3 * 3_600_000 })
  const byStream = { click: clicks, log: logs, notification: notifications }

  for (const job of defaultJobs()) {
    it(`${job.name} writes the same rows from only the fields it reads`, () => {
      expect(job.reads, `${job.name} declares what it reads`).toBeDefined()
      const events = byStream[job.stream] as object[]
      const partial = events.map((event) => Object.fromEntries(job.reads!.map((field) => [field, (event as Record<string, unknown>)[field]])))
      const whole = comparable(run(job, events))
      expect(whole.some((rows) => Object.keys(rows).some((name) => name !== 'stats'))).toBe(true)
      expect(comparable(run(job, partial))).toEqual(whole)
    })
  }
})
