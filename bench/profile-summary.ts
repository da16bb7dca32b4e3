import { readFileSync } from 'node:fs'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly startTime: number
  readonly endTime: number
  readonly samples?: readonly number[]
}

export interface ProfileSummary {
  /** Sampled main-thread time, ms. */
  readonly sampledMs: number
  /** Self time by where the code lives (a package, an Eddy folder, V8 and Node internals), percent of the samples. */
  readonly byArea: Readonly<Record<string, number>>
  /** The functions with the most self time: `name (file:line)` and its percent of the samples. */
  readonly topFunctions: ReadonlyArray<{ readonly frame: string; readonly percent: number }>
}

/** What a frame's file says about whose code it is: `kafkajs`, `processors/operators`, `(garbage collector)`. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dependency) return dependency[1]!
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  const own = /\/work\/[^/]+\/((?:[^/]+\/)?[^/]+)\/[^/]+$/.exec(url) ?? /\/((?:core|processors|ingest|api|cli|schemas|bench|traffic)(?:\/[^/]+)?)\/[^/]+$/.exec(url)
  return own ? own[1]! : url
}

/**
 * Self time of a V8 CPU profile by area and by function, so profiles of two runs (the Kafka and
 * the embedded processors) can be compared in a results file without opening them in DevTools.
 */
export function summariseProfile(path: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const totalHits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1
  const sampledMs = (profile.endTime - profile.startTime) / 1_000
  const byArea = new Map<string, number>()
  const byFrame = new Map<string, number>()
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    const area = areaOf(url, functionName)
    byArea.set(area, (byArea.get(area) ?? 0) + hits)
    const file = url.replace(/^.*\/(node_modules\/)?/, '')
    const frame = `${functionName || '(anonymous)'}${url ? ` (${file}:${lineNumber + 1})` : ''}`
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + hits)
  }
  const percent = (hits: number) => Math.round((hits / totalHits) * 1_000) / 10
  return {
    sampledMs: Math.round(sampledMs),
    byArea: Object.fromEntries([...byArea].sort((a, b) => b[1] - a[1]).filter(([, hits]) => hits / totalHits >= 0.002).map(([area, hits]) => [area, percent(hits)])),
    topFunctions: [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, hits]) => ({ frame, percent: percent(hits) })),
  }
}
