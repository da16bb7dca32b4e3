import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Client } from '@elastic/elasticsearch'
import type { Logger } from '../../logging/logger.ts'
import type { SearchStream } from '../port.ts'

/**
 * Index layout: one index per stream and calendar month of event time, `<prefix>-logs-2026.11`.
 * The month comes from the event's own time, so a replayed event is written again to the index
 * that already holds it, under the same `_id`: replays overwrite, never duplicate. (A data stream
 * writes to whatever index is current and would duplicate across a rollover; ILM is not needed
 * either, retention drops whole months.)
 */
const KIND: Record<SearchStream, string> = { log: 'logs', notification: 'notifications' }

const TEMPLATE_DIR = join(import.meta.dirname, '../../../schemas/elasticsearch')

/** Elasticsearch names must be lower case; EDDY_TOPIC_PREFIX may not be. */
const base = (prefix: string, stream: SearchStream) => `${prefix.toLowerCase()}-${KIND[stream]}`

export function indexPattern(prefix: string, stream: SearchStream): string {
  return `${base(prefix, stream)}-*`
}

export function indexFor(prefix: string, stream: SearchStream, tsMs: number): string {
  const date = new Date(tsMs)
  return `${base(prefix, stream)}-${date.getUTCFullYear()}.${String(date.getUTCMonth() + 1).padStart(2, '0')}`
}

/** The committed template of a stream with the prefix filled in (also read by dashboard checks). */
export function indexTemplate(prefix: string, stream: SearchStream): Record<string, unknown> {
  const text = readFileSync(join(TEMPLATE_DIR, `${KIND[stream]}.json`), 'utf8').replaceAll('{prefix}', prefix.toLowerCase())
  const { _comment: _, ...template } = JSON.parse(text) as Record<string, unknown>
  return template
}

export function templateName(prefix: string, stream: SearchStream): string {
  return base(prefix, stream)
}

/** `eddy migrate` for Elasticsearch: puts both index templates (idempotent). */
export async function installIndexTemplates(client: Client, prefix: string, logger: Logger): Promise<void> {
  for (const stream of ['log', 'notification'] as const) {
    await client.indices.putIndexTemplate({ name: templateName(prefix, stream), ...indexTemplate(prefix, stream) } as never)
    logger.info({ template: templateName(prefix, stream), pattern: indexPattern(prefix, stream) }, 'Elasticsearch index template installed')
  }
}

/**
 * Deletes the monthly indices whose whole month is older than the retention. Months are the unit,
 * so Elasticsearch keeps up to a month more than ClickHouse's day-precise TTL.
 */
export async function dropExpiredIndices(client: Client, prefix: string, retentionDays: number, nowMs: number, logger: Logger): Promise<string[]> {
  const cutoff = nowMs - retentionDays * 86_400_000
  const dropped: string[] = []
  for (const stream of ['log', 'notification'] as const) {
    const indices = await client.cat.indices({ index: indexPattern(prefix, stream), format: 'json', h: 'index' }) as Array<{ index?: string }>
    for (const { index } of indices) {
      // Only this stream's own monthly names: `<prefix>-logs-YYYY.MM`, nothing another prefix made.
      const month = index?.startsWith(`${base(prefix, stream)}-`) ? /^-(\d{4})\.(\d{2})$/.exec(index.slice(base(prefix, stream).length)) : null
      if (!index || !month) continue
      const monthEnd = Date.UTC(Number(month[1]), Number(month[2]), 1)
      if (monthEnd > cutoff) continue
      // Several processors sweep: another may have dropped it a moment ago.
      await client.indices.delete({ index, ignore_unavailable: true })
      dropped.push(index)
      logger.info({ index }, 'dropped an Elasticsearch index past retention')
    }
  }
  return dropped
}
