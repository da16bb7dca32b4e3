/**
 * What /api/v1/pipeline/health and the live health channel report: written by the processors
 * (processors/status.ts), read by the api, so it lives where both may import it.
 */
import type { IngestRate } from './live/ingest-rate.ts'

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
  /** Partitions this instance stopped because their state store is damaged, with what to do. */
  readonly halted: ReadonlyArray<{ job: string; partition: number; reason: string }>
  /** Records held in the dead-letter and late topics (what retention has not yet removed). */
  readonly deadLetters: number
  readonly lateEvents: number
  /** This process's ClickHouse inserts, where it runs processors. */
  readonly sink?: InsertSummary
  /** Events accepted per second over the last 10 s, all projects, where the live counters are in reach. */
  readonly ingestEventsPerSecond?: number
  /** Windows late events reached, waiting to be recomputed from raw, where this process converges them. */
  readonly convergence?: ConvergenceStatus
}

/** Automatic convergence (processors/reprocess/convergence.ts): what waits, what runs, how the last run went. */
export interface ConvergenceStatus {
  readonly pending: ReadonlyArray<{ stream: string; fromMs: number; toMs: number; lateRecords: number }>
  readonly running?: { stream: string; fromMs: number; toMs: number; lateRecords: number }
  readonly runs: number
  readonly failures: number
  readonly lastRun?: {
    readonly stream: string
    readonly fromMs: number
    readonly toMs: number
    readonly lateRecords: number
    readonly finishedAtMs: number
    readonly durationMs: number
    readonly rows?: number
    readonly error?: string
  }
}

/**
 * What a project's read key sees of the pipeline's health: its own traffic only. Offsets, lag and
 * job partitions are of topics every project shares, so they would show another tenant's volume;
 * those are the operator's view (PipelineStatus, behind an operator key).
 */
export interface ProjectHealth {
  readonly project: string
  /** This project's events accepted per second over the last 10 s, by stream and in all; absent where the live counters are not in reach. */
  readonly ingest?: IngestRate
}
