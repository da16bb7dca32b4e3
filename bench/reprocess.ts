import { benchImportVsIngest, type ImportFigures } from './import-vs-ingest.ts'
import { benchLateCorrection, type LateCorrectionFigure } from './late-correction.ts'
import type { ChildMemory } from './memory.ts'
import { benchReprocessThroughput, type ReprocessThroughputFigure } from './reprocess-throughput.ts'

/** Issue 18's figures, measured in one run: `npm run bench -- --only reprocess`. */
export interface ReprocessFigures {
  readonly throughput: ReprocessThroughputFigure
  readonly importVsIngest: ImportFigures
  readonly lateCorrection: LateCorrectionFigure
}

export interface ReprocessBenchOptions {
  readonly quick: boolean
  readonly runs: number
  readonly onProgress: (line: string, force?: boolean) => void
  readonly children?: ChildMemory
}

/** Live traffic offered while the reprocess runs (and without, for reference). */
export const LIVE_RATE = 2_000

export async function benchReprocess(options: ReprocessBenchOptions): Promise<ReprocessFigures> {
  const { quick, onProgress } = options
  onProgress(`reprocess: ${quick ? '50,000' : '1,000,000'} raw events, live processors then reprocess, then freshness with and without a reprocess`, true)
  const throughput = await benchReprocessThroughput({ events: quick ? 50_000 : 1_000_000, liveRate: LIVE_RATE, freshnessSeconds: quick ? 5 : 20, onProgress })
  onProgress('reprocess: import vs ingest /v1/batch', true)
  const importVsIngest = await benchImportVsIngest({ events: quick ? 10_000 : 200_000, runs: options.runs, onProgress, ...(options.children ? { children: options.children } : {}) })
  onProgress('reprocess: late record → window corrected, automatic convergence on', true)
  const lateCorrection = await benchLateCorrection({ samples: quick ? 2 : 5, onProgress })
  return { throughput, importVsIngest, lateCorrection }
}
