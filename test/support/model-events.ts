import { generateTraffic } from '../../traffic/generator.ts'
import { normaliseLogLine } from '../../ingest/normalise/log.ts'
import { normaliseNotification } from '../../ingest/normalise/notification.ts'
import { normaliseSegmentCall } from '../../ingest/normalise/segment.ts'
import { UserAgentParser } from '../../ingest/normalise/user-agent.ts'
import type { ClickEvent, LogEvent, NotificationEvent } from '../../schemas/types.generated.ts'

/** The traffic model's events as ingest normalises them, by stream, received when they happened. */
export function modelEvents(options: { seed: number; events: number; startMs: number; spanMs: number; projectId?: string }) {
  const projectId = options.projectId ?? 'shop'
  const bounds = { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }
  const userAgents = new UserAgentParser()
  const clicks: ClickEvent[] = []
  const logs: LogEvent[] = []
  const notifications: NotificationEvent[] = []
  for (const item of generateTraffic({ seed: options.seed, events: options.events, startMs: options.startMs, spanMs: options.spanMs })) {
    if (item.stream === 'click') {
      const result = normaliseSegmentCall(item.payload, 0, { projectId, receivedAt: item.ts, userAgent: '', country: null, bounds, userAgents })
      if (result.ok) clicks.push(result.event)
    } else if (item.stream === 'log') {
      const result = normaliseLogLine(item.payload, 0, { projectId, receivedAt: item.ts, bounds })
      if (result.ok) logs.push(result.event)
    } else {
      const result = normaliseNotification(item.payload, 0, { projectId, receivedAt: item.ts, bounds })
      if (result.ok) notifications.push(result.event)
    }
  }
  return { clicks, logs, notifications }
}
