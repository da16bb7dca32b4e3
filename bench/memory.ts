/**
 * Memory per stage: the bench process's peak RSS and heap while a stage runs, and the peak RSS of
 * the child processes the stage starts (Eddy servers, load generators), by role.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'

export interface StageMemory {
  /** The bench process (which hosts the pipeline, chDB included, where a stage runs it in-process). */
  readonly benchPeakRssMb: number
  readonly benchPeakHeapMb: number
  /** How benchPeakRssMb was taken: Linux's exact high-water mark (VmHWM, reset at the stage's start), or 100 ms samples. */
  readonly rssSource: 'VmHWM' | 'samples'
  /** Peak RSS of child processes by role, the largest over the stage's runs. */
  readonly childPeakRssMb: Record<string, number>
}

/** Where a stage reports the children it starts. */
export interface ChildMemory {
  /** Reads a live child's peak RSS (VmHWM in /proc); call it just before the child is stopped. */
  readonly live: (role: string, pid: number | undefined) => void
  /** A peak the child reported itself on its way out (process.resourceUsage().maxRSS), for children that exit on their own. */
  readonly reported: (role: string, megabytes: number) => void
}

const SAMPLE_MS = 100
const MB = 2 ** 20

/**
 * Starts watching; `stop()` returns the stage's figures. The heap (and, where Linux does not let
 * the high-water mark be reset, the RSS) is sampled every 100 ms on an unref'd timer, so a peak
 * inside a long synchronous stretch (the windowing loops) is seen only at its end.
 */
export interface MemoryWatch extends ChildMemory {
  /** Takes a sample now: for stages that run long synchronous stretches between their progress calls. */
  sample(): void
  stop(): StageMemory
}

export function watchMemory(): MemoryWatch {
  const exact = resetHighWaterMark()
  let rss = 0
  let heap = 0
  const sample = () => {
    const usage = process.memoryUsage()
    rss = Math.max(rss, usage.rss)
    heap = Math.max(heap, usage.heapUsed)
  }
  sample()
  const timer = setInterval(sample, SAMPLE_MS)
  timer.unref()
  const children: Record<string, number> = {}
  const note = (role: string, megabytes: number | undefined) => {
    if (megabytes !== undefined) children[role] = Math.max(children[role] ?? 0, Math.round(megabytes))
  }
  return {
    live: (role, pid) => note(role, pid === undefined ? undefined : highWaterMarkMb(pid)),
    reported: note,
    sample,
    stop() {
      clearInterval(timer)
      sample()
      const own = exact ? highWaterMarkMb(process.pid) : undefined
      return {
        benchPeakRssMb: Math.round(Math.max(own ?? 0, rss / MB)),
        benchPeakHeapMb: Math.round(heap / MB),
        rssSource: own === undefined ? 'samples' : 'VmHWM',
        childPeakRssMb: children,
      }
    },
  }
}

/** Peak RSS in MB of a running process (Linux), or undefined where /proc cannot tell. */
export function highWaterMarkMb(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

/** This process's live children (Linux), for children started by code that does not expose them. */
export function childPids(): number[] {
  const pids: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return pids
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const parent = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))
      if (Number(parent?.[1]) === process.pid) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/** The resident-set high-water mark starts again from the current RSS ("5" to clear_refs, Linux ≥ 4.0). */
function resetHighWaterMark(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return highWaterMarkMb(process.pid) !== undefined
  } catch {
    return false
  }
}
