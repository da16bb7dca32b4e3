import { partitionForKey } from '../../core/bus/embedded/murmur2.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { Row } from '../job.ts'
import type { ClickstreamSettings } from '../jobs/clickstream.ts'
import type { EventTimeSettings } from '../operators/settings.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** A column of a table's sort key, and how to read it back in the unit the jobs write it in. */
export interface KeyColumn {
  readonly name: string
  /** A SQL expression of the column giving the job's own value (seconds or ms since the epoch for times). */
  readonly read: string
}

/**
 * What a reprocess needs to know of an aggregate table beyond the job that fills it: which rows
 * are the same row (its sort key, what ReplacingMergeTree replaces by), where a row falls in a
 * range, when its events are all known, and when the live job stops writing it.
 */
export interface ReprocessTable {
  readonly table: string
  readonly stream: Stream
  readonly key: readonly KeyColumn[]
  /** The row's place in time (ms): a row belongs to the slice its start falls in. */
  startMs(row: Row): number
  /** Event time (ms) after which no event can change the row: its window's end, a session's end + gap. */
  completeAtMs(row: Row): number
  /** The input partition whose task writes the row live. */
  partitionOf(row: Row, partitions: number): number
  /**
   * A row with the key of `key` that cancels a live row the recomputation no longer has. Only
   * sessions have is_deleted; elsewhere it is the key with every count 0, which sums to nothing
   * and which listings skip (they read rows with counts above 0).
   */
  tombstone(key: Row, revision: number): Row
  /** Whether a row is such a tombstone: what a reader takes as no row. */
  isTombstone(row: Row): boolean
  /**
   * Which live rows a reprocess may cancel: those of its slice's closed windows it has no row
   * for, or (sessions, whose keys move when sessions merge) those inside a session it writes.
   */
  readonly cancels: 'closed-windows' | 'covered-sessions'
  /** Columns beyond the key that deciding on a live row needs (a session's end). */
  readonly extra?: readonly KeyColumn[]
}

export interface ReprocessSettings {
  readonly click: Pick<ClickstreamSettings, 'sessionGapMs' | 'activeWindowMs'>
  /** The event-time settings every job shares (they all read DEFAULT_EVENT_TIME). */
  readonly eventTime: Pick<EventTimeSettings, 'allowedLatenessMs' | 'outOfOrdernessMs'>
}

const seconds = (column: string): KeyColumn => ({ name: column, read: `toUnixTimestamp(${column})` })
const millis = (column: string): KeyColumn => ({ name: column, read: `toUnixTimestamp64Milli(${column})` })
const plain = (column: string): KeyColumn => ({ name: column, read: column })
const sourcePartition = (row: Row) => Number(row.source_partition)

/** A windowed table whose key holds window_start and source_partition; its value columns go to 0 in a tombstone. */
function windowTable(table: string, stream: Stream, windowMs: (row: Row) => number, key: readonly KeyColumn[], values: readonly string[]): ReprocessTable {
  return {
    table,
    stream,
    key,
    startMs: (row) => Number(row.window_start) * 1_000,
    completeAtMs: (row) => Number(row.window_start) * 1_000 + windowMs(row),
    partitionOf: sourcePartition,
    tombstone: (keyRow, revision) => ({ ...keyRow, ...Object.fromEntries(values.map((column) => [column, 0])), revision, final: 1 }),
    isTombstone: (row) => values.every((column) => Number(row[column]) === 0),
    cancels: 'closed-windows',
  }
}

/**
 * The aggregate tables a reprocess rewrites. Not here: log_anomalies (each minute is judged once
 * against the baseline as it stood live; an alert is not revised) and notification_lifecycle
 * (keyed state that takes late events itself for its whole retention, see docs/ARCHITECTURE.md).
 */
export function reprocessTables(settings: ReprocessSettings): ReprocessTable[] {
  const { sessionGapMs } = settings.click
  return [
    windowTable('clicks_1m', 'click', () => MINUTE, [plain('project_id'), plain('dimension'), seconds('window_start'), plain('value'), plain('source_partition')], ['pageviews', 'visitors']),
    windowTable('page_transitions_1h', 'click', () => HOUR, [plain('project_id'), seconds('window_start'), plain('from_path'), plain('to_path'), plain('source_partition')], ['transitions']),
    {
      ...windowTable('active_visitors_5m', 'click', () => settings.click.activeWindowMs, [plain('project_id'), seconds('window_start'), plain('source_partition')], ['visitors', 'pageviews']),
      // The hopping windows all start on the slide; a tombstone needs the end its key omits.
      tombstone: (keyRow, revision) => ({ ...keyRow, window_end: Number(keyRow.window_start) + settings.click.activeWindowMs / 1_000, visitors: 0, pageviews: 0, revision, final: 1 }),
    },
    {
      table: 'sessions',
      stream: 'click',
      key: [plain('project_id'), plain('anonymous_id'), millis('session_start')],
      extra: [millis('session_end')],
      cancels: 'covered-sessions',
      startMs: (row) => Number(row.session_start),
      completeAtMs: (row) => Number(row.session_end) + sessionGapMs,
      // Sessions carry no partition in their key: the visitor decides it, as on the log.
      partitionOf: (row, partitions) => partitionForKey(String(row.anonymous_id), partitions),
      tombstone: (keyRow, revision) => ({
        ...keyRow, session_end: keyRow.session_start, source_partition: 0, duration_ms: 0, pageviews: 0, events: 0, entry_path: '', exit_path: '',
        referrer_domain: '', utm_source: '', utm_medium: '', utm_campaign: '', device_type: '', browser: '', os: '', country: '', bounced: 0,
        revision, final: 1, is_deleted: 1,
      }),
      isTombstone: (row) => Number(row.is_deleted) === 1,
    },
    windowTable('logs_1m', 'log', () => MINUTE, [plain('project_id'), seconds('window_start'), plain('service'), plain('level'), plain('source_partition')], ['lines']),
    {
      ...windowTable('error_fingerprints_1h', 'log', () => HOUR, [plain('project_id'), seconds('window_start'), plain('service'), plain('fingerprint'), plain('source_partition')], ['occurrences']),
      tombstone: (keyRow, revision) => ({
        ...keyRow, template: '', occurrences: 0, first_seen: Number(keyRow.window_start) * 1_000, last_seen: Number(keyRow.window_start) * 1_000, sample_message: '', revision, final: 1,
      }),
    },
    windowTable('notifications_1m', 'notification', () => MINUTE, [plain('project_id'), seconds('window_start'), plain('channel'), plain('provider'), plain('template'), plain('status'), plain('source_partition')], ['notifications']),
  ]
}

/** The identity of a row in its table: its key columns' values, in key order. */
export function rowKey(table: ReprocessTable, row: Row): string {
  let key = ''
  for (const column of table.key) key += `${JSON.stringify(row[column.name])}\u0000`
  return key
}
