import { LIVE_STREAMS, LIVE_WINDOW_MS, liveCounters, LOG_LEVELS, NOTIFICATION_STATUSES } from '../../core/live/feed.ts'
import type { LiveHub } from '../../core/live/port.ts'
import type { CounterChannel } from './protocol.ts'

/** One second of a counter channel: `seq` is the window start (ms), the same on every instance. */
export interface CounterPoint {
  readonly seq: number
  readonly data: Record<string, unknown>
}

/** Reads every counter a channel is made of, `windows` seconds back, oldest first. */
async function readAll(hub: LiveHub, names: readonly string[], windows: number): Promise<{ starts: number[]; counts: number[][] }> {
  const read = await Promise.all(names.map((name) => hub.readCounter(name, LIVE_WINDOW_MS, windows)))
  return { starts: read[0]!.map((window) => window.start), counts: read.map((series) => series.map((window) => window.count)) }
}

const CHANNEL_COUNTERS: Record<CounterChannel, (projectId: string) => string[]> = {
  pageviews: (projectId) => [liveCounters.pageviews(projectId), ...LIVE_STREAMS.map((stream) => liveCounters.events(projectId, stream))],
  logs: (projectId) => LOG_LEVELS.map((level) => liveCounters.logLevel(projectId, level)),
  notifications: (projectId) => NOTIFICATION_STATUSES.map((status) => liveCounters.notificationStatus(projectId, status)),
}

function point(channel: CounterChannel, counts: readonly number[]): Record<string, unknown> {
  if (channel === 'pageviews') {
    return { pageviews: counts[0], events: Object.fromEntries(LIVE_STREAMS.map((stream, index) => [stream, counts[index + 1]])) }
  }
  const total = counts.reduce((sum, count) => sum + count, 0)
  if (channel === 'logs') {
    const levels = Object.fromEntries(LOG_LEVELS.map((level, index) => [level, counts[index]]))
    const errors = levels.error! + levels.fatal!
    return { levels, total, errorRate: total === 0 ? null : errors / total }
  }
  return { statuses: Object.fromEntries(NOTIFICATION_STATUSES.map((status, index) => [status, counts[index]])), total }
}

/**
 * The last `seconds` complete seconds of a channel, oldest first. The current second is left
 * out: it is still being counted, and showing it would make every value dip.
 * Rejects (LiveUnavailableError) when the hub cannot answer.
 */
export async function readCounterChannel(hub: LiveHub, channel: CounterChannel, projectId: string, seconds: number): Promise<CounterPoint[]> {
  const { starts, counts } = await readAll(hub, CHANNEL_COUNTERS[channel](projectId), seconds + 1)
  const points: CounterPoint[] = []
  for (let index = 0; index < seconds; index++) points.push({ seq: starts[index]!, data: point(channel, counts.map((series) => series[index]!)) })
  return points
}
