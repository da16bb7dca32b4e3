import { deeperThan, pointerOf, tooDeepReason } from '../../core/http/nesting.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { ImportDestination } from './destination.ts'
import { ImportTally, type TouchedRange } from './import-summary.ts'
import { InputError, type LineSource } from './line-reader.ts'
import { normaliseImportLine, type AcceptedLine, type ImportContext } from './normalise-line.ts'
import { RecentIds } from './recent-ids.ts'

export interface ImportProgress {
  readonly source: string
  readonly lines: number
  readonly accepted: number
  readonly refused: number
  readonly duplicates: number
  /** Bytes read of all sources so far, and their total when every size is known (not stdin). */
  readonly bytesRead: number
  readonly totalBytes: number | undefined
}

export interface ImportOptions {
  readonly sources: readonly LineSource[]
  readonly context: Omit<ImportContext, 'receivedAt'>
  /** Undefined for a dry run: lines are only validated. */
  readonly destination: ImportDestination | undefined
  readonly maxNestingDepth: number
  /** The sources' line cap (EDDY_MAX_EVENT_BYTES, as ingest's per-event limit), for the refusal's reason. */
  readonly maxEventBytes: number
  /** Events per publish (default 500) and their most source bytes (keeps an HTTP body under ingest's limit). */
  readonly batchEvents?: number
  readonly batchBytes?: number
  /** Publishes awaiting their acknowledgement at once (default 4), so parsing overlaps the log's fsync. */
  readonly inFlight?: number
  readonly clock?: () => number
  readonly onProgress?: (progress: ImportProgress) => void
  /**
   * Called once everything is acknowledged, with the event times the import touched per stream:
   * the seam for reprocessing that range (events older than the processors' allowed lateness
   * are stored as raw rows but reach the aggregates only through a reprocess).
   */
  readonly afterImport?: (ranges: readonly TouchedRange[]) => Promise<void>
}

interface Pending {
  readonly lines: AcceptedLine[]
  readonly origins: Array<{ source: string; line: number }>
  bytes: number
}

/**
 * Reads every source line by line, validates and normalises each line as ingest does, drops ids
 * repeated within the import, and publishes per-stream batches, counting an event only once its
 * batch was acknowledged. A refused line never stops the import; a publish that cannot be
 * acknowledged does (tally.fatal), after the batches already sent have settled.
 */
export async function importLines(options: ImportOptions): Promise<ImportTally> {
  const tally = new ImportTally()
  const clock = options.clock ?? Date.now
  const batchEvents = options.batchEvents ?? 500
  const batchBytes = options.batchBytes ?? 400_000
  const maxInFlight = options.inFlight ?? 4
  const recent = new RecentIds()
  const pending = new Map<Stream, Pending>()
  const inFlight = new Set<Promise<void>>()
  const totalBytes = options.sources.every((source) => source.sizeBytes !== undefined)
    ? options.sources.reduce((sum, source) => sum + source.sizeBytes!, 0)
    : undefined
  let bytesBefore = 0
  let current: LineSource | undefined

  const report = () => options.onProgress?.({
    source: current?.name ?? '',
    lines: tally.lines,
    accepted: tally.accepted,
    refused: tally.refused,
    duplicates: tally.duplicates,
    bytesRead: bytesBefore + (current?.bytesRead() ?? 0),
    totalBytes,
  })

  // Never rejects: whatever goes wrong (the destination, or reading its answer) is the import's
  // fatal error, so a batch settling while nobody awaits it cannot be an unhandled rejection.
  const publish = async (stream: Stream, batch: Pending, destination: ImportDestination) => {
    try {
      const refusals = await destination.publish(batch.lines)
      const refused = new Set<number>()
      for (const refusal of refusals) {
        const origin = batch.origins[refusal.index]
        if (!origin) throw new Error(`the destination refused event ${refusal.index} of a batch of ${batch.lines.length}`)
        refused.add(refusal.index)
        tally.refuse(origin.source, origin.line, refusal.reason)
      }
      tally.accept(stream, batch.lines.filter((_line, index) => !refused.has(index)).map((line) => line.event.ts))
      report()
    } catch (error) {
      tally.fatal ??= `the events could not be published: ${(error as Error).message}`
    }
  }

  const send = (stream: Stream) => {
    const batch = pending.get(stream)
    if (!batch || batch.lines.length === 0) return
    pending.delete(stream)
    if (!options.destination) {
      tally.accept(stream, batch.lines.map((line) => line.event.ts))
      return
    }
    const publishing = publish(stream, batch, options.destination).finally(() => inFlight.delete(publishing))
    inFlight.add(publishing)
  }

  const waitForRoom = async () => {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight)
  }

  for (const source of options.sources) {
    current = source
    try {
      for await (const input of source.lines()) {
        tally.lines += 1
        if (tally.lines % 1_000 === 0) report()
        if ('tooLongBytes' in input) {
          tally.refuse(source.name, input.line, `line is ${input.tooLongBytes} bytes, more than the limit of ${options.maxEventBytes} (EDDY_MAX_EVENT_BYTES)`)
          continue
        }
        let value: unknown
        try {
          value = JSON.parse(input.text)
        } catch (error) {
          tally.refuse(source.name, input.line, `is not valid JSON: ${(error as Error).message}`)
          continue
        }
        // As ingest's body parser: the normalisers recurse, so depth is checked first.
        const deep = deeperThan(value, options.maxNestingDepth)
        if (deep) {
          tally.refuse(source.name, input.line, `${pointerOf(deep)}: ${tooDeepReason(options.maxNestingDepth)}`)
          continue
        }
        const result = normaliseImportLine(value, { ...options.context, receivedAt: clock() })
        if (!result.ok) {
          tally.refuse(source.name, input.line, result.reason)
          continue
        }
        // Keyed by stream too: ids are unique within a stream's table, not across them.
        if (recent.seen(`${result.stream}:${result.event.event_id}`)) {
          tally.duplicates += 1
          continue
        }
        const batch = pending.get(result.stream) ?? { lines: [], origins: [], bytes: 0 }
        pending.set(result.stream, batch)
        batch.lines.push(result)
        batch.origins.push({ source: source.name, line: input.line })
        batch.bytes += input.bytes
        if (batch.lines.length >= batchEvents || batch.bytes >= batchBytes) {
          send(result.stream)
          await waitForRoom()
          if (tally.fatal !== undefined) break
        }
      }
    } catch (error) {
      if (!(error instanceof InputError)) throw error
      tally.inputErrors.push(error.message)
    }
    bytesBefore += source.bytesRead()
    if (tally.fatal !== undefined) break
  }
  if (tally.fatal === undefined) for (const stream of [...pending.keys()]) send(stream)
  await Promise.all(inFlight)
  current = undefined
  report()
  if (tally.fatal === undefined && options.afterImport && options.destination !== undefined) await options.afterImport(tally.touched())
  return tally
}
