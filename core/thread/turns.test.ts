import { describe, expect, it } from 'vitest'
import { Turns } from './turns.ts'

/** Work that runs on promises alone, as a processors' backlog does: `steps` slices of `sliceMs` each. */
async function backlog(turns: Turns, name: string, steps: number, sliceMs: number, log: string[]) {
  for (let step = 0; step < steps; step++) {
    await turns.yield()
    const until = performance.now() + sliceMs
    while (performance.now() < until) {
      // A slice of records processed synchronously.
    }
    log.push(name)
  }
}

describe('turns on the event loop', () => {
  it('goes on without waiting while the quantum lasts', () => {
    const turns = new Turns(1_000)
    expect(turns.yield()).toBeUndefined()
    expect(turns.yield()).toBeUndefined()
  })

  it('lets a timer fire between slices of a backlog that never waits on I/O', async () => {
    const turns = new Turns(10)
    const log: string[] = []
    // Due at once: without turns it would fire only after all 40 slices (800 ms) are done.
    const timer = new Promise<number>((resolve) => setTimeout(() => resolve(log.length), 0))
    await Promise.all([backlog(turns, 'a', 20, 20, log), backlog(turns, 'b', 20, 20, log)])
    // Both first slices start inside the first quantum, and one turn may come before the loop
    // reaches its timers (the loop may be past them when the test starts): three at most.
    expect(await timer).toBeLessThanOrEqual(3)
  })

  it('hands turns to the waiting in the order they asked, one each', async () => {
    const turns = new Turns(0)
    const log: string[] = []
    await Promise.all([backlog(turns, 'a', 3, 1, log), backlog(turns, 'b', 3, 1, log), backlog(turns, 'c', 3, 1, log)])
    expect(log).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c'])
  })

  it('lets I/O callbacks in between as well', async () => {
    const turns = new Turns(5)
    const log: string[] = []
    const immediate = new Promise<number>((resolve) => setImmediate(() => resolve(log.length)))
    await backlog(turns, 'a', 30, 10, log)
    expect(await immediate).toBeLessThanOrEqual(2)
  })
})
