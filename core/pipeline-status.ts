/**
 * What /api/v1/pipeline/health and the live health channel report: written by the processors
 * (processors/status.ts), read by the api, so it lives where both may import it.
 */

/** What /api/v1/pipeline/health says about the ClickHouse sink of this process. */
export interface InsertSummary {
  readonly inserts: number
  readonly failures: number
  /** Over the most recent inserts (up to RECENT); undefined before the first. */
  readonly p50Ms?: number
  readonly p99Ms?: number
}

export interface ConsumerLag {
  readonly group: string
  readonly topic: string
  readonly partitions: ReadonlyArray<{ partition: number; committed: number; high: number; lag: number }>
  readonly lag: number
}

export interface PipelineStatus {
  readonly consumers: readonly ConsumerLag[]
  /**
   * Per job and partition this instance owns: the next offset to process, and watermark, state size,
   * late and duplicate counts.
   */
  readonly jobs: ReadonlyArray<{ job: string; partition: number; position: number; stats: Record<string, number> }>
  /** Records held in the dead-letter and late topics (what retention has not yet removed). */
  readonly deadLetters: number
  readonly lateEvents: number
  /** This process's ClickHouse inserts, where it runs processors. */
  readonly sink?: InsertSummary
  /** Events accepted per second over the last 10 s, all projects, where the live counters are in reach. */
  readonly ingestEventsPerSecond?: number
}
