import type { ClickHouseClient } from '@clickhouse/client'
import { fork } from 'node:child_process'
import { join } from 'node:path'
import type { FreshnessFigure } from './freshness.ts'
import { PROJECT, until, WRITE_KEY } from './reprocess-support.ts'
import { percentile, round } from './stats.ts'

/** The freshness bench's figure, measured on a pipeline the caller runs. */
export type MarkerFreshness = FreshnessFigure

export interface MarkerProbe {
  readonly url: string
  readonly clickhouse: ClickHouseClient
  readonly database: string
  readonly rate: number
  /** Without `alongside`: how long the traffic runs. */
  readonly seconds: number
  /** Unique per probe on one pipeline. */
  readonly prefix: string
  /** Work measured under: traffic runs until it resolves, and only markers accepted meanwhile count. */
  readonly alongside?: () => Promise<void>
  readonly onProgress?: (line: string) => void
}

/** A bound on traffic run `alongside` work: the sender stops by itself even if nobody stops it. */
const ALONGSIDE_MAX_SECONDS = 600

/**
 * Freshness as bench/freshness.ts measures it, on a pipeline that is already running: the time
 * from a marker batch's 202 to its marker path being visible in clicks_1m (early firings), polled
 * every 50 ms, so each figure carries up to 50 ms of polling delay. Only markers accepted after
 * the first one reached us count (the sender's start-up is not measured).
 */
export async function probeFreshness(probe: MarkerProbe): Promise<MarkerFreshness> {
  const accepted = new Map<string, number>()
  const seenAt = new Map<string, number>()
  let senderDone = false
  const seconds = probe.alongside ? ALONGSIDE_MAX_SECONDS : probe.seconds
  const sender = fork(join(import.meta.dirname, 'freshness-sender.ts'), [probe.url, WRITE_KEY, String(probe.rate), String(seconds), probe.prefix], { execArgv: ['--import', 'tsx'] })
  sender.on('message', (message: { marker?: string; acceptedAt?: number; done?: boolean }) => {
    if (message.marker) accepted.set(message.marker, message.acceptedAt!)
    if (message.done) senderDone = true
  })
  sender.once('exit', () => { senderDone = true })
  let polling = true
  let pollFailure: unknown
  const poller = (async () => {
    while (polling) {
      const result = await probe.clickhouse.query({
        query: `SELECT DISTINCT value FROM ${probe.database}.clicks_1m WHERE project_id = {project:String} AND dimension = 'path' AND startsWith(value, {prefix:String})`,
        query_params: { project: PROJECT, prefix: `/__probe/${probe.prefix}-` },
        format: 'JSONEachRow',
      })
      const now = Date.now()
      // A marker seen before its 202 reached us is counted on a later poll, once it has.
      for (const { value } of await result.json<{ value: string }>()) if (!seenAt.has(value) && accepted.has(value)) seenAt.set(value, now)
      probe.onProgress?.(`freshness ${probe.prefix}: ${seenAt.size}/${accepted.size} markers seen`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })().catch((error: unknown) => { pollFailure = error })
  try {
    if (!(await until(() => accepted.size > 0 || senderDone, 60_000))) throw new Error('the marker sender had no batch accepted within a minute')
    const from = Date.now()
    if (probe.alongside) await probe.alongside()
    else await until(() => senderDone, (probe.seconds + 30) * 1_000)
    const to = Date.now()
    if (sender.exitCode === null) sender.kill()
    if (pollFailure !== undefined) throw pollFailure
    const counted = [...accepted].filter(([, at]) => at >= from && at <= to)
    await until(() => counted.every(([marker]) => seenAt.has(marker)), 30_000)
    const latencies = counted.flatMap(([marker, at]) => (seenAt.has(marker) ? [Math.max(0, seenAt.get(marker)! - at)] : []))
    return {
      offeredEventsPerSec: probe.rate,
      seconds: round((to - from) / 1_000),
      samples: latencies.length,
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: latencies.length > 0 ? round(Math.max(...latencies)) : Number.NaN,
      notSeen: counted.length - latencies.length,
    }
  } finally {
    polling = false
    await poller
    if (sender.exitCode === null) sender.kill()
  }
}
