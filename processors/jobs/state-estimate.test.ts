import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { modelEvents } from '../../test/support/model-events.ts'
import type { Job } from '../job.ts'
import { clickstreamJob } from './clickstream.ts'
import { logsJob } from './logs.ts'
import { notificationsJob } from './notifications.ts'

/**
 * `stats().stateBytes` is what `eddy_window_state_bytes` reports and what the soak subtracts from
 * the live heap to tell state from a leak, so it must track the heap a task really holds. Each job
 * runs alone on the traffic model; what it retains is the heap after a full collection with the
 * events let go (decoded events die after their batch in production too, leaving the task the only
 * owner of what it kept, ids included).
 */
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const START = Date.parse('2026-12-04T08:00:00Z')
type Pick = 'clicks' | 'logs' | 'notifications'

/** Not async, so the events are garbage once it returns. */
function feed(task: ReturnType<Job['createTask']>, pick: Pick): void {
  const events = modelEvents({ seed: 7, events: 200_000, startMs: START, spanMs: 20 * 60_000 })[pick] as never[]
  let now = START
  for (let index = 0; index < events.length; index += 500) task.process(events.slice(index, index + 500), (now += 50))
}

describe('state size estimates', () => {
  // Warms the traffic model's and the parsers' caches, which would otherwise count as the first job's.
  modelEvents({ seed: 1, events: 5_000, startMs: START, spanMs: 60_000 })

  for (const [job, pick] of [[clickstreamJob(), 'clicks'], [logsJob(), 'logs'], [notificationsJob(), 'notifications']] as const) {
    it(`${job.name}: the estimate is within 30 % of the heap the task retains`, async () => {
      gc()
      gc()
      const before = process.memoryUsage().heapUsed
      const task = (job as Job).createTask(0)
      feed(task, pick)
      await new Promise((resolve) => setTimeout(resolve, 10))
      gc()
      gc()
      const retained = process.memoryUsage().heapUsed - before
      const estimated = task.stats().stateBytes!
      expect(retained).toBeGreaterThan(2 * 2 ** 20)
      expect(estimated / retained).toBeGreaterThan(0.7)
      expect(estimated / retained).toBeLessThan(1.3)
    }, 60_000)
  }
})
