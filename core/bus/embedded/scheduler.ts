/** Periodic work (retention, health probes) goes through this so tests can drive it by hand. */
export interface Scheduler {
  /** Runs `task` every `intervalMs`; returns a function that cancels it. */
  every(intervalMs: number, task: () => void): () => void
}

export const timerScheduler: Scheduler = {
  every(intervalMs, task) {
    const timer = setInterval(task, intervalMs)
    // Background upkeep must never keep the process alive on its own.
    timer.unref()
    return () => clearInterval(timer)
  },
}
