import { partitionForKey } from '../../core/bus/embedded/murmur2.ts'
import { PARTITION_KEY_COLUMN } from '../../core/bus/partition-key.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { Row } from '../job.ts'
import type { ReprocessSource } from './clickhouse-source.ts'
import type { ReprocessTable } from './tables.ts'

/**
 * Aggregate tables as ReplacingMergeTree(revision[, is_deleted]) answers them with FINAL: per
 * key the row of the highest revision (the later insert on a tie), gone when it is a deletion.
 */
export class MemoryTables {
  private readonly tables = new Map<string, Map<string, Row>>()

  constructor(private readonly keyOf: (table: string, row: Row) => string) {}

  insert(table: string, rows: readonly Row[]): void {
    let byKey = this.tables.get(table)
    if (byKey === undefined) this.tables.set(table, (byKey = new Map()))
    for (const row of rows) {
      const key = this.keyOf(table, row)
      const current = byKey.get(key)
      if (current === undefined || Number(row.revision) >= Number(current.revision)) byKey.set(key, row)
    }
  }

  final(table: string): Row[] {
    return [...(this.tables.get(table)?.values() ?? [])].filter((row) => row.is_deleted !== 1)
  }
}

/**
 * A ReprocessSource over events and tables held in memory: the pure parts of a reprocess are
 * tested against it with plain data, the ClickHouse adapter against the real engine.
 */
export function memoryReprocessSource(raw: Partial<Record<Stream, readonly Row[]>>, tables: MemoryTables): ReprocessSource {
  const events = (stream: Stream) => raw[stream] ?? []
  const inProject = (projectId?: string) => (event: Row) => projectId === undefined || event.project_id === projectId
  return {
    async countEvents(stream, fromMs, toMs, projectId) {
      return events(stream).filter((event) => inProject(projectId)(event) && Number(event.ts) >= fromMs && Number(event.ts) < toMs).length
    },
    async *readEvents(stream, slice, fields, projectId) {
      const key = PARTITION_KEY_COLUMN[stream]
      const mine = events(stream).filter(inProject(projectId))
      const followed = new Set(mine.filter((event) => Number(event.ts) >= slice.fromMs && Number(event.ts) < slice.toMs).map((event) => event[key]))
      const chosen = mine.filter((event) => {
        const ts = Number(event.ts)
        return (ts >= slice.readFromMs && ts < slice.readToMs) || (ts >= slice.readToMs && ts < slice.followToMs && followed.has(event[key]))
      })
      chosen.sort((a, b) => Number(a.ts) - Number(b.ts) || (String(a.event_id) < String(b.event_id) ? -1 : String(a.event_id) > String(b.event_id) ? 1 : 0))
      for (const event of chosen) yield Object.fromEntries(fields.map((field) => [field, event[field]]))
    },
    async newestEventTimes(stream, partitions, sinceMs) {
      const newest = new Map<number, number>()
      for (const event of events(stream)) {
        const ts = Number(event.ts)
        if (ts < sinceMs) continue
        const partition = partitionForKey(String(event[PARTITION_KEY_COLUMN[stream]]), partitions)
        newest.set(partition, Math.max(newest.get(partition) ?? -Infinity, ts))
      }
      return newest
    },
    async existingRows(table: ReprocessTable, slice, projectId) {
      const to = table.cancels === 'covered-sessions' ? slice.followToMs : slice.toMs
      return tables.final(table.table).filter((row) => inProject(projectId)(row) && table.startMs(row) >= slice.fromMs && table.startMs(row) < to)
    },
  }
}
