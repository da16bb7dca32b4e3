import type { InsertSummary } from '../../core/pipeline-status.ts'

const RECENT = 256

/**
 * Recent insert latencies and the failure count, fed by the batch writer's onInsert hook. The
 * Prometheus histogram holds the same for dashboards; this answers the health endpoint without
 * a Prometheus in the loop (the embedded mode has none).
 */
export class InsertStats {
  private readonly recent: number[] = []
  private next = 0
  private inserts = 0
  private failures = 0

  record(durationMs: number, failed: boolean): void {
    if (failed) {
      this.failures += 1
      return
    }
    this.inserts += 1
    if (this.recent.length < RECENT) this.recent.push(durationMs)
    else this.recent[this.next] = durationMs
    this.next = (this.next + 1) % RECENT
  }

  summary(): InsertSummary {
    if (this.recent.length === 0) return { inserts: this.inserts, failures: this.failures }
    const sorted = [...this.recent].sort((a, b) => a - b)
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 10) / 10
    return { inserts: this.inserts, failures: this.failures, p50Ms: at(0.5), p99Ms: at(0.99) }
  }
}
