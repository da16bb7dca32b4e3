import { LIVE_STREAMS, LIVE_WINDOW_MS, liveCounters } from './feed.ts'
import type { LiveHub } from './port.ts'

export interface IngestRate {
  readonly eventsPerSecond: number
  readonly click: number
  readonly log: number
  readonly notification: number
}

/** Seconds the rate is averaged over: the last ten one-second windows, the filling one included. */
const SECONDS = 10

/** A project's accepted events per second, from the counters ingest keeps for the live feed. */
export async function projectIngestRate(hub: LiveHub, projectId: string): Promise<IngestRate> {
  const [click, log, notification] = await Promise.all(LIVE_STREAMS.map(async (stream) => {
    const windows = await hub.readCounter(liveCounters.events(projectId, stream), LIVE_WINDOW_MS, SECONDS)
    return windows.reduce((total, window) => total + window.count, 0) / SECONDS
  })) as [number, number, number]
  return { eventsPerSecond: click + log + notification, click, log, notification }
}

/** All projects' accepted events per second: the operator's figure. */
export async function pipelineIngestRate(hub: LiveHub, projectIds: readonly string[]): Promise<number> {
  const rates = await Promise.all(projectIds.map((id) => projectIngestRate(hub, id)))
  return rates.reduce((sum, rate) => sum + rate.eventsPerSecond, 0)
}
