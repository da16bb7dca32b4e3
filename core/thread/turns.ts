/**
 * Turns on one thread's event loop for work that would otherwise run on promises alone. A
 * processors' thread with a backlog has a batch for every partition waiting: each arrives as a
 * message or an I/O callback, and the loop runs all of those it has, and every promise they chain,
 * before it looks at its timers again. With forty partitions of 5,000 records that was up to 11 s
 * in which no timer fired (early firings, checkpoints due, the health answer the main thread waits
 * for). Work that asks for a turn at its yield points runs at most `quantumMs` at a stretch; then
 * the waiting ones resume one per loop iteration, first come first served, so timers and I/O are
 * looked at between any two quanta and every partition gets its share.
 */
export class Turns {
  private readonly waiting: Array<() => void> = []
  private since = performance.now()
  private scheduled = false

  constructor(private readonly quantumMs = 10) {}

  /**
   * Undefined while the current quantum lasts (go on); otherwise a promise that resolves when it
   * is this caller's turn, on a later iteration of the event loop.
   */
  yield(): Promise<void> | undefined {
    if (this.waiting.length === 0 && performance.now() - this.since < this.quantumMs) return undefined
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve)
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    // setImmediate, not a resolved promise: an immediate runs after the loop's poll phase, and one
    // set from inside an immediate waits for the next iteration, past the timers.
    setImmediate(() => {
      this.scheduled = false
      this.since = performance.now()
      this.waiting.shift()?.()
      if (this.waiting.length > 0) this.schedule()
    })
  }
}
