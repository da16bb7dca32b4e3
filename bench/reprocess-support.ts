/**
 * What the reprocess benches share: the freshness bench's config, generated traffic as the lines
 * `eddy import` reads, importing them onto a runtime's bus, the events that close every live
 * window, and how far the processors' consumer groups have committed.
 */
import pino from 'pino'
import type { Runtime } from '../cli/runtime.ts'
import { importLines } from '../cli/transfer/importer.ts'
import type { LineSource } from '../cli/transfer/line-reader.ts'
import { openDestination } from '../cli/transfer/open-destination.ts'
import { projectOfWriteKey } from '../cli/transfer/operator-options.ts'
import { partitionForKey } from '../core/bus/embedded/murmur2.ts'
import { loadConfig, type Config, type Environment } from '../core/config/index.ts'
import { DEFAULT_MAX_NESTING_DEPTH } from '../core/http/nesting.ts'
import { UserAgentParser } from '../ingest/normalise/user-agent.ts'
import type { ConsumerGroup } from '../processors/status.ts'
import { generateTraffic, type GeneratedEvent } from '../traffic/generator.ts'

export const WRITE_KEY = 'bench-write-key'
/** The project EDDY_WRITE_KEY alone configures. */
export const PROJECT = 'default'
export const quietLogger = () => pino({ level: 'error' })

/** The config bench/freshness.ts builds: one project, a free port, the embedded defaults. */
export function benchConfig(dataDir: string, env: Environment = {}): Config {
  return loadConfig({ EDDY_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', EDDY_WRITE_KEY: WRITE_KEY, EDDY_READ_KEY: 'bench-read-key', ...env })
}

/**
 * `events` of the traffic model in [startMs, startMs + spanMs), made in `chunks` consecutive
 * stretches with visitors of their own, so a million events are never all in memory at once.
 */
export function* historicalTraffic(options: { readonly seed: number; readonly events: number; readonly startMs: number; readonly spanMs: number; readonly chunks: number }): Generator<GeneratedEvent[]> {
  const span = options.spanMs / options.chunks
  for (let chunk = 0; chunk < options.chunks; chunk++) {
    yield generateTraffic({ seed: options.seed + chunk, events: Math.round(options.events / options.chunks), startMs: options.startMs + chunk * span, spanMs: span, visitorPrefix: `h${chunk}-` })
  }
}

/** Generated events as the NDJSON lines of a file `eddy import` reads, one payload a line. */
export function linesOf(name: string, batches: Iterable<readonly GeneratedEvent[]>): LineSource {
  let bytes = 0
  return {
    name,
    sizeBytes: undefined,
    bytesRead: () => bytes,
    async *lines() {
      let line = 0
      for (const batch of batches) {
        for (const event of batch) {
          const text = JSON.stringify(event.payload)
          bytes += text.length + 1
          yield { line: ++line, text, bytes: text.length }
        }
      }
    },
  }
}

/**
 * `eddy import`'s path without the command: its destination (the bus, this process holding the
 * embedded log) and importLines; resolves once every event is acknowledged. `seconds` times
 * importLines alone, not opening the bus.
 */
export async function importOnto(runtime: Runtime, sources: readonly LineSource[], onProgress?: (accepted: number) => void): Promise<{ accepted: number; seconds: number }> {
  const { config } = runtime
  const destination = await openDestination({ runtime, writeKey: WRITE_KEY })
  try {
    const started = performance.now()
    const tally = await importLines({
      sources,
      context: { projectId: projectOfWriteKey(config, WRITE_KEY).projectId, bounds: { maxFutureMs: config.ingest.maxFutureMs, retentionMs: config.retentionDays * 86_400_000 }, userAgents: new UserAgentParser() },
      destination,
      maxNestingDepth: config.ingest.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH,
      maxEventBytes: config.ingest.maxEventBytes,
      onProgress: (progress) => onProgress?.(progress.accepted),
    })
    const seconds = (performance.now() - started) / 1_000
    if (tally.fatal !== undefined) throw new Error(`import failed: ${tally.fatal}`)
    if (tally.refused > 0) throw new Error(`import refused ${tally.refused} lines, the first: ${JSON.stringify(tally.refusals[0])}`)
    return { accepted: tally.accepted, seconds }
  } finally {
    await destination.close()
  }
}

/**
 * One event per partition of each stream at `atMs` (as test/e2e/reprocess.test.ts's flushEvents):
 * every partition's newest event time, which a reprocess takes as the live horizon, moves past
 * the traffic before it, so the live jobs have closed all its windows.
 */
export function closingEvents(atMs: number, partitions: number): GeneratedEvent[] {
  const timestamp = new Date(atMs).toISOString()
  const events: GeneratedEvent[] = []
  for (let partition = 0; partition < partitions; partition++) {
    const key = keyFor(partition, partitions)
    events.push({ stream: 'click', ts: atMs, payload: { type: 'page', anonymousId: key, messageId: `close-${key}-${atMs}`, timestamp, properties: { url: 'https://close.example/' } } })
    events.push({ stream: 'log', ts: atMs, payload: { id: `close-${key}-${atMs}`, timestamp, service: key, level: 'info', message: 'close' } })
    events.push({ stream: 'notification', ts: atMs, payload: { notification_id: key, channel: 'email', provider: 'ses', template: 'close', status: 'queued', timestamp } })
  }
  return events
}

/** A key the embedded log's partitioner sends to `partition`. */
export function keyFor(partition: number, partitions: number, prefix = 'close-'): string {
  for (let n = 0; ; n++) if (partitionForKey(`${prefix}${n}`, partitions) === partition) return `${prefix}${n}`
}

export interface GroupProgress {
  /** Records committed, summed over groups and partitions (never counted past the high mark). */
  readonly committed: number
  readonly high: number
  /** Every group has committed every record on its topic: processed and written (test/support/pipeline.ts caughtUp). */
  readonly caughtUp: boolean
}

export async function groupProgress(runtime: Runtime, groups: readonly ConsumerGroup[]): Promise<GroupProgress> {
  const admin = (await runtime.bus()).admin()
  let committed = 0
  let high = 0
  let caughtUp = true
  for (const group of groups) {
    for (const topic of group.topics) {
      const [highs, offsets] = await Promise.all([admin.topicOffsets(topic), admin.committedOffsets(group.group, topic)])
      for (const partition of highs) {
        const at = offsets.find((entry) => entry.partition === partition.partition)?.offset ?? 0
        committed += Math.min(at, partition.high)
        high += partition.high
        if (at < partition.high) caughtUp = false
      }
    }
  }
  return { committed, high, caughtUp }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `done` every `everyMs` until it holds or `timeoutMs` passed; true when it held. */
export async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await done()) return true
    if (Date.now() > deadline) return false
    await sleep(everyMs)
  }
}
